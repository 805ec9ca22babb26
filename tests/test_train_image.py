"""The ``image`` task: ``.npz`` and class-folder runs, fine-tuning to new classes, the
``data.flip`` / ``data.shift_px`` settings and the split of an IDX validation folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

import voicecnn as vc
from tests.train_data import idx_folder, squares, two_class_images
from voicecnn.config import cfg_from_dict
from voicecnn.errors import ConfigError, DataError
from voicecnn.train.image import ImageRunCfg, prepare_image
from voicecnn.train.run import run_cfg_from_dict, train


def test_image_task_on_npz(tmp_path: Path) -> None:
    data = two_class_images(tmp_path / "squares.npz")
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
    result = train(run_cfg_from_dict(raw), device=torch.device("cpu"), log=lambda s: None)
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
    tuned = train(run_cfg_from_dict(raw3), device=torch.device("cpu"), log=lambda s: None)
    assert vc.load_model(tuned.best).num_classes == 3


def test_image_task_on_a_class_folder(tmp_path: Path) -> None:
    pil = pytest.importorskip("PIL.Image")
    x = np.load(two_class_images(tmp_path / "squares.npz", n=16))["x"]
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
    result = train(run_cfg_from_dict(raw), device=torch.device("cpu"), log=lambda s: None)
    model = vc.load_model(result.best)
    assert model.class_names == ("bottom_right", "top_left")
    assert result.card["train_images"] + result.card["val_images"] == 16


def _image_cfg(train: Path, val: Path | None = None, **data: Any) -> ImageRunCfg:
    sources = {"train": [str(train)], "val": [str(val)] if val else [], "workers": 0}
    return cfg_from_dict(
        ImageRunCfg,
        {
            "arch": "img_cnn2d_s",
            "out_dir": "unused",
            "tensorboard": False,
            "data": {**sources, **data},
        },
    )


def test_flip_and_shift_settings_reach_the_training_images(tmp_path: Path) -> None:
    x, y = squares(16)
    np.savez(tmp_path / "train.npz", x=x, y=y)
    cpu = torch.device("cpu")
    flips = prepare_image(_image_cfg(tmp_path / "train.npz", flip=True, shift_px=0), cpu)
    plain = prepare_image(_image_cfg(tmp_path / "train.npz", augment_images=False), cpu).train
    seen = set()
    for i in range(len(flips.train)):  # type: ignore[arg-type]
        item, ref = flips.train[i][0], plain[i][0]
        mirrored = torch.equal(item, ref.flip(-1))
        assert mirrored or torch.equal(item, ref)
        seen.add(mirrored)
    assert seen == {True, False}
    shifts = prepare_image(_image_cfg(tmp_path / "train.npz", shift_px=3), cpu)
    assert shifts.train.max_shift_px == 3 and not shifts.train.flip  # type: ignore[attr-defined]
    n = len(plain)  # type: ignore[arg-type]
    assert any(not torch.equal(shifts.train[i][0], plain[i][0]) for i in range(n))
    for i in range(n):  # shifted, never mirrored: the bright square stays on its side
        img, label = shifts.train[i]
        columns = torch.nonzero(img[0] > (img.max() + img.min()) / 2)[:, 1].float()
        assert bool(columns.mean() < 13.5) == (label == 1)  # label 1: top left
    with pytest.raises(ConfigError, match="max_shift_px"):
        prepare_image(_image_cfg(tmp_path / "train.npz", shift_px=-1), cpu)


def test_idx_validation_folder_split(tmp_path: Path) -> None:
    both = idx_folder(tmp_path / "both", {"train": 10, "t10k": 6})
    train_only = idx_folder(tmp_path / "train_only", {"train": 8})
    x, y = squares(12)
    np.savez(tmp_path / "train.npz", x=x, y=y)
    cpu = torch.device("cpu")

    def val_images(cfg: ImageRunCfg) -> int:
        return int(prepare_image(cfg, cpu).facts["val_images"])

    assert val_images(_image_cfg(both, both)) == 6  # the t10k files
    assert val_images(_image_cfg(tmp_path / "train.npz", train_only)) == 8  # only train files
    assert val_images(_image_cfg(tmp_path / "train.npz", both, val_idx_split="train")) == 10
    assert val_images(_image_cfg(tmp_path / "train.npz", both, val_idx_split="test")) == 6
    with pytest.raises(ConfigError, match="would read the training images"):
        prepare_image(_image_cfg(both, both, val_idx_split="train"), cpu)
    with pytest.raises(ConfigError, match="would read the training images"):
        prepare_image(_image_cfg(train_only, train_only), cpu)
    with pytest.raises(DataError, match="has no t10k-images"):
        prepare_image(_image_cfg(tmp_path / "train.npz", train_only, val_idx_split="test"), cpu)
    with pytest.raises(ConfigError, match="is not one of"):
        _image_cfg(both, both, val_idx_split="t10k")
