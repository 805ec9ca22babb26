"""The model a run starts from: init weights fine-tuned, or grown into a longer architecture."""

from __future__ import annotations

from pathlib import Path

import pytest
import soundfile as sf
import torch

import voicecnn as vc
from tests.train_data import vad_config
from voicecnn.errors import ConfigError
from voicecnn.train.build import build_model, grow_from
from voicecnn.train.run import run_cfg_from_dict, train


def test_finetune_from_weights(recordings: Path, tiny_weights: Path, tmp_path: Path) -> None:
    raw = vad_config(recordings, tmp_path / "ft", max_steps=4, eval_every=4)
    cfg = run_cfg_from_dict({**raw, "arch": "", "init": str(tiny_weights)})
    result = train(cfg, device=torch.device("cpu"), log=lambda s: None)
    assert result.card["init"] == str(tiny_weights) and result.card["arch"] == "vad_cnn1d_xs"


def test_grow_a_longer_context_from_weights(recordings: Path, tmp_path: Path) -> None:
    # vad_cnn2d_s_long from the bundled vad_cnn2d_s: the shared layers are copied and the new
    # dilation-32 block passes its input through, so before training it computes what its
    # init does (to the new batch norm's eps); training then runs and records both names.
    raw = vad_config(recordings, tmp_path / "grow", max_steps=2, eval_every=2)
    cfg = run_cfg_from_dict({**raw, "arch": "vad_cnn2d_s_long", "init": "vad_cnn2d_s"})
    said: list[str] = []
    grown, arch = build_model(cfg, {}, said.append)
    assert arch == "vad_cnn2d_s_long"
    assert said == [
        "init vad_cnn2d_s: 55 of 61 tensors copied; "
        "new: temporal.layers.5.conv, temporal.layers.5.norm"
    ]
    wave, _ = sf.read(recordings / "rec0.wav", dtype="float32")
    with torch.inference_mode():
        x = torch.from_numpy(wave)[None]
        ours = torch.sigmoid(grown.eval()(x))
        theirs = torch.sigmoid(vc.load_module("vad_cnn2d_s")(x))
    assert ours.shape == theirs.shape and (ours - theirs).abs().max() < 1e-3
    assert (theirs > 0.5).any() and (theirs < 0.5).any()  # a real test: both classes present
    # init's frontend settings that differ from its arch's defaults (the bundled default's log
    # floor) carry over; the new arch's own ones stay (vad_cnn2d_xs keeps its 32 mel bands)
    assert grown.cfg.frontend == vc.load_module("vad_cnn2d_s").cfg.frontend
    floor = tmp_path / "floor.safetensors"
    vc.save_weights(vc.create_model("vad_cnn2d_s", frontend=vc.FrontendCfg(log_eps=1e-8)), floor,
                    arch="vad_cnn2d_s")
    xs_cfg = run_cfg_from_dict({**raw, "arch": "vad_cnn2d_xs", "init": str(floor)})
    xs = build_model(xs_cfg, {}, said.append)[0]
    assert (xs.cfg.frontend.n_mels, xs.cfg.frontend.log_eps) == (32, 1e-8)
    result = train(cfg, device=torch.device("cpu"), log=lambda s: None)
    assert result.card["arch"] == "vad_cnn2d_s_long" and result.card["init"] == "vad_cnn2d_s"
    assert vc.read_metadata(result.best)["arch"] == "vad_cnn2d_s_long"
    # weights of another kind of model cannot seed a VAD
    image = tmp_path / "img.safetensors"
    vc.save_weights(vc.create_model("img_cnn2d_s"), image, arch="img_cnn2d_s")
    with pytest.raises(ConfigError, match="not a VadCnn"):
        grow_from(vc.create_model("vad_cnn2d_s_long"), str(image))


def test_config_overrides_on_init_weights_keep_every_tensor(recordings: Path,
                                                            tmp_path: Path) -> None:
    # init vad_cnn2d_s with another log floor (as stage9.toml): the same arch, every tensor
    # copied, the overridden frontend key changed and its other keys kept (a nested table merges)
    raw = vad_config(recordings, tmp_path / "floor", max_steps=2, eval_every=2)
    cfg = run_cfg_from_dict({**raw, "arch": "vad_cnn2d_s", "init": "vad_cnn2d_s",
                             "model": {"frontend": {"log_eps": 1e-8}}})
    said: list[str] = []
    model, arch = build_model(cfg, {}, said.append)
    assert arch == "vad_cnn2d_s"
    assert said == ["init vad_cnn2d_s: 55 of 55 tensors copied; new: none"]
    init = vc.load_module("vad_cnn2d_s")
    assert model.cfg.frontend.log_eps == 1e-8 and model.cfg.frontend.n_mels == 64
    assert model.cfg == type(init.cfg)(**{**vars(init.cfg), "frontend": model.cfg.frontend})
    for name, tensor in init.state_dict().items():
        assert torch.equal(model.state_dict()[name], tensor), name
    # and without arch: init's arch, with the override
    cfg = run_cfg_from_dict({**raw, "arch": "", "init": "vad_cnn2d_s",
                             "model": {"frontend": {"log_eps": 1e-8}}})
    assert build_model(cfg, {}, said.append)[0].cfg.frontend.log_eps == 1e-8
