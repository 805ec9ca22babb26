"""The ``clip`` task: a tiny run through the CLI (train -> resume -> evaluate -> export ->
classify), folds and lists as sources, config and data errors, and the ESC-10 recipe."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from typer.testing import CliRunner

import voicecnn as vc
from tests.train_data import (
    CLASSES,
    SR,
    assert_same_predictions,
    clip_config,
    toml_value,
    write_toml,
)
from voicecnn.cli import app
from voicecnn.data.labelled_clips import (
    LabelledClip,
    load_waves,
)
from voicecnn.errors import DataError
from voicecnn.train.core import RunCfg
from voicecnn.train.run import load_run_cfg, run_cfg_from_dict, train

runner = CliRunner()


def _cli(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, [str(a) for a in args])
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def clip_run(clips: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny clip run through the CLI: 4 steps, then resumed to 6."""
    root = tmp_path_factory.mktemp("clip_run")
    out = root / "run"
    cfg = write_toml(clip_config(clips, out), root / "clip.toml")
    code, stdout, err = _cli("train", cfg)
    assert code == 0, err
    assert "voicecnn classify --model" in err
    (root / "first_stdout.json").write_text(stdout)
    (root / "first_card.json").write_text((out / "card.json").read_text())
    code, _, err = _cli("train", cfg, "--resume", "--set", "train.max_steps=6")
    assert code == 0, err
    return out


def test_train_and_resume_through_the_cli(clip_run: Path) -> None:
    first = json.loads((clip_run.parent / "first_card.json").read_text())
    assert first["steps"] == 4
    assert (
        json.loads((clip_run.parent / "first_stdout.json").read_text())["accuracy"]
        == (first["validation"]["accuracy"])
    )
    card = json.loads((clip_run / "card.json").read_text())
    assert card["task"] == "clip" and card["classes"] == 3 and card["steps"] == 6
    assert (card["train_clips"], card["val_clips"]) == (6, 6)
    assert card["val_sources"] == "fold 2 of train" and card["clip_s"] == 0.5
    assert [r.split(",")[0] for r in (clip_run / "log.csv").read_text().split()[1:]] == [
        "2",
        "4",
        "6",
    ]
    best = vc.load_model(clip_run / "best.safetensors")
    assert best.class_names == CLASSES and best.num_classes == 3
    assert isinstance(best, vc.ClipCnn) and best.stack.out_channels == 16  # [model] overrides


def test_evaluate_clip_model_on_a_fold(clip_run: Path, clips: Path) -> None:
    card = json.loads((clip_run / "card.json").read_text())
    code, stdout, err = _cli(
        "evaluate", clip_run / "best.safetensors", clips, "--fold", "2", "-f", "json"
    )
    assert code == 0, err
    report = json.loads(stdout)
    assert report["examples"] == 6 and report["classes"] == list(CLASSES)
    # the trainer's figure for the best checkpoint: the same clips, cut to the card's clip_s
    assert report["accuracy"] == pytest.approx(card["validation"]["accuracy"])
    assert np.asarray(report["confusion"]).sum() == 6
    code, stdout, err = _cli("evaluate", clip_run / "best.safetensors", clips)
    assert code == 0, err
    assert stdout.startswith("12 clips, 3 classes: accuracy") and "whistle" in stdout
    code, stdout, err = _cli(
        "evaluate", clip_run / "best.safetensors", clips, "--clip-s", "0.1", "-f", "json"
    )
    assert code == 0 and json.loads(stdout)["examples"] == 12
    code, _, err = _cli("evaluate", clip_run / "best.safetensors", clips, "--fold", "3")
    assert code == 1 and err.startswith("error: no clip is in fold 3")


