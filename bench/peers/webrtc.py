"""WebRTC VAD (``webrtcvad-wheels``): a boolean per 30 ms frame, aggressiveness 3.

Mode 3 is the least eager to call noise speech; the library's default, mode 0, marks nearly
everything with sound in it as speech. Its output is a 0/1 score, so its ROC-AUC is that of a
single operating point (the mean of its true-positive and true-negative rates), not a ranking.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import webrtcvad

from peers.grid import SAMPLE_RATE, Bool, Float32, to_grid, to_int16

FRAME = 480  # 30 ms
MODE = 3


class WebRtc:
    """WebRTC's GMM VAD; its boolean is both the score and the decision."""

    chunk_samples = FRAME

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        """A new VAD object (its state is the object's)."""
        self._vad = webrtcvad.Vad(MODE)

    def feed(self, chunk: Float32) -> None:
        """One 30 ms frame."""
        self._vad.is_speech(to_int16(chunk).tobytes(), SAMPLE_RATE)

    def process(self, wave: Float32) -> tuple[Float32, Bool]:
        """The boolean of every whole 30 ms frame, on the grid."""
        self.reset()
        pcm = to_int16(wave)
        flags = [self._vad.is_speech(pcm[i : i + FRAME].tobytes(), SAMPLE_RATE)
                 for i in range(0, pcm.size - FRAME + 1, FRAME)]
        grid = to_grid(np.array(flags, np.float32), FRAME, wave.size // 160)
        return grid, grid > 0.5

    def files(self) -> list[Path]:
        """The compiled extension."""
        return sorted(Path(webrtcvad.__file__).parent.glob("_webrtcvad*.so"))
