"""The recipes (recipes/), a project-wide file: they are scripts beside the package, not a
voicecnn module. The own-data, fine-tuning and default VAD recipes on their toy data (--demo),
with tiny schedules; the image recipes (MNIST, Fashion-MNIST, image folder): configs and prepare
scripts.

Fast checks only: each config loads strictly, each prepare script runs on a tiny synthetic
source (``--demo``, ``--limit`` / few images per class), and the evaluation script scores a tiny
model. No training to convergence here (the measured figures are in each recipe's README).
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest
import torch

import voicecnn as vc
from tests.train_data import write_idx
from voicecnn.data.images import load_image_folder, load_npz
from voicecnn.train.core import RunCfg
from voicecnn.train.run import load_run_cfg, train

RECIPES = ("mnist", "fashion_mnist", "image_folder")

REPO = Path(__file__).parents[1]


def _tiny(recipe: str, data: Path, out: Path, *extra: str) -> RunCfg:
    return load_run_cfg(
        REPO / "recipes" / recipe / "config.toml",
        [
            f"out_dir={json.dumps(str(out))}",
            f"data.train=[{json.dumps(str(data / 'train.jsonl'))}]",
            f"data.val=[{json.dumps(str(data / 'val.jsonl'))}]",
            "data.workers=0",
            "data.crop_s=1.0",
            "train.batch_size=8",
            *extra,
        ],
    )


def _prepare(recipe: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    cmd = [
        sys.executable,
        str(REPO / "recipes" / recipe / "prepare.py"),
        "--demo",
        str(tmp_path / "demo"),
        "--out",
        str(tmp_path / "data"),
    ]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)


def test_recipe_configs_are_valid() -> None:
    own = load_run_cfg(REPO / "recipes" / "own_data" / "config.toml")
    tune = load_run_cfg(REPO / "recipes" / "finetune" / "config.toml")
    assert own.arch and own.init == "" and tune.init == vc.DEFAULT_MODEL and tune.arch == ""
    assert tune.train.lr < own.train.lr and tune.train.max_steps < own.train.max_steps
    # stage 2 trains the default (vad_cnn2d_s); stage 3 grows it into vad_cnn2d_s_xlong,
    # stage3_long.toml into vad_cnn2d_s_long
    stage3 = load_run_cfg(REPO / "recipes" / "default_vad" / "stage3.toml")
    long = load_run_cfg(REPO / "recipes" / "default_vad" / "stage3_long.toml")
    stage2 = load_run_cfg(REPO / "recipes" / "default_vad" / "stage2.toml")
    assert stage2.arch == vc.DEFAULT_MODEL == "vad_cnn2d_s"
    assert stage3.arch == "vad_cnn2d_s_xlong" and long.arch == "vad_cnn2d_s_long"
    assert long.init == stage3.init and long.augment == stage3.augment
    assert stage3.data.clip_weights["music_rock"] > 0
    assert long.data.clip_weights["music_rock"] == 0
    assert {k: v for k, v in long.data.clip_weights.items() if k != "music_rock"} == {
        k: v for k, v in stage3.data.clip_weights.items() if k != "music_rock"
    }
    # stage 3 draws no cries; stage 4 does
    assert stage3.data.clip_weights["vocalisations"] == 0
    stage4 = load_run_cfg(REPO / "recipes" / "default_vad" / "stage4.toml")
    assert stage4.data.clip_weights["vocalisations"] > 0
    # stage 5 starts from the 2.5 s net (its levers were measured from it), its teacher, and
    # selects on the real recordings
    # with word-level labels (bench/real.py's select part) beside the old ones
    stage5 = load_run_cfg(REPO / "recipes" / "default_vad" / "stage5.toml")
    assert stage5.init == stage5.teacher == stage5.arch == "vad_cnn2d_s_xlong"
    assert [Path(v).name for v in stage5.data.val] == ["val_real.jsonl", "val_select.jsonl"]
    assert stage5.data.clip_weights == stage4.data.clip_weights
    # stage 6 distils Silero VAD into the 0.65 s net on quiet and loud mixtures, selected as 5
    stage6 = load_run_cfg(REPO / "recipes" / "default_vad" / "stage6.toml")
    stage2_pick = "runs/default_vad/vad_cnn2d_s_stage2/best.safetensors"
    assert stage6.init == stage2_pick and stage6.arch == "vad_cnn2d_s"
    assert stage6.teacher == "silero"
    assert stage6.augment.level_dbfs[0] <= -80.0 and stage6.augment.p_floor > 0
    assert stage6.data.val == stage5.data.val
    assert stage6.data.clip_weights == stage4.data.clip_weights
    # stage 7 trains the 32-mel net on stage 2's data from the default, the default as teacher
    stage7 = load_run_cfg(REPO / "recipes" / "default_vad" / "stage7.toml")
    assert stage7.arch == "vad_cnn2d_xs" and stage7.init == stage7.teacher == stage2_pick
    assert stage7.augment == stage2.augment and stage7.data.clip_weights == stage2.data.clip_weights
    assert stage7.data.val == stage5.data.val
    # stages 8 and 9 lower the log floor (a [model] override of init's frontend) and train on
    # -80..-10 dBFS mixtures: stage 8 on the 32-mel net, stage 9 on the default's 64 mel bands
    stage8 = load_run_cfg(REPO / "recipes" / "default_vad" / "stage8.toml")
    stage9 = load_run_cfg(REPO / "recipes" / "default_vad" / "stage9.toml")
    assert stage8.arch == "vad_cnn2d_xs" and stage9.arch == "vad_cnn2d_s"
    assert stage8.init == stage9.init == stage2_pick
    assert stage8.model["frontend"] == {"n_mels": 32, "log_eps": 1e-9}
    assert stage9.model["frontend"] == {"log_eps": 1e-9}
    for st in (stage8, stage9):
        assert st.augment.level_dbfs[0] <= -80.0 and st.augment.p_floor > 0
        assert st.teacher == stage2_pick and st.data.val == stage7.data.val
    # stage 10 (the bundled default): stage 9 distilling Silero, heard at a -6 dBFS peak
    stage10 = load_run_cfg(REPO / "recipes" / "default_vad" / "stage10.toml")
    assert stage10.init == stage2_pick and stage10.model == stage9.model
    assert (stage10.teacher, stage10.teacher_hears, stage10.teacher_peak_dbfs) == (
        "silero", "peak", -6.0)
    assert stage10.augment == stage9.augment and stage10.data == stage9.data
    # stage 11: stage 10 with one more speech group; the voices weigh nothing before it
    stage11 = load_run_cfg(REPO / "recipes" / "default_vad" / "stage11.toml")
    assert stage2.data.clip_weights["voices_more"] == stage10.data.clip_weights["voices_more"] == 0
    assert stage11.data.clip_weights == stage10.data.clip_weights | {"voices_more": 2.0}
    assert (stage11.init, stage11.model, stage11.augment, stage11.train) == (
        stage10.init, stage10.model, stage10.augment, stage10.train)
    assert (stage11.teacher, stage11.teacher_weight, stage11.teacher_hears) == (
        stage10.teacher, stage10.teacher_weight, stage10.teacher_hears)


def _default_vad_prepare() -> Any:
    """``recipes/default_vad/prepare.py`` as a module (it is a script, not a package)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "prepare_default_vad", REPO / "recipes" / "default_vad" / "prepare.py"
    )
    assert spec is not None and spec.loader is not None
    prepare = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(prepare)
    return prepare


