"""Incremental inference of a :class:`~voicecnn.models.VadCnn`: every frame is computed once.

:class:`~voicecnn.detection.FrameProbStream` re-runs the torch model over each chunk plus its
receptive field, which is exact but costs ~70 frames of work per 10 ms frame when chunks are
small. Here each layer keeps the history it needs (its past padding, its dilated taps), so a
32 ms chunk costs 3 frames of work; the torch model stays the reference and tests hold the two
equal (within float32 rounding, for finite input).

At 3 frames per chunk the cost is the number of numpy calls and the Python around them more
than the arithmetic, so a chunk is a short, fixed list of calls on preallocated arrays:

* spectrum: one window product, one real FFT (float64) over the chunk's new frames, one square,
  one product with the mel filters (``log_eps`` rides along as a constant FFT column), one log,
  the input normalisation;
* each convolution: one gather of its taps from the layer's time-major input buffer (im2col
  over the new frames only; the bias comes in as one more tap reading a constant row), one
  matrix product with the batch norm folded into the weights, one maximum for the ReLU; 2-D
  layers gather their rows in pooling order and pool along mel with one more maximum;
* head: one product, one bias, one sigmoid.

Once every layer has run, a push of m frames moves every buffer by m rows, so its calls depend
only on m and the buffers' common offset: they are bound once (``functools.partial``) and
replayed. Zero padding at the start of the stream is the initial history; at the end,
``flush`` appends each layer's future padding, so the output equals the whole-file torch pass.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np
import numpy.typing as npt
import torch
from numpy.lib.stride_tricks import as_strided
from scipy.special import expit
from torch import nn

from voicecnn.layers.conv import ConvNormAct, ConvStack
from voicecnn.models.vad import VadCnn

__all__ = ["IncrementalVad"]

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]
C128 = npt.NDArray[np.complex128]
_Shape = tuple[int, int]
"""A frame of a layer's input or output: (mel rows, channels); 1-D layers have one row."""

_PIECE_FRAMES = 15
"""Longest push handled in one pass, in frames; longer ones are cut (bounds scratch memory)."""
_CYCLE = 48
"""Frames a steady stream advances through its buffers before they are moved back to the
front: plans are cached per (offset in the cycle, frames per push)."""
_MIN_ROWS = 2 * _CYCLE
_BIAS_TAP_CHANNELS = 8
_MAX_PLANS = 128  # a plan holds ~40 bound calls and their views (~20 kB)


def _numpy_rfft(frames: F64, out: C128) -> None:
    out[...] = np.fft.rfft(frames, axis=1)


def _pick_rfft() -> Callable[[F64, C128], Any]:
    """The cheapest real FFT along axis 1 writing into ``out``.

    scipy's pocketfft binding costs ~4 us less per call than the public wrappers, a tenth of a
    32 ms chunk; it is private API, so it is checked against numpy and replaced by
    ``numpy.fft.rfft`` if it is missing or disagrees. (Double precision: scipy's float32 FFT
    is several times less accurate than torch's, and the doubles cost no more here.)
    """
    try:
        from scipy.fft._pocketfft.pypocketfft import r2c

        def fast(frames: F64, out: C128) -> Any:
            return r2c(frames, (1,), True, 0, out, 1)

        x = np.random.default_rng(0).standard_normal((2, 40))
        out = np.zeros((2, 22), np.complex128)[:, :21]
        fast(x, out)
        if np.allclose(out, np.fft.rfft(x, axis=1), atol=1e-9):
            return fast
    except Exception:  # noqa: BLE001 - any failure of private API means: use numpy
        pass
    return _numpy_rfft


_rfft = _pick_rfft()
_dot: Callable[..., Any] = getattr(np.dot, "_implementation", np.dot)
"""np.dot without the __array_function__ dispatch (NEP 18), which costs ~0.2 us a call."""


def _array(module: nn.Module, name: str) -> F64:
    """A parameter or buffer of ``module`` as a float64 numpy array."""
    value = getattr(module, name, None)
    if not isinstance(value, torch.Tensor):
        raise ValueError(f"{type(module).__name__} has no tensor {name!r}")
    return value.detach().double().cpu().numpy()


