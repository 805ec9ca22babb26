"""Every registered image and clip classifier: shapes, backward, head reset, checkpoints."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

import voicecnn as vc
from voicecnn.net.models import ClipCnn, ClipCnnCfg, ImageCnn, ImageCnnCfg

IMAGE_MODELS = vc.list_models("image")
CLIP_MODELS = vc.list_models("clip")
CLASSIFIERS = IMAGE_MODELS + CLIP_MODELS


def _create(name: str, **overrides: Any) -> Any:
    return vc.create_model(name, **overrides)


def _input(model: Any, batch: int = 2) -> torch.Tensor:
    if isinstance(model, ClipCnn):
        return torch.randn(batch, 8000)
    assert isinstance(model, ImageCnn)
    h, w = model.cfg.input_size or (28, 28)
    return torch.randn(batch, model.cfg.in_channels, h, w)


def test_registry_has_the_three_image_variants_and_a_clip_model() -> None:
    assert {"img_cnn2d_s", "img_cnn2d_alex", "img_cnn2d_gap"} <= set(IMAGE_MODELS)
    assert "clip_cnn2d_s" in CLIP_MODELS
    assert not set(CLASSIFIERS) & set(vc.list_models("vad"))


@pytest.mark.parametrize("name", CLASSIFIERS)
def test_output_shape_and_contract(name: str) -> None:
    model = _create(name).eval()
    x = _input(model, 3)
    feats = model.forward_features(x)
    logits = model(x)
    assert logits.shape == (3, 10)
    assert torch.equal(model.forward_head(feats), logits)
    assert len(model.class_names) == model.num_classes == 10


@pytest.mark.parametrize("name", CLASSIFIERS)
def test_backward_reaches_every_parameter(name: str) -> None:
    model = _create(name).train()
    logits = model(_input(model, 4))
    loss = torch.nn.functional.cross_entropy(logits, torch.tensor([0, 1, 2, 3]))
    loss.backward()  # type: ignore[no-untyped-call]
    for pname, p in model.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), pname
        assert p.grad.abs().sum() > 0, pname


@pytest.mark.parametrize("name", CLASSIFIERS)
def test_reset_head_changes_classes_and_config(name: str) -> None:
    model = _create(name).eval()
    x = _input(model, 2)
    feats_before = model.forward_features(x)
    model.reset_head(3, ["cat", "dog", "bird"])
    assert model.cfg.num_classes == 3 and model.class_names == ("cat", "dog", "bird")
    assert model(x).shape == (2, 3)
    assert torch.equal(model.forward_features(x), feats_before)  # only the head is new
    model.reset_head(4)
    assert model.class_names == ("0", "1", "2", "3")


@pytest.mark.parametrize("name", CLASSIFIERS)
def test_checkpoint_round_trip_keeps_labels(name: str, tmp_path: Path) -> None:
    model = _create(name).eval()
    model.reset_head(4, ["a", "b", "c", "d"])
    with torch.no_grad():  # non-default BatchNorm statistics must be saved
        for m in model.modules():
            if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
                assert m.running_mean is not None and m.running_var is not None
                m.running_mean.uniform_(-1, 1)
                m.running_var.uniform_(0.5, 2)
    path = tmp_path / f"{name}.safetensors"
    vc.save_weights(model, path, arch=name)
    loaded = vc.load_model(path)
    assert type(loaded) is type(model) and loaded.cfg == model.cfg and not loaded.training
    assert loaded.class_names == ("a", "b", "c", "d")
    x = _input(model, 2)
    assert torch.equal(loaded(x), model(x))
    assert vc.cfg_from_dict(type(model.cfg), vc.cfg_to_dict(model.cfg)) == model.cfg


@pytest.mark.parametrize("name", ["img_cnn2d_s", "img_cnn2d_alex"])
def test_fixed_size_net_rejects_other_sizes(name: str) -> None:
    model = _create(name).eval()
    with pytest.raises(ValueError, match=r"takes 28x28 images only, got 32x30"):
        model(torch.randn(1, 1, 32, 30))
    with pytest.raises(ValueError, match=r"expected images \(B, 1, H, W\)"):
        model(torch.randn(1, 3, 28, 28))
    with pytest.raises(ValueError, match=r"expected images"):
        model(torch.randn(1, 28, 28))


def test_fixed_size_net_can_be_built_for_other_sizes() -> None:
    model = _create("img_cnn2d_alex", in_channels=3, input_size=(32, 32),
                            mean=(0.5, 0.5, 0.5), std=(0.25, 0.25, 0.25))
    assert model.feature_size == (4, 4)
    assert model(torch.randn(2, 3, 32, 32)).shape == (2, 10)
    assert _create("img_cnn2d_s").feature_size == (7, 7)


def test_gap_net_accepts_any_size_above_its_minimum() -> None:
    model = _create("img_cnn2d_gap").eval()
    assert model.cfg.input_size is None and model.min_input_size == (8, 8)
    for size in ((8, 8), (28, 28), (32, 45), (61, 17)):
        assert model(torch.randn(2, 1, *size)).shape == (2, 10)
    with pytest.raises(ValueError, match="smaller than the minimum 8x8"):
        model(torch.randn(1, 1, 7, 30))


def test_clip_model_takes_any_length() -> None:
    model = _create("clip_cnn2d_s").eval()
    assert model.sample_rate == 16000
    for n_samples in (0, 100, model.min_samples, 16000, 5 * 16000 + 7):
        assert model(torch.randn(2, n_samples)).shape == (2, 10)
    with pytest.raises(ValueError, match=r"expected waveforms \(B, S\)"):
        model(torch.randn(16000))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"input_size": None}, "needs a fixed input_size"),
        ({"class_names": ("a", "b")}, "2 class names given for 10 classes"),
        ({"num_classes": 2, "class_names": ("a", "a")}, "unique"),
        ({"dropout": 1.0}, "dropout"),
        ({"mean": (0.1, 0.2)}, "mean needs 1 or 1 values"),
        ({"std": (0.0,)}, "positive"),
        ({"stages": ()}, "at least one stage"),
    ],
)
def test_bad_image_configs(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        ImageCnnCfg(**kwargs)  # type: ignore[arg-type]


def test_bad_clip_config() -> None:
    with pytest.raises(ValueError, match="clips vary in length"):
        ClipCnnCfg(pool="flatten")
    with pytest.raises(ValueError, match="too few"):
        ClipCnn(ClipCnnCfg(frontend=vc.FrontendCfg(n_mels=4)))


def test_overrides_reach_the_config() -> None:
    model = _create("img_cnn2d_gap", num_classes=3, class_names=("x", "y", "z"))
    assert model.cfg.num_classes == 3 and model(torch.randn(1, 1, 16, 16)).shape == (1, 3)
