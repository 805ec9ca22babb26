"""Torch-free half of :mod:`voicecnn.net.layers.conv`: conv blocks, max-pools and stacks of them.

Hyper-parameters, the receptive-field arithmetic and each layer's numpy step live here; the
torch modules in :mod:`voicecnn.net.layers.conv` are built from these specs.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any, Literal

import numpy as np

from voicecnn.net.layers.basic_spec import FlattenStep
from voicecnn.net.layers.step import Buf, LayerSpec, Op, Params, Shape, Step

__all__ = [
    "ConvNormActSpec",
    "ConvStackSpec",
    "Dims",
    "MaxPoolSpec",
    "StageCfg",
    "time_padding",
]

Dims = Literal[1, 2]
_STREAM_TAP_CHANNELS = 8
"""Input channels up to which a stream's products carry the bias as a tap (see _bias_tap)."""
_FILE_TAP_CHANNELS = 1
"""Input channels up to which a file's products carry the bias as a tap."""
_TAP_FRAMES = 16
"""Frames per product from which a push counts as a file's (see _bias_tap)."""


def time_padding(kernel: int, dilation: int, lookahead: int | None) -> tuple[int, int]:
    """Split the 'same' padding of a conv along time into (past, future) steps."""
    total = dilation * (kernel - 1)
    future = total // 2 if lookahead is None else lookahead
    if not 0 <= future <= total:
        raise ValueError(f"lookahead {lookahead} must be between 0 and {total}")
    return total - future, future


@dataclass(frozen=True)
class ConvNormActSpec(LayerSpec):
    """Zero padding, convolution (no bias), batch norm and ReLU; see
    :class:`voicecnn.net.layers.ConvNormAct`. Tensors: ``conv.weight``, ``norm.*``."""

    c_in: int
    c_out: int
    k: int = 3
    dims: Dims = 1
    dilation: int = 1
    lookahead: int | None = None
    act: str = "relu"
    eps: float = 1e-5

    LEGACY_NAMES = {"1": "conv", "2": "norm"}
    """Children were positional (pad, conv, norm, act) before they were named."""

    @property
    def time_padding(self) -> tuple[int, int]:
        """(past, future) zero padding along time."""
        return time_padding(self.k, self.dilation, self.lookahead)

    def step(self, params: Params, shape: Shape) -> Step:
        """A :class:`ConvStep` with the batch norm folded into the weights."""
        return ConvStep(self, params, shape)


