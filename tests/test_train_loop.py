"""voicecnn.train.loop: the LR schedule, a tiny overfitting run, the choice of the best
evaluation, resume state."""

from __future__ import annotations

import itertools
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from voicecnn.errors import CheckpointError
from voicecnn.net.checkpoint import load_module
from voicecnn.net.models import create_model
from voicecnn.train import TrainCfg, f1_at, fit, lr_at, roc_auc


def test_corrupt_resume_state_never_suggests_unpickling(tmp_path: Path) -> None:
    from voicecnn.train.loop import load_state

    run = tmp_path / "run"
    run.mkdir()
    torch.save({"step": 1, "evil": Path("x")}, run / "state.pt")  # an object: not weights_only
    with pytest.raises(CheckpointError) as e:
        load_state(run)
    assert "weights_only" not in str(e.value) and "\n" not in str(e.value)
    (run / "state.pt").write_bytes(b"PK\x03\x04 not a zip at all")
    with pytest.raises(CheckpointError) as e:
        load_state(run)
    assert "weights_only" not in str(e.value) and "\n" not in str(e.value)


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
