"""Label files of ``start end [label]`` lines: Audacity's (tab-separated) and ``.lab`` files
(whitespace-separated; seconds, or HTK's 100 ns units)."""

from __future__ import annotations

import os
import re
from pathlib import Path

from voicecnn.data.annotations.row import (
    Row,
    is_speech_label,
    merge_rows,
    parse_seconds,
    read_annotation_text,
    speech_row,
)
from voicecnn.data.issue import FileIssues, Issue, issues_error
from voicecnn.detection.segments import Segment

__all__ = ["parse_label_lines", "read_audacity", "read_lab"]


def parse_label_lines(file: Path, *, audacity: bool) -> tuple[list[Row], list[Issue]]:
    """Lines of ``start end [label]``: tab-separated (Audacity) or whitespace-separated (.lab)."""
    issues = FileIssues(file)
    text = read_annotation_text(file, issues)
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
        start = parse_seconds(fields[0], "start", number, issues)
        end = parse_seconds(fields[1], "end", number, issues)
        if start is None or end is None:
            continue
        # Audacity point labels (start == end) mark instants, not speech: skip them quietly.
        row = speech_row(start * scale, end * scale, number, issues, allow_empty=audacity)
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
    rows, issues = parse_label_lines(Path(path), audacity=True)
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
    rows, issues = parse_label_lines(Path(path), audacity=False)
    if issues:
        raise issues_error(issues)
    return merge_rows(rows)[0]