class ConvStep(Step):
    """Conv + batch norm + ReLU over the frames the input completes.

    Output ``(t, j)`` gathers taps ``inp[t + i * d, j + a - top]`` for time taps ``i`` and
    row taps ``a`` (a 1-D input is one row holding all channels), then one matrix product.
    """

    def __init__(self, spec: ConvNormActSpec, params: Params, shape: Shape) -> None:
        if spec.act != "relu":
            raise ValueError(f"the numpy engine has no step for activation {spec.act!r}")
        h, c = shape
        self.inp = Buf(shape)
        self.past, self.future = spec.time_padding
        kernel = (spec.k,) * spec.dims
        w = params("conv.weight", (spec.c_out, spec.c_in, *kernel))
        if spec.dims == 1:
            if h != 1 or w.ndim != 3:
                raise ValueError(f"a 1-D conv needs (1, C) frames, got {shape}")
            w, self.top = w[:, :, None, :], 0  # (C_out, C_in, k) -> (C_out, C_in, 1, k)
        else:
            if w.ndim != 4:
                raise ValueError("a 2-D conv needs a 4-D weight")
            self.top = (spec.k - 1) // 2
        c_out, c_in, kh, kw = w.shape
        if c_in != c:
            raise ValueError(f"conv expects {c_in} channels, its input has {c}")
        self.h, self.kh, self.kw, self.d = h, kh, kw, spec.dilation
        self.span = (kw - 1) * self.d
        vec = (spec.c_out,)
        scale = params("norm.weight", vec) / np.sqrt(params("norm.running_var", vec) + spec.eps)
        bias = params("norm.bias", vec) - params("norm.running_mean", vec) * scale
        w = w * scale[:, None, None, None]  # batch norm folded in
        self.direct = kw == 1 and kh == 1  # no gather: rows are the columns
        # Weight rows in gather order: time tap, row tap, channel; then c_in rows for the bias
        # tap (see _bias_tap), which reads the buffer's constant (1, 0, ..., 0) row.
        self.taps = kw * kh * c_in
        rows = [w.transpose(3, 2, 1, 0).reshape(self.taps, c_out), np.zeros((c_in, c_out))]
        rows[-1][0] = bias
        self.weight = np.ascontiguousarray(np.concatenate(rows), dtype=np.float32)
        self.bias = bias.astype(np.float32)
        self.out_shape: Shape = (h, c_out)
        self.pool = 1  # rows pooled by a fused max-pool (see fuse)
        self._whole_rows = False  # reads (h, c) frames as rows of h * c (see absorb)
        self._views: dict[int, tuple[Any, ...]] = {}

    def absorb(self, prev: Step) -> bool:
        """A 1x1 conv after a flatten reads the flatten's input frames, (h, c) row-major, as
        one row of h * c channels, with its weight rows permuted to torch's flattened order
        (channel c * h + row): the flatten's copy is dropped."""
        if not isinstance(prev, FlattenStep) or not self.direct or self.h != 1:
            return False
        h, c = prev.inp.h, prev.inp.c
        q = np.arange(h * c)
        self.weight = np.ascontiguousarray(self.weight[(q % c) * h + q // c])
        self.inp = prev.inp
        self._whole_rows = True
        return True

    def _bias_tap(self, n: int) -> bool:
        """Whether the bias rides along in the product of ``n`` frames as one more tap (one
        call fewer) rather than being added after it (c_in columns fewer): with few input
        channels in a stream's small products (calls cost more than arithmetic there), with
        one in a file's."""
        c = self.inp.c
        return not self.direct and (c <= _FILE_TAP_CHANNELS or (
            n < _TAP_FRAMES and c <= _STREAM_TAP_CHANNELS))

    def fuse(self, nxt: Step) -> bool:
        """Take over a following max-pool over rows only (stride = kernel, none over time):
        the gather then lists output rows in pooling order, so the pool is a maximum of
        contiguous blocks, and the ReLU and bias (which commute with it) run on the pooled
        rows; the pool's own step is dropped."""
        if not isinstance(nxt, PoolStep) or nxt.kt != 1 or self.pool != 1 or self.direct:
            return False
        if (nxt.inp.h, nxt.inp.c) != self.out_shape:
            return False
        self.pool = nxt.kh
        self.out_shape = nxt.out_shape
        return True

    def _make_views(self, n: int) -> tuple[Any, ...]:
        """Gather indices and scratch arrays for ``n`` output frames (cached per ``n``)."""
        h, kh, kw, p, c_in = self.h, self.kh, self.kw, self.pool, self.inp.c
        h2, c_out = h // p, self.weight.shape[1]
        # Output rows in pooling order (k, t, j), for row j * p + k of frame t: the p inputs
        # of each pooled row are then p contiguous blocks of the product.
        k = np.arange(p)[:, None, None, None, None]
        t = np.arange(n)[None, :, None, None, None]
        j = np.arange(h2)[None, None, :, None, None]
        i = np.arange(kw)[None, None, None, :, None]
        a = np.arange(kh)[None, None, None, None, :]
        row = j * p + k + a - self.top
        # Rows of inp.flat from the first input frame; row padding reads the last row (-1),
        # the bias tap the one before (-2).
        idx = np.where((row >= 0) & (row < h), (t + i * self.d) * h + row, -1)
        tap = self._bias_tap(n)
        rows, taps = p * n * h2, kw * kh + tap
        idx = idx.reshape(rows, kw * kh)
        if tap:
            idx = np.concatenate([idx, np.full((rows, 1), -2)], axis=1)
        cols = np.zeros((rows, taps * c_in), np.float32)
        cols3 = cols.reshape(rows, taps, c_in) if c_in > 1 else cols
        tmp = np.zeros((p, n * h2, c_out), np.float32)
        # Full-shape operands: broadcasting a vector costs more than the arithmetic here.
        zeros = np.zeros((n * h2, c_out), np.float32)
        bias = np.ascontiguousarray(np.broadcast_to(self.bias, (n * h2, c_out)))
        weight = self.weight if tap else self.weight[: self.taps]
        views = (idx, cols3, cols, tmp, tmp.reshape(rows, c_out), zeros, bias, weight, tap)
        self._views[n] = views
        return views

    def ops(self, n: int) -> list[Op]:
        """Gather, one product, (pool,) bias, ReLU."""
        b, start = self.inp, self.inp.start
        views = self._views.get(n) or self._make_views(n)
        idx, cols3, cols, tmp, tmp2, zeros, bias, weight, tap = views
        dst = self.out.rows[self.out.w : self.out.w + n].reshape(n * self.out_shape[0], -1)
        ops: list[Op]
        if self.direct:
            src = b.rows[start : start + n] if self._whole_rows else b.flat[
                start * b.h : (start + n) * b.h]
            ops = [partial(src.dot, weight, dst)]
        else:
            ops = [partial(b.src[start * b.h :].take, idx, 0, cols3, "wrap")]
            if self.pool == 1:
                ops.append(partial(cols.dot, weight, dst))
            else:
                ops.append(partial(cols.dot, weight, tmp2))
                ops.append(partial(np.fmax, tmp[0], tmp[1], dst))
                ops += [partial(np.fmax, dst, tmp[k], dst) for k in range(2, self.pool)]
        if not tap:
            ops.append(partial(np.add, dst, bias, dst))  # the bias commutes with the pool
        ops.append(partial(np.fmax, dst, zeros, dst))
        return ops


@dataclass(frozen=True)
class MaxPoolSpec(LayerSpec):
    """Max-pool over (T,) or (H, T); an axis with stride 1 is padded by ``kernel // 2``.

    The numpy step pools time with stride 1 only (a running maximum, as VAD stacks keep the
    frame rate) and rows (2-D) with windows that tile them (stride = kernel, no padding).
    """

    dims: Dims
    kernel: tuple[int, ...]
    stride: tuple[int, ...]

    @property
    def padding(self) -> tuple[int, ...]:
        """Padding per axis: ``kernel // 2`` where the stride is 1, else none."""
        return tuple(k // 2 if s == 1 else 0 for k, s in zip(self.kernel, self.stride, strict=True))

    def step(self, params: Params, shape: Shape) -> Step:
        """A :class:`PoolStep`."""
        return PoolStep(self, shape)


class PoolStep(Step):
    """Running max over ``kt`` frames (-inf padding) and block max over ``kh`` rows."""

    fill = -np.inf

    def __init__(self, spec: MaxPoolSpec, shape: Shape) -> None:
        kt, st = spec.kernel[-1], spec.stride[-1]
        kh, sh = (spec.kernel[0], spec.stride[0]) if spec.dims == 2 else (1, 1)
        if st != 1 or kt % 2 == 0 or sh != kh:
            raise ValueError(
                f"the numpy engine pools time with stride 1 (odd kernel) and rows with "
                f"stride = kernel only, got kernel {spec.kernel} stride {spec.stride}"
            )
        self.kt, self.kh = kt, kh
        self.past = self.future = kt // 2
        self.span = kt - 1
        self.inp = Buf(shape, fill=self.fill)
        h, c = shape
        self.out_shape = (h // kh, c)

    def ops(self, n: int) -> list[Op]:
        """One ``fmax`` per tap after the first two."""
        (h, c), (h2, _), s = (self.inp.h, self.inp.c), self.out_shape, self.inp.start
        dst = self.out.rows[self.out.w : self.out.w + n].reshape(n, h2, c)
        rows = self.inp.rows
        srcs = [
            rows[s + i : s + i + n].reshape(n, h, c)[:, a : h2 * self.kh : self.kh]
            for i in range(self.kt) for a in range(self.kh)
        ]
        if len(srcs) == 1:
            return [partial(np.copyto, dst, srcs[0])]
        return [partial(np.fmax, srcs[0], srcs[1], dst)] + [
            partial(np.fmax, dst, x, dst) for x in srcs[2:]
        ]


@dataclass(frozen=True)
class StageCfg:
    """One stage of a :class:`ConvStack`: ``depth`` conv blocks, then an optional max-pool.

    Attributes:
        channels: Output channels of every conv in the stage.
        depth: Number of conv blocks.
        kernel: Conv kernel size.
        dilation: Dilation along time of every conv in the stage.
        lookahead: Future steps each conv sees along time (``None`` = symmetric padding).
        pool: Max-pool kernel per axis, (T,) for 1-D or (H, T) for 2-D; empty = no pooling.
        pool_stride: Pool stride per axis; ``None`` = equal to ``pool``. An axis pooled with
            stride 1 is padded to keep its length (a running maximum).
    """

    channels: int
    depth: int = 1
    kernel: int = 3
    dilation: int = 1
    lookahead: int | None = None
    pool: tuple[int, ...] = ()
    pool_stride: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        if self.channels <= 0 or self.depth <= 0 or self.kernel <= 0 or self.dilation <= 0:
            raise ValueError("channels, depth, kernel and dilation must be positive")
        stride = self.pool if self.pool_stride is None else self.pool_stride
        if len(stride) != len(self.pool):
            raise ValueError("pool and pool_stride must have the same length")
        if any(k <= 0 for k in self.pool) or any(s <= 0 for s in stride):
            raise ValueError("pool sizes and strides must be positive")
        if any(s == 1 and k % 2 == 0 for k, s in zip(self.pool, stride, strict=True)):
            raise ValueError("a running max-pool (stride 1) needs an odd kernel")


@dataclass(frozen=True)
class ConvStackSpec(LayerSpec):
    """Stages of conv blocks, each followed by an optional max-pool; see
    :class:`voicecnn.net.layers.ConvStack`. Its layers are named ``layers.0``, ``layers.1``..."""

    c_in: int
    stages: tuple[StageCfg, ...]
    dims: Dims = 1

    def __post_init__(self) -> None:
        if self.dims not in (1, 2):
            raise ValueError(f"dims must be 1 or 2, got {self.dims}")
        if not self.stages:
            raise ValueError("a ConvStack needs at least one stage")
        for st in self.stages:
            if st.pool and len(st.pool) != self.dims:
                raise ValueError(f"pool {st.pool} needs {self.dims} value(s) for dims={self.dims}")

    def layers(self) -> list[ConvNormActSpec | MaxPoolSpec]:
        """The blocks and pools, in order."""
        out: list[ConvNormActSpec | MaxPoolSpec] = []
        c = self.c_in
        for st in self.stages:
            for _ in range(st.depth):
                out.append(ConvNormActSpec(c, st.channels, st.kernel, self.dims, st.dilation,
                                           st.lookahead))
                c = st.channels
            if st.pool:
                stride = st.pool if st.pool_stride is None else st.pool_stride
                out.append(MaxPoolSpec(self.dims, st.pool, stride))
        return out

    def children(self) -> tuple[tuple[str, LayerSpec], ...]:
        """``layers.i`` for each block and pool."""
        return tuple((f"layers.{i}", s) for i, s in enumerate(self.layers()))

    @property
    def out_channels(self) -> int:
        """Channels of the output."""
        return self.stages[-1].channels

    @property
    def time_stride(self) -> int:
        """Input steps per output step along the last axis."""
        return int(np.prod([s.stride[-1] for s in self.layers() if isinstance(s, MaxPoolSpec)]))

    @property
    def height_stride(self) -> int:
        """Input rows per output row (2-D only; 1 for 1-D)."""
        if self.dims == 1:
            return 1
        return int(np.prod([s.stride[0] for s in self.layers() if isinstance(s, MaxPoolSpec)]))

    @property
    def receptive_field(self) -> tuple[int, int]:
        """(past, future) input steps along the last axis that one output step sees."""
        past = future = 0
        stride_t = 1
        for s in self.layers():
            if isinstance(s, ConvNormActSpec):
                p, f = s.time_padding
                past, future = past + p * stride_t, future + f * stride_t
                continue
            k_t, s_t = s.kernel[-1], s.stride[-1]
            if s_t == 1:
                past += (k_t // 2) * stride_t
                future += (k_t // 2) * stride_t
            else:
                future += (k_t - 1) * stride_t
            stride_t *= s_t
        return past, future

    def step(self, params: Params, shape: Shape) -> Step:
        """A stack is walked into (see :func:`voicecnn.net.layers.step.leaves`)."""
        raise TypeError("ConvStackSpec is walked by leaves(), not stepped")
