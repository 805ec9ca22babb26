"""voicecnn behind the benchmark's interface (runs in voicecnn's own environment)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import voicecnn as vc
from peers.grid import GRID_HOP, SAMPLE_RATE, Bool, Float32, segments_to_mask, to_grid
from voicecnn.detection.stream import StreamingDetector

STREAM_CHUNK = 512  # 32 ms, Silero's chunk


class VoiceCnn:
    """A voicecnn model with its ``DetectCfg()`` defaults, on one CPU thread.

    Args:
        model: Bundled model name or ``.safetensors`` path; ``None`` = the bundled default.
    """

    chunk_samples = STREAM_CHUNK

    def __init__(self, model: str | None = None) -> None:
        self.name = model
        self.model = vc.load_model(model)
        self.cfg = vc.DetectCfg()
        self._hop = round(self.model.frame_hop_s * SAMPLE_RATE)
        self.reset()

    def reset(self) -> None:
        """A new streaming detector (default post-processing, numpy engine)."""
        self._stream = StreamingDetector(self.model, self.cfg)

    def feed(self, chunk: Float32) -> None:
        """One 32 ms chunk: frame probabilities and segment events."""
        self._stream.feed(chunk)

    def process(self, wave: Float32) -> tuple[Float32, Bool]:
        """``detect_wave``: frame probabilities and the default segments, on the grid."""
        det = vc.detect_wave(self.model, wave, self.cfg)
        n_frames = wave.size // GRID_HOP
        segments = [(s.start, s.end) for s in det.segments]
        return to_grid(det.probs, self._hop, n_frames), segments_to_mask(segments, n_frames)

    def files(self) -> list[Path]:
        """The weights file."""
        text = vc.DEFAULT_MODEL if self.name is None else self.name
        bundled = resources.files("voicecnn.weights").joinpath(f"{text}.safetensors")
        if "/" not in text and bundled.is_file():
            return [Path(str(bundled))]
        return [Path(text)]

    def n_params(self) -> int:
        """Parameters of the network."""
        return int(self.model.parameter_count())
