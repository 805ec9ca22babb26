"""Folders of recordings with an annotation file beside each (or RTTM files for many of them).

``a.wav`` pairs with ``a.csv``, ``a.rttm``, ``a.txt`` (Audacity), ``a.TextGrid`` or ``a.lab``
(:mod:`voicecnn.data.annotations`); an RTTM file whose stem matches no audio file holds the
annotations of many files, keyed by file id.
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

from voicecnn.data.annotations import ANNOTATION_SUFFIXES, parse_annotation
from voicecnn.data.annotations.row import Row, merge_rows
from voicecnn.data.annotations.rttm import parse_rttm
from voicecnn.data.audio_files import AUDIO_SUFFIXES, list_files
from voicecnn.data.issue import Issue, issues_error
from voicecnn.data.manifest import ManifestEntry

__all__ = ["parse_annotated_folder", "scan_annotated_folder"]

_IGNORED_STEMS = frozenset({"readme", "license", "licence"})


def _key(path: Path, folder: Path) -> str:
    """The pairing key of a file: its path in the folder, without the suffix."""
    return path.relative_to(folder).with_suffix("").as_posix()


def parse_annotated_folder(folder: Path) -> tuple[list[ManifestEntry], list[Issue]]:
    """Entries and problems of a folder of recordings with annotation files, without raising
    (see :func:`scan_annotated_folder`)."""
    issues: list[Issue] = []
    files = list_files(folder, issues)
    if files is None:
        return [], issues
    audio: dict[str, Path] = {}
    for path in files:
        if path.suffix.lower() in AUDIO_SUFFIXES:
            key = _key(path, folder)
            if key in audio:
                message = f"two audio files for one annotation: {audio[key].name}, {path.name}"
                issues.append(Issue(path, None, message))
                continue
            audio[key] = path
    annotations: dict[str, list[Path]] = {}
    folder_rttms: list[Path] = []
    for path in files:
        suffix = path.suffix.lower()
        if suffix not in ANNOTATION_SUFFIXES or path.stem.lower() in _IGNORED_STEMS:
            continue
        key = _key(path, folder)
        if key in audio:
            annotations.setdefault(key, []).append(path)
        elif suffix == ".rttm":
            folder_rttms.append(path)  # an RTTM for many files, keyed by file id
        else:
            message = f"annotation without audio: no {key}.wav, .flac or other audio file"
            issues.append(Issue(path, None, message))
    # File ids of folder RTTMs are file names without suffix (as pyannote's "uri").
    by_id: dict[str, list[Row]] = {}
    id_source: dict[str, Path] = {}
    stems = Counter(Path(key).name for key in audio)
    for rttm in folder_rttms:
        rows_by_id, rttm_issues = parse_rttm(rttm)
        issues.extend(rttm_issues)
        for file_id, rows in rows_by_id.items():
            if file_id not in stems:
                line = rows[0].line if rows else None
                issues.append(Issue(rttm, line, f"file id {file_id!r} has no audio in {folder}"))
                continue
            by_id.setdefault(file_id, []).extend(rows)
            id_source.setdefault(file_id, rttm)
    if not audio:
        issues.append(Issue(folder, None, "no audio files found"))
    entries: list[ManifestEntry] = []
    ambiguous: set[str] = set()
    for key, audio_path in audio.items():
        own = annotations.get(key, [])
        file_id = Path(key).name
        if not own and stems[file_id] > 1 and file_id in by_id:
            if file_id not in ambiguous:
                ambiguous.add(file_id)
                message = f"file id {file_id!r} matches {stems[file_id]} audio files in {folder}"
                line = by_id[file_id][0].line if by_id[file_id] else None
                issues.append(Issue(id_source[file_id], line, message))
            continue
        if len(own) > 1 or (own and file_id in by_id):
            twice = [p.name for p in own] + ([id_source[file_id].name] if file_id in by_id else [])
            issues.append(Issue(audio_path, None, f"annotated more than once: {', '.join(twice)}"))
            continue
        if own:
            rows, own_issues = parse_annotation(own[0])
            issues.extend(own_issues)
            source = own[0]
        elif file_id in by_id:
            rows, source = by_id[file_id], id_source[file_id]
        else:
            message = f"no annotation: no {Path(key).name}.csv, .rttm, .txt, .TextGrid or .lab"
            if folder_rttms:
                message += f", and no SPEAKER lines for {file_id!r} in the folder's RTTM files"
            issues.append(Issue(audio_path, None, message))
            continue
        segments, lines = merge_rows(rows)
        entries.append(
            ManifestEntry(audio_path, tuple(segments), source=source, segment_lines=tuple(lines))
        )
    return entries, issues


def scan_annotated_folder(folder: str | os.PathLike[str]) -> list[ManifestEntry]:
    """Pair each audio file in a folder (and its subfolders) with its annotation file.

    ``rec.wav`` pairs with the annotation file of the same path and stem in any supported
    format (``rec.csv``, ``rec.rttm``, ``rec.txt``, ``rec.TextGrid``, ``rec.lab``). An RTTM
    file whose stem matches no audio file holds annotations for many files, keyed by file id
    (the audio file name without suffix). Audio files with no annotation, annotation files
    with no audio and files annotated twice are problems; ``README.txt`` is ignored.

    Only the annotations are read here; :func:`~voicecnn.data.recordings.validate` checks the
    audio.

    Args:
        folder: The folder.

    Returns:
        One entry per audio file, sorted by path.

    Raises:
        DataError: Listing every problem (``path:line: message``) if there is any.
    """
    entries, issues = parse_annotated_folder(Path(folder))
    if issues:
        raise issues_error(issues)
    return entries
