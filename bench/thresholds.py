"""A voicecnn model's decision at other thresholds, scored on the benchmark's sets.

    python bench/thresholds.py [--model NAME_OR_PATH] [--cache ~/.cache/voicecnn/bench]
                               [--thresholds 0.4 0.5 0.6 0.7 0.8 0.9]

For each onset threshold (offset 0.15 below it, the ``DetectCfg`` default gap; other segment
rules at their defaults) it prints the pooled precision, recall and F1 over the independent
speech sets and the false-alarm rate over the non-speech sets, scored like ``run.py`` (10 ms
grid, segments marked by frame centres). The sets are the test sets: use this to see the
trade-off, not to choose a default (that would tune on the test).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))  # `import sets`, `import peers`, `import run` as scripts do

import sets  # noqa: E402
from peers.grid import GRID_HOP, read_wav, segments_to_mask  # noqa: E402
from peers.voicecnn_vad import VoiceCnn  # noqa: E402
from run import decision_scores  # noqa: E402

import voicecnn as vc  # noqa: E402


def main() -> None:
    """Score the decision at each threshold and print one line per threshold."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=None, help="bundled name or .safetensors (default model)")
    ap.add_argument("--cache", type=Path, default=sets.DEFAULT_CACHE)
    ap.add_argument("--thresholds", type=float, nargs="+", default=[0.4, 0.5, 0.6, 0.7, 0.8, 0.9])
    args = ap.parse_args()
    system = VoiceCnn(args.model)  # run.py's voicecnn: one thread, DetectCfg() defaults
    model = system.model
    # run.py's pools: the independent speech sets and the non-speech sets
    items = [
        it
        for it in sets.build_all(args.cache.expanduser())
        if sets.SET_INFO[it.set].kind in ("speech", "nonspeech")
        and not sets.SET_INFO[it.set].used_in_training
    ]
    scored = []
    for it in items:
        wave = read_wav(it.wav)
        n = wave.size // GRID_HOP
        labels = np.load(str(it.labels)).astype(bool)[:n]
        scored.append((sets.SET_INFO[it.set].kind, vc.frame_probs(model, wave), labels, wave.size))
    print(f"{args.model or vc.DEFAULT_MODEL}: {len(items)} files")
    for t in args.thresholds:
        cfg = replace(system.cfg, threshold=t, neg_threshold=max(0.0, t - 0.15))
        by_kind: dict[str, tuple[list[np.ndarray], list[np.ndarray]]] = {}
        for kind, probs, labels, n_samples in scored:
            segs = cfg.segments(probs, model.frame_hop_s, n_samples / sets.SAMPLE_RATE)
            decision = segments_to_mask([(g.start, g.end) for g in segs], labels.size)
            ys, ds = by_kind.setdefault(kind, ([], []))
            ys.append(labels)
            ds.append(decision)
        sp, ns = (
            decision_scores(np.concatenate(by_kind[k][0]), np.concatenate(by_kind[k][1]))
            for k in ("speech", "nonspeech")
        )
        print(
            f"threshold {t:.2f}: speech sets F1 {sp['f1']:.3f} (precision {sp['precision']:.3f},"
            f" recall {sp['recall']:.3f}); non-speech sets false alarms {ns['fa_rate']:.3f}"
        )


if __name__ == "__main__":
    main()
