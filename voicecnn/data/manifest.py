"""Datasets as lists of entries: JSON Lines manifests, annotated folders and clip folders.

Three layouts are read:

- a JSON Lines manifest (:func:`read_manifest`), one recording or excerpt per line, as NeMo
  and lhotse write them;
- a folder of recordings with annotation files beside them (:func:`scan_annotated_folder`):
  ``a.wav`` with ``a.csv``, ``a.rttm``, ``a.txt`` (Audacity), ``a.TextGrid`` or ``a.lab``, or
  RTTM files for the whole folder keyed by file id;
- a folder of speech clips and one of non-speech clips, mixed on the fly during training
  (:func:`scan_clip_folders`), each in named groups of subfolders or clip lists
  (:func:`scan_clip_groups`).

Nothing stops at the first problem. :func:`load_dataset` parses everything, checks every
entry against its audio (:func:`validate`) and raises one :class:`~voicecnn.errors.DataError`
listing every problem as ``path:line: message``, before any training starts.
"""

from __future__ import annotations

import json
import math
import os
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import KW_ONLY, dataclass, replace
from pathlib import Path
from typing import Any

from voicecnn.audio import AUDIO_SUFFIXES, audio_duration_s
from voicecnn.data.annotations import (
    ANNOTATION_SUFFIXES,
    Issue,
    Row,
    issues_error,
    merge_rows,
    parse_annotation,
    parse_rttm,
)
from voicecnn.errors import AudioError, DataError
from voicecnn.segments import Segment

__all__ = [
    "AUDIO_SUFFIXES",
    "END_TOLERANCE_S",
    "ClipSet",
    "ManifestEntry",
    "load_dataset",
    "read_clip_list",
    "read_manifest",
    "scan_annotated_folder",
    "scan_clip_folders",
    "scan_clip_groups",
    "validate",
]

END_TOLERANCE_S = 0.05
"""How far (in seconds) a segment or excerpt may run past the end of its audio and still be
accepted (then clipped): annotation tools round times, and audio lengths change slightly with
encoding."""

_AUDIO_KEYS = ("audio_filepath", "audio", "path")
_SPEECH_WORDS = frozenset({"speech", "1", "true"})
_NONSPEECH_WORDS = frozenset(
    {"background", "nonspeech", "non-speech", "non_speech", "noise", "silence", "music", "0"}
)
_IGNORED_STEMS = frozenset({"readme", "license", "licence"})


@dataclass(frozen=True)
class ManifestEntry:
    """One annotated recording, or an excerpt of one.

    Attributes:
        audio: The audio file.
        segments: Speech segments, sorted and disjoint, in seconds from the start of the
            excerpt (from ``offset_s``), as in NeMo and lhotse manifests.
        offset_s: Start of the excerpt in the file, seconds.
        duration_s: Length of the excerpt in seconds; None for "to the end of the file".
            :func:`load_dataset` fills it in.
        source: The file the entry came from (manifest or annotation file), for messages.
        line: The entry's line in ``source`` (manifests), None for a whole annotation file.
        segment_lines: For each segment, the line of ``source`` that gave its end (annotation
            files); empty when the segments came from ``line``.
    """

    audio: Path
    segments: tuple[Segment, ...] = ()
    offset_s: float = 0.0
    duration_s: float | None = None
    _: KW_ONLY
    source: Path | None = None
    line: int | None = None
    segment_lines: tuple[int, ...] = ()

    def _where(self, segment: int | None = None) -> tuple[Path, int | None]:
        """The file and line to blame for a problem with the entry (or one of its segments)."""
        path = self.source if self.source is not None else self.audio
        if segment is not None and segment < len(self.segment_lines):
            return path, self.segment_lines[segment]
        return path, self.line


@dataclass(frozen=True)
class ClipSet:
    """Speech and non-speech clips for on-the-fly mixing, in named groups.

    A group is what a mixture draws from by weight (e.g. ``librispeech``, ``music``); see
    :func:`scan_clip_groups` for how a folder's groups are found.

    Attributes:
        speech_groups: Clips of clean speech by group (their labels come from their energy).
        nonspeech_groups: Clips with no speech at all (noise, music, ambience) by group.
    """

    speech_groups: dict[str, tuple[Path, ...]]
    nonspeech_groups: dict[str, tuple[Path, ...]]

    @property
    def speech(self) -> tuple[Path, ...]:
        """Every speech clip, sorted by path."""
        return tuple(sorted(p for g in self.speech_groups.values() for p in g))

    @property
    def nonspeech(self) -> tuple[Path, ...]:
        """Every non-speech clip, sorted by path."""
        return tuple(sorted(p for g in self.nonspeech_groups.values() for p in g))


