"""``voicecnn export`` (voicecnn.cli.export): a VAD model and an image classifier exported to ONNX
detect and classify as torch does (the exporter itself: tests/test_export.py)."""

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
from tests.train_data import assert_same_predictions
from voicecnn.cli import app
from voicecnn.data.images import load_image, normalize

runner = CliRunner()






@pytest.mark.slow
def test_export_image_model_and_classify_with_onnx(gap_weights: Path, tmp_path: Path) -> None:
    onnx = tmp_path / "gap.onnx"
    code, _, err = cli("export", gap_weights, "--onnx", onnx)
    assert code == 0, err
    assert "voicecnn classify --model" in err and onnx.is_file()
    net = vc.load_model(onnx)
    assert net.class_names == NAMES and net.min_input_size == (8, 8) and net.task == "image"
    rng = np.random.default_rng(4)
    pictures = []
    for i, (h, w) in enumerate([(28, 28), (40, 33), (9, 64)]):  # the graph takes any size
        path = tmp_path / f"p{i}.png"
        Image.fromarray(rng.integers(0, 256, (h, w), dtype=np.uint8)).save(path)
        pictures.append(path)
    tiny = tmp_path / "tiny.png"
    Image.new("L", (4, 4)).save(tiny)
    outputs = []
    for model in (gap_weights, onnx):
        code, out, err = cli("classify", *pictures, tiny, "-m", model, "-f", "json")
        assert code == 1 and "smaller than the model's minimum 8x8" in err
        outputs.append([json.loads(line) for line in out.splitlines()])
    via_torch, via_onnx = outputs
    assert len(via_onnx) == 3
    assert_same_predictions(via_torch, via_onnx)
    img = load_image(pictures[1], None, 1)
    x = torch.from_numpy(normalize(img[None], net.cfg.mean, net.cfg.std))
    with torch.no_grad():
        np.testing.assert_allclose(net(x).numpy(), vc.load_model(gap_weights)(x).numpy(), atol=1e-4)
    code, _, err = cli("export", tmp_path / "p0.png", "--onnx", tmp_path / "x.onnx")
    assert code == 1 and err.startswith("error:") and not (tmp_path / "x.onnx").exists()


# --- training settings ------------------------------------------------------------------------


@pytest.mark.slow
def test_export_command_and_detect_with_onnx(tiny_weights: Path, wav_file: Path,
                                             tmp_path: Path) -> None:
    out = tmp_path / "tiny.onnx"
    result = runner.invoke(app, ["export", str(tiny_weights), "--onnx", str(out)])
    assert result.exit_code == 0, result.stderr
    assert out.is_file() and "voicecnn detect --model" in result.stderr
    args = ["detect", str(wav_file), "-f", "json", "--frames"]
    via_onnx = json.loads(runner.invoke(app, [*args, "-m", str(out)]).stdout)
    via_torch = json.loads(runner.invoke(app, [*args, "-m", str(tiny_weights)]).stdout)
    np.testing.assert_allclose(via_onnx["probabilities"], via_torch["probabilities"], atol=1e-3)
    assert via_onnx["segments"] == via_torch["segments"]
