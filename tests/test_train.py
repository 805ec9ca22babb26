"""The trainer end to end on generated recordings: config errors, train -> evaluate -> export ->
detect, resume after an interruption, fine-tuning, an image task, segment metrics."""

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
from voicecnn.cli import app
from voicecnn.config import cfg_from_dict, load_toml
from voicecnn.errors import CheckpointError, ConfigError
from voicecnn.segments import Segment
from voicecnn.train.metrics import accuracy, match_segments
from voicecnn.train.run import RunCfg, _build_model, _grow_from, _taught, train

runner = CliRunner()


def annotated_folder(root: Path, n_files: int = 6, duration_s: float = 4.0, seed: int = 0) -> Path:
    """Recordings of harmonic bursts (speech-like) over faint noise, each with a CSV of its
    bursts' start and end times."""
    sr = 16000
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    for i in range(n_files):
        x = 0.02 * rng.standard_normal(int(duration_s * sr))
        segs, t = [], rng.uniform(0.1, 0.6)
        while t < duration_s - 0.6:
            d = rng.uniform(0.4, 1.0)
            segs.append((t, t + d))
            t += d + rng.uniform(0.3, 0.9)
        for a, b in segs:
            n0, n1 = int(a * sr), int(b * sr)
            tt = np.arange(n1 - n0) / sr
            f0 = rng.uniform(100, 220) * (1 + 0.1 * np.sin(2 * np.pi * 3 * tt))
            phase = 2 * np.pi * np.cumsum(f0) / sr
            x[n0:n1] += 0.3 * sum(np.sin(k * phase) / k for k in range(1, 10))
        sf.write(root / f"rec{i}.wav", x.astype(np.float32), sr)
        rows = "".join(f"{a:.3f},{b:.3f}\n" for a, b in segs)
        (root / f"rec{i}.csv").write_text("start,end\n" + rows)
    return root


def vad_config(data: Path, out: Path, **train: Any) -> dict[str, Any]:
    """A tiny VAD run: vad_cnn1d_xs on 1 s crops, 40 steps, evaluated every 20."""
    return {
        "task": "vad",
        "arch": "vad_cnn1d_xs",
        "out_dir": str(out),
        "device": "cpu",
        "tensorboard": False,
        "data": {"train": [str(data)], "val_fraction": 0.34, "crop_s": 1.0, "workers": 0},
        "train": {
            "lr": 5e-3,
            "batch_size": 8,
            "max_steps": 40,
            "warmup_steps": 5,
            "eval_every": 20,
            **train,
        },
    }


def toml_value(value: Any) -> str:
    """``value`` as TOML: dicts as inline tables, lists as arrays."""
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + " }"
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return json.dumps(value)  # strings, numbers and booleans read the same in TOML


def write_toml(cfg: dict[str, Any], path: Path) -> Path:
    """Write a config dict as TOML: top-level tables as sections, deeper ones inline."""
    top = [f"{k} = {toml_value(v)}" for k, v in cfg.items() if not isinstance(v, dict)]
    tables = [
        f"[{k}]\n" + "\n".join(f"{kk} = {toml_value(vv)}" for kk, vv in v.items())
        for k, v in cfg.items()
        if isinstance(v, dict)
    ]
    path.write_text("\n".join(top) + "\n\n" + "\n\n".join(tables) + "\n")
    return path


