"""The image recipes (MNIST, Fashion-MNIST, image folder): configs and prepare scripts.

Fast checks only: each config loads strictly, each prepare script runs on a tiny synthetic
source (``--limit`` / few images per class), and the evaluation script scores a tiny model.
No training to convergence here (the measured figures are in each recipe's README).
"""

from __future__ import annotations

import gzip
import importlib.util
import json
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from voicecnn.data.images import load_image_folder, load_npz
from voicecnn.train.run import load_run_cfg, train

REPO = Path(__file__).parents[1]
RECIPES = ("mnist", "fashion_mnist", "image_folder")


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


def _idx(path: Path, arr: np.ndarray) -> None:
    header = bytes([0, 0, 0x08, arr.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in arr.shape)
    path.write_bytes(gzip.compress(header + arr.astype(np.uint8).tobytes()))


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
        _idx(src / f"{split}-images-idx3-ubyte.gz", rng.integers(0, 256, (n, 28, 28)))
        _idx(src / f"{split}-labels-idx1-ubyte.gz", np.arange(n) % 10)
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
