"""``voicecnn evaluate`` (voicecnn.cli.evaluate): figures on annotated recordings and on image
classifiers' test sets (IDX, npz, image folders), output formats and one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

import voicecnn as vc
from tests.conftest import cli
from tests.train_data import IMAGE_NAMES as NAMES
from tests.train_data import annotated_folder, idx_folder, squares
from voicecnn.cli import app
from voicecnn.data.images import normalize

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






def _predict(weights: Path, pixels: np.ndarray) -> np.ndarray:
    model = vc.load_model(weights)
    x = torch.from_numpy(normalize(pixels, model.cfg.mean, model.cfg.std))
    with torch.no_grad():
        return model(x).argmax(-1).numpy()  # type: ignore[no-any-return]


def test_evaluate_image_folder_npz_and_idx(gap_weights: Path, tmp_path: Path) -> None:
    x, y = squares(12)
    for i, img in enumerate(x):
        folder = tmp_path / "folder" / NAMES[y[i]]
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(img).save(folder / f"{i}.png")
    pred = _predict(gap_weights, x)
    expected = float((pred == y).mean())
    code, out, err = cli("evaluate", gap_weights, tmp_path / "folder", "-f", "json")
    assert code == 0, err
    report = json.loads(out)
    assert report["examples"] == 12 and report["classes"] == list(NAMES)
    assert report["accuracy"] == pytest.approx(expected)
    assert report["errors"] == int((pred != y).sum())
    confusion = np.zeros((2, 2), dtype=int)
    np.add.at(confusion, (y, pred), 1)
    assert report["confusion"] == confusion.tolist()
    np.savez(tmp_path / "test.npz", x=x, y=y)
    code, out, err = cli("evaluate", gap_weights, tmp_path / "test.npz")
    assert code == 0, err
    assert out.startswith(f"12 images, 2 classes: accuracy {expected:.4f}")
    assert "bottom_right" in out and "most often taken for" in out
    # an IDX folder: its t10k files when it has them, else (or with --split train) train
    idx = idx_folder(tmp_path / "idx", {"train": 6, "t10k": 4})
    runs = {
        s: cli("evaluate", gap_weights, idx, "--split", s, "-f", "json")
        for s in ("auto", "test", "train")
    }
    sizes = {s: json.loads(r[1])["examples"] for s, r in runs.items()}
    assert sizes == {"auto": 4, "test": 4, "train": 6}


def test_evaluate_errors_are_one_line(
    gap_weights: Path, tiny_weights: Path, tmp_path: Path
) -> None:
    other = tmp_path / "other" / "cat"
    other.mkdir(parents=True)
    Image.new("L", (28, 28)).save(other / "a.png")
    np.savez(tmp_path / "bad.npz", x=np.zeros((2, 28, 28), np.uint8), y=np.array([0, 5]))
    cases = [
        ((gap_weights, tmp_path / "other"), "class folder(s) cat are not among"),
        ((gap_weights, tmp_path / "bad.npz"), "label 5 but the model has 2 classes"),
        ((gap_weights, tmp_path / "nothing.npz"), "nothing.npz"),
        ((gap_weights, tmp_path / "bad.npz", tmp_path / "bad.npz"), "one data source, got 2"),
        ((gap_weights, tmp_path / "bad.npz", "--fold", "1"), "a fold is a setting for clip"),
        ((tiny_weights, tmp_path, "--fold", "2"), "settings for classifiers"),
    ]
    for args, message in cases:
        code, _, err = cli("evaluate", *args)
        assert code == 1, (args, err)
        assert err.startswith("error:") and message in err and "Traceback" not in err, err
        assert len(err.strip().splitlines()) == 1, err
