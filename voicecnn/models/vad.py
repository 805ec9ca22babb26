"""Frame-level voice activity detectors: log-mel frontend -> conv/max-pool stack -> frame head.

Two families share the layers:

* ``vad_cnn1d_*``: mel bands are channels, convolutions and running max-pools run over time only.
* ``vad_cnn2d_*``: convolutions over (mel x time) patches with max-pooling along mel, then the
  flattened (channels x mel) map is projected and processed by dilated 1-D convolutions over time.

Both keep the 10 ms frame hop (no pooling with stride along time) and see a long past context
(~0.6 s) but only a short future one, which bounds the delay of streaming detection.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import torch
from torch import nn

from voicecnn.frontend import FrontendCfg, LogMel
from voicecnn.layers import ConvStack, Dims, FrameHead, StageCfg
from voicecnn.models._registry import register_model

__all__ = ["VadCnn", "VadCnnCfg"]


@dataclass(frozen=True)
class VadCnnCfg:
    """Architecture of a :class:`VadCnn`.

    Attributes:
        frontend: Log-mel settings (sample rate, hop, mel bands).
        dims: 1 for the 1-D family, 2 for the 2-D family.
        stages: Conv stages over (mel-as-channels x time) for 1-D, over (1 x mel x time) for 2-D.
        temporal: 1-D stages over time after the flattened 2-D map (2-D family only).
        dropout: Dropout before the frame head.
    """

    frontend: FrontendCfg = field(default_factory=FrontendCfg)
    dims: Dims = 1
    stages: tuple[StageCfg, ...] = (StageCfg(64),)
    temporal: tuple[StageCfg, ...] = ()
    dropout: float = 0.1

    def __post_init__(self) -> None:
        if self.dims == 1 and self.temporal:
            raise ValueError("temporal stages are for the 2-D family only")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError("dropout must be in [0, 1)")


class VadCnn(nn.Module):
    """Waveform (B, S) at ``sample_rate`` -> speech logits (B, T), one per ``frame_hop_s``.

    Frame ``t`` covers samples ``[t * hop, (t + 1) * hop)`` and ``T = S // hop``: the STFT
    window of frame ``t`` is centred on the middle of that interval.
    """

    def __init__(self, cfg: VadCnnCfg) -> None:
        super().__init__()
        self.cfg = cfg
        fe = cfg.frontend
        self.frontend = LogMel(fe)
        # A fixed per-band affine at inference: it scales log-mels without looking at the
        # whole utterance, so streaming and chunked runs give the same numbers.
        self.input_norm = nn.BatchNorm1d(fe.n_mels)
        if cfg.dims == 1:
            self.stack = ConvStack(fe.n_mels, cfg.stages, dims=1)
            self.temporal: ConvStack | None = None
            feat_channels = self.stack.out_channels
            past, future = self.stack.receptive_field
        else:
            self.stack = ConvStack(1, cfg.stages, dims=2)
            flat = self.stack.out_channels * (fe.n_mels // self.stack.height_stride)
            self.temporal = ConvStack(flat, cfg.temporal, dims=1) if cfg.temporal else None
            feat_channels = self.temporal.out_channels if self.temporal else flat
            past, future = self.stack.receptive_field
            if self.temporal is not None:
                past += self.temporal.receptive_field[0]
                future += self.temporal.receptive_field[1]
        if self.stack.time_stride != 1 or (self.temporal and self.temporal.time_stride != 1):
            raise ValueError("VAD stacks must keep the frame rate (pool stride 1 along time)")
        self.head = FrameHead(feat_channels, dropout=cfg.dropout)
        # One more frame each side for the STFT window, which spills past the frame's interval.
        spill = -(-(fe.n_fft // 2 - fe.hop_length // 2) // fe.hop_length)
        self.context_frames: tuple[int, int] = (past + spill, future + spill)

    @property
    def sample_rate(self) -> int:
        """Sample rate in Hz the model expects."""
        return self.cfg.frontend.sample_rate

    @property
    def hop_length(self) -> int:
        """Samples per output frame."""
        return self.cfg.frontend.hop_length

    @property
    def frame_hop_s(self) -> float:
        """Seconds per output frame."""
        return self.cfg.frontend.hop_s

    @property
    def receptive_field_s(self) -> float:
        """Seconds of audio that one output frame depends on."""
        past, future = self.context_frames
        return (past + 1 + future) * self.frame_hop_s

    @property
    def lookahead_s(self) -> float:
        """Seconds of audio after the end of a frame that its output depends on."""
        return self.context_frames[1] * self.frame_hop_s

    def num_frames(self, n_samples: int) -> int:
        """Number of output frames for ``n_samples`` of input."""
        return n_samples // self.hop_length

    def forward_features(self, wave: torch.Tensor) -> torch.Tensor:
        """Waveform (B, S) -> features (B, C, T)."""
        n_frames = self.num_frames(wave.shape[-1])
        # Drop half a hop so STFT frame t is centred on the middle of [t*hop, (t+1)*hop).
        x = self.frontend(wave[:, self.hop_length // 2 :])[..., :n_frames]
        x = self.input_norm(x)
        if self.cfg.dims == 1:
            return self.stack(x)  # type: ignore[no-any-return]
        x = self.stack(x.unsqueeze(1)).flatten(1, 2)
        return self.temporal(x) if self.temporal is not None else x  # type: ignore[no-any-return]

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


def _build(base: VadCnnCfg, overrides: dict[str, Any]) -> VadCnn:
    return VadCnn(replace(base, **overrides))


def _temporal_1d(channels: int, kernel: int, dilations: tuple[int, ...],
                 lookaheads: tuple[int, ...]) -> tuple[StageCfg, ...]:
    return tuple(
        StageCfg(channels, kernel=kernel, dilation=d, lookahead=la)
        for d, la in zip(dilations, lookaheads, strict=True)
    )


def _cfg_1d(width: int) -> VadCnnCfg:
    # Past context 0.63 s, future 0.08 s: k5 conv + running max-pool, then dilated k3 convs
    # that look (almost) only backwards.
    stages = (
        StageCfg(width, kernel=5, lookahead=2, pool=(3,), pool_stride=(1,)),
        *_temporal_1d(width, 3, (2, 4, 8, 16), (2, 2, 0, 0)),
    )
    return VadCnnCfg(dims=1, stages=stages)


def _cfg_2d(
    widths: tuple[int, int, int], width_t: int, dilations: tuple[int, ...] = (2, 4, 8, 16)
) -> VadCnnCfg:
    # Three 3x3 conv stages halve the mel axis (64 -> 8) with max-pooling; the (C x 8) map is
    # then treated as channels by dilated 1-D convs over time (past context 0.65 s with
    # dilations up to 16; each further doubling adds 2 x dilation frames of past only).
    stages = tuple(StageCfg(w, kernel=3, lookahead=1, pool=(2, 1)) for w in widths)
    lookaheads = (2, 2) + (0,) * (len(dilations) - 2)
    temporal = (StageCfg(width_t, kernel=1), *_temporal_1d(width_t, 3, dilations, lookaheads))
    return VadCnnCfg(dims=2, stages=stages, temporal=temporal)


@register_model("vad_cnn1d_xs")
def vad_cnn1d_xs(**overrides: Any) -> VadCnn:
    """1-D VAD, 32 channels (~17k parameters)."""
    return _build(_cfg_1d(32), overrides)


@register_model("vad_cnn1d_s")
def vad_cnn1d_s(**overrides: Any) -> VadCnn:
    """1-D VAD, 64 channels (~58k parameters)."""
    return _build(_cfg_1d(64), overrides)


@register_model("vad_cnn2d_s")
def vad_cnn2d_s(**overrides: Any) -> VadCnn:
    """2-D VAD, 8-16-32 channels over mel x time, 48 temporal channels (~47k parameters)."""
    return _build(_cfg_2d((8, 16, 32), 48), overrides)


@register_model("vad_cnn2d_s_long")
def vad_cnn2d_s_long(**overrides: Any) -> VadCnn:
    """``vad_cnn2d_s`` with one more temporal conv (dilation 32): 1.3 s of past (~54k parameters).

    Its layers up to the new one are named as in ``vad_cnn2d_s``, so it can start from those
    weights (``init`` with ``arch = "vad_cnn2d_s_long"``).
    """
    return _build(_cfg_2d((8, 16, 32), 48, (2, 4, 8, 16, 32)), overrides)


@register_model("vad_cnn2d_s_xlong")
def vad_cnn2d_s_xlong(**overrides: Any) -> VadCnn:
    """``vad_cnn2d_s_long`` with one more temporal conv (dilation 64): 2.5 s of past (~61k
    parameters); starts from ``vad_cnn2d_s`` or ``vad_cnn2d_s_long`` weights the same way."""
    return _build(_cfg_2d((8, 16, 32), 48, (2, 4, 8, 16, 32, 64)), overrides)


@register_model("vad_cnn2d_m")
def vad_cnn2d_m(**overrides: Any) -> VadCnn:
    """2-D VAD, 16-24-32 channels over mel x time, 64 temporal channels (~80k parameters)."""
    return _build(_cfg_2d((16, 24, 32), 64), overrides)
