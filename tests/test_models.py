"""Every registered model: shapes, backward, frame hop, receptive field, checkpoint round trip."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

import voicecnn as vc
from voicecnn.errors import UnknownModelError

VAD_MODELS = vc.list_models("vad")


def test_registry_lists_both_families() -> None:
    assert any("cnn1d" in n for n in VAD_MODELS)
    assert any("cnn2d" in n for n in VAD_MODELS)
    assert vc.list_models() == sorted(vc.list_models())


def test_unknown_model_lists_known_names() -> None:
    with pytest.raises(UnknownModelError, match="vad_cnn1d_s"):
        vc.create_model("nope")


def test_duplicate_registration_raises() -> None:
    with pytest.raises(ValueError, match="already registered"):
        vc.register_model(VAD_MODELS[0])(lambda **kw: torch.nn.Identity())


@pytest.mark.parametrize("name", VAD_MODELS)
def test_vad_output_shape_matches_frame_hop(name: str) -> None:
    model = vc.create_model(name).eval()
    assert model.sample_rate == 16000
    assert model.frame_hop_s == pytest.approx(0.010)
    for n_samples in (160, 1599, 16000, 16123):
        out = model(torch.randn(2, n_samples))
        assert out.shape == (2, n_samples // model.hop_length)
        # the frames span the audio: T * hop_s covers it to within one hop
        assert 0 <= n_samples / 16000 - out.shape[1] * model.frame_hop_s < model.frame_hop_s
    assert model(torch.randn(1, 100)).shape == (1, 0)


@pytest.mark.parametrize("name", VAD_MODELS)
def test_vad_backward_reaches_every_parameter(name: str) -> None:
    model = vc.create_model(name).train()
    logits = model(torch.randn(3, 8000))
    torch.nn.functional.binary_cross_entropy_with_logits(logits, torch.rand_like(logits)).backward()
    for pname, p in model.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), pname
    assert any(p.grad.abs().sum() > 0 for p in model.parameters() if p.grad is not None)


@pytest.mark.parametrize("name", VAD_MODELS)
def test_vad_context_bounds_dependence(name: str) -> None:
    """Changing audio outside a frame's stated context leaves that frame's output unchanged."""
    model = vc.create_model(name).eval()
    past, future = model.context_frames
    hop = model.hop_length
    t = past + 40  # a frame with audio on both sides of its context
    wave = torch.randn(1, (t + future + 60) * hop)
    base = model(wave)[0, t]
    before, after = wave.clone(), wave.clone()
    before[0, : (t - past) * hop] = torch.randn((t - past) * hop)
    after[0, (t + 1 + future) * hop :] = torch.randn(wave.shape[1] - (t + 1 + future) * hop)
    assert torch.allclose(model(before)[0, t], base, atol=1e-5)
    assert torch.allclose(model(after)[0, t], base, atol=1e-5)
    assert model.lookahead_s <= 0.1 + 1e-9  # bounded future context (streaming latency)
    assert model.receptive_field_s == pytest.approx((past + 1 + future) * model.frame_hop_s)


@pytest.mark.parametrize("name", VAD_MODELS)
def test_checkpoint_round_trip(name: str, tmp_path: Path) -> None:
    model = vc.create_model(name).eval()
    with torch.no_grad():  # make BatchNorm statistics non-default so they must be saved
        for m in model.modules():
            if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
                m.running_mean.uniform_(-1, 1)
                m.running_var.uniform_(0.5, 2)
    path = tmp_path / f"{name}.safetensors"
    vc.save_weights(model, path, arch=name, card={"data": "none"})
    loaded = vc.load_module(path)
    assert type(loaded) is type(model) and loaded.cfg == model.cfg and not loaded.training
    x = torch.randn(1, 16000)
    assert torch.equal(loaded(x), model(x))
    on_numpy = vc.load_model(path)  # the numpy engine, from the same file
    assert on_numpy.cfg == model.cfg
    np.testing.assert_allclose(on_numpy(x.numpy()), model(x).detach().numpy(), atol=2e-5)
    assert vc.read_metadata(path)["card"] == {"data": "none"}


def test_overrides_change_the_config() -> None:
    model = vc.create_model("vad_cnn1d_xs", dropout=0.3)
    assert model.cfg.dropout == 0.3
    with pytest.raises(ValueError, match="dropout"):
        vc.create_model("vad_cnn1d_xs", dropout=1.5)
