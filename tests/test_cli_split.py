"""``voicecnn split`` (voicecnn.cli.split): what the command says and writes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf
from typer.testing import CliRunner

from voicecnn.cli import app

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
