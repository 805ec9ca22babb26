"""Silero VAD 6 through its ONNX model and bare onnxruntime (one thread).

Each call takes 512 new samples (32 ms) plus the last 64 samples of the previous call as context,
and carries the recurrent state, exactly as the package's own ``OnnxWrapper`` does. The default
operating point is ``get_speech_timestamps`` with its defaults (threshold 0.5, neg_threshold
0.35, min speech 250 ms, min silence 100 ms, pad 30 ms), re-implemented on the probabilities so
that torch is never imported.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

from peers.grid import SAMPLE_RATE, Bool, Float32, segments_to_mask, to_grid

CHUNK = 512
CONTEXT = 64


def model_path() -> Path:
    """The ``silero_vad.onnx`` inside the installed package (found without importing it)."""
    spec = importlib.util.find_spec("silero_vad")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("silero-vad is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "data" / "silero_vad.onnx"


def speech_timestamps(
    probs: list[float], n_samples: int, *, threshold: float = 0.5, min_speech_ms: int = 250,
    min_silence_ms: int = 100, pad_ms: int = 30,
) -> list[tuple[int, int]]:
    """Silero's ``get_speech_timestamps`` (without a maximum length) on 512-sample chunk scores.

    Returns:
        ``(start, end)`` sample indices of the speech segments.
    """
    neg_threshold = max(threshold - 0.15, 0.01)
    min_speech = SAMPLE_RATE * min_speech_ms / 1000
    min_silence = SAMPLE_RATE * min_silence_ms / 1000
    pad = SAMPLE_RATE * pad_ms / 1000
    speeches: list[list[int]] = []
    start, temp_end, triggered = 0, 0, False
    for i, prob in enumerate(probs):
        sample = CHUNK * i
        if prob >= threshold and temp_end:
            temp_end = 0
        if prob >= threshold and not triggered:
            triggered, start = True, sample
            continue
        if prob < neg_threshold and triggered:
            if not temp_end:
                temp_end = sample
            if sample - temp_end < min_silence:
                continue
            if temp_end - start > min_speech:
                speeches.append([start, temp_end])
            temp_end, triggered = 0, False
    if triggered and n_samples - start > min_speech:
        speeches.append([start, n_samples])
    for i, speech in enumerate(speeches):  # padding, splitting short pauses between neighbours
        if i == 0:
            speech[0] = int(max(0, speech[0] - pad))
        if i == len(speeches) - 1:
            speech[1] = int(min(n_samples, speech[1] + pad))
            continue
        silence = speeches[i + 1][0] - speech[1]
        if silence < 2 * pad:
            speech[1] += int(silence // 2)
            speeches[i + 1][0] = int(max(0, speeches[i + 1][0] - silence // 2))
        else:
            speech[1] = int(min(n_samples, speech[1] + pad))
            speeches[i + 1][0] = int(max(0, speeches[i + 1][0] - pad))
    return [(s, e) for s, e in speeches]


class Silero:
    """Silero VAD: one probability per 32 ms chunk."""

    chunk_samples = CHUNK

    def __init__(self) -> None:
        import onnxruntime as ort  # here, not at the top: speech_timestamps needs only numpy

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1
        opts.inter_op_num_threads = 1
        self.path = model_path()
        self.session = ort.InferenceSession(str(self.path), sess_options=opts,
                                            providers=["CPUExecutionProvider"])
        self._sr = np.array(SAMPLE_RATE, dtype=np.int64)
        self.reset()

    def reset(self) -> None:
        """Zero state and context."""
        self._state = np.zeros((2, 1, 128), np.float32)
        self._context = np.zeros((1, CONTEXT), np.float32)

    def step(self, chunk: Float32) -> float:
        """Speech probability of the next 512 samples."""
        x = np.concatenate([self._context, chunk.reshape(1, CHUNK)], axis=1)
        out, self._state = self.session.run(None, {"input": x, "state": self._state,
                                                   "sr": self._sr})
        self._context = x[:, -CONTEXT:]
        return float(out[0, 0])

    def feed(self, chunk: Float32) -> None:
        """One streaming step."""
        self.step(chunk)

    def process(self, wave: Float32) -> tuple[Float32, Bool]:
        """Chunk probabilities (last chunk zero-padded, as the package does) and segments."""
        self.reset()
        n = wave.size
        padded = np.zeros(-(-n // CHUNK) * CHUNK, np.float32)
        padded[:n] = wave
        probs = [self.step(c) for c in padded.reshape(-1, CHUNK)]
        segments = [(s / SAMPLE_RATE, e / SAMPLE_RATE) for s, e in speech_timestamps(probs, n)]
        n_frames = n // 160
        return to_grid(probs, CHUNK, n_frames), segments_to_mask(segments, n_frames)

    def files(self) -> list[Path]:
        """The ONNX model."""
        return [self.path]