def _bn_affine(bn: nn.Module) -> tuple[F64, F64]:
    """Eval-mode batch norm as ``x * scale + shift`` (per channel)."""
    eps = float(getattr(bn, "eps", 1e-5))
    scale = _array(bn, "weight") / np.sqrt(_array(bn, "running_var") + eps)
    return scale, _array(bn, "bias") - _array(bn, "running_mean") * scale


class _Buf:
    """A layer's input along time: ``rows`` (cap, h * c), frame-major, mel-major within a frame.

    ``flat`` views the same memory as rows of ``c`` values plus two constant rows at the end
    that gathers point at: ``(1, 0, ..., 0)`` (index -2), which brings in the bias, and zeros
    (index -1), the mel padding.
    """

    allocations = 0  # reallocations invalidate cached views of every buffer (see _plans)

    def __init__(self, shape: _Shape, *, fill: float = 0.0) -> None:
        h, c = shape
        self.h, self.c, self.width = h, c, h * c
        self.oh, self.oc = h, c  # the producer's layout of a frame (see produced_as)
        self.fill = fill  # time padding: zeros, or -inf ahead of a max-pool
        self.start = 0  # first row the consumer still needs
        self.w = 0  # next row to write
        self._alloc(_MIN_ROWS)

    def _alloc(self, cap: int) -> None:
        _Buf.allocations += 1
        self.cap = cap
        mem = np.zeros(cap * self.width + 2 * self.c, np.float32)
        self.rows = mem[: cap * self.width].reshape(cap, self.width)
        self.flat = mem.reshape(cap * self.h + 2, self.c)
        self.flat[-2, 0] = 1.0
        self.src = mem if self.c == 1 else self.flat  # single values gather faster in 1-D
        self._out_views()

    def _out_views(self) -> None:
        """Views in the producer's layout: frames (cap, oh, oc) and rows of oc values."""
        self.out2 = self.rows.reshape(self.cap * self.oh, self.oc)

    def produced_as(self, oh: int, oc: int) -> None:
        if oh * oc != self.width:
            raise ValueError("layer shapes do not chain")
        self.oh, self.oc = oh, oc
        self._out_views()

    def reset(self, past: int) -> None:
        if past + _MIN_ROWS // 2 > self.cap:
            self._alloc(past + _MIN_ROWS)
        self.rows[:past] = self.fill
        self.start, self.w = 0, past

    def make_room(self, n: int, cap: int = 0) -> None:
        """Move the rows still needed to the front, growing to at least ``cap`` rows and so
        that ``n`` more rows fit."""
        keep = self.w - self.start
        if keep + n > self.cap or cap > self.cap:
            old = self.rows[self.start : self.w].copy()
            self._alloc(max(2 * (keep + n), cap))
            self.rows[:keep] = old
        else:
            self.rows[:keep] = self.rows[self.start : self.w].copy()
        self.start, self.w = 0, keep

    def append_fill(self, n: int) -> None:
        if self.w + n > self.cap:
            self.make_room(n)
        self.rows[self.w : self.w + n] = self.fill
        self.w += n


Op = Callable[[], object]
"""One numpy call with its arguments bound."""


class _Stage:
    """One layer along time: reads ``inp``, writes ``out`` (the next stage's ``inp``).

    ``ops(n)`` lists the numpy calls that compute ``n`` outputs at the buffers' current
    positions; after a run the input holds exactly ``span`` rows of history.
    """

    inp: _Buf
    out: _Buf
    past: int
    future: int
    span: int
    out_shape: _Shape

    def ops(self, n: int) -> list[Op]:
        raise NotImplementedError

    def run(self) -> None:
        """Compute every output the input allows."""
        b, nb = self.inp, self.out
        n = b.w - b.start - self.span
        if n <= 0:
            return
        if nb.w + n > nb.cap:
            nb.make_room(n)
        for op in self.ops(n):
            op()
        b.start += n
        nb.w += n


