"""Torch-free half of :mod:`voicecnn.net.frontend`: settings, mel filters, and the log-mel step.

The mel matrix is built in code (Slaney mel scale and area normalisation, as librosa's defaults),
so no data files are needed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
import numpy.typing as npt
from numpy.lib.stride_tricks import as_strided

from voicecnn.net.layers.step import Buf, LayerSpec, Op, Params, SampleStep, Shape

__all__ = ["FrontendCfg", "LogMelSpec", "LogMelStep", "hz_to_mel", "mel_bands", "mel_filterbank",
           "mel_to_hz"]

F32 = npt.NDArray[np.float32]


@dataclass(frozen=True)
class FrontendCfg:
    """Settings of the log-mel frontend.

    Attributes:
        sample_rate: Input sample rate in Hz.
        n_fft: FFT size and window length in samples (400 = 25 ms at 16 kHz).
        hop_length: Samples between frames (160 = 10 ms at 16 kHz).
        n_mels: Number of mel bands.
        f_min_hz: Lowest band edge in Hz.
        f_max_hz: Highest band edge in Hz; ``None`` means half the sample rate.
        log_eps: Added to the mel power before the log, so silence stays finite.
    """

    sample_rate: int = 16000
    n_fft: int = 400
    hop_length: int = 160
    n_mels: int = 64
    f_min_hz: float = 0.0
    f_max_hz: float | None = None
    log_eps: float = 1e-6

    def __post_init__(self) -> None:
        if self.sample_rate <= 0 or self.n_fft <= 0 or self.hop_length <= 0 or self.n_mels <= 0:
            raise ValueError("sample_rate, n_fft, hop_length and n_mels must be positive")
        if self.hop_length > self.n_fft:
            raise ValueError("hop_length must not exceed n_fft")

    @property
    def hop_s(self) -> float:
        """Seconds between frames."""
        return self.hop_length / self.sample_rate


def hz_to_mel(hz: np.ndarray) -> np.ndarray:
    """Slaney mel scale: linear below 1 kHz, logarithmic above (librosa's default)."""
    hz = np.asarray(hz, dtype=np.float64)
    f_sp = 200.0 / 3
    min_log_hz, min_log_mel, logstep = 1000.0, 1000.0 / f_sp, math.log(6.4) / 27.0
    mel = hz / f_sp
    log_part = min_log_mel + np.log(np.maximum(hz, 1e-10) / min_log_hz) / logstep
    return np.where(hz >= min_log_hz, log_part, mel)


def mel_to_hz(mel: np.ndarray) -> np.ndarray:
    """Inverse of :func:`hz_to_mel`."""
    mel = np.asarray(mel, dtype=np.float64)
    f_sp = 200.0 / 3
    min_log_hz, min_log_mel, logstep = 1000.0, 1000.0 / f_sp, math.log(6.4) / 27.0
    return np.where(
        mel >= min_log_mel, min_log_hz * np.exp(logstep * (mel - min_log_mel)), f_sp * mel
    )


def mel_filterbank(
    sample_rate: int, n_fft: int, n_mels: int, f_min_hz: float = 0.0, f_max_hz: float | None = None
) -> np.ndarray:
    """Triangular mel filters with Slaney area normalisation.

    Returns:
        float32 array of shape (n_mels, n_fft // 2 + 1).
    """
    f_max = sample_rate / 2 if f_max_hz is None else f_max_hz
    fft_hz = np.linspace(0, sample_rate / 2, n_fft // 2 + 1)
    mel_hz = mel_to_hz(np.linspace(hz_to_mel(np.array(f_min_hz)), hz_to_mel(np.array(f_max)),
                                   n_mels + 2))
    fdiff = np.diff(mel_hz)
    ramps = mel_hz[:, None] - fft_hz[None, :]
    lower = -ramps[:-2] / fdiff[:-1, None]
    upper = ramps[2:] / fdiff[1:, None]
    weights = np.maximum(0, np.minimum(lower, upper))
    weights *= (2.0 / (mel_hz[2 : n_mels + 2] - mel_hz[:n_mels]))[:, None]
    return weights.astype(np.float32)


_BANDED_FRAMES = 16
"""Frames from which the mel filters are applied band by band (see :class:`LogMelStep`)."""


def mel_bands(fb: np.ndarray, n_bands: int = 8) -> list[tuple[int, int, int, int]]:
    """Mel filters in ``n_bands`` groups of neighbours, each with the FFT bins it covers.

    Args:
        fb: Filters (n_mels, bins), as :func:`mel_filterbank` makes them.
        n_bands: Number of groups.

    Returns:
        (first mel, end mel, first bin, end bin) per group: outside those bins, the group's
        filters are zero.
    """
    out = []
    for group in np.array_split(np.arange(fb.shape[0]), min(n_bands, fb.shape[0])):
        nz = np.flatnonzero(fb[group].any(axis=0))
        lo, hi = (int(nz[0]), int(nz[-1]) + 1) if nz.size else (0, 1)
        out.append((int(group[0]), int(group[-1]) + 1, lo, hi))
    return out


def hann_window(n: int) -> np.ndarray:
    """Periodic Hann window of ``n`` samples (``torch.hann_window``), float32."""
    return (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n) / n)).astype(np.float32)