@pytest.mark.parametrize(
    ("group", "members", "kept"),
    [
        # OpenArena: sound/player/MODEL/NAME.wav, beside taunts (some are words) and footsteps
        ("vocalisations",
         ["sound/player/liz/pain25_1.wav", "sound/player/liz/taunt.wav",
          "sound/player/tony/Death1.wav", "sound/player/footsteps/step1.wav",
          "models/players/liz/skin.tga"],
         {"liz_pain25_1.wav": "sound/player/liz/pain25_1.wav",
          "tony_death1.wav": "sound/player/tony/Death1.wav"}),
    ],
)
def test_default_vad_unpacks_the_cries_not_the_taunts(
    tmp_path: Path, group: str, members: list[str], kept: dict[str, str]
) -> None:
    import zipfile

    pk3 = tmp_path / "players.pk3"
    with zipfile.ZipFile(pk3, "w") as z:
        for name in members:
            z.writestr(name, name)
    paths = _default_vad_prepare().unpack_cries(tmp_path / "cache", pk3, group)
    assert [Path(p).name for p in paths] == sorted(kept)
    assert all(Path(p).parent == tmp_path / "cache" / group for p in paths)
    assert {Path(p).name: Path(p).read_text() for p in paths} == kept


def test_own_data_recipe(tmp_path: Path) -> None:
    done = _prepare("own_data", tmp_path)
    assert done.returncode == 0, done.stderr
    assert "40 recordings" in done.stdout
    tensorboard = "tensorboard=true" if _has_tensorboard() else "tensorboard=false"
    cfg = _tiny(
        "own_data",
        tmp_path / "data",
        tmp_path / "run",
        'arch="vad_cnn1d_xs"',
        "train.max_steps=6",
        "train.eval_every=3",
        tensorboard,
    )
    result = train(cfg, device=torch.device("cpu"), log=lambda s: None)
    assert [r["step"] for r in result.history] == [3, 6]
    assert result.card["train_recordings"] == 34 and result.card["val_recordings"] == 6
    if _has_tensorboard():
        assert any((tmp_path / "run" / "tb").iterdir())
    # A broken folder: every problem reported, nothing written.
    (tmp_path / "demo" / "rec000.csv").write_text("start,end\n9.0,1.0\n")
    (tmp_path / "demo" / "rec001.csv").unlink()
    (tmp_path / "demo" / "extra.csv").write_text("0,1\n")
    cmd = [
        sys.executable,
        str(REPO / "recipes" / "own_data" / "prepare.py"),
        str(tmp_path / "demo"),
        "--out",
        str(tmp_path / "data2"),
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 1 and done.stderr.startswith("error:")
    assert "rec000.csv" in done.stderr and "extra.csv" in done.stderr
    assert not (tmp_path / "data2").exists()


@pytest.mark.slow
def test_finetune_recipe(tmp_path: Path) -> None:
    done = _prepare("finetune", tmp_path)
    assert done.returncode == 0, done.stderr
    assert f"bundled {vc.DEFAULT_MODEL}" in done.stdout and "roc_auc=" in done.stdout
    cfg = _tiny(
        "finetune",
        tmp_path / "data",
        tmp_path / "run",
        "train.max_steps=2",
        "train.eval_every=2",
        "tensorboard=false",
    )
    result = train(cfg, device=torch.device("cpu"), log=lambda s: None)
    assert result.card["init"] == vc.DEFAULT_MODEL and result.card["arch"] == vc.DEFAULT_MODEL
    assert vc.read_metadata(result.best)["arch"] == vc.DEFAULT_MODEL


def _has_tensorboard() -> bool:
    try:
        import tensorboard  # noqa: F401
    except ImportError:
        return False
    return True


def test_default_vad_recipe_runs_on_the_toolkit(tmp_path: Path) -> None:
    # prepare.py's lists, read by `voicecnn train recipes/default_vad/config.toml` unchanged
    # but for the cache paths and a tiny schedule: every weight names a group it writes.
    import numpy as np
    import soundfile as sf

    prepare = _default_vad_prepare()
    rng = np.random.default_rng(0)

    def clip(name: str, speech: bool) -> str:
        t = np.arange(24000) / 16000
        x = np.sin(2 * np.pi * 150 * t) * (np.sin(2 * np.pi * 2 * t) > 0) if speech else 0.0
        path = tmp_path / "audio" / f"{name}.wav"
        path.parent.mkdir(exist_ok=True)
        sf.write(path, (0.3 * x + 0.01 * rng.standard_normal(24000)).astype(np.float32), 16000)
        return str(path)

    speech = ("librispeech", "fsdd", "ljspeech", "misc", "asterisk", "fillets_cs", "voices_more")
    negatives = ("esc10", "music", "noise", "music_more", "effects", "music_rock",
                 "vocalisations")
    sf.write(tmp_path / "empty.wav", np.zeros(0, np.float32), 16000)
    split = {
        "train": {
            "speech": {g: [clip(f"{g}{i}", True) for i in range(2)] for g in speech},
            "negatives": {g: [clip(g, False)] for g in negatives},
            "rirs": [clip("rir", False)],
        },
        "val": {
            "speech": {"asterisk_ru": [clip("ru", True), str(tmp_path / "empty.wav")]},
            "backgrounds": {"esc10_fold5": [clip("fold5", False)]},
            "music": [clip("track", False)],
            "real": [
                {"name": "r", "path": clip("real", True), "segments": [[0.1, 0.4], [0.3, 0.5]]}
            ],
        },
    }
    cache = tmp_path / "cache"
    prepare.write_lists(split, cache)
    assert "empty" not in (cache / "clips/val/speech/asterisk_ru.txt").read_text()
    assert json.loads((cache / "val_real.jsonl").read_text())["segments"] == [[0.1, 0.5]]
    config = (REPO / "recipes" / "default_vad" / "config.toml").read_text()
    (tmp_path / "config.toml").write_text(
        config.replace("~/.cache/voicecnn/default_vad", str(cache))
    )
    overrides = [
        f"out_dir={json.dumps(str(tmp_path / 'run'))}",
        "arch='vad_cnn1d_xs'",
        "data.workers=0",
        "data.clip_items=16",
        "data.val_mixtures=4",
        "data.val_negative_crops=2",
        "data.crop_s=1.0",
        "train.batch_size=8",
        "train.max_steps=4",
        "train.eval_every=2",
    ]
    cfg = load_run_cfg(tmp_path / "config.toml", overrides)
    result = train(cfg, device=torch.device("cpu"), log=lambda s: None)
    card = result.card
    assert card["recipe"] == "recipes/default_vad" and card["rirs"] == 1
    assert set(card["clip_weights"]) == set(speech) | set(negatives)
    assert {"fa_esc10_fold5", "fa_music", "mix_roc_auc", "roc_auc"} <= set(card["validation"])
    assert sorted(p.name for p in (tmp_path / "run" / "ckpt").iterdir()) == [
        "step_2.safetensors",
        "step_4.safetensors",
    ]
    # stage 2 starts from stage 1's pick with config.toml (its base) under it
    (tmp_path / "stage2.toml").write_text(
        (REPO / "recipes" / "default_vad" / "stage2.toml").read_text()
    )
    tiny = [o for o in overrides if not o.startswith("out_dir")]
    stage2 = load_run_cfg(tmp_path / "stage2.toml",
        [
            f"init={json.dumps(str(tmp_path / 'run' / 'best.safetensors'))}",
            f"out_dir={json.dumps(str(tmp_path / 'run2'))}",
            *tiny,
        ],
    )
    assert stage2.data.clip_weights == cfg.data.clip_weights and stage2.augment.reverb_tails
    card2 = train(stage2, device=torch.device("cpu"), log=lambda s: None).card
    assert card2["init"] == str(tmp_path / "run" / "best.safetensors")
    assert card2["stage"].startswith("2 of 3") and card2["recipe"] == "recipes/default_vad"
    # stage 3 starts from stage 2's pick, over stage2.toml and config.toml
    (tmp_path / "stage3.toml").write_text(
        (REPO / "recipes" / "default_vad" / "stage3.toml").read_text()
    )
    stage3 = load_run_cfg(tmp_path / "stage3.toml",
        [
            f"init={json.dumps(str(tmp_path / 'run2' / 'best.safetensors'))}",
            f"out_dir={json.dumps(str(tmp_path / 'run3'))}",
            *tiny,
        ],
    )
    assert stage3.augment.reverb_tails and stage3.augment.p_speech < stage2.augment.p_speech
    assert stage3.data.clip_weights["music"] > stage2.data.clip_weights["music"]
    card3 = train(stage3, device=torch.device("cpu"), log=lambda s: None).card
    assert card3["init"] == str(tmp_path / "run2" / "best.safetensors")
    assert card3["stage"].startswith("3 of 4") and card3["nonspeech_clips"]["music_rock"] == 1
    # stage 4 starts from stage 3's pick, which is also its teacher, with the cries drawn
    (tmp_path / "stage4.toml").write_text(
        (REPO / "recipes" / "default_vad" / "stage4.toml").read_text()
    )
    stage3_best = json.dumps(str(tmp_path / "run3" / "best.safetensors"))
    stage4 = load_run_cfg(tmp_path / "stage4.toml",
        [
            f"init={stage3_best}",
            f"teacher={stage3_best}",
            f"out_dir={json.dumps(str(tmp_path / 'run4'))}",
            *tiny,
        ],
    )
    assert 0 < stage4.teacher_weight < 0.5 and stage4.data.clip_weights["vocalisations"] > 0
    assert stage4.data.clip_weights["music"] == stage3.data.clip_weights["music"]
    card4 = train(stage4, device=torch.device("cpu"), log=lambda s: None).card
    assert card4["init"] == card4["teacher"] == str(tmp_path / "run3" / "best.safetensors")
    assert card4["stage"].startswith("4 of 4") and card4["nonspeech_clips"]["vocalisations"] == 1


@pytest.mark.slow
def test_own_data_demo_trains_as_its_readme_says(tmp_path: Path) -> None:
    # recipes/own_data/README.md, run from a fresh folder: prepare.py --demo with its paths,
    # then `voicecnn train recipes/own_data/config.toml`, only capped at 2 steps (the batch of
    # 32, the workers, the model: as written)
    prepare = [sys.executable, str(REPO / "recipes/own_data/prepare.py"), "--demo",
               "runs/own_data/demo"]
    done = subprocess.run(prepare, cwd=tmp_path, capture_output=True, text=True, timeout=120,
                          check=False)
    assert done.returncode == 0, done.stderr
    train_cmd = [sys.executable, "-m", "voicecnn", "train",
                 str(REPO / "recipes/own_data/config.toml"), "--set", "train.max_steps=2",
                 "--set", "train.eval_every=2", "--set", "tensorboard=false"]
    done = subprocess.run(train_cmd, cwd=tmp_path, capture_output=True, text=True, timeout=300,
                          check=False)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "runs/own_data/run/best.safetensors").is_file()


