"""Tests of voicecnn.detection.segments: hand-computed tables (frame_hop_s = 0.01) and
properties."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from voicecnn.detection.segments import (
    Segment,
    drop_short,
    hysteresis,
    mask_to_segments,
    merge_gaps,
    pad,
    segments_from_probs,
    split_long,
    to_targets,
)
from voicecnn.errors import ConfigError

HOP = 0.01
Spans = list[tuple[float, float]]


def _segs(spans: Spans) -> list[Segment]:
    return [Segment(start, end) for start, end in spans]


def _spans(segs: list[Segment]) -> Spans:
    """Segments as (start, end) tuples, rounded to 9 decimals to compare with literals."""
    return [(round(seg.start, 9), round(seg.end, 9)) for seg in segs]


# --- Segment --------------------------------------------------------------------------


def test_segment_basics() -> None:
    seg = Segment(np.float64(0.12345), float(np.float32(0.5)))
    assert type(seg.start) is float
    assert type(Segment(0.0, np.float64(1.0)).end) is float
    assert seg.duration == pytest.approx(0.37655)
    assert seg.to_dict() == {"start": 0.123, "end": 0.5}
    with pytest.raises(dataclasses.FrozenInstanceError):
        seg.start = 0.0  # type: ignore[misc]
    assert Segment(0.0, 0.0).duration == 0.0


@pytest.mark.parametrize(
    ("start", "end"), [(-0.1, 1.0), (0.5, 0.4), (math.nan, 1.0), (0.0, math.inf)]
)
def test_segment_rejects_bad_bounds(start: float, end: float) -> None:
    with pytest.raises(ValueError, match="segment"):
        Segment(start, end)


# --- hysteresis -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("probs", "onset", "offset", "expected"),
    [
        ([0.1, 0.6, 0.4, 0.3, 0.2, 0.7], 0.5, 0.35, [0, 1, 1, 0, 0, 1]),
        ([0.4, 0.4, 0.5, 0.35, 0.34], 0.5, 0.35, [0, 0, 1, 1, 0]),  # starts off; bounds
        ([0.5, 0.49, 0.5], 0.5, 0.5, [1, 0, 1]),  # onset == offset: plain threshold
        ([0.6, 0.0, 0.0], 0.5, 0.0, [1, 1, 1]),  # offset 0: never turns off
        ([0.0, 0.3], 0.0, 0.0, [1, 1]),  # onset 0: always on
        ([0.99, 1.0, 0.2], 1.0, 0.5, [0, 1, 0]),
        ([0.9, math.nan, 0.1, math.nan], 0.5, 0.35, [1, 1, 0, 0]),  # NaN keeps the state
        ([], 0.5, 0.35, []),
    ],
)
def test_hysteresis_table(
    probs: list[float], onset: float, offset: float, expected: list[int]
) -> None:
    mask = hysteresis(np.array(probs, dtype=np.float64), onset, offset)
    assert mask.dtype == np.bool_
    assert mask.tolist() == [bool(x) for x in expected]


@pytest.mark.parametrize(
    ("onset", "offset", "name"),
    [(0.3, 0.5, "offset"), (1.5, 0.5, "onset"), (0.5, -0.1, "offset"), (math.nan, 0.1, "onset")],
)
def test_hysteresis_rejects_thresholds(onset: float, offset: float, name: str) -> None:
    with pytest.raises(ConfigError, match=name):
        hysteresis([0.5], onset, offset)


def _reference_hysteresis(probs: list[float], onset: float, offset: float) -> list[bool]:
    state = False
    out = []
    for p in probs:
        if p >= onset:
            state = True
        elif p < offset:
            state = False
        out.append(state)
    return out


_PROB = st.one_of(
    st.floats(0.0, 1.0), st.sampled_from([0.0, 0.2, 0.35, 0.5, 0.65, 1.0]), st.just(math.nan)
)


@settings(max_examples=300, deadline=None, database=None)
@given(
    probs=st.lists(_PROB, max_size=120),
    thresholds=st.tuples(
        st.one_of(st.floats(0.0, 1.0), st.sampled_from([0.0, 0.35, 0.5, 1.0])),
        st.one_of(st.floats(0.0, 1.0), st.sampled_from([0.0, 0.35, 0.5, 1.0])),
    ),
)
def test_hysteresis_matches_state_machine(
    probs: list[float], thresholds: tuple[float, float]
) -> None:
    offset, onset = sorted(thresholds)
    got = hysteresis(np.array(probs, dtype=np.float64), onset, offset).tolist()
    assert got == _reference_hysteresis(probs, onset, offset)


# --- mask_to_segments -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("mask", "expected"),
    [
        ([], []),
        ([0, 0, 0], []),
        ([1, 1, 1], [(0.0, 0.03)]),
        ([0, 1, 1, 0, 1], [(0.01, 0.03), (0.04, 0.05)]),
        ([1, 0], [(0.0, 0.01)]),
        ([True, False, True, False], [(0.0, 0.01), (0.02, 0.03)]),
    ],
)
def test_mask_to_segments_table(mask: list[int], expected: Spans) -> None:
    assert _spans(mask_to_segments(np.array(mask, dtype=bool), HOP)) == expected


def test_mask_to_segments_rejects_bad_input() -> None:
    with pytest.raises(ConfigError, match="frame_hop_s"):
        mask_to_segments([1, 0], 0.0)
    with pytest.raises(ValueError, match="1-D"):
        mask_to_segments(np.zeros((2, 2), dtype=bool), HOP)


# --- merge_gaps -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spans", "min_gap_s", "expected"),
    [
        ([], 0.03, []),
        ([(0.0, 0.1), (0.12, 0.2)], 0.03, [(0.0, 0.2)]),  # 2-frame gap < 3: merged
        ([(0.0, 0.1), (0.13, 0.2)], 0.03, [(0.0, 0.1), (0.13, 0.2)]),  # 3 frames: kept
        ([(0.0, 0.1), (0.11, 0.2), (0.22, 0.3), (0.5, 0.6)], 0.03, [(0.0, 0.3), (0.5, 0.6)]),
        ([(0.5, 0.6), (0.0, 0.1), (0.11, 0.2)], 0.03, [(0.0, 0.2), (0.5, 0.6)]),  # unsorted
        ([(0.0, 0.1), (0.1, 0.2)], 0.0, [(0.0, 0.1), (0.1, 0.2)]),  # no minimum
        ([(0.0, 0.1), (0.2, 0.3)], 0.1, [(0.0, 0.1), (0.2, 0.3)]),  # float: 0.2 - 0.1 == gap
        ([(0.0, 0.1), (0.2, 0.3)], 0.1001, [(0.0, 0.3)]),
    ],
)
def test_merge_gaps_table(spans: Spans, min_gap_s: float, expected: Spans) -> None:
    assert _spans(merge_gaps(_segs(spans), min_gap_s, HOP)) == expected


# --- drop_short -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spans", "min_len_s", "expected"),
    [
        ([], 0.05, []),
        ([(0.0, 0.04), (0.1, 0.15), (0.2, 0.3)], 0.05, [(0.1, 0.15), (0.2, 0.3)]),
        ([(0.3, 0.6), (0.0, 0.01)], 0.0, [(0.0, 0.01), (0.3, 0.6)]),
        ([(0.1, 0.3)], 0.2, [(0.1, 0.3)]),  # exactly the minimum is kept
        ([(0.1, 0.3)], 0.2001, []),
    ],
)
def test_drop_short_table(spans: Spans, min_len_s: float, expected: Spans) -> None:
    assert _spans(drop_short(_segs(spans), min_len_s, HOP)) == expected


@pytest.mark.parametrize("func", [merge_gaps, drop_short])
@pytest.mark.parametrize("seconds", [-0.01, 1e308, math.nan])
def test_merge_and_drop_reject_durations_outside_the_rule_range(func: Any, seconds: float) -> None:
    with pytest.raises(ConfigError, match=r"_s must be in \[0, 86400\] seconds"):
        func(_segs([(0.0, 0.1)]), seconds, HOP)


# --- split_long -----------------------------------------------------------------------


def _probs_with(n_frames: int, low: dict[int, float]) -> npt.NDArray[np.float64]:
    probs = np.full(n_frames, 0.9)
    for frame, value in low.items():
        probs[frame] = value
    return probs


@pytest.mark.parametrize(
    ("spans", "max_len_s", "low", "expected"),
    [
        # 25 frames, max 10: first cut in [5, 10] at the low frame 7; the last cut in
        # [max(12, 15), min(17, 20)] = [15, 17], all equal -> latest, 17.
        ([(0.0, 0.25)], 0.1, {7: 0.1}, [(0.0, 0.07), (0.07, 0.17), (0.17, 0.25)]),
        # 15 frames, ties -> the latest cut point, 10.
        ([(0.0, 0.15)], 0.1, {}, [(0.0, 0.1), (0.1, 0.15)]),
        # 11 frames: the last cut must leave >= 5 frames, so the window is [5, 6].
        ([(0.0, 0.11)], 0.1, {9: 0.0}, [(0.0, 0.06), (0.06, 0.11)]),
        ([(0.0, 0.11)], 0.1, {5: 0.2}, [(0.0, 0.05), (0.05, 0.11)]),
        # The low frame outside the window [5, 10] (frame 3) is ignored.
        # 30 frames: frame 3 lies outside the first window [5, 10], where frame 8 is lowest;
        # the rest [8, 30) is 22 > 20 frames: window [13, 18], ties -> 18; the rest [18, 30)
        # is 12 frames: window [max(23, 20), min(28, 25)] = [23, 25] -> 25.
        (
            [(0.0, 0.3)],
            0.1,
            {3: 0.0, 8: 0.5},
            [(0.0, 0.08), (0.08, 0.18), (0.18, 0.25), (0.25, 0.3)],
        ),
        # exactly the maximum: untouched; None and inf: no limit
        ([(0.1, 0.2)], 0.1, {}, [(0.1, 0.2)]),
        ([(0.0, 0.4)], None, {}, [(0.0, 0.4)]),
        ([(0.0, 0.4)], math.inf, {}, [(0.0, 0.4)]),
        ([], 0.1, {}, []),
        # offset segments and several segments
        (
            [(0.5, 0.65), (0.1, 0.2)],
            0.1,
            {57: 0.3},
            [(0.1, 0.2), (0.5, 0.57), (0.57, 0.65)],
        ),
    ],
)
def test_split_long_table(
    spans: Spans, max_len_s: float | None, low: dict[int, float], expected: Spans
) -> None:
    probs = _probs_with(100, low)
    assert _spans(split_long(_segs(spans), max_len_s, probs, HOP)) == expected


@pytest.mark.parametrize("max_len_s", [0.0, -1.0, 0.004, math.nan])
def test_split_long_rejects_bad_max(max_len_s: float) -> None:
    with pytest.raises(ConfigError, match="max_len_s"):
        split_long(_segs([(0.0, 0.1)]), max_len_s, np.zeros(10), HOP)


def test_split_long_needs_probs_covering_segments() -> None:
    with pytest.raises(ValueError, match="probs has 5 frames"):
        split_long(_segs([(0.0, 0.1)]), 0.05, np.zeros(5), HOP)


@settings(max_examples=150, deadline=None, database=None)
@given(
    lengths=st.lists(st.integers(1, 80), min_size=1, max_size=6),
    max_frames=st.integers(1, 25),
    seed=st.integers(0, 2**16),
)
def test_split_long_properties(lengths: list[int], max_frames: int, seed: int) -> None:
    starts = np.cumsum([0] + [n + 3 for n in lengths[:-1]])
    spans = [(int(s), int(s) + n) for s, n in zip(starts, lengths, strict=True)]
    n_frames = spans[-1][1] + 2
    probs = np.random.default_rng(seed).choice([0.1, 0.5, 0.9], size=n_frames)
    pieces = split_long(_segs([(s * HOP, e * HOP) for s, e in spans]), max_frames * HOP, probs, HOP)
    frames = [(round(p.start / HOP), round(p.end / HOP)) for p in pieces]
    half = -(-max_frames // 2)
    index = 0
    for start, end in spans:
        assert frames[index][0] == start
        while frames[index][1] != end:
            assert frames[index + 1][0] == frames[index][1]  # pieces touch
            index += 1
        index += 1
    assert index == len(frames)
    for (start, end), (orig_start, orig_end) in _piece_owners(frames, spans):
        assert end - start <= max_frames
        if orig_end - orig_start > max_frames:
            assert end - start >= half


def _piece_owners(
    frames: list[tuple[int, int]], spans: list[tuple[int, int]]
) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    return [(piece, next(s for s in spans if s[0] <= piece[0] < s[1])) for piece in frames]


# --- pad ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spans", "pad_s", "duration_s", "expected"),
    [
        ([], 0.05, 1.0, []),
        ([(0.2, 0.3)], 0.05, 1.0, [(0.15, 0.35)]),
        ([(0.02, 0.1), (0.9, 0.98)], 0.05, 1.0, [(0.0, 0.15), (0.85, 1.0)]),  # clipped
        ([(0.2, 0.3), (0.36, 0.5)], 0.05, 1.0, [(0.15, 0.33), (0.33, 0.55)]),  # midpoint
        ([(0.2, 0.3), (0.3, 0.4)], 0.05, 1.0, [(0.15, 0.3), (0.3, 0.45)]),  # touching
        ([(0.2, 0.3), (0.4, 0.5)], 0.05, 1.0, [(0.15, 0.35), (0.35, 0.55)]),  # gap == 2 pad
        ([(0.4, 0.5), (0.2, 0.3)], 0.0, 1.0, [(0.2, 0.3), (0.4, 0.5)]),  # sorted
        ([(0.2, 0.3), (1.2, 1.3)], 0.05, 1.0, [(0.15, 0.35)]),  # beyond the end: dropped
        ([(0.9, 1.1)], 0.0, 1.0, [(0.9, 1.0)]),
    ],
)
def test_pad_table(spans: Spans, pad_s: float, duration_s: float, expected: Spans) -> None:
    assert _spans(pad(_segs(spans), pad_s, duration_s)) == expected


@pytest.mark.parametrize(
    ("pad_s", "duration_s", "name"), [(-0.1, 1.0, "pad_s"), (0.1, -1.0, "duration_s")]
)
def test_pad_rejects_negative(pad_s: float, duration_s: float, name: str) -> None:
    with pytest.raises(ConfigError, match=name):
        pad(_segs([(0.0, 0.1)]), pad_s, duration_s)


# --- segments_from_probs --------------------------------------------------------------


def _example_probs() -> npt.NDArray[np.float64]:
    probs = np.full(100, 0.05)
    probs[10:40] = 0.9
    probs[40:45] = 0.1  # 5-frame gap < 0.1 s: filled
    probs[45:60] = 0.9
    probs[80:85] = 0.9  # 5-frame blip < 0.25 s: dropped
    return probs


@pytest.mark.parametrize(
    ("probs", "kwargs", "expected"),
    [
        (_example_probs(), {}, [(0.07, 0.63)]),
        (_example_probs(), {"pad_s": 0.0, "min_speech_s": 0.05}, [(0.1, 0.6), (0.8, 0.85)]),
        # a 5-frame gap is kept at min_silence_s 0.05, then the 15-frame part is too short
        (_example_probs(), {"pad_s": 0.0, "min_silence_s": 0.05}, [(0.1, 0.4)]),
        (np.zeros(0), {}, []),
        (np.zeros(50), {}, []),
        # 100 frames, max 40: window [20, 40] -> 40; rest 60 frames: [60, 80] -> 80
        (
            np.full(100, 0.9),
            {"pad_s": 0.0, "max_segment_s": 0.4},
            [(0.0, 0.4), (0.4, 0.8), (0.8, 1.0)],
        ),
        # padding keeps touching pieces where they meet
        (np.full(100, 0.9), {"max_segment_s": 0.4}, [(0.0, 0.4), (0.4, 0.8), (0.8, 1.0)]),
        # onset 0.1 -> default offset 0.01
        (
            np.array([0.2, 0.05, 0.005, 0.0]),
            {"onset": 0.1, "min_speech_s": 0.0, "pad_s": 0.0},
            [(0.0, 0.02)],
        ),
        # onset 0.05 -> default offset min(max(-0.1, 0.01), 0.05) = 0.01
        (
            np.array([0.05, 0.02, 0.009]),
            {"onset": 0.05, "min_speech_s": 0.0, "pad_s": 0.0},
            [(0.0, 0.02)],
        ),
        # explicit offset
        (
            np.array([0.9, 0.6, 0.4]),
            {"offset": 0.5, "min_speech_s": 0.0, "pad_s": 0.0},
            [(0.0, 0.02)],
        ),
    ],
)
def test_segments_from_probs_table(
    probs: npt.NDArray[np.float64], kwargs: dict[str, Any], expected: Spans
) -> None:
    assert _spans(segments_from_probs(probs, HOP, probs.size * HOP, **kwargs)) == expected


def test_segments_from_probs_clips_to_duration() -> None:
    probs = np.full(10, 0.9)
    result = segments_from_probs(probs, HOP, 0.095, min_speech_s=0.0)
    assert _spans(result) == [(0.0, 0.095)]


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"onset": 1.5}, "onset"),
        ({"onset": math.nan}, "onset"),
        ({"offset": 0.9}, "offset"),
        ({"offset": -0.1}, "offset"),
        ({"min_speech_s": -1.0}, "min_speech_s"),
        ({"min_silence_s": -0.1}, "min_silence_s"),
        ({"pad_s": -0.01}, "pad_s"),
        ({"pad_s": math.inf}, "pad_s"),
        ({"max_segment_s": 0.0}, "max_segment_s"),
        ({"max_segment_s": -1.0}, "max_segment_s"),
        ({"max_segment_s": 0.001}, "max_segment_s"),
        ({"frame_hop_s": 0.0}, "frame_hop_s"),
        ({"frame_hop_s": -0.01}, "frame_hop_s"),
        ({"duration_s": -1.0}, "duration_s"),
    ],
)
def test_segments_from_probs_rejects_bad_config(kwargs: dict[str, Any], name: str) -> None:
    args: dict[str, Any] = {"frame_hop_s": HOP, "duration_s": 1.0}
    args.update(kwargs)
    with pytest.raises(ConfigError, match=name) as excinfo:
        segments_from_probs(np.full(100, 0.9), **args)
    assert "\n" not in str(excinfo.value)


def test_segments_from_probs_on_an_hour_of_frames() -> None:
    probs = np.random.default_rng(3).random(360_000)
    segs = segments_from_probs(
        probs, HOP, 3600.0, min_speech_s=0.02, min_silence_s=0.0, pad_s=0.0, max_segment_s=0.3
    )
    assert len(segs) > 1000
    assert all(0.02 - 1e-9 <= s.duration <= 0.3 + 1e-9 for s in segs)
    assert all(a.end <= b.start for a, b in zip(segs, segs[1:], strict=False))
    assert segs[-1].end <= 3600.0


@st.composite
def _run_probs(draw: st.DrawFn) -> npt.NDArray[np.float64]:
    """Probabilities made of runs, like a model's output."""
    runs = draw(
        st.lists(
            st.tuples(st.sampled_from([0.0, 0.2, 0.4, 0.5, 0.6, 0.9, 1.0]), st.integers(1, 40)),
            max_size=25,
        )
    )
    values = [value for value, _ in runs]
    counts = [count for _, count in runs]
    return np.repeat(np.array(values, dtype=np.float64), counts)


