"""Readers of speech annotations: RTTM, CSV, Audacity labels, Praat TextGrid and .lab files.

Every reader returns speech segments in seconds, sorted and merged (overlapping or touching
segments, e.g. two speakers talking at once, become one). Readers never stop at the first bad
line: each problem becomes an :class:`Issue` (file, line, message) and the public ``read_*``
functions raise one :class:`~voicecnn.errors.DataError` that lists them all. The ``parse_*``
counterparts return the issues instead, so a dataset loader can report the problems of many
files at once (see :mod:`voicecnn.data.manifest`).

Which labels count as speech:

- A label that is empty (where the format allows no label), or any label not in
  :data:`NONSPEECH_LABELS` (compared case-insensitively), is speech: speaker names, words and
  phones all count. Labels such as ``sil``, ``<sil>``, ``#``, ``noise`` or ``music`` do not.
- In a TextGrid an empty interval is silence (Praat fills the gaps of a tier with empty
  intervals); everywhere else an empty label means "no label given" and the row is speech.
"""

from __future__ import annotations

import bisect
import csv
import io
import math
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from voicecnn.errors import DataError
from voicecnn.segments import Segment

__all__ = [
    "ANNOTATION_SUFFIXES",
    "NONSPEECH_LABELS",
    "Issue",
    "Row",
    "is_speech_label",
    "issues_error",
    "merge_rows",
    "parse_annotation",
    "parse_rttm",
    "read_annotation",
    "read_audacity",
    "read_csv_segments",
    "read_lab",
    "read_rttm",
    "read_textgrid",
]

ANNOTATION_SUFFIXES: dict[str, str] = {
    ".rttm": "RTTM",
    ".csv": "CSV (start,end seconds)",
    ".txt": "Audacity labels",
    ".textgrid": "Praat TextGrid",
    ".lab": "label file (start end label)",
}
"""File suffixes (lower case) that :func:`read_annotation` understands, with their formats."""

NONSPEECH_LABELS: frozenset[str] = frozenset(
    {
        "", "sil", "<sil>", "sp", "#", "silence", "pau", "h#", "<p:>", "<s>", "</s>", "_",
        "noise", "<noise>", "[noise]", "music", "<music>", "nonspeech", "non-speech",
        "non_speech", "background", "0", "false",
    }
)  # fmt: skip
"""Labels (lower case, stripped) that mark silence or non-speech rather than speech."""

_MAX_ISSUES_PER_FILE = 50
"""After this many problems in one file the rest of it is summarised in one issue."""


@dataclass(frozen=True, slots=True)
class Issue:
    """One problem found in a dataset, shown as ``path:line: message``.

    Attributes:
        path: The file the problem is in (an annotation, manifest or audio file).
        line: 1-based line number in ``path``, or None when the problem is with the whole file.
        message: What is wrong, one line.
    """

    path: Path
    line: int | None
    message: str

    def __str__(self) -> str:
        """``path:line: message`` (or ``path: message`` without a line)."""
        where = f"{self.path}:{self.line}" if self.line is not None else str(self.path)
        return f"{where}: {self.message}"


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


def issues_error(issues: Sequence[Issue]) -> DataError:
    """The one :class:`~voicecnn.errors.DataError` that reports a list of problems.

    This is the only multi-line error message in voicecnn: the first line says how many
    problems there are, then each follows on its own line as ``path:line: message`` (the form
    editors and terminals turn into links).

    Args:
        issues: The problems, at least one, in the order they should be listed.

    Returns:
        The error, to be raised by the caller.
    """
    count = len(issues)
    head = f"{count} problem{'s' if count != 1 else ''} in the data (fix them and run again):"
    return DataError("\n".join([head, *(str(issue) for issue in issues)]))


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


# --- shared helpers ---------------------------------------------------------------------------


