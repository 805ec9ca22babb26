"""voicecnn.compat.lhotse: the bridge to lhotse, tested with the real package."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

import voicecnn as vc

REPO = Path(__file__).parents[1]
SAMPLE = REPO / "samples" / "speech_over_noise.flac"


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
