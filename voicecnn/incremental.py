"""Incremental inference of a :class:`~voicecnn.models.VadCnn`: every frame is computed once.

:class:`~voicecnn.detection.FrameProbStream` re-runs the torch model over each chunk plus its
receptive field, which is exact but costs ~70 frames of work per 10 ms frame when chunks are
small. Here each layer keeps the history it needs (its past padding, its dilated taps), so a
32 ms chunk costs 3 frames of work. The arithmetic is numpy, with batch norm folded into the
convolutions; the torch model stays the reference and tests hold the two equal (1e-4).

Zero padding at the start of the stream is the initial history; at the end, ``flush`` appends
each layer's future padding, so the output equals the whole-file torch pass exactly.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import torch
from torch import nn

from voicecnn.layers.conv import ConvNormAct, ConvStack
from voicecnn.models.vad import VadCnn

__all__ = ["IncrementalVad"]

F32 = npt.NDArray[np.float32]


def _array(module: nn.Module, name: str) -> npt.NDArray[np.float64]:
    """A parameter or buffer of ``module`` as a float64 numpy array."""
    value = getattr(module, name, None)
    if not isinstance(value, torch.Tensor):
        raise ValueError(f"{type(module).__name__} has no tensor {name!r}")
    return value.detach().double().cpu().numpy()


def _bn_affine(bn: nn.Module) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Eval-mode batch norm as ``x * scale + shift`` (per channel)."""
    eps = float(getattr(bn, "eps", 1e-5))
    scale = _array(bn, "weight") / np.sqrt(_array(bn, "running_var") + eps)
    return scale, _array(bn, "bias") - _array(bn, "running_mean") * scale


def _fold_bn(conv: nn.Module, bn: nn.Module) -> tuple[F32, F32]:
    """Conv weight (C_out, -1) and bias (C_out, 1) with an eval-mode batch norm folded in."""
    w = _array(conv, "weight")
    scale, shift = _bn_affine(bn)
    if isinstance(getattr(conv, "bias", None), torch.Tensor):
        shift = shift + _array(conv, "bias") * scale
    w = w.reshape(w.shape[0], -1) * scale[:, None]
    return w.astype(np.float32), shift[:, None].astype(np.float32)


def _parts(block: ConvNormAct) -> tuple[nn.Module, nn.Conv1d | nn.Conv2d, nn.Module]:
    pad, conv, bn, _ = block
    if not isinstance(conv, nn.Conv1d | nn.Conv2d):
        raise ValueError("unexpected ConvNormAct layout")
    return pad, conv, bn


class _Layer:
    """One layer along time: input history, padding, and how to compute outputs."""

    past: int
    future: int
    fill: float

    def reset(self, shape: tuple[int, ...]) -> None:
        self.hist = np.full((*shape, self.past), self.fill, np.float32)

    def push(self, x: F32) -> F32:
        """Append input frames (..., m); return the outputs now computable."""
        self.hist = np.concatenate([self.hist, x], axis=-1)
        span = self.past + self.future
        n_out = max(self.hist.shape[-1] - span, 0)
        out = self.compute(self.hist, n_out)
        self.hist = self.hist[..., n_out:]
        return out

    def flush(self) -> F32:
        """The stream ended: the future padding arrives."""
        pad = np.full((*self.hist.shape[:-1], self.future), self.fill, np.float32)
        return self.push(pad)

    def compute(self, hist: F32, n_out: int) -> F32:
        raise NotImplementedError


class _Conv1d(_Layer):
    def __init__(self, block: ConvNormAct) -> None:
        _, conv, bn = _parts(block)
        self.past, self.future = block.time_padding
        self.fill = 0.0
        self.w, self.b = _fold_bn(conv, bn)
        self.k, self.d = int(conv.kernel_size[0]), int(conv.dilation[0])
        self.c_out = int(conv.out_channels)
        self._idx: dict[int, npt.NDArray[np.intp]] = {}

    def compute(self, hist: F32, n_out: int) -> F32:
        idx = self._idx.get(n_out)
        if idx is None:
            idx = np.arange(n_out)[None, :] + (np.arange(self.k) * self.d)[:, None]
            self._idx[n_out] = idx
        cols = hist[:, idx].reshape(hist.shape[0] * self.k, n_out)  # torch's weight order
        out: F32 = self.w @ cols
        out += self.b
        return np.maximum(out, 0.0, out=out)


