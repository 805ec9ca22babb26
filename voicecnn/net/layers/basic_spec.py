"""Torch-free specs of the layers that torch itself provides: inference batch norm, and the
reshapes between the 1-D and 2-D parts of a model (built as ``nn.BatchNorm1d``,
``nn.Unflatten`` and ``nn.Flatten``)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import numpy as np

from voicecnn.net.layers.step import Buf, LayerSpec, Op, Params, Shape, Step

__all__ = ["BatchNormSpec", "FlattenSpec", "UnsqueezeSpec"]


@dataclass(frozen=True)
class BatchNormSpec(LayerSpec):
    """``nn.BatchNorm1d(channels)`` on (B, C, T): at inference a fixed per-channel affine.
    Tensors: ``weight``, ``bias``, ``running_mean``, ``running_var``."""

    channels: int
    eps: float = 1e-5

    def step(self, params: Params, shape: Shape) -> Step:
        """An :class:`AffineStep`."""
        vec = (self.channels,)
        scale = params("weight", vec) / np.sqrt(params("running_var", vec) + self.eps)
        shift = params("bias", vec) - params("running_mean", vec) * scale
        if shape != (1, self.channels) or scale.shape != (self.channels,):
            raise ValueError(f"batch norm of {self.channels} channels got frames {shape}")
        return AffineStep(shape, scale, shift)


class AffineStep(Step):
    """``x * scale + shift`` per channel."""

    def __init__(self, shape: Shape, scale: np.ndarray, shift: np.ndarray) -> None:
        self.inp = Buf(shape)
        self.out_shape = shape
        self.scale, self.shift = scale.astype(np.float32), shift.astype(np.float32)
        self._views: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def ops(self, n: int) -> list[Op]:
        """One product, one sum (full-shape operands: broadcasting costs more here)."""
        views = self._views.get(n)
        if views is None:
            views = self._views[n] = (
                np.ascontiguousarray(np.broadcast_to(self.scale, (n, self.scale.size))),
                np.ascontiguousarray(np.broadcast_to(self.shift, (n, self.shift.size))),
            )
        s, w = self.inp.start, self.out.w
        src, dst = self.inp.rows[s : s + n], self.out.rows[w : w + n]
        return [partial(np.multiply, src, views[0], dst), partial(np.add, dst, views[1], dst)]


@dataclass(frozen=True)
class UnsqueezeSpec(LayerSpec):
    """(B, C, T) -> (B, 1, C, T): the channels become the rows of a one-channel 2-D map."""

    channels: int

    def step(self, params: Params, shape: Shape) -> Shape:
        """Same memory order: only the frames' shape changes."""
        if shape != (1, self.channels):
            raise ValueError(f"unsqueeze of {self.channels} channels got frames {shape}")
        return (self.channels, 1)


@dataclass(frozen=True)
class FlattenSpec(LayerSpec):
    """(B, C, H, T) -> (B, C * H, T): a 2-D map becomes the channels of 1-D layers."""

    def step(self, params: Params, shape: Shape) -> Step | Shape:
        """A transposing copy: frames are stored row-major, torch's channels are c * H + h."""
        h, c = shape
        if h == 1 or c == 1:
            return (1, h * c)
        return FlattenStep(shape)


class FlattenStep(Step):
    """Frames (h, c) -> (1, c * h) in torch's channel order."""

    def __init__(self, shape: Shape) -> None:
        self.inp = Buf(shape)
        self.out_shape = (1, shape[0] * shape[1])

    def ops(self, n: int) -> list[Op]:
        """One copy through a transposed view."""
        h, c, s, w = self.inp.h, self.inp.c, self.inp.start, self.out.w
        src = self.inp.rows[s : s + n].reshape(n, h, c).transpose(0, 2, 1)
        return [partial(np.copyto, self.out.rows[w : w + n].reshape(n, c, h), src)]
