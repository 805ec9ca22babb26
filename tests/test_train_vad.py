"""The ``vad`` task: clip folders mixed on the fly, clip validation, a teacher's targets."""

from __future__ import annotations

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
from voicecnn.errors import ConfigError
from voicecnn.train.run import run_cfg_from_dict, train
from voicecnn.train.vad import peak_normalised, teacher_targets

runner = CliRunner()


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
    result = train(run_cfg_from_dict(raw), device=torch.device("cpu"), log=lambda s: None)
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
            train(run_cfg_from_dict(raw), device=torch.device("cpu"), log=lambda s: None)
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
    batches = teacher_targets(iter([(x, y)]), teacher, 0.25, torch.device("cpu"))
    x2, soft = next(batches)
    assert x2 is x and soft.dtype == torch.float32 and soft.shape == y.shape
    torch.testing.assert_close(soft[:, :n], 0.75 * y[:, :n].float() + 0.25 * p)
    assert (soft[:, n:] == 1).all()
    assert next(batches, None) is None


def test_peak_normalised_teacher_hears_every_level_alike() -> None:
    # The same wave at -70 and -10 dBFS gives the teacher the same input, hence the same targets;
    # the student still gets the mixture as it was. Silence is raised by at most 80 dB.
    teacher = vc.create_model("vad_cnn1d_xs").eval()
    wave = torch.randn(1, 16000) * 0.1
    x = torch.cat([wave * 10 ** (-60 / 20), wave, torch.zeros(1, 16000)])
    assert torch.allclose(peak_normalised(x, -6.0)[0], peak_normalised(x, -6.0)[1], atol=1e-6)
    peak = peak_normalised(x, -6.0)[:2].abs().amax(dim=-1)
    torch.testing.assert_close(peak, torch.full((2,), 10 ** (-6 / 20)))
    assert (peak_normalised(x, -6.0)[2] == 0).all()
    hum = torch.full((1, 8), 1e-6)
    torch.testing.assert_close(peak_normalised(hum, 0.0), hum * 1e4)  # +80 dB, not +120
    y = torch.zeros(3, 100, dtype=torch.uint8)
    x2, soft = next(teacher_targets(iter([(x, y)]), teacher, 1.0, torch.device("cpu"), -6.0))
    assert x2 is x
    torch.testing.assert_close(soft[0], soft[1], atol=1e-5, rtol=0)
    raw = next(teacher_targets(iter([(x, y)]), teacher, 1.0, torch.device("cpu")))[1]
    assert (raw[0] - raw[1]).abs().max() > 1e-3  # without it the teacher hears the levels


def test_teacher_targets_replace_labels_at_weight_one(recordings: Path, tmp_path: Path) -> None:
    # A teacher that hears no speech, given all the weight: the student learns silence
    # though the labels hold speech (the same run without a teacher reaches AUC > 0.9).
    teacher = _silent_teacher(tmp_path / "silent.safetensors")
    raw = vad_config(recordings, tmp_path / "taught")
    cfg = run_cfg_from_dict({**raw, "teacher": str(teacher), "teacher_weight": 1.0})
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
        ([f"teacher={teacher}", "teacher_peak_dbfs=6.0"], "teacher_peak_dbfs must be in [-60, 0]"),
        ([f"teacher={teacher}", "teacher_hears=level"], "not one of ['mixture', 'peak']"),
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


def test_silero_teacher_in_a_run_and_its_errors(
    recordings: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("onnxruntime")
    raw = vad_config(recordings, tmp_path / "taught", max_steps=4, eval_every=4)
    cfg = run_cfg_from_dict({**raw, "teacher": "silero", "teacher_weight": 0.5})
    result = train(cfg, device=torch.device("cpu"), log=lambda s: None)
    assert result.card["teacher"] == "silero"
    assert "MIT" in result.card["teacher_source"]
    path = write_toml(raw, tmp_path / "c.toml")
    slow = tmp_path / "8k.safetensors"
    vc.save_weights(
        vc.create_model("vad_cnn1d_xs", frontend=vc.FrontendCfg(sample_rate=8000, hop_length=80)),
        slow,
        arch="vad_cnn1d_xs",
    )
    sets = ["teacher=silero", f"init={slow}", f"out_dir={tmp_path / '8k'}"]
    result = runner.invoke(app, ["train", str(path), *[a for s in sets for a in ("--set", s)]])
    assert result.exit_code == 1
    assert result.stderr.startswith("error:") and "works at 16000 Hz" in result.stderr
    monkeypatch.setattr("importlib.util.find_spec", lambda name: None)
    result = runner.invoke(app, ["train", str(path), "--set", "teacher=silero",
                                 "--set", "out_dir=" + str(tmp_path / "none")])
    assert result.exit_code == 1
    assert "pip install silero-vad" in result.stderr and result.stderr.count("\n") == 1
