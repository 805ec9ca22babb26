"""CSV files of ``start,end[,label]`` times in seconds (with or without a header)."""

from __future__ import annotations

import csv
import io
import os
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

__all__ = ["parse_csv", "read_csv_segments"]

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


def parse_csv(file: Path) -> tuple[list[Row], list[Issue]]:
    issues = FileIssues(file)
    text = read_annotation_text(file, issues)
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
        start = parse_seconds(cells[start_col], "start", number, issues)
        end = parse_seconds(cells[end_col], "end", number, issues)
        if start is None or end is None:
            continue
        row = speech_row(start, end, number, issues)
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
    rows, issues = parse_csv(Path(path))
    if issues:
        raise issues_error(issues)
    return merge_rows(rows)[0]
