"""One escaping rule per output format, as small pure functions (no I/O).

File names are whatever the file system allows: newlines, tabs, escape sequences, invalid
UTF-8 (as surrogates). Every writer passes them through the rule of its format, so a name can
neither break a record nor reach a terminal raw:

* :func:`terminal`: control and format characters shown as ``\\xNN`` / ``\\uNNNN`` escapes
  (tables, titles, messages).
* :func:`rttm_id`: an RTTM recording id (one whitespace-free token): whitespace, control
  characters and ``%`` percent-encoded from the UTF-8 bytes, so distinct stems keep distinct ids
  (``a b`` -> ``a%20b``, ``a_b`` stays ``a_b``).
* :func:`csv_field`: RFC 4180 quoting whenever a field holds a separator, quote, CR or LF
  (undecodable bytes of a name as ``\\xNN``, so the file stays valid UTF-8).
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

__all__ = ["csv_field", "csv_row", "recording_id", "rttm_id", "rttm_id_text", "terminal"]


def _unsafe(ch: str) -> bool:
    # Cc: C0/C1 controls (ESC, BEL, CR, LF, TAB...); Cf: bidi overrides and other format marks
    # that reorder or hide text; Cs: lone surrogates (undecodable bytes of a file name);
    # Zl/Zp: line and paragraph separators.
    return unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Zl", "Zp")


def _escaped(ch: str) -> str:
    code = ord(ch)
    if 0xDC80 <= code <= 0xDCFF:  # os.fsdecode's surrogateescape: the raw byte
        return f"\\x{code - 0xDC00:02x}"
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def terminal(text: str) -> str:
    """``text`` safe to print on a terminal: every control or format character escaped."""
    if text.isprintable():
        return text
    return "".join(_escaped(ch) if _unsafe(ch) else ch for ch in text)


def rttm_id(text: str) -> str:
    """``text`` as one RTTM field: no whitespace, control characters or ``%`` left raw
    (percent-encoded from UTF-8, so the mapping is one-to-one); empty text gives ``audio``."""
    out = []
    for ch in text:
        if ch == "%" or ch.isspace() or _unsafe(ch) or not ch.isprintable():
            data = ch.encode("utf-8", "surrogateescape")
            out.append("".join(f"%{b:02X}" for b in data))
        else:
            out.append(ch)
    return "".join(out) or "audio"


_PERCENT = re.compile(r"(?:%[0-9A-Fa-f]{2})+")


def rttm_id_text(rttm_field: str) -> str:
    """The name an RTTM recording id stands for: :func:`rttm_id` undone (``a%20b`` -> ``a b``),
    so RTTM files written by ``voicecnn detect`` pair with their recordings again."""
    return _PERCENT.sub(
        lambda m: bytes.fromhex(m.group(0).replace("%", "")).decode("utf-8", "surrogateescape"),
        rttm_field,
    )


def recording_id(path: str | Path | None) -> str:
    """The RTTM recording id of an input: its file name without the suffix, as :func:`rttm_id`."""
    stem = Path(path).stem if path else "audio"
    return rttm_id(stem)


def csv_field(text: str) -> str:
    """``text`` as one CSV field (RFC 4180): quoted, with quotes doubled, when it holds a
    comma, a quote, CR or LF or starts or ends with a space; otherwise unchanged."""
    text = "".join(_escaped(ch) if unicodedata.category(ch) == "Cs" else ch for ch in text)
    if any(c in text for c in ',"\r\n') or text != text.strip(" "):
        return '"' + text.replace('"', '""') + '"'
    return text


def csv_row(fields: list[str]) -> str:
    """One CSV record ending with ``\\n``."""
    return ",".join(csv_field(f) for f in fields) + "\n"
