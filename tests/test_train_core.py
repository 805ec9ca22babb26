"""The shared run on generated recordings: train -> evaluate -> export -> detect, resume after an
interruption, the time budget, CUDA."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf
import torch
from safetensors.torch import load_file
from typer.testing import CliRunner

import voicecnn as vc
from tests.train_data import (
    vad_config,
    write_toml,
)
from voicecnn.cli import app
from voicecnn.detection.segments import Segment
from voicecnn.errors import CheckpointError
from voicecnn.train.metrics import match_segments
from voicecnn.train.run import load_run_cfg, run_cfg_from_dict, train

runner = CliRunner()


@pytest.mark.slow  # the whole run, ONNX export included
def test_train_evaluate_export_detect(recordings: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    cfg = write_toml(vad_config(recordings, out), tmp_path / "c.toml")
    result = runner.invoke(app, ["train", str(cfg), "--set", "threads=1"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["roc_auc"] > 0.9
    for name in (
        "best.safetensors",
        "last.safetensors",
        "state.pt",
        "log.csv",
        "card.json",
        "config.toml",
    ):
        assert (out / name).is_file(), name
    assert [r.split(",")[0] for r in (out / "log.csv").read_text().split()[1:]] == ["20", "40"]
    card = json.loads((out / "card.json").read_text())
    assert vc.read_metadata(out / "best.safetensors")["card"] == card
    assert card["arch"] == "vad_cnn1d_xs" and card["steps"] == 40 and card["params"] > 0
    assert card["train_recordings"] == 4 and card["val_recordings"] == 2
    assert card["config"]["threads"] == 1 and card["validation"]["roc_auc"] > 0.9
    # the resolved config reruns as it is; strict JSON in the card (the unset budget is null)
    rerun = load_run_cfg(out / "config.toml")
    assert rerun.threads == 1 and rerun == replace(load_run_cfg(cfg), threads=1)
    assert card["config"]["train"]["max_minutes"] is None
    assert "Infinity" not in (out / "card.json").read_text()

    result = runner.invoke(
        app, ["evaluate", str(out / "best.safetensors"), str(recordings), "-f", "json"]
    )
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout)
    assert figures["recordings"] == 6 and figures["roc_auc"] > 0.9 and figures["seg_recall"] > 0.5

    onnx = tmp_path / "vad.onnx"
    result = runner.invoke(app, ["export", str(out / "best.safetensors"), "--onnx", str(onnx)])
    assert result.exit_code == 0, result.output
    result = runner.invoke(
        app, ["detect", str(recordings / "rec0.wav"), "-m", str(onnx), "-f", "json"]
    )
    assert result.exit_code == 0, result.output
    found = [Segment(s["start"], s["end"]) for s in json.loads(result.stdout)["segments"]]
    truth = vc.data.annotations.read_csv_segments(recordings / "rec0.csv")
    assert match_segments(truth, found).figures()["seg_recall"] >= 0.5


def _stop_at(step: int) -> Any:
    def on_step(done: int, loss: float) -> None:
        if done == step:
            raise KeyboardInterrupt

    return on_step


def test_resume_continues_where_the_run_stopped(recordings: Path, tmp_path: Path) -> None:
    # 2 batches per epoch: the save at step 15 is in the middle of an epoch.
    steps = {"max_steps": 45, "eval_every": 15}
    whole = run_cfg_from_dict(vad_config(recordings, tmp_path / "whole", **steps))
    reference = train(whole, device=torch.device("cpu"), log=lambda s: None)
    cut = run_cfg_from_dict(vad_config(recordings, tmp_path / "cut", **steps))
    with pytest.raises(KeyboardInterrupt):
        train(cut, device=torch.device("cpu"), log=lambda s: None, on_step=_stop_at(22))
    assert torch.load(tmp_path / "cut" / "state.pt", weights_only=True)["step"] == 15
    with pytest.raises(CheckpointError, match="--resume"):
        train(cut, device=torch.device("cpu"), log=lambda s: None)
    notes: list[str] = []
    resumed = train(cut, device=torch.device("cpu"), resume=True, log=notes.append)
    assert "resuming at step 15" in notes
    assert [r["step"] for r in resumed.history] == [15, 30, 45]
    assert len((tmp_path / "cut" / "log.csv").read_text().split()) == 4  # header + 3 rows
    # Same data order, RNG and optimiser state: the resumed run ends where the whole run did.
    a = load_file(tmp_path / "whole" / "last.safetensors")
    b = load_file(tmp_path / "cut" / "last.safetensors")
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=0, atol=0)
    assert resumed.history[-1]["roc_auc"] == pytest.approx(reference.history[-1]["roc_auc"])


def test_time_budget_and_mixed_clips(recordings: Path, tmp_path: Path) -> None:
    # Clip folders mixed on the fly beside the annotated recordings, loaded by 2 workers.
    clips = tmp_path / "clips"
    for kind in ("speech", "nonspeech"):
        (clips / kind).mkdir(parents=True)
    rng = np.random.default_rng(1)
    for i in range(3):
        sf.write(clips / "speech" / f"s{i}.wav", sf.read(recordings / f"rec{i}.wav")[0], 16000)
        sf.write(clips / "nonspeech" / f"n{i}.wav", 0.1 * rng.standard_normal(16000), 16000)
    raw = vad_config(recordings, tmp_path / "run", max_minutes=1e-9, eval_every=1000)
    raw["data"] = {**raw["data"], "clips": str(clips), "clip_items": 8, "workers": 2}
    result = train(run_cfg_from_dict(raw), device=torch.device("cpu"), log=lambda s: None)
    assert [r["step"] for r in result.history] == [1]  # out of time: one step, then a save
    assert result.card["speech_clips"] == {"speech": 3}
    assert result.card["nonspeech_clips"] == {"nonspeech": 3}
    assert (tmp_path / "run" / "best.safetensors").is_file()


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_bf16_run(recordings: Path, tmp_path: Path) -> None:
    raw = {**vad_config(recordings, tmp_path / "run"), "device": "cuda"}
    raw["data"] = {**raw["data"], "workers": 2}
    cfg = run_cfg_from_dict(raw)
    result = train(cfg, device=torch.device("cuda"), log=lambda s: None)
    assert result.card["device"].startswith("cuda") and result.history[-1]["roc_auc"] > 0.9
    assert next(vc.load_module(result.best).parameters()).device.type == "cpu"
