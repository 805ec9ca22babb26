"""Pictures of a detection: waveform, log-mel spectrogram, speech probability, segments.

Needs matplotlib, an optional extra (``pip install 'voicecnn[plot]'``), imported when a plot is
drawn. Files of any length give a readable picture in bounded memory: the audio is read block by
block and every panel is pooled to at most ``max_columns`` columns (the waveform to a min/max
envelope, the spectrogram to mean mel power, the probability to a min/max band).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from voicecnn.detection.frames import DetectCfg, Detection
from voicecnn.detection.segments import Segment
from voicecnn.errors import VoiceCNNError
from voicecnn.io.audio import iter_audio, prepare_audio
from voicecnn.net.frontend_spec import FrontendCfg, hann_window, mel_filterbank

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["plot_detection", "require_matplotlib"]

_MISSING = "matplotlib is not installed: pip install 'voicecnn[plot]'"
_BLOCK_S = 60.0  # seconds of audio read (and turned into a spectrogram) at a time
_DYNAMIC_RANGE = math.log(1e8)  # 80 dB of mel power shown below the loudest column
# Tick spacings in seconds, chosen to read well as seconds or as h:mm:ss.
_TICK_STEPS_S = (0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200,
                 10800, 21600, 43200, 86400)
_SPEECH_COLOR = "tab:green"

_Array = npt.NDArray[np.float32]


def require_matplotlib() -> ModuleType:
    """Import matplotlib or explain how to install it.

    Returns:
        The matplotlib module.

    Raises:
        VoiceCNNError: If matplotlib is not installed.
    """
    try:
        import matplotlib
    except ImportError as e:
        raise VoiceCNNError(_MISSING) from e
    return matplotlib


class _Pool:
    """Reduces a stream of rows (axis 0) to columns of ``size`` rows each; the last may be short.

    Args:
        size: Rows per column.
        reduce: Maps rows grouped as (n_columns, size, ...) to (n_columns, ...).
    """

    def __init__(self, size: int, reduce: Callable[[_Array], _Array]) -> None:
        self.size, self.reduce = max(1, size), reduce
        self._columns: list[_Array] = []
        self._rest: _Array = np.zeros(0, np.float32)  # rows not yet in a column

    def push(self, rows: _Array) -> None:
        """Add rows; every complete column is reduced at once."""
        if self._rest.shape[0]:
            rows = np.concatenate([self._rest, rows])
        n = rows.shape[0] // self.size * self.size
        if n:
            self._columns.append(self.reduce(rows[:n].reshape(-1, self.size, *rows.shape[1:])))
        self._rest = rows[n:]

    def result(self) -> _Array:
        """All columns, shaped (n_columns, ...), the incomplete last one included."""
        if self._rest.shape[0]:
            self._columns.append(self.reduce(self._rest[None]))
            self._rest = self._rest[:0]
        if not self._columns:
            return self.reduce(np.zeros((0, 1, *self._rest.shape[1:]), np.float32))
        return np.concatenate(self._columns)


def _min_max(rows: _Array) -> _Array:
    return np.stack([rows.min(axis=1), rows.max(axis=1)], axis=-1)


def _mean(rows: _Array) -> _Array:
    return np.asarray(rows.mean(axis=1, dtype=np.float32))


class _MelFrames:
    """Mel power frames of a stream of blocks, equal to one whole-signal
    :meth:`voicecnn.LogMel.power_mel` run (in numpy, no torch).

    Frame ``t`` is centred on sample ``t * hop_length`` with zero padding before the start and
    after the end (``center=True``).
    """

    def __init__(self, cfg: FrontendCfg) -> None:
        self.cfg = cfg
        self.window = hann_window(cfg.n_fft)
        self.fb = mel_filterbank(cfg.sample_rate, cfg.n_fft, cfg.n_mels, cfg.f_min_hz,
                                 cfg.f_max_hz).T
        self.hop, self.half = cfg.hop_length, cfg.n_fft // 2
        self.lead = -(-self.half // self.hop)  # whole hops of context a window reaches back
        # buf[0] is at global sample (next_frame - lead) * hop; it starts as the zero padding.
        self._buf = np.zeros(self.lead * self.hop, np.float32)

    def push(self, block: _Array) -> _Array:
        """Add samples; return the frames (T, M) whose windows are now complete."""
        self._buf = np.concatenate([self._buf, block])
        last = (self._buf.size - self.half) // self.hop  # last frame whose window fits
        if last < self.lead:
            return np.zeros((0, self.cfg.n_mels), np.float32)
        # Frame lead + t starts at buf[t * hop + lead * hop - half].
        start = self.lead * self.hop - self.half
        starts = start + self.hop * np.arange(last + 1 - self.lead)
        windows = self._buf[starts[:, None] + np.arange(self.cfg.n_fft)] * self.window
        spec = np.fft.rfft(windows, axis=1)
        frames: _Array = ((spec.real**2 + spec.imag**2) @ self.fb).astype(np.float32)
        self._buf = self._buf[(last + 1 - self.lead) * self.hop :]
        return frames

    def flush(self) -> _Array:
        """The frames left at the end of the signal (windows reaching past it see zeros)."""
        return self.push(np.zeros(self.half, np.float32))


def _blocks(
    audio: str | os.PathLike[str] | npt.ArrayLike, sample_rate: int | None, rate: int
) -> Iterator[_Array]:
    """Mono float32 blocks of ``audio`` at ``rate``, at most ``_BLOCK_S`` seconds each."""
    if isinstance(audio, str | os.PathLike):
        yield from iter_audio(audio, rate, block_s=_BLOCK_S)
        return
    mono = prepare_audio(audio, rate if sample_rate is None else sample_rate, target_rate=rate)
    step = round(_BLOCK_S * rate)
    for i in range(0, mono.size, step):
        yield mono[i : i + step]


def _pooled_audio(
    blocks: Iterable[_Array], n_samples: int, max_columns: int, frontend: FrontendCfg
) -> tuple[_Array, int, _Array, int]:
    """Waveform envelope and mean mel power, pooled to about ``max_columns`` columns.

    Returns:
        ``(envelope (C, 2), samples per column, mel power (C', M), frames per column)``.
    """
    per_wave = math.ceil(max(n_samples, 1) / max_columns)
    per_mel = math.ceil((n_samples // frontend.hop_length + 1) / max_columns)
    wave_pool, mel_pool = _Pool(per_wave, _min_max), _Pool(per_mel, _mean)
    mel = _MelFrames(frontend)
    for block in blocks:
        wave_pool.push(block)
        mel_pool.push(mel.push(block))
    mel_pool.push(mel.flush())
    return wave_pool.result(), per_wave, mel_pool.result(), per_mel


def _tick_step(span_s: float) -> float:
    """A spacing from ``_TICK_STEPS_S`` giving at most about 12 ticks over ``span_s``."""
    return next((s for s in _TICK_STEPS_S if span_s / s <= 12), _TICK_STEPS_S[-1])


def _clock(t: float, _pos: object = None) -> str:
    """Seconds as ``m:ss`` or ``h:mm:ss``."""
    whole = round(t)
    h, rest = divmod(abs(whole), 3600)
    text = f"{h}:{rest // 60:02d}:{rest % 60:02d}" if h else f"{rest // 60}:{rest % 60:02d}"
    return f"-{text}" if whole < 0 else text


def _shade(ax: Axes, segments: list[Segment], *, band: tuple[float, float] = (0.0, 1.0),
           alpha: float = 0.18, zorder: float = 0.0) -> None:
    """Shade the segments over ``band`` (axes fraction) of ``ax``, as one fast collection."""
    from matplotlib.collections import PolyCollection

    lo, hi = band
    verts = [[(s.start, lo), (s.start, hi), (s.end, hi), (s.end, lo)] for s in segments]
    shades = PolyCollection(verts, transform=ax.get_xaxis_transform(), facecolors=_SPEECH_COLOR,
                            edgecolors="none", alpha=alpha, zorder=zorder)
    ax.add_collection(shades, autolim=False)


def _band(ax: Axes, edges: _Array, low_high: _Array, **style: Any) -> None:
    """Fill between the columns' low and high values (``low_high`` (C, 2)), as steps."""
    ends = np.concatenate([low_high, low_high[-1:]])  # the last column holds to its right edge
    ax.fill_between(edges, ends[:, 0], ends[:, 1], step="post", **style)


def _edges(n_columns: int, per_column: int, step_s: float, end_s: float) -> _Array:
    """Column edges in seconds; the last (short) column ends at ``end_s``."""
    edges = np.arange(n_columns + 1, dtype=np.float64) * per_column * step_s
    if n_columns:
        edges[-1] = max(min(edges[-1], end_s), edges[-2])
    return edges.astype(np.float32)


def plot_detection(
    audio: str | os.PathLike[str] | npt.ArrayLike,
    detection: Detection,
    out_path: str | os.PathLike[str],
    *,
    cfg: DetectCfg = DetectCfg(),
    sample_rate: int | None = None,
    title: str | None = None,
    max_columns: int = 2000,
) -> Path:
    """Draw the waveform, log-mel spectrogram and speech probability with the segments shaded.

    Three panels share the time axis; the thresholds are horizontal lines on the probability
    panel; time reads in seconds for short audio and as ``h:mm:ss`` for long audio. A file is
    read block by block, so memory stays bounded for recordings of hours.

    Args:
        audio: The audio the detection was made on: a file path, or samples shaped (S,) or
            (S, C) at ``sample_rate``.
        detection: The result of :func:`voicecnn.detect_file` (or ``detect_wave``) on ``audio``.
        out_path: Image file to write; the format follows its suffix (png, svg, pdf, ...).
        cfg: The settings used for the detection (its thresholds are drawn).
        sample_rate: Rate of ``audio`` in Hz when it is an array; ``None`` = 16000.
        title: Figure title; ``None`` = the file name and a summary of the segments.
        max_columns: Most data points per panel across the time axis.

    Returns:
        ``out_path`` as a :class:`~pathlib.Path`.

    Raises:
        VoiceCNNError: If matplotlib is missing or the image cannot be written.
        AudioError: If the audio cannot be read.
    """
    require_matplotlib()
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter, MultipleLocator

    frontend = FrontendCfg()
    rate = frontend.sample_rate
    duration_s = detection.duration_s
    envelope, per_wave, mel, per_mel = _pooled_audio(
        _blocks(audio, sample_rate, rate), round(duration_s * rate), max_columns, frontend
    )
    probs = _Pool(math.ceil(max(detection.probs.size, 1) / max_columns), _min_max)
    probs.push(np.asarray(detection.probs, np.float32))
    prob_band = probs.result()
    rules = cfg.rules(detection.frame_hop_s)

    fig = Figure(figsize=(14, 7.5), dpi=100)
    fig.subplots_adjust(left=0.06, right=0.99, bottom=0.07, top=0.94, hspace=0.08)
    ax_wave, ax_mel, ax_prob = fig.subplots(3, 1, sharex=True, height_ratios=(1.0, 1.4, 1.0))
    edges = _edges(envelope.shape[0], per_wave, 1 / rate, duration_s)
    _band(ax_wave, edges, envelope, color="tab:blue", linewidth=0.6)
    peak = max(float(np.abs(envelope).max(initial=0.0)), 1e-4)
    ax_wave.set_ylim(-1.05 * peak, 1.05 * peak)
    ax_wave.set_ylabel("amplitude")

    log_mel = np.log(mel.T + frontend.log_eps)  # (M, columns)
    top = float(log_mel.max(initial=0.0))
    ax_mel.imshow(log_mel, origin="lower", aspect="auto", interpolation="nearest", cmap="magma",
                  extent=(0.0, mel.shape[0] * per_mel * frontend.hop_s, 0.0, frontend.n_mels),
                  vmin=max(float(log_mel.min(initial=top)), top - _DYNAMIC_RANGE), vmax=top)
    ax_mel.set_ylabel("mel band")

    if prob_band.shape[0]:  # audio shorter than a frame has no probabilities
        p_edges = _edges(prob_band.shape[0], probs.size, detection.frame_hop_s, duration_s)
        _band(ax_prob, p_edges, prob_band, color="tab:purple", alpha=0.35, linewidth=0)
        ax_prob.step(p_edges, np.append(prob_band[:, 1], prob_band[-1:, 1]), where="post",
                     color="tab:purple", linewidth=0.9)
    ax_prob.axhline(rules.onset, color="tab:red", linestyle="--", linewidth=1,
                    label=f"threshold {rules.onset:g}")
    ax_prob.axhline(rules.offset, color="tab:orange", linestyle=":", linewidth=1,
                    label=f"neg. threshold {rules.offset:g}")
    ax_prob.set_ylim(-0.02, 1.02)
    ax_prob.set_ylabel("speech prob.")
    ax_prob.legend(loc="upper right", fontsize="small", framealpha=0.8)

    for ax in (ax_wave, ax_prob):
        _shade(ax, detection.segments)
    # The spectrogram is opaque: mark the segments as a bar along its top edge instead.
    _shade(ax_mel, detection.segments, band=(0.95, 1.0), alpha=0.9, zorder=3.0)
    ax_prob.set_xlim(0.0, max(duration_s, 1e-3))
    ax_prob.xaxis.set_major_locator(MultipleLocator(_tick_step(duration_s)))
    if duration_s >= 120:
        ax_prob.xaxis.set_major_formatter(FuncFormatter(_clock))
        ax_prob.set_xlabel("time (h:mm:ss)" if duration_s >= 3600 else "time (m:ss)")
    else:
        ax_prob.set_xlabel("time (s)")
    fig.suptitle(title if title is not None else _summary(detection), x=0.06, ha="left")
    out = Path(out_path)
    try:
        fig.savefig(out)
    except (OSError, ValueError) as e:
        raise VoiceCNNError(f"cannot write plot '{out}': {e}") from e
    return out


def _summary(det: Detection) -> str:
    speech = sum(s.duration for s in det.segments)
    share = speech / det.duration_s if det.duration_s > 0 else 0.0
    name = Path(det.path).name if det.path else "audio"
    return (f"{name}: {len(det.segments)} speech segment(s), {speech:.1f} s of "
            f"{det.duration_s:.1f} s ({share:.0%})")
