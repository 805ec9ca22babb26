"""A lhotse ``ActivityDetector`` running a voicecnn model (``pip install "voicecnn[lhotse]"``).

::

    from lhotse import Recording
    from voicecnn.compat.lhotse import VoiceCnnVAD

    detector = VoiceCnnVAD()                       # the bundled default model
    supervisions = detector(Recording.from_file("talk.wav"))   # SupervisionSegment per speech

It is used where lhotse's own ``SileroVAD16k`` is: any recording rate (lhotse resamples to the
model's), every channel on its own, one :class:`~lhotse.SupervisionSegment` per speech segment.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from voicecnn.detection.frames import DetectCfg, detect
from voicecnn.errors import VoiceCNNError

try:
    from lhotse.workflows.activity_detection import Activity, ActivityDetector
except ImportError as e:  # a clear message instead of a bare ModuleNotFoundError
    raise VoiceCNNError('lhotse is needed: pip install "voicecnn[lhotse]"') from e

__all__ = ["VoiceCnnVAD"]


class VoiceCnnVAD(ActivityDetector):  # type: ignore[misc]
    """lhotse's ``ActivityDetector`` interface over a voicecnn model.

    Args:
        model: A loaded voicecnn model, a bundled name or a path (``None``: the default).
        cfg: Post-processing settings (as for :func:`voicecnn.detect`).
        device: Torch device of the model.
    """

    def __init__(
        self, model: Any = None, *, cfg: DetectCfg = DetectCfg(), device: str = "cpu"
    ) -> None:
        from voicecnn.net.checkpoint import DEFAULT_MODEL, load_model

        name = DEFAULT_MODEL if model is None else model
        if isinstance(name, str) or hasattr(name, "__fspath__"):
            model = load_model(name, device=device)
            label = str(name).rsplit("/", 1)[-1].removesuffix(".safetensors")
        else:
            label = type(model).__name__
        super().__init__(
            detector_name=f"voicecnn_{label}", sampling_rate=model.sample_rate, device=device
        )
        self.model = model
        self.cfg = cfg

    def forward(self, track: np.ndarray) -> list[Activity]:
        """Speech of one channel at the model's rate, as lhotse ``Activity`` (start, duration)."""
        segs = detect(self.model, np.asarray(track, np.float32), self.cfg)
        return [Activity(start=s.start, duration=s.duration) for s in segs]