_DURATION = st.one_of(st.just(0.0), st.floats(0.0, 0.5), st.sampled_from([0.01, 0.1, 0.25, 0.3]))


@settings(max_examples=300, deadline=None, database=None)
@given(
    probs=_run_probs(),
    hop=st.sampled_from([0.01, 0.016, 0.02, 0.032, 0.1]),
    onset=st.floats(0.05, 1.0),
    min_speech_s=_DURATION,
    min_silence_s=_DURATION,
    pad_s=st.one_of(st.just(0.0), st.floats(0.0, 0.2)),
    max_segment_s=st.one_of(st.none(), st.floats(0.1, 1.0), st.sampled_from([0.1, 0.3, 0.5])),
    duration_scale=st.one_of(st.just(1.0), st.floats(0.5, 1.2)),
)
def test_segments_from_probs_properties(
    probs: npt.NDArray[np.float64],
    hop: float,
    onset: float,
    min_speech_s: float,
    min_silence_s: float,
    pad_s: float,
    max_segment_s: float | None,
    duration_scale: float,
) -> None:
    duration_s = probs.size * hop * duration_scale
    segs = segments_from_probs(
        probs,
        hop,
        duration_s,
        onset=onset,
        min_speech_s=min_speech_s,
        min_silence_s=min_silence_s,
        pad_s=pad_s,
        max_segment_s=max_segment_s,
    )
    eps = 1e-9
    for seg in segs:
        assert 0.0 <= seg.start < seg.end <= duration_s + eps
        if max_segment_s is not None:
            assert seg.duration <= max_segment_s + 2 * pad_s + eps
    for prev, nxt in zip(segs, segs[1:], strict=False):
        assert prev.end <= nxt.start + eps  # sorted and disjoint
    if pad_s == 0.0 and duration_scale >= 1.0:
        shortest = min_speech_s
        if max_segment_s is not None:  # pieces of a split segment are at least half the max
            shortest = min(min_speech_s, max_segment_s / 2 - hop / 2)
        for seg in segs:
            assert seg.duration >= shortest - eps
        if max_segment_s is None:
            for prev, nxt in zip(segs, segs[1:], strict=False):
                assert nxt.start - prev.end >= min_silence_s - eps


