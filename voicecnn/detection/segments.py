"""From frame speech probabilities to speech segments.

Frame ``t`` covers the time ``[t * frame_hop_s, (t + 1) * frame_hop_s)``. Everything here works
on integer frame indices and converts to seconds only when it makes :class:`Segment` objects, so
no decision depends on how a float happens to round. Duration thresholds become frame counts
with a tolerance of 1e-6 frame: a minimum (``min_speech_s``, ``min_silence_s``) rounds up and a
maximum (``max_segment_s``) rounds down, so the guarantees hold exactly; for thresholds that are
whole numbers of frames (the usual case) this is the same as ``round(x / frame_hop_s)``.

The chain :func:`segments_from_probs` runs is :func:`hysteresis` -> :func:`mask_to_segments` ->
:func:`merge_gaps` -> :func:`drop_short` -> :func:`split_long` -> :func:`pad`. Every step is
vectorised over frames; only :func:`split_long` loops, once per cut.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from voicecnn.errors import ConfigError

__all__ = [
    "Segment",
    "clean_mask",
    "drop_short",
    "hysteresis",
    "mask_to_segments",
    "merge_gaps",
    "pad",
    "SegmentRules",
    "segments_from_probs",
    "split_long",
    "to_targets",
]

_FRAME_TOLERANCE = 1e-6
"""How far (in frames) a duration may sit past a whole number of frames and still count as it."""

_OFFSET_BELOW_ONSET = 0.15
_MIN_DEFAULT_OFFSET = 0.01

_IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class Segment:
    """A stretch of speech, in seconds from the start of the audio.

    Attributes:
        start: Start time in seconds (>= 0).
        end: End time in seconds (>= start); the segment is ``[start, end)``.
    """

    start: float
    end: float

    def __post_init__(self) -> None:
        """Store plain floats and check that ``0 <= start <= end`` (both finite).

        Raises:
            ValueError: If a bound is not a finite number or they are out of order.
        """
        start, end = float(self.start), float(self.end)
        if not (math.isfinite(start) and math.isfinite(end)):
            raise ValueError(f"segment bounds must be finite, got start={start}, end={end}")
        if not 0.0 <= start <= end:
            raise ValueError(f"segment needs 0 <= start <= end, got start={start}, end={end}")
        object.__setattr__(self, "start", start)
        object.__setattr__(self, "end", end)

    @property
    def duration(self) -> float:
        """Length of the segment in seconds."""
        return self.end - self.start

    def to_dict(self) -> dict[str, float]:
        """Return ``{"start": ..., "end": ...}`` in seconds, rounded to 3 decimals."""
        return {"start": round(self.start, 3), "end": round(self.end, 3)}


# --- validation and unit conversion -------------------------------------------------------


def _check_hop(frame_hop_s: float) -> float:
    """Return ``frame_hop_s`` as a float if it is a finite positive number of seconds.

    Raises:
        ConfigError: Otherwise.
    """
    hop = float(frame_hop_s)
    if not (math.isfinite(hop) and hop > 0):
        raise ConfigError(f"frame_hop_s must be a positive number of seconds, got {frame_hop_s}")
    return hop


MAX_RULE_S = 86_400.0
"""Longest rule duration (min speech, min silence, pad, max segment) in seconds: one day, so
frame counts stay far inside int64 at any frame hop a checked model can have."""


def check_rule_s(
    value: float | None, name: str, *, positive: bool = False, limit: float = MAX_RULE_S
) -> float:
    """Return a duration as a float if it is a number of seconds in [0, ``limit``]
    (in (0, ``limit``] when ``positive``); ``limit`` is :data:`MAX_RULE_S` for rule durations
    and ``math.inf`` for a recording's length.

    Raises:
        ConfigError: Otherwise (NaN, infinities, negative, too large, not a number), naming
            ``name``.
    """
    try:
        seconds = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError) as e:
        raise ConfigError(f"{name} must be a number of seconds, got {value!r}") from e
    low_ok = seconds > 0 if positive else seconds >= 0
    if not (math.isfinite(seconds) and low_ok and seconds <= limit):
        if not math.isfinite(limit):
            raise ConfigError(f"{name} must be a number of seconds >= 0, got {value}")
        lo = "(0" if positive else "[0"
        raise ConfigError(f"{name} must be in {lo}, {limit:g}] seconds, got {value}")
    return seconds


def _check_threshold(value: float, name: str) -> float:
    """Return ``value`` as a float if it lies in [0, 1].

    Raises:
        ConfigError: Otherwise, naming the parameter ``name``.
    """
    threshold = float(value)
    if not 0.0 <= threshold <= 1.0:
        raise ConfigError(f"{name} must lie in [0, 1], got {value}")
    return threshold


def _max_frames(max_len_s: float | None, frame_hop_s: float, name: str) -> int | None:
    """Convert a maximum length to whole frames (rounding down); None means no limit.

    Raises:
        ConfigError: If the maximum is not positive or shorter than one frame.
    """
    if max_len_s is None:
        return None
    seconds = float(max_len_s)
    if not seconds > 0:
        raise ConfigError(f"{name} must be a positive number of seconds or None, got {max_len_s}")
    if seconds > MAX_RULE_S:  # inf included: longer than any segment can be
        return None
    n_frames = math.floor(seconds / frame_hop_s + _FRAME_TOLERANCE)
    if n_frames < 1:
        raise ConfigError(f"{name} must be at least one frame ({frame_hop_s} s), got {max_len_s}")
    return n_frames


def _min_frames(min_len_s: float, frame_hop_s: float) -> int:
    """Convert a (checked) minimum length to whole frames, rounding up."""
    return max(0, math.ceil(min_len_s / frame_hop_s - _FRAME_TOLERANCE))


def _as_probs(probs: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Return frame probabilities as a 1-D float64 array.

    Raises:
        ValueError: If ``probs`` is not 1-D.
    """
    array = np.asarray(probs, dtype=np.float64)
    if array.ndim != 1:
        raise ValueError(f"probs must be 1-D (n_frames,), got shape {array.shape}")
    return array


