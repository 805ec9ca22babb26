"""Classifiers built from the shared 2-D layers: images, and audio clips as log-mel "images".

* ``ImageCnn``: image (B, C, H, W) -> class logits (B, K). A :class:`~voicecnn.net.layers.ConvStack`
  of conv/batch-norm/ReLU stages with 2x2 max-pooling, then the shared
  :class:`~voicecnn.net.layers.ClassifierHead`: either one fully connected layer over the flattened
  map of a fixed input size (the classic small CNN), or global pooling (any input size).
* ``ClipCnn``: waveform (B, S) -> class logits (B, K), the log-mel frontend of the detectors
  followed by the same 2-D stack and a globally pooled head (sound-event clips such as ESC-10).

Configs carry what a saved model needs at inference: the class names and, for images, the
input size and the normalisation used in training, ``(pixel / 255 - mean) / std``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import torch
from torch import nn

from voicecnn.net.frontend import FrontendCfg, LogMel
from voicecnn.net.layers import ClassifierHead, ConvStack, StageCfg
from voicecnn.net.layers.heads import Pool
from voicecnn.net.models._registry import register_model

__all__ = ["ClipCnn", "ClipCnnCfg", "ImageCnn", "ImageCnnCfg"]


def _stage(channels: int, *, kernel: int = 3, depth: int = 1, pool: bool = True) -> StageCfg:
    return StageCfg(channels, depth=depth, kernel=kernel, pool=(2, 2) if pool else ())


def _check_head(num_classes: int, class_names: tuple[str, ...], dropout: float) -> None:
    if num_classes < 1:
        raise ValueError(f"num_classes must be positive, got {num_classes}")
    if class_names and len(class_names) != num_classes:
        raise ValueError(f"{len(class_names)} class names given for {num_classes} classes")
    if len(set(class_names)) != len(class_names):
        raise ValueError("class names must be unique")
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"dropout must be in [0, 1), got {dropout}")


def _check_stages(stages: tuple[StageCfg, ...]) -> None:
    if not stages:
        raise ValueError("at least one stage is needed")
    for st in stages:
        if st.pool and len(st.pool) != 2:
            raise ValueError(f"2-D stages need (H, W) pools, got {st.pool}")


def _pools(stack: ConvStack) -> list[nn.MaxPool2d]:
    return [m for m in stack.modules() if isinstance(m, nn.MaxPool2d)]


def _pair(v: int | tuple[int, ...]) -> tuple[int, int]:
    return (v, v) if isinstance(v, int) else (v[0], v[1])


def _feature_size(stack: ConvStack, size: tuple[int, int]) -> tuple[int, int]:
    """(H, W) of the stack's output for an (H, W) input: convs keep the size, pools shrink it."""
    h, w = size
    for pool in _pools(stack):
        (kh, kw), (sh, sw), (ph, pw) = (
            _pair(v) for v in (pool.kernel_size, pool.stride, pool.padding)
        )
        h = (h + 2 * ph - kh) // sh + 1
        w = (w + 2 * pw - kw) // sw + 1
    return h, w


def _min_size(stack: ConvStack) -> tuple[int, int]:
    """Smallest (H, W) input that leaves at least one output position."""
    h = w = 1
    for pool in reversed(_pools(stack)):
        (kh, kw), (sh, sw), (ph, pw) = (
            _pair(v) for v in (pool.kernel_size, pool.stride, pool.padding)
        )
        h = max(1, (h - 1) * sh + kh - 2 * ph)
        w = max(1, (w - 1) * sw + kw - 2 * pw)
    return h, w


@dataclass(frozen=True)
class ImageCnnCfg:
    """Architecture of an :class:`ImageCnn`.

    Attributes:
        in_channels: Image channels C (1 greyscale, 3 RGB).
        input_size: (H, W) in pixels the model takes; required by ``pool="flatten"`` (a fully
            connected layer over a fixed-size map), ``None`` = any size for global pooling.
        stages: 2-D conv stages, each ``depth`` x (conv, batch norm, ReLU) and a max-pool.
        num_classes: Number of classes K.
        pool: ``flatten`` (fixed size) or ``avg``/``max``/``avgmax`` global pooling.
        dropout: Dropout before the classifier's linear layer.
        class_names: Label of each class (empty = unnamed, shown as indices).
        mean: Per-channel (or one shared) mean of pixels scaled to [0, 1], used in training.
        std: Per-channel (or one shared) standard deviation, used in training.
    """

    in_channels: int = 1
    input_size: tuple[int, int] | None = (28, 28)
    stages: tuple[StageCfg, ...] = (_stage(32, kernel=5), _stage(64, kernel=5))
    num_classes: int = 10
    pool: Pool = "flatten"
    dropout: float = 0.0
    class_names: tuple[str, ...] = ()
    mean: tuple[float, ...] = (0.5,)
    std: tuple[float, ...] = (0.5,)

    def __post_init__(self) -> None:
        if self.in_channels < 1:
            raise ValueError(f"in_channels must be positive, got {self.in_channels}")
        if self.input_size is not None and min(self.input_size) < 1:
            raise ValueError(f"input_size must be positive, got {self.input_size}")
        if self.pool == "flatten" and self.input_size is None:
            raise ValueError("pool='flatten' needs a fixed input_size")
        _check_stages(self.stages)
        _check_head(self.num_classes, self.class_names, self.dropout)
        for name, v in (("mean", self.mean), ("std", self.std)):
            if len(v) not in (1, self.in_channels):
                raise ValueError(f"{name} needs 1 or {self.in_channels} values, got {len(v)}")
        if any(s <= 0 for s in self.std):
            raise ValueError("std values must be positive")


