"""Test accuracy of a trained image classifier (the figures of ``voicecnn evaluate``, older layout).

    python recipes/evaluate_images.py MODEL DATA [--batch-size 512] [--json]

MODEL is a ``.safetensors`` file written by ``voicecnn train`` (e.g. ``best.safetensors``) or
its ONNX export. DATA is a ``.npz`` file with arrays ``x``/``y`` (as ``prepare.py`` writes), a
folder of MNIST IDX files (its ``t10k-*`` test split) or a class-per-folder image tree (its
class folders matched to the model's classes by name). Images are normalised with the
statistics saved in the model. Prints the accuracy, the number of errors and the accuracy of
each class; ``voicecnn evaluate MODEL DATA`` prints the same with the confusions.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import voicecnn as vc
from voicecnn.train.score import classifier_task, evaluate_classifier


def evaluate(model: str, data: Path, batch_size: int = 512) -> dict[str, Any]:
    net = vc.load_model(model)
    if classifier_task(net) != "image":
        raise vc.VoiceCNNError(f"'{model}' is not an image classifier")
    report = evaluate_classifier(net, [data], split="test", batch_size=batch_size)
    params = sum(p.numel() for p in net.parameters()) if hasattr(net, "parameters") else None
    return {
        "images": report.examples,
        "accuracy": report.accuracy,
        "errors": report.errors,
        "per_class": {name: round(v[1], 4) for name, v in report.per_class().items()},
        "params": params,
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
