"""From audio to speech segments: frame probabilities, then pure post-processing.

Frame probabilities come from the model's own stream when it has one (``model.stream()``: the
numpy engine of :class:`voicecnn.net.engine.NumpyVad`, what :func:`voicecnn.load_model` returns,
each frame computed once, no torch), else from :class:`FrameProbStream`, which runs a torch
model (or an ONNX one) over chunks of any size: each call gets enough past and future context
(the model's receptive field) that its trimmed output equals a whole-file run. Either way, files
of any length are processed in bounded memory with the same result, and streams equal files.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from voicecnn.detection.segments import Segment, SegmentRules, check_rule_s
from voicecnn.errors import ConfigError
from voicecnn.io.audio import iter_audio, prepare_audio
from voicecnn.net.engine import FILE_PIECE

if TYPE_CHECKING:
    import torch

__all__ = [
    "DetectCfg",
    "Detection",
    "FrameModel",
    "FrameProbStream",
    "FrameStream",
    "detect",
    "detect_file",
    "detect_wave",
    "frame_probs",
    "frame_stream",
]


class FrameModel(Protocol):
    """What detection needs of a model: waveform (B, S) -> logits (B, S // hop_length).

    A model with a ``stream()`` method (the numpy engine's) is run through it instead.
    """

    @property
    def sample_rate(self) -> int: ...  # noqa: D102

    @property
    def hop_length(self) -> int: ...  # noqa: D102

    @property
    def frame_hop_s(self) -> float: ...  # noqa: D102

    context_frames: tuple[int, int]

    def __call__(self, wave: Any) -> Any: ...  # noqa: D102


class FrameStream(Protocol):
    """Incremental frame probabilities: what :class:`FrameProbStream` and the numpy engine's
    :class:`~voicecnn.net.engine.FrameEngine` both are."""

    @property
    def n_samples(self) -> int: ...  # noqa: D102

    @property
    def next_frame(self) -> int: ...  # noqa: D102

    def push(self, samples: np.ndarray) -> np.ndarray: ...  # noqa: D102

    def flush(self) -> np.ndarray: ...  # noqa: D102

    def reset(self) -> None: ...  # noqa: D102


def frame_stream(model: FrameModel, *, chunk_s: float = 30.0, file: bool = False) -> FrameStream:
    """The model's own frame stream if it has one, else a :class:`FrameProbStream`.

    Args:
        model: A frame model.
        chunk_s: Largest stretch of audio per model call of a :class:`FrameProbStream`.
        file: Tune the numpy engine for long pushes (files) rather than small chunks.
    """
    if file and callable(getattr(model, "file_stream", None)):
        return model.file_stream()  # type: ignore[attr-defined,no-any-return]
    stream = getattr(model, "stream", None)
    if callable(stream):
        return stream(piece_frames=FILE_PIECE) if file else stream()  # type: ignore[no-any-return]
    return FrameProbStream(model, chunk_s=chunk_s)


@dataclass(frozen=True)
class DetectCfg:
    """Post-processing settings (seconds and probabilities).

    Attributes:
        threshold: Speech starts where the probability reaches this (onset).
        neg_threshold: Speech ends where the probability falls below this (offset);
            ``None`` = ``threshold - 0.15``.
        min_speech_s: Shorter speech segments are dropped.
        min_silence_s: Shorter pauses inside speech are filled.
        pad_s: Seconds added at both ends of each segment.
        max_segment_s: Longer segments are split at their least speech-like frame; ``None``
            = no limit.
        chunk_s: Seconds of audio per model call (bounds memory; does not change results).
    """

    threshold: float = 0.5
    neg_threshold: float | None = None
    min_speech_s: float = 0.25
    min_silence_s: float = 0.1
    pad_s: float = 0.03
    max_segment_s: float | None = None
    chunk_s: float = 30.0

    def __post_init__(self) -> None:
        # Every value checked here, so each command and the library share one check and a bad
        # value fails before any audio is read.
        if not 0.0 <= self.threshold <= 1.0:
            raise ConfigError(f"threshold must be in [0, 1], got {self.threshold}")
        if self.neg_threshold is not None and not 0.0 <= self.neg_threshold <= self.threshold:
            raise ConfigError(
                f"neg_threshold must be in [0, threshold = {self.threshold}], "
                f"got {self.neg_threshold}"
            )
        check_rule_s(self.min_speech_s, "min_speech_s")
        check_rule_s(self.min_silence_s, "min_silence_s")
        check_rule_s(self.pad_s, "pad_s")
        if self.max_segment_s is not None:
            check_rule_s(self.max_segment_s, "max_segment_s", positive=True)
        if not (math.isfinite(self.chunk_s) and 0 < self.chunk_s <= 3600):
            raise ConfigError(f"chunk_s must be in (0, 3600] seconds, got {self.chunk_s}")

    def rules(self, frame_hop_s: float) -> SegmentRules:
        """These settings in whole frames of ``frame_hop_s`` seconds (validated)."""
        return SegmentRules.from_seconds(
            frame_hop_s, onset=self.threshold, offset=self.neg_threshold,
            min_speech_s=self.min_speech_s, min_silence_s=self.min_silence_s, pad_s=self.pad_s,
            max_segment_s=self.max_segment_s,
        )

    def segments(self, probs: np.ndarray, frame_hop_s: float, duration_s: float) -> list[Segment]:
        """Apply these rules to frame probabilities."""
        return self.rules(frame_hop_s).apply(probs, duration_s)


@dataclass
class Detection:
    """Result of detection on one input.

    Attributes:
        segments: Speech segments in seconds.
        probs: Speech probability per frame, shape (T,).
        frame_hop_s: Seconds per frame; frame t covers [t * frame_hop_s, (t + 1) * frame_hop_s).
        duration_s: Duration of the audio in seconds.
    """

    segments: list[Segment]
    probs: np.ndarray
    frame_hop_s: float
    duration_s: float
    path: str | None = field(default=None)

    def to_dict(self, *, frames: bool = False) -> dict[str, object]:
        """JSON-ready dict: path, duration_s, frame_hop_s, segments (and probabilities)."""
        out: dict[str, object] = {
            "path": self.path,
            "duration_s": round(self.duration_s, 3),
            "frame_hop_s": self.frame_hop_s,
            "segments": [s.to_dict() for s in self.segments],
        }
        if frames:
            out["probabilities"] = [round(float(p), 4) for p in self.probs]
        return out


class FrameProbStream:
    """Incremental frame probabilities: ``push`` audio of any length, ``flush`` at the end.

    The probabilities equal a single model call over the whole audio (within float rounding),
    for every way of cutting the audio into chunks.

    Args:
        model: A frame model in eval mode, at its own sample rate.
        chunk_s: Largest stretch of audio per model call, in seconds (memory bound).
    """

    def __init__(self, model: FrameModel, *, chunk_s: float = 30.0) -> None:
        self.model = model
        self.hop = model.hop_length
        past, future = model.context_frames
        # One extra frame each side is a safety margin for the STFT's window overlap.
        self.past, self.future = past + 1, future + 1
        self.chunk_frames = max(1, round(chunk_s / model.frame_hop_s))
        self.reset()

    def reset(self) -> None:
        """Forget all audio: the next ``push`` starts a new stream."""
        self._buf = np.zeros(0, dtype=np.float32)
        self._buf_start = 0  # absolute sample index of _buf[0] (a multiple of hop)
        self._n_samples = 0  # samples pushed so far
        self._next_frame = 0  # first frame not yet emitted

    @property
    def n_samples(self) -> int:
        """Samples pushed since the last reset."""
        return self._n_samples

    @property
    def next_frame(self) -> int:
        """Index of the next frame to be emitted."""
        return self._next_frame

    def push(self, samples: np.ndarray) -> np.ndarray:
        """Add mono float32 samples at the model's rate; return the newly decided probabilities."""
        samples = np.asarray(samples, dtype=np.float32).reshape(-1)
        self._buf = np.concatenate([self._buf, samples]) if self._buf.size else samples.copy()
        self._n_samples += samples.size
        ready = self._n_samples // self.hop - self.future
        return self._emit(ready, final=False)

    def flush(self) -> np.ndarray:
        """Emit the frames left at the end of the stream (the end is a true edge)."""
        return self._emit(self._n_samples // self.hop, final=True)

    def _emit(self, end_frame: int, *, final: bool) -> np.ndarray:
        outs = []
        while self._next_frame < end_frame:
            stop = min(end_frame, self._next_frame + self.chunk_frames)
            outs.append(self._run(self._next_frame, stop, final=final and stop == end_frame))
            self._next_frame = stop
            keep_from = max(0, (self._next_frame - self.past) * self.hop)
            if keep_from > self._buf_start:
                self._buf = self._buf[keep_from - self._buf_start :]
                self._buf_start = keep_from
        return np.concatenate(outs) if outs else np.zeros(0, dtype=np.float32)

    def _run(self, start: int, stop: int, *, final: bool) -> np.ndarray:
        import torch

        first = max(0, start - self.past)
        end_sample = self._n_samples if final else (stop + self.future) * self.hop
        lo, hi = first * self.hop - self._buf_start, end_sample - self._buf_start
        x = torch.from_numpy(np.ascontiguousarray(self._buf[lo:hi]))[None]
        with torch.inference_mode():
            logits = self.model(x.to(_device_of(self.model)))[0]
            probs = torch.sigmoid(logits.float()).cpu().numpy()
        return probs[start - first : stop - first]


def _device_of(model: object) -> torch.device:
    import torch

    params = getattr(model, "parameters", None)
    if params is not None:
        for p in params():
            return p.device  # type: ignore[no-any-return]
    return torch.device("cpu")


def frame_probs(model: FrameModel, wave: np.ndarray, *, chunk_s: float = 30.0) -> np.ndarray:
    """Speech probability per frame of ``wave`` (mono float at ``model.sample_rate``).

    Returns:
        float32 array of shape (len(wave) // model.hop_length,).
    """
    own = getattr(model, "frame_probs", None)
    if callable(own):  # the numpy engine: the same stream, reused between files
        return own(np.asarray(wave, dtype=np.float32))  # type: ignore[no-any-return]
    stream = frame_stream(model, chunk_s=chunk_s, file=True)
    return _run_stream(stream, [np.asarray(wave, dtype=np.float32)])


def _run_stream(stream: FrameStream, blocks: Iterable[np.ndarray]) -> np.ndarray:
    parts = [stream.push(b) for b in blocks]
    parts.append(stream.flush())
    return np.concatenate(parts)


def detect(
    model: FrameModel,
    wave: np.ndarray,
    cfg: DetectCfg = DetectCfg(),
    *,
    sample_rate: int | None = None,
) -> list[Segment]:
    """Speech segments of ``wave``.

    Args:
        model: A frame model, e.g. from :func:`voicecnn.load_model`.
        wave: Audio samples, (S,) or (S, C), float or int; mixed to mono.
        cfg: Post-processing settings.
        sample_rate: Rate of ``wave`` in Hz; ``None`` means ``model.sample_rate``.

    Returns:
        Segments in seconds.
    """
    return detect_wave(model, wave, cfg, sample_rate=sample_rate).segments


def detect_wave(
    model: FrameModel,
    wave: np.ndarray,
    cfg: DetectCfg = DetectCfg(),
    *,
    sample_rate: int | None = None,
) -> Detection:
    """Like :func:`detect` but also returns the frame probabilities."""
    rate = model.sample_rate if sample_rate is None else sample_rate
    mono = prepare_audio(wave, rate, target_rate=model.sample_rate)
    probs = frame_probs(model, mono, chunk_s=cfg.chunk_s)
    duration_s = mono.size / model.sample_rate
    return Detection(cfg.segments(probs, model.frame_hop_s, duration_s), probs,
                     model.frame_hop_s, duration_s)


def detect_file(
    model: FrameModel, path: str | Path, cfg: DetectCfg = DetectCfg(), *, block_s: float = 10.0
) -> Detection:
    """Detect speech in an audio file, reading and resampling it block by block.

    Memory stays bounded by ``cfg.chunk_s`` and ``block_s`` whatever the file's length.

    Raises:
        AudioError: If the file cannot be read.
    """
    stream = frame_stream(model, chunk_s=cfg.chunk_s, file=True)
    probs = _run_stream(stream, iter_audio(path, model.sample_rate, block_s=block_s))
    duration_s = stream.n_samples / model.sample_rate
    done = getattr(model, "done", None)
    if callable(done):
        done(stream)
    segs = cfg.segments(probs, model.frame_hop_s, duration_s)
    return Detection(segs, probs, model.frame_hop_s, duration_s, path=str(path))