@pytest.mark.slow
def test_export_clip_model_and_classify_with_onnx(
    clip_run: Path, clips: Path, tmp_path: Path
) -> None:
    onnx = tmp_path / "clip.onnx"
    code, _, err = _cli("export", clip_run / "best.safetensors", "--onnx", onnx)
    assert code == 0, err
    assert "voicecnn classify --model" in err and onnx.is_file()
    net = vc.load_model(onnx)
    assert net.task == "clip" and net.class_names == CLASSES and net.sample_rate == SR
    files = [str(p) for p in sorted(clips.glob("*/2-*.wav"))]
    runs = [
        _cli("classify", *files, "-m", m, "-f", "json", "-k", "3")
        for m in (str(clip_run / "best.safetensors"), str(onnx))
    ]
    assert all(code == 0 for code, _, _ in runs)
    via_torch, via_onnx = ([json.loads(ln) for ln in r[1].splitlines()] for r in runs)
    assert len(via_onnx) == 6
    assert_same_predictions(via_torch, via_onnx)
    torch_report = _cli("evaluate", clip_run / "best.safetensors", clips, "-f", "json")
    onnx_report = _cli("evaluate", onnx, clips, "-f", "json")
    assert json.loads(onnx_report[1])["confusion"] == json.loads(torch_report[1])["confusion"]
    short = torch.zeros(1, 100)  # shorter than the stack needs: padded, as the torch model does
    with torch.no_grad():
        np.testing.assert_allclose(
            net(short).numpy(),
            vc.load_model(clip_run / "best.safetensors")(short).numpy(),
            atol=1e-4,
        )


def test_config_and_data_errors_are_reported(clips: Path, tmp_path: Path) -> None:
    cfg = write_toml(clip_config(clips, tmp_path / "run"), tmp_path / "clip.toml")
    cases = [
        (["--set", "data.val_fold=9"], "no clip is in fold 9"),
        (["--set", f"data.val=[{json.dumps(str(clips))}]"], "not both"),
        (["--set", "clip_augment.mixup=-1"], "mixup must be a number >= 0"),
        (["--set", "clip_augment.shiftx=1"], "unknown key(s) shiftx"),
        (["--set", "data.clip_s=0"], "data.clip_s must be a positive"),
        (["--set", "arch=img_cnn2d_s"], "is a 'image' model, but task = 'clip'"),
        (["--set", "task=image", "--set", "arch=img_cnn2d_s"], "setting of task = 'clip'"),
    ]
    for extra, message in cases:
        code, _, err = _cli("train", cfg, *extra)
        assert code == 1, (extra, err)
        assert err.startswith("error:") and message in err and "Traceback" not in err, err
    # clips without a fold prefix: every one listed
    plain = tmp_path / "plain"
    for kind in ("a", "b"):
        (plain / kind).mkdir(parents=True)
        sf.write(plain / kind / f"{kind}1.wav", np.zeros(4000, np.float32), SR)
    code, _, err = _cli("train", cfg, "--set", f"data.train=[{json.dumps(str(plain))}]")
    assert code == 1 and err.startswith("error: 2 problems") and "'a1.wav'" in err
    assert "'b1.wav'" in err
    assert not (tmp_path / "run" / "best.safetensors").exists()


def test_val_fraction_and_unreadable_clip(clips: Path, tmp_path: Path) -> None:
    raw = clip_config(clips, tmp_path / "run", max_steps=2)
    raw["data"] = {**raw["data"], "val_fold": 0, "val_fraction": 0.25}
    raw["clip_augment"] = {"shift_s": 0.0, "gain_db": 0.0}
    result = train(run_cfg_from_dict(raw), device=torch.device("cpu"), log=lambda s: None)
    assert (result.card["train_clips"], result.card["val_clips"]) == (9, 3)
    assert result.card["val_sources"] == "held out of train"
    good = LabelledClip(clips / "hiss" / "1-101-A.wav", "hiss")
    waves = load_waves([good], SR)
    assert waves[0].dtype == np.float32 and waves[0].size > 0
    with pytest.raises(DataError, match="missing.wav"):
        load_waves([good, LabelledClip(tmp_path / "missing.wav", "hiss")], SR)


REPO = Path(__file__).parents[1]


