"""Speed and memory of voicecnn on this machine (prints a Markdown table).

Measures, for every bundled model (and optionally every architecture):
  * offline real-time factor on ONE CPU thread (seconds of compute per second of audio),
    over a 60 s signal, best of 7 rounds in which the models take turns, whole pipeline
    (frontend + network + sigmoid), on both engines: numpy (what ``load_model`` and
    ``voicecnn detect`` use on a CPU) and torch (``load_module``, ``--device cuda``);
  * peak resident memory of ``voicecnn detect`` on a generated 1-hour file (a subprocess);
  * wall time of ``voicecnn detect`` on a 10 s file, start-up included (median of runs).

The header names numpy's BLAS and the kernels it picked: OpenBLAS chooses them from the CPU
unless ``OPENBLAS_CORETYPE`` says otherwise (this project's machine sets it to ``Haswell``;
its CPU would get the AVX-512 ``SkylakeX`` kernels, ~1.3x faster end to end). Compare figures
only under the same kernels.

Usage: python bench/speed.py [--model NAME_OR_PATH ...] [--all-archs] [--hour-minutes 60]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf
import torch

import voicecnn as vc
from voicecnn.net.engine import NumpyVad


def blas_kernels() -> str:
    """numpy's BLAS and the kernels it runs: the matrix products are most of the engine's time,
    and OpenBLAS's AVX-512 kernels run them ~2x faster than its AVX2 (Haswell) ones."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "BLAS: unknown (no threadpoolctl)"
    blas = [i for i in threadpool_info() if i.get("user_api") == "blas"]
    if not blas:
        return "BLAS: unknown"
    info = blas[0]
    forced = os.environ.get("OPENBLAS_CORETYPE")
    return (f"BLAS: {info.get('internal_api')} {info.get('version')} "
            f"({info.get('architecture')} kernels"
            + (f", OPENBLAS_CORETYPE={forced} in the environment)" if forced else ")"))


def rtf_one_thread(
    models: dict[Any, Any], seconds: float = 60.0, rounds: int = 7
) -> dict[Any, float]:
    """Best-of-``rounds`` compute time per second of audio through ``frame_probs``, per model.

    The models take turns within each round, so a host that speeds up or slows down during the
    measurement (shared virtual machines drift by up to ~1.5x) affects them all alike.
    """
    torch.set_num_threads(1)
    wave = np.random.default_rng(0).standard_normal(int(seconds * 16000)).astype(np.float32) * 0.1
    best = dict.fromkeys(models, float("inf"))
    for model in models.values():
        vc.frame_probs(model, wave[:16000])  # warm-up
    for _ in range(rounds):
        for name, model in models.items():
            t0 = time.perf_counter()
            vc.frame_probs(model, wave)
            best[name] = min(best[name], time.perf_counter() - t0)
    return {name: t / seconds for name, t in best.items()}


def write_long_file(path: Path, minutes: float) -> None:
    """A long 16 kHz FLAC of speech-like bursts over noise, written block by block."""
    rng = np.random.default_rng(0)
    with sf.SoundFile(path, "w", 16000, 1, subtype="PCM_16") as f:
        for _ in range(int(minutes * 6)):  # 10 s blocks
            t = np.arange(160000) / 16000
            burst = np.sin(2 * np.pi * 150 * t) * (np.sin(2 * np.pi * 0.3 * t) > 0)
            f.write((0.2 * burst + 0.01 * rng.standard_normal(t.size)).astype(np.float32))


def peak_rss_mb(args: list[str]) -> tuple[float, float]:
    """Run ``voicecnn ARGS...`` in a fresh Python; return (wall seconds, its own peak RSS, MB)."""
    with tempfile.NamedTemporaryFile(suffix=".txt") as report:
        code = (
            "import sys\n"
            "from voicecnn.cli import main\n"
            "out = sys.argv.pop(1)\n"
            "sys.argv[0] = 'voicecnn'\n"
            "try:\n"
            "    main()\n"
            "finally:\n"
            "    hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM:')]\n"
            "    with open(out, 'w') as f:\n"
            "        f.write(hwm[0].split()[1])  # kB; unlike ru_maxrss, not the parent's\n"
        )
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", code, report.name, *args], check=False,
                       stdout=subprocess.DEVNULL)
        wall = time.perf_counter() - t0
        return wall, int(Path(report.name).read_text()) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", action="append", default=None,
                        help="bundled name or .safetensors (repeatable; default: every bundled)")
    parser.add_argument("--all-archs", action="store_true", help="also time untrained archs")
    parser.add_argument("--hour-minutes", type=float, default=60.0)
    args = parser.parse_args()
    cli = ["detect"]
    print(f"machine: {platform.processor() or platform.machine()}, "
          f"{torch.get_num_threads()} threads available, torch {torch.__version__}, "
          f"python {platform.python_version()}, load average {os.getloadavg()[0]:.1f}; "
          f"{blas_kernels()}\n")
    print("| model | engine | parameters | RTF, 1 thread | x real time |")
    print("|---|---|---:|---:|---:|")
    names = args.model or vc.bundled_models()
    models: dict[tuple[str, str], Any] = {}
    for n in names:
        models[n, "numpy"], models[n, "torch"] = vc.load_model(n), vc.load_module(n)
    if args.all_archs:
        for n in vc.list_models("vad"):
            net = vc.create_model(n).eval()
            models[f"{n} (arch)", "torch"] = net
            models[f"{n} (arch)", "numpy"] = NumpyVad.from_module(net)
    params = {n: sum(p.numel() for p in m.parameters())
              for (n, e), m in models.items() if e == "torch"}
    for (name, engine), rtf in rtf_one_thread(models).items():
        print(f"| {name} | {engine} | {params[name]:,} | {rtf:.5f} | {1 / rtf:,.0f} |")
    with tempfile.TemporaryDirectory() as tmp:
        ten = Path(tmp) / "ten.wav"
        sf.write(ten, np.random.default_rng(1).standard_normal(160000).astype(np.float32) * 0.1,
                 16000)
        runs = [peak_rss_mb([*cli, str(ten), "-f", "json"]) for _ in range(5)]
        long = Path(tmp) / "long.flac"
        write_long_file(long, args.hour_minutes)
        wall, rss = peak_rss_mb([*cli, str(long), "-f", "json"])
    print(f"\n`voicecnn detect` on a 10 s file, start-up included: median "
          f"{statistics.median(w for w, _ in runs):.2f} s over 5 runs, "
          f"peak RSS {max(r for _, r in runs):.0f} MB")
    print(f"`voicecnn detect` on a {args.hour_minutes:.0f}-minute file: {wall:.1f} s wall, "
          f"peak RSS {rss:.0f} MB (numpy engine, default threads)")


if __name__ == "__main__":
    main()
