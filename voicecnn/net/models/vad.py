"""Frame-level voice activity detectors: log-mel frontend -> conv/max-pool stack -> frame head.

Two families share the layers:

* ``vad_cnn1d_*``: mel bands are channels, convolutions and running max-pools run over time only.
* ``vad_cnn2d_*``: convolutions over (mel x time) patches with max-pooling along mel, then the
  flattened (channels x mel) map is projected and processed by dilated 1-D convolutions over time.

Both keep the 10 ms frame hop (no pooling with stride along time) and see a long past context
(~0.6 s) but only a short future one, which bounds the delay of streaming detection.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import torch
from torch import nn

from voicecnn.net.frontend import FrameLogMel
from voicecnn.net.layers import ConvStack, FrameHead
from voicecnn.net.models._registry import register_model
from voicecnn.net.models.build import build_module
from voicecnn.net.models.vad_spec import (
    VARIANTS,
    FrameTiming,
    VadCnnCfg,
    context_frames,
    vad_spec,
)

__all__ = ["VadCnn", "VadCnnCfg"]


class VadCnn(FrameTiming, nn.Module):
    """Waveform (B, S) at ``sample_rate`` -> speech logits (B, T), one per ``frame_hop_s``.

    Frame ``t`` covers samples ``[t * hop, (t + 1) * hop)`` and ``T = S // hop``: the STFT
    window of frame ``t`` is centred on the middle of that interval.
    """

    frontend: FrameLogMel
    input_norm: nn.BatchNorm1d
    stack: ConvStack
    temporal: ConvStack | None
    head: FrameHead

    def __init__(self, cfg: VadCnnCfg) -> None:
        super().__init__()
        self.cfg = cfg
        # The layers are described once, torch-free (vad_spec); the numpy engine walks the
        # same description. Children in data-flow order: frontend, input_norm (a fixed
        # per-band affine at inference, so streaming and chunked runs give the same numbers),
        # [unsqueeze], stack, [flatten, temporal], head.
        self.spec = vad_spec(cfg)
        for name, layer in self.spec.layers:
            self.add_module(name, build_module(layer))
        if "temporal" not in self._modules:
            self.temporal = None
        self.context_frames: tuple[int, int] = context_frames(cfg)

    def forward_features(self, wave: torch.Tensor) -> torch.Tensor:
        """Waveform (B, S) -> features (B, C, T)."""
        x = wave
        for name, _ in self.spec.layers[:-1]:
            x = getattr(self, name)(x)
        return x

    def forward_head(self, features: torch.Tensor) -> torch.Tensor:
        """Features (B, C, T) -> logits (B, T)."""
        return self.head(features)  # type: ignore[no-any-return]

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        """Waveform (B, S) -> speech logits (B, S // hop_length).

        Inputs shorter than one frame give an empty (B, 0) output.
        """
        if self.num_frames(wave.shape[-1]) == 0:
            return wave.new_zeros((wave.shape[0], 0))
        return self.forward_head(self.forward_features(wave))

    def reset_head(self, num_classes: int = 1) -> None:
        """Replace the frame head with a fresh one of ``num_classes`` outputs."""
        self.head.reset(num_classes)


def _build(name: str, overrides: dict[str, Any]) -> VadCnn:
    return VadCnn(replace(VARIANTS[name](), **overrides))


@register_model("vad_cnn1d_xs")
def vad_cnn1d_xs(**overrides: Any) -> VadCnn:
    """1-D VAD, 32 channels (~23k parameters)."""
    return _build("vad_cnn1d_xs", overrides)


@register_model("vad_cnn1d_s")
def vad_cnn1d_s(**overrides: Any) -> VadCnn:
    """1-D VAD, 64 channels (~70k parameters)."""
    return _build("vad_cnn1d_s", overrides)


@register_model("vad_cnn2d_xs")
def vad_cnn2d_xs(**overrides: Any) -> VadCnn:
    """``vad_cnn2d_s`` on 32 mel bands instead of 64: the 2-D convs cost half (~40k parameters,
    ~0.65x the compute). Its conv weights have ``vad_cnn2d_s``'s names and shapes, so it can
    start from those weights (``init`` with ``arch = "vad_cnn2d_xs"``)."""
    return _build("vad_cnn2d_xs", overrides)


@register_model("vad_cnn2d_s")
def vad_cnn2d_s(**overrides: Any) -> VadCnn:
    """2-D VAD, 8-16-32 channels over mel x time, 48 temporal channels (~47k parameters)."""
    return _build("vad_cnn2d_s", overrides)


@register_model("vad_cnn2d_s_long")
def vad_cnn2d_s_long(**overrides: Any) -> VadCnn:
    """``vad_cnn2d_s`` with one more temporal conv (dilation 32): 1.3 s of past (~54k parameters).

    Its layers up to the new one are named as in ``vad_cnn2d_s``, so it can start from those
    weights (``init`` with ``arch = "vad_cnn2d_s_long"``).
    """
    return _build("vad_cnn2d_s_long", overrides)


@register_model("vad_cnn2d_s_xlong")
def vad_cnn2d_s_xlong(**overrides: Any) -> VadCnn:
    """``vad_cnn2d_s_long`` with one more temporal conv (dilation 64): 2.5 s of past (~61k
    parameters); starts from ``vad_cnn2d_s`` or ``vad_cnn2d_s_long`` weights the same way."""
    return _build("vad_cnn2d_s_xlong", overrides)


@register_model("vad_cnn2d_m")
def vad_cnn2d_m(**overrides: Any) -> VadCnn:
    """2-D VAD, 16-24-32 channels over mel x time, 64 temporal channels (~77k parameters)."""
    return _build("vad_cnn2d_m", overrides)
