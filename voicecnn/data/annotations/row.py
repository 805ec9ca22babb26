"""What every annotation format shares: speech rows, merging them, and which labels are speech.

Which labels count as speech:

- A label that is empty (where the format allows no label), or any label not in
  :data:`NONSPEECH_LABELS` (compared case-insensitively), is speech: speaker names, words and
  phones all count. Labels such as ``sil``, ``<sil>``, ``#``, ``noise`` or ``music`` do not.
- In a TextGrid an empty interval is silence (Praat fills the gaps of a tier with empty
  intervals); everywhere else an empty label means "no label given" and the row is speech.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from voicecnn.data.issue import FileIssues
from voicecnn.detection.segments import Segment

__all__ = [
    "NONSPEECH_LABELS",
    "Row",
    "is_speech_label",
    "merge_rows",
    "parse_seconds",
    "read_annotation_text",
    "speech_row",
]

NONSPEECH_LABELS: frozenset[str] = frozenset(
    {
        "", "sil", "<sil>", "sp", "#", "silence", "pau", "h#", "<p:>", "<s>", "</s>", "_",
        "noise", "<noise>", "[noise]", "music", "<music>", "nonspeech", "non-speech",
        "non_speech", "background", "0", "false",
    }
)  # fmt: skip
"""Labels (lower case, stripped) that mark silence or non-speech rather than speech."""


@dataclass(frozen=True, slots=True)
class Row:
    """A speech interval as written in a file, before merging.

    Attributes:
        start: Start in seconds (>= 0).
        end: End in seconds (> start).
        line: 1-based line of the file the interval was read from.
    """

    start: float
    end: float
    line: int


def is_speech_label(label: str) -> bool:
    """Whether a label names speech: true unless it is one of :data:`NONSPEECH_LABELS`."""
    return label.strip().lower() not in NONSPEECH_LABELS


def merge_rows(rows: Iterable[Row]) -> tuple[list[Segment], list[int]]:
    """Sort intervals and merge those that overlap or touch.

    Args:
        rows: Speech intervals, in any order.

    Returns:
        ``(segments, lines)``: sorted disjoint segments, and for each the line of the row that
        gave its end (the row to blame if the segment runs past the audio).
    """
    segments: list[Segment] = []
    lines: list[int] = []
    current: Row | None = None
    for row in sorted(rows, key=lambda row: (row.start, row.end)):
        if current is not None and row.start <= current.end:
            if row.end > current.end:
                current = Row(current.start, row.end, row.line)
            continue
        if current is not None:
            segments.append(Segment(current.start, current.end))
            lines.append(current.line)
        current = row
    if current is not None:
        segments.append(Segment(current.start, current.end))
        lines.append(current.line)
    return segments, lines


def read_annotation_text(path: Path, issues: FileIssues) -> str | None:
    """The text of an annotation file (UTF-8, or UTF-16 with a byte-order mark), or None."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        issues.add(None, "cannot read: file not found")
        return None
    except IsADirectoryError:
        issues.add(None, "cannot read: is a directory")
        return None
    except OSError as e:
        issues.add(None, f"cannot read: {e.strerror or 'cannot open file'}")
        return None
    # Praat writes UTF-16 (with a byte-order mark) when the text is not ASCII.
    encoding = "utf-16" if data[:2] in (b"\xff\xfe", b"\xfe\xff") else "utf-8-sig"
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        issues.add(line, f"not {encoding.removesuffix('-sig').upper()} text (byte {e.start})")
        return None


def parse_seconds(token: str, name: str, line: int, issues: FileIssues) -> float | None:
    """A finite number parsed from ``token``, or None after recording an issue."""
    try:
        value = float(token)
    except ValueError:
        issues.add(line, f"{name} {token.strip()!r} is not a number")
        return None
    if not math.isfinite(value):
        issues.add(line, f"{name} {token.strip()!r} is not a finite number")
        return None
    return value


def speech_row(
    start: float, end: float, line: int, issues: FileIssues, *, allow_empty: bool = False
) -> Row | None:
    """Check ``0 <= start < end`` and make a row; None when it is rejected (or empty)."""
    if start < 0 or end < 0:
        issues.add(line, f"negative time in segment {start:g}-{end:g} s")
        return None
    if end < start:
        issues.add(line, f"reversed segment: end {end:g} s is before start {start:g} s")
        return None
    if end == start:
        if not allow_empty:
            issues.add(line, f"empty segment: start and end are both {start:g} s")
        return None
    return Row(start, end, line)
