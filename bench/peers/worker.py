"""Run one VAD in a fresh process: start-up time, or every benchmark file plus streaming cost.

    python bench/peers/worker.py SYSTEM [--model M] ready
    python bench/peers/worker.py SYSTEM [--model M] run --files LIST.json --out DIR --stream WAV

``SYSTEM`` is ``silero``, ``ten``, ``webrtc`` (run with ``bench/.venv-peers/bin/python``) or
``voicecnn`` (run with voicecnn's Python). ``ready`` prints, as JSON, the seconds from the start of
the process's imports to a loaded model. ``run`` reads the 16 kHz WAVs listed in LIST.json
(``{"key": "path", ...}``), writes ``DIR/<key>.npz`` (``probs`` and ``speech`` on the 10 ms grid)
and ``DIR/summary.json``: compute seconds of the whole-file passes, audio seconds, microseconds
per streaming chunk over the first ``--stream-s`` seconds of WAV, peak RSS and model size
(Linux: read from ``/proc``). Set ``OMP_NUM_THREADS=1`` (the caller does): every figure is meant
for one thread.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from peers.grid import Vad

SYSTEMS = ("silero", "ten", "webrtc", "voicecnn")


def load_vad(system: str, model: str | None) -> Vad:
    """Import the adapter of ``system`` and build it (the imports happen here, to be timed)."""
    if system == "silero":
        from peers.silero import Silero

        return Silero()
    if system == "ten":
        from peers.ten import Ten

        return Ten()
    if system == "webrtc":
        from peers.webrtc import WebRtc

        return WebRtc()
    from peers.voicecnn_vad import VoiceCnn

    return VoiceCnn(model)


def stream_cost_us(vad: Vad, wave: Any) -> dict[str, float]:
    """Microseconds per ``feed`` of native chunks over ``wave``: mean, median, 95th percentile."""
    import numpy as np

    n = vad.chunk_samples
    vad.reset()
    times = []
    for i in range(0, wave.size - n + 1, n):
        chunk = wave[i : i + n]
        t0 = time.perf_counter_ns()
        vad.feed(chunk)
        times.append(time.perf_counter_ns() - t0)
    us = np.array(times, np.float64) / 1000
    return {"chunk_ms": 1000 * n / 16000, "mean_us": float(us.mean()),
            "median_us": float(np.median(us)), "p95_us": float(np.percentile(us, 95)),
            "chunks": int(us.size)}


def peak_rss_mb() -> float:
    """This process's peak resident memory (``VmHWM``: unlike ``ru_maxrss``, not inherited
    from the parent that forked it)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise OSError("no VmHWM in /proc/self/status")


def run(vad: Vad, files: dict[str, str], out: Path, stream_wav: str, stream_s: float) -> dict[
        str, Any]:
    """Process every file, then measure streaming; return the summary."""
    import numpy as np

    from peers.grid import read_wav

    compute_s = audio_s = 0.0
    for key, path in files.items():
        wave = read_wav(path)
        t0 = time.perf_counter()
        probs, speech = vad.process(wave)
        compute_s += time.perf_counter() - t0
        audio_s += wave.size / 16000
        dest = out / f"{key}.npz"
        dest.parent.mkdir(parents=True, exist_ok=True)
        np.savez(dest, probs=probs.astype(np.float32), speech=speech.astype(bool))
    stream = stream_cost_us(vad, read_wav(stream_wav)[: int(stream_s * 16000)])
    summary: dict[str, Any] = {
        "compute_s": compute_s,
        "audio_s": audio_s,
        "stream": stream,
        "peak_rss_mb": peak_rss_mb(),
        "model_bytes": sum(p.stat().st_size for p in vad.files()),
        "model_files": [str(p) for p in vad.files()],
    }
    n_params = getattr(vad, "n_params", None)
    if n_params is not None:
        summary["parameters"] = n_params()
    return summary


def main() -> None:
    """Parse the command line and do one job."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("system", choices=SYSTEMS)
    parser.add_argument("--model", help="voicecnn: bundled name or .safetensors path")
    jobs = parser.add_subparsers(dest="job", required=True)
    jobs.add_parser("ready", help="time imports + model load")
    run_p = jobs.add_parser("run", help="process files, measure streaming")
    run_p.add_argument("--files", type=Path, required=True)
    run_p.add_argument("--out", type=Path, required=True)
    run_p.add_argument("--stream", required=True, help="WAV for the streaming measurement")
    run_p.add_argument("--stream-s", type=float, default=60.0)
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # bench/: `import peers`
    t0 = time.perf_counter()
    vad = load_vad(args.system, args.model)
    ready_s = time.perf_counter() - t0
    if args.job == "ready":
        print(json.dumps({"ready_s": ready_s}))
        return
    files = json.loads(args.files.read_text())
    summary = run(vad, files, args.out, args.stream, args.stream_s)
    summary["ready_s"] = ready_s
    (args.out / "summary.json").write_text(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
