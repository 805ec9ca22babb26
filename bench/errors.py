"""Where a voicecnn model's errors sit on the benchmark's sets.

    python bench/errors.py [--model NAME_OR_PATH] [--sets clean music ...] [--cache DIR]
    python bench/errors.py --system "Silero VAD 6 (ONNX)" [--sets ...]

With the model's default decision (``DetectCfg()``, scored on the 10 ms grid like ``run.py``),
or with the outputs ``run.py`` cached for any system it ran (``--system``, its label as
``run.py`` prints it: a peer, or ``voicecnn NAME``):

* speech sets: false alarms binned by the distance of the non-speech frame to the nearest
  labelled speech, and misses binned by the distance of the speech frame to the nearest
  non-speech (edges of segments vs. their middles);
* non-speech sets: the false-alarm rate and mean speech probability of every file, with its
  source.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from scipy.ndimage import distance_transform_edt

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))  # `import sets`, `import peers` as the other scripts do

import sets  # noqa: E402
from peers.grid import GRID_HOP, read_wav  # noqa: E402
from peers.voicecnn_vad import VoiceCnn  # noqa: E402
from run import label_slug, load_output, outputs_root  # noqa: E402

EDGES_MS = (0, 30, 60, 110, 210, 510)  # distance bins, ms (the last one open)


def binned(mask: np.ndarray, hit: np.ndarray, dist_ms: np.ndarray) -> list[tuple[int, int]]:
    """``(frames, hits)`` of ``mask`` in each distance bin of :data:`EDGES_MS`."""
    idx = np.digitize(dist_ms, EDGES_MS[1:])
    return [
        (int((mask & (idx == b)).sum()), int((mask & hit & (idx == b)).sum()))
        for b in range(len(EDGES_MS))
    ]


def main() -> None:
    """Print the error breakdown of one model on the chosen sets."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=None, help="bundled name or .safetensors (default model)")
    ap.add_argument("--sets", nargs="+", default=["clean", "long_form", "music", "effects"])
    ap.add_argument(
        "--system",
        default=None,
        help="read what run.py cached for this system (its label) instead of a model",
    )
    ap.add_argument("--cache", type=Path, default=sets.DEFAULT_CACHE)
    args = ap.parse_args()
    cache = args.cache.expanduser()
    cached = outputs_root(cache) / label_slug(args.system) if args.system else None
    if cached is not None and not cached.is_dir():
        sys.exit(f"error: no outputs of {args.system!r} in {cached}: run bench/run.py first")
    system = None if cached else VoiceCnn(args.model)  # run.py's: one thread, DetectCfg()
    items = sets.build_all(cache)
    for name in args.sets:
        kind = sets.SET_INFO[name].kind
        fa = np.zeros((len(EDGES_MS), 2), np.int64)
        miss = np.zeros((len(EDGES_MS), 2), np.int64)
        print(f"{name} ({kind}):")
        for it in (i for i in items if i.set == name and i.labels):
            if cached is not None:
                out = load_output(it, cached)
                assert out.labels is not None  # the loop takes labelled items only
                labels, probs, speech = out.labels, out.probs, out.speech
            else:
                assert system is not None
                wave = read_wav(it.wav)
                labels = np.load(str(it.labels)).astype(bool)[: wave.size // GRID_HOP]
                probs, speech = (a[: labels.size] for a in system.process(wave))
            if kind == "nonspeech":
                print(
                    f"  {it.name:16s} false alarms {speech.mean():.3f}  "
                    f"mean probability {probs.mean():.3f}  {it.sources[0]}"
                )
                continue
            to_speech = distance_transform_edt(~labels) * 10 if labels.any() else np.inf
            to_silence = distance_transform_edt(labels) * 10
            fa += np.array(binned(~labels, speech, to_speech))
            miss += np.array(binned(labels, ~speech, to_silence))
        if kind != "speech":
            continue
        for title, counts in (
            ("false alarms, by distance to speech", fa),
            ("misses, by distance to non-speech", miss),
        ):
            print(
                f"  {title}: "
                + "; ".join(
                    f"{lo}{'-' + str(hi) if hi else '+'} ms {h / max(n, 1):.3f} ({n})"
                    for lo, hi, (n, h) in zip(EDGES_MS, (*EDGES_MS[1:], None), counts, strict=True)
                )
            )


if __name__ == "__main__":
    main()