class ClassLabels:
    """Mixin: ``num_classes`` and ``class_names`` of a classifier, read from its ``cfg``
    (the torch models here and the exported :class:`~voicecnn.net.export.OnnxClassifier`)."""

    cfg: Any  # ImageCnnCfg | ClipCnnCfg: both have num_classes and class_names

    @property
    def num_classes(self) -> int:
        """Number of classes K."""
        return int(self.cfg.num_classes)

    @property
    def class_names(self) -> tuple[str, ...]:
        """Label of each class: the configured names, else ``"0"``, ``"1"``..."""
        return tuple(self.cfg.class_names) or tuple(str(i) for i in range(self.num_classes))


class _Classifier(ClassLabels, nn.Module):
    """What image and clip classifiers share: the head, its labels and its reset."""

    head: ClassifierHead

    def forward_head(self, features: torch.Tensor) -> torch.Tensor:
        """Feature map -> logits (B, K)."""
        return self.head(features)  # type: ignore[no-any-return]

    def reset_head(self, num_classes: int, class_names: Sequence[str] = ()) -> None:
        """Replace the classifier's linear layer with a fresh one for ``num_classes`` classes.

        The config follows (``num_classes``, ``class_names``), so the model saves and loads.
        """
        self.cfg = replace(self.cfg, num_classes=num_classes, class_names=tuple(class_names))
        self.head.reset(num_classes)


