"""Reading files with one-line errors of the caller's error class; writing them atomically."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
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


def _new_file_mode() -> int:
    """The permissions ``open(path, "w")`` would give a new file: 0o666 less the umask."""
    umask = os.umask(0o022)
    os.umask(umask)
    return 0o666 & ~umask


@contextlib.contextmanager
def atomic_path(path: str | Path, *, suffix: str = ".tmp") -> Iterator[Path]:
    """A temporary path beside ``path`` to write; on success it replaces ``path``.

    Readers see the old file or the new one, never a part. The new file gets the permissions
    any newly created file gets (0o666 less the umask, e.g. 0644), not the 0600 of
    :func:`tempfile.mkstemp`. On an exception the temporary file is removed and ``path`` is
    left as it was. The parent folder is created if missing.

    Args:
        path: The destination.
        suffix: Ending of the temporary name (some writers choose a format by it).
    """
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{p.name}.", suffix=suffix, dir=p.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        os.chmod(tmp, _new_file_mode())
        os.replace(tmp, p)
    finally:
        tmp.unlink(missing_ok=True)


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_path`), flushed to disk."""
    with atomic_path(path) as tmp, tmp.open("wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
