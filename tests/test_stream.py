"""Streaming: any chunking gives the offline probabilities and segments; reset semantics."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from hypothesis import given, settings
from hypothesis import strategies as st

import voicecnn as vc
from voicecnn.detection.segments import SegmentRules
from voicecnn.detection.stream import SegmentTracker, StreamingDetector, events_to_segments
from voicecnn.errors import VoiceCNNError

from .conftest import speechlike

# The incremental engine folds batch norm into the convolutions and sums in another order than
# torch: both are float32 approximations of one function. The engine is checked against the
# float64 truth (within ~5e-6 of it on the default model's six-layer temporal stack); torch's
# float32 path itself strays up to ~2.1e-5 on the same weights, so comparisons with it allow
# for that.
EXACT_ATOL = 1e-5
TORCH32_ATOL = 3e-5


def exact_probs(model: vc.VadCnn, wave: np.ndarray) -> np.ndarray:
    """The model's frame probabilities computed in float64."""
    return vc.frame_probs(copy.deepcopy(model).double(), wave.astype(np.float64))

HOP = 0.01


@st.composite
def run_probs(draw: st.DrawFn) -> np.ndarray:
    """Probabilities made of runs of levels around both thresholds, like a model's output;
    also exactly at the onset (0.5) and the default offset (0.5 - 0.15), and NaN."""
    n_runs = draw(st.integers(0, 25))
    levels = st.sampled_from([0.02, 0.3, 0.45, 0.55, 0.97, 0.5, 0.5 - 0.15, float("nan")])
    parts = [np.full(draw(st.integers(1, 40)), draw(levels)) for _ in range(n_runs)]
    return np.concatenate(parts) if parts else np.zeros(0)


@st.composite
def rules(draw: st.DrawFn) -> SegmentRules:
    return SegmentRules.from_seconds(
        HOP,
        onset=0.5,
        min_speech_s=draw(st.sampled_from([0.0, 0.03, 0.1, 0.25])),
        min_silence_s=draw(st.sampled_from([0.0, 0.02, 0.1, 0.3])),
        pad_s=draw(st.sampled_from([0.0, 0.03, 0.2])),
        max_segment_s=draw(st.sampled_from([None, 0.05, 0.17, 0.5])),
    )


@settings(max_examples=400, deadline=None)
@given(probs=run_probs(), rules=rules(), cuts=st.lists(st.integers(0, 100), max_size=30),
       tail_s=st.sampled_from([0.0, 0.004]), frame_by_frame=st.booleans())
