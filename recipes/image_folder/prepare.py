"""Write a class-per-folder PNG tree from a few MNIST digits, to train from image files.

``voicecnn train`` with ``task = "image"`` reads a folder of class folders
(``root/<class>/**/*.png|jpg|jpeg|bmp``, classes = the sorted folder names, images resized to
``data.image_size`` and converted to ``data.channels``). This script makes such a tree from
``mnist.npz`` so the path can be tried without your own images; with your own, skip it and point
the config at your folders.

    python recipes/image_folder/prepare.py [--src ../shared/data/images/mnist.npz]
        [--out runs/image_folder/data] [--classes 0 1 2 3 4] [--per-class 1000]
        [--test-per-class 200] [--seed 0]

Writes ``OUT/train/<digit>/<index>.png`` (``--per-class`` images of each class, drawn from the
MNIST training set with ``--seed``) and ``OUT/test/<digit>/<index>.png`` (from the official test
set). The trainer holds out the validation images from ``train/`` itself (``data.val_fraction``);
``test/`` is for ``evaluate.py`` only. Needs Pillow (``pip install 'voicecnn[image]'``).
"""

from __future__ import annotations

import argparse
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

DEFAULT_SRC = Path("../shared/data/images/mnist.npz")


def write_tree(
    out: Path,
    x: np.ndarray,
    y: np.ndarray,
    classes: Sequence[int],
    per_class: int,
    rng: np.random.Generator,
) -> int:
    """``per_class`` random images of each class as ``out/<class>/<index>.png``; the count."""
    from PIL import Image

    n = 0
    for c in classes:
        idx = np.flatnonzero(y == c)
        if len(idx) == 0:
            raise SystemExit(f"class {c} has no images in the source")
        pick = np.sort(rng.choice(idx, size=min(per_class, len(idx)), replace=False))
        folder = out / str(c)
        folder.mkdir(parents=True, exist_ok=True)
        for i in pick:
            Image.fromarray(x[i]).save(folder / f"{i:05d}.png")
        n += len(pick)
    return n


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--src", type=Path, default=DEFAULT_SRC, help="mnist.npz (x_train, ...)")
    ap.add_argument("--out", type=Path, default=Path("runs/image_folder/data"))
    ap.add_argument("--classes", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    ap.add_argument("--per-class", type=int, default=1000, help="training images per class")
    ap.add_argument("--test-per-class", type=int, default=200)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    if not args.src.is_file():
        print(f"error: '{args.src}' not found (pass --src)", file=sys.stderr)
        return 1
    with np.load(args.src, allow_pickle=False) as npz:
        x, y, tx, ty = npz["x_train"], npz["y_train"], npz["x_test"], npz["y_test"]
    rng = np.random.default_rng(args.seed)
    for split in ("train", "test"):  # a fresh tree: no images left from another run
        shutil.rmtree(args.out / split, ignore_errors=True)
    n_train = write_tree(args.out / "train", x, y, args.classes, args.per_class, rng)
    n_test = write_tree(args.out / "test", tx, ty, args.classes, args.test_per_class, rng)
    print(f"{args.out / 'train'}: {n_train} PNG images in {len(args.classes)} class folders")
    print(f"{args.out / 'test'}: {n_test} PNG images")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
