"""Split Fashion-MNIST (Debian ``dataset-fashion-mnist``) into train / validation / test ``.npz``.

The Debian package installs the original IDX files under ``/usr/share/datasets/fashion-mnist``;
if they are missing this script installs it (``apt-get install -y --no-install-recommends
dataset-fashion-mnist``, as root) or tells you the command. The official 10,000 test images are
kept apart for the final figure (``voicecnn evaluate``); the validation set that picks
``best.safetensors`` is carved out of the 60,000 training images with a fixed seed.
Augmentation (random shifts and horizontal flips) happens during training (``data.shift_px``,
``data.flip`` in ``config.toml``), not here.

    python recipes/fashion_mnist/prepare.py [--src /usr/share/datasets/fashion-mnist]
        [--out runs/fashion_mnist/data] [--val-size 5000] [--seed 0] [--limit N]

Writes ``OUT/train.npz``, ``OUT/val.npz`` and ``OUT/test.npz`` (arrays ``x`` uint8 (N, 28, 28),
``y`` int64) and ``OUT/classes.txt``. ``--limit N`` keeps the first N training and N test images.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from voicecnn.data.images import load_mnist, split_holdout
from voicecnn.errors import VoiceCNNError

DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
DEBIAN_PACKAGE = "dataset-fashion-mnist"
CLASSES = (
    "t-shirt/top",
    "trouser",
    "pullover",
    "dress",
    "coat",
    "sandal",
    "shirt",
    "sneaker",
    "bag",
    "ankle boot",
)
"""Label 0..9 of Fashion-MNIST (the dataset's README)."""


def ensure_debian_data(src: Path) -> bool:
    """True when ``src`` holds the IDX files, installing the Debian package first if needed."""
    if (src / "train-images-idx3-ubyte.gz").is_file():
        return True
    if src != DEBIAN_DIR:
        return False
    cmd = ["apt-get", "install", "-y", "--no-install-recommends", DEBIAN_PACKAGE]
    if shutil.which("apt-get") is None or os.geteuid() != 0:
        print(f"'{src}' is missing; install it with: sudo {' '.join(cmd)}", file=sys.stderr)
        return False
    print("installing:", " ".join(cmd))
    subprocess.run(cmd, check=False, env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
    return (src / "train-images-idx3-ubyte.gz").is_file()


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--src", type=Path, default=DEBIAN_DIR, help="folder of the IDX files")
    ap.add_argument("--out", type=Path, default=Path("runs/fashion_mnist/data"))
    ap.add_argument("--val-size", type=int, default=5000, help="validation images from train")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--limit", type=int, default=0, help="keep N train and N test images")
    args = ap.parse_args(argv)
    if not ensure_debian_data(args.src):
        print(f"error: no Fashion-MNIST IDX files in '{args.src}'", file=sys.stderr)
        return 1
    try:
        x, y = load_mnist(args.src, "train")
        tx, ty = load_mnist(args.src, "test")
    except VoiceCNNError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(f"{args.src}: {len(y)} train, {len(ty)} test images")
    if args.limit:
        x, y, tx, ty = x[: args.limit], y[: args.limit], tx[: args.limit], ty[: args.limit]
    val_size = args.val_size if not args.limit else max(1, min(args.val_size, len(y) // 5))
    try:
        trx, try_, vx, vy = split_holdout(x, y, val_size, seed=args.seed)
    except VoiceCNNError as e:
        print(f"error: --val-size: {e}", file=sys.stderr)
        return 1
    args.out.mkdir(parents=True, exist_ok=True)
    for name, (a, b) in {"train": (trx, try_), "val": (vx, vy), "test": (tx, ty)}.items():
        np.savez(args.out / f"{name}.npz", x=np.ascontiguousarray(a), y=b.astype(np.int64))
        print(f"{args.out / (name + '.npz')}: {len(b)} images")
    (args.out / "classes.txt").write_text("\n".join(CLASSES) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
