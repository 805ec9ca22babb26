"""Finding input files and checking output folders, with one-line reasons for what fails.

``Path.exists()`` hides why a path cannot be used (a symlink loop looks like a missing file),
and an unwritable output folder should be found before any work. These helpers say which.
"""

from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path

from voicecnn.io.escape import terminal

__all__ = ["check_writable", "why_missing"]


def _q(path: Path | str) -> str:
    return f"'{terminal(os.fspath(path))}'"


def why_missing(path: Path) -> str:
    """The one-line reason ``path`` (for which ``exists()`` is false) cannot be read."""
    try:
        path.stat()
    except OSError as e:
        if e.errno == errno.ELOOP:
            return f"cannot read {_q(path)}: symbolic link loop"
        if e.errno == errno.EACCES:
            return f"cannot read {_q(path)}: permission denied"
        if e.errno == errno.ENOTDIR:
            return f"cannot read {_q(path)}: a parent of it is not a directory"
        if path.is_symlink():
            return f"cannot read {_q(path)}: broken symbolic link to '{os.readlink(path)}'"
        if e.errno != errno.ENOENT:
            return f"cannot read {_q(path)}: {e.strerror}"
    return f"cannot read {_q(path)}: file not found"


def check_writable(folder: Path) -> None:
    """Create ``folder`` if needed and prove a file can be written in it.

    Raises:
        OSError: If it cannot be created or written to (read-only, no permission, a file).
    """
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryFile(dir=folder, prefix=".voicecnn-probe-"):
        pass
