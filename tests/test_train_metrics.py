"""Frame metrics against hand-computed values, the LR schedule, and a tiny overfitting run."""

from __future__ import annotations

import itertools
import math
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from voicecnn.detection.segments import Segment
from voicecnn.net.checkpoint import load_module
from voicecnn.net.models import create_model
from voicecnn.train import TrainCfg, f1_at, false_alarm_rate, fit, lr_at, roc_auc
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


def test_lr_schedule() -> None:
    cfg = TrainCfg(lr=1e-3, min_lr_ratio=0.1, warmup_steps=10, max_steps=110)
    assert lr_at(0, cfg) == pytest.approx(1e-4)
    assert lr_at(9, cfg) == pytest.approx(1e-3)
    assert lr_at(60, cfg) == pytest.approx(0.55e-3)
    assert lr_at(110, cfg) == pytest.approx(1e-4)
    assert lr_at(500, cfg) == pytest.approx(1e-4)
    # A time budget half spent puts the cosine half way, whatever the step.
    assert lr_at(20, cfg, progress=0.5) == pytest.approx(0.55e-3)
    assert lr_at(5, cfg, progress=0.9) == pytest.approx(0.6e-3)  # warmup counts steps


def test_fit_overfits_one_batch(tmp_path: Path) -> None:
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    n_frames, hop = 100, 160
    labels = np.zeros((4, n_frames), np.float32)
    for row in labels:
        a = int(rng.integers(10, 50))
        row[a : a + int(rng.integers(20, 40))] = 1.0
    t = np.arange(n_frames * hop) / 16000
    tone = 0.3 * np.sin(2 * np.pi * 440 * t) * (1 + 0.5 * np.sin(2 * np.pi * 3 * t))
    wave = 1e-3 * rng.standard_normal((4, n_frames * hop)) + np.repeat(labels, hop, 1) * tone
    batch = (torch.tensor(wave, dtype=torch.float32), torch.tensor(labels))
    model = create_model("vad_cnn1d_xs")

    @torch.no_grad()
    def evaluate(m: torch.nn.Module) -> dict[str, float]:
        p = torch.sigmoid(m(batch[0])).numpy()
        return {"auc": roc_auc(p, labels), "f1": f1_at(p, labels)["f1"]}

    cfg = TrainCfg(lr=1e-2, warmup_steps=5, max_steps=60, eval_every=30, select_metric="f1")
    start = time.monotonic()
    history = fit(
        model,
        itertools.repeat(batch),
        evaluate,
        cfg,
        device="cpu",
        log=lambda s: None,
        out_dir=tmp_path,
        arch="vad_cnn1d_xs",
    )
    assert time.monotonic() - start < 10
    assert [h["step"] for h in history] == [30, 60]
    assert history[-1]["train_loss"] < history[0]["train_loss"]
    assert history[-1]["auc"] > 0.99 and history[-1]["f1"] > 0.95
    assert (tmp_path / "last.safetensors").is_file() and (tmp_path / "log.csv").is_file()
    best = load_module(tmp_path / "best.safetensors")
    assert evaluate(best)["f1"] == pytest.approx(max(h["f1"] for h in history), abs=1e-6)


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


def test_select_row_ties_and_nan() -> None:
    from voicecnn.train import TrainCfg, select_row

    rows = [
        {"step": 1, "auc": 0.90, "mix": 0.5},
        {"step": 2, "auc": 0.95, "mix": 0.6},
        {"step": 3, "auc": 0.949, "mix": 0.9},
        {"step": 4, "auc": float("nan"), "mix": 1.0},
        {"step": 5, "auc": 0.95, "mix": 0.1},
    ]
    assert select_row(rows, TrainCfg(select_metric="auc")) == 1  # the earliest best
    tied = TrainCfg(select_metric="auc", select_tolerance=0.002, select_tiebreak="mix")
    assert select_row(rows, tied) == 2
    assert select_row(rows, TrainCfg(select_metric="auc", select_tolerance=0.1)) == 0
    assert select_row(rows, TrainCfg(select_metric="missing")) == 0
    with pytest.raises(ValueError, match="no evaluation"):
        select_row([], TrainCfg())
