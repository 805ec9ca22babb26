"""ONNX export: the graph equals torch, and exported files work wherever models are accepted."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

import voicecnn as vc
from voicecnn.cli import app
from voicecnn.detection.stream import StreamingDetector
from voicecnn.errors import CheckpointError
from voicecnn.net.export import OnnxVad, export_onnx

from .conftest import speechlike

runner = CliRunner()


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[vc.VadCnn, Path]:
    torch.manual_seed(1)
    model = vc.create_model("vad_cnn1d_xs").eval()
    path = tmp_path_factory.mktemp("onnx") / "m.onnx"
    assert export_onnx(model, path, arch="vad_cnn1d_xs") < 1e-4
    assert [f.name for f in path.parent.iterdir()] == ["m.onnx"]  # one self-contained file
    umask = os.umask(0o022)
    os.umask(umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask  # a new file's, not mkstemp's
    return model, path


def test_onnx_probabilities_equal_torch_at_any_length_and_batch(
    exported: tuple[vc.VadCnn, Path],
) -> None:
    model, path = exported
    onnx_model = vc.load_model(path)
    assert isinstance(onnx_model, OnnxVad)
    assert onnx_model.context_frames == model.context_frames
    assert onnx_model.frame_hop_s == model.frame_hop_s
    for n in (160, 1234, 48000):
        x = torch.randn(3, n) * 0.1
        with torch.inference_mode():
            np.testing.assert_allclose(onnx_model(x).numpy(), model(x).numpy(), atol=1e-4)
    wave = speechlike(6.0, seed=30)
    np.testing.assert_allclose(vc.frame_probs(onnx_model, wave, chunk_s=1.3),
                               vc.frame_probs(model, wave), atol=1e-5)


def test_onnx_model_streams(exported: tuple[vc.VadCnn, Path]) -> None:
    model, path = exported
    wave = speechlike(3.0, seed=31)
    det = StreamingDetector(vc.load_model(path))  # not a VadCnn: the torch-style engine
    parts = [det.feed(wave[i : i + 700]).probs for i in range(0, wave.size, 700)]
    parts.append(det.flush().probs)
    np.testing.assert_allclose(np.concatenate(parts), vc.frame_probs(model, wave), atol=1e-5)


def test_bad_onnx_files(tmp_path: Path) -> None:
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"not onnx")
    with pytest.raises(CheckpointError, match="not a readable ONNX"):
        vc.load_model(junk)
    with pytest.raises(CheckpointError, match="file not found"):
        vc.load_model(tmp_path / "missing.onnx")
    result = runner.invoke(app, ["export", "no_such_model", "--onnx", str(tmp_path / "x.onnx")])
    assert result.exit_code == 1 and not (tmp_path / "x.onnx").exists()


@pytest.fixture(scope="module")
def onnx_detector(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")
    from voicecnn.net.export import export_onnx

    path = tmp_path_factory.mktemp("onnx") / "vad.onnx"
    export_onnx(vc.create_model("vad_cnn1d_xs").eval(), path, arch="vad_cnn1d_xs")
    return path


@pytest.mark.parametrize(
    ("key", "value", "word"),
    [
        ("context_frames", "[1000000000, 0]", "s of audio"),
        ("context_frames", "[1, 2, 3]", "context_frames"),
        ("sample_rate", "1000000000000", "sample_rate"),
        ("hop_length", "-1", "hop_length"),
        ("config", "{not json", "config"),
    ],
)
@pytest.mark.slow
def test_hostile_onnx_metadata(
    key: str, value: str, word: str, onnx_detector: Path, tmp_path: Path
) -> None:
    import onnx

    graph = onnx.load(str(onnx_detector))
    for prop in graph.metadata_props:
        if prop.key == key:
            prop.value = value
    path = tmp_path / "hostile.onnx"
    onnx.save(graph, str(path))
    with pytest.raises(CheckpointError) as e:
        vc.load_model(path)
    assert word in str(e.value) and "\n" not in str(e.value)
