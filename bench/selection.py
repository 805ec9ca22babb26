"""Does a selection set rank checkpoints the way the real test recordings do? (Markdown)

Checkpoint selection is only worth its name if the checkpoints it prefers are the ones users are
better served by. For every model given, this scores

* each part of the recipe's selection manifests (``val_real.jsonl``, ``val_select.jsonl`` in
  the prepared cache: per source and level, and pooled as the recipe's training loop pools
  them): frame ROC-AUC;
* the benchmark's ``real`` test recordings (``real.py``; never read by a recipe): frame
  ROC-AUC as recorded, and the worst of the three levels;

then prints each model's figures and, per selection part, Spearman's rank correlation with the
test figures over the models. A part that ranks the models as the test does is near +1; a part
near 0 selects at random; below 0 it picks the checkpoints users get least from.

    python bench/selection.py --model vad_cnn2d_s --model runs/x/ckpt/step_*.safetensors ...
                              [--val ~/.cache/voicecnn/default_vad/val_real.jsonl ...]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
import soundfile as sf

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run  # noqa: E402
import sets  # noqa: E402
from peers.grid import GRID_HOP, segments_to_mask  # noqa: E402
from peers.voicecnn_vad import VoiceCnn  # noqa: E402

CACHE = Path("~/.cache/voicecnn/default_vad").expanduser()
VAL = (CACHE / "val_real.jsonl", CACHE / "val_select.jsonl")
TEST_SETS = ("real", "real_m20", "real_p20")


def part_of(name: str) -> str:
    """The part of a selection recording: its source (two name fields) and level."""
    level = name.rsplit("_", 1)[-1] if name.endswith(("_m20", "_p20")) else "as recorded"
    return f"{'_'.join(name.split('_')[:2])}, {level}"


def spearman(a: Sequence[float], b: Sequence[float]) -> float:
    """Spearman's rank correlation (average ranks for ties)."""
    def ranks(x: Sequence[float]) -> npt.NDArray[np.float64]:
        v = np.asarray(x, np.float64)
        order = np.argsort(v, kind="stable")
        r = np.empty(v.size)
        r[order] = np.arange(v.size, dtype=np.float64)
        for value in np.unique(v):  # ties share their mean rank
            r[v == value] = r[v == value].mean()
        return r
    ra, rb = ranks(a), ranks(b)
    if ra.std() == 0 or rb.std() == 0:
        return float("nan")
    return float(np.corrcoef(ra, rb)[0, 1])


def selection_scores(vad: VoiceCnn, manifests: Sequence[Path]) -> dict[str, float | None]:
    """Frame ROC-AUC per part of the manifests, and over all of them pooled."""
    labels: dict[str, list[npt.NDArray[np.bool_]]] = {}
    probs: dict[str, list[npt.NDArray[np.float32]]] = {}
    for manifest in manifests:
        for line in manifest.read_text().splitlines():
            rec = json.loads(line)
            wave, rate = sf.read(rec["audio"], dtype="float32")
            if rate != 16000:
                raise ValueError(f"{rec['audio']}: {rate} Hz, expected 16000")
            p, _ = vad.process(wave)
            lab = segments_to_mask([tuple(s) for s in rec["segments"]], wave.size // GRID_HOP)
            for key in (part_of(rec["name"]), "pooled (the recipe's selection metric)"):
                labels.setdefault(key, []).append(lab)
                probs.setdefault(key, []).append(p)
    return {k: run.roc_auc(np.concatenate(labels[k]), np.concatenate(probs[k])) for k in labels}


def test_scores(vad: VoiceCnn, items: Sequence[sets.Item]) -> dict[str, float | None]:
    """ROC-AUC on the real test recordings as recorded, and the worst of the three levels."""
    auc = {}
    for name in TEST_SETS:
        outs = [vad.process(sf.read(i.wav, dtype="float32")[0]) for i in items if i.set == name]
        labs = [np.load(i.labels).astype(bool) for i in items if i.set == name and i.labels]
        n = [min(lab.size, p.size) for lab, (p, _) in zip(labs, outs, strict=True)]
        auc[name] = run.roc_auc(np.concatenate([lab[:k] for lab, k in zip(labs, n, strict=True)]),
                                np.concatenate([p[:k] for (p, _), k in zip(outs, n, strict=True)]))
    known = [v for v in auc.values() if v is not None]
    return {"test: real": auc["real"], "test: worst level": min(known) if known else None}


def main() -> None:
    """Command line: see the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", action="append", required=True,
                        help="bundled name or .safetensors path (repeatable; 3 or more)")
    parser.add_argument("--val", type=Path, nargs="+", default=list(VAL))
    parser.add_argument("--cache", type=Path, default=sets.DEFAULT_CACHE)
    args = parser.parse_args()
    if len(args.model) < 3:
        raise SystemExit("error: give at least 3 models to rank")
    items = [i for i in sets.build_all(args.cache) if i.set in TEST_SETS]
    names = run.model_names(args.model)
    rows = {}
    for name, model in zip(names, args.model, strict=True):
        vad = VoiceCnn(model)
        rows[name] = selection_scores(vad, args.val) | test_scores(vad, items)
        print(f"{name}: done", file=sys.stderr, flush=True)
    parts = sorted({k for r in rows.values() for k in r if not k.startswith("test")})
    cols = [*parts, "test: real", "test: worst level"]
    print(run._table(["model", *cols],
                     [[n, *(run._f(r.get(c)) for c in cols)] for n, r in rows.items()], "r"))
    print()
    corr = []
    for part in parts:
        x = [rows[n].get(part) for n in names]
        if any(v is None for v in x):
            continue
        corr.append([part, *(f"{spearman(x, [rows[n][t] for n in names]):+.2f}"
                             for t in ("test: real", "test: worst level"))])
    print(f"Spearman rank correlation over {len(names)} models\n")
    print(run._table(["selection part", "with test: real", "with test: worst level"], corr, "r"))


if __name__ == "__main__":
    main()
