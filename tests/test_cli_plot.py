"""``voicecnn plot`` and ``voicecnn detect --plot`` (voicecnn.cli.plot): pictures written beside the
detections."""

from __future__ import annotations

from pathlib import Path

import soundfile as sf
from typer.testing import CliRunner

from voicecnn.cli import app

from .conftest import assert_picture, speechlike

runner = CliRunner()


def test_cli_plot_and_detect_plot(tiny_weights: Path, tmp_path: Path) -> None:
    wav_file = tmp_path / "one.wav"
    sf.write(wav_file, speechlike(1.0), 16000)
    out = tmp_path / "p.png"
    result = runner.invoke(app, ["plot", str(wav_file), "-m", str(tiny_weights), "-o", str(out)])
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip() == str(out)
    assert_picture(out)
    det_png = tmp_path / "d.png"
    result = runner.invoke(app, ["detect", str(wav_file), "-m", str(tiny_weights), "-f", "json",
                                 "--plot", str(det_png)])
    assert result.exit_code == 0, result.stderr
    assert result.stdout.count("\n") == 1  # the results are still printed
    assert_picture(det_png)


