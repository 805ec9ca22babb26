"""TEN VAD (``ten-vad``; needs Debian ``libc++1``): a probability and a flag per 10 ms hop."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import ten_vad

from peers.grid import GRID_HOP, Bool, Float32, to_int16

HOP = GRID_HOP  # 160 samples: TEN's frames are the grid's frames


class Ten:
    """TEN VAD at hop 160 and its default threshold 0.5; the flag is its decision."""

    chunk_samples = HOP

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        """TEN keeps its state in the instance: a new instance is a new stream."""
        self._vad = ten_vad.TenVad(hop_size=HOP, threshold=0.5)

    def feed(self, chunk: Float32) -> None:
        """One hop (the package takes int16)."""
        self._vad.process(to_int16(chunk))

    def process(self, wave: Float32) -> tuple[Float32, Bool]:
        """Probability and flag of every whole hop."""
        self.reset()
        pcm = to_int16(wave)
        n = pcm.size // HOP
        out = [self._vad.process(pcm[i * HOP : (i + 1) * HOP]) for i in range(n)]
        probs = np.array([p for p, _ in out], np.float32).reshape(n)
        return probs, np.array([f for _, f in out], bool).reshape(n)

    def files(self) -> list[Path]:
        """The shared library that holds the model."""
        return sorted(Path(ten_vad.__file__).parent.glob("lib/Linux/x64/*.so"))
