"""Tiny training data and configs shared by the training tests (not a test module)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

SR = 16000
CLASSES = ("buzz", "hiss", "whistle")


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


def two_class_images(path: Path, n: int = 120, seed: int = 0) -> Path:
    """A bright square in the top-left (class 0) or bottom-right (class 1) corner."""
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 40, size=(n, 28, 28), dtype=np.uint8)
    y = np.arange(n) % 2
    for i in range(n):
        r, c = rng.integers(2, 8, size=2) if y[i] == 0 else rng.integers(16, 22, size=2)
        x[i, r : r + 6, c : c + 6] = 230
    np.savez(path, x=x, y=y)
    return path


def sound(kind: str, n: int, rng: np.random.Generator) -> np.ndarray:
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
                sf.write(root / kind / f"{fold}-{100 + i}-A.wav", sound(kind, n, rng), SR)
    return root


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


# --- images -----------------------------------------------------------------------------------

IMAGE_NAMES = ("bottom_right", "top_left")


def squares(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """28x28 images with a bright square top-left (label 1) or bottom-right (label 0)."""
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 40, size=(n, 28, 28), dtype=np.uint8)
    y = (np.arange(n) % 2).astype(np.int64)
    for i in range(n):
        r, c = rng.integers(2, 8, size=2) if y[i] == 1 else rng.integers(16, 22, size=2)
        x[i, r : r + 6, c : c + 6] = 230
    return x, y


def write_idx(path: Path, arr: np.ndarray) -> None:
    """An MNIST-style gzipped IDX file of unsigned bytes."""
    header = bytes([0, 0, 0x08, arr.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in arr.shape)
    path.write_bytes(gzip.compress(header + arr.astype(np.uint8).tobytes()))


def idx_folder(root: Path, splits: dict[str, int]) -> Path:
    """An MNIST-style folder of :func:`squares`, ``n`` images per split name."""
    root.mkdir(parents=True)
    for split, n in splits.items():
        x, y = squares(n, seed=n)
        write_idx(root / f"{split}-images-idx3-ubyte.gz", x)
        write_idx(root / f"{split}-labels-idx1-ubyte.gz", y)
    return root


def save_gap_model(path: Path) -> Path:
    """An untrained two-class ``img_cnn2d_gap`` (seeded) saved to ``path``."""
    import torch

    import voicecnn as vc

    torch.manual_seed(3)
    model = vc.create_model(
        "img_cnn2d_gap", num_classes=2, class_names=IMAGE_NAMES, mean=(0.2,), std=(0.3,)
    ).eval()
    vc.save_weights(model, path, arch="img_cnn2d_gap")
    return path


def assert_same_predictions(a: list[dict[str, Any]], b: list[dict[str, Any]]) -> None:
    """Two ``classify -f json`` outputs give the same labels in order, probabilities to 1e-4."""
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        assert [p["label"] for p in x["predictions"]] == [p["label"] for p in y["predictions"]]
        np.testing.assert_allclose(
            [p["probability"] for p in x["predictions"]],
            [p["probability"] for p in y["predictions"]],
            atol=1e-4,
        )