@pytest.fixture(scope="module")
def recordings(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return annotated_folder(tmp_path_factory.mktemp("recordings"))


def test_config_errors_are_one_line_exit_1(recordings: Path, tmp_path: Path) -> None:
    cfg = write_toml(vad_config(recordings, tmp_path / "run"), tmp_path / "c.toml")
    cases = [
        (["--set", "train.lrx=1"], "unknown key(s) lrx"),
        (["--set", 'train.lr="fast"'], "train.lr: expected a number"),
        (["--set", "data.crop_s=true"], "data.crop_s: expected a number"),
        (["--set", "task=speech"], "is not one of"),
        (["--set", "arch=no_such_model"], "no_such_model"),
        (["--set", "arch=img_cnn2d_s"], "is a 'image' model"),
        (["--resume"], "nothing to resume"),
    ]
    for extra, message in cases:
        result = runner.invoke(app, ["train", str(cfg), *extra])
        assert result.exit_code == 1, (extra, result.output)
        assert message in result.stderr and result.stderr.startswith("error:"), result.stderr
    assert not (tmp_path / "run" / "best.safetensors").exists()
    bad = tmp_path / "bad.toml"
    bad.write_text('arch = "vad_cnn1d_xs"\nlearning_rate = 1\n')
    result = runner.invoke(app, ["train", str(bad)])
    assert result.exit_code == 1 and "unknown key(s) learning_rate" in result.stderr


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
    rerun = load_toml(RunCfg, out / "config.toml")
    assert rerun.threads == 1 and rerun == replace(load_toml(RunCfg, cfg), threads=1)
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
    whole = cfg_from_dict(RunCfg, vad_config(recordings, tmp_path / "whole", **steps))
    reference = train(whole, device=torch.device("cpu"), log=lambda s: None)
    cut = cfg_from_dict(RunCfg, vad_config(recordings, tmp_path / "cut", **steps))
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
    result = train(cfg_from_dict(RunCfg, raw), device=torch.device("cpu"), log=lambda s: None)
    assert [r["step"] for r in result.history] == [1]  # out of time: one step, then a save
    assert result.card["speech_clips"] == {"speech": 3}
    assert result.card["nonspeech_clips"] == {"nonspeech": 3}
    assert (tmp_path / "run" / "best.safetensors").is_file()


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_bf16_run(recordings: Path, tmp_path: Path) -> None:
    raw = {**vad_config(recordings, tmp_path / "run"), "device": "cuda"}
    raw["data"] = {**raw["data"], "workers": 2}
    cfg = cfg_from_dict(RunCfg, raw)
    result = train(cfg, device=torch.device("cuda"), log=lambda s: None)
    assert result.card["device"].startswith("cuda") and result.history[-1]["roc_auc"] > 0.9
    assert next(vc.load_module(result.best).parameters()).device.type == "cpu"


def test_finetune_from_weights(recordings: Path, tiny_weights: Path, tmp_path: Path) -> None:
    raw = vad_config(recordings, tmp_path / "ft", max_steps=4, eval_every=4)
    cfg = cfg_from_dict(RunCfg, {**raw, "arch": "", "init": str(tiny_weights)})
    result = train(cfg, device=torch.device("cpu"), log=lambda s: None)
    assert result.card["init"] == str(tiny_weights) and result.card["arch"] == "vad_cnn1d_xs"


def test_grow_a_longer_context_from_weights(recordings: Path, tmp_path: Path) -> None:
    # vad_cnn2d_s_long from the bundled vad_cnn2d_s: the shared layers are copied and the new
    # dilation-32 block passes its input through, so before training it computes what its
    # init does (to the new batch norm's eps); training then runs and records both names.
    raw = vad_config(recordings, tmp_path / "grow", max_steps=2, eval_every=2)
    cfg = cfg_from_dict(RunCfg, {**raw, "arch": "vad_cnn2d_s_long", "init": "vad_cnn2d_s"})
    said: list[str] = []
    grown, arch = _build_model(cfg, {}, said.append)
    assert arch == "vad_cnn2d_s_long"
    assert said == [
        "init vad_cnn2d_s: 55 of 61 tensors copied; "
        "new: temporal.layers.5.conv, temporal.layers.5.norm"
    ]
    wave, _ = sf.read(recordings / "rec0.wav", dtype="float32")
    with torch.inference_mode():
        x = torch.from_numpy(wave)[None]
        ours = torch.sigmoid(grown.eval()(x))
        theirs = torch.sigmoid(vc.load_module("vad_cnn2d_s")(x))
    assert ours.shape == theirs.shape and (ours - theirs).abs().max() < 1e-3
    assert (theirs > 0.5).any() and (theirs < 0.5).any()  # a real test: both classes present
    result = train(cfg, device=torch.device("cpu"), log=lambda s: None)
    assert result.card["arch"] == "vad_cnn2d_s_long" and result.card["init"] == "vad_cnn2d_s"
    assert vc.read_metadata(result.best)["arch"] == "vad_cnn2d_s_long"
    # weights of another kind of model cannot seed a VAD
    image = tmp_path / "img.safetensors"
    vc.save_weights(vc.create_model("img_cnn2d_s"), image, arch="img_cnn2d_s")
    with pytest.raises(ConfigError, match="not a VadCnn"):
        _grow_from(vc.create_model("vad_cnn2d_s_long"), str(image))


def _two_class_images(path: Path, n: int = 120, seed: int = 0) -> Path:
    """A bright square in the top-left (class 0) or bottom-right (class 1) corner."""
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 40, size=(n, 28, 28), dtype=np.uint8)
    y = np.arange(n) % 2
    for i in range(n):
        r, c = rng.integers(2, 8, size=2) if y[i] == 0 else rng.integers(16, 22, size=2)
        x[i, r : r + 6, c : c + 6] = 230
    np.savez(path, x=x, y=y)
    return path


