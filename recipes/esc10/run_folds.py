"""ESC-10 five-fold cross-validation: train on 4 official folds, test on the 5th, for each fold.

    python recipes/esc10/run_folds.py [--config recipes/esc10/config.toml] [--out runs/esc10]
        [--folds 1 2 3 4 5] [--set key=value ...] [--json]

Each fold is one ``voicecnn train`` run of ``config.toml`` with ``data.val_fold = k`` and
``out_dir = OUT/fold<k>``. The fold's accuracy is that of the **last** checkpoint on the
held-out fold (the schedule is fixed, so nothing is chosen by looking at the test fold); the
best accuracy seen during training is printed too, for reference (it is optimistic: it picks
an evaluation by its test score). A fold whose ``OUT/fold<k>/fold.json`` exists is not trained
again (delete it, or pick another ``--out``, to retrain). Prints a table of the folds, the
mean and standard deviation, the parameter count and the training time, and writes them to
``OUT/summary.json``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from voicecnn.errors import VoiceCNNError
from voicecnn.train.device import resolve_device
from voicecnn.train.run import load_run_cfg, train

HERE = Path(__file__).parent


def run_fold(config: Path, fold: int, out: Path, overrides: Sequence[str]) -> dict[str, Any]:
    """Train with fold ``fold`` held out (or read the result of an earlier run)."""
    done = out / f"fold{fold}" / "fold.json"
    if done.is_file():
        result: dict[str, Any] = json.loads(done.read_text())
        return result
    sets = [*overrides, f"data.val_fold={fold}", f"out_dir={json.dumps(str(done.parent))}"]
    cfg = load_run_cfg(config, sets)
    if cfg.threads > 0:
        torch.set_num_threads(cfg.threads)
    t0 = time.monotonic()
    run = train(cfg, device=resolve_device(cfg.device), log=lambda line: print("  " + line))
    last = run.history[-1]
    best = max(run.history, key=lambda r: r["accuracy"])
    result = {
        "fold": fold,
        "accuracy": last["accuracy"],
        "best_accuracy": best["accuracy"],
        "best_step": best["step"],
        "steps": last["step"],
        "params": run.card["params"],
        "train_clips": run.card["train_clips"],
        "val_clips": run.card["val_clips"],
        "wall_s": round(time.monotonic() - t0, 1),
        "device": run.card["device"],
    }
    done.write_text(json.dumps(result, indent=1) + "\n")
    return result


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", type=Path, default=HERE / "config.toml")
    ap.add_argument("--out", type=Path, default=Path("runs/esc10"))
    ap.add_argument("--folds", type=int, nargs="+", default=[1, 2, 3, 4, 5])
    ap.add_argument("--set", dest="overrides", action="append", default=[],
                    metavar="KEY=VALUE", help="override a config setting (repeatable)")
    ap.add_argument("--json", action="store_true", help="print the summary as JSON")
    args = ap.parse_args(argv)
    folds = []
    try:
        for k in args.folds:
            print(f"fold {k}: training on the other folds, testing on fold {k}")
            folds.append(run_fold(args.config, k, args.out, args.overrides))
            r = folds[-1]
            print(f"fold {k}: accuracy {r['accuracy']:.4f} ({r['wall_s']:.0f} s)")
    except VoiceCNNError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    accs = [r["accuracy"] for r in folds]
    summary = {
        "folds": folds,
        "mean_accuracy": statistics.fmean(accs),
        "std_accuracy": statistics.stdev(accs) if len(accs) > 1 else 0.0,
        "mean_best_accuracy": statistics.fmean(r["best_accuracy"] for r in folds),
        "params": folds[0]["params"],
        "wall_s": round(sum(r["wall_s"] for r in folds), 1),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    if args.json:
        print(json.dumps(summary))
        return 0
    print(f"\n{'fold':>4} {'accuracy':>9} {'best seen':>10} {'steps':>6} {'time':>7}")
    for r in folds:
        print(f"{r['fold']:>4} {r['accuracy']:>9.4f} {r['best_accuracy']:>10.4f} "
              f"{r['steps']:>6} {r['wall_s']:>6.0f}s")
    print(f"mean {summary['mean_accuracy']:>9.4f} {summary['mean_best_accuracy']:>10.4f}   "
          f"(std {summary['std_accuracy']:.4f}); {summary['params']} parameters, "
          f"{summary['wall_s'] / 60:.1f} min in all")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
