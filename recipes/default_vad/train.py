"""Train a voicecnn VAD on on-the-fly mixtures; select the checkpoint on real labelled audio.

Reads ``split.json`` written by ``prepare.py``, keeps a pool of mixtures in memory and replaces
part of it with fresh ones before every step (so the model never sees a fixed set), evaluates
every few minutes on fixed validation mixtures, music-only and noise-only audio and the real
labelled recordings, keeps ``best.safetensors`` by real-audio frame ROC-AUC and writes
``card.json`` (also stored in the weights' metadata).

    python recipes/default_vad/train.py --arch vad_cnn2d_s --minutes 40 --threads 1
"""

# ruff: noqa: E402  (the thread settings below must precede the numpy import)
from __future__ import annotations

import os

# One BLAS/OpenMP thread for numpy and scipy: their idle pools spinning beside torch's made
# CPU steps several times slower. Must be set before numpy is imported.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse
import csv
import json
import math
import time
import tomllib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from voicecnn.audio import load_audio
from voicecnn.checkpoint import load_model, save_weights
from voicecnn.data.mix import (
    F32,
    MixCfg,
    Source,
    coloured_noise,
    hum,
    make_mixture,
    random_crop,
    rms_db,
    speech_labels,
)
from voicecnn.errors import AudioError
from voicecnn.models import create_model
from voicecnn.segments import Segment, to_targets
from voicecnn.train import TrainCfg, f1_at, false_alarm_rate, fit, roc_auc

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
SR, HOP = 16000, 160
TRAIN_SOURCES = (
    "librispeech",
    "fsdd",
    "ljspeech",
    "misc",
    "asterisk",
    "fillets_cs",
    "esc10",
    "music_nature",
    "wesnoth_music",
    "noise",
    "rir",
    "synthetic",
)
VAL_SOURCES = (
    "librispeech",
    "asterisk",
    "esc10",
    "wesnoth_music",
    "pyannote_sample",
    "pocketsphinx_librivox",
    "synthetic",
)


@dataclass
class EvalSet:
    """Fixed validation audio: (wave, labels) pairs per kind."""

    mixtures: list[tuple[F32, F32]]
    music: list[F32]
    noise: list[F32]
    real: dict[str, tuple[F32, F32]]