def test_image_task_on_npz(tmp_path: Path) -> None:
    data = _two_class_images(tmp_path / "squares.npz")
    raw = {
        "task": "image",
        "arch": "img_cnn2d_s",
        "out_dir": str(tmp_path / "img"),
        "device": "cpu",
        "tensorboard": False,
        "data": {"train": [str(data)], "val_fraction": 0.25, "workers": 0},
        "train": {
            "lr": 3e-3,
            "batch_size": 16,
            "max_steps": 30,
            "warmup_steps": 3,
            "eval_every": 15,
        },
    }
    result = train(cfg_from_dict(RunCfg, raw), device=torch.device("cpu"), log=lambda s: None)
    assert result.card["classes"] == 2 and result.card["val_images"] == 30
    assert result.history[-1]["accuracy"] >= 0.9
    model = vc.load_model(tmp_path / "img" / "best.safetensors")
    assert model.num_classes == 2 and len(model.cfg.mean) == 1
    # Fine-tune it to three classes: a new head, the rest kept.
    y3 = np.arange(120) % 3
    x = np.load(data)["x"]
    np.savez(tmp_path / "three.npz", x=x, y=y3)
    raw3 = {
        **raw,
        "arch": "",
        "init": str(tmp_path / "img" / "best.safetensors"),
        "out_dir": str(tmp_path / "img3"),
        "data": {**raw["data"], "train": [str(tmp_path / "three.npz")]},
        "train": {**raw["train"], "max_steps": 2},
    }
    tuned = train(cfg_from_dict(RunCfg, raw3), device=torch.device("cpu"), log=lambda s: None)
    assert vc.load_model(tuned.best).num_classes == 3


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


def test_image_task_on_a_class_folder(tmp_path: Path) -> None:
    pil = pytest.importorskip("PIL.Image")
    x = np.load(_two_class_images(tmp_path / "squares.npz", n=16))["x"]
    for i, img in enumerate(x):
        folder = tmp_path / "images" / ("top_left" if i % 2 == 0 else "bottom_right")
        folder.mkdir(parents=True, exist_ok=True)
        pil.fromarray(img).save(folder / f"{i}.png")
    raw = {
        "task": "image",
        "arch": "img_cnn2d_gap",
        "out_dir": str(tmp_path / "run"),
        "tensorboard": False,
        "data": {"train": [str(tmp_path / "images")], "image_size": [20, 20], "workers": 0},
        "train": {"batch_size": 4, "max_steps": 2, "eval_every": 2},
    }
    result = train(cfg_from_dict(RunCfg, raw), device=torch.device("cpu"), log=lambda s: None)
    model = vc.load_model(result.best)
    assert model.class_names == ("bottom_right", "top_left")
    assert result.card["train_images"] + result.card["val_images"] == 16


