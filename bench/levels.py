"""Speech probability against input level: the real recordings at absolute levels (Markdown).

The ``real`` set (real recordings with labels independent of any energy rule, ``real.py``) is
scaled so that each file's active speech level (RMS over its labelled speech frames) sits at
-80, -70, ... -10 dBFS, written as 16 kHz PCM-16 WAV (clipped at full scale, as a recorder would),
and every system labels every copy in a fresh one-thread process (``peers/worker.py``, as
``run.py`` runs them). Per level and system it prints:

* frame ROC-AUC (does the ranking of frames survive the level?);
* mean probability on speech frames and on non-speech frames (does the same speech get the same
  probability at -70 and at -10 dBFS?);
* recall and false alarms of the default decision.

A detector whose decisions do not depend on the level gives flat rows. Usage:

    python bench/levels.py [--model NAME_OR_PATH ...] [--no-peers] [--levels -80 -60 ...]
                           [--cache ~/.cache/voicecnn/bench] [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
import soundfile as sf

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run  # noqa: E402
import sets  # noqa: E402
from real import at_level, rms_dbfs  # noqa: E402

LEVELS_DBFS = (-80.0, -70.0, -60.0, -50.0, -40.0, -30.0, -20.0, -10.0)
GRID = 160  # samples per 10 ms label frame at 16 kHz


def active_level_dbfs(wave: npt.NDArray[np.float32], labels: npt.NDArray[np.bool_]) -> float:
    """RMS level in dBFS of the samples of the labelled speech frames."""
    n = min(labels.size, wave.size // GRID)
    frames = wave[: n * GRID].reshape(n, GRID)[labels[:n]]
    if frames.size == 0:
        raise ValueError("no labelled speech")
    return rms_dbfs(frames)


def write_levels(items: Sequence[sets.Item], levels: Sequence[float], out: Path) -> dict[str, str]:
    """Every item at every level under ``out``; returns {key: wav path}, key ``LEVEL/name``."""
    files = {}
    for item in items:
        wave, rate = sf.read(item.wav, dtype="float32")
        if rate != 16000 or item.labels is None:
            raise ValueError(f"{item.wav}: expected labelled 16 kHz audio")
        level = active_level_dbfs(wave, np.load(item.labels).astype(bool))
        for target in levels:
            key = f"{target:+.0f}/{item.name}"
            path = out / f"{key}.wav"
            if not path.exists():
                path.parent.mkdir(parents=True, exist_ok=True)
                sf.write(path, at_level(wave, target - level), 16000, subtype="PCM_16")
            files[key] = str(path)
    return files


def level_scores(items: Sequence[sets.Item], levels: Sequence[float],
                 out_dir: Path) -> dict[float, dict[str, float | None]]:
    """Per level: ROC-AUC, mean probability on speech / non-speech frames, recall, false alarms."""
    result = {}
    for target in levels:
        outs = [run.load_output(sets.Item(f"{target:+.0f}", i.name, i.wav, i.labels,
                                          i.duration_s, i.sources), out_dir) for i in items]
        labels = np.concatenate([o.labels for o in outs if o.labels is not None])
        probs = np.concatenate([o.probs for o in outs])
        speech = np.concatenate([o.speech for o in outs])
        result[target] = {
            "auc": run.roc_auc(labels, probs),
            "p_speech": float(probs[labels].mean()),
            "p_nonspeech": float(probs[~labels].mean()),
            "recall": float(speech[labels].mean()),
            "fa_rate": float(speech[~labels].mean()),
        }
    return result


def tables(results: dict[str, dict[float, dict[str, float | None]]],
           levels: Sequence[float]) -> str:
    """One Markdown table per measure: systems as rows, levels as columns."""
    header = ["system", *(f"{x:+.0f} dBFS" for x in levels), "spread"]
    blocks = []
    for key, title in (("auc", "Frame ROC-AUC"), ("p_speech", "Mean probability, speech frames"),
                       ("p_nonspeech", "Mean probability, non-speech frames"),
                       ("recall", "Recall of the default decision"),
                       ("fa_rate", "False alarms of the default decision")):
        rows = []
        for label, by_level in results.items():
            values = [by_level[x][key] for x in levels]
            known = [v for v in values if v is not None]
            spread = max(known) - min(known) if known else None
            rows.append([label, *(run._f(v) for v in values), run._f(spread)])
        blocks.append(f"#### {title} by active speech level\n\n"
                      + run._table(header, rows, align="r"))
    return "\n\n".join(blocks)


def main() -> None:
    """Command line: see the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", action="append", help="voicecnn model(s): bundled name or "
                        ".safetensors path (repeatable; default: the bundled default)")
    parser.add_argument("--no-peers", action="store_true", help="voicecnn models only")
    parser.add_argument("--levels", type=float, nargs="+", default=list(LEVELS_DBFS))
    parser.add_argument("--cache", type=Path, default=sets.DEFAULT_CACHE)
    parser.add_argument("--out", type=Path, default=run.BENCH / "results")
    args = parser.parse_args()
    if not args.no_peers and not run.PEERS_PYTHON.exists():
        raise SystemExit(f"{run.PEERS_VENV} is missing: run `python bench/run.py --setup`")
    t_start = time.perf_counter()
    items = [i for i in sets.build_all(args.cache) if i.set == "real"]
    root = args.cache / "levels"
    files = write_levels(items, args.levels, root / "audio")
    (root / "files.json").write_text(json.dumps(files))
    models = args.model or ["vad_cnn2d_s"]
    results = {}
    for system in run.systems(models, not args.no_peers):
        out_dir = root / "outputs" / system.slug
        run.run_outputs(system, root / "files.json", out_dir, next(iter(files.values())),
                        stream_s=1)
        results[system.label] = level_scores(items, args.levels, out_dir)
    md = (f"{len(items)} recordings ({sum(i.duration_s for i in items) / 60:.1f} min) at "
          f"{len(args.levels)} levels; {run.machine()}\n\n" + tables(results, args.levels))
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "levels.md").write_text(md + "\n")
    (args.out / "levels.json").write_text(json.dumps(
        {label: {str(k): v for k, v in r.items()} for label, r in results.items()}, indent=1))
    print(md)
    print(f"\nwall time {time.perf_counter() - t_start:.0f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
