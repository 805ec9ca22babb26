"""Test accuracy of a trained image classifier (``voicecnn evaluate`` scores detectors only).

    python recipes/evaluate_images.py MODEL DATA [--batch-size 512] [--json]

MODEL is a ``.safetensors`` file written by ``voicecnn train`` (e.g. ``best.safetensors``).
DATA is a ``.npz`` file with arrays ``x``/``y`` (as ``prepare.py`` writes), a folder of MNIST
IDX files (its ``t10k-*`` test split) or a class-per-folder image tree (the class folders must
be the model's classes). Images are normalised with the statistics saved in the model.
Prints the accuracy, the number of errors and the accuracy of each class.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

import voicecnn as vc
from voicecnn.data.images import ImageDataset, load_image_folder, load_mnist, load_npz
from voicecnn.models.image import ImageCnn


def read_test_set(path: Path, net: ImageCnn) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Pixels, labels and (for folders) class names of ``path``, sized as ``net`` takes them."""
    if path.suffix.lower() == ".npz":
        x, y = load_npz(path)
        return x, y, []
    if path.is_dir() and any("idx" in p.name for p in path.iterdir()):
        x, y = load_mnist(path, "test")
        return x, y, []
    size = net.cfg.input_size or (28, 28)
    x, y, names = load_image_folder(path, size=size, channels=net.cfg.in_channels)
    return x, y, names


def evaluate(model: str, data: Path, batch_size: int = 512) -> dict[str, Any]:
    net = vc.load_model(model)
    if not isinstance(net, ImageCnn):
        raise vc.VoiceCNNError(f"'{model}' is not an image classifier")
    net.eval()
    x, y, names = read_test_set(data, net)
    model_names = list(net.cfg.class_names)
    if names and model_names and names != model_names:
        raise vc.VoiceCNNError(f"class folders {names} are not the model's classes {model_names}")
    ds = ImageDataset(x, y, mean=net.cfg.mean, std=net.cfg.std)
    loader = torch.utils.data.DataLoader(ds, batch_size=batch_size)
    preds = []
    with torch.inference_mode():
        for xb, _ in loader:
            preds.append(net(xb).argmax(1).numpy())
    pred = np.concatenate(preds)
    labels = model_names or names or [str(k) for k in range(int(y.max()) + 1)]
    per_class = {
        labels[k]: round(float((pred[y == k] == k).mean()), 4)
        for k in range(len(labels))
        if (y == k).any()
    }
    return {
        "images": int(len(y)),
        "accuracy": float((pred == y).mean()),
        "errors": int((pred != y).sum()),
        "per_class": per_class,
        "params": sum(p.numel() for p in net.parameters()),
    }


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model", help=".safetensors weights written by voicecnn train")
    ap.add_argument("data", type=Path, help=".npz (x, y), MNIST IDX folder or class folders")
    ap.add_argument("--batch-size", type=int, default=512)
    ap.add_argument("--json", action="store_true", help="one JSON object instead of a table")
    args = ap.parse_args(argv)
    try:
        r = evaluate(args.model, args.data, args.batch_size)
    except vc.VoiceCNNError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(r))
        return 0
    print(f"{args.model}: {r['params']} parameters")
    print(f"{args.data}: {r['images']} images, accuracy {r['accuracy']:.4f} ({r['errors']} errors)")
    for name, acc in r["per_class"].items():
        print(f"  {name:<14} {acc:.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
