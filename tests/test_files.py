"""voicecnn.io.files: atomic writes, and every file voicecnn writes gets the permissions of a
newly created file (0o666 less the umask), not the 0600 of a temporary file (the writers that use
them: tests/test_{split,cli_detect,checkpoint,hub,export}.py)."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from tests.conftest import file_modes
from voicecnn.io.files import atomic_path, atomic_write_bytes

pytestmark = pytest.mark.no_torch  # CI runs it without torch too


def test_atomic_writes(tmp_path: Path, umask: int) -> None:
    atomic_write_bytes(tmp_path / "a" / "x.bin", b"1")
    with atomic_path(tmp_path / "a" / "y.bin") as tmp:
        tmp.write_bytes(b"2")
        assert stat.S_IMODE(tmp.stat().st_mode) == 0o600  # mkstemp's, until it is in place
    assert file_modes(tmp_path / "a") == {"x.bin": 0o666 & ~umask, "y.bin": 0o666 & ~umask}

    def fail() -> None:
        with atomic_path(tmp_path / "a" / "x.bin") as tmp:
            tmp.write_bytes(b"partial")
            raise RuntimeError

    with pytest.raises(RuntimeError):
        fail()
    assert (tmp_path / "a" / "x.bin").read_bytes() == b"1"  # left as it was, no temp file
    assert sorted(file_modes(tmp_path / "a")) == ["x.bin", "y.bin"]