def test_esc10_recipe_config_and_fold_script(
    clips: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import importlib.util

    cfg = load_run_cfg(REPO / "recipes" / "esc10" / "config.toml")
    assert cfg.task == "clip" and cfg.arch == "clip_cnn2d_s" and cfg.data.val_fold == 5
    assert cfg.data.train == ("../shared/data/nonspeech/esc10",) and cfg.data.clip_s == 5.0
    assert cfg.train.select_metric == "accuracy" and cfg.threads == 1
    assert (REPO / "recipes" / "esc10" / "README.md").is_file()
    spec = importlib.util.spec_from_file_location(
        "_esc10_folds", REPO / "recipes" / "esc10" / "run_folds.py"
    )
    assert spec is not None and spec.loader is not None
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    tiny = clip_config(clips, tmp_path / "unused", max_steps=2, eval_every=2)
    sets = [
        f"data.train=[{json.dumps(str(clips))}]",
        "data.clip_s=0.5",
        f"model.stages={toml_value(tiny['model']['stages'])}",
        "train.batch_size=3",
        "train.max_steps=2",
        "train.eval_every=2",
        "train.warmup_steps=1",
    ]
    args = ["--out", str(tmp_path / "cv"), "--folds", "1", "2", "--json"]
    args += [a for s in sets for a in ("--set", s)]
    assert script.main(args) == 0
    summary = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert [f["fold"] for f in summary["folds"]] == [1, 2]
    assert all(f["val_clips"] == 6 and f["train_clips"] == 6 for f in summary["folds"])
    accs = [f["accuracy"] for f in summary["folds"]]
    assert summary["mean_accuracy"] == pytest.approx(sum(accs) / 2)
    assert (tmp_path / "cv" / "fold2" / "best.safetensors").is_file()
    assert json.loads((tmp_path / "cv" / "summary.json").read_text()) == summary
    # a finished fold is read back, not trained again
    (tmp_path / "cv" / "fold1" / "best.safetensors").unlink()
    assert script.main(args) == 0
    assert json.loads(capsys.readouterr().out.splitlines()[-1]) == summary
    assert not (tmp_path / "cv" / "fold1" / "best.safetensors").exists()
    bad = [*args[:1], str(tmp_path / "cv9"), "--folds", "9", *args[5:]]
    assert script.main(bad) == 1
    assert "error: no clip is in fold 9" in capsys.readouterr().err


def test_lists_as_train_and_val_sources(clips: Path, tmp_path: Path) -> None:
    def write_list(name: str, fold: int, kinds: tuple[str, ...]) -> Path:
        rows = [
            {"audio": str(p), "label": p.parent.name}
            for k in kinds
            for p in sorted((clips / k).glob(f"{fold}-*.wav"))
        ]
        path = tmp_path / name
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))
        return path

    raw = clip_config(clips, tmp_path / "run", max_steps=2)
    raw["data"] = {
        **raw["data"],
        "val_fold": 0,
        "train": [str(write_list("train.jsonl", 1, CLASSES))],
        "val": [str(write_list("val.jsonl", 2, CLASSES[:2]))],
    }
    result = train(run_cfg_from_dict(raw), device=torch.device("cpu"), log=lambda s: None)
    assert (result.card["train_clips"], result.card["val_clips"]) == (6, 4)
    assert vc.load_model(result.best).class_names == CLASSES
    (clips.parent / "extra" / "owl").mkdir(parents=True)
    sf.write(clips.parent / "extra" / "owl" / "2-1-A.wav", np.ones(4000, np.float32) * 0.1, SR)
    raw["out_dir"] = str(tmp_path / "run2")
    raw["data"] = {**raw["data"], "val": [str(clips.parent / "extra")]}
    with pytest.raises(DataError, match="class 'owl' is not one of the 3 classes"):
        train(run_cfg_from_dict(raw), device=torch.device("cpu"), log=lambda s: None)


def test_resumed_clip_run_ends_where_the_whole_run_does(clips: Path, tmp_path: Path) -> None:
    from safetensors.torch import load_file

    def cfg(out: str) -> RunCfg:
        return run_cfg_from_dict(clip_config(clips, tmp_path / out, max_steps=6))

    train(cfg("whole"), device=torch.device("cpu"), log=lambda s: None)

    def stop_at_3(step: int, loss: float) -> None:
        if step == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(cfg("cut"), device=torch.device("cpu"), log=lambda s: None, on_step=stop_at_3)
    resumed = train(cfg("cut"), device=torch.device("cpu"), resume=True, log=lambda s: None)
    assert [r["step"] for r in resumed.history] == [2, 4, 6]
    a = load_file(tmp_path / "whole" / "last.safetensors")
    b = load_file(tmp_path / "cut" / "last.safetensors")
    for key in a:  # the same augmented clips, batches and RNG: bit for bit
        torch.testing.assert_close(a[key], b[key], rtol=0, atol=0)
