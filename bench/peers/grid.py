"""The common 10 ms grid, and the interface every VAD adapter implements (numpy + stdlib only).

Frame ``t`` of the grid covers samples ``[160 t, 160 (t + 1))`` at 16 kHz. A VAD whose native
frames are longer is mapped by taking, for each grid frame, the native frame that covers the grid
frame's centre; segments are mapped by marking the grid frames whose centre lies inside them.
"""

from __future__ import annotations

import wave
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import numpy as np
import numpy.typing as npt

SAMPLE_RATE = 16000
GRID_HOP = 160  # samples per 10 ms grid frame

Float32 = npt.NDArray[np.float32]
Bool = npt.NDArray[np.bool_]


class Vad(Protocol):
    """What the benchmark needs of a VAD.

    Attributes:
        chunk_samples: Samples per streaming call (the VAD's native chunk or hop at 16 kHz).
    """

    chunk_samples: int

    def process(self, wave: Float32) -> tuple[Float32, Bool]:
        """Whole-file pass over 16 kHz float audio, from a reset state.

        Returns:
            Speech scores and the decision at the VAD's default operating point, both on the
            10 ms grid: shape ``(len(wave) // 160,)``.
        """
        ...

    def reset(self) -> None:
        """Start a new stream."""
        ...

    def feed(self, chunk: Float32) -> None:
        """One streaming step on ``chunk_samples`` float samples (state carried)."""
        ...

    def files(self) -> list[Path]:
        """The files that hold the model (for its size on disk)."""
        ...


def to_grid(values: npt.ArrayLike, native_hop: int, n_frames: int) -> Float32:
    """Map per-frame values with a hop of ``native_hop`` samples onto the 10 ms grid.

    Grid frame ``t`` takes the native frame that covers its centre sample ``160 t + 80``; grid
    frames past the last native frame take the last one (zeros if there is none).
    """
    native = np.asarray(values, dtype=np.float32).reshape(-1)
    if native.size == 0:
        return np.zeros(n_frames, np.float32)
    centres = np.arange(n_frames) * GRID_HOP + GRID_HOP // 2
    return native[np.minimum(centres // native_hop, native.size - 1)]


def segments_to_mask(segments: Sequence[tuple[float, float]], n_frames: int) -> Bool:
    """Grid frames whose centre lies in one of the ``[start, end)`` segments (seconds)."""
    centres = (np.arange(n_frames) + 0.5) * GRID_HOP / SAMPLE_RATE
    mask = np.zeros(n_frames, bool)
    for start, end in segments:
        mask |= (centres >= start) & (centres < end)
    return mask


def read_wav(path: str | Path) -> Float32:
    """A 16 kHz mono PCM-16 WAV as float32 in [-1, 1) (stdlib reader: no soundfile needed)."""
    with wave.open(str(path), "rb") as f:
        if (f.getframerate(), f.getnchannels(), f.getsampwidth()) != (SAMPLE_RATE, 1, 2):
            raise ValueError(f"{path}: expected 16 kHz mono 16-bit PCM")
        data = f.readframes(f.getnframes())
    return np.frombuffer(data, dtype="<i2").astype(np.float32) / 32768.0


def to_int16(wave_f32: Float32) -> npt.NDArray[np.int16]:
    """Float samples in [-1, 1] as int16."""
    return np.clip(np.round(wave_f32 * 32768.0), -32768, 32767).astype(np.int16)
