"""Bridges to pyannote.core and lhotse, tested with the real packages."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

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


def test_lhotse_activity_detector(tmp_path: Path) -> None:
    from lhotse import Recording, SupervisionSegment
    from lhotse.workflows.activity_detection import ActivityDetector

    from voicecnn.compat.lhotse import VoiceCnnVAD

    model = vc.load_model()
    wave = vc.load_audio(SAMPLE)
    quiet = np.zeros_like(wave)
    sf.write(tmp_path / "two.wav", np.stack([wave, quiet], axis=1), 16000)  # speech | silence
    recording = Recording.from_file(tmp_path / "two.wav", recording_id="two")
    detector = VoiceCnnVAD(model)
    assert isinstance(detector, ActivityDetector)
    sups = detector(recording)
    assert all(isinstance(s, SupervisionSegment) for s in sups)
    expected = vc.detect(model, wave)
    assert {s.channel for s in sups} == {0}  # nothing on the silent channel
    assert [t for s in sups for t in (s.start, s.end)] == pytest.approx(
        [t for seg in expected for t in (seg.start, seg.end)], abs=1e-6  # lhotse rounds times
    )
    assert sups[0].recording_id == "two" and sups[0].id.startswith("two-voicecnn_")
    # by name, with other rules
    strict = VoiceCnnVAD("vad_cnn2d_s", cfg=vc.DetectCfg(min_speech_s=1.0))
    assert strict._detector_name == "voicecnn_vad_cnn2d_s"
    assert all(s.duration >= 1.0 for s in strict(recording))
