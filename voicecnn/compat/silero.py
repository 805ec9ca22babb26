"""Silero VAD's functions, with its names, arguments, units and return types, on voicecnn's rules.

A script written for Silero VAD runs on a voicecnn model by changing its imports::

    from voicecnn.compat.silero import (VADIterator, collect_chunks, get_speech_timestamps,
                                        read_audio)
    import voicecnn

    model = voicecnn.load_model()                        # instead of load_silero_vad()
    wav = read_audio("talk.wav", sampling_rate=16000)    # 1-D float32 torch tensor
    speech = get_speech_timestamps(wav, model, sampling_rate=16000)  # [{'start': 4000, ...}]
    only_speech = collect_chunks(speech, wav)

Every function here converts its arguments and calls the one implementation of the rules
(:class:`voicecnn.DetectCfg`, :func:`voicecnn.detect_wave`, :class:`voicecnn.detection.stream.
StreamingDetector`): there is no second copy of them. What differs from Silero VAD:

* any sample rate (resampled to the model's rate), not 8 and 16 kHz only;
* frames of the model's hop (10 ms for the bundled models) rather than 32 ms windows, so
  boundaries fall on a finer grid;
* :class:`VADIterator` takes chunks of any length and its events pair up into exactly the
  segments :func:`get_speech_timestamps` returns for the same audio and arguments (Silero's
  iterator applies other rules than its offline function: no minimum speech length, no maximum);
  an event is reported once no later audio can change it, so it comes some frames after its
  time, and a chunk may settle more than one event (the next calls return them in turn);
* ``max_speech_duration_s`` splits at the least speech-like frame, not at the longest silence.
"""

from __future__ import annotations

import math
import os
from collections import deque
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from voicecnn.detection.frames import DetectCfg, detect_wave
from voicecnn.errors import AudioError, ConfigError
from voicecnn.io.audio import load_audio

if TYPE_CHECKING:
    import torch

    from voicecnn.detection.stream import SpeechEvent

__all__ = [
    "VADIterator",
    "collect_chunks",
    "drop_chunks",
    "get_speech_timestamps",
    "read_audio",
    "save_audio",
]


def read_audio(path: str | os.PathLike[str], sampling_rate: int = 16000) -> torch.Tensor:
    """Silero's ``read_audio``: a file as a 1-D float32 tensor, mono, at ``sampling_rate``.

    Any file libsndfile decodes (WAV, FLAC, OGG, Opus, MP3, ...); channels are averaged and the
    rate converted with soxr. (:func:`voicecnn.read_audio` is another function: the file as
    stored, native rate and all channels.)

    Raises:
        AudioError: If the file cannot be read.
    """
    import torch

    return torch.from_numpy(load_audio(path, sampling_rate))


def save_audio(path: str | os.PathLike[str], tensor: Any, sampling_rate: int = 16000) -> None:
    """Silero's ``save_audio``: 1-D (or (1, S)) samples in [-1, 1] to a 16-bit PCM file."""
    import soundfile

    samples = _mono(tensor, "tensor")
    soundfile.write(os.fspath(path), samples, int(sampling_rate), subtype="PCM_16")


def _to_numpy(x: Any) -> npt.NDArray[Any]:
    if hasattr(x, "detach"):  # a torch tensor, on any device
        x = x.detach().cpu().numpy()
    return np.asarray(x)


def _mono(audio: Any, name: str = "audio") -> npt.NDArray[np.float32]:
    """1-D float32 samples from a tensor, array or list; size-1 dimensions are squeezed away
    (Silero's rule: audio of more than one dimension is refused)."""
    try:
        array = _to_numpy(audio)
    except (TypeError, ValueError) as e:
        raise AudioError(f"{name} cannot be read as samples: {e}") from e
    if array.ndim > 1:
        array = array.reshape([n for n in array.shape if n != 1] or [1])
    if array.ndim != 1:
        raise AudioError(
            f"{name} has shape {tuple(array.shape)}: one dimension expected (mix a "
            "multichannel signal to mono first, e.g. wav.mean(0))"
        )
    if array.dtype.kind not in "fiu":
        raise AudioError(f"{name} must hold numbers, got dtype {array.dtype}")
    if array.dtype.kind in "iu":
        from voicecnn.io.audio import prepare_audio  # integer PCM scaled as everywhere else

        return prepare_audio(array, 1, target_rate=1)
    return array.astype(np.float32, copy=False)