def _to_frames(segs: Iterable[Segment], frame_hop_s: float) -> tuple[_IntArray, _IntArray]:
    """Frame indices ``(starts, ends)`` of segments, sorted by start, boundaries on the grid."""
    bounds = np.array([(seg.start, seg.end) for seg in segs], dtype=np.float64).reshape(-1, 2)
    frames = np.rint(bounds / frame_hop_s).astype(np.int64)
    order = np.argsort(frames[:, 0], kind="stable")
    return frames[order, 0], frames[order, 1]


def _to_segments(starts: _IntArray, ends: _IntArray, frame_hop_s: float) -> list[Segment]:
    """Segments in seconds from frame indices ``[starts, ends)``."""
    return [
        Segment(start * frame_hop_s, end * frame_hop_s)
        for start, end in zip(starts.tolist(), ends.tolist(), strict=True)
    ]


# --- the steps, on frame indices --------------------------------------------------------


def _mask_runs(mask: npt.NDArray[np.bool_]) -> tuple[_IntArray, _IntArray]:
    """Frame indices ``[starts, ends)`` of the runs of True in a 1-D mask."""
    edges = np.diff(np.concatenate(([0], mask.astype(np.int8), [0])))
    starts = np.flatnonzero(edges == 1).astype(np.int64)
    ends = np.flatnonzero(edges == -1).astype(np.int64)
    return starts, ends


def _merge_gap_frames(
    starts: _IntArray, ends: _IntArray, min_gap: int
) -> tuple[_IntArray, _IntArray]:
    """Join neighbours separated by fewer than ``min_gap`` frames."""
    if starts.size == 0:
        return starts, ends
    keep_gap = starts[1:] - ends[:-1] >= min_gap
    return starts[np.concatenate(([True], keep_gap))], ends[np.concatenate((keep_gap, [True]))]


def _drop_short_frames(
    starts: _IntArray, ends: _IntArray, min_len: int
) -> tuple[_IntArray, _IntArray]:
    """Keep segments at least ``min_len`` frames long."""
    keep = ends - starts >= min_len
    return starts[keep], ends[keep]


