"""Finding input files and checking output folders, with one-line reasons for what fails.

``Path.exists()`` and ``Path.rglob()`` hide why a path cannot be used: a symlink loop looks
like a missing file and an unreadable subfolder is skipped silently. These helpers say which.
"""

from __future__ import annotations

import errno
import os
import tempfile
from collections.abc import Collection
from pathlib import Path

from voicecnn.escape import terminal

__all__ = ["check_writable", "find_files", "why_missing"]


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


def find_files(folder: Path, suffixes: Collection[str]) -> tuple[list[Path], list[str]]:
    """Files under ``folder`` (recursively, sorted) whose lower-cased suffix is in
    ``suffixes``, and a one-line problem per subfolder that could not be listed (unreadable)
    or per symbolic link that loops or points nowhere."""
    files: list[Path] = []
    problems: list[str] = []

    def onerror(e: OSError) -> None:
        where = e.filename if e.filename is not None else folder
        problems.append(f"cannot list {_q(where)}: {e.strerror or 'unreadable'}")

    for root, dirs, names in os.walk(folder, onerror=onerror):
        for name in names:
            p = Path(root, name)
            if p.suffix.lower() not in suffixes:
                continue
            if p.is_file():
                files.append(p)
            else:
                problems.append(why_missing(p) if not p.exists() else f"{_q(p)} is not a file")
        dirs.sort()
    return sorted(files), problems


def check_writable(folder: Path) -> None:
    """Create ``folder`` if needed and prove a file can be written in it.

    Raises:
        OSError: If it cannot be created or written to (read-only, no permission, a file).
    """
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryFile(dir=folder, prefix=".voicecnn-probe-"):
        pass
