"""``voicecnn average`` (voicecnn.cli.average): a weighted average of weights files that detect
runs, and its errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from voicecnn.cli import app

runner = CliRunner()


def _run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_average_writes_a_model_detect_runs(wav_file: Path, tiny_weights: Path,
                                            tmp_path: Path) -> None:
    out = tmp_path / "avg.safetensors"
    code, _, err = _run("average", str(tiny_weights), str(tiny_weights), "-w", "1", "-w", "3",
                        "-o", str(out))
    assert code == 0, err
    assert err.startswith(f"wrote {out}: 0.25 x {tiny_weights}, 0.75 x {tiny_weights}")
    code, out_json, err = _run("detect", str(wav_file), "-m", str(out), "-f", "json",
                               "--frames")
    assert code == 0, err
    want = json.loads(_run("detect", str(wav_file), "-m", str(tiny_weights), "-f", "json",
                           "--frames")[1])
    assert json.loads(out_json)["probabilities"] == pytest.approx(want["probabilities"],
                                                                  abs=1e-5)
    for args, message in [
        ([str(tiny_weights)], "two or more"),
        ([str(tiny_weights), "vad_cnn2d_s"], "in architecture"),
        ([str(tiny_weights), str(tmp_path / "none.safetensors")], "none.safetensors"),
    ]:
        code, _, err = _run("average", *args, "-o", str(tmp_path / "x.safetensors"))
        assert code == 1 and err.startswith("error:") and message in err, err
        assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "x.safetensors").exists()