class _Conv2d(_Layer):
    def __init__(self, block: ConvNormAct) -> None:
        pad, conv, bn = _parts(block)
        self.past, self.future = block.time_padding
        if not isinstance(pad, nn.ZeroPad2d):
            raise ValueError("unexpected ConvNormAct layout")
        self.top, self.bottom = int(pad.padding[2]), int(pad.padding[3])
        self.fill = 0.0
        self.w, self.b = _fold_bn(conv, bn)
        self.kh, self.kw = int(conv.kernel_size[0]), int(conv.kernel_size[1])
        self.d = int(conv.dilation[1])
        self._idx: dict[tuple[int, int], tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]] = {}

    def push(self, x: F32) -> F32:
        return super().push(np.pad(x, ((0, 0), (self.top, self.bottom), (0, 0))))

    def flush(self) -> F32:
        c, hp, _ = self.hist.shape
        return self.push(np.zeros((c, hp - self.top - self.bottom, self.future), np.float32))

    def reset(self, shape: tuple[int, ...]) -> None:
        c, h = shape
        super().reset((c, h + self.top + self.bottom))

    def compute(self, hist: F32, n_out: int) -> F32:
        c, hp, _ = hist.shape
        h_out = hp - self.kh + 1
        key = (h_out, n_out)
        if key not in self._idx:
            rows = np.arange(h_out)[None, :, None] + np.arange(self.kh)[:, None, None]
            taps = np.arange(n_out)[None, None, :] + (np.arange(self.kw) * self.d)[:, None, None]
            self._idx[key] = (rows[:, None, :, :], taps[None, :, :, :])
        rows, taps = self._idx[key]
        # cols[c, a, i, h, t] = hist[c, h + a, t + i*d]
        cols = hist[:, rows, taps].reshape(c * self.kh * self.kw, h_out * n_out)
        out: F32 = self.w @ cols
        out += self.b
        np.maximum(out, 0.0, out=out)
        return out.reshape(self.w.shape[0], h_out, n_out)


class _RunningMax(_Layer):
    """MaxPool1d(k, stride=1, padding=k//2): -inf padding at both ends."""

    def __init__(self, pool: nn.MaxPool1d) -> None:
        ks = pool.kernel_size
        k = int(ks if isinstance(ks, int) else ks[0])
        self.k = k
        self.past = self.future = k // 2
        self.fill = -np.inf

    def compute(self, hist: F32, n_out: int) -> F32:
        out = hist[..., :n_out].copy()
        for i in range(1, self.k):  # k is small: shifted maxima beat window views here
            np.maximum(out, hist[..., i : i + n_out], out=out)
        return out


class _MelPool(_Layer):
    """MaxPool2d((p, 1)) along mel only: no time context."""

    def __init__(self, pool: nn.MaxPool2d) -> None:
        ks = pool.kernel_size
        self.p = int(ks if isinstance(ks, int) else ks[0])
        self.past = self.future = 0
        self.fill = 0.0

    def compute(self, hist: F32, n_out: int) -> F32:
        c, h, t = hist.shape
        h2 = h // self.p
        out: F32 = hist[:, : h2 * self.p].reshape(c, h2, self.p, t).max(2)
        return out


