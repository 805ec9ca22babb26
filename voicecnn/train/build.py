"""The model a run trains: a fresh ``arch``, ``init`` weights, or ``init`` grown into ``arch``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from voicecnn.config import cfg_from_dict, cfg_to_dict
from voicecnn.errors import ConfigError
from voicecnn.net.checkpoint import load_module, read_metadata
from voicecnn.net.layers import ConvNormAct
from voicecnn.net.models import create_model
from voicecnn.net.models._registry import model_task
from voicecnn.train.core import RunCfg

__all__ = ["build_model", "grow_from"]


def build_model(
    cfg: RunCfg, from_data: dict[str, Any], log: Callable[[str], None] = print
) -> tuple[Any, str]:
    """The model to train and its registry name: from ``init`` or a fresh ``arch``.

    ``from_data`` holds config values the data implies (a classifier's classes, channels,
    input size and pixel statistics); they apply to fresh models, while ``init`` weights keep
    theirs and only get a new head when the number of classes differs.

    Raises:
        ConfigError: With neither ``arch`` nor ``init``, an ``arch`` of another task, or
            ``init`` weights that cannot grow into ``arch`` (or take the overrides).
    """
    init_arch = str(read_metadata(cfg.init)["arch"]) if cfg.init else ""
    # Another arch, or overrides of init's config (e.g. its frontend): a new model that takes
    # every init tensor of the same name and shape.
    grow = bool(cfg.init and ((cfg.arch and cfg.arch != init_arch) or cfg.model))
    if cfg.init and not grow:
        arch = init_arch
        model: Any = load_module(cfg.init)
    elif cfg.init:
        arch = cfg.arch or init_arch
        model = load_module(cfg.init) if arch == init_arch else create_model(arch)
    elif cfg.arch:
        arch = cfg.arch
        model = create_model(arch)
    else:
        raise ConfigError("set arch (a registered model) or init (weights to start from)")
    if model_task(arch) != cfg.task:
        raise ConfigError(f"{arch!r} is a {model_task(arch)!r} model, but task = {cfg.task!r}")
    base = cfg_to_dict(model.cfg)
    if grow and arch != init_arch:  # init's own frontend settings (e.g. its log floor) carry over
        base = _merged(base, _frontend_changes(cfg.init, init_arch))
    if not cfg.init or grow:
        implied = {k: v for k, v in from_data.items() if base.get(k) is not None}
        model = type(model)(
            cfg_from_dict(type(model.cfg), _merged(base, {**implied, **cfg.model}), where="model")
        )
    if grow:
        log(grow_from(model, cfg.init))
    n_classes = from_data.get("num_classes")
    if n_classes is not None and model.num_classes != n_classes:
        model.reset_head(n_classes, from_data.get("class_names", ()))
    return model, arch


def _frontend_changes(init: str, init_arch: str) -> dict[str, Any]:
    """The frontend settings in which ``init`` differs from its architecture's defaults, as a
    ``{"frontend": {...}}`` override (empty when it has no frontend or no change)."""
    ours = read_metadata(init)["config"].get("frontend")  # no model built, no tensors read
    default = cfg_to_dict(create_model(init_arch).cfg).get("frontend")
    if not isinstance(ours, dict) or not isinstance(default, dict):
        return {}
    changed = {k: v for k, v in ours.items() if default.get(k) != v}
    return {"frontend": changed} if changed else {}


def _merged(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """``base`` with ``overrides``; a nested table overrides only the keys it names."""
    out = dict(base)
    for key, value in overrides.items():
        old = out.get(key)
        if isinstance(old, dict) and isinstance(value, dict):
            value = _merged(old, value)
        out[key] = value
    return out


def grow_from(model: nn.Module, init: str) -> str:
    """Start a model of another architecture from ``init``'s weights; return what was copied.

    Every tensor with the same name and shape is copied. A conv block none of whose tensors were
    copied and that maps its width to itself starts as a pass-through (identity at its
    current-time tap), so a stack grown by blocks begins close to what ``init`` computed.
    """
    src = load_module(init)
    if type(src) is not type(model):
        raise ConfigError(f"init {init!r} is a {type(src).__name__}, not a {type(model).__name__}")
    ours = model.state_dict()
    same = {k: v for k, v in src.state_dict().items() if k in ours and ours[k].shape == v.shape}
    if not same:
        raise ConfigError(f"init {init!r} shares no weights with this {type(model).__name__}")
    model.load_state_dict(same, strict=False)
    for name, block in model.named_modules():
        if isinstance(block, ConvNormAct) and not any(k.startswith(f"{name}.") for k in same):
            _pass_through(block)
    new = ", ".join(sorted({k.rsplit(".", 1)[0] for k in ours if k not in same})) or "none"
    return f"init {init}: {len(same)} of {len(ours)} tensors copied; new: {new}"


def _pass_through(block: ConvNormAct) -> None:
    conv = block[1]
    assert isinstance(conv, nn.Conv1d | nn.Conv2d)
    past = block.time_padding[0]
    dilation = int(conv.dilation[-1])
    if conv.in_channels != conv.out_channels or past % dilation:
        return
    weight = conv.weight
    with torch.no_grad():
        weight.zero_()
        eye = torch.eye(conv.in_channels)
        if weight.dim() == 3:
            weight[:, :, past // dilation] = eye
        else:
            weight[:, :, (weight.shape[2] - 1) // 2, past // dilation] = eye
