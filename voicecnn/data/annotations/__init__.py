"""Readers of speech annotations: RTTM, CSV, Audacity labels, Praat TextGrid and .lab files.

One module per format (:mod:`.rttm`, :mod:`.csv_file`, :mod:`.label_file` for Audacity and
``.lab``, :mod:`.textgrid`), over :mod:`.row` (speech rows, merging, which labels are speech);
:func:`read_annotation` picks the format by suffix. Every reader returns speech segments in
seconds, sorted and merged (overlapping or touching segments, e.g. two speakers talking at
once, become one). Readers never stop at the first bad line: the public ``read_*`` functions
raise one :class:`~voicecnn.errors.DataError` that lists every problem
(:mod:`voicecnn.data.issue`); the ``parse_*`` counterparts return the problems instead, so a
dataset loader can report those of many files at once (:mod:`voicecnn.data.recordings`).
"""

from __future__ import annotations

import os
from pathlib import Path

from voicecnn.data.annotations.csv_file import parse_csv, read_csv_segments
from voicecnn.data.annotations.label_file import parse_label_lines, read_audacity, read_lab
from voicecnn.data.annotations.row import Row, merge_rows
from voicecnn.data.annotations.rttm import parse_rttm, read_rttm
from voicecnn.data.annotations.textgrid import parse_textgrid, read_textgrid
from voicecnn.data.issue import Issue, issues_error
from voicecnn.detection.segments import Segment
from voicecnn.errors import DataError

__all__ = [
    "ANNOTATION_SUFFIXES",
    "parse_annotation",
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
        return parse_csv(file)
    if suffix == ".txt":
        return parse_label_lines(file, audacity=True)
    if suffix == ".lab":
        return parse_label_lines(file, audacity=False)
    if suffix == ".textgrid":
        return parse_textgrid(file, None)
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
