"""Check and split your annotated folder (as recipes/own_data) and measure the bundled model
on the validation part, the baseline the fine-tuned model has to beat.

    python recipes/finetune/prepare.py DATA_DIR [--out runs/finetune/data] [--demo]
"""

from __future__ import annotations

import argparse
import runpy
import sys
from pathlib import Path

import voicecnn as vc
from voicecnn.data.recordings import load_dataset
from voicecnn.train.vad import evaluate_recordings, load_recordings

HERE = Path(__file__).resolve().parent
# One implementation of the checks and the split: the own_data recipe's.
_OWN = runpy.run_path(str(HERE.parent / "own_data" / "prepare.py"))


def main() -> None:
    """Parse arguments, write the manifests, print the bundled model's validation figures."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data", type=Path, help="folder of recordings with annotation files")
    ap.add_argument("--out", type=Path, default=Path("runs/finetune/data"))
    ap.add_argument("--val-fraction", type=float, default=0.15)
    ap.add_argument("--demo", action="store_true", help="first write a toy folder at DATA")
    args = ap.parse_args()
    if args.demo:
        _OWN["write_demo"](args.data)
    try:
        counts = _OWN["write_split"](load_dataset(args.data), args.out, args.val_fraction)
        model = vc.load_model(vc.DEFAULT_MODEL)
        val = load_recordings(load_dataset(args.out / "val.jsonl"), model.sample_rate)
        figures = evaluate_recordings(model, val)
    except vc.VoiceCNNError as e:
        print(f"error: {e}", file=sys.stderr)
        raise SystemExit(1) from None
    print(
        f"{counts['train']} recordings for training, {counts['val']} for validation in {args.out}"
    )
    print(
        f"bundled {vc.DEFAULT_MODEL} on the validation recordings: "
        + ", ".join(f"{k}={figures[k]:.3f}" for k in ("roc_auc", "f1", "false_alarm", "seg_f1"))
    )


if __name__ == "__main__":
    main()
