"""voicecnn.compat.pyannote: the bridge to pyannote.core, tested with the real package."""

from __future__ import annotations

from pathlib import Path

import voicecnn as vc

REPO = Path(__file__).parents[1]
SAMPLE = REPO / "samples" / "speech_over_noise.flac"


def test_pyannote_annotation_and_timeline() -> None:
    from pyannote.core import Annotation, Segment, Timeline

    from voicecnn.compat.pyannote import to_annotation, to_timeline

    result = vc.detect_file(vc.load_model(), SAMPLE)
    assert len(result.segments) >= 2
    ann = to_annotation(result)
    assert isinstance(ann, Annotation) and ann.uri == "speech_over_noise"
    assert ann.labels() == ["SPEECH"]
    assert [(s.start, s.end) for s in ann.itersegments()] == [
        (s.start, s.end) for s in result.segments
    ]
    assert abs(ann.get_timeline().duration() - sum(s.duration for s in result.segments)) < 1e-9
    timeline = to_timeline(result.segments, uri="x")
    assert isinstance(timeline, Timeline) and timeline.uri == "x"
    assert list(timeline) == [Segment(s.start, s.end) for s in result.segments]
    # pyannote's own tools work on it: the RTTM it writes names every segment
    rttm = ann.to_rttm()
    assert rttm.count("SPEAKER speech_over_noise 1") == len(result.segments)
    assert to_annotation([], uri="empty", label="speech").labels() == []