def clip_tree(root: Path, recordings: Path, seed: int) -> Path:
    """``speech/{a,b}`` from the recordings' audio (b as a clip list), ``nonspeech/{noise,hum}``."""
    rng = np.random.default_rng(seed)
    for group in ("speech/a", "speech/b", "nonspeech/noise", "nonspeech/hum"):
        (root / group).mkdir(parents=True)
    for i in range(4):
        sf.write(root / "speech" / "a" / f"s{i}.wav", sf.read(recordings / f"rec{i}.wav")[0], 16000)
    (root / "speech" / "b.txt").write_text(
        f"{recordings / 'rec4.wav'}\n{recordings / 'rec5.wav'}\n"
    )
    (root / "speech" / "b").rmdir()
    for i in range(2):
        sf.write(
            root / "nonspeech" / "noise" / f"n{i}.wav", 0.1 * rng.standard_normal(24000), 16000
        )
        t = np.arange(24000) / 16000
        sf.write(root / "nonspeech" / "hum" / f"h{i}.wav", 0.1 * np.sin(2 * np.pi * 50 * t), 16000)
    return root


def test_clips_only_run_with_clip_validation_and_tied_selection(
    recordings: Path, tmp_path: Path
) -> None:
    # The default recipe's shape: train on weighted clip groups only; validate on fixed
    # mixtures and non-speech crops from held-out clips and on real recordings; keep every
    # evaluation and ship the best real-audio AUC, ties going to the best mixture AUC.
    raw = vad_config(recordings, tmp_path / "run", max_steps=12, eval_every=3)
    raw["data"] = {
        "clips": str(clip_tree(tmp_path / "clips", recordings, 0)),
        "clip_items": 48,
        "clip_weights": {"a": 2.0, "hum": 0.5},
        "val": [str(recordings)],
        "val_clips": str(clip_tree(tmp_path / "val_clips", recordings, 1)),
        "val_mixtures": 6,
        "val_negative_crops": 3,
        "crop_s": 1.0,
        "workers": 0,
    }
    raw["train"].update(
        select_metric="roc_auc", select_tolerance=1.0, select_tiebreak="mix_roc_auc"
    )
    raw["card"] = {"recipe": "test"}
    result = train(cfg_from_dict(RunCfg, raw), device=torch.device("cpu"), log=lambda s: None)
    rows = result.history
    assert [r["step"] for r in rows] == [3, 6, 9, 12]
    for key in ("roc_auc", "mix_roc_auc", "mix_f1", "fa_noise", "fa_hum", "fa_nonspeech"):
        assert all(0.0 <= r[key] <= 1.0 for r in rows), key
    assert all(r["score"] == r["roc_auc"] for r in rows)
    # tolerance 1.0 ties every evaluation: the pick is the best mixture AUC
    pick = max(rows, key=lambda r: (r["mix_roc_auc"], -r["step"]))
    card = result.card
    assert card["best_step"] == pick["step"] and card["recipe"] == "test"
    assert card["speech_clips"] == {"a": 4, "b": 2} and card["val_mixtures"] == 6
    assert card["train_recordings"] == 0 and card["val_recordings"] == 6
    run = tmp_path / "run"
    assert sorted(p.name for p in (run / "ckpt").iterdir()) == [
        f"step_{n}.safetensors" for n in (12, 3, 6, 9)
    ]
    kept = load_file(run / "ckpt" / f"step_{pick['step']}.safetensors")
    best = load_file(run / "best.safetensors")
    assert all(torch.equal(kept[k], best[k]) for k in kept)
    assert vc.read_metadata(run / "best.safetensors")["card"]["best_step"] == pick["step"]


def test_clip_settings_errors(recordings: Path, tmp_path: Path) -> None:
    base = vad_config(recordings, tmp_path / "run")

    def err(data: dict[str, Any]) -> str:
        raw = {**base, "data": {"crop_s": 1.0, "workers": 0, **data}}
        with pytest.raises((ConfigError, vc.DataError)) as excinfo:
            train(cfg_from_dict(RunCfg, raw), device=torch.device("cpu"), log=lambda s: None)
        return str(excinfo.value)

    clips = str(clip_tree(tmp_path / "clips", recordings, 0))
    assert "no training data" in err({})
    assert "nothing to validate on" in err({"clips": clips})
    assert "name no clip group: zz" in err(
        {"clips": clips, "val": [str(recordings)], "clip_weights": {"zz": 1.0}}
    )
    assert "clip_weights is set but data.clips is not" in err(
        {"train": [str(recordings)], "clip_weights": {"a": 1.0}}
    )
    assert "rirs.txt: not found" in err(
        {"clips": clips, "val": [str(recordings)], "rirs": str(tmp_path / "rirs.txt")}
    )


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


