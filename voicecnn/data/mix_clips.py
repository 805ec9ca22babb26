"""Speech and non-speech clips for VAD training, mixed on the fly, in named groups.

A clip folder holds groups (:func:`scan_mix_clip_groups`): subfolders, ``NAME.txt`` audio lists
and loose audio files; ``data.clips`` of a ``vad`` run holds a ``speech/`` and a ``nonspeech/``
such folder (:func:`scan_mix_clips`). :func:`read_audio_list` reads a ``.txt`` list of audio
files or a folder (room impulse responses). The labelled clips of the clip classifiers are
another thing: :mod:`voicecnn.data.labelled_clips`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from voicecnn.data.audio_files import AUDIO_SUFFIXES, check_audio, list_files
from voicecnn.data.issue import Issue, issues_error

__all__ = [
    "AUDIO_LIST_SUFFIX",
    "MixClipSet",
    "read_audio_list",
    "scan_mix_clip_groups",
    "scan_mix_clips",
]


@dataclass(frozen=True)
class MixClipSet:
    """Speech and non-speech clips for on-the-fly mixing, in named groups.

    A group is what a mixture draws from by weight (e.g. ``librispeech``, ``music``); see
    :func:`scan_mix_clip_groups` for how a folder's groups are found.

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


AUDIO_LIST_SUFFIX = ".txt"
"""An audio list (a group of clips, or of room impulse responses): one audio path per line,
relative to the list's folder; ``#`` starts a comment."""


def _read_audio_list_lines(path: Path, issues: list[Issue]) -> list[Path]:
    """The audio paths an audio list names; missing files are recorded with their line."""
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
    """The groups of a clip folder (see :func:`scan_mix_clip_groups`); every clip's header read."""
    if not folder.exists():
        issues.append(Issue(folder, None, "folder not found"))
        return {}
    if not folder.is_dir():
        issues.append(Issue(folder, None, "not a folder"))
        return {}
    found: dict[str, list[Path]] = {}
    for child in sorted(folder.iterdir()):
        if child.is_dir():
            files = list_files(child, issues) or []
            found.setdefault(child.name, []).extend(
                p for p in files if p.suffix.lower() in AUDIO_SUFFIXES
            )
        elif child.suffix.lower() == AUDIO_LIST_SUFFIX:
            found.setdefault(child.stem, []).extend(_read_audio_list_lines(child, issues))
        elif child.suffix.lower() in AUDIO_SUFFIXES:
            found.setdefault(folder.name, []).append(child)
    groups = {name: tuple(sorted(clips)) for name, clips in found.items() if clips}
    if not groups:
        issues.append(Issue(folder, None, "no audio files found"))
    for clips in groups.values():
        for clip in clips:
            check_audio(clip, clip, None, issues)
    return groups


def read_audio_list(path: str | os.PathLike[str]) -> tuple[Path, ...]:
    """The audio files an audio list (``.txt``, one path per line) or a folder holds.

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
        clips = tuple(sorted(_read_audio_list_lines(where, issues)))
        if not clips and not issues:
            issues.append(Issue(where, None, "the clip list names no file"))
        for clip in clips:
            check_audio(clip, clip, None, issues)
    else:
        issues.append(Issue(where, None, "not found"))
        clips = ()
    if issues:
        raise issues_error(issues)
    return clips


def scan_mix_clip_groups(folder: str | os.PathLike[str]) -> dict[str, tuple[Path, ...]]:
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


def scan_mix_clips(
    speech_dir: str | os.PathLike[str], nonspeech_dir: str | os.PathLike[str]
) -> MixClipSet:
    """List and check the audio clips of a speech folder and a non-speech folder.

    Each folder's clips are found in groups by :func:`scan_mix_clip_groups`. Every clip's header is
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
    return MixClipSet(speech, nonspeech)