def _detect_cfg(
    *,
    threshold: float,
    neg_threshold: float | None,
    min_speech_duration_ms: float,
    min_silence_duration_ms: float,
    speech_pad_ms: float,
    max_speech_duration_s: float,
) -> DetectCfg:
    """Silero's arguments (milliseconds) as voicecnn's settings (seconds).

    Silero's ``max_speech_duration_s`` bounds a chunk with its padding; voicecnn's
    ``max_segment_s`` bounds it before padding, so two pads are taken off.
    """
    pad_s = speech_pad_ms / 1000
    max_segment_s: float | None = None
    if not math.isinf(max_speech_duration_s):
        max_segment_s = max_speech_duration_s - 2 * pad_s
        if not max_segment_s > 0:
            raise ConfigError(
                f"max_speech_duration_s ({max_speech_duration_s}) must exceed twice "
                f"speech_pad_ms ({speech_pad_ms} ms)"
            )
    return DetectCfg(
        threshold=threshold,
        neg_threshold=neg_threshold,
        min_speech_s=min_speech_duration_ms / 1000,
        min_silence_s=min_silence_duration_ms / 1000,
        pad_s=pad_s,
        max_segment_s=max_segment_s,
    )


def _model(model: Any) -> Any:
    """A loaded model, or one loaded from a name or path (``None``: the default model)."""
    if model is None or isinstance(model, str | os.PathLike):
        from voicecnn.net.checkpoint import load_model

        return load_model(None if model is None else os.fspath(model))
    return model


def _check_rate(sampling_rate: int) -> int:
    if isinstance(sampling_rate, bool) or not isinstance(sampling_rate, int | np.integer):
        raise ConfigError(f"sampling_rate must be an integer number of Hz, got {sampling_rate!r}")
    if sampling_rate <= 0:
        raise ConfigError(f"sampling_rate must be positive, got {sampling_rate}")
    return int(sampling_rate)


def _stamp(
    time_s: float, sampling_rate: int, n_samples: int, *, seconds: bool, time_resolution: int
) -> int | float:
    """A time as Silero reports it: a sample index within the audio, or seconds rounded to
    ``time_resolution`` decimals."""
    sample = min(max(round(time_s * sampling_rate), 0), n_samples)
    if seconds:
        return round(sample / sampling_rate, time_resolution)
    return int(sample)