def _load_all(paths: list[str], speech: bool, workers: int = 4) -> list[Source]:
    """Load files at 16 kHz mono (unreadable or empty ones are skipped); speech gets energy
    labels, the rest all-zero labels."""

    def one(path: str) -> Source:
        try:
            wave = load_audio(path, SR)
        except AudioError:
            wave = np.zeros(0, np.float32)
        labels = speech_labels(wave) if speech else np.zeros(len(wave) // HOP, np.float32)
        return Source(wave, labels)

    with ThreadPoolExecutor(workers) as ex:
        return [s for s in ex.map(one, paths) if len(s.labels) > 0]


def _level(wave: F32, rng: np.random.Generator, lo: float, hi: float) -> F32:
    """Scale to a random RMS level in [lo, hi] dBFS and clip to [-1, 1]."""
    gain = 10 ** ((rng.uniform(lo, hi) - rms_db(wave)) / 20)
    return np.asarray(np.clip(wave * gain, -1, 1), dtype=np.float32)


def build_eval_set(
    split: dict[str, Any], mix: MixCfg, data: dict[str, Any], rirs: list[F32]
) -> EvalSet:
    """The fixed (seeded) validation audio."""
    rng = np.random.default_rng(data["val_seed"])
    val = split["val"]
    speech = [_load_all(v, True) for v in val["speech"].values()]
    esc = _load_all(val["backgrounds"]["esc10_fold5"], False)
    music = _load_all(val["music"], False)
    mixtures = [
        make_mixture(speech, [esc, music], rng, mix, rirs) for _ in range(data["val_mixtures"])
    ]
    lo, hi = mix.level_dbfs
    music_clips = [
        _level(random_crop(music[i % len(music)], mix.n_frames, rng).wave, rng, lo, hi)
        for i in range(data["val_music_clips"])
    ]
    n = mix.n_frames * HOP
    synth = [
        coloured_noise(n, rng, float(rng.uniform(-1, 2))) if i % 2 else hum(n, rng)
        for i in range(data["val_noise_synth"])
    ]
    noise = [_level(w, rng, lo, hi) for w in [s.wave for s in esc] + synth]
    real = {}
    for item in val["real"]:
        wave = load_audio(item["path"], SR)
        segs = [Segment(s, e) for s, e in item["segments"]]
        real[item["name"]] = (wave, to_targets(segs, len(wave) // HOP, HOP / SR))
    return EvalSet(mixtures, music_clips, noise, real)


@torch.inference_mode()
def _scores(model: nn.Module, waves: list[F32], device: torch.device) -> list[F32]:
    """Speech probabilities per frame for each wave (equal-length waves are batched)."""
    out: list[F32] = []
    i = 0
    while i < len(waves):
        j = i + 1
        while j < len(waves) and j - i < 32 and len(waves[j]) == len(waves[i]):
            j += 1
        x = torch.from_numpy(np.stack(waves[i:j])).to(device)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
            p = torch.sigmoid(model(x).float()).cpu().numpy()
        out.extend(p)
        i = j
    return out


def evaluate(model: nn.Module, ev: EvalSet, device: torch.device) -> dict[str, float]:
    """ROC-AUC and F1@0.5 on mixtures and real recordings, false alarms on music and noise."""
    figs: dict[str, float] = {}
    mix_p = np.concatenate(_scores(model, [w for w, _ in ev.mixtures], device))
    mix_y = np.concatenate([y for _, y in ev.mixtures])
    figs["mix_auc"] = roc_auc(mix_p, mix_y)
    figs["mix_f1"] = f1_at(mix_p, mix_y)["f1"]
    real_p, real_y = [], []
    for name, (wave, y) in ev.real.items():
        p = _scores(model, [wave], device)[0]
        real_p.append(p)
        real_y.append(y[: len(p)])
        if name == "pyannote_sample":
            figs["pyannote_auc"] = roc_auc(p, y[: len(p)])
    rp, ry = np.concatenate(real_p), np.concatenate(real_y)
    figs["real_auc"] = roc_auc(rp, ry)
    figs["real_f1"] = f1_at(rp, ry)["f1"]
    figs["fa_music"] = false_alarm_rate(np.concatenate(_scores(model, ev.music, device)), None)
    figs["fa_noise"] = false_alarm_rate(np.concatenate(_scores(model, ev.noise, device)), None)
    return figs


def batches(
    speech: list[list[Source]],
    negatives: list[list[Source]],
    rirs: list[F32],
    mix: MixCfg,
    data: dict[str, Any],
    batch_size: int,
    rng: np.random.Generator,
    speech_w: list[float],
    neg_w: list[float],
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Endless batches from a pool of mixtures, ``fresh_per_step`` of which are new each step."""

    def new() -> tuple[F32, F32]:
        return make_mixture(speech, negatives, rng, mix, rirs, speech_w, neg_w)

    pool = [new() for _ in range(data["pool_size"])]
    while True:
        for k in rng.choice(len(pool), data["fresh_per_step"], replace=False):
            pool[k] = new()
        idx = rng.choice(len(pool), batch_size, replace=False)
        yield (
            torch.from_numpy(np.stack([pool[i][0] for i in idx])),
            torch.from_numpy(np.stack([pool[i][1] for i in idx])),
        )


class CountedBatches(Iterator[tuple[torch.Tensor, torch.Tensor]]):
    """Passes batches through and counts them: :func:`fit` takes one per step."""

    def __init__(self, batches: Iterator[tuple[torch.Tensor, torch.Tensor]]) -> None:
        self.batches = batches
        self.count = 0

    def __next__(self) -> tuple[torch.Tensor, torch.Tensor]:
        batch = next(self.batches)
        self.count += 1
        return batch


def _from_toml(cls: type, table: dict[str, Any]) -> Any:
    """Build a dataclass from a TOML table (lists become tuples)."""
    names = {f.name for f in fields(cls)}
    return cls(
        **{k: tuple(v) if isinstance(v, list) else v for k, v in table.items() if k in names}
    )


def load_history(path: Path) -> list[dict[str, float]]:
    """The rows of a ``log.csv`` written by :func:`voicecnn.train.fit`, as floats."""
    with path.open() as f:
        return [{k: float(v) for k, v in row.items()} for row in csv.DictReader(f)]


def select_step(history: list[dict[str, float]], sel: dict[str, Any]) -> int:
    """The step to ship: among evaluations whose ``sel["metric"]`` (real-audio AUC) is within
    ``sel["tolerance"]`` of the best, the one with the highest ``sel["tiebreak"]``.

    About a minute of real labelled audio cannot rank checkpoints finer than a few thousandths
    of AUC; the tie-break (mixture AUC) then prefers the better-trained of the near-equals.
    """
    top = max(r[sel["metric"]] for r in history)
    near = [r for r in history if r[sel["metric"]] >= top - sel["tolerance"]]
    return int(max(near, key=lambda r: r[sel["tiebreak"]])["step"])


def write_card(
    out: Path,
    arch: str,
    history: list[dict[str, float]],
    ev: EvalSet,
    device: torch.device,
    extra: dict[str, Any],
    sel: dict[str, Any],
) -> dict[str, Any]:
    """Pick the checkpoint, re-evaluate it, save it as ``best.safetensors`` with its card."""
    step = select_step(history, sel)
    model = load_model(out / "ckpt" / f"step_{step}.safetensors", device=str(device))
    figs = evaluate(model, ev, device)
    last = history[-1]
    card = {
        "arch": arch,
        "params": sum(p.numel() for p in model.parameters()),
        "recipe": "recipes/default_vad",
        **extra,
        "training_minutes": round(last["elapsed_s"] / 60, 1),
        "steps": int(last["step"]),
        "selected_step": step,
        "clips_per_s": round(last["clips_per_s"], 1),
        "selected_on": f"frame ROC-AUC on the real labelled recordings (within "
        f"{sel['tolerance']} of the best evaluation; ties broken by {sel['tiebreak']})",
        "validation": {
            "real": {
                "roc_auc": figs["real_auc"],
                "f1_at_0.5": figs["real_f1"],
                "pyannote_sample_roc_auc": figs["pyannote_auc"],
            },
            "mixtures": {"roc_auc": figs["mix_auc"], "f1_at_0.5": figs["mix_f1"]},
            "false_alarm_at_0.5": {"music_only": figs["fa_music"], "noise_only": figs["fa_noise"]},
        },
    }
    card = json.loads(json.dumps(card, default=float), parse_float=lambda s: round(float(s), 4))
    assert isinstance(card, dict)
    save_weights(model, out / "best.safetensors", arch=arch, card=card)
    (out / "card.json").write_text(json.dumps(card, indent=1))
    if any(math.isnan(v) for v in figs.values()):
        print("warning: a validation figure is NaN", flush=True)
    return card


def main() -> None:
    """Parse arguments, load data, train, select and re-evaluate a checkpoint, write the card."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--arch", required=True)
    ap.add_argument("--config", type=Path, default=HERE / "config.toml")
    ap.add_argument(
        "--data",
        type=Path,
        default=Path("~/.cache/voicecnn/default_vad"),
        help="cache directory written by prepare.py",
    )
    ap.add_argument(
        "--out",
        type=Path,
        default=None,
        help="output directory (default: runs/default_vad/ARCH in the repository)",
    )
    ap.add_argument("--minutes", type=float, default=None)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument(
        "--reselect",
        action="store_true",
        help="do not train: pick the checkpoint again from OUT/log.csv and rewrite the card",
    )
    args = ap.parse_args()
    conf = tomllib.loads(args.config.read_text())
    run = conf["run"]
    minutes = args.minutes if args.minutes is not None else run["minutes"]
    seed = args.seed if args.seed is not None else run["seed"]
    threads = args.threads if args.threads is not None else run["threads"]
    out = (args.out or REPO / "runs" / "default_vad" / args.arch).expanduser()
    out.mkdir(parents=True, exist_ok=True)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.type == "cpu":
        torch.set_num_threads(threads)
    data_dir = args.data.expanduser()
    split = json.loads((data_dir / "split.json").read_text())
    sources = json.loads((data_dir / "sources.json").read_text())
    mix = _from_toml(MixCfg, conf["mix"])
    data = conf["data"]
    tcfg = _from_toml(TrainCfg, {**conf["train"], "seed": seed, "max_minutes": minutes})
    rirs = [s.wave for s in _load_all(split["train"]["rirs"], False)]
    ev = build_eval_set(split, mix, data, rirs)
    extra = {
        "train_sources": {k: sources[k] for k in TRAIN_SOURCES},
        "val_sources": {k: sources[k] for k in VAL_SOURCES},
        "split": "validation: LibriSpeech test-other speakers, Asterisk ru voice (held out "
        "whole), ESC-10 fold 5, held-out Wesnoth tracks, pyannote sample, pocketsphinx "
        "LibriVox; training: the rest",
        "device": str(device) if device.type == "cuda" else f"cpu, {threads} thread(s)",
        "batch_size": tcfg.batch_size,
        "clip_seconds": mix.seconds,
    }
    if args.reselect:
        card = write_card(
            out, args.arch, load_history(out / "log.csv"), ev, device, extra, conf["select"]
        )
        print(json.dumps(card["validation"]), flush=True)
        return

    (out / "log.csv").unlink(missing_ok=True)
    t0 = time.monotonic()
    tr = split["train"]
    speech_names = list(tr["speech"])
    neg_names = list(tr["negatives"])
    speech = [_load_all(tr["speech"][k], True) for k in speech_names]
    negatives = [_load_all(tr["negatives"][k], False) for k in neg_names]
    print(
        f"data loaded in {time.monotonic() - t0:.0f} s: "
        + ", ".join(
            f"{k}={sum(len(s.wave) for s in g) / SR / 60:.1f} min"
            for k, g in zip(speech_names + neg_names, speech + negatives, strict=True)
        ),
        flush=True,
    )
    rng = np.random.default_rng(seed)
    speech_w = [conf["weights"]["speech"].get(k, 1.0) for k in speech_names]
    neg_w = [conf["weights"]["negatives"].get(k, 1.0) for k in neg_names]
    stream = batches(speech, negatives, rirs, mix, data, tcfg.batch_size, rng, speech_w, neg_w)
    torch.manual_seed(seed)
    model = create_model(args.arch)
    print(f"{args.arch}: {sum(p.numel() for p in model.parameters())} params", flush=True)
    counted = CountedBatches(stream)

    def evaluate_and_keep(m: nn.Module) -> dict[str, float]:
        """Evaluate, and keep this model as ``ckpt/step_N`` for the final selection."""
        figs = evaluate(m, ev, device)
        ckpt = out / "ckpt" / f"step_{counted.count}.safetensors"
        save_weights(m, ckpt, arch=args.arch, card={"step": counted.count, **figs})
        return figs

    fit(
        model,
        counted,
        evaluate_and_keep,
        tcfg,
        device=device,
        log=lambda s: print(s, flush=True),
        out_dir=out,
        arch=args.arch,
    )
    card = write_card(
        out, args.arch, load_history(out / "log.csv"), ev, device, extra, conf["select"]
    )
    print(json.dumps(card["validation"]), flush=True)


if __name__ == "__main__":
    main()
