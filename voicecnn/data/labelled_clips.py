"""Labelled audio clips for the clip classifiers: class folders, clip lists, folds, decoding.

Two layouts are read, and may be combined (:func:`load_clip_sources`):

- a class-per-folder tree, ``root/<class>/**/<clip>.wav|flac|ogg|...`` (the class is the first
  folder under ``root``), as ESC-10 and ESC-50 are distributed;
- a clip list: JSON Lines, one ``{"audio": "dog/1-100038-A.ogg", "label": "dog_bark"}`` per line
  (``audio_filepath`` or ``path`` also name the file; ``class`` or ``category`` the label; an
  optional integer ``fold``), or CSV with a header row naming the same columns (``filename`` is
  also taken as the path). Relative paths are relative to the list's folder.

**Folds.** Datasets with official cross-validation folds (ESC-50, ESC-10, UrbanSound8K...) are
validated on one fold at a time (:func:`split_fold`). A clip's fold is the list's ``fold``
column when it has one, else the integer before the first ``-`` of its file name (ESC-50's
``{fold}-{freesound id}-{take}.ogg``, see :func:`clip_fold`).

Nothing stops at the first problem: missing folders, classes without clips, unreadable or empty
files, bad list lines and clips without a fold are all listed in one
:class:`~voicecnn.errors.DataError` (``path:line: message``, :mod:`voicecnn.data.issue`).
:class:`~voicecnn.data.clip_dataset.ClipDataset` gives the decoded clips to training. The
unlabelled speech and non-speech clips that VAD training mixes are another thing:
:mod:`voicecnn.data.mix_clips`.
"""

from __future__ import annotations

import csv
import io
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from voicecnn.data.audio_files import AUDIO_SUFFIXES, check_audio
from voicecnn.data.issue import Issue, issues_error, json_lines, read_list_text
from voicecnn.errors import AudioError, ConfigError, DataError
from voicecnn.io.audio import load_audio

__all__ = [
    "LabelledClip",
    "class_names",
    "clip_fold",
    "label_indices",
    "load_clip_sources",
    "load_waves",
    "read_clip_list",
    "scan_clip_classes",
    "split_fold",
]

_PATH_KEYS = ("audio_filepath", "audio", "path", "filename")
_LABEL_KEYS = ("label", "class", "category")
_FOLD_PREFIX = re.compile(r"(\d+)-")
_LIST_SUFFIXES = frozenset({".jsonl", ".json", ".csv"})


@dataclass(frozen=True)
class LabelledClip:
    """One labelled audio clip.

    Attributes:
        path: The audio file.
        label: Its class name.
        fold: Its cross-validation fold when a clip list gives one (None: from the file name,
            see :func:`clip_fold`).
        source: The list or folder it came from, for messages.
        line: Its line in a clip list (None for folders).
    """

    path: Path
    label: str
    fold: int | None = None
    source: Path | None = None
    line: int | None = None


# --- reading ----------------------------------------------------------------------------------


def _audio_files(folder: Path) -> list[Path]:
    return sorted(
        f
        for f in folder.rglob("*")
        if f.is_file()
        and f.suffix.lower() in AUDIO_SUFFIXES
        and not any(part.startswith(".") for part in f.relative_to(folder).parts)
    )


def _scan_classes(root: Path, issues: list[Issue]) -> list[LabelledClip]:
    if not root.exists():
        issues.append(Issue(root, None, "folder not found"))
        return []
    if not root.is_dir():
        issues.append(Issue(root, None, "not a folder, a .jsonl or a .csv clip list"))
        return []
    classes = sorted(d for d in root.iterdir() if d.is_dir() and not d.name.startswith("."))
    if not classes:
        issues.append(Issue(root, None, "no class folders (expected root/<class>/<clip>)"))
        return []
    clips: list[LabelledClip] = []
    for folder in classes:
        found = _audio_files(folder)
        if not found:
            suffixes = ", ".join(sorted(AUDIO_SUFFIXES))
            issues.append(Issue(folder, None, f"class '{folder.name}' has no clips ({suffixes})"))
        clips += [LabelledClip(p, folder.name, source=root) for p in found]
    return clips