def get_speech_timestamps(
    audio: Any,
    model: Any,
    threshold: float = 0.5,
    sampling_rate: int = 16000,
    min_speech_duration_ms: int = 250,
    max_speech_duration_s: float = float("inf"),
    min_silence_duration_ms: int = 100,
    speech_pad_ms: int = 30,
    return_seconds: bool = False,
    time_resolution: int = 1,
    visualize_probs: bool = False,
    progress_tracking_callback: Callable[[float], None] | None = None,
    neg_threshold: float | None = None,
    window_size_samples: int = 512,
    min_silence_at_max_speech: float = 98,
    use_max_poss_sil_at_max_speech: bool = True,
) -> list[dict[str, int | float]]:
    """Silero's ``get_speech_timestamps``: the speech chunks of ``audio``.

    The arguments and defaults are Silero's; the rules are :func:`voicecnn.detect`'s with
    ``DetectCfg(threshold, neg_threshold, min_speech_s=min_speech_duration_ms / 1000,
    min_silence_s=min_silence_duration_ms / 1000, pad_s=speech_pad_ms / 1000,
    max_segment_s=max_speech_duration_s - 2 * pad_s)``, whose defaults are Silero's too.

    Args:
        audio: Samples at ``sampling_rate``: a 1-D torch tensor, numpy array or list (size-1
            dimensions are squeezed); int PCM is scaled to [-1, 1).
        model: A voicecnn model (:func:`voicecnn.load_model`), or a bundled name or path to
            load; ``None`` for the default model.
        threshold: Speech starts where the probability reaches this.
        sampling_rate: Rate of ``audio`` in Hz: any rate (resampled to the model's).
        min_speech_duration_ms: Shorter chunks are dropped.
        max_speech_duration_s: Longest chunk, padding included; longer speech is split at its
            least speech-like frame.
        min_silence_duration_ms: Shorter pauses do not end a chunk.
        speech_pad_ms: Added at both ends of each chunk (neighbours meet half-way).
        return_seconds: Times in seconds (rounded to ``time_resolution`` decimals) instead of
            sample indices at ``sampling_rate``.
        time_resolution: Decimals of the times in seconds.
        visualize_probs: Not supported (``voicecnn plot`` draws the probabilities); must be
            False.
        progress_tracking_callback: Called with 100.0 once the audio is processed.
        neg_threshold: Speech ends where the probability falls below this; ``None`` =
            ``max(threshold - 0.15, 0.01)``.
        window_size_samples: Ignored, as in Silero (deprecated there).
        min_silence_at_max_speech: Ignored: voicecnn splits at the least speech-like frame.
        use_max_poss_sil_at_max_speech: Ignored, likewise.

    Returns:
        ``[{'start': ..., 'end': ...}, ...]`` in time order, sample indices (int) or seconds.

    Raises:
        AudioError: If ``audio`` is not 1-D samples.
        ConfigError: For invalid settings.
    """
    del window_size_samples, min_silence_at_max_speech, use_max_poss_sil_at_max_speech
    if visualize_probs:
        raise ConfigError("visualize_probs is not supported: `voicecnn plot FILE` draws them")
    rate = _check_rate(sampling_rate)
    cfg = _detect_cfg(
        threshold=threshold,
        neg_threshold=neg_threshold,
        min_speech_duration_ms=min_speech_duration_ms,
        min_silence_duration_ms=min_silence_duration_ms,
        speech_pad_ms=speech_pad_ms,
        max_speech_duration_s=max_speech_duration_s,
    )
    wave = _mono(audio)
    result = detect_wave(_model(model), wave, cfg, sample_rate=rate)
    if progress_tracking_callback is not None:
        progress_tracking_callback(100.0)
    return [
        {
            key: _stamp(t, rate, wave.size, seconds=return_seconds, time_resolution=time_resolution)
            for key, t in (("start", seg.start), ("end", seg.end))
        }
        for seg in result.segments
    ]


class VADIterator:
    """Silero's ``VADIterator``: feed chunks, get ``{'start': ...}`` / ``{'end': ...}`` events.

    Built on :class:`voicecnn.detection.stream.StreamingDetector`: chunks may have any length (not
    only 512 samples), and the events pair up into exactly the chunks :func:`get_speech_timestamps`
    returns for the same audio and arguments. An event is returned once no later audio can change it
    (some frames after its time); when one call settles several, the next calls return them in turn,
    and :meth:`flush` ends the stream and returns what is left.

    Args:
        model: A voicecnn model, or a bundled name or path to load (``None``: the default).
        threshold: Speech starts where the probability reaches this.
        sampling_rate: Rate of the chunks in Hz: any rate.
        min_silence_duration_ms: Shorter pauses do not end speech.
        speech_pad_ms: Added at both ends of each chunk of speech.
        min_speech_duration_ms: Shorter speech reports no event (not in Silero's iterator,
            which has no minimum; 250 = :func:`get_speech_timestamps`' default).
        neg_threshold: Speech ends below this; ``None`` = ``max(threshold - 0.15, 0.01)``.
        max_speech_duration_s: As in :func:`get_speech_timestamps` (not in Silero's iterator).
    """

    def __init__(
        self,
        model: Any,
        threshold: float = 0.5,
        sampling_rate: int = 16000,
        min_silence_duration_ms: int = 100,
        speech_pad_ms: int = 30,
        *,
        min_speech_duration_ms: int = 250,
        neg_threshold: float | None = None,
        max_speech_duration_s: float = float("inf"),
    ) -> None:
        from voicecnn.detection.stream import StreamingDetector

        self.model = _model(model)
        self.threshold = threshold
        self.sampling_rate = _check_rate(sampling_rate)
        cfg = _detect_cfg(
            threshold=threshold,
            neg_threshold=neg_threshold,
            min_speech_duration_ms=min_speech_duration_ms,
            min_silence_duration_ms=min_silence_duration_ms,
            speech_pad_ms=speech_pad_ms,
            max_speech_duration_s=max_speech_duration_s,
        )
        self._detector = StreamingDetector(self.model, cfg, sample_rate=self.sampling_rate)
        self._pending: deque[SpeechEvent] = deque()
        self.reset_states()

    def reset_states(self) -> None:
        """Forget the stream: the next call starts a new one at sample 0."""
        self._detector.reset()
        self._pending.clear()
        self.triggered = False  # inside speech (after a 'start' returned, before its 'end')
        self.current_sample = 0  # samples fed since the last reset

    def _as_dict(
        self, event: SpeechEvent, *, return_seconds: bool, time_resolution: int
    ) -> dict[str, int | float]:
        self.triggered = event.kind == "start"
        stamp = _stamp(event.time_s, self.sampling_rate, self.current_sample,
                       seconds=return_seconds, time_resolution=time_resolution)
        return {event.kind: stamp}

    def __call__(
        self, x: Any, return_seconds: bool = False, time_resolution: int = 1
    ) -> dict[str, int | float] | None:
        """Feed one chunk (1-D, or (1, S)); return the next settled event, or ``None``.

        Args:
            x: Samples at ``sampling_rate``, any length.
            return_seconds: The time in seconds (rounded to ``time_resolution`` decimals)
                instead of a sample index.
            time_resolution: Decimals of the time in seconds.
        """
        chunk = _mono(x, "x")
        self.current_sample += chunk.size
        self._pending.extend(self._detector.feed(chunk).events)
        if not self._pending:
            return None
        event = self._pending.popleft()
        return self._as_dict(event, return_seconds=return_seconds, time_resolution=time_resolution)

    def flush(
        self, return_seconds: bool = False, time_resolution: int = 1
    ) -> list[dict[str, int | float]]:
        """End of stream (not in Silero): every event not yet returned, an open chunk's end
        included; the next call starts a new stream at sample 0."""
        self._pending.extend(self._detector.flush().events)
        out = [self._as_dict(e, return_seconds=return_seconds, time_resolution=time_resolution)
               for e in self._pending]
        self.reset_states()
        return out


