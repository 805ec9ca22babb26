"""Weights files: safetensors only, clear errors, atomic writes, bundled lookup."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

import voicecnn as vc
from tests.conftest import file_modes
from voicecnn.errors import CheckpointError, UnknownModelError
from voicecnn.net.checkpoint import atomic_write_bytes


def test_bundled_default_exists_and_loads() -> None:
    assert vc.DEFAULT_MODEL in vc.bundled_models()
    model = vc.load_module()
    assert not model.training
    card = vc.read_metadata(vc.DEFAULT_MODEL)["card"]
    assert card["params"] == sum(p.numel() for p in model.parameters()) <= 100_000
    assert vc.load_model().parameter_count() == card["params"]  # the numpy engine's copy


def test_every_bundled_model_loads_and_is_small() -> None:
    from importlib import resources

    for name in vc.bundled_models():
        size = resources.files("voicecnn.weights").joinpath(f"{name}.safetensors").stat().st_size
        assert size <= 1_000_000, name
        vc.load_model(name)


def test_unknown_name_and_untrained_arch_have_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(UnknownModelError, match="not a bundled model"):
        vc.load_model("no_such_model")
    with pytest.raises(UnknownModelError, match="without bundled weights"):
        vc.load_model("vad_cnn2d_m")
    with pytest.raises(CheckpointError, match="file not found"):
        vc.load_model(tmp_path / "missing.safetensors")


@pytest.mark.parametrize(
    "content", [b"", b"not a safetensors file at all", b"\xff" * 64], ids=["empty", "text", "junk"]
)
def test_corrupt_file_is_a_checkpoint_error(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "bad.safetensors"
    path.write_bytes(content)
    with pytest.raises(CheckpointError, match="not a safetensors"):
        vc.load_model(path)


def test_file_without_metadata_or_with_wrong_shapes(tmp_path: Path) -> None:
    bare = tmp_path / "bare.safetensors"
    save_file({"w": torch.zeros(2)}, bare)
    with pytest.raises(CheckpointError, match="no voicecnn metadata"):
        vc.load_model(bare)
    model = vc.create_model("vad_cnn1d_xs")
    state = {k: v.contiguous() for k, v in model.state_dict().items()}
    state["head.proj.weight"] = torch.zeros(1, 3, 1)
    cfg = json.dumps(vc.cfg_to_dict(model.cfg))
    bad = tmp_path / "bad.safetensors"
    save_file(state, bad, metadata={"voicecnn": "1", "arch": "vad_cnn1d_xs", "config": cfg})
    with pytest.raises(CheckpointError, match="does not match"):
        vc.load_model(bad)


def test_atomic_write_replaces_whole_file_and_leaves_no_temp(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "w.bin"
    atomic_write_bytes(path, b"old")
    atomic_write_bytes(path, b"new contents")
    assert path.read_bytes() == b"new contents"
    assert [p.name for p in path.parent.iterdir()] == ["w.bin"]
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask


# --- averaging weights ----------------------------------------------------------------------------


def _two_detectors(tmp_path: Path) -> tuple[Path, Path]:
    paths = []
    for seed in (1, 2):
        torch.manual_seed(seed)
        model = vc.create_model("vad_cnn1d_xs")
        with torch.no_grad():  # batch-norm statistics of their own, so buffers average too
            for buf in model.buffers():
                if buf.is_floating_point():
                    buf.uniform_(0.5, 1.5)
        path = tmp_path / f"m{seed}.safetensors"
        vc.save_weights(model, path, arch="vad_cnn1d_xs", card={"run": seed})
        paths.append(path)
    return paths[0], paths[1]


def test_average_weights_is_the_weighted_mean(tmp_path: Path) -> None:
    a, b = _two_detectors(tmp_path)
    out = tmp_path / "avg.safetensors"
    card = vc.average_weights([a, b], out, [1.0, 3.0])  # normalised: 0.25, 0.75
    assert [(x["source"], x["weight"], x["card"]) for x in card["averaged"]] == [
        (str(a), 0.25, {"run": 1}),
        (str(b), 0.75, {"run": 2}),
    ]
    sa, sb = vc.load_module(a).state_dict(), vc.load_module(b).state_dict()
    avg = vc.load_module(out)
    for name, value in avg.state_dict().items():
        if value.is_floating_point():
            torch.testing.assert_close(value, 0.25 * sa[name] + 0.75 * sb[name])
        else:
            assert torch.equal(value, sa[name])
    assert vc.read_metadata(out)["card"] == card
    # a model averaged with itself is itself
    vc.average_weights([a, a], tmp_path / "same.safetensors")
    x = torch.randn(1, 8000)
    with torch.no_grad():
        same = vc.load_module(tmp_path / "same.safetensors")(x)
        torch.testing.assert_close(same, vc.load_module(a)(x))


def test_average_weights_errors(tmp_path: Path) -> None:
    a, b = _two_detectors(tmp_path)
    out = tmp_path / "avg.safetensors"
    other = tmp_path / "wide.safetensors"
    wide = vc.create_model("vad_cnn1d_xs", dropout=0.3)
    vc.save_weights(wide, other, arch="vad_cnn1d_xs")
    cases = [
        (([a], None), "two or more"),
        (([a, b], [1.0]), "1 weight(s) for 2 models"),
        (([a, b], [1.0, -1.0]), "weights must be >= 0"),
        (([a, b], [0.0, 0.0]), "weights must be >= 0"),
        (([a, "vad_cnn2d_s"], None), "in architecture"),
        (([a, other], None), "in config"),
        (([a, tmp_path / "none.safetensors"], None), "none.safetensors"),
    ]
    for (sources, weights), message in cases:
        with pytest.raises(vc.VoiceCNNError, match=re.escape(message)):
            vc.average_weights(sources, out, weights)
    assert not out.exists()


def test_weights_get_a_new_files_permissions(
    tiny_weights: Path, tmp_path: Path, umask: int
) -> None:
    model = vc.load_module(tiny_weights)
    vc.save_weights(model, tmp_path / "w" / "m.safetensors", arch="vad_cnn1d_xs")
    modes = file_modes(tmp_path / "w")
    assert len(modes) == 1 and set(modes.values()) == {0o666 & ~umask}