@dataclass(frozen=True)
class LogMelSpec(LayerSpec):
    """Waveform -> log-mel frames, frame ``t`` centred on the middle of samples
    ``[t * hop, (t + 1) * hop)`` (zero padding at both ends); no tensors (rebuilt from ``cfg``).

    The torch module is :class:`voicecnn.net.frontend.FrameLogMel`.
    """

    cfg: FrontendCfg

    def step(self, params: Params, shape: Shape) -> LogMelStep:
        """A :class:`LogMelStep` (its input is samples, not frames)."""
        return LogMelStep(self.cfg)


class LogMelStep(SampleStep):
    """Samples in, log-mel frames out (into ``out``, a :class:`Buf` of (1, n_mels) frames).

    STFT frame ``t`` spans ``x[t * hop + offset : ... + n_fft]``, with ``x[: hop // 2]`` read as
    zeros (the torch model drops that half hop before its centred STFT). ``push`` stores
    samples and windows the frames they complete; ``ops(m)`` then computes those ``m``: one
    real FFT (float64: a float32 FFT is several times less accurate than torch's), the power
    spectrum (a cast, a square, a sum of the real and imaginary halves), the mel filters, one
    log. A few frames (a stream) take one product with the whole filter matrix, ``log_eps``
    riding along as a constant FFT column; many (a file) take one product per band of mel
    filters over the FFT bins they cover (the filters are triangles: the whole matrix is ~97 %
    zeros for 64 mels), then ``log_eps`` is added.
    """

    out: Buf

    def __init__(self, cfg: FrontendCfg, *, piece_frames: int = 15) -> None:
        self.hop, self.n_fft = cfg.hop_length, cfg.n_fft
        self.out_shape: Shape = (1, cfg.n_mels)
        self.offset = self.hop // 2 - self.n_fft // 2
        self._frame_end = self.offset + self.n_fft  # frame t needs samples < t * hop + this
        self._win = hann_window(self.n_fft).astype(np.float64)
        fb = mel_filterbank(cfg.sample_rate, cfg.n_fft, cfg.n_mels, cfg.f_min_hz, cfg.f_max_hz)
        bins = fb.shape[1]
        # |X|^2 summed by the filters, then log_eps times the constant (1 + 0j) column the
        # FFT output carries (its power is 1).
        self._fb = np.ascontiguousarray(
            np.concatenate([fb.T, np.full((1, cfg.n_mels), cfg.log_eps, np.float32)]))
        self._bands = mel_bands(fb)
        self._eps = np.float32(cfg.log_eps)
        self._bins = bins
        self.set_piece(piece_frames)

    def set_piece(self, piece_frames: int) -> None:
        """Longest push handled at once, in frames (sizes the sample buffer)."""
        self.piece = piece_frames * self.hop
        cap = 2 * self.n_fft + (piece_frames + 3) * self.hop
        self._s = np.zeros(cap)  # float64: the window product then needs no cast
        # Shift before a push would come within two hops of the end.
        self._s_cap, self._half_hop = cap - 2 * self.hop, self.hop // 2
        n_frames = (cap - self.n_fft) // self.hop + 1
        self._frames = as_strided(self._s, (n_frames, self.n_fft), (8 * self.hop, 8),
                                  writeable=False)
        self._views: dict[int, tuple[Any, ...]] = {}
        self.reset()

    def reset(self) -> None:
        """Forget the stream."""
        self._s0 = self.offset  # absolute index of _s[0]: the start of frame _t0
        self._t0 = 0
        self._s[: -self.offset] = 0.0  # zero padding before the first sample
        self.n_samples = 0
        self.next_frame = 0  # next frame whose spectrum is computed

    def push(self, x: F32) -> int:
        """Store samples (at most ``piece``); window the frames they complete; return how many."""
        n, done = x.size, self.n_samples
        pos = done - self._s0
        if pos + n > self._s_cap:
            pos = self._drop_samples()
        self._s[pos : pos + n] = x
        if done < self._half_hop:  # the model ignores the first half hop
            self._s[pos : pos + min(self._half_hop - done, n)] = 0.0
        self.n_samples = done = done + n
        last = (done - self._frame_end) // self.hop + 1
        return self._window(last - self.next_frame)

    def flush(self) -> int:
        """End of stream: window the last frames, with the STFT's end padding."""
        last = self.n_samples // self.hop
        pos = self._drop_samples()
        need = (last - 1) * self.hop + self.offset + self.n_fft - self._s0  # end in _s
        if need > pos:
            self._s[pos:need] = 0.0
        return self._window(last - self.next_frame)

    def _window(self, m: int) -> int:
        if m <= 0:
            return 0
        views = self._views.get(m) or self._make_views(m)
        f0 = self.next_frame - self._t0
        np.multiply(self._frames[f0 : f0 + m], views[0], views[1])
        self.next_frame += m
        return m

    def _drop_samples(self) -> int:
        """Move the samples from the next frame's start to the front of the buffer; return
        the buffer position of the next sample."""
        pos = self.n_samples - self._s0
        keep = (self.next_frame - self._t0) * self.hop
        if keep > 0:
            self._s[: pos - keep] = self._s[keep:pos].copy()
            self._s0 += keep
            self._t0 = self.next_frame
        return pos - keep

    def _make_views(self, m: int) -> tuple[Any, ...]:
        """Scratch arrays for ``m`` frames; operands in full shape (broadcasting costs more)."""
        window = np.ascontiguousarray(np.broadcast_to(self._win, (m, self.n_fft)))
        win = np.zeros((m, self.n_fft))
        spec = np.zeros((m, self._bins + 1), np.complex128)
        spec[:, -1] = 1.0  # picks up log_eps in the filter product
        sq = np.zeros((m, 2 * self._bins + 2), np.float32)
        power = np.zeros((m, self._bins + 1), np.float32)
        eps = np.full((m, self._fb.shape[1]), self._eps, np.float32)
        views = (window, win, spec[:, :-1], spec.view(np.float64), sq, power, eps)
        self._views[m] = views
        return views

    def ops(self, m: int) -> list[Op]:
        """Log-mel of the ``m`` frames windowed last, into ``out`` at its write position."""
        _, win, spec, spec_f, sq, power, eps = self._views.get(m) or self._make_views(m)
        dst = self.out.rows[self.out.w : self.out.w + m]
        ops: list[Op] = [
            partial(np.fft.rfft, win, axis=1, out=spec),
            partial(sq.__setitem__, Ellipsis, spec_f),  # to float32: cheaper than a casting square
            partial(np.square, sq, sq),
            partial(np.add, sq[:, 0::2], sq[:, 1::2], power),
        ]
        if m < _BANDED_FRAMES:  # one call: at a few frames, calls cost more than arithmetic
            ops.append(partial(power.dot, self._fb, dst))
        else:
            ops += [partial(np.matmul, power[:, lo:hi], self._fb[lo:hi, b0:b1], out=dst[:, b0:b1])
                    for b0, b1, lo, hi in self._bands]
            ops.append(partial(np.add, dst, eps, dst))
        ops.append(partial(np.log, dst, dst))
        return ops
