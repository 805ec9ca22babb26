"""Audio files in folders: which suffixes are audio, listing folders, checking headers."""

from __future__ import annotations

from pathlib import Path

from voicecnn.data.issue import Issue
from voicecnn.errors import AudioError
from voicecnn.io.audio import AUDIO_SUFFIXES, audio_duration_s

__all__ = ["AUDIO_SUFFIXES", "check_audio", "list_files"]


def list_files(folder: Path, issues: list[Issue]) -> list[Path] | None:
    """Every file under ``folder`` (recursively, sorted), or None if it is not a folder."""
    if not folder.exists():
        issues.append(Issue(folder, None, "folder not found"))
        return None
    if not folder.is_dir():
        issues.append(Issue(folder, None, "not a folder"))
        return None
    return sorted(path for path in folder.rglob("*") if path.is_file())


def check_audio(path: Path, where: Path, line: int | None, issues: list[Issue]) -> float | None:
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