class ImageCnn(_Classifier):
    """Normalised images (B, C, H, W) -> class logits (B, K).

    Inputs are pixels scaled to [0, 1] and normalised with ``cfg.mean``/``cfg.std``, as
    :func:`voicecnn.data.images.normalize` and :class:`voicecnn.data.images.ImageDataset` do.

    Attributes:
        cfg: The architecture.
        stack: The conv/max-pool stages.
        head: Pooling (or flattening), dropout and the linear layer.
        feature_size: (H, W) of the feature map for ``cfg.input_size`` (``None`` without one).
    """

    def __init__(self, cfg: ImageCnnCfg) -> None:
        super().__init__()
        self.cfg = cfg
        self.stack = ConvStack(cfg.in_channels, cfg.stages, dims=2)
        self.min_input_size = _min_size(self.stack)
        self.feature_size: tuple[int, int] | None = None
        if cfg.input_size is not None:
            self._check_size(cfg.input_size)
            self.feature_size = _feature_size(self.stack, cfg.input_size)
        in_features = self.stack.out_channels
        if cfg.pool == "flatten" and self.feature_size is not None:
            in_features *= self.feature_size[0] * self.feature_size[1]
        self.head = ClassifierHead(in_features, cfg.num_classes, pool=cfg.pool, dropout=cfg.dropout)

    def _check_size(self, size: tuple[int, int]) -> None:
        lo_h, lo_w = self.min_input_size
        if size[0] < lo_h or size[1] < lo_w:
            raise ValueError(
                f"input of {size[0]}x{size[1]} pixels is smaller than the minimum {lo_h}x{lo_w}"
            )

    def check_input(self, x: torch.Tensor) -> None:
        """Raise a one-line ``ValueError`` unless ``x`` is an image batch this model takes."""
        c = self.cfg.in_channels
        if x.dim() != 4 or x.shape[1] != c:
            raise ValueError(f"expected images (B, {c}, H, W), got shape {tuple(x.shape)}")
        size = (x.shape[2], x.shape[3])  # no int(): ONNX export keeps the size dynamic
        if self.cfg.pool == "flatten" and size != self.cfg.input_size:
            h, w = self.cfg.input_size or size
            raise ValueError(
                f"this model takes {h}x{w} images only, got {size[0]}x{size[1]}"
                " (resize them, or use a globally pooled model)"
            )
        self._check_size(size)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Images (B, C, H, W) -> feature map (B, C', H', W')."""
        self.check_input(x)
        return self.stack(x)  # type: ignore[no-any-return]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Images (B, C, H, W) -> class logits (B, K).

        Raises:
            ValueError: For a wrong number of channels, a size other than ``cfg.input_size``
                (``pool="flatten"``), or an image smaller than :attr:`min_input_size`.
        """
        return self.forward_head(self.forward_features(x))


@dataclass(frozen=True)
class ClipCnnCfg:
    """Architecture of a :class:`ClipCnn`.

    Attributes:
        frontend: Log-mel settings (sample rate, hop, mel bands).
        stages: 2-D conv stages over (1 x mel x time).
        num_classes: Number of classes K.
        pool: Global pooling of the feature map (``avg``, ``max`` or ``avgmax``).
        dropout: Dropout before the classifier's linear layer.
        class_names: Label of each class (empty = unnamed, shown as indices).
    """

    frontend: FrontendCfg = field(default_factory=FrontendCfg)
    stages: tuple[StageCfg, ...] = (_stage(16), _stage(32), _stage(64), _stage(128, pool=False))
    num_classes: int = 10
    pool: Pool = "avgmax"
    dropout: float = 0.2
    class_names: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.pool == "flatten":
            raise ValueError("clips vary in length: use avg, max or avgmax pooling")
        _check_stages(self.stages)
        _check_head(self.num_classes, self.class_names, self.dropout)


class ClipCnn(_Classifier):
    """Waveform (B, S) at ``sample_rate`` -> class logits (B, K) for the whole clip.

    Log-mel (B, M, T), a per-band batch norm, the 2-D stack over (B, 1, M, T), then global
    pooling over mel and time. Waveforms shorter than :attr:`min_samples` are zero-padded.
    """

    def __init__(self, cfg: ClipCnnCfg) -> None:
        super().__init__()
        self.cfg = cfg
        fe = cfg.frontend
        self.frontend = LogMel(fe)
        self.input_norm = nn.BatchNorm1d(fe.n_mels)
        self.stack = ConvStack(1, cfg.stages, dims=2)
        min_mels, min_frames = _min_size(self.stack)
        if fe.n_mels < min_mels:
            raise ValueError(f"{fe.n_mels} mel bands are too few for the stack ({min_mels})")
        # LogMel gives 1 + S // hop frames.
        self.min_samples = (min_frames - 1) * fe.hop_length
        self.head = ClassifierHead(
            self.stack.out_channels, cfg.num_classes, pool=cfg.pool, dropout=cfg.dropout
        )

    @property
    def sample_rate(self) -> int:
        """Sample rate in Hz the model expects."""
        return int(self.cfg.frontend.sample_rate)

    def forward_features(self, wave: torch.Tensor) -> torch.Tensor:
        """Waveform (B, S) -> feature map (B, C, M', T')."""
        if wave.dim() != 2:
            raise ValueError(f"expected waveforms (B, S), got shape {tuple(wave.shape)}")
        if wave.shape[1] < self.min_samples:
            wave = nn.functional.pad(wave, (0, self.min_samples - wave.shape[1]))
        x = self.input_norm(self.frontend(wave))
        return self.stack(x.unsqueeze(1))  # type: ignore[no-any-return]

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        """Waveform (B, S) -> class logits (B, K)."""
        return self.forward_head(self.forward_features(wave))


@register_model("img_cnn2d_s", task="image")
def img_cnn2d_s(**overrides: Any) -> ImageCnn:
    """Classic small CNN, 28x28 greyscale, fixed size (~84k parameters).

    Two [5x5 conv, BN, ReLU, 2x2 max-pool] stages of 32 and 64 channels, then one fully
    connected layer over the 64x7x7 map.
    """
    return ImageCnn(replace(ImageCnnCfg(), **overrides))


@register_model("img_cnn2d_alex", task="image")
def img_cnn2d_alex(**overrides: Any) -> ImageCnn:
    """Deeper AlexNet-style CNN, 28x28 greyscale by default, fixed size (~219k parameters).

    Five 3x3 conv layers (32-64-96-96-64) with three 2x2 max-pools, dropout 0.5 and a fully
    connected layer over the 64x3x3 map. For 32x32 RGB: ``in_channels=3, input_size=(32, 32)``
    and three-value ``mean``/``std``.
    """
    cfg = ImageCnnCfg(
        stages=(_stage(32), _stage(64), _stage(96, depth=2, pool=False), _stage(64)),
        dropout=0.5,
    )
    return ImageCnn(replace(cfg, **overrides))


@register_model("img_cnn2d_gap", task="image")
def img_cnn2d_gap(**overrides: Any) -> ImageCnn:
    """Globally pooled CNN, any input size of at least 8x8 (~242k parameters).

    3x3 conv stages of 32-64-128-128 channels (three 2x2 max-pools), global average pooling,
    dropout 0.2 and a linear layer.
    """
    cfg = ImageCnnCfg(
        input_size=None,
        stages=(_stage(32), _stage(64), _stage(128), _stage(128, pool=False)),
        pool="avg",
        dropout=0.2,
    )
    return ImageCnn(replace(cfg, **overrides))


@register_model("clip_cnn2d_s", task="clip")
def clip_cnn2d_s(**overrides: Any) -> ClipCnn:
    """Audio clip classifier (e.g. ESC-10), waveform at 16 kHz in (~100k parameters).

    64-band log-mel, 3x3 conv stages of 16-32-64-128 channels with three 2x2 max-pools over
    mel x time, global average+max pooling, dropout 0.2 and a linear layer.
    """
    return ClipCnn(replace(ClipCnnCfg(), **overrides))
