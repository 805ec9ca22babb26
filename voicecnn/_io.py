"""Reading files with one-line errors of the caller's error class."""

from __future__ import annotations

from pathlib import Path

from voicecnn.errors import VoiceCNNError


def read_bytes(path: str | Path, error: type[VoiceCNNError]) -> bytes:
    """The contents of ``path``; a missing, directory or unreadable path raises ``error``."""
    p = Path(path)
    try:
        return p.read_bytes()
    except FileNotFoundError as e:
        raise error(f"cannot read '{p}': file not found") from e
    except IsADirectoryError as e:
        raise error(f"cannot read '{p}': is a directory") from e
    except OSError as e:
        raise error(f"cannot read '{p}': {e.strerror or e}") from e