# --- JSON Lines manifests ---------------------------------------------------------------------


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _segment_pair(item: Any) -> tuple[Any, Any] | None:
    """``(start, end)`` of ``{"start", "end"}``, ``{"start", "duration"}`` or ``[start, end]``."""
    if isinstance(item, dict):
        if "end" in item:
            return item.get("start"), item["end"]
        start: Any = item.get("start")
        duration: Any = item.get("duration")
        if _is_number(start) and _is_number(duration):
            return start, start + duration
        return None
    if isinstance(item, list | tuple) and len(item) == 2:
        return item[0], item[1]
    return None


def _parse_segments(
    items: Any, manifest: Path, line: int, issues: list[Issue]
) -> tuple[Segment, ...]:
    """The good segments of a manifest entry, recording every problem with the others."""
    if not isinstance(items, list):
        issues.append(Issue(manifest, line, "'segments' must be a list of [start, end] pairs"))
        return ()
    rows: list[Row] = []
    for index, item in enumerate(items, start=1):
        pair = _segment_pair(item)
        if pair is None or not (_is_number(pair[0]) and _is_number(pair[1])):
            issues.append(
                Issue(
                    manifest,
                    line,
                    f"segment {index}: {json.dumps(item)} is not {{'start': s, 'end': s}} or "
                    "[start, end] in seconds",
                )
            )
            continue
        start, end = float(pair[0]), float(pair[1])
        problem = _segment_problem(start, end)
        if problem:
            issues.append(Issue(manifest, line, f"segment {index}: {problem}"))
            continue
        rows.append(Row(start, end, line))
    return tuple(merge_rows(rows)[0])


def _segment_problem(start: float, end: float) -> str | None:
    """What is wrong with a segment, or None."""
    if start < 0 or end < 0:
        return f"negative time in segment {start:g}-{end:g} s"
    if end < start:
        return f"reversed segment: end {end:g} s is before start {start:g} s"
    if end == start:
        return f"empty segment: start and end are both {start:g} s"
    return None


def _lhotse_fields(record: dict[str, Any]) -> tuple[Any, Any, Any, Any]:
    """``(audio, offset, duration, segments)`` of a lhotse cut (a MonoCut with file sources)."""
    recording = record["recording"]
    sources = recording.get("sources") if isinstance(recording, dict) else None
    first = sources[0] if isinstance(sources, list) and sources else None
    audio = None
    if isinstance(first, dict) and first.get("type", "file") == "file":
        audio = first.get("source")
    offset: Any = record.get("start", 0.0)
    duration: Any = record.get("duration")
    segments: Any = None
    supervisions = record.get("supervisions", [])
    if isinstance(supervisions, list) and _is_number(duration):
        # lhotse lets supervisions stick out of their cut: keep the part inside it.
        segments = []
        for sup in supervisions:
            pair = _segment_pair(sup)
            if pair is None or not (_is_number(pair[0]) and _is_number(pair[1])):
                segments.append(sup)  # reported as malformed by _parse_segments
                continue
            start, end = max(0.0, float(pair[0])), min(float(duration), float(pair[1]))
            if end > start:
                segments.append([start, end])
    return audio, offset, duration, segments


