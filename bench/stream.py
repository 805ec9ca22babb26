"""Streaming figures: CPU cost per chunk, and when speech starts/ends are decided.

1. CPU microseconds per ``StreamingDetector.feed`` call on ONE thread, for 10, 20 and 32 ms
   chunks of 16 kHz audio (post-processing included), for each engine: the thread's CPU time
   over 60 s of audio divided by the calls, best of several passes (on a shared machine the
   best pass is the one least slowed by other processes), and the median wall time of a call.
   The engines stream the same audio interleaved in blocks of chunks. ``--baseline DIR`` adds
   the frame engine of another checkout (``git worktree add DIR COMMIT``; its
   ``voicecnn/incremental.py``, the engine before the per-layer steps) on the same weights, in
   the same passes.
2. Decision delays against labels on a generated file: held-out LibriSpeech test-other
   utterances (../shared/data) separated by 0.7-2.5 s of quiet noise, frame labels from each
   clean utterance's energy. Fed in 10 ms chunks; for each labelled start/end, the matching event
   (within 0.5 s) gives the boundary error (event time - label) and the decision delay (audio
   fed when the event was emitted - label).

Usage: python bench/stream.py [--model NAME_OR_PATH] [--shared ../shared/data] [--baseline DIR]
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")  # one thread, set before numpy/torch load BLAS
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import argparse  # noqa: E402
import importlib.util  # noqa: E402
import platform  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402
from types import ModuleType  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
import soundfile as sf  # noqa: E402

import voicecnn as vc  # noqa: E402
from voicecnn.data.mix import speech_labels  # noqa: E402
from voicecnn.detection.stream import StreamingDetector  # noqa: E402

RATE = 16000
ROOT = Path(__file__).parents[1]


def chunk_costs_us(
    engines: dict[str, Callable[[], StreamingDetector]], chunk_ms: int, wave: np.ndarray,
    passes: int, block: int = 50,
) -> dict[str, tuple[float, float]]:
    """Per engine: CPU microseconds per feed() of ``chunk_ms`` chunks (mean over a pass, best
    pass) and the median wall microseconds of a call (over all passes).

    Within a pass every engine streams the same audio, interleaved in blocks of ``block`` chunks
    (the engine order rotating from block to block), so a slow spell of a shared machine falls on
    all engines alike instead of on whichever ran during it."""
    n = RATE * chunk_ms // 1000
    chunks = [wave[i : i + n] for i in range(0, wave.size - n + 1, n)]
    names = list(engines)
    best = dict.fromkeys(names, float("inf"))
    calls: dict[str, list[int]] = {name: [] for name in names}
    for _ in range(passes):
        dets = {name: engines[name]() for name in names}
        cpu = dict.fromkeys(names, 0)
        for b, lo in enumerate(range(0, len(chunks), block)):
            for name in names[b % len(names) :] + names[: b % len(names)]:
                det, times = dets[name], calls[name]
                cpu0 = time.thread_time_ns()
                for c in chunks[lo : lo + block]:
                    t0 = time.perf_counter_ns()
                    det.feed(c)
                    times.append(time.perf_counter_ns() - t0)
                cpu[name] += time.thread_time_ns() - cpu0
        for name in names:
            best[name] = min(best[name], cpu[name] / len(chunks))
    return {k: (best[k] / 1000, float(np.median(calls[k])) / 1000) for k in names}


def baseline_engine(checkout: Path) -> ModuleType:
    """The frame engine (``voicecnn/incremental.py``) of another checkout, as a module."""
    spec = importlib.util.spec_from_file_location(
        "baseline_incremental", checkout / "voicecnn" / "incremental.py"
    )
    if spec is None or spec.loader is None:
        raise SystemExit(f"no voicecnn/incremental.py in {checkout}")
    module = importlib.util.module_from_spec(spec)
    # It imports the modules by their names before the re-layout (voicecnn/net/...).
    import voicecnn.net.layers.conv
    import voicecnn.net.models.vad

    old_names = {"voicecnn.layers": voicecnn.net.layers, "voicecnn.layers.conv":
                 voicecnn.net.layers.conv, "voicecnn.models": voicecnn.net.models,
                 "voicecnn.models.vad": voicecnn.net.models.vad}
    for name, mod in old_names.items():
        sys.modules.setdefault(name, mod)
    spec.loader.exec_module(module)
    return module


def engines_for(name: str, baseline: ModuleType | None, *, torch: bool) -> dict[str, Any]:
    """Detector factories per engine for model ``name``."""
    numpy_model, torch_model = vc.load_model(name), vc.load_module(name)
    out: dict[str, Any] = {"numpy (per-layer steps)": lambda: StreamingDetector(numpy_model)}
    if torch:
        out["torch"] = lambda: StreamingDetector(torch_model, engine="torch")
    if baseline is not None:

        def old() -> StreamingDetector:
            det = StreamingDetector(numpy_model)
            det._frames = baseline.IncrementalVad(torch_model)  # same interface
            return det

        out["baseline (incremental.py)"] = old
    return out


def cpu_name() -> str:
    """The CPU model, from /proc/cpuinfo where there is one."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def generated_file(shared: Path, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Utterances over quiet noise with frame labels (10 ms)."""
    rng = np.random.default_rng(seed)
    files = sorted((shared / "speech/librispeech/test-other").glob("*.flac"))
    if len(files) < 12:
        raise SystemExit(f"error: no LibriSpeech test-other utterances under {shared} "
                         "(pass --shared DIR, or --no-delays)")
    picks = rng.choice(len(files), size=12, replace=False)
    parts, labels = [], []
    for i in picks:
        gap = np.zeros(int(rng.uniform(0.7, 2.5) * RATE) // 160 * 160, np.float32)
        clip, rate = sf.read(files[i], dtype="float32")
        assert rate == RATE
        clip = clip[: clip.size // 160 * 160] / np.abs(clip).max() * 0.5
        parts += [gap, clip]
        labels += [np.zeros(gap.size // 160, np.float32), speech_labels(clip)]
    parts.append(np.zeros(RATE, np.float32))
    labels.append(np.zeros(RATE // 160, np.float32))
    wave = np.concatenate(parts)
    wave += 0.003 * rng.standard_normal(wave.size).astype(np.float32)
    return wave, np.concatenate(labels)


def label_boundaries(labels: np.ndarray, cfg: vc.DetectCfg) -> tuple[list[float], list[float]]:
    """Starts and ends of the labelled segments, after the same min-silence gap filling."""
    segs = vc.segments_from_probs(labels, 0.01, labels.size * 0.01, onset=0.5, offset=0.5,
                                  min_speech_s=0.0, min_silence_s=cfg.min_silence_s, pad_s=0.0)
    return [s.start for s in segs], [s.end for s in segs]


def delays(model: Any, wave: np.ndarray, labels: np.ndarray) -> dict[str, np.ndarray]:
    """Boundary errors and decision delays (seconds) of starts and ends."""
    cfg = vc.DetectCfg(pad_s=0.0)  # boundaries themselves, not padded
    det = StreamingDetector(model, cfg)
    emitted: list[tuple[str, float, float]] = []  # kind, event time, audio fed when emitted
    step = RATE // 100
    for i in range(0, wave.size, step):
        for ev in det.feed(wave[i : i + step]).events:
            emitted.append((ev.kind, ev.time_s, min(i + step, wave.size) / RATE))
    for ev in det.flush().events:
        emitted.append((ev.kind, ev.time_s, wave.size / RATE))
    ref_starts, ref_ends = label_boundaries(labels, cfg)
    out: dict[str, list[float]] = {"start_error": [], "start_decided": [], "end_error": [],
                                   "end_decided": []}
    for kind, refs in (("start", ref_starts), ("end", ref_ends)):
        evs = [(t, at) for k, t, at in emitted if k == kind]
        for r in refs:
            near = [(t, at) for t, at in evs if abs(t - r) <= 0.5]
            if near:
                t, at = min(near, key=lambda e: abs(e[0] - r))
                out[f"{kind}_error"].append(t - r)
                out[f"{kind}_decided"].append(at - r)
    return {k: np.array(v) for k, v in out.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", action="append", help="bundled name or path (repeatable)")
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--baseline", type=Path, help="checkout whose incremental.py to compare")
    parser.add_argument("--no-delays", action="store_true", help="only the cost per chunk")
    parser.add_argument("--no-torch", action="store_true", help="leave out the torch engine")
    args = parser.parse_args()
    baseline = baseline_engine(args.baseline) if args.baseline else None
    import torch

    torch.set_num_threads(1)
    names = args.model or vc.bundled_models()
    print(f"machine: {cpu_name()}, {os.cpu_count()} cores, one thread used; "
          f"torch {torch.__version__}, numpy {np.__version__}, load average "
          f"{os.getloadavg()[0]:.1f}\n")
    sample, _ = sf.read(ROOT / "samples" / "speech_over_noise.flac", dtype="float32")
    wave60 = np.tile(sample, int(np.ceil(60 * RATE / sample.size)))[: 60 * RATE]
    print("CPU µs per feed (best pass of 60 s) [median wall µs per call]:\n")
    print("| model | engine | 10 ms chunk | 20 ms chunk | 32 ms chunk | lookahead |")
    print("|---|---|---:|---:|---:|---:|")
    models = {n: vc.load_model(n) for n in names}
    for name, model in models.items():
        engines = engines_for(name, baseline, torch=not args.no_torch)
        costs = [chunk_costs_us(engines, ms, wave60, 7) for ms in (10, 20, 32)]
        for engine in engines:
            print(f"| {name} | {engine} | "
                  + " | ".join(f"{c[engine][0]:.0f} [{c[engine][1]:.0f}] µs" for c in costs)
                  + f" | {model.lookahead_s * 1000:.0f} ms |")
    if args.no_delays:
        return
    wave, labels = generated_file(args.shared)
    print(f"\nDecision delays on a generated file ({wave.size / RATE:.0f} s, 12 LibriSpeech "
          "test-other utterances over quiet noise; DetectCfg defaults, pad 0; seconds; "
          "median [90th percentile]):\n")
    print("| model | start error | start decided after | end error | end decided after |")
    print("|---|---:|---:|---:|---:|")
    for name, model in models.items():
        d = delays(model, wave, labels)

        def fmt(x: np.ndarray) -> str:
            if x.size == 0:
                return "-"
            return f"{np.median(x):+.3f} [{np.percentile(x, 90):+.3f}] (n={x.size})"

        print(f"| {name} | {fmt(d['start_error'])} | {fmt(d['start_decided'])} | "
              f"{fmt(d['end_error'])} | {fmt(d['end_decided'])} |")


if __name__ == "__main__":
    main()