def scan_clip_classes(root: str | os.PathLike[str]) -> list[LabelledClip]:
    """List a class-per-folder tree of clips: ``root/<class>/**/<clip>.<audio suffix>``.

    Classes are the sub-folders of ``root`` (hidden ones skipped); files are searched
    recursively and sorted. Only the folder is read here (see :func:`load_clip_sources`).

    Raises:
        DataError: Listing every problem: ``root`` missing or not a folder, no class folders,
            class folders without clips.
    """
    issues: list[Issue] = []
    clips = _scan_classes(Path(root), issues)
    if issues:
        raise issues_error(issues)
    return clips


def _record_clip(
    record: dict[str, Any], source: Path, line: int, issues: list[Issue]
) -> LabelledClip | None:
    """A list record -> clip (paths relative to the list's folder), or None after an issue."""
    path = next((record[k] for k in _PATH_KEYS if record.get(k) not in (None, "")), None)
    label = next((record[k] for k in _LABEL_KEYS if record.get(k) not in (None, "")), None)
    fold: Any = record.get("fold")
    problems = []
    if not isinstance(path, str):
        problems.append(f"no audio path ({', '.join(_PATH_KEYS)})")
    if label is None or isinstance(label, dict | list):
        problems.append(f"no label ({', '.join(_LABEL_KEYS)})")
    if isinstance(fold, str):
        fold = int(fold) if fold.strip().isdigit() else fold
        fold = None if fold == "" else fold
    if fold is not None and (isinstance(fold, bool) or not isinstance(fold, int) or fold < 1):
        problems.append(f"fold must be a positive integer, got {fold!r}")
    if problems:
        issues.append(Issue(source, line, "; ".join(problems)))
        return None
    p = Path(os.path.expanduser(str(path)))
    return LabelledClip(p if p.is_absolute() else source.parent / p, str(label), fold, source, line)


def _read_list(path: Path, issues: list[Issue]) -> list[LabelledClip]:
    text = read_list_text(path, "clip list", issues)
    if text is None:
        return []
    clips: list[LabelledClip] = []
    if path.suffix.lower() == ".csv":
        reader = csv.DictReader(io.StringIO(text))
        columns = {c.strip().lower() for c in reader.fieldnames or ()}
        if not columns & set(_PATH_KEYS) or not columns & set(_LABEL_KEYS):
            issues.append(
                Issue(
                    path,
                    1,
                    f"the header must name a path column ({', '.join(_PATH_KEYS)}) "
                    f"and a label column ({', '.join(_LABEL_KEYS)})",
                )
            )
            return []
        for row in reader:
            record = {(k or "").strip().lower(): (v or "").strip() for k, v in row.items()}
            clip = _record_clip(record, path, reader.line_num, issues)
            if clip is not None:
                clips.append(clip)
    else:
        for number, record in json_lines(text, path, issues):
            if not isinstance(record, dict):
                issues.append(Issue(path, number, "expected a JSON object"))
                continue
            clip = _record_clip(record, path, number, issues)
            if clip is not None:
                clips.append(clip)
    if not clips and not any(i.path == path for i in issues):
        issues.append(Issue(path, None, "clip list is empty"))
    return clips


def read_clip_list(path: str | os.PathLike[str]) -> list[LabelledClip]:
    """Read a JSON Lines or CSV clip list (see the module docstring for its columns).

    Only the list is read here; :func:`load_clip_sources` also checks the audio.

    Raises:
        DataError: Listing every bad line (no path, no label, a fold that is not a positive
            integer, invalid JSON), or if the file is missing, empty or not text.
    """
    issues: list[Issue] = []
    clips = _read_list(Path(path), issues)
    if issues:
        raise issues_error(issues)
    return clips


def _check_clip(clip: LabelledClip, issues: list[Issue]) -> None:
    where = clip.source if clip.line is not None and clip.source is not None else clip.path
    check_audio(clip.path, where, clip.line, issues)


