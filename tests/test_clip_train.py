"""Audio clip classification: clip folders and lists, folds, seeded augmentation, and a tiny
``task = "clip"`` run through the CLI (train -> resume -> evaluate -> export -> classify)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf
import torch
from typer.testing import CliRunner

import voicecnn as vc
from tests.test_train import toml_value, write_toml
from voicecnn.cli import app
from voicecnn.data.clips import (
    Clip,
    ClipAugmentCfg,
    ClipDataset,
    clip_fold,
    load_clip_sources,
    load_waves,
    read_clip_list,
    scan_clip_classes,
    split_fold,
)
from voicecnn.errors import ConfigError, DataError
from voicecnn.train.core import RunCfg
from voicecnn.train.run import load_run_cfg, run_cfg_from_dict, train

runner = CliRunner()
SR = 16000
CLASSES = ("buzz", "hiss", "whistle")


def _sound(kind: str, n: int, rng: np.random.Generator) -> np.ndarray:
    t = np.arange(n) / SR
    if kind == "buzz":  # a 150 Hz sawtooth-like tone
        x = sum(np.sin(2 * np.pi * 150 * k * t) / k for k in range(1, 8))
    elif kind == "whistle":  # a 2.5 kHz tone
        x = np.sin(2 * np.pi * rng.uniform(2300, 2700) * t)
    else:  # white noise
        x = rng.standard_normal(n)
    return (0.2 * x / np.abs(x).max()).astype(np.float32)


def make_clips(root: Path, *, per_fold: int = 2, folds: int = 2, seconds: float = 0.5) -> Path:
    """``root/<class>/<fold>-<id>-A.wav``: three easy classes, ``per_fold`` clips per fold."""
    rng = np.random.default_rng(0)
    for kind in CLASSES:
        (root / kind).mkdir(parents=True)
        for fold in range(1, folds + 1):
            for i in range(per_fold):
                n = int(seconds * SR * rng.uniform(0.7, 1.3))
                sf.write(root / kind / f"{fold}-{100 + i}-A.wav", _sound(kind, n, rng), SR)
    return root


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_clips(tmp_path_factory.mktemp("clips") / "esc")


# --- readers ----------------------------------------------------------------------------------


def test_class_folders_lists_and_folds(clips: Path, tmp_path: Path) -> None:
    found = scan_clip_classes(clips)
    assert [c.label for c in found] == [k for k in CLASSES for _ in range(4)]
    assert [clip_fold(c) for c in found[:4]] == [1, 1, 2, 2]
    jsonl = tmp_path / "list.jsonl"
    jsonl.write_text(
        json.dumps({"audio": str(clips / "buzz" / "1-100-A.wav"), "label": "buzz", "fold": 4})
        + "\n\n"
        + json.dumps({"audio_filepath": str(clips / "hiss" / "2-101-A.wav"), "class": "hiss"})
        + "\n"
    )
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.wav").write_bytes((clips / "whistle" / "1-100-A.wav").read_bytes())
    csv = tmp_path / "list.csv"
    csv.write_text("filename,fold,category\nsub/a.wav,3,whistle\n")
    listed = load_clip_sources([jsonl, csv])
    assert [(c.label, clip_fold(c)) for c in listed] == [("buzz", 4), ("hiss", 2), ("whistle", 3)]
    assert listed[2].path == tmp_path / "sub" / "a.wav"  # relative to the list's folder
    rest, held = split_fold([*found, *listed], 2)
    assert len(held) == 3 * 2 + 1 and all(clip_fold(c) == 2 for c in held)
    assert len(rest) == 3 * 2 + 2


def test_bad_sources_are_listed_at_once(clips: Path, tmp_path: Path) -> None:
    root = tmp_path / "data"
    (root / "dog").mkdir(parents=True)
    (root / "dog" / "1-1-A.wav").write_bytes((clips / "buzz" / "1-100-A.wav").read_bytes())
    (root / "dog" / "1-2-A.wav").write_bytes(b"RIFF not really a wav file")
    (root / "cat").mkdir()
    (root / "cat" / "notes.txt").write_text("no audio here")
    (root / "rain").mkdir()
    (root / "rain" / "1-3-A.ogg").write_bytes(b"")
    with pytest.raises(DataError) as err:
        load_clip_sources([root, tmp_path / "missing"])
    msg = str(err.value)
    assert msg.startswith("4 problems in the data")
    assert "class 'cat' has no clips" in msg and "missing: folder not found" in msg
    assert "1-2-A.wav" in msg and "1-3-A.ogg" in msg and "1-1-A.wav" not in msg
    with pytest.raises(DataError, match="no class folders"):
        scan_clip_classes(root / "cat")


def test_bad_list_lines_name_their_lines(tmp_path: Path) -> None:
    jsonl = tmp_path / "bad.jsonl"
    jsonl.write_text('{"audio": "a.wav"}\n{"label": "x", "audio": "b.wav", "fold": 0}\n{oops\n')
    with pytest.raises(DataError) as err:
        read_clip_list(jsonl)
    lines = str(err.value).splitlines()
    assert lines[0].startswith("3 problems")
    assert lines[1] == f"{jsonl}:1: no label (label, class, category)"
    assert lines[2].startswith(f"{jsonl}:2: fold must be a positive integer")
    assert lines[3].startswith(f"{jsonl}:3: not valid JSON")
    csv = tmp_path / "bad.csv"
    csv.write_text("file,what\na.wav,b\n")
    with pytest.raises(DataError, match="must name a path column"):
        read_clip_list(csv)
    with pytest.raises(DataError, match="file not found"):
        read_clip_list(tmp_path / "none.csv")


def test_fold_errors(clips: Path) -> None:
    found = scan_clip_classes(clips)
    nameless = [*found, Clip(Path("/x/dog.wav"), "buzz"), Clip(Path("/x/a-1.wav"), "buzz")]
    with pytest.raises(DataError) as err:
        split_fold(nameless, 1)
    msg = str(err.value)
    assert msg.startswith("2 problems") and "'dog.wav'" in msg and "'a-1.wav'" in msg
    with pytest.raises(DataError, match=r"no clip is in fold 7 \(folds found: 1, 2\)"):
        split_fold(found, 7)
    with pytest.raises(ConfigError, match="positive fold"):
        split_fold(found, 0)
    assert clip_fold(Clip(Path("0-1-A.wav"), "x")) is None


# --- the dataset ------------------------------------------------------------------------------


def _dataset(augment: ClipAugmentCfg | None, seed: int = 0) -> ClipDataset:
    rng = np.random.default_rng(5)
    waves = [rng.standard_normal(n).astype(np.float32) for n in (8000, 12000, 20000, 16000)]
    return ClipDataset(
        waves, [0, 1, 2, 1], num_classes=3, clip_s=1.0, sample_rate=SR, augment=augment, seed=seed
    )


def test_windows_without_augmentation_pad_and_crop() -> None:
    ds = _dataset(None)
    x, y = ds[0]
    assert x.shape == (SR,) and y == 0 and isinstance(y, int)
    np.testing.assert_array_equal(x[:8000].numpy(), ds.waves[0])
    assert not x[8000:].any()
    np.testing.assert_array_equal(ds[2][0].numpy(), ds.waves[2][:SR])  # the first clip_s
    xb, yb = next(iter(torch.utils.data.DataLoader(ds, batch_size=4)))
    assert xb.shape == (4, SR) and yb.tolist() == [0, 1, 2, 1]


def test_augmentation_is_seeded_per_epoch_and_index() -> None:
    cfg = ClipAugmentCfg(shift_s=0.2, gain_db=6.0, mixup=0.4, time_masks=2, freq_masks=2)
    ds = _dataset(cfg, seed=3)
    first = [ds[i] for i in range(4)]
    again = _dataset(cfg, seed=3)
    for i in reversed(range(4)):  # any order, a fresh object: the same items
        x, t = again[i]
        assert torch.equal(x, first[i][0]) and torch.equal(t, first[i][1])
    plain = _dataset(None)
    assert all(not torch.equal(first[i][0], plain[i][0]) for i in range(4))
    ds.set_epoch(1)
    assert all(not torch.equal(ds[i][0], first[i][0]) for i in range(4))
    ds.set_epoch(0)
    assert all(torch.equal(ds[i][0], first[i][0]) for i in range(4))
    other = _dataset(cfg, seed=4)
    assert any(not torch.equal(other[i][0], first[i][0]) for i in range(4))
    # mixup targets: class probabilities summing to 1, the item's own class included
    for i, (x, t) in enumerate(first):
        assert x.shape == (SR,) and x.dtype == torch.float32 and t.shape == (3,)
        assert float(t.sum()) == pytest.approx(1.0) and float(t[ds.labels[i]]) > 0
    mixed = [t for ds_e in range(6) for t in _epoch_targets(ds, ds_e)]
    assert any(float(t.max()) < 1.0 for t in mixed)


def _epoch_targets(ds: ClipDataset, epoch: int) -> list[torch.Tensor]:
    ds.set_epoch(epoch)
    out = [ds[i][1] for i in range(len(ds))]
    ds.set_epoch(0)
    return out


def test_shift_rolls_and_gain_scales() -> None:
    rng = np.random.default_rng(0)
    wave = rng.standard_normal(SR).astype(np.float32)

    def augmented(augment: ClipAugmentCfg) -> np.ndarray:
        ds = ClipDataset(
            [wave], [0], num_classes=1, clip_s=1.0, sample_rate=SR, augment=augment, seed=1
        )
        return ds[0][0].numpy()

    x = augmented(ClipAugmentCfg(shift_s=0.1, gain_db=0.0))
    k = int(np.argmax([np.dot(np.roll(wave, s), x) for s in range(-1600, 1601)])) - 1600
    np.testing.assert_array_equal(x, np.roll(wave, k))  # a circular shift: nothing lost
    ratio = augmented(ClipAugmentCfg(shift_s=0.0, gain_db=6.0)) / wave
    assert np.allclose(ratio, ratio[0]) and 0.5 <= ratio[0] <= 2.0 and ratio[0] != 1.0
    with pytest.raises(ValueError, match="mixup_prob"):
        ClipAugmentCfg(mixup_prob=2.0)


# --- a run through the CLI --------------------------------------------------------------------


def clip_config(data: Path, out: Path, **train_cfg: Any) -> dict[str, Any]:
    """A tiny clip run: a two-stage clip_cnn2d_s on 0.5 s clips, fold 2 held out."""
    return {
        "task": "clip",
        "arch": "clip_cnn2d_s",
        "out_dir": str(out),
        "device": "cpu",
        "threads": 1,
        "tensorboard": False,
        "model": {"stages": [{"channels": 8, "pool": [2, 2]}, {"channels": 16, "pool": [2, 2]}]},
        "data": {"train": [str(data)], "val_fold": 2, "clip_s": 0.5, "workers": 0},
        "clip_augment": {"shift_s": 0.1, "mixup": 0.4},
        "train": {
            "lr": 1e-2,
            "batch_size": 3,
            "max_steps": 4,
            "warmup_steps": 1,
            "eval_every": 2,
            "select_metric": "accuracy",
            **train_cfg,
        },
    }


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
    for a, b in zip(via_torch, via_onnx, strict=True):
        assert [p["label"] for p in a["predictions"]] == [p["label"] for p in b["predictions"]]
        np.testing.assert_allclose(
            [p["probability"] for p in a["predictions"]],
            [p["probability"] for p in b["predictions"]],
            atol=1e-4,
        )
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
    good = Clip(clips / "hiss" / "1-101-A.wav", "hiss")
    waves = load_waves([good], SR)
    assert waves[0].dtype == np.float32 and waves[0].size > 0
    with pytest.raises(DataError, match="missing.wav"):
        load_waves([good, Clip(tmp_path / "missing.wav", "hiss")], SR)


# --- the ESC-10 recipe ------------------------------------------------------------------------

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
