"""voicecnn.train.metrics: frame and segment metrics against hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import pytest

from voicecnn.detection.segments import Segment
from voicecnn.train import f1_at, false_alarm_rate, roc_auc
from voicecnn.train.metrics import accuracy, match_segments


def test_roc_auc_hand_values() -> None:
    # Positives 0.35, 0.8 vs negatives 0.1, 0.4: 3 of 4 pairs ordered right.
    assert roc_auc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]) == pytest.approx(0.75)
    assert roc_auc([0, 1, 2, 3], [0, 0, 1, 1]) == 1.0
    assert roc_auc([3, 2, 1, 0], [0, 0, 1, 1]) == 0.0


def test_roc_auc_ties_count_half() -> None:
    assert roc_auc([0.5, 0.5], [1, 0]) == pytest.approx(0.5)
    # Pairs (pos, neg): (1, 1) tie, (1, 0) right, twice -> (0.5 + 1 + 0.5 + 1) / 4.
    assert roc_auc([1, 1, 0, 1], [1, 0, 0, 1]) == pytest.approx(0.75)


def test_roc_auc_one_class_is_nan() -> None:
    assert math.isnan(roc_auc([0.2, 0.3], [1, 1]))
    assert math.isnan(roc_auc([0.2, 0.3], [0.0, 0.0]))


def test_f1_at_hand_values() -> None:
    r = f1_at([0.9, 0.6, 0.4, 0.2], [1, 0, 1, 0], 0.5)
    assert r == pytest.approx({"precision": 0.5, "recall": 0.5, "f1": 0.5})
    r = f1_at([0.9, 0.8, 0.7, 0.2], [1, 1, 0, 1], 0.5)
    assert r == pytest.approx({"precision": 2 / 3, "recall": 2 / 3, "f1": 2 / 3})
    assert f1_at([0.1, 0.2], [1, 0], 0.5) == {"precision": 0.0, "recall": 0.0, "f1": 0.0}


def test_false_alarm_rate() -> None:
    assert false_alarm_rate([0.1, 0.6, 0.5, 0.2], None, 0.5) == pytest.approx(0.5)
    # Only the non-speech frames (labels 0) count: 1 of 2 flagged.
    assert false_alarm_rate([0.9, 0.6, 0.1, 0.9], [1, 0, 0, 1], 0.5) == pytest.approx(0.5)
    assert math.isnan(false_alarm_rate([0.9], [1], 0.5))


def test_match_segments_and_accuracy() -> None:
    ref = [Segment(1.0, 2.0), Segment(3.0, 4.0), Segment(6.0, 7.0)]
    hyp = [Segment(1.1, 2.05), Segment(2.5, 4.5), Segment(8.0, 9.0)]
    m = match_segments(ref, hyp, collar_s=0.2)
    assert (m.n_ref, m.n_hyp, m.hits) == (3, 3, 1)
    assert m.start_errors_s == pytest.approx((0.1, -0.5))  # signed, in reference order
    assert m.end_errors_s == pytest.approx((0.05, 0.5))
    assert m.figures()["median_start_error_s"] == pytest.approx(0.3)  # of magnitudes
    # one to one, largest overlap first; touching is not overlapping
    wide = match_segments([Segment(0.0, 0.1), Segment(0.12, 0.3)], [Segment(0.0, 0.3)])
    assert wide.start_errors_s == pytest.approx((-0.12,)) and wide.end_errors_s == (0.0,)
    assert match_segments([Segment(0.0, 0.05)], [Segment(0.05, 0.09)]).start_errors_s == ()
    fig = (m + match_segments([], [Segment(0.0, 0.5)])).figures()
    assert fig["seg_precision"] == pytest.approx(1 / 4)
    assert fig["seg_recall"] == pytest.approx(1 / 3)
    assert fig["median_start_error_s"] == pytest.approx(0.3)
    assert np.isnan(match_segments([], []).figures()["median_end_error_s"])
    assert accuracy([[0.1, 0.9], [2.0, 1.0], [0.0, 1.0]], [1, 0, 0]) == pytest.approx(2 / 3)
