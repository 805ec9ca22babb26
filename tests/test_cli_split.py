"""``voicecnn split`` (voicecnn.cli.split): what the command says and writes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf
from typer.testing import CliRunner

from voicecnn.cli import app
from voicecnn.detection.split import (
    Piece,
    read_pieces,
)

from .conftest import speechlike

runner = CliRunner()


def test_split_of_a_file_without_speech_writes_nothing(tmp_path: Path, tiny_weights: Path) -> None:
    silent = tmp_path / "silent.wav"
    sf.write(silent, np.zeros(16000, np.float32), 16000)
    for keep in ([], ["--keep", "speech"]):
        out = tmp_path / f"out{len(keep)}"
        result = runner.invoke(
            app, ["split", str(silent), "-o", str(out), "-m", str(tiny_weights),
                  "--threshold", "1", *keep],
        )
        assert result.exit_code == 0, result.stderr
        assert "no speech found, nothing written" in result.stderr
        assert not out.exists() or not any(out.iterdir())


def test_cli_split_and_keep(tmp_path: Path, tiny_weights: Path) -> None:
    audio = np.stack([speechlike(1.5, 48000), speechlike(1.5, 48000, seed=1)], axis=1)
    src = tmp_path / "talk.flac"
    sf.write(src, audio, 48000, subtype="PCM_24")
    (tmp_path / "bad.wav").write_bytes(b"junk")
    everything = ["-m", str(tiny_weights), "-t", "0", "--neg-threshold", "0", "--pad", "0"]
    runner = CliRunner()
    result = runner.invoke(app, ["split", str(src), str(tmp_path / "bad.wav"), "--out",
                                 str(tmp_path / "clips"), *everything])
    assert result.exit_code == 1  # bad.wav failed, talk.flac was still split
    assert "bad.wav" in result.stderr and "1 of 2 input(s) failed" in result.stderr
    (line,) = result.stdout.splitlines()
    clip, start, end = line.split("\t")
    assert (start, end) == ("0.000", "1.500")  # threshold 0: all speech
    got, rate = sf.read(clip)
    assert rate == 48000 and got.shape == audio.shape
    result = runner.invoke(app, ["split", str(src), "--out", str(tmp_path / "kept"),
                                 "--keep", "speech", *everything])
    assert result.exit_code == 0, result.stderr
    kept, sidecar = result.stdout.split()
    assert Path(kept).name == "talk_speech.flac" and sf.info(kept).channels == 2
    assert read_pieces(sidecar) == [Piece(0.0, 1.5, 0.0, 1.5)]