def _parse_record(
    record: Any, manifest: Path, line: int, issues: list[Issue]
) -> ManifestEntry | None:
    """One manifest line as an entry, recording every problem with it.

    Returns None when the audio, offset or duration is unusable. An entry with bad segments is
    still returned (with its good segments) so that its audio gets checked too; the caller
    raises because of the recorded issues anyway.
    """
    if not isinstance(record, dict):
        issues.append(Issue(manifest, line, f"expected a JSON object, got {type(record).__name__}"))
        return None
    n_before = len(issues)
    if "recording" in record:
        audio, offset, duration, segments = _lhotse_fields(record)
        label = None
    else:
        audio = next((record[key] for key in _AUDIO_KEYS if key in record), None)
        offset, duration = record.get("offset", 0.0), record.get("duration")
        segments, label = record.get("segments"), record.get("label")
    if not isinstance(audio, str) or not audio:
        keys = ", ".join(repr(key) for key in _AUDIO_KEYS)
        issues.append(Issue(manifest, line, f"no audio path (one of the keys {keys})"))
    if not _is_number(offset) or offset < 0:
        issues.append(Issue(manifest, line, f"'offset' must be seconds >= 0, got {offset!r}"))
    if duration is not None and (not _is_number(duration) or duration <= 0):
        issues.append(Issue(manifest, line, f"'duration' must be seconds > 0, got {duration!r}"))
    if len(issues) > n_before:
        return None
    parsed: tuple[Segment, ...] = ()
    if segments is not None:
        parsed = _parse_segments(segments, manifest, line, issues)
    elif isinstance(label, str) and label.lower() in _SPEECH_WORDS:
        if _is_number(duration) and duration > 0:
            parsed = (Segment(0.0, float(duration)),)  # a NeMo speech clip: speech throughout
        else:
            issues.append(Issue(manifest, line, "'label': 'speech' needs a 'duration'"))
    elif isinstance(label, str) and label.lower() in _NONSPEECH_WORDS:
        pass
    elif label is not None:
        issues.append(
            Issue(manifest, line, f"unknown 'label' {label!r} (use 'speech' or 'background')")
        )
    else:
        issues.append(
            Issue(manifest, line, "no 'segments' (use [] for no speech) or 'label' given")
        )
    path = Path(os.path.expanduser(str(audio)))
    return ManifestEntry(
        audio=path if path.is_absolute() else manifest.parent / path,
        segments=parsed,
        offset_s=float(offset),
        duration_s=None if duration is None else float(duration),
        source=manifest,
        line=line,
    )


def _read_text(path: Path, what: str, issues: list[Issue]) -> str | None:
    """The UTF-8 text of a list file (``what``: its kind, for the messages), or None after
    recording why it cannot be read."""
    try:
        return path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        issues.append(Issue(path, None, f"cannot read {what}: file not found"))
    except UnicodeDecodeError as e:
        issues.append(Issue(path, None, f"{what} is not UTF-8 text (byte {e.start})"))
    except OSError as e:
        issues.append(Issue(path, None, f"cannot read {what}: {e.strerror or 'cannot open'}"))
    return None


def _json_lines(text: str, path: Path, issues: list[Issue]) -> Iterator[tuple[int, Any]]:
    """(line number, parsed value) of each non-blank JSON Lines line; invalid lines recorded."""
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            record = json.loads(raw)
        except json.JSONDecodeError as e:
            issues.append(Issue(path, number, f"not valid JSON: {e.msg} (column {e.colno})"))
            continue
        yield number, record


def _parse_manifest(path: Path) -> tuple[list[ManifestEntry], list[Issue]]:
    """Entries and problems of a JSON Lines manifest."""
    issues: list[Issue] = []
    text = _read_text(path, "manifest", issues)
    if text is None:
        return [], issues
    if text.lstrip().startswith("["):
        message = "expected JSON Lines (one JSON object per line), got a JSON array"
        return [], [Issue(path, None, message)]
    entries: list[ManifestEntry] = []
    for number, record in _json_lines(text, path, issues):
        entry = _parse_record(record, path, number, issues)
        if entry is not None:
            entries.append(entry)
    if not text.strip():
        issues.append(Issue(path, None, "manifest is empty"))
    return entries, issues


def read_manifest(path: str | os.PathLike[str]) -> list[ManifestEntry]:
    """Read a JSON Lines manifest: one recording or excerpt per line.

    Each line is a JSON object with

    - the audio path: ``audio_filepath`` (NeMo), ``audio`` or ``path``; relative paths are
      relative to the manifest's folder;
    - optionally ``offset`` and ``duration`` in seconds, the excerpt of the file to use;
    - the speech: ``segments``, a list of ``{"start": s, "end": s}`` (or ``"duration"``
      instead of ``"end"``) or ``[start, end]`` pairs in seconds from ``offset`` (``[]`` for no
      speech), or a NeMo clip ``label``: ``"speech"`` (speech throughout; needs ``duration``)
      or ``"background"``.

    lhotse cuts (``{"recording": {"sources": [...]}, "start", "duration", "supervisions"}``)
    are read too; their supervisions become the segments, clipped to the cut.

    Only the manifest is read here; :func:`validate` checks the audio.

    Args:
        path: The manifest (any suffix; NeMo writes JSON Lines as ``.json``).

    Returns:
        The entries in file order.

    Raises:
        DataError: Listing every bad line (``path:line: message``) if there is any.
    """
    entries, issues = _parse_manifest(Path(path))
    if issues:
        raise issues_error(issues)
    return entries