def _script(relpath: str) -> ModuleType:
    """A recipe script as a module (in-process: faster than a subprocess per call)."""
    path = REPO / relpath
    spec = importlib.util.spec_from_file_location(f"_recipe_{path.parent.name}_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _run(script: str, *args: str | Path) -> int:
    return int(_script(script).main([str(a) for a in args]))


def _fake_mnist_npz(path: Path, n_train: int = 60, n_test: int = 20) -> Path:
    rng = np.random.default_rng(0)
    np.savez(
        path,
        x_train=rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        y_train=np.arange(n_train) % 10,
        x_test=rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        y_test=np.arange(n_test) % 10,
    )
    return path


@pytest.mark.parametrize("recipe", RECIPES)
def test_config_loads_strictly(recipe: str) -> None:
    cfg = load_run_cfg(REPO / "recipes" / recipe / "config.toml")
    assert cfg.task == "image" and cfg.arch.startswith("img_")
    assert cfg.train.select_metric == "accuracy"
    assert len(cfg.data.train) == 1 and cfg.out_dir == f"runs/{recipe}/run"
    assert cfg.data.train[0].startswith(f"runs/{recipe}/data")
    for doc in ("README.md", "prepare.py"):
        assert (REPO / "recipes" / recipe / doc).is_file()
    assert (REPO / "recipes" / "evaluate_images.py").is_file()  # shared by the image recipes


def test_mnist_prepare_limit(tmp_path: Path) -> None:
    src = _fake_mnist_npz(tmp_path / "mnist.npz")
    out = tmp_path / "data"
    done = _run("recipes/mnist/prepare.py", "--src", src, "--out", out, "--limit", "50")
    assert done == 0
    x, y = load_npz(out / "train.npz")
    vx, vy = load_npz(out / "val.npz")
    tx, ty = load_npz(out / "test.npz")
    assert x.shape == (40, 28, 28) and len(vy) == 10 and len(ty) == 20
    again = _run("recipes/mnist/prepare.py", "--src", src, "--out", tmp_path / "b", "--limit", "50")
    assert again == 0
    assert np.array_equal(load_npz(tmp_path / "b" / "val.npz")[1], vy)  # seeded split


def test_fashion_prepare_limit_and_no_flip_copies(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "idx"
    src.mkdir()
    rng = np.random.default_rng(1)
    for split, n in (("train", 30), ("t10k", 10)):
        write_idx(src / f"{split}-images-idx3-ubyte.gz", rng.integers(0, 256, (n, 28, 28)))
        write_idx(src / f"{split}-labels-idx1-ubyte.gz", np.arange(n) % 10)
    out = tmp_path / "data"
    done = _run("recipes/fashion_mnist/prepare.py", "--src", src, "--out", out, "--limit", "25")
    assert done == 0
    x, y = load_npz(out / "train.npz")
    vx, _ = load_npz(out / "val.npz")
    assert len(vx) == 5 and len(y) == 20  # no mirrored copies: flips are data.flip
    again = _run("recipes/fashion_mnist/prepare.py", "--src", src, "--out", tmp_path / "b",
                 "--limit", "25")
    assert again == 0
    assert np.array_equal(load_npz(tmp_path / "b" / "train.npz")[0], x)  # seeded
    assert len(load_npz(out / "test.npz")[1]) == 10
    assert (out / "classes.txt").read_text().split("\n")[0] == "t-shirt/top"
    missing = _run("recipes/fashion_mnist/prepare.py", "--src", tmp_path / "none", "--out", out)
    assert missing == 1 and "no Fashion-MNIST" in capsys.readouterr().err


def test_fashion_config_names_the_classes_and_flips() -> None:
    cfg = load_run_cfg(REPO / "recipes" / "fashion_mnist" / "config.toml")
    assert len(cfg.model["class_names"]) == 10
    assert cfg.data.flip and cfg.data.shift_px == 2 and cfg.data.augment_images
    mnist = load_run_cfg(REPO / "recipes" / "mnist" / "config.toml")
    assert not mnist.data.flip  # a mirrored digit is not the same digit


def test_image_folder_prepare_train_evaluate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("PIL")
    src = _fake_mnist_npz(tmp_path / "mnist.npz", n_train=100, n_test=40)
    out = tmp_path / "data"
    done = _run(
        "recipes/image_folder/prepare.py",
        "--src",
        src,
        "--out",
        out,
        "--classes",
        "3",
        "7",
        "--per-class",
        "8",
        "--test-per-class",
        "3",
    )
    assert done == 0
    x, y, names = load_image_folder(out / "train", size=(28, 28))
    assert names == ["3", "7"] and x.shape == (16, 28, 28, 1) and list(np.bincount(y)) == [8, 8]
    cfg = load_run_cfg(REPO / "recipes" / "image_folder" / "config.toml",
        [
            f"out_dir={json.dumps(str(tmp_path / 'run'))}",
            f"data.train=[{json.dumps(str(out / 'train'))}]",
            "data.val_fraction=0.25",
            "data.workers=0",
            "train.batch_size=4",
            "train.max_steps=4",
            "train.warmup_steps=1",
            "train.eval_every=2",
        ],
    )
    result = train(cfg, device=__import__("torch").device("cpu"), log=lambda s: None)
    assert result.card["classes"] == 2
    capsys.readouterr()
    scored = _run("recipes/evaluate_images.py", result.best, out / "test", "--json")
    assert scored == 0
    figures = json.loads(capsys.readouterr().out)
    assert figures["images"] == 6 and 0.0 <= figures["accuracy"] <= 1.0
    assert set(figures["per_class"]) == {"3", "7"}


def test_default_vad_lists_only_clips_that_decode_whole(tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    # a clip voicecnn refuses to read would stop the training run that draws it
    import soundfile as sf

    prepare = _default_vad_prepare()
    good, bad = tmp_path / "good.wav", tmp_path / "bad.ogg"
    sf.write(good, np.zeros(1600, np.float32), 16000)
    bad.write_bytes(b"OggS" + bytes(60))
    assert prepare._readable([str(bad), str(good)], "voices_more") == [str(good)]
    assert "voices_more: left out 1 of 2 files" in capsys.readouterr().err
