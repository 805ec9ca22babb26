"""Detection: chunked and streamed probabilities equal one whole-file model call."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import voicecnn as vc
from tests.conftest import speechlike
from voicecnn.detection.segments import to_targets
from voicecnn.errors import AudioError, ConfigError

MODELS = {name: vc.create_model(name).eval() for name in vc.list_models("vad")}


def _whole(model: torch.nn.Module, wave: np.ndarray) -> np.ndarray:
    with torch.inference_mode():
        return torch.sigmoid(model(torch.from_numpy(wave)[None]))[0].numpy()


@pytest.mark.parametrize("name", sorted(MODELS))
@pytest.mark.parametrize("chunk_s", [0.11, 0.37, 30.0])
def test_chunked_equals_whole_file(name: str, chunk_s: float) -> None:
    model = MODELS[name]
    wave = speechlike(3.321, seed=1)
    whole = _whole(model, wave)
    chunked = vc.frame_probs(model, wave, chunk_s=chunk_s)
    assert chunked.shape == whole.shape == (wave.size // 160,)
    np.testing.assert_allclose(chunked, whole, atol=2e-5)


@settings(max_examples=15, deadline=None)
@given(cuts=st.lists(st.integers(min_value=1, max_value=9000), min_size=0, max_size=12))
def test_any_push_chunking_equals_whole_file(cuts: list[int]) -> None:
    model = MODELS["vad_cnn1d_xs"]
    wave = speechlike(2.5, seed=2)
    whole = _whole(model, wave)
    stream = vc.FrameProbStream(model, chunk_s=0.5)
    bounds = np.cumsum([0, *cuts])
    bounds = bounds[bounds < wave.size]
    parts = [stream.push(wave[a:b]) for a, b in zip(bounds, [*bounds[1:], wave.size], strict=True)]
    parts.append(stream.flush())
    np.testing.assert_allclose(np.concatenate(parts), whole, atol=2e-5)


def test_stream_emits_as_soon_as_context_allows_and_reset_starts_over() -> None:
    model = MODELS["vad_cnn1d_xs"]
    stream = vc.FrameProbStream(model)
    future = stream.future
    wave = speechlike(1.0)
    out = stream.push(wave)
    assert out.size == wave.size // 160 - future  # held back only by the lookahead
    assert stream.flush().size == future
    stream.reset()
    assert stream.n_samples == 0 and stream.next_frame == 0
    np.testing.assert_allclose(
        np.concatenate([stream.push(wave), stream.flush()]), _whole(model, wave), atol=2e-5
    )


def test_detect_file_equals_detect_on_loaded_audio(tmp_path: Path) -> None:
    model = vc.load_model()
    wave = speechlike(7.0, 44100, seed=3)
    path = tmp_path / "x.flac"
    sf.write(path, np.stack([wave, wave], axis=1), 44100)
    cfg = vc.DetectCfg(chunk_s=2.0)
    det = vc.detect_file(model, path, cfg, block_s=0.7)
    ref = vc.detect_wave(model, vc.load_audio(path), cfg)
    assert det.duration_s == pytest.approx(7.0, abs=1e-3)
    np.testing.assert_allclose(det.probs, ref.probs, atol=2e-5)
    assert det.segments == ref.segments
    assert det.to_dict()["path"] == str(path)


def test_short_audio_gives_empty_result(tmp_path: Path) -> None:
    model = vc.load_model()
    path = tmp_path / "short.wav"
    sf.write(path, np.zeros(100, dtype=np.float32), 16000)
    det = vc.detect_file(model, path)
    assert det.segments == [] and det.probs.size == 0
    assert vc.detect(model, np.zeros(50, dtype=np.float32)) == []


def test_detect_accepts_int16_stereo_at_other_rates() -> None:
    model = vc.load_model()
    wave = (speechlike(2.0, 8000) * 20000).astype(np.int16)
    segs = vc.detect(model, np.stack([wave, wave], 1), sample_rate=8000)
    assert all(0 <= s.start < s.end <= 2.0 for s in segs)


def test_detect_rejects_bad_arrays_and_settings() -> None:
    model = vc.load_model()
    with pytest.raises(AudioError):
        vc.detect(model, np.full(1600, np.nan, dtype=np.float32))
    with pytest.raises(ConfigError, match="threshold"):
        vc.DetectCfg(threshold=1.5)
    with pytest.raises(ConfigError, match="neg_threshold"):
        vc.DetectCfg(threshold=0.3, neg_threshold=0.5)


def test_bundled_model_finds_real_speech_and_not_silence() -> None:
    """The shipped sample: speech over background; the default model marks it, not the silence."""
    model = vc.load_model()
    sample = Path(__file__).parents[1] / "samples" / "speech_over_noise.flac"
    ref = [vc.Segment(**s) for s in _sample_reference()]
    det = vc.detect_file(model, sample)
    hop = det.frame_hop_s
    n = det.probs.size
    truth = to_targets(ref, n, hop).astype(bool)
    pred = to_targets(det.segments, n, hop).astype(bool)
    agreement = (truth == pred).mean()
    assert agreement > 0.85
    quiet = vc.detect(model, 0.001 * np.random.default_rng(0).standard_normal(32000))
    assert sum(s.duration for s in quiet) < 0.2


def _sample_reference() -> list[dict[str, float]]:
    import json

    path = Path(__file__).parents[1] / "samples" / "speech_over_noise.json"
    return json.loads(path.read_text())["speech"]  # type: ignore[no-any-return]


def test_bad_rule_values_in_the_library() -> None:
    for kwargs in (
        {"min_silence_s": 1e308}, {"pad_s": math.inf}, {"min_speech_s": -1.0},
        {"max_segment_s": 0.0}, {"threshold": math.nan}, {"neg_threshold": 0.9},
        {"chunk_s": math.inf},
    ):
        with pytest.raises(ConfigError) as e:
            vc.DetectCfg(**kwargs)  # type: ignore[arg-type]
        assert "\n" not in str(e.value)
