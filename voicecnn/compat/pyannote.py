"""Speech segments as ``pyannote.core`` objects (``pip install "voicecnn[pyannote]"``).

::

    from voicecnn.compat.pyannote import to_annotation

    annotation = to_annotation(voicecnn.detect_file(model, "talk.wav"))  # uri "talk"
    annotation.get_timeline().support()
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from voicecnn.detection.frames import Detection
from voicecnn.detection.segments import Segment
from voicecnn.errors import VoiceCNNError

__all__ = ["to_annotation", "to_timeline"]


def _core() -> Any:
    try:
        import pyannote.core as core
    except ImportError as e:
        raise VoiceCNNError('pyannote.core is needed: pip install "voicecnn[pyannote]"') from e
    return core


def _segments(result: Detection | Iterable[Segment], uri: str | None) -> tuple[list[Any], Any]:
    """``(segments, uri)``: a Detection's uri defaults to its file's name without suffix."""
    if isinstance(result, Detection):
        if uri is None and result.path is not None:
            uri = Path(result.path).stem
        return list(result.segments), uri
    return list(result), uri


def to_timeline(result: Detection | Iterable[Segment], *, uri: str | None = None) -> Any:
    """A ``pyannote.core.Timeline`` of the speech segments.

    Args:
        result: A :class:`voicecnn.Detection` or segments (seconds).
        uri: The recording's name; ``None`` = the Detection's file name without suffix.
    """
    core = _core()
    segs, uri = _segments(result, uri)
    return core.Timeline([core.Segment(s.start, s.end) for s in segs], uri=uri)


def to_annotation(
    result: Detection | Iterable[Segment], *, uri: str | None = None, label: str = "SPEECH"
) -> Any:
    """A ``pyannote.core.Annotation``: one track per speech segment, all labelled ``label``.

    Args:
        result: A :class:`voicecnn.Detection` or segments (seconds).
        uri: The recording's name; ``None`` = the Detection's file name without suffix.
        label: The label of every segment (pyannote.audio's VAD uses ``"SPEECH"``).
    """
    core = _core()
    segs, uri = _segments(result, uri)
    annotation = core.Annotation(uri=uri)
    for s in segs:
        annotation[core.Segment(s.start, s.end)] = label
    return annotation