def _cut_window(start: int, end: int, max_len: int) -> tuple[int, int]:
    """Cut points ``[lo, hi]`` allowed for the next cut of ``[start, end)``.

    The window is the second half of the allowed length, ``[start + ceil(max/2), start + max]``.
    When this cut is the last one (``end - start <= 2 * max``) it is narrowed so the remainder
    is also between ``ceil(max/2)`` and ``max`` frames long. The result is never empty.
    """
    half = -(-max_len // 2)
    lo, hi = start + half, start + max_len
    if end - start <= 2 * max_len:
        lo, hi = max(lo, end - max_len), min(hi, end - half)
    return lo, hi


def _split_long_frames(
    starts: _IntArray, ends: _IntArray, max_len: int | None, probs: npt.NDArray[np.float64]
) -> tuple[_IntArray, _IntArray]:
    """Cut segments longer than ``max_len`` frames at their least speech-like frames.

    Each cut goes at the start of the frame with the lowest probability in the window that
    :func:`_cut_window` gives (ties go to the latest frame); the pieces touch.
    """
    if max_len is None or starts.size == 0 or int(np.max(ends - starts)) <= max_len:
        return starts, ends
    new_starts: list[int] = []
    new_ends: list[int] = []
    for start, end in zip(starts.tolist(), ends.tolist(), strict=True):
        while end - start > max_len:
            lo, hi = _cut_window(start, end, max_len)
            window = probs[lo : hi + 1]
            cut = hi - int(np.argmin(window[::-1]))
            new_starts.append(start)
            new_ends.append(cut)
            start = cut
        new_starts.append(start)
        new_ends.append(end)
    return np.array(new_starts, dtype=np.int64), np.array(new_ends, dtype=np.int64)


def _pad_seconds(
    starts_s: npt.NDArray[np.float64],
    ends_s: npt.NDArray[np.float64],
    pad_s: float,
    duration_s: float,
) -> list[Segment]:
    """Pad sorted disjoint segments (in seconds), meeting at gap midpoints, clipped to duration.

    Segments that end up empty (they lay beyond ``duration_s``) are dropped.
    """
    if starts_s.size == 0:
        return []
    new_starts = starts_s - pad_s
    new_ends = ends_s + pad_s
    midpoints = (ends_s[:-1] + starts_s[1:]) / 2
    new_ends[:-1] = np.minimum(new_ends[:-1], midpoints)
    new_starts[1:] = np.maximum(new_starts[1:], midpoints)
    new_starts = np.clip(new_starts, 0.0, duration_s)
    new_ends = np.clip(new_ends, 0.0, duration_s)
    keep = new_ends > new_starts
    return [
        Segment(start, end)
        for start, end in zip(new_starts[keep].tolist(), new_ends[keep].tolist(), strict=True)
    ]


# --- public API ---------------------------------------------------------------------------


def hysteresis(probs: npt.ArrayLike, onset: float, offset: float) -> npt.NDArray[np.bool_]:
    """Threshold frame probabilities with hysteresis.

    The state starts off, turns on at a frame with ``p >= onset``, turns off at a frame with
    ``p < offset`` and otherwise keeps its previous value (so a NaN keeps it too).

    Args:
        probs: Speech probabilities, shape (n_frames,).
        onset: Probability in [0, 1] at or above which speech starts.
        offset: Probability in [0, onset] below which speech stops.

    Returns:
        Boolean speech mask, shape (n_frames,).

    Raises:
        ConfigError: Unless ``0 <= offset <= onset <= 1``.
        ValueError: If ``probs`` is not 1-D.
    """
    onset = _check_threshold(onset, "onset")
    offset = _check_threshold(offset, "offset")
    if offset > onset:
        raise ConfigError(f"offset must not exceed onset, got onset={onset}, offset={offset}")
    p = _as_probs(probs)
    turn_on = p >= onset
    decided = turn_on | (p < offset)
    last_decided = np.maximum.accumulate(np.where(decided, np.arange(p.size), -1))
    return np.where(last_decided >= 0, turn_on[np.maximum(last_decided, 0)], False)


def clean_mask(mask: npt.ArrayLike, *, min_gap: int, min_run: int) -> npt.NDArray[np.bool_]:
    """Fill gaps shorter than ``min_gap`` frames, then clear runs shorter than ``min_run``.

    The frame-level gap filling and dropping of :func:`segments_from_probs`, for masks (e.g.
    labels derived from energy).
    """
    array = np.asarray(mask, dtype=bool)
    starts, ends = _merge_gap_frames(*_mask_runs(array), min_gap)
    starts, ends = _drop_short_frames(starts, ends, min_run)
    out = np.zeros(array.shape, dtype=bool)
    for start, end in zip(starts.tolist(), ends.tolist(), strict=True):
        out[start:end] = True
    return out


def mask_to_segments(mask: npt.ArrayLike, frame_hop_s: float) -> list[Segment]:
    """Turn runs of speech frames into segments.

    Args:
        mask: Truthy for speech frames, shape (n_frames,).
        frame_hop_s: Seconds between frame starts.

    Returns:
        One segment ``[first * frame_hop_s, (last + 1) * frame_hop_s)`` per run, in order.

    Raises:
        ConfigError: If ``frame_hop_s`` is not positive.
        ValueError: If ``mask`` is not 1-D.
    """
    hop = _check_hop(frame_hop_s)
    array = np.asarray(mask).astype(bool)
    if array.ndim != 1:
        raise ValueError(f"mask must be 1-D (n_frames,), got shape {array.shape}")
    return _to_segments(*_mask_runs(array), hop)


def merge_gaps(segs: Sequence[Segment], min_gap_s: float, frame_hop_s: float) -> list[Segment]:
    """Join neighbouring segments separated by a gap shorter than ``min_gap_s``.

    Boundaries are taken to the frame grid (``round(t / frame_hop_s)``).

    Args:
        segs: Disjoint segments, in any order.
        min_gap_s: Shortest silence in seconds that is kept.
        frame_hop_s: Seconds between frame starts.

    Returns:
        Sorted segments, with every gap at least ``min_gap_s`` long.

    Raises:
        ConfigError: If ``min_gap_s`` is negative or ``frame_hop_s`` not positive.
    """
    hop = _check_hop(frame_hop_s)
    min_gap = _min_frames(check_rule_s(min_gap_s, "min_gap_s"), hop)
    return _to_segments(*_merge_gap_frames(*_to_frames(segs, hop), min_gap), hop)


def drop_short(segs: Sequence[Segment], min_len_s: float, frame_hop_s: float) -> list[Segment]:
    """Drop segments shorter than ``min_len_s``.

    Boundaries are taken to the frame grid (``round(t / frame_hop_s)``).

    Args:
        segs: Segments, in any order.
        min_len_s: Shortest segment in seconds that is kept.
        frame_hop_s: Seconds between frame starts.

    Returns:
        The segments at least ``min_len_s`` long, sorted.

    Raises:
        ConfigError: If ``min_len_s`` is negative or ``frame_hop_s`` not positive.
    """
    hop = _check_hop(frame_hop_s)
    min_len = _min_frames(check_rule_s(min_len_s, "min_len_s"), hop)
    return _to_segments(*_drop_short_frames(*_to_frames(segs, hop), min_len), hop)


def split_long(
    segs: Sequence[Segment],
    max_len_s: float | None,
    probs: npt.ArrayLike,
    frame_hop_s: float,
) -> list[Segment]:
    """Cut segments longer than ``max_len_s`` at their least speech-like frames.

    A segment longer than the maximum is cut at the start of the frame with the lowest
    probability (ties: the latest such frame) among cut points ``[start + max/2, start + max]``
    frames, then the rest is treated the same way. The last cut of a segment is further kept
    within ``[end - max, end - max/2]``, so every piece is between half the maximum and the
    maximum long. Pieces touch: each ends where the next starts. Boundaries are taken to the
    frame grid (``round(t / frame_hop_s)``).

    Args:
        segs: Segments, in any order.
        max_len_s: Longest allowed segment in seconds; None or infinity for no limit.
        probs: Speech probabilities, shape (n_frames,), covering every segment.
        frame_hop_s: Seconds between frame starts.

    Returns:
        Sorted segments, none longer than ``max_len_s``.

    Raises:
        ConfigError: If ``max_len_s`` is not positive or shorter than a frame, or
            ``frame_hop_s`` is not positive.
        ValueError: If ``probs`` is not 1-D or does not cover every segment.
    """
    hop = _check_hop(frame_hop_s)
    max_len = _max_frames(max_len_s, hop, "max_len_s")
    p = _as_probs(probs)
    starts, ends = _to_frames(segs, hop)
    if ends.size and int(ends.max()) > p.size:
        raise ValueError(f"probs has {p.size} frames but a segment ends at frame {int(ends.max())}")
    return _to_segments(*_split_long_frames(starts, ends, max_len, p), hop)


def pad(segs: Sequence[Segment], pad_s: float, duration_s: float) -> list[Segment]:
    """Widen segments by ``pad_s`` on each side, keeping them disjoint and within the audio.

    Where two neighbours are closer than ``2 * pad_s`` (touching pieces from :func:`split_long`
    included) they meet at the midpoint of their gap instead of overlapping. Everything is
    clipped to ``[0, duration_s]``; segments left empty by that are dropped.

    Args:
        segs: Disjoint segments, in any order.
        pad_s: Seconds added before and after each segment.
        duration_s: Length of the audio in seconds.

    Returns:
        Sorted, disjoint segments (neighbours may touch).

    Raises:
        ConfigError: If ``pad_s`` or ``duration_s`` is negative.
    """
    pad_s = check_rule_s(pad_s, "pad_s")
    duration_s = check_rule_s(duration_s, "duration_s", limit=math.inf)
    ordered = sorted(segs, key=lambda seg: (seg.start, seg.end))
    starts_s = np.array([seg.start for seg in ordered], dtype=np.float64)
    ends_s = np.array([seg.end for seg in ordered], dtype=np.float64)
    return _pad_seconds(starts_s, ends_s, pad_s, duration_s)


def segments_from_probs(
    probs: npt.ArrayLike,
    frame_hop_s: float,
    duration_s: float,
    *,
    onset: float = 0.5,
    offset: float | None = None,
    min_speech_s: float = 0.25,
    min_silence_s: float = 0.1,
    pad_s: float = 0.03,
    max_segment_s: float | None = None,
) -> list[Segment]:
    """Turn frame speech probabilities into speech segments.

    Runs :func:`hysteresis`, :func:`mask_to_segments`, :func:`merge_gaps` (``min_silence_s``),
    :func:`drop_short` (``min_speech_s``), :func:`split_long` (``max_segment_s``) and
    :func:`pad` (``pad_s``, ``duration_s``) in that order.

    Args:
        probs: Speech probabilities, shape (n_frames,).
        frame_hop_s: Seconds between frame starts.
        duration_s: Length of the audio in seconds; segments are clipped to it.
        onset: Probability in [0, 1] at or above which speech starts.
        offset: Probability in [0, onset] below which speech stops; None for
            ``max(onset - 0.15, 0.01)``, capped at ``onset``.
        min_speech_s: Shortest speech segment in seconds that is kept (before padding).
        min_silence_s: Shortest silence in seconds that is kept; shorter gaps are filled.
        pad_s: Seconds added before and after each segment.
        max_segment_s: Longest segment in seconds before padding; None for no limit.

    Returns:
        Sorted, disjoint segments within ``[0, duration_s]``; [] when ``probs`` is empty.

    Raises:
        ConfigError: If a parameter is out of range; the message names it.
        ValueError: If ``probs`` is not 1-D.
    """
    rules = SegmentRules.from_seconds(
        frame_hop_s, onset=onset, offset=offset, min_speech_s=min_speech_s,
        min_silence_s=min_silence_s, pad_s=pad_s, max_segment_s=max_segment_s,
    )
    return rules.apply(probs, duration_s)


@dataclass(frozen=True)
class SegmentRules:
    """The post-processing rules in whole frames: one object shared by files and streams.

    Build it with :meth:`from_seconds`; :meth:`apply` is :func:`segments_from_probs`. The steps
    (:meth:`runs`, :meth:`split`, :meth:`to_segments`) are exposed for the streaming detector,
    which applies them to a sliding window of frames.

    Attributes:
        frame_hop_s: Seconds per frame.
        onset: Hysteresis onset probability.
        offset: Hysteresis offset probability.
        min_speech: Shortest kept segment, frames.
        min_silence: Shortest kept pause, frames.
        pad_s: Padding in seconds.
        max_len: Longest segment in frames, or None.
    """

    frame_hop_s: float
    onset: float
    offset: float
    min_speech: int
    min_silence: int
    pad_s: float
    max_len: int | None

    @classmethod
    def from_seconds(
        cls,
        frame_hop_s: float,
        *,
        onset: float = 0.5,
        offset: float | None = None,
        min_speech_s: float = 0.25,
        min_silence_s: float = 0.1,
        pad_s: float = 0.03,
        max_segment_s: float | None = None,
    ) -> SegmentRules:
        """Validate settings in seconds and convert them to frames (see segments_from_probs)."""
        hop = _check_hop(frame_hop_s)
        onset = _check_threshold(onset, "onset")
        if offset is None:
            offset = min(max(onset - _OFFSET_BELOW_ONSET, _MIN_DEFAULT_OFFSET), onset)
        offset = _check_threshold(offset, "offset")
        if offset > onset:
            raise ConfigError(f"offset must not exceed onset, got onset={onset}, offset={offset}")
        return cls(
            frame_hop_s=hop,
            onset=onset,
            offset=offset,
            min_speech=_min_frames(check_rule_s(min_speech_s, "min_speech_s"), hop),
            min_silence=_min_frames(check_rule_s(min_silence_s, "min_silence_s"), hop),
            pad_s=check_rule_s(pad_s, "pad_s"),
            max_len=_max_frames(max_segment_s, hop, "max_segment_s"),
        )

    @property
    def pad_frames(self) -> int:
        """``pad_s`` rounded up to whole frames."""
        return math.ceil(self.pad_s / self.frame_hop_s - _FRAME_TOLERANCE)

    def runs(
        self, probs: npt.NDArray[np.float64], *, start_on: bool = False
    ) -> tuple[_IntArray, _IntArray]:
        """Raw speech runs ``[starts, ends)`` after hysteresis, in frames.

        Args:
            probs: Frame probabilities.
            start_on: The hysteresis state before ``probs[0]`` (to continue a stream).
        """
        mask = hysteresis(np.concatenate([[1.0 if start_on else 0.0], probs]), self.onset,
                          self.offset)[1:]
        return _mask_runs(mask)

    def merge(self, starts: _IntArray, ends: _IntArray) -> tuple[_IntArray, _IntArray]:
        """Fill pauses shorter than ``min_silence`` frames: runs -> groups."""
        return _merge_gap_frames(starts, ends, self.min_silence)

    def split(
        self, starts: _IntArray, ends: _IntArray, probs: npt.NDArray[np.float64]
    ) -> tuple[_IntArray, _IntArray]:
        """Cut segments longer than ``max_len`` frames (see :func:`split_long`)."""
        return _split_long_frames(starts, ends, self.max_len, probs)

    def to_segments(self, starts: _IntArray, ends: _IntArray, duration_s: float) -> list[Segment]:
        """Frames -> padded segments in seconds, clipped to ``duration_s``."""
        hop = self.frame_hop_s
        return _pad_seconds(
            starts.astype(np.float64) * hop, ends.astype(np.float64) * hop, self.pad_s,
            check_rule_s(duration_s, "duration_s", limit=math.inf),
        )

    def apply(self, probs: npt.ArrayLike, duration_s: float) -> list[Segment]:
        """Frame probabilities -> speech segments (all steps)."""
        duration_s = check_rule_s(duration_s, "duration_s", limit=math.inf)
        p = _as_probs(probs)
        if p.size == 0:
            return []
        starts, ends = _drop_short_frames(*self.merge(*self.runs(p)), self.min_speech)
        starts, ends = self.split(starts, ends, p)
        return self.to_segments(starts, ends, duration_s)


def to_targets(
    segs: Iterable[Segment], n_frames: int, frame_hop_s: float
) -> npt.NDArray[np.float32]:
    """Frame labels from segments: 1.0 where the frame centre lies in a segment, else 0.0.

    Frame ``t`` counts as speech when ``(t + 0.5) * frame_hop_s`` lies in ``[start, end)`` of
    any segment; segments may be unsorted and may overlap.

    Args:
        segs: Speech segments in seconds.
        n_frames: Number of frames to label.
        frame_hop_s: Seconds between frame starts.

    Returns:
        Float32 labels, shape (n_frames,).

    Raises:
        ConfigError: If ``frame_hop_s`` is not positive.
        ValueError: If ``n_frames`` is negative.
    """
    hop = _check_hop(frame_hop_s)
    if n_frames < 0:
        raise ValueError(f"n_frames must be >= 0, got {n_frames}")
    bounds = np.array([(seg.start, seg.end) for seg in segs], dtype=np.float64).reshape(-1, 2)
    if bounds.shape[0] == 0:
        return np.zeros(n_frames, dtype=np.float32)
    bounds = bounds[np.argsort(bounds[:, 0], kind="stable")]
    reach = np.maximum.accumulate(bounds[:, 1])  # furthest end among segments started so far
    centres = (np.arange(n_frames) + 0.5) * hop
    last_started = np.searchsorted(bounds[:, 0], centres, side="right") - 1
    inside = (last_started >= 0) & (centres < reach[np.maximum(last_started, 0)])
    return inside.astype(np.float32)
