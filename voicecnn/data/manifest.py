"""JSON Lines manifests: one annotated recording or excerpt per line, as NeMo and lhotse write them.

:func:`read_manifest` reads the entries (:class:`ManifestEntry`); :func:`parse_manifest`
returns the problems instead of raising, for :func:`voicecnn.data.recordings.load_dataset`,
which also reads annotated folders (:mod:`voicecnn.data.annotated_folder`) and checks every
entry against its audio.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import KW_ONLY, dataclass
from pathlib import Path
from typing import Any

from voicecnn.data.annotations.row import Row, merge_rows
from voicecnn.data.issue import Issue, issues_error, json_lines, read_list_text
from voicecnn.detection.segments import Segment

__all__ = ["ManifestEntry", "parse_manifest", "read_manifest"]

_AUDIO_KEYS = ("audio_filepath", "audio", "path")
_SPEECH_WORDS = frozenset({"speech", "1", "true"})
_NONSPEECH_WORDS = frozenset(
    {"background", "nonspeech", "non-speech", "non_speech", "noise", "silence", "music", "0"}
)


@dataclass(frozen=True)
class ManifestEntry:
    """One annotated recording, or an excerpt of one.

    Attributes:
        audio: The audio file.
        segments: Speech segments, sorted and disjoint, in seconds from the start of the
            excerpt (from ``offset_s``), as in NeMo and lhotse manifests.
        offset_s: Start of the excerpt in the file, seconds.
        duration_s: Length of the excerpt in seconds; None for "to the end of the file".
            :func:`~voicecnn.data.recordings.load_dataset` fills it in.
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

    def where(self, segment: int | None = None) -> tuple[Path, int | None]:
        """The file and line to blame for a problem with the entry (or one of its segments)."""
        path = self.source if self.source is not None else self.audio
        if segment is not None and segment < len(self.segment_lines):
            return path, self.segment_lines[segment]
        return path, self.line


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


def parse_manifest(path: Path) -> tuple[list[ManifestEntry], list[Issue]]:
    """Entries and problems of a JSON Lines manifest."""
    issues: list[Issue] = []
    text = read_list_text(path, "manifest", issues)
    if text is None:
        return [], issues
    if text.lstrip().startswith("["):
        message = "expected JSON Lines (one JSON object per line), got a JSON array"
        return [], [Issue(path, None, message)]
    entries: list[ManifestEntry] = []
    for number, record in json_lines(text, path, issues):
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

    Only the manifest is read here; :func:`~voicecnn.data.recordings.validate` checks the audio.

    Args:
        path: The manifest (any suffix; NeMo writes JSON Lines as ``.json``).

    Returns:
        The entries in file order.

    Raises:
        DataError: Listing every bad line (``path:line: message``) if there is any.
    """
    entries, issues = parse_manifest(Path(path))
    if issues:
        raise issues_error(issues)
    return entries
