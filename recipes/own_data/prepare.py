"""Check a folder of annotated recordings and split it into train/validation manifests.

The folder holds recordings with an annotation file beside each (``a.wav`` + ``a.csv``,
``.rttm``, Audacity ``.txt``, ``.TextGrid`` or ``.lab``), or RTTM files for the whole folder.
Every problem (unreadable audio, a segment past the end, a missing annotation...) is reported
at once, as ``path:line: message``. Recordings (not excerpts) are split, so no recording is in
both sets.

    python recipes/own_data/prepare.py DATA_DIR [--out runs/own_data/data] [--val-fraction 0.15]
    python recipes/own_data/prepare.py --demo runs/own_data/demo   # make a toy folder first
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import soundfile as sf

from voicecnn.data.manifest import ManifestEntry
from voicecnn.data.recordings import load_dataset
from voicecnn.errors import VoiceCNNError

SAMPLE_RATE = 16000


# Enough toy recordings that the training share (85 %) fills more than one batch of the
# recipe's config (32 crops of 4 s; two per 6 s recording): a first run works as written.
DEMO_FILES = 40


def write_demo(
    folder: Path, n_files: int = DEMO_FILES, duration_s: float = 6.0, seed: int = 0
) -> None:
    """A toy folder: harmonic bursts (speech-like) over noise, with a CSV of the bursts each."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n_files):
        x = 0.02 * rng.standard_normal(int(duration_s * SAMPLE_RATE))
        segs, t = [], float(rng.uniform(0.1, 0.6))
        while t < duration_s - 0.6:
            d = min(float(rng.uniform(0.4, 1.2)), duration_s - 0.1 - t)
            segs.append((t, t + d))
            t += d + float(rng.uniform(0.3, 1.0))
        for a, b in segs:
            n0, n1 = int(a * SAMPLE_RATE), int(b * SAMPLE_RATE)
            tt = np.arange(n1 - n0) / SAMPLE_RATE
            f0 = rng.uniform(90, 240) * (1 + 0.1 * np.sin(2 * np.pi * 3 * tt))
            phase = 2 * np.pi * np.cumsum(f0) / SAMPLE_RATE
            x[n0:n1] += 0.3 * sum(np.sin(k * phase) / k for k in range(1, 10))
        sf.write(folder / f"rec{i:03d}.wav", x.astype(np.float32), SAMPLE_RATE)
        rows = "".join(f"{a:.3f},{b:.3f}\n" for a, b in segs)
        (folder / f"rec{i:03d}.csv").write_text("start,end\n" + rows)


def _record(entry: ManifestEntry) -> dict[str, object]:
    return {
        "audio_filepath": str(entry.audio.resolve()),
        "offset": entry.offset_s,
        "duration": entry.duration_s,
        "segments": [[s.start, s.end] for s in entry.segments],
    }


def write_split(
    entries: Sequence[ManifestEntry], out: Path, val_fraction: float, seed: int = 0
) -> dict[str, int]:
    """Write ``train.jsonl`` and ``val.jsonl`` (a seeded share of the recordings) to ``out``."""
    by_file: dict[Path, list[ManifestEntry]] = {}
    for e in entries:
        by_file.setdefault(e.audio, []).append(e)
    files = sorted(by_file)
    order = np.random.default_rng(seed).permutation(len(files))
    n_val = max(1, round(val_fraction * len(files))) if len(files) > 1 else 0
    val_files = {files[i] for i in order[:n_val]}
    out.mkdir(parents=True, exist_ok=True)
    counts = {}
    for name, keep in (("train", False), ("val", True)):
        chosen = [e for f in files if (f in val_files) == keep for e in by_file[f]]
        lines = "".join(json.dumps(_record(e)) + "\n" for e in chosen)
        (out / f"{name}.jsonl").write_text(lines)
        counts[name] = len(chosen)
    return counts


def main() -> None:
    """Parse arguments, check the folder, write the manifests and print a summary."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data", type=Path, help="folder of recordings with annotation files")
    ap.add_argument("--out", type=Path, default=Path("runs/own_data/data"))
    ap.add_argument("--val-fraction", type=float, default=0.15)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--demo", action="store_true", help="first write a toy folder at DATA")
    args = ap.parse_args()
    if args.demo:
        write_demo(args.data)
    try:
        entries = load_dataset(args.data)
    except VoiceCNNError as e:
        print(f"error: {e}", file=sys.stderr)
        raise SystemExit(1) from None
    if len({e.audio for e in entries}) < 2:
        print("error: need at least 2 recordings (one for validation)", file=sys.stderr)
        raise SystemExit(1)
    total_s = sum(e.duration_s or 0.0 for e in entries)
    speech_s = sum(s.duration for e in entries for s in e.segments)
    counts = write_split(entries, args.out, args.val_fraction, args.seed)
    print(
        f"{len(entries)} recordings, {total_s / 60:.1f} min, {speech_s / max(total_s, 1e-9):.0%}"
        f" speech: {counts['train']} for training, {counts['val']} for validation in "
        f"{args.out}/train.jsonl and val.jsonl"
    )


if __name__ == "__main__":
    main()
