"""Silero VAD as a teacher: its frame probabilities as soft training targets (distillation).

Silero VAD (MIT licence, ``pip install silero-vad``) gives one speech probability per 32 ms chunk
of 16 kHz audio. :class:`SileroTeacher` runs the package's ``silero_vad_16k_sequence.onnx``
(the same network and weights as its streaming ``silero_vad.onnx``, one call per wave, state
starting from zero) with onnxruntime on one thread, and maps the chunk probabilities onto the
student's 10 ms frames by linear interpolation between chunk centres. The package is found
without being imported (its ``__init__`` imports torch's JIT loader). A run names it with
``teacher = "silero"``; its outputs are training targets only, never test labels.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import torch

from voicecnn.errors import ConfigError

__all__ = ["SILERO", "SileroTeacher", "silero_model_path"]

SILERO = "silero"  # the teacher name that selects this teacher
SAMPLE_RATE = 16000
CHUNK = 512  # samples per Silero chunk at 16 kHz (32 ms)
CONTEXT = 64  # samples of the previous chunk each chunk sees (as the package's wrapper)
_MODEL_FILE = "silero_vad_16k_sequence.onnx"
_EPS = 1e-6


def silero_model_path() -> Path:
    """The sequence ONNX file inside the installed ``silero-vad`` package.

    Raises:
        ConfigError: If the package (or that file) is not installed.
    """
    spec = importlib.util.find_spec("silero_vad")
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError('teacher "silero" needs the silero-vad package: pip install silero-vad')
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / _MODEL_FILE
    if not path.is_file():
        raise ConfigError(f"teacher 'silero': {path} is missing (silero-vad 6 or later needed)")
    return path


def chunk_inputs(wave: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """The sequence model's input for one wave: ``(n_chunks, 64 + 512)``.

    The last chunk is zero-padded (as the package does); the first sees 64 zeros of context.
    """
    n_chunks = max(1, -(-wave.size // CHUNK))
    padded = np.zeros(n_chunks * CHUNK, np.float32)
    padded[: wave.size] = wave
    chunks = padded.reshape(n_chunks, CHUNK)
    context = np.zeros((n_chunks, CONTEXT), np.float32)
    context[1:] = chunks[:-1, -CONTEXT:]
    return np.concatenate([context, chunks], axis=1)


def chunks_to_frames(
    chunk_probs: npt.NDArray[np.float32], n_frames: int, frame_hop: int
) -> npt.NDArray[np.float32]:
    """Chunk probabilities linearly interpolated at the centres of ``n_frames`` frames.

    Chunk ``i`` sits at sample ``512 i + 256``, frame ``t`` at ``frame_hop * (t + 0.5)``;
    frames before the first or past the last chunk centre take that chunk's value.
    """
    centres = CHUNK * np.arange(chunk_probs.size) + CHUNK / 2
    frames = frame_hop * (np.arange(n_frames) + 0.5)
    out: npt.NDArray[np.float32] = np.interp(frames, centres, chunk_probs).astype(np.float32)
    return out


class SileroTeacher:
    """Silero VAD's speech logits on the student's frames, for :func:`~.vad.teacher_targets`.

    Called like a model on ``(B, S)`` 16 kHz audio, it returns ``(B, S // frame_hop)`` logits
    (of the interpolated probabilities, clipped to ``[1e-6, 1 - 1e-6]``) on the input's device.

    Args:
        frame_hop: The student's frame hop, samples at 16 kHz.

    Raises:
        ConfigError: If silero-vad or onnxruntime is not installed.
    """

    sample_rate = SAMPLE_RATE

    def __init__(self, frame_hop: int) -> None:
        try:
            import onnxruntime as ort
        except ImportError as e:
            raise ConfigError('teacher "silero" needs onnxruntime: pip install onnxruntime') from e
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1
        opts.inter_op_num_threads = 1
        self.frame_hop = frame_hop
        self.frame_hop_s = frame_hop / SAMPLE_RATE
        self.path = silero_model_path()
        self._session: Any = ort.InferenceSession(
            str(self.path), sess_options=opts, providers=["CPUExecutionProvider"]
        )

    def probs(self, wave: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        """Silero's probability per 32 ms chunk of one 16 kHz wave, from a zero state."""
        zeros = np.zeros((1, 1, 128), np.float32)
        out = self._session.run(None, {"input": chunk_inputs(wave), "h": zeros, "c": zeros})
        return np.asarray(out[0], np.float32).reshape(-1)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """Logits ``(B, S // frame_hop)`` of Silero's probabilities on ``x`` ``(B, S)``."""
        waves = x.detach().float().cpu().numpy()
        n_frames = waves.shape[1] // self.frame_hop
        p = np.stack([chunks_to_frames(self.probs(w), n_frames, self.frame_hop) for w in waves])
        p = np.clip(p, _EPS, 1.0 - _EPS)
        return torch.from_numpy(np.log(p) - np.log1p(-p)).to(x.device)
