"""``voicecnn evaluate``: figures on annotated recordings, output formats and errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import voicecnn as vc
from tests.train_data import annotated_folder
from voicecnn.cli import app

runner = CliRunner()


@pytest.fixture(scope="module")
def recordings(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return annotated_folder(tmp_path_factory.mktemp("eval"), n_files=2, duration_s=3.0)


def test_table_and_json(tiny_weights: Path, recordings: Path) -> None:
    result = runner.invoke(app, ["evaluate", str(tiny_weights), str(recordings)])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "2 recordings, threshold 0.5, segment collar 0.2 s"
    assert [line.split()[0] for line in lines[1:]] == ["frames"] * 5 + ["segments"] * 5
    result = runner.invoke(
        app,
        [
            "evaluate",
            str(tiny_weights),
            str(recordings),
            "-f",
            "json",
            "--threshold",
            "0.3",
            "--collar",
            "0.5",
        ],
    )
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout)
    assert figures["recordings"] == 2 and 0.0 <= figures["roc_auc"] <= 1.0
    assert {"f1", "false_alarm", "seg_precision", "seg_recall", "median_start_error_s"} <= set(
        figures
    )


def test_errors(tiny_weights: Path, recordings: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["evaluate", str(tiny_weights), str(tmp_path / "missing")])
    assert result.exit_code == 1 and result.stderr.startswith("error:")
    bad = tmp_path / "bad"
    annotated_folder(bad, n_files=1, duration_s=2.0)
    (bad / "rec0.csv").write_text("start,end\n0.5,0.2\n")
    result = runner.invoke(app, ["evaluate", str(tiny_weights), str(bad)])
    assert result.exit_code == 1 and "rec0.csv" in result.stderr
    image = tmp_path / "img.safetensors"
    vc.save_weights(vc.create_model("img_cnn2d_s"), image, arch="img_cnn2d_s")
    result = runner.invoke(app, ["evaluate", str(image), str(recordings)])  # scored as images
    assert result.exit_code == 1 and "has no class folders" in result.stderr
    result = runner.invoke(app, ["evaluate", str(tiny_weights), str(recordings), "--fold", "1"])
    assert result.exit_code == 1 and "settings for classifiers" in result.stderr
    result = runner.invoke(app, ["evaluate", str(tiny_weights), str(recordings), "--collar", "-1"])
    assert result.exit_code == 2
