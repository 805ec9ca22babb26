"""RTTM files: ``SPEAKER`` lines of many recordings, keyed by file id (pyannote, DIHARD)."""

from __future__ import annotations

import os
from pathlib import Path

from voicecnn.data.annotations.row import (
    Row,
    merge_rows,
    parse_seconds,
    read_annotation_text,
    speech_row,
)
from voicecnn.data.issue import FileIssues, Issue, issues_error
from voicecnn.detection.segments import Segment
from voicecnn.io.escape import rttm_id_text

__all__ = ["parse_rttm", "read_rttm"]


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
    issues = FileIssues(file)
    rows: dict[str, list[Row]] = {}
    text = read_annotation_text(file, issues)
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
        onset = parse_seconds(fields[3], "onset", number, issues)
        duration = parse_seconds(fields[4], "duration", number, issues)
        if onset is None or duration is None:
            continue
        if duration < 0:
            issues.add(number, f"negative duration {duration:g} s")
            continue
        row = speech_row(onset, onset + duration, number, issues)
        file_id = rttm_id_text(fields[1])  # ids voicecnn wrote percent-encode spaces
        rows.setdefault(file_id, [])
        if row is not None:
            rows[file_id].append(row)
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