class _Collector:
    """Issues of one file, capped so a file of garbage does not flood the report."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.issues: list[Issue] = []
        self._dropped = 0

    def add(self, line: int | None, message: str) -> None:
        if len(self.issues) < _MAX_ISSUES_PER_FILE:
            self.issues.append(Issue(self.path, line, message))
        else:
            self._dropped += 1

    def finish(self) -> list[Issue]:
        """The issues in line order (whole-file ones first), and a count of those left out."""
        self.issues.sort(key=lambda issue: issue.line or 0)
        if self._dropped:
            self.issues.append(
                Issue(self.path, None, f"{self._dropped} more problems in this file not listed")
            )
            self._dropped = 0
        return self.issues


def _read_text(path: Path, issues: _Collector) -> str | None:
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


def _number(token: str, name: str, line: int, issues: _Collector) -> float | None:
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


def _interval(
    start: float, end: float, line: int, issues: _Collector, *, allow_empty: bool = False
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


# --- RTTM -------------------------------------------------------------------------------------


def parse_rttm(path: str | os.PathLike[str]) -> tuple[dict[str, list[Row]], list[Issue]]:
    """Speech intervals of an RTTM file by file id, and the problems found, without raising.

    Only ``SPEAKER`` lines count (``SPEAKER file channel onset duration <NA> <NA> speaker ...``);
    other record types and ``;;`` comments are skipped.

    Args:
        path: The RTTM file.

    Returns:
        ``(rows, issues)``: unmerged intervals keyed by file id, in file order of the ids.
    """
    file = Path(path)
    issues = _Collector(file)
    rows: dict[str, list[Row]] = {}
    text = _read_text(file, issues)
    for number, raw in enumerate((text or "").splitlines(), start=1):
        fields = raw.split()
        if not fields or fields[0].startswith(";;") or fields[0].startswith("#"):
            continue
        if fields[0] != "SPEAKER":
            if not fields[0].isupper():
                issues.add(number, f"not an RTTM line (unknown record type {fields[0]!r})")
            continue
        if len(fields) < 5:
            issues.add(
                number,
                f"SPEAKER line needs at least 5 fields (type, file, channel, onset, "
                f"duration), got {len(fields)}",
            )
            continue
        onset = _number(fields[3], "onset", number, issues)
        duration = _number(fields[4], "duration", number, issues)
        if onset is None or duration is None:
            continue
        if duration < 0:
            issues.add(number, f"negative duration {duration:g} s")
            continue
        row = _interval(onset, onset + duration, number, issues)
        rows.setdefault(fields[1], [])
        if row is not None:
            rows[fields[1]].append(row)
    return rows, issues.finish()


def read_rttm(path: str | os.PathLike[str]) -> dict[str, list[Segment]]:
    """Speech segments of every file in an RTTM file.

    Speaker turns are merged into speech: where speakers overlap or follow each other without a
    pause the result is one segment.

    Args:
        path: The RTTM file.

    Returns:
        Sorted, merged segments keyed by file id (the second field of the ``SPEAKER`` lines).

    Raises:
        DataError: Listing every bad line (``path:line: message``) if there is any.
    """
    rows, issues = parse_rttm(path)
    if issues:
        raise issues_error(issues)
    return {file_id: merge_rows(file_rows)[0] for file_id, file_rows in rows.items()}


# --- CSV --------------------------------------------------------------------------------------

_START_NAMES = ("start", "start_s", "start_time", "onset", "begin", "tmin", "from")
_END_NAMES = ("end", "end_s", "end_time", "offset", "stop", "tmax", "to")
_LABEL_NAMES = ("label", "class", "type", "text", "speaker")


def _looks_numeric(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _find_column(header: list[str], names: tuple[str, ...]) -> int | None:
    for name in names:
        if name in header:
            return header.index(name)
    return None


def _parse_csv(file: Path) -> tuple[list[Row], list[Issue]]:
    issues = _Collector(file)
    text = _read_text(file, issues)
    if text is None:
        return [], issues.finish()
    first = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = next((d for d in (",", "\t", ";") if d in first), ",")
    rows: list[Row] = []
    start_col, end_col, label_col = 0, 1, 2
    header_seen = False
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    for cells in reader:
        number = reader.line_num
        cells = [cell.strip() for cell in cells]
        if not any(cells) or cells[0].startswith("#"):
            continue
        if not header_seen:
            header_seen = True
            if not _looks_numeric(cells[0]):
                header = [cell.lower() for cell in cells]
                found_start = _find_column(header, _START_NAMES)
                found_end = _find_column(header, _END_NAMES)
                if found_start is None or found_end is None:
                    issues.add(
                        number,
                        f"header {delimiter.join(cells)!r} needs 'start' and 'end' columns "
                        "(or no header: start,end[,label] in seconds)",
                    )
                    return [], issues.finish()
                start_col, end_col = found_start, found_end
                found_label = _find_column(header, _LABEL_NAMES)
                label_col = found_label if found_label is not None else -1
                continue
        if max(start_col, end_col) >= len(cells):
            issues.add(number, f"expected start{delimiter}end columns, got {len(cells)} field(s)")
            continue
        start = _number(cells[start_col], "start", number, issues)
        end = _number(cells[end_col], "end", number, issues)
        if start is None or end is None:
            continue
        row = _interval(start, end, number, issues)
        label = cells[label_col] if 0 <= label_col < len(cells) else ""
        if row is not None and (not label or is_speech_label(label)):
            rows.append(row)
    return rows, issues.finish()


def read_csv_segments(path: str | os.PathLike[str]) -> list[Segment]:
    """Speech segments of a CSV file of ``start,end`` times in seconds.

    The header is optional; with one, the columns are found by name (``start``/``end``, or
    ``onset``/``offset``, ``begin``/``stop``, ...) and a ``label`` column may pick rows: rows
    with an empty label or a speech label are kept, rows labelled as non-speech (see
    :data:`NONSPEECH_LABELS`) are skipped. Without a header the columns are
    ``start,end[,label]``. Tab- and semicolon-separated files work too; ``#`` starts a comment.

    Args:
        path: The CSV file.

    Returns:
        Sorted, merged speech segments.

    Raises:
        DataError: Listing every bad line (``path:line: message``) if there is any.
    """
    rows, issues = _parse_csv(Path(path))
    if issues:
        raise issues_error(issues)
    return merge_rows(rows)[0]


# --- Audacity labels and .lab files -----------------------------------------------------------


def _parse_label_lines(file: Path, *, audacity: bool) -> tuple[list[Row], list[Issue]]:
    """Lines of ``start end [label]``: tab-separated (Audacity) or whitespace-separated (.lab)."""
    issues = _Collector(file)
    text = _read_text(file, issues)
    lines = (text or "").splitlines()
    parsed: list[tuple[int, list[str]]] = []
    for number, raw in enumerate(lines, start=1):
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        if audacity and raw.startswith("\\"):
            continue  # Audacity's spectral-selection line (low and high frequency) of a label
        if audacity:
            fields = [field.strip() for field in raw.split("\t")]
            fields = fields[:2] + ["\t".join(fields[2:])] if len(fields) > 2 else fields
        else:
            fields = raw.split(maxsplit=2)
        if len(fields) < 2:
            sep = "<tab>" if audacity else " "
            issues.add(number, f"expected start{sep}end{sep}label, got {raw.strip()!r}")
            continue
        parsed.append((number, fields))
    scale = 1.0
    if not audacity and _htk_units([fields[:2] for _, fields in parsed]):
        scale = 1e-7  # HTK label files count time in 100 ns units
    rows: list[Row] = []
    for number, fields in parsed:
        start = _number(fields[0], "start", number, issues)
        end = _number(fields[1], "end", number, issues)
        if start is None or end is None:
            continue
        # Audacity point labels (start == end) mark instants, not speech: skip them quietly.
        row = _interval(start * scale, end * scale, number, issues, allow_empty=audacity)
        label = fields[2].strip() if len(fields) > 2 else ""
        if row is not None and (not label or is_speech_label(label)):
            rows.append(row)
    return rows, issues.finish()


def _htk_units(times: list[list[str]]) -> bool:
    """Whether .lab times are HTK's integer 100 ns units rather than seconds.

    HTK writes integers such as ``2500000`` (0.25 s); a file in seconds would need times of
    more than a day written without a decimal point to look the same.
    """
    tokens = [token for pair in times for token in pair]
    if not tokens or not all(re.fullmatch(r"\d+", token) for token in tokens):
        return False
    return max(int(token) for token in tokens) > 100_000


def read_audacity(path: str | os.PathLike[str]) -> list[Segment]:
    """Speech segments of an Audacity label file (``start<tab>end<tab>label`` in seconds).

    Point labels (``start == end``) and Audacity's frequency lines (starting with ``\\``) are
    ignored; labels in :data:`NONSPEECH_LABELS` are skipped; an empty label counts as speech.

    Args:
        path: The label file (Audacity exports it as ``.txt``).

    Returns:
        Sorted, merged speech segments.

    Raises:
        DataError: Listing every bad line (``path:line: message``) if there is any.
    """
    rows, issues = _parse_label_lines(Path(path), audacity=True)
    if issues:
        raise issues_error(issues)
    return merge_rows(rows)[0]


def read_lab(path: str | os.PathLike[str]) -> list[Segment]:
    """Speech segments of a ``.lab`` file: ``start end [label]`` lines separated by spaces.

    Times are seconds (wavesurfer, pocketsphinx), or HTK's 100 ns units when every time is a
    whole number and the largest exceeds 100000. Rows labelled as non-speech (see
    :data:`NONSPEECH_LABELS`) are skipped; rows without a label are speech.

    Args:
        path: The label file.

    Returns:
        Sorted, merged speech segments.

    Raises:
        DataError: Listing every bad line (``path:line: message``) if there is any.
    """
    rows, issues = _parse_label_lines(Path(path), audacity=False)
    if issues:
        raise issues_error(issues)
    return merge_rows(rows)[0]


# --- Praat TextGrid ---------------------------------------------------------------------------

_TG_TOKEN = re.compile(
    r"""
    (?P<string>"(?:[^"]|"")*")
    |(?P<unterminated>"[^"]*\Z)
    |(?P<comment>!.*)
    |(?P<index>\[[^\]\n]*\])
    |(?P<flag><[a-z]+>)
    |(?P<number>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)
    |(?P<word>[A-Za-z_][\w?]*)
    |(?P<other>\S)
    """,
    re.VERBOSE,
)


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # "string", "number" or "flag"
    text: str
    line: int


class _TextGridError(Exception):
    """A structural problem that stops the parse of a TextGrid (at ``line``)."""

    def __init__(self, line: int | None, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


def _textgrid_tokens(text: str) -> list[_Token]:
    """The strings, numbers and flags of a TextGrid in long or short text format.

    Both formats hold the same values in the same order; the long one adds ``name =`` keys,
    ``[n]`` indices and ``intervals:`` headings, which are dropped here.
    """
    newlines = [m.start() for m in re.finditer("\n", text)]
    tokens: list[_Token] = []
    for match in _TG_TOKEN.finditer(text):
        kind = match.lastgroup or "other"
        line = bisect.bisect_right(newlines, match.start()) + 1
        if kind == "unterminated":
            raise _TextGridError(line, "unterminated string (a '\"' without its closing '\"')")
        if kind == "string":
            tokens.append(_Token("string", match.group()[1:-1].replace('""', '"'), line))
        elif kind in ("number", "flag"):
            tokens.append(_Token(kind, match.group(), line))
    return tokens


class _TokenReader:
    def __init__(self, tokens: list[_Token]) -> None:
        self.tokens = tokens
        self.pos = 0

    def _next(self, what: str) -> _Token:
        if self.pos >= len(self.tokens):
            last = self.tokens[-1].line if self.tokens else None
            raise _TextGridError(last, f"file ends early: expected {what}")
        token = self.tokens[self.pos]
        self.pos += 1
        return token

    def string(self, what: str) -> _Token:
        token = self._next(what)
        if token.kind != "string":
            raise _TextGridError(token.line, f"expected {what} (a quoted string), got {token.text}")
        return token

    def number(self, what: str) -> tuple[float, int]:
        token = self._next(what)
        if token.kind != "number":
            raise _TextGridError(token.line, f"expected {what} (a number), got {token.text!r}")
        return float(token.text), token.line

    def count(self, what: str) -> int:
        value, line = self.number(what)
        if value < 0 or value != int(value):
            raise _TextGridError(line, f"expected {what} (a whole number), got {value:g}")
        return int(value)

    def flag(self) -> str:
        token = self._next("<exists> or <absent>")
        if token.kind != "flag":
            self.pos -= 1  # very old files omit the flag
            return "<exists>"
        return token.text


@dataclass(frozen=True, slots=True)
class _Tier:
    name: str
    interval: bool
    rows: list[Row]


def _parse_textgrid_tiers(text: str, issues: _Collector) -> list[_Tier]:
    """The tiers of a TextGrid; interval tiers keep their speech intervals."""
    if text.startswith("ooBinaryFile"):
        issues.add(1, "binary TextGrid is not supported: save it from Praat as a text file")
        return []
    reader = _TokenReader(_textgrid_tokens(text))
    file_type = reader.string("File type")
    if file_type.text != "ooTextFile":
        raise _TextGridError(
            file_type.line, f"not a Praat text file (File type {file_type.text!r})"
        )
    object_class = reader.string("Object class")
    if object_class.text != "TextGrid":
        raise _TextGridError(
            object_class.line, f"not a TextGrid (Object class {object_class.text!r})"
        )
    reader.number("xmin")
    reader.number("xmax")
    if reader.flag() != "<exists>":
        return []
    tiers: list[_Tier] = []
    for _ in range(reader.count("number of tiers")):
        kind = reader.string("tier class")
        name = reader.string("tier name").text
        reader.number("tier xmin")
        reader.number("tier xmax")
        size = reader.count("number of intervals")
        rows: list[Row] = []
        if kind.text == "IntervalTier":
            for _ in range(size):
                start, line = reader.number("interval xmin")
                end, _ = reader.number("interval xmax")
                label = reader.string("interval text").text
                row = _interval(start, end, line, issues, allow_empty=True)
                if row is not None and is_speech_label(label):
                    rows.append(row)
            tiers.append(_Tier(name, True, rows))
        elif kind.text == "TextTier":
            for _ in range(size):
                reader.number("point time")
                reader.string("point mark")
            tiers.append(_Tier(name, False, []))
        else:
            raise _TextGridError(kind.line, f"unknown tier class {kind.text!r}")
    return tiers


def _parse_textgrid(file: Path, tier: str | None) -> tuple[list[Row], list[Issue]]:
    issues = _Collector(file)
    text = _read_text(file, issues)
    if text is None:
        return [], issues.finish()
    try:
        tiers = _parse_textgrid_tiers(text, issues)
    except _TextGridError as e:
        issues.add(e.line, e.message)
        return [], issues.finish()
    intervals = [t for t in tiers if t.interval]
    if tier is not None:
        chosen = [t for t in intervals if t.name == tier]
        if not chosen:
            names = ", ".join(repr(t.name) for t in intervals) or "none"
            issues.add(None, f"no interval tier named {tier!r} (interval tiers: {names})")
        intervals = chosen[:1]
    return [row for t in intervals for row in t.rows], issues.finish()


def read_textgrid(path: str | os.PathLike[str], tier: str | None = None) -> list[Segment]:
    """Speech segments of a Praat TextGrid (long or short text format, UTF-8 or UTF-16).

    An interval is speech when its text is not a silence marker (see :data:`NONSPEECH_LABELS`;
    an empty interval is silence). Point tiers are ignored.

    Args:
        path: The TextGrid file.
        tier: Name of the interval tier to read; None reads every interval tier and takes the
            union (speech wherever any tier has a non-silent interval).

    Returns:
        Sorted, merged speech segments.

    Raises:
        DataError: Listing every problem (``path:line: message``) if there is any, including a
            missing tier.
    """
    rows, issues = _parse_textgrid(Path(path), tier)
    if issues:
        raise issues_error(issues)
    return merge_rows(rows)[0]


# --- dispatch ---------------------------------------------------------------------------------


def parse_annotation(
    path: str | os.PathLike[str], *, file_id: str | None = None
) -> tuple[list[Row], list[Issue]]:
    """Speech intervals of any supported annotation file, and the problems found, unmerged.

    Args:
        path: An annotation file; its suffix (case-insensitive) picks the format, see
            :data:`ANNOTATION_SUFFIXES`.
        file_id: For an RTTM file, the file id to read; None for the file's stem, or the only
            id in the file.

    Returns:
        ``(rows, issues)``. Nothing is raised for bad content.

    Raises:
        DataError: If the suffix is not a supported one.
    """
    file = Path(path)
    suffix = file.suffix.lower()
    if suffix == ".rttm":
        by_id, issues = parse_rttm(file)
        wanted = file_id if file_id is not None else file.stem
        if wanted in by_id:
            return by_id[wanted], issues
        if file_id is None and len(by_id) == 1:
            return next(iter(by_id.values())), issues
        if by_id or file_id is not None:
            ids = ", ".join(repr(key) for key in list(by_id)[:5]) or "none"
            return [], [*issues, Issue(file, None, f"no SPEAKER lines for {wanted!r} (ids: {ids})")]
        return [], issues
    if suffix == ".csv":
        return _parse_csv(file)
    if suffix == ".txt":
        return _parse_label_lines(file, audacity=True)
    if suffix == ".lab":
        return _parse_label_lines(file, audacity=False)
    if suffix == ".textgrid":
        return _parse_textgrid(file, None)
    known = ", ".join(ANNOTATION_SUFFIXES)
    raise DataError(f"{file}: unknown annotation format {file.suffix!r} (known: {known})")


def read_annotation(path: str | os.PathLike[str], *, file_id: str | None = None) -> list[Segment]:
    """Speech segments of an annotation file in any supported format, picked by its suffix.

    ``.rttm`` (:func:`read_rttm`, the segments of ``file_id``), ``.csv``
    (:func:`read_csv_segments`), ``.txt`` (:func:`read_audacity`), ``.TextGrid``
    (:func:`read_textgrid`, all interval tiers) and ``.lab`` (:func:`read_lab`).

    Args:
        path: The annotation file.
        file_id: For an RTTM file, the file id to read; None for the file's stem, or the only
            id in the file.

    Returns:
        Sorted, merged speech segments.

    Raises:
        DataError: For an unknown suffix, or listing every problem in the file.
    """
    rows, issues = parse_annotation(path, file_id=file_id)
    if issues:
        raise issues_error(issues)
    return merge_rows(rows)[0]