def _sample_spans(
    tss: Sequence[dict[str, Any]], seconds: bool, sampling_rate: int | None
) -> list[tuple[int, int]]:
    if seconds and not sampling_rate:
        raise ConfigError("sampling_rate must be provided when seconds is True")
    if not seconds:
        return [(int(ts["start"]), int(ts["end"])) for ts in tss]
    assert sampling_rate is not None
    return [(round(ts["start"] * sampling_rate), round(ts["end"] * sampling_rate)) for ts in tss]


def _concat(pieces: list[Any], wav: Any) -> Any:
    if hasattr(wav, "detach"):
        import torch

        return torch.cat(pieces) if pieces else wav[:0]
    return np.concatenate(pieces) if pieces else np.asarray(wav)[:0]


def collect_chunks(
    tss: Sequence[dict[str, Any]], wav: Any, seconds: bool = False, sampling_rate: int | None = None
) -> Any:
    """Silero's ``collect_chunks``: the audio of the chunks ``tss``, joined.

    Args:
        tss: ``[{'start': ..., 'end': ...}]`` as :func:`get_speech_timestamps` returns.
        wav: 1-D samples (torch tensor or numpy array; the result is of the same kind).
        seconds: ``tss`` holds seconds (then ``sampling_rate`` is needed) rather than samples.
            A time becomes sample ``round(t * sampling_rate)`` (Silero rounds the seconds
            first, to whole seconds).
        sampling_rate: Rate of ``wav`` in Hz.

    Raises:
        ConfigError: If ``seconds`` is True without ``sampling_rate``.
    """
    spans = _sample_spans(tss, seconds, sampling_rate)
    return _concat([wav[a:b] for a, b in spans], wav)


def drop_chunks(
    tss: Sequence[dict[str, Any]], wav: Any, seconds: bool = False, sampling_rate: int | None = None
) -> Any:
    """Silero's ``drop_chunks``: the audio outside the chunks ``tss`` (the trailing part after
    the last chunk included, which Silero leaves out). Arguments as :func:`collect_chunks`."""
    spans = _sample_spans(tss, seconds, sampling_rate)
    pieces, start = [], 0
    for a, b in spans:
        pieces.append(wav[start:a])
        start = b
    pieces.append(wav[start:])
    return _concat(pieces, wav)