# --- to_targets -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spans", "n_frames", "hop", "expected"),
    [
        ([(0.02, 0.05)], 7, HOP, [0, 0, 1, 1, 1, 0, 0]),
        ([(0.04, 0.06), (0.0, 0.1)], 12, HOP, [1] * 10 + [0, 0]),  # unsorted, overlapping
        ([(0.0, 0.1), (0.02, 0.03)], 12, HOP, [1] * 10 + [0, 0]),  # inner ends early
        ([(0.25, 0.75)], 3, 0.5, [1, 0, 0]),  # centre on start: in; on end: out
        ([(0.026, 0.034)], 5, HOP, [0, 0, 0, 0, 0]),  # holds no centre
        ([], 4, HOP, [0, 0, 0, 0]),
        ([(0.0, 1.0)], 0, HOP, []),
        ([(0.0, 0.5)], 3, HOP, [1, 1, 1]),  # beyond n_frames
    ],
)
def test_to_targets_table(spans: Spans, n_frames: int, hop: float, expected: list[int]) -> None:
    targets = to_targets(_segs(spans), n_frames, hop)
    assert targets.dtype == np.float32
    assert targets.shape == (n_frames,)
    assert targets.tolist() == [float(x) for x in expected]


def test_to_targets_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="n_frames"):
        to_targets([], -1, HOP)
    with pytest.raises(ConfigError, match="frame_hop_s"):
        to_targets([], 3, -HOP)


@settings(max_examples=300, deadline=None, database=None)
@given(
    mask=st.lists(st.booleans(), max_size=300),
    hop=st.sampled_from([0.01, 0.016, 0.02, 0.032, 0.1, 1 / 3, 0.5]),
)
def test_targets_of_mask_segments_are_the_mask(mask: list[bool], hop: float) -> None:
    array = np.array(mask, dtype=bool)
    targets = to_targets(mask_to_segments(array, hop), array.size, hop)
    np.testing.assert_array_equal(targets, array.astype(np.float32))