def load_clip_sources(sources: Sequence[str | os.PathLike[str]]) -> list[LabelledClip]:
    """The clips of class folders and clip lists, every file's header checked.

    Args:
        sources: Class-per-folder trees and ``.jsonl`` / ``.csv`` clip lists, at least one.

    Returns:
        The clips of all sources, in order.

    Raises:
        DataError: Listing every problem of every source at once: missing or empty folders
            and classes, bad list lines, unreadable or empty audio files.
    """
    if not sources:
        raise DataError("no clip sources given (class folders or .jsonl/.csv clip lists)")
    issues: list[Issue] = []
    clips: list[LabelledClip] = []
    for source in sources:
        p = Path(source)
        if p.suffix.lower() in _LIST_SUFFIXES and not p.is_dir():
            clips += _read_list(p, issues)
        else:
            clips += _scan_classes(p, issues)
    for clip in clips:
        _check_clip(clip, issues)
    if issues:
        raise issues_error(issues)
    return clips


def class_names(clips: Sequence[LabelledClip]) -> list[str]:
    """The sorted distinct labels of ``clips``."""
    return sorted({c.label for c in clips})


def label_indices(clips: Sequence[LabelledClip], names: Sequence[str]) -> npt.NDArray[np.int64]:
    """Each clip's class index in ``names``.

    Raises:
        DataError: Listing the labels that are not among ``names`` (with a clip of each).
    """
    index = {name: i for i, name in enumerate(names)}
    unknown: dict[str, LabelledClip] = {}
    for c in clips:
        if c.label not in index:
            unknown.setdefault(c.label, c)
    if unknown:
        issues = [
            Issue(
                c.source if c.line is not None and c.source else c.path,
                c.line,
                f"class {label!r} is not one of the {len(names)} classes: {', '.join(names)}",
            )
            for label, c in sorted(unknown.items())
        ]
        raise issues_error(issues)
    return np.asarray([index[c.label] for c in clips], dtype=np.int64)


# --- folds ------------------------------------------------------------------------------------


def clip_fold(clip: LabelledClip) -> int | None:
    """The clip's fold: the list's ``fold``, else the integer before the first ``-`` of its
    file name (``3-110389-A.ogg`` -> 3), else None."""
    if clip.fold is not None:
        return clip.fold
    m = _FOLD_PREFIX.match(clip.path.name)
    return int(m.group(1)) if m and int(m.group(1)) > 0 else None


def split_fold(
    clips: Sequence[LabelledClip], fold: int
) -> tuple[list[LabelledClip], list[LabelledClip]]:
    """Split clips into (the other folds, fold ``fold``) for cross-validation.

    Raises:
        ConfigError: If ``fold`` is not a positive integer.
        DataError: Listing every clip without a fold (no ``fold`` in its list and no
            ``<fold>-`` prefix on its name), or if no clip, or every clip, is in ``fold``.
    """
    if isinstance(fold, bool) or not isinstance(fold, int) or fold < 1:
        raise ConfigError(f"data.val_fold must be a positive fold number, got {fold!r}")
    missing = [c for c in clips if clip_fold(c) is None]
    if missing:
        raise issues_error(
            [
                Issue(
                    c.source if c.line is not None and c.source else c.path,
                    c.line,
                    f"no fold: '{c.path.name}' does not start with '<fold>-' (as ESC-50's "
                    "'3-110389-A.ogg') and the list gives no 'fold'",
                )
                for c in missing
            ]
        )
    held = [c for c in clips if clip_fold(c) == fold]
    rest = [c for c in clips if clip_fold(c) != fold]
    folds = sorted({f for c in clips if (f := clip_fold(c)) is not None})
    if not held:
        raise DataError(f"no clip is in fold {fold} (folds found: {', '.join(map(str, folds))})")
    if not rest:
        raise DataError(f"every clip is in fold {fold}: nothing is left to train on")
    return rest, held


# --- audio ------------------------------------------------------------------------------------


def load_waves(clips: Sequence[LabelledClip], sample_rate: int) -> list[npt.NDArray[np.float32]]:
    """Decode every clip as mono float32 at ``sample_rate`` (:func:`voicecnn.load_audio`).

    Raises:
        DataError: Listing every clip that cannot be decoded (or is too short to give a sample
            at ``sample_rate``).
    """
    waves: list[npt.NDArray[np.float32]] = []
    issues: list[Issue] = []
    for c in clips:
        try:
            waves.append(load_audio(c.path, sample_rate))
        except AudioError as e:
            issues.append(
                Issue(c.source if c.line is not None and c.source else c.path, c.line, str(e))
            )
    if issues:
        raise issues_error(issues)
    return waves