# --- a teacher's probabilities in the targets ---------------------------------------------------


def _silent_teacher(path: Path) -> Path:
    """vad_cnn1d_xs weights that call every frame non-speech (p ~ 5e-5)."""
    teacher = vc.create_model("vad_cnn1d_xs")
    with torch.no_grad():
        teacher.head.proj.weight.zero_()
        teacher.head.proj.bias.fill_(-10.0)
    vc.save_weights(teacher, path, arch="vad_cnn1d_xs")
    return path


def test_taught_targets_blend_labels_and_teacher() -> None:
    teacher = vc.create_model("vad_cnn1d_xs").eval()
    x = torch.randn(2, 16000)
    with torch.no_grad():
        p = torch.sigmoid(teacher(x))
    n = p.shape[1]
    y = torch.zeros(2, n + 3, dtype=torch.uint8)
    y[0, : n // 2] = 1
    y[:, n:] = 1  # frames past the teacher's output keep their labels
    batches = _taught(iter([(x, y)]), teacher, 0.25, torch.device("cpu"))
    x2, soft = next(batches)
    assert x2 is x and soft.dtype == torch.float32 and soft.shape == y.shape
    torch.testing.assert_close(soft[:, :n], 0.75 * y[:, :n].float() + 0.25 * p)
    assert (soft[:, n:] == 1).all()
    assert next(batches, None) is None


def test_teacher_targets_replace_labels_at_weight_one(recordings: Path, tmp_path: Path) -> None:
    # A teacher that hears no speech, given all the weight: the student learns silence
    # though the labels hold speech (the same run without a teacher reaches AUC > 0.9).
    teacher = _silent_teacher(tmp_path / "silent.safetensors")
    raw = vad_config(recordings, tmp_path / "taught")
    cfg = cfg_from_dict(RunCfg, {**raw, "teacher": str(teacher), "teacher_weight": 1.0})
    result = train(cfg, device=torch.device("cpu"), log=lambda s: None)
    assert result.card["teacher"] == str(teacher) and result.card["teacher_weight"] == 1.0
    wave, _ = sf.read(recordings / "rec0.wav", dtype="float32")
    with torch.inference_mode():
        probs = torch.sigmoid(vc.load_module(result.best)(torch.from_numpy(wave)[None]))
    assert float(probs.max()) < 0.5  # no frame called speech, here or in validation
    assert result.history[-1]["recall"] == 0.0


def test_teacher_errors_are_one_line(recordings: Path, tmp_path: Path) -> None:
    cfg = write_toml(vad_config(recordings, tmp_path / "run"), tmp_path / "c.toml")
    teacher = _silent_teacher(tmp_path / "silent.safetensors")
    slow = tmp_path / "8k.safetensors"
    vc.save_weights(
        vc.create_model("vad_cnn1d_xs", frontend=vc.FrontendCfg(sample_rate=8000, hop_length=80)),
        slow,
        arch="vad_cnn1d_xs",
    )
    image = tmp_path / "img.safetensors"
    vc.save_weights(vc.create_model("img_cnn2d_s"), image, arch="img_cnn2d_s")
    cases = [
        ([f"teacher={teacher}", "teacher_weight=0"], "teacher_weight must be in (0, 1]"),
        ([f"teacher={teacher}", "teacher_weight=1.5"], "teacher_weight must be in (0, 1]"),
        ([f"teacher={slow}"], "works at 8000 Hz, 10 ms frames; the model at 16000 Hz"),
        ([f"teacher={image}"], "is not a speech detector"),
        ([f"teacher={tmp_path / 'none.safetensors'}"], "none.safetensors"),
    ]
    for sets, message in cases:
        args = [a for setting in sets for a in ("--set", setting)]
        result = runner.invoke(app, ["train", str(cfg), *args])
        assert result.exit_code == 1, (sets, result.output)
        assert message in result.stderr and result.stderr.startswith("error:"), result.stderr
    assert not (tmp_path / "run" / "state.pt").exists()
