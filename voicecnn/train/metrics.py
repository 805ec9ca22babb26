"""Frame- and segment-level detection metrics and accuracy, in plain numpy (no scikit-learn)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from voicecnn.detection.segments import Segment

__all__ = ["accuracy", "f1_at", "false_alarm_rate", "roc_auc", "match_segments", "SegmentMatch"]


def roc_auc(scores: npt.ArrayLike, labels: npt.ArrayLike) -> float:
    """Area under the ROC curve from ranks (Mann-Whitney U); tied scores count one half.

    Args:
        scores: Higher means more likely positive, any shape.
        labels: Same shape; nonzero (or > 0.5 for floats) is positive.

    Returns:
        AUC in [0, 1], or NaN when only one class is present.
    """
    s = np.asarray(scores, dtype=np.float64).ravel()
    y = np.asarray(labels).ravel() > 0.5
    n_pos = int(y.sum())
    n_neg = y.size - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    _, group, counts = np.unique(s, return_inverse=True, return_counts=True)
    ranks = (np.cumsum(counts) - (counts - 1) / 2.0)[group]  # 1-based, ties share their mean
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def f1_at(scores: npt.ArrayLike, labels: npt.ArrayLike, threshold: float = 0.5) -> dict[str, float]:
    """Precision, recall and F1 of ``scores >= threshold`` against the labels.

    Empty denominators give 0.0 (no prediction: precision 0; no positive: recall 0).
    """
    pred = np.asarray(scores, dtype=np.float64).ravel() >= threshold
    y = np.asarray(labels).ravel() > 0.5
    tp = float(np.sum(pred & y))
    precision = tp / pred.sum() if pred.any() else 0.0
    recall = tp / y.sum() if y.any() else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
    return {"precision": precision, "recall": recall, "f1": f1}


def false_alarm_rate(
    scores: npt.ArrayLike, labels: npt.ArrayLike | None, threshold: float = 0.5
) -> float:
    """Fraction of non-speech frames with ``score >= threshold``.

    Args:
        scores: Frame scores.
        labels: Frame labels, or ``None`` when every frame is non-speech.
        threshold: Decision threshold.

    Returns:
        The rate in [0, 1], or NaN when there is no non-speech frame.
    """
    s = np.asarray(scores, dtype=np.float64).ravel()
    neg = np.ones(s.size, bool) if labels is None else np.asarray(labels).ravel() <= 0.5
    if not neg.any():
        return float("nan")
    return float(np.mean(s[neg] >= threshold))


def accuracy(logits: npt.ArrayLike, labels: npt.ArrayLike) -> float:
    """Share of rows of (N, K) ``logits`` whose arg-max is the (N,) class label; NaN if N = 0."""
    pred = np.asarray(logits).argmax(axis=-1)
    y = np.asarray(labels).ravel()
    return float(np.mean(pred == y)) if y.size else float("nan")


def _overlap(a: Segment, b: Segment) -> float:
    return max(0.0, min(a.end, b.end) - max(a.start, b.start))


@dataclass(frozen=True)
class SegmentMatch:
    """Counts of a segment-level comparison; add matches of several files with ``+``.

    Attributes:
        n_ref: Reference segments.
        n_hyp: Detected segments.
        hits: Pairs whose start and end both lie within the collar.
        start_errors_s: Start error (detected minus reference, seconds: > 0 is late) of
            every overlapping pair, in reference order.
        end_errors_s: End error (detected minus reference) of every overlapping pair.
    """

    n_ref: int = 0
    n_hyp: int = 0
    hits: int = 0
    start_errors_s: tuple[float, ...] = ()
    end_errors_s: tuple[float, ...] = ()

    def __add__(self, other: SegmentMatch) -> SegmentMatch:
        return SegmentMatch(
            self.n_ref + other.n_ref,
            self.n_hyp + other.n_hyp,
            self.hits + other.hits,
            self.start_errors_s + other.start_errors_s,
            self.end_errors_s + other.end_errors_s,
        )

    def figures(self) -> dict[str, float]:
        """Segment precision (hits / detected), recall (hits / reference), F1 and the median
        absolute start and end errors in seconds (NaN without overlapping pairs)."""
        precision = self.hits / self.n_hyp if self.n_hyp else 0.0
        recall = self.hits / self.n_ref if self.n_ref else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
        nan = float("nan")
        pairs = bool(self.start_errors_s)
        return {
            "seg_precision": precision,
            "seg_recall": recall,
            "seg_f1": f1,
            "median_start_error_s": float(np.median(np.abs(self.start_errors_s))) if pairs else nan,
            "median_end_error_s": float(np.median(np.abs(self.end_errors_s))) if pairs else nan,
        }


def match_segments(
    reference: Sequence[Segment], hypothesis: Sequence[Segment], collar_s: float = 0.2
) -> SegmentMatch:
    """Pair detected segments with reference segments, one to one, greedily by overlap.

    Pairs are taken largest overlap first (ties: lower reference, then detection index);
    segments that only touch do not overlap.

    Args:
        reference: True speech segments (seconds).
        hypothesis: Detected segments (seconds).
        collar_s: Boundary tolerance in seconds: a pair is a hit when both its starts and its
            ends differ by at most this.

    Returns:
        The counts and the signed boundary errors of the pairs, in reference order.
    """
    pairs = sorted(
        (-_overlap(r, h), i, j)
        for i, r in enumerate(reference)
        for j, h in enumerate(hypothesis)
        if _overlap(r, h) > 0
    )
    used_r: set[int] = set()
    used_h: set[int] = set()
    matched: list[tuple[int, int]] = []
    for _, i, j in pairs:
        if i in used_r or j in used_h:
            continue
        used_r.add(i)
        used_h.add(j)
        matched.append((i, j))
    matched.sort()
    starts = [hypothesis[j].start - reference[i].start for i, j in matched]
    ends = [hypothesis[j].end - reference[i].end for i, j in matched]
    hits = sum(abs(s) <= collar_s and abs(e) <= collar_s for s, e in zip(starts, ends, strict=True))
    return SegmentMatch(len(reference), len(hypothesis), hits, tuple(starts), tuple(ends))
