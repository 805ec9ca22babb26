"""Torch-free half of :mod:`voicecnn.net.layers.heads`: the frame head and its numpy step."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import numpy as np

from voicecnn.net.layers.step import Buf, LayerSpec, Op, Params, Shape, Step

__all__ = ["FrameHeadSpec"]


@dataclass(frozen=True)
class FrameHeadSpec(LayerSpec):
    """Per-frame logits: dropout (training only) and a 1x1 projection; see
    :class:`voicecnn.net.layers.FrameHead`. Tensors: ``proj.weight``, ``proj.bias``."""

    in_channels: int
    num_classes: int = 1
    dropout: float = 0.0

    def step(self, params: Params, shape: Shape) -> Step:
        """A :class:`ProjectStep` (logits, one row of ``num_classes`` per frame)."""
        w = params("proj.weight")
        if shape != (1, self.in_channels) or w.shape != (self.num_classes, self.in_channels, 1):
            raise ValueError(
                f"frame head of {self.in_channels} channels got frames {shape} (flatten first)"
            )
        return ProjectStep(shape, w[:, :, 0].T, params("proj.bias", (self.num_classes,)))


class ProjectStep(Step):
    """``x @ weight + bias`` per frame."""

    def __init__(self, shape: Shape, weight: np.ndarray, bias: np.ndarray) -> None:
        self.inp = Buf(shape)
        self.weight = np.ascontiguousarray(weight, dtype=np.float32)  # (C, K)
        self.bias = bias.astype(np.float32)
        self.out_shape = (1, self.weight.shape[1])
        self._bias: dict[int, np.ndarray] = {}
        self._deferred = False

    def defer_bias(self) -> float:
        """Leave the bias of a one-logit head to the caller, which adds it to the outputs;
        returns it (0.0, and nothing deferred, for a head of several logits)."""
        if self.bias.size != 1:
            return 0.0
        self._deferred = True
        return float(self.bias[0])

    def ops(self, n: int) -> list[Op]:
        """One product, one sum (none when the bias is deferred)."""
        s, w = self.inp.start, self.out.w
        dst = self.out.rows[w : w + n]
        dot = partial(self.inp.rows[s : s + n].dot, self.weight, dst)
        if self._deferred:
            return [dot]
        bias = self._bias.get(n)
        if bias is None:
            bias = self._bias[n] = np.ascontiguousarray(
                np.broadcast_to(self.bias, (n, self.bias.size)))
        return [dot, partial(np.add, dst, bias, dst)]
