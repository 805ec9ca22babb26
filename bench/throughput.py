"""Batch throughput of ``voicecnn detect`` on a corpus: one process, ``--jobs 2``, Ray.

Generates HOURS of audio (files of FILE_MINUTES, 16 kHz FLAC, harmonic bursts over noise) once
into a cache folder, then runs ``voicecnn detect CORPUS -f rttm -o OUT`` as a subprocess for each
mode, in one run, and samples the whole process tree (workers, Ray's processes) every 50 ms from
/proc. Prints a Markdown table:

  * wall seconds, start-up included;
  * hours of audio per core-hour: audio hours / (wall hours x cores the mode uses: 1, 2, 2);
  * hours of audio per CPU-hour: audio hours / CPU hours the process tree used (Ray's own
    services included);
  * peak memory: the largest sum of the tree's resident memory (RSS, so shared pages count
    once per process: an upper bound).

``--long-minutes M`` adds rows for one M-minute 48 kHz stereo file, with ``--batch-files 2`` and
without: their peak memory shows whether memory grows with a file's length (on a CPU the
default engine runs file by file either way; on a GPU ``--batch-files`` stacks windows).

Every process runs one thread (OMP_NUM_THREADS=1), so a mode uses as many cores as it has
workers. Linux only (reads /proc). No GPU figure unless run on a machine with one.

Usage: OMP_NUM_THREADS=1 python bench/throughput.py [--hours 2] [--modes one,jobs2,ray2]
       [--long-minutes 60] [--cache DIR]
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

MODES = {
    "one": ([], 1),
    "jobs2": (["--jobs", "2"], 2),
    "ray2": (["--ray", "--jobs", "2"], 2),
}


def synth(seconds: float, rate: int, seed: int) -> np.ndarray:
    """Harmonic bursts with a wandering pitch over faint noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    f0 = 120 + 40 * np.sin(2 * np.pi * 0.7 * t + seed)
    phase = 2 * np.pi * np.cumsum(f0) / rate
    voiced = sum(np.sin(k * phase) / k for k in range(1, 8))
    envelope = (np.sin(2 * np.pi * 0.3 * t + seed) > 0).astype(np.float64)
    return (0.3 * voiced * envelope + 0.01 * rng.standard_normal(t.size)).astype(np.float32)


def make_corpus(folder: Path, hours: float, file_minutes: float) -> float:
    """Write the corpus once (reused when present); return its seconds of audio."""
    n = max(1, round(hours * 60 / file_minutes))
    for i in range(n):
        path = folder / f"spk{i % 4}" / f"f{i:03d}.flac"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            sf.write(path, synth(file_minutes * 60, 16000, i), 16000)
    return n * file_minutes * 60


def make_long(path: Path, minutes: float) -> float:
    if not path.exists():
        rate, block = 48000, 60
        with sf.SoundFile(path, "w", rate, 2, "PCM_16") as f:
            for k in range(int(minutes)):
                mono = synth(block, rate, k)
                f.write(np.stack([mono, mono[::-1]], axis=1))
    return minutes * 60


def _tree(root: int) -> list[int]:
    parents: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                ppid = int(Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            parents.setdefault(ppid, []).append(int(entry))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(parents.get(pid, []))
    return out


@dataclass
class Sample:
    peak_rss_mb: float = 0.0
    cpu_s: float = 0.0


def watch(pid: int, stop: threading.Event, into: Sample) -> None:
    """Peak summed RSS and CPU seconds (last seen per process) of ``pid``'s tree."""
    tick = os.sysconf("SC_CLK_TCK")
    page = os.sysconf("SC_PAGE_SIZE")
    cpu: dict[int, float] = {}
    while not stop.is_set():
        rss = 0
        for p in _tree(pid):
            try:
                fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
                rss += int(Path(f"/proc/{p}/statm").read_text().split()[1]) * page
            except (OSError, IndexError, ValueError):
                continue
            cpu[p] = (int(fields[11]) + int(fields[12])) / tick
        into.peak_rss_mb = max(into.peak_rss_mb, rss / 2**20)
        into.cpu_s = sum(cpu.values())
        stop.wait(0.05)


def run(args: list[str]) -> tuple[float, Sample, int]:
    env = dict(os.environ, OMP_NUM_THREADS="1", RAY_DEDUP_LOGS="0")
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "voicecnn", "detect", *args],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    sample, stop = Sample(), threading.Event()
    thread = threading.Thread(target=watch, args=(proc.pid, stop, sample))
    thread.start()
    _, err = proc.communicate()
    wall = time.perf_counter() - t0
    stop.set()
    thread.join()
    if proc.returncode != 0:
        sys.stderr.write(err.decode(errors="replace")[-2000:])
    return wall, sample, proc.returncode


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hours", type=float, default=2.0)
    ap.add_argument("--file-minutes", type=float, default=5.0)
    ap.add_argument("--modes", default="one,jobs2,ray2")
    ap.add_argument("--model", default=None, help="default: the bundled default model")
    ap.add_argument("--long-minutes", type=float, default=0.0)
    ap.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "voicecnn_tp")
    a = ap.parse_args()
    corpus = a.cache / f"corpus_{a.hours:g}h_{a.file_minutes:g}min"
    audio_s = make_corpus(corpus, a.hours, a.file_minutes)
    model = ["-m", a.model] if a.model else []
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores; "
          f"{audio_s / 3600:.2f} h of audio in {len(list(corpus.rglob('*.flac')))} files; "
          "one thread per process")
    print()
    print("| mode | cores | wall (s) | audio h per core-hour | audio h per CPU-hour "
          "| peak memory (MB) |")
    print("|---|---:|---:|---:|---:|---:|")
    for mode in a.modes.split(","):
        extra, cores = MODES[mode]
        with tempfile.TemporaryDirectory() as out:
            wall, s, code = run([str(corpus), *model, "-f", "rttm", "-o", out, *extra])
        hours = audio_s / 3600
        print(f"| {mode} | {cores} | {wall:.1f} | {hours / (wall / 3600 * cores):,.0f} | "
              f"{hours / (s.cpu_s / 3600):,.0f} | {s.peak_rss_mb:,.0f} |"
              + ("" if code == 0 else f" exit {code}"), flush=True)
    if a.long_minutes:
        long = a.cache / f"long_{a.long_minutes:g}min_48k_stereo.wav"
        long_s = make_long(long, a.long_minutes)
        for extra in (["--batch-files", "2", "--device", "cpu"], []):
            wall, s, code = run([str(long), *model, "-f", "json", *extra])
            label = " ".join(extra) or "streaming (default on cpu)"
            print(f"| one {long_s / 60:g}-min 48 kHz stereo file, {label} | 1 | {wall:.1f} | "
                  f"{long_s / 3600 / (wall / 3600):,.0f} | {long_s / s.cpu_s:,.0f} | "
                  f"{s.peak_rss_mb:,.0f} |" + ("" if code == 0 else f" exit {code}"), flush=True)


if __name__ == "__main__":
    main()