# --- folders ----------------------------------------------------------------------------------


def _list_files(folder: Path, issues: list[Issue]) -> list[Path] | None:
    """Every file under ``folder`` (recursively, sorted), or None if it is not a folder."""
    if not folder.exists():
        issues.append(Issue(folder, None, "folder not found"))
        return None
    if not folder.is_dir():
        issues.append(Issue(folder, None, "not a folder"))
        return None
    return sorted(path for path in folder.rglob("*") if path.is_file())


def _key(path: Path, folder: Path) -> str:
    """The pairing key of a file: its path in the folder, without the suffix."""
    return path.relative_to(folder).with_suffix("").as_posix()


def _scan_annotated(folder: Path) -> tuple[list[ManifestEntry], list[Issue]]:
    """Entries and problems of a folder of recordings with annotation files."""
    issues: list[Issue] = []
    files = _list_files(folder, issues)
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

    Only the annotations are read here; :func:`validate` checks the audio.

    Args:
        folder: The folder.

    Returns:
        One entry per audio file, sorted by path.

    Raises:
        DataError: Listing every problem (``path:line: message``) if there is any.
    """
    entries, issues = _scan_annotated(Path(folder))
    if issues:
        raise issues_error(issues)
    return entries


def _check_audio(path: Path, where: Path, line: int | None, issues: list[Issue]) -> float | None:
    """The duration of an audio file in seconds, or None after recording why it is unusable."""
    try:
        duration_s = audio_duration_s(path)
    except AudioError as e:
        issues.append(Issue(where, line, str(e)))
        return None
    if duration_s <= 0:
        issues.append(Issue(where, line, f"'{path}' holds no audio samples"))
        return None
    return duration_s


LIST_SUFFIX = ".txt"
"""A clip list: one audio path per line (relative to the list's folder; ``#`` comments)."""


def _read_clip_list(path: Path, issues: list[Issue]) -> list[Path]:
    """The audio paths a clip list names; missing files are recorded with their line."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        issues.append(Issue(path, None, f"cannot read the clip list: {e}"))
        return []
    clips = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        clip = Path(os.path.normpath(path.parent / Path(line).expanduser()))
        if not clip.is_file():
            issues.append(Issue(path, number, f"'{clip}': file not found"))
            continue
        clips.append(clip)
    return clips


def _clip_groups(folder: Path, issues: list[Issue]) -> dict[str, tuple[Path, ...]]:
    """The groups of a clip folder (see :func:`scan_clip_groups`); every clip's header read."""
    if not folder.exists():
        issues.append(Issue(folder, None, "folder not found"))
        return {}
    if not folder.is_dir():
        issues.append(Issue(folder, None, "not a folder"))
        return {}
    found: dict[str, list[Path]] = {}
    for child in sorted(folder.iterdir()):
        if child.is_dir():
            files = _list_files(child, issues) or []
            found.setdefault(child.name, []).extend(
                p for p in files if p.suffix.lower() in AUDIO_SUFFIXES
            )
        elif child.suffix.lower() == LIST_SUFFIX:
            found.setdefault(child.stem, []).extend(_read_clip_list(child, issues))
        elif child.suffix.lower() in AUDIO_SUFFIXES:
            found.setdefault(folder.name, []).append(child)
    groups = {name: tuple(sorted(clips)) for name, clips in found.items() if clips}
    if not groups:
        issues.append(Issue(folder, None, "no audio files found"))
    for clips in groups.values():
        for clip in clips:
            _check_audio(clip, clip, None, issues)
    return groups


def read_clip_list(path: str | os.PathLike[str]) -> tuple[Path, ...]:
    """The clips a clip list (``.txt``, one audio path per line) or a folder holds.

    A folder gives every audio file under it; a list gives its paths (relative to the list's
    folder; blank and ``#`` lines skipped). Every clip's header is checked.

    Raises:
        DataError: Listing every problem (missing list or folder, a line naming a missing file,
            an unreadable clip, no clip at all).
    """
    issues: list[Issue] = []
    where = Path(path).expanduser()
    if where.is_dir():
        groups = _clip_groups(where, issues)
        clips = tuple(sorted(p for g in groups.values() for p in g))
    elif where.is_file():
        clips = tuple(sorted(_read_clip_list(where, issues)))
        if not clips and not issues:
            issues.append(Issue(where, None, "the clip list names no file"))
        for clip in clips:
            _check_audio(clip, clip, None, issues)
    else:
        issues.append(Issue(where, None, "not found"))
        clips = ()
    if issues:
        raise issues_error(issues)
    return clips


def scan_clip_groups(folder: str | os.PathLike[str]) -> dict[str, tuple[Path, ...]]:
    """The clips of a folder in named groups, each clip's header checked.

    - every subfolder is a group named after it (its audio files, searched recursively);
    - every ``NAME.txt`` is a clip list, group ``NAME``: one audio path per line, relative to
      the list's folder (absolute and ``~`` paths work; blank and ``#`` lines are skipped), so
      a prepare step can point at audio where it lies instead of copying it;
    - audio files directly in the folder form the group named after the folder.

    Args:
        folder: The folder.

    Returns:
        Group name -> clips sorted by path (groups in name order; empty groups left out).

    Raises:
        DataError: Listing every problem (missing or empty folder, unreadable clip, a list
            naming a missing file, with its line) if any.
    """
    issues: list[Issue] = []
    groups = _clip_groups(Path(folder).expanduser(), issues)
    if issues:
        raise issues_error(issues)
    return groups


def scan_clip_folders(
    speech_dir: str | os.PathLike[str], nonspeech_dir: str | os.PathLike[str]
) -> ClipSet:
    """List and check the audio clips of a speech folder and a non-speech folder.

    Each folder's clips are found in groups by :func:`scan_clip_groups`. Every clip's header is
    read, so unreadable or empty files are reported here rather than during training.

    Args:
        speech_dir: Folder of clean speech clips.
        nonspeech_dir: Folder of clips without speech.

    Returns:
        The clips by group, each group sorted by path.

    Raises:
        DataError: Listing every problem (missing or empty folder, unreadable clip) if any.
    """
    issues: list[Issue] = []
    speech = _clip_groups(Path(speech_dir).expanduser(), issues)
    nonspeech = _clip_groups(Path(nonspeech_dir).expanduser(), issues)
    if issues:
        raise issues_error(issues)
    return ClipSet(speech, nonspeech)


# --- validation -------------------------------------------------------------------------------


def _validate_entry(entry: ManifestEntry, issues: list[Issue]) -> ManifestEntry | None:
    """Check one entry against its audio; the entry resolved and clipped, or None."""
    where, line = entry._where()
    n_before = len(issues)
    file_s = _check_audio(entry.audio, where, line, issues)
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
            seg_where, seg_line = entry._where(index)
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
    :func:`~voicecnn.audio.audio_duration_s`) and holds samples, that ``offset_s`` and
    ``duration_s`` lie inside the file and that every segment ends inside the excerpt (with
    :data:`END_TOLERANCE_S` to spare). Segments themselves are already non-negative and in
    order (:class:`~voicecnn.segments.Segment` enforces it; readers report violations).

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

    Each source is a JSON Lines manifest (:func:`read_manifest`) or a folder of recordings with
    annotation files (:func:`scan_annotated_folder`). Everything is parsed and every entry is
    checked against its audio (:func:`validate`) before anything is raised, so one run reports
    all the problems.

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
        found, parse_issues = _scan_annotated(path) if path.is_dir() else _parse_manifest(path)
        issues.extend(parse_issues)
        entries.extend(found)
    checked = [_validate_entry(entry, issues) for entry in entries]
    if issues:
        # File by file, in line order: the problems of one file end up together.
        raise issues_error(sorted(issues, key=lambda issue: (str(issue.path), issue.line or 0)))
    return [entry for entry in checked if entry is not None]
