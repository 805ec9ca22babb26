"""Run configs by task (``voicecnn train CONFIG``): strict keys, other tasks' settings, errors."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from tests.train_data import (
    vad_config,
    write_toml,
)
from voicecnn.cli import app

runner = CliRunner()


def test_config_errors_are_one_line_exit_1(recordings: Path, tmp_path: Path) -> None:
    cfg = write_toml(vad_config(recordings, tmp_path / "run"), tmp_path / "c.toml")
    cases = [
        (["--set", "train.lrx=1"], "unknown key(s) lrx"),
        (["--set", 'train.lr="fast"'], "train.lr: expected a number"),
        (["--set", "data.crop_s=true"], "data.crop_s: expected a number"),
        (["--set", "task=speech"], "is not one of"),
        (["--set", "arch=no_such_model"], "no_such_model"),
        (["--set", "arch=img_cnn2d_s"], "is a 'image' model"),
        (["--resume"], "nothing to resume"),
    ]
    for extra, message in cases:
        result = runner.invoke(app, ["train", str(cfg), *extra])
        assert result.exit_code == 1, (extra, result.output)
        assert message in result.stderr and result.stderr.startswith("error:"), result.stderr
    assert not (tmp_path / "run" / "best.safetensors").exists()
    bad = tmp_path / "bad.toml"
    bad.write_text('arch = "vad_cnn1d_xs"\nlearning_rate = 1\n')
    result = runner.invoke(app, ["train", str(bad)])
    assert result.exit_code == 1 and "unknown key(s) learning_rate" in result.stderr