def test_tracker_events_equal_offline_segments(
    probs: np.ndarray, rules: SegmentRules, cuts: list[int], tail_s: float, frame_by_frame: bool
) -> None:
    duration_s = probs.size * HOP + tail_s
    tracker = SegmentTracker(rules)
    if frame_by_frame:  # every frame boundary is a chunk boundary
        cuts = [1] * probs.size
    bounds = np.minimum(np.cumsum([0, *cuts]), probs.size)
    events = []
    for a, b in zip(bounds[:-1], bounds[1:], strict=True):
        events += tracker.push(probs[a:b])
    events += tracker.push(probs[bounds[-1]:], final=True, duration_s=duration_s)
    assert events_to_segments(events) == rules.apply(probs, duration_s)
    kinds = [e.kind for e in events]
    assert kinds == ["start", "end"] * (len(kinds) // 2)  # alternate, nothing left open
    times = [e.time_s for e in events]
    assert times == sorted(times)


class _AlwaysDeciding(SegmentTracker):
    """Reference: re-decides on every push (no fast path)."""

    def _next_wake(self) -> int:
        return 0


@pytest.mark.slow  # 400 runs pushed frame by frame; in the quick run,
# test_tracker_events_equal_offline_segments checks the same tracker for any chunking
@settings(max_examples=400, deadline=None)
@given(probs=run_probs(), rules=rules())
def test_fast_path_emits_each_event_as_early_as_deciding_every_frame(
    probs: np.ndarray, rules: SegmentRules
) -> None:
    fast, reference = SegmentTracker(rules), _AlwaysDeciding(rules)
    for i in range(probs.size):  # frame by frame: every deadline is a push boundary
        assert fast.push(probs[i : i + 1]) == reference.push(probs[i : i + 1]), i
    assert fast.push(probs[:0], final=True) == reference.push(probs[:0], final=True)


def test_tracker_memory_stays_bounded_in_silence_and_short_segments() -> None:
    tracker = SegmentTracker(SegmentRules.from_seconds(HOP))
    pattern = np.r_[np.full(50, 0.9), np.full(100, 0.05)]  # 0.5 s speech, 1 s silence
    for _ in range(200):
        tracker.push(pattern)
    assert tracker.buffered_frames < pattern.size


def test_end_is_decided_after_min_silence() -> None:
    """Latency by definition: an end is sent once min_silence has passed, not later."""
    rules = SegmentRules.from_seconds(HOP, min_speech_s=0.1, min_silence_s=0.2, pad_s=0.0)
    tracker = SegmentTracker(rules)
    assert [e.kind for e in tracker.push(np.full(30, 0.9))] == ["start"]
    assert tracker.push(np.full(19, 0.0)) == []
    (end,) = tracker.push(np.full(1, 0.0))
    assert end.kind == "end" and end.time_s == pytest.approx(0.30)


@pytest.fixture(scope="module")
def model() -> vc.VadCnn:
    return vc.load_module()


@settings(max_examples=10, deadline=None)
@given(sizes=st.lists(st.integers(40, 7000), min_size=1, max_size=8))
def test_detector_equals_offline_for_any_chunking(model: vc.VadCnn, sizes: list[int]) -> None:
    wave = speechlike(3.3, seed=5)
    cfg = vc.DetectCfg(max_segment_s=0.7)
    offline = vc.detect_wave(model, wave, cfg)
    det = StreamingDetector(model, cfg)
    probs, events, pos, i = [], [], 0, 0
    while pos < wave.size:
        step = sizes[i % len(sizes)]
        update = det.feed(wave[pos : pos + step])
        assert update.first_frame == sum(p.size for p in probs)
        probs.append(update.probs)
        events += update.events
        pos, i = pos + step, i + 1
    last = det.flush()
    probs.append(last.probs)
    events += last.events
    np.testing.assert_allclose(np.concatenate(probs), offline.probs, atol=TORCH32_ATOL)
    np.testing.assert_allclose(np.concatenate(probs), exact_probs(model, wave), atol=EXACT_ATOL)
    assert events_to_segments(events) == offline.segments


def test_single_samples_and_int16_stereo_chunks(model: vc.VadCnn) -> None:
    wave = speechlike(1.2, seed=6)
    stereo = (np.stack([wave, wave], 1) * 32767).astype(np.int16)
    det = StreamingDetector(model)
    out = [det.feed(stereo[i : i + 1]).probs for i in range(1600)]
    out += [det.feed(stereo[1600:]).probs, det.flush().probs]
    ref = exact_probs(model, stereo.astype(np.float32).mean(1) / 32768)
    np.testing.assert_allclose(np.concatenate(out), ref, atol=EXACT_ATOL)


def test_other_rate_matches_detect_file(model: vc.VadCnn, tmp_path: Path) -> None:
    wave = speechlike(2.5, 48000, seed=7)
    path = tmp_path / "x.wav"
    sf.write(path, wave, 48000, subtype="FLOAT")
    offline = vc.detect_file(model, path)
    det = StreamingDetector(model, sample_rate=48000)
    probs = [det.feed(wave[i : i + 4410]).probs for i in range(0, wave.size, 4410)]
    probs.append(det.flush().probs)
    np.testing.assert_allclose(np.concatenate(probs), offline.probs, atol=1e-4)


def test_flush_then_reset(model: vc.VadCnn) -> None:
    wave = speechlike(2.0, seed=8)
    det = StreamingDetector(model)
    first = det.feed(wave).events + det.flush().events
    with pytest.raises(VoiceCNNError, match="reset"):
        det.feed(wave)
    assert det.flush().events == []  # a second flush is harmless
    det.reset()
    assert det.feed(np.zeros(0, np.float32)).events == []  # an empty chunk is fine
    second = det.feed(wave).events + det.flush().events
    assert first == second


def _pushed(inc: object, wave: np.ndarray, sizes: list[int]) -> np.ndarray:
    out, pos = [], 0
    while pos < wave.size:
        n = sizes[len(out) % len(sizes)]
        out.append(inc.push(wave[pos : pos + n]))  # type: ignore[attr-defined]
        pos += n
    out.append(inc.flush())  # type: ignore[attr-defined]
    return np.concatenate(out)


@pytest.mark.parametrize("name", vc.bundled_models())
def test_incremental_engine_equals_float64_truth_for_trained_models(name: str) -> None:
    """Trained weights (larger activations than a fresh init), long enough to go round the
    steady-state buffers several times, pushes of 1 to 15+ frames, odd and even."""
    model = vc.load_model(name)
    wave = speechlike(4.1, seed=23)
    ref = exact_probs(vc.load_module(name), wave)
    for sizes in ([160], [320], [512], [480, 7, 1100, 3000], [5000]):
        pushed = _pushed(model.stream(), wave, sizes)
        np.testing.assert_allclose(pushed, ref, atol=EXACT_ATOL)


def test_incremental_engine_with_plans_dropped(
    model: vc.VadCnn, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pushes of ever-changing sizes: the plan cache is cleared and rebuilt as it fills."""
    from voicecnn.net import engine

    monkeypatch.setattr(engine, "_MAX_PLANS", 3)
    wave = speechlike(3.0, seed=25)
    sizes = np.random.default_rng(4).integers(1, 2500, 50).tolist()
    probs = _pushed(engine.NumpyVad.from_module(model).stream(), wave, sizes)
    np.testing.assert_allclose(probs, exact_probs(model, wave), atol=EXACT_ATOL)


def test_incremental_reset_repeats_the_stream_exactly(model: vc.VadCnn) -> None:
    """After reset the cached calls of the steady state are reused: same numbers, bit for bit."""
    from voicecnn.net.engine import NumpyVad

    wave = speechlike(2.5, seed=24)
    numpy_model = NumpyVad.from_module(model)
    inc = numpy_model.stream()
    first = _pushed(inc, wave, [512])
    inc.reset()
    np.testing.assert_array_equal(_pushed(inc, wave, [512]), first)
    np.testing.assert_array_equal(_pushed(numpy_model.stream(), wave, [512]), first)


def test_torch_engine_also_streams(model: vc.VadCnn) -> None:
    wave = speechlike(2.0, seed=22)
    results = []
    for engine in ("incremental", "torch"):
        det = StreamingDetector(model, engine=engine)  # type: ignore[arg-type]
        parts = [det.feed(wave[i : i + 333]) for i in range(0, wave.size, 333)] + [det.flush()]
        results.append((np.concatenate([u.probs for u in parts]),
                        [e for u in parts for e in u.events]))
    np.testing.assert_allclose(results[0][0], results[1][0], atol=1e-5)
    assert results[0][1] == results[1][1]
