"""Split MNIST into train / validation / test ``.npz`` files for ``voicecnn train``.

The source is the usual ``mnist.npz`` (``x_train``, ``y_train``, ``x_test``, ``y_test``; uint8
28x28 digits). The official 10,000 test images are kept apart for the final figure
(``evaluate.py``); the validation set that picks ``best.safetensors`` is carved out of the
60,000 training images with a fixed seed, so it is the same on every machine.

    python recipes/mnist/prepare.py [--src ../shared/data/images/mnist.npz] [--out runs/mnist/data]
        [--val-size 5000] [--seed 0] [--limit N]

Writes ``OUT/train.npz``, ``OUT/val.npz`` and ``OUT/test.npz``, each with arrays ``x`` (N, 28,
28) uint8 and ``y`` (N,) int64, the keys :func:`voicecnn.data.images.load_npz` reads.
``--limit N`` keeps the first N training and N test images (for a quick check).
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from voicecnn.data.images import split_holdout
from voicecnn.errors import VoiceCNNError

DEFAULT_SRC = Path("../shared/data/images/mnist.npz")


def write_splits(out: Path, splits: dict[str, tuple[np.ndarray, np.ndarray]]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for name, (x, y) in splits.items():
        np.savez(
            out / f"{name}.npz",
            x=np.ascontiguousarray(x, dtype=np.uint8),
            y=np.asarray(y, dtype=np.int64),
        )
        counts = np.bincount(y, minlength=10)
        print(f"{out / (name + '.npz')}: {len(y)} images, per class {counts.min()}..{counts.max()}")


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--src", type=Path, default=DEFAULT_SRC, help="mnist.npz (x_train, ...)")
    ap.add_argument("--out", type=Path, default=Path("runs/mnist/data"))
    ap.add_argument("--val-size", type=int, default=5000, help="validation images from train")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--limit", type=int, default=0, help="keep N train and N test images")
    args = ap.parse_args(argv)
    if not args.src.is_file():
        print(f"error: '{args.src}' not found (pass --src)", file=sys.stderr)
        return 1
    digest = hashlib.sha256(args.src.read_bytes()).hexdigest()[:16]
    with np.load(args.src, allow_pickle=False) as npz:
        x, y = npz["x_train"], npz["y_train"].astype(np.int64)
        tx, ty = npz["x_test"], npz["y_test"].astype(np.int64)
    print(f"{args.src} (sha256 {digest}...): {len(y)} train, {len(ty)} test images")
    if args.limit:
        x, y, tx, ty = x[: args.limit], y[: args.limit], tx[: args.limit], ty[: args.limit]
    val_size = args.val_size if not args.limit else max(1, min(args.val_size, len(y) // 5))
    try:
        trx, try_, vx, vy = split_holdout(x, y, val_size, seed=args.seed)
    except VoiceCNNError as e:
        print(f"error: --val-size: {e}", file=sys.stderr)
        return 1
    write_splits(args.out, {"train": (trx, try_), "val": (vx, vy), "test": (tx, ty)})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
