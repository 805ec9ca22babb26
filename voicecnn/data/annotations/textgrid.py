"""Praat TextGrid files (long or short text format, UTF-8 or UTF-16): speech from interval tiers."""

from __future__ import annotations

import bisect
import os
import re
from dataclasses import dataclass
from pathlib import Path

from voicecnn.data.annotations.row import (
    Row,
    is_speech_label,
    merge_rows,
    read_annotation_text,
    speech_row,
)
from voicecnn.data.issue import FileIssues, Issue, issues_error
from voicecnn.detection.segments import Segment

__all__ = ["parse_textgrid", "read_textgrid"]

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


def _parse_textgrid_tiers(text: str, issues: FileIssues) -> list[_Tier]:
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
                row = speech_row(start, end, line, issues, allow_empty=True)
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


def parse_textgrid(file: Path, tier: str | None) -> tuple[list[Row], list[Issue]]:
    issues = FileIssues(file)
    text = read_annotation_text(file, issues)
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
    rows, issues = parse_textgrid(Path(path), tier)
    if issues:
        raise issues_error(issues)
    return merge_rows(rows)[0]