def _layers(stack: ConvStack) -> list[_Layer]:
    out: list[_Layer] = []
    for m in stack.layers:
        if isinstance(m, ConvNormAct):
            out.append(_Conv1d(m) if stack.dims == 1 else _Conv2d(m))
        elif isinstance(m, nn.MaxPool1d):
            out.append(_RunningMax(m))
        elif isinstance(m, nn.MaxPool2d):
            ks, st = m.kernel_size, m.stride
            if not (isinstance(ks, tuple) and ks[1] == 1 and st == ks):
                raise ValueError("incremental inference supports max-pooling along mel only")
            out.append(_MelPool(m))
        else:
            raise ValueError(f"incremental inference does not support {type(m).__name__}")
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
        self.sample_rate, self.hop = cfg.sample_rate, cfg.hop_length
        self.frame_hop_s = cfg.hop_s
        self.n_fft, self.log_eps = cfg.n_fft, cfg.log_eps
        self.window = _array(model.frontend, "window").astype(np.float32)
        self.mel_fb = _array(model.frontend, "mel_fb").astype(np.float32)
        scale, shift = _bn_affine(model.input_norm)
        self.norm_scale = scale[:, None].astype(np.float32)
        self.norm_shift = shift[:, None].astype(np.float32)
        self.dims = model.cfg.dims
        self.n_mels = cfg.n_mels
        self.stack = _layers(model.stack)
        self.temporal = _layers(model.temporal) if model.temporal is not None else []
        self.head_w = _array(model.head.proj, "weight").reshape(1, -1).astype(np.float32)
        self.head_b = float(_array(model.head.proj, "bias")[0])
        # The STFT window of frame t spans x[t*hop + hop//2 - n_fft//2 : ... + n_fft], with
        # x[: hop//2] read as zeros (the torch model drops that half hop before its STFT).
        self.offset = self.hop // 2 - self.n_fft // 2
        self.lookahead_frames = model.context_frames[1]
        self._frame_idx: dict[int, npt.NDArray[np.intp]] = {}
        self.reset()

    def reset(self) -> None:
        """Forget the stream."""
        self._x = np.zeros(-self.offset if self.offset < 0 else 0, np.float32)  # zero padding
        self._x_start = self.offset  # absolute index of _x[0] (negative = padding)
        self._n_samples = 0
        self._next_frame = 0  # next frame whose spectrum is computed
        self._emitted = 0
        shape: tuple[int, ...] = (self.n_mels,) if self.dims == 1 else (1, self.n_mels)
        for layer in self.stack:
            layer.reset(shape)
            shape = self._out_shape(layer, shape)
        for layer in self.temporal:
            layer.reset(shape if self.dims == 1 else (int(np.prod(shape)),))
            shape = self._out_shape(layer, shape if self.dims == 1 else (int(np.prod(shape)),))

    @staticmethod
    def _out_shape(layer: _Layer, shape: tuple[int, ...]) -> tuple[int, ...]:
        if isinstance(layer, _Conv1d):
            return (layer.c_out,)
        if isinstance(layer, _Conv2d):
            return (int(layer.w.shape[0]), shape[1])
        if isinstance(layer, _MelPool):
            return (shape[0], shape[1] // layer.p)
        return shape

    @property
    def n_samples(self) -> int:
        """Samples pushed since the last reset."""
        return self._n_samples

    @property
    def next_frame(self) -> int:
        """Index of the next probability to be emitted."""
        return self._emitted

    def push(self, samples: npt.ArrayLike) -> F32:
        """Add mono samples at the model's rate; return newly decided probabilities."""
        x = np.asarray(samples, dtype=np.float32).reshape(-1)
        dropped = self.hop // 2 - self._n_samples  # the model ignores the first half hop
        if dropped > 0:
            x = x.copy()
            x[:dropped] = 0.0
        self._x = np.concatenate([self._x, x])
        self._n_samples += x.size
        return self._run(self._spectra(final=False), final=False)

    def flush(self) -> F32:
        """End of stream: the remaining frames, with the model's end padding."""
        return self._run(self._spectra(final=True), final=True)

    def _spectra(self, *, final: bool) -> F32:
        """Normalised log-mel frames (n_mels, m) whose samples (or end padding) are all in."""
        n_total = self._n_samples // self.hop
        end = self._x_start + self._x.size
        if final:
            need = (n_total - 1) * self.hop + self.offset + self.n_fft
            if need > end:
                self._x = np.concatenate([self._x, np.zeros(need - end, np.float32)])
            last = n_total
        else:
            last = min(n_total, (end - self.offset - self.n_fft) // self.hop + 1)
        m = last - self._next_frame
        if m <= 0:
            return np.zeros((self.n_mels, 0), np.float32)
        base = self._next_frame * self.hop + self.offset - self._x_start
        idx = self._frame_idx.get(m)
        if idx is None:
            idx = self._frame_idx[m] = np.arange(m)[:, None] * self.hop + np.arange(self.n_fft)
        frames = self._x[base + idx]
        frames *= self.window
        spec = np.fft.rfft(frames, axis=1)
        power = np.square(spec.real, dtype=np.float32)
        power += np.square(spec.imag, dtype=np.float32)
        mel = self.mel_fb @ power.T
        mel += np.float32(self.log_eps)
        mel = np.log(mel, out=mel)
        self._next_frame = last
        drop = self._next_frame * self.hop + self.offset - self._x_start
        if drop > 0:
            self._x = self._x[drop:]
            self._x_start += drop
        mel *= self.norm_scale
        mel += self.norm_shift
        return mel

    def _run(self, x: F32, *, final: bool) -> F32:
        if self.dims == 2:
            x = x[None]
        x = self._through(self.stack, x, final=final)
        if self.dims == 2:
            x = x.reshape(x.shape[0] * x.shape[1], x.shape[2])
        x = self._through(self.temporal, x, final=final)
        logits = self.head_w @ x + self.head_b
        probs: F32 = (1.0 / (1.0 + np.exp(-logits[0]))).astype(np.float32)
        self._emitted += probs.size
        return probs

    @staticmethod
    def _through(layers: list[_Layer], x: F32, *, final: bool) -> F32:
        for layer in layers:
            x = layer.push(x)
            if final:
                x = np.concatenate([x, layer.flush()], axis=-1)
        return x
