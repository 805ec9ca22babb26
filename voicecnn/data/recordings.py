"""Annotated recordings for VAD training and evaluation: manifests and annotated folders, checked.

:func:`load_dataset` reads JSON Lines manifests (:mod:`voicecnn.data.manifest`) and annotated
folders (:mod:`voicecnn.data.annotated_folder`), checks every entry against its audio
(:func:`validate`) and raises one :class:`~voicecnn.errors.DataError` listing every problem as
``path:line: message``, before any training starts.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Sequence
from dataclasses import replace
from pathlib import Path

from voicecnn.data.annotated_folder import parse_annotated_folder
from voicecnn.data.annotations import ANNOTATION_SUFFIXES
from voicecnn.data.audio_files import check_audio
from voicecnn.data.issue import Issue, issues_error
from voicecnn.data.manifest import ManifestEntry, parse_manifest
from voicecnn.detection.segments import Segment
from voicecnn.errors import DataError

__all__ = ["END_TOLERANCE_S", "load_dataset", "validate"]

END_TOLERANCE_S = 0.05
"""How far (in seconds) a segment or excerpt may run past the end of its audio and still be
accepted (then clipped): annotation tools round times, and audio lengths change slightly with
encoding."""

# --- validation -------------------------------------------------------------------------------


def _validate_entry(entry: ManifestEntry, issues: list[Issue]) -> ManifestEntry | None:
    """Check one entry against its audio; the entry resolved and clipped, or None."""
    where, line = entry.where()
    n_before = len(issues)
    file_s = check_audio(entry.audio, where, line, issues)
    if file_s is None:
        return None
    offset_s, duration_s = entry.offset_s, entry.duration_s
    name = f"'{entry.audio}' ({file_s:.3f} s)"
    if not (math.isfinite(offset_s) and offset_s >= 0):
        issues.append(Issue(where, line, f"offset {offset_s:g} s must be >= 0"))
    elif offset_s >= file_s:
        issues.append(Issue(where, line, f"offset {offset_s:g} s is past the end of {name}"))
    if duration_s is not None and not (math.isfinite(duration_s) and duration_s > 0):
        issues.append(Issue(where, line, f"duration {duration_s:g} s must be > 0"))
    elif duration_s is not None and offset_s + duration_s > file_s + END_TOLERANCE_S:
        issues.append(
            Issue(
                where,
                line,
                f"excerpt {offset_s:g}-{offset_s + duration_s:g} s runs past the end of {name}",
            )
        )
    if len(issues) > n_before:
        return None
    available_s = file_s - offset_s if duration_s is None else min(duration_s, file_s - offset_s)
    for index, seg in enumerate(entry.segments):
        if seg.end > available_s + END_TOLERANCE_S:
            seg_where, seg_line = entry.where(index)
            span = "the excerpt" if entry.offset_s or entry.duration_s is not None else "the audio"
            issues.append(
                Issue(
                    seg_where,
                    seg_line,
                    f"segment {seg.start:.3f}-{seg.end:.3f} s ends after {span} of {name} "
                    f"({available_s:.3f} s)",
                )
            )
    if len(issues) > n_before:
        return None
    clipped = tuple(
        Segment(seg.start, min(seg.end, available_s))
        for seg in entry.segments
        if seg.start < available_s
    )
    return replace(entry, segments=clipped, duration_s=available_s)


def validate(entries: Iterable[ManifestEntry]) -> list[Issue]:
    """Check every entry against its audio file, collecting all problems.

    Checks that the audio exists and is readable (its header, via
    :func:`~voicecnn.io.audio.audio_duration_s`) and holds samples, that ``offset_s`` and
    ``duration_s`` lie inside the file and that every segment ends inside the excerpt (with
    :data:`END_TOLERANCE_S` to spare). Segments themselves are already non-negative and in
    order (:class:`~voicecnn.detection.segments.Segment` enforces it; readers report violations).

    Args:
        entries: The entries to check.

    Returns:
        Every problem found, in entry order; empty when all is well.
    """
    issues: list[Issue] = []
    for entry in entries:
        _validate_entry(entry, issues)
    return issues


def load_dataset(
    sources: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
) -> list[ManifestEntry]:
    """Read and check annotated datasets: manifests and annotated folders, every problem at once.

    Each source is a JSON Lines manifest (:func:`~voicecnn.data.manifest.read_manifest`) or
    a folder of recordings with annotation files
    (:func:`~voicecnn.data.annotated_folder.scan_annotated_folder`). Everything is parsed and
    every entry is checked against its audio (:func:`validate`) before anything is raised, so
    one run reports all the problems.

    Args:
        sources: One manifest or folder, or a list of them.

    Returns:
        All entries in order, each with ``duration_s`` filled in (the excerpt's length) and its
        segments clipped to the excerpt (they may overrun it by :data:`END_TOLERANCE_S`).

    Raises:
        DataError: One error listing every problem, ``path:line: message`` per line sorted by
            file and line, after a first line that counts them; or if ``sources`` is empty.
    """
    paths = [sources] if isinstance(sources, str | os.PathLike) else list(sources)
    if not paths:
        raise DataError("no dataset given: pass a manifest or a folder of annotated recordings")
    issues: list[Issue] = []
    entries: list[ManifestEntry] = []
    for source in paths:
        path = Path(source)
        if path.is_file() and path.suffix.lower() in ANNOTATION_SUFFIXES:
            message = "an annotation file, not a manifest: pass the folder holding it and its audio"
            issues.append(Issue(path, None, message))
            continue
        found, parse_issues = (
            parse_annotated_folder(path) if path.is_dir() else parse_manifest(path)
        )
        issues.extend(parse_issues)
        entries.extend(found)
    checked = [_validate_entry(entry, issues) for entry in entries]
    if issues:
        # File by file, in line order: the problems of one file end up together.
        raise issues_error(sorted(issues, key=lambda issue: (str(issue.path), issue.line or 0)))
    return [entry for entry in checked if entry is not None]
