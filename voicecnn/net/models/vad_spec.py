"""Torch-free half of :mod:`voicecnn.net.models.vad`: the VAD config, its named variants and its
layers as specs, from which both the torch :class:`~voicecnn.net.models.VadCnn` and the numpy
engine (:class:`voicecnn.net.engine.NumpyVad`) are built."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from voicecnn.net.frontend_spec import FrontendCfg, LogMelSpec
from voicecnn.net.layers.basic_spec import BatchNormSpec, FlattenSpec, UnsqueezeSpec
from voicecnn.net.layers.conv_spec import ConvStackSpec, Dims, StageCfg
from voicecnn.net.layers.heads_spec import FrameHeadSpec
from voicecnn.net.layers.step import LayerSpec, Seq

__all__ = ["VARIANTS", "FrameTiming", "VadCnnCfg", "context_frames", "vad_spec"]


@dataclass(frozen=True)
class VadCnnCfg:
    """Architecture of a :class:`~voicecnn.net.models.VadCnn`.

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


class FrameTiming:
    """Rates and context of a VAD model from its config, for each executor of it (the torch
    module and the numpy engine): needs ``cfg`` and ``context_frames`` (past, future)."""

    cfg: VadCnnCfg
    context_frames: tuple[int, int]

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


def _stacks(cfg: VadCnnCfg) -> tuple[ConvStackSpec, ConvStackSpec | None]:
    fe = cfg.frontend
    if cfg.dims == 1:
        return ConvStackSpec(fe.n_mels, cfg.stages, 1), None
    stack = ConvStackSpec(1, cfg.stages, 2)
    flat = stack.out_channels * (fe.n_mels // stack.height_stride)
    return stack, ConvStackSpec(flat, cfg.temporal, 1) if cfg.temporal else None


def vad_spec(cfg: VadCnnCfg) -> Seq:
    """The layers of a VAD model, named as the torch model's children.

    1-D: frontend, input_norm, stack, head. 2-D: frontend, input_norm, unsqueeze, stack,
    flatten, temporal (if any), head.

    Raises:
        ValueError: If a stack pools along time with a stride (VAD keeps the frame rate).
    """
    fe = cfg.frontend
    stack, temporal = _stacks(cfg)
    if stack.time_stride != 1 or (temporal and temporal.time_stride != 1):
        raise ValueError("VAD stacks must keep the frame rate (pool stride 1 along time)")
    layers: list[tuple[str, LayerSpec]] = [
        ("frontend", LogMelSpec(fe)), ("input_norm", BatchNormSpec(fe.n_mels))
    ]
    if cfg.dims == 1:
        layers.append(("stack", stack))
        feat = stack.out_channels
    else:
        layers += [("unsqueeze", UnsqueezeSpec(fe.n_mels)), ("stack", stack),
                   ("flatten", FlattenSpec())]
        feat = stack.out_channels * (fe.n_mels // stack.height_stride)
        if temporal is not None:
            layers.append(("temporal", temporal))
            feat = temporal.out_channels
    layers.append(("head", FrameHeadSpec(feat, dropout=cfg.dropout)))
    return Seq(tuple(layers))


def context_frames(cfg: VadCnnCfg) -> tuple[int, int]:
    """(past, future) frames that one output frame depends on, the STFT window included."""
    fe = cfg.frontend
    stack, temporal = _stacks(cfg)
    past, future = stack.receptive_field
    if temporal is not None:
        past += temporal.receptive_field[0]
        future += temporal.receptive_field[1]
    # One more frame each side for the STFT window, which spills past the frame's interval.
    spill = -(-(fe.n_fft // 2 - fe.hop_length // 2) // fe.hop_length)
    return past + spill, future + spill


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
    widths: tuple[int, int, int], width_t: int, dilations: tuple[int, ...] = (2, 4, 8, 16),
    n_mels: int = 64,
) -> VadCnnCfg:
    # Three 3x3 conv stages halve the mel axis (64 -> 8) with max-pooling; the (C x 8) map is
    # then treated as channels by dilated 1-D convs over time (past context 0.65 s with
    # dilations up to 16; each further doubling adds 2 x dilation frames of past only).
    stages = tuple(StageCfg(w, kernel=3, lookahead=1, pool=(2, 1)) for w in widths)
    lookaheads = (2, 2) + (0,) * (len(dilations) - 2)
    temporal = (StageCfg(width_t, kernel=1), *_temporal_1d(width_t, 3, dilations, lookaheads))
    return VadCnnCfg(frontend=FrontendCfg(n_mels=n_mels), dims=2, stages=stages,
                     temporal=temporal)


VARIANTS: dict[str, Callable[[], VadCnnCfg]] = {
    "vad_cnn1d_xs": lambda: _cfg_1d(32),
    "vad_cnn1d_s": lambda: _cfg_1d(64),
    "vad_cnn2d_xs": lambda: _cfg_2d((8, 16, 32), 48, n_mels=32),
    "vad_cnn2d_s": lambda: _cfg_2d((8, 16, 32), 48),
    "vad_cnn2d_s_long": lambda: _cfg_2d((8, 16, 32), 48, (2, 4, 8, 16, 32)),
    "vad_cnn2d_s_xlong": lambda: _cfg_2d((8, 16, 32), 48, (2, 4, 8, 16, 32, 64)),
    "vad_cnn2d_m": lambda: _cfg_2d((16, 24, 32), 64),
}
"""The registered VAD architectures' configs by name, known without torch (the torch builders
in :mod:`voicecnn.net.models.vad` register these names)."""