def _parts(block: ConvNormAct) -> tuple[nn.Module, nn.Conv1d | nn.Conv2d, nn.Module]:
    pad, conv, bn, act = block
    if not isinstance(conv, nn.Conv1d | nn.Conv2d) or not isinstance(act, nn.ReLU):
        raise ValueError("unexpected ConvNormAct layout")
    return pad, conv, bn


class _Conv(_Stage):
    """Conv + batch norm + ReLU (+ max-pool along mel) over the frames the input completes.

    Output ``(t, h)`` gathers taps ``inp[t + i * d, h + a - top]`` for time taps ``i`` and mel
    taps ``a`` (a 1-D input is one mel row holding all channels), then one matrix product.
    """

    def __init__(
        self, block: ConvNormAct, shape: _Shape, pool: int, perm: npt.NDArray[np.intp]
    ) -> None:
        pad, conv, bn = _parts(block)
        self.inp = _Buf(shape)
        self.past, self.future = block.time_padding
        w = _array(conv, "weight")
        if w.ndim == 3:  # (C_out, C_in, k) -> (C_out, C_in, 1, k)
            w = w[:, :, None, :]
            self.top = 0
        else:
            if not isinstance(pad, nn.ZeroPad2d):
                raise ValueError("unexpected ConvNormAct layout")
            self.top = int(pad.padding[2])
        w = w[:, perm]  # input channels in buffer order
        c_out, c_in, kh, kw = w.shape
        h, c = shape
        if c_in != c:
            raise ValueError("channel mismatch in incremental layers")
        self.h_in, self.kh, self.kw, self.d = h, kh, kw, int(conv.dilation[-1])
        self.span = (kw - 1) * self.d
        if self.span != self.past + self.future:
            raise ValueError("unexpected ConvNormAct padding")
        scale, shift = _bn_affine(bn)
        if isinstance(getattr(conv, "bias", None), torch.Tensor):
            shift = shift + _array(conv, "bias") * scale
        w = w * scale[:, None, None, None]  # batch norm folded in
        bias = shift
        self.direct = kw == 1 and kh == 1 and pool == 1  # no gather: rows are the columns
        # Weight rows in gather order: time tap, mel tap, channel. With few input channels the
        # bias rides along as one more tap reading the buffer's constant (1, 0, ..., 0) row
        # (cheaper than an addition); with more, those extra columns cost more than it.
        self.bias_tap = not self.direct and c_in <= _BIAS_TAP_CHANNELS
        rows = [w.transpose(3, 2, 1, 0).reshape(kw * kh * c_in, c_out)]
        if self.bias_tap:
            rows.append(np.zeros((c_in, c_out)))
            rows[-1][0] = bias
        self.weight = np.ascontiguousarray(np.concatenate(rows), dtype=np.float32)
        self.bias = bias.astype(np.float32)
        self.pool = pool
        self.out_shape = (h // pool, c_out)
        self._views: dict[int, tuple[Any, ...]] = {}

    def _make_views(self, n: int) -> tuple[Any, ...]:
        """Gather indices and scratch arrays for ``n`` output frames (cached per ``n``)."""
        h, kh, kw, p, c_in = self.h_in, self.kh, self.kw, self.pool, self.inp.c
        h2, c_out = h // p, self.weight.shape[1]
        # Output rows in pooling order (k, t, j), for mel row j * p + k of frame t: the p
        # inputs of each pooled row are then p contiguous blocks of the product.
        k = np.arange(p)[:, None, None, None, None]
        t = np.arange(n)[None, :, None, None, None]
        j = np.arange(h2)[None, None, :, None, None]
        i = np.arange(kw)[None, None, None, :, None]
        a = np.arange(kh)[None, None, None, None, :]
        mel = j * p + k + a - self.top
        # Rows of inp.flat from the first input frame; mel padding reads the last row (-1),
        # the bias tap the one before (-2).
        idx = np.where((mel >= 0) & (mel < h), (t + i * self.d) * h + mel, -1)
        rows, taps = p * n * h2, kw * kh + self.bias_tap
        idx = idx.reshape(rows, kw * kh)
        if self.bias_tap:
            idx = np.concatenate([idx, np.full((rows, 1), -2)], axis=1)
        cols = np.zeros((rows, taps * c_in), np.float32)
        cols3 = cols.reshape(rows, taps, c_in) if c_in > 1 else cols
        tmp = np.zeros((p, n * h2, c_out), np.float32)
        # Full-shape operands: broadcasting a vector costs more than the arithmetic here.
        zeros = np.zeros((n * h2, c_out), np.float32)
        bias = np.ascontiguousarray(np.broadcast_to(self.bias, (n * h2, c_out)))
        views = (idx, cols3, cols, tmp, tmp.reshape(rows, c_out), zeros, bias)
        self._views[n] = views
        return views

    def ops(self, n: int) -> list[Op]:
        b, nb = self.inp, self.out
        start, w, oh = b.start, nb.w, nb.oh
        idx, cols3, cols, tmp, tmp2, zeros, bias = self._views.get(n) or self._make_views(n)
        dst = nb.out2[w * oh : (w + n) * oh]
        ops: list[Op]
        if self.direct:  # 1x1: the input rows are the columns
            src = b.flat[start * b.h : (start + n) * b.h]
            ops = [partial(_dot, src, self.weight, dst), partial(np.add, dst, bias, dst)]
        else:
            ops = [partial(b.src[start * b.h :].take, idx, 0, cols3, "wrap")]
            if self.pool == 1:
                ops.append(partial(_dot, cols, self.weight, dst))
            else:
                ops.append(partial(_dot, cols, self.weight, tmp2))
                ops.append(partial(np.fmax, tmp[0], tmp[1], dst))
                ops += [partial(np.fmax, dst, tmp[k], dst) for k in range(2, self.pool)]
            if not self.bias_tap:
                ops.append(partial(np.add, dst, bias, dst))  # the bias commutes with the pool
        ops.append(partial(np.fmax, dst, zeros, dst))
        return ops


class _RunningMax(_Stage):
    """MaxPool1d(k, stride=1, padding=k//2): -inf padding at both ends."""

    def __init__(self, pool: nn.MaxPool1d, shape: _Shape) -> None:
        ks = pool.kernel_size
        self.k = int(ks if isinstance(ks, int) else ks[0])
        self.past = self.future = self.k // 2
        self.span = self.k - 1
        self.inp = _Buf(shape, fill=-np.inf)
        self.out_shape = shape

    def ops(self, n: int) -> list[Op]:
        r, s, w = self.inp.rows, self.inp.start, self.out.w
        dst = self.out.rows[w : w + n]
        if self.k == 1:
            return [partial(np.copyto, dst, r[s : s + n])]
        return [partial(np.fmax, r[s : s + n], r[s + 1 : s + 1 + n], dst)] + [
            partial(np.fmax, dst, r[s + i : s + i + n], dst) for i in range(2, self.k)
        ]


def _stages(stack: ConvStack, shape: _Shape, perm: npt.NDArray[np.intp]) -> list[_Stage]:
    """Stages of a ConvStack; ``perm``: torch channel of each input channel in buffer order."""
    mods = list(stack.layers)
    out: list[_Stage] = []
    i = 0
    while i < len(mods):
        m = mods[i]
        stage: _Stage
        if isinstance(m, ConvNormAct):
            pool = 1
            nxt = mods[i + 1] if i + 1 < len(mods) else None
            if isinstance(nxt, nn.MaxPool2d):
                ks, st = nxt.kernel_size, nxt.stride
                if not (isinstance(ks, tuple) and ks[1] == 1 and st == ks) or nxt.padding not in (
                    0, (0, 0)
                ):
                    raise ValueError("incremental inference supports max-pooling along mel only")
                pool = int(ks[0])
                i += 1
            stage = _Conv(m, shape, pool, perm)
            perm = np.arange(stage.out_shape[1])
        elif isinstance(m, nn.MaxPool1d):
            stage = _RunningMax(m, shape)
        else:
            raise ValueError(f"incremental inference does not support {type(m).__name__}")
        out.append(stage)
        shape = stage.out_shape
        i += 1
    return out


class IncrementalVad:
    """Frame probabilities of a VadCnn from a stream of samples, each frame computed once.

    Same interface as :class:`~voicecnn.detection.FrameProbStream`: ``push`` samples of any
    length, ``flush`` at the end, ``reset`` for a new stream.

    Args:
        model: A :class:`VadCnn` (its current weights are copied; eval-mode semantics).
    """

    def __init__(self, model: VadCnn) -> None:
        cfg = model.cfg.frontend
        self.sample_rate, self.hop, self.n_fft = cfg.sample_rate, cfg.hop_length, cfg.n_fft
        self.frame_hop_s = cfg.hop_s
        self.lookahead_frames = model.context_frames[1]
        # STFT frame t spans x[t*hop + offset : ... + n_fft], with x[: hop//2] read as zeros
        # (the torch model drops that half hop before its centred STFT).
        self.offset = self.hop // 2 - self.n_fft // 2
        self._frame_end = self.offset + self.n_fft  # frame t needs samples < t * hop + this
        self._win = _array(model.frontend, "window").astype(np.float32)
        fb = _array(model.frontend, "mel_fb")  # (n_mels, bins)
        bins, n_mels = fb.shape[1], fb.shape[0]
        # |X|^2 summed by the filters: rows for real and imaginary parts, then log_eps times
        # the constant (1 + 0j) column the FFT output carries.
        fb2 = np.zeros((2 * bins + 2, n_mels))
        fb2[0 : 2 * bins : 2] = fb.T
        fb2[1 : 2 * bins : 2] = fb.T
        fb2[2 * bins] = cfg.log_eps
        self._fb2 = fb2.astype(np.float32)
        self._bins = bins

        scale, shift = _bn_affine(model.input_norm)
        self._norm = (scale.astype(np.float32), shift.astype(np.float32))
        shape: _Shape = (1, n_mels) if model.cfg.dims == 1 else (n_mels, 1)
        stages = _stages(model.stack, shape, np.arange(shape[1]))
        h, c = stages[-1].out_shape
        perm = np.arange(h * c)
        if model.cfg.dims == 2:  # (mel, channel) frames flattened as channels of 1-D layers
            perm = (np.arange(c)[None, :] * h + np.arange(h)[:, None]).reshape(-1)  # torch: c*h
            h, c = 1, h * c
        if model.temporal is not None:
            stages += _stages(model.temporal, (h, c), perm)
            h, c = stages[-1].out_shape
            perm = np.arange(c)
        hw = _array(model.head.proj, "weight").reshape(-1)[perm]
        if hw.size != c:
            raise ValueError("head does not match the features")
        self._head_w = hw.astype(np.float32)
        self._head_b = np.float32(_array(model.head.proj, "bias")[0])
        self._head_in = _Buf((1, c))
        self._stages = stages
        for st, nxt in zip(stages, [*[s.inp for s in stages[1:]], self._head_in], strict=True):
            nxt.produced_as(*st.out_shape)
            st.out = nxt
        self._first = stages[0].inp

        # Samples: _s[i] is absolute sample self._s0 + i, frames start every hop from _s[0].
        self._piece = _PIECE_FRAMES * self.hop
        cap = 2 * self.n_fft + (_PIECE_FRAMES + 3) * self.hop  # + a frame for even FFT pairs
        self._s = np.zeros(cap)  # float64: the window product then needs no cast
        # Shift before a push would come within two hops of the end: an odd number of new
        # frames reads one frame more (see _make_spec_views).
        self._s_cap, self._half_hop = cap - 2 * self.hop, self.hop // 2
        n_frames = (cap - self.n_fft) // self.hop + 1
        self._frames = as_strided(self._s, (n_frames, self.n_fft), (8 * self.hop, 8),
                                  writeable=False)
        self._spec_views: dict[int, tuple[Any, ...]] = {}
        self._head_bias: dict[int, F32] = {}
        self._plans: dict[tuple[int, int], list[Op]] = {}
        self._plans_allocations = -1
        self._g = -1  # offset of every buffer in a steady stream (see _plan); -1: not steady
        self.reset()

    def reset(self) -> None:
        """Forget the stream."""
        self._s0 = self.offset  # absolute index of _s[0]: the start of frame _t0
        self._t0 = 0
        self._s[: -self.offset] = 0.0  # zero padding before the first sample
        self._n = 0  # samples pushed
        self._next_frame = 0  # next frame whose spectrum is computed
        self._emitted = 0
        self._flushed = False
        self._leave_plans()
        for st in self._stages:
            st.inp.reset(st.past)
        self._head_in.reset(0)

    @property
    def n_samples(self) -> int:
        """Samples pushed since the last reset."""
        return self._n

    @property
    def next_frame(self) -> int:
        """Index of the next probability to be emitted."""
        return self._emitted

    def push(self, samples: npt.ArrayLike) -> F32:
        """Add mono samples at the model's rate; return newly decided probabilities."""
        x = np.asarray(samples, dtype=np.float32)
        if x.ndim != 1:
            x = x.reshape(-1)
        if x.size > self._piece:
            parts = [self.push(x[i : i + self._piece]) for i in range(0, x.size, self._piece)]
            return np.concatenate(parts)
        n, done = x.size, self._n
        pos = done - self._s0
        if pos + n > self._s_cap:
            pos = self._drop_samples()
        self._s[pos : pos + n] = x
        if done < self._half_hop:  # the model ignores the first half hop
            self._s[pos : pos + min(self._half_hop - done, n)] = 0.0
        self._n = done = done + n
        last = (done - self._frame_end) // self.hop + 1
        m = last - self._next_frame
        if m <= 0:
            return np.zeros(0, np.float32)
        views = self._spec_views.get(m) or self._make_spec_views(m)
        f0 = self._next_frame - self._t0
        window, win = views[0], views[1]
        np.multiply(self._frames[f0 : f0 + win.shape[0]], window, win)  # windowed frames
        self._next_frame = last
        g = self._g
        if g < 0:  # warming up: layer by layer, as far as each one's input allows
            probs = self._run_generic(m)
            if self._emitted:  # every layer has run: from now on each push moves them all by m
                self._enter_plans()
            return probs
        if g + m > _CYCLE:
            self._rebase(g)
            g = 0
        plan = self._plans.get((g, m)) or self._plan(g, m)
        for op in plan:
            op()
        self._g = g + m
        return self._head(m)

    def flush(self) -> F32:
        """End of stream: the remaining frames, with the model's end padding."""
        if self._flushed:
            return np.zeros(0, np.float32)
        self._flushed = True
        self._leave_plans()
        last = self._n // self.hop
        pos = self._drop_samples()
        need = (last - 1) * self.hop + self.offset + self.n_fft - self._s0  # end in _s
        if need > pos:
            self._s[pos:need] = 0.0  # the centred STFT's end padding
        m = last - self._next_frame
        if m > 0:
            views = self._spec_views.get(m) or self._make_spec_views(m)
            f0 = self._next_frame - self._t0
            np.multiply(self._frames[f0 : f0 + views[1].shape[0]], views[0], views[1])
            self._next_frame = last
            self._spectrum(m)
        for st in self._stages:
            st.run()
            st.inp.append_fill(st.future)
            st.run()
        return self._head(self._head_in.w)

    def _drop_samples(self) -> int:
        """Move the samples from the next frame's start to the front of the buffer; return
        the buffer position of the next sample (< n_fft: a piece and the end padding fit)."""
        pos = self._n - self._s0
        keep = (self._next_frame - self._t0) * self.hop
        if keep > 0:
            self._s[: pos - keep] = self._s[keep:pos].copy()
            self._s0 += keep
            self._t0 = self._next_frame
        return pos - keep

    def _spectrum_ops(self, m: int) -> list[Op]:
        """Log-mel of the ``m`` windowed frames, normalised, into the first buffer's rows."""
        _, win, spec, spec_f, sq, scale, shift = self._spec_views[m]
        b = self._first
        dst = b.rows[b.w : b.w + m]
        return [
            partial(_rfft, win, spec),
            partial(sq.__setitem__, Ellipsis, spec_f),  # to float32: cheaper than a casting square
            partial(np.square, sq, sq),
            partial(_dot, sq, self._fb2, dst),
            partial(np.log, dst, dst),
            partial(np.multiply, dst, scale, dst),
            partial(np.add, dst, shift, dst),
        ]

    def _spectrum(self, m: int) -> None:
        b = self._first
        if b.w + m > b.cap:
            b.make_room(m)
        for op in self._spectrum_ops(m):
            op()
        b.w += m

    def _run_generic(self, m: int) -> F32:
        self._spectrum(m)
        for st in self._stages:
            st.run()
        return self._head(self._head_in.w)

    # A steady stream: every push of m frames moves every layer by m frames, so the numpy
    # calls of a push depend only on m and on the buffers' offset g; they are built once and
    # replayed (the Python around numpy calls costs as much as the calls at 3 frames a push).

    def _enter_plans(self) -> None:
        for st in self._stages:
            b = st.inp
            if b.w - b.start != st.span:
                return  # not steady (cannot happen after a full run; generic stays correct)
        for st in self._stages:
            st.inp.make_room(0, cap=st.span + _CYCLE)  # rebase to offset 0, room for a cycle
        if self._plans_allocations != _Buf.allocations:
            self._plans.clear()  # cached views may point into replaced arrays
            self._plans_allocations = _Buf.allocations
        self._g = 0

    def _leave_plans(self) -> None:
        """Back to explicit positions (offset g, each input holding its span of history)."""
        g = self._g
        if g >= 0:
            for st in self._stages:
                st.inp.start, st.inp.w = g, g + st.span
            self._head_in.start = self._head_in.w = 0
        self._g = -1

    def _rebase(self, g: int) -> None:
        """Move every layer's history from offset g to the front of its buffer."""
        for st in self._stages:
            rows = st.inp.rows
            rows[: st.span] = rows[g : g + st.span].copy()

    def _plan(self, g: int, m: int) -> list[Op]:
        """The numpy calls of a push of m frames at offset g (positions set, then advanced)."""
        for st in self._stages:
            st.inp.start, st.inp.w = g, g + st.span
        self._head_in.start = self._head_in.w = 0
        plan = self._spectrum_ops(m)
        self._first.w += m
        for st in self._stages:
            plan += st.ops(m)
            st.inp.start += m
            st.out.w += m
        if len(self._plans) >= _MAX_PLANS:  # pushes of ever-changing sizes: bound the memory
            self._plans.clear()
        self._plans[g, m] = plan
        return plan

    def _make_spec_views(self, m: int) -> tuple[Any, ...]:
        """Scratch arrays for ``m`` frames; operands in full shape (broadcasting costs more).

        The FFT transforms pairs of frames at once: an odd count above one is rounded up (the
        extra frame, past the samples that are in, is computed and ignored).
        """
        even = m + (m % 2 if m > 1 else 0)
        window = np.ascontiguousarray(np.broadcast_to(self._win, (even, self.n_fft)), np.float64)
        win = np.zeros((even, self.n_fft))
        spec = np.zeros((even, self._bins + 1), np.complex128)
        spec[:, -1] = 1.0  # picks up log_eps in the filter product
        sq = np.zeros((m, 2 * self._bins + 2), np.float32)
        scale, shift = self._norm
        n_mels = self._fb2.shape[1]
        views = (window, win, spec[:, :-1], spec[:m].view(np.float64), sq,
                 np.ascontiguousarray(np.broadcast_to(scale, (m, n_mels))),
                 np.ascontiguousarray(np.broadcast_to(shift, (m, n_mels))))
        self._spec_views[m] = views
        return views

    def _head(self, n: int) -> F32:
        """Probabilities of the first ``n`` rows of the head's input (which is then empty)."""
        bias = self._head_bias.get(n)
        if bias is None:
            bias = self._head_bias[n] = np.full(n, self._head_b, np.float32)
        probs: F32 = _dot(self._head_in.rows[:n], self._head_w)
        np.add(probs, bias, out=probs)
        expit(probs, out=probs)
        self._head_in.w = 0
        self._emitted += n
        return probs
