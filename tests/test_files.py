"""Every file voicecnn writes gets the permissions of a newly created file (0o666 less the
umask), not the 0600 of a temporary file: detect -o, split, weights, Hub folders (ONNX export:
tests/test_export.py)."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

import voicecnn as vc
from voicecnn.cli import app
from voicecnn.detection.segments import Segment
from voicecnn.detection.split import keep_file, split_file
from voicecnn.io.files import atomic_path, atomic_write_bytes


@pytest.fixture(params=[0o022, 0o002])
def umask(request: pytest.FixtureRequest) -> Iterator[int]:
    old = os.umask(request.param)
    yield request.param
    os.umask(old)


def _modes(folder: Path) -> dict[str, int]:
    return {p.name: stat.S_IMODE(p.stat().st_mode) for p in folder.iterdir() if p.is_file()}


def test_atomic_writes(tmp_path: Path, umask: int) -> None:
    atomic_write_bytes(tmp_path / "a" / "x.bin", b"1")
    with atomic_path(tmp_path / "a" / "y.bin") as tmp:
        tmp.write_bytes(b"2")
        assert stat.S_IMODE(tmp.stat().st_mode) == 0o600  # mkstemp's, until it is in place
    assert _modes(tmp_path / "a") == {"x.bin": 0o666 & ~umask, "y.bin": 0o666 & ~umask}

    def fail() -> None:
        with atomic_path(tmp_path / "a" / "x.bin") as tmp:
            tmp.write_bytes(b"partial")
            raise RuntimeError

    with pytest.raises(RuntimeError):
        fail()
    assert (tmp_path / "a" / "x.bin").read_bytes() == b"1"  # left as it was, no temp file
    assert sorted(_modes(tmp_path / "a")) == ["x.bin", "y.bin"]


def test_split_and_keep_files(wav_file: Path, tmp_path: Path, umask: int) -> None:
    split_file(wav_file, [Segment(0.1, 0.5), Segment(1.0, 1.5)], tmp_path / "parts")
    keep_file(wav_file, [Segment(0.1, 0.5)], tmp_path / "kept")
    modes = {**_modes(tmp_path / "parts"), **_modes(tmp_path / "kept")}
    assert len(modes) == 4 and set(modes.values()) == {0o666 & ~umask}


def test_detect_output_weights_and_hub_folder(
    wav_file: Path, tiny_weights: Path, tmp_path: Path, umask: int
) -> None:
    result = CliRunner().invoke(app, ["detect", str(wav_file), "-m", str(tiny_weights),
                                      "-f", "rttm", "-o", str(tmp_path / "labels")])
    assert result.exit_code == 0, result.output
    model = vc.load_module(tiny_weights)
    vc.save_weights(model, tmp_path / "w" / "m.safetensors", arch="vad_cnn1d_xs")
    vc.save_pretrained(model, tmp_path / "hub", arch="vad_cnn1d_xs")
    for folder, n in (("labels", 1), ("w", 1), ("hub", 3)):
        modes = _modes(tmp_path / folder)
        assert len(modes) == n and set(modes.values()) == {0o666 & ~umask}, folder
