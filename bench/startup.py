"""Start-up and footprint of voicecnn beside Silero VAD and TEN VAD, in one run (Markdown table).

For each system, in fresh processes on ONE thread (``OMP_NUM_THREADS=1``):

* import + model load: seconds from the first import to a loaded model (``bench/peers/worker.py
  SYSTEM ready``), median of ``--runs`` processes;
* detection of a 10 s file from a fresh process, start-up included: ``voicecnn detect FILE -f
  json`` for voicecnn; for the peers, a process that imports, loads, reads the file and labels
  it with the same adapter the accuracy benchmark uses; median wall seconds;
* peak RSS of that process (its own ``VmHWM``, read at exit), max over the runs;
* install size: the files of the distributions a plain install pulls in (the requirement
  closure, read with ``importlib.metadata`` inside each environment): ``voicecnn`` without
  extras; Silero as the benchmark runs it (``silero-vad``'s files + onnxruntime's closure:
  the ONNX route never imports torch, which ``pip install silero-vad`` would also pull in);
  ``ten-vad``;
* offline real-time factor of voicecnn's default model on one thread (numpy engine, 60 s of
  audio, best of 5).

The peers run in ``bench/.venv-peers`` (``python bench/run.py --setup`` makes it) or the Python
given by ``--peers-python``. Usage:

    python bench/startup.py [--runs 5] [--peers-python PATH] [--voicecnn-python PATH]
                            [--full-python PATH]

``--voicecnn-python`` times another environment's voicecnn (e.g. the inference-only install).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent

_CLOSURE = r"""
import json, re, sys
from importlib import metadata
seen, todo, size = set(), list(sys.argv[2:]), 0
skip = set(json.loads(sys.argv[1]))
while todo:
    name = re.split(r"[\s;<>=!~\[(]", todo.pop().strip(), maxsplit=1)[0].lower().replace("_", "-")
    if not name or name in seen or name in skip:
        continue
    seen.add(name)
    try:
        dist = metadata.distribution(name)
    except metadata.PackageNotFoundError:
        continue
    for f in dist.files or []:
        p = f.locate()
        if p.is_file():
            size += p.stat().st_size
    todo += [r for r in dist.requires or [] if "extra ==" not in r]
print(json.dumps({"bytes": size, "dists": sorted(seen)}))
"""

_HWM = r"""
def _hwm(path):
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            open(path, "w").write(str(int(line.split()[1]) / 1024))
"""

_PEER_FILE = _HWM + r"""
import sys
sys.path.insert(0, sys.argv[3])
from peers.worker import load_vad
from peers.grid import read_wav
vad = load_vad(sys.argv[1], None)
probs, speech = vad.process(read_wav(sys.argv[2]))
print(int(speech.sum()))
_hwm(sys.argv[4])
"""

_VOICECNN_CLI = _HWM + r"""
import sys
out = sys.argv.pop(1)
sys.argv[0] = "voicecnn"
from voicecnn.cli import main
try:
    main()
finally:
    _hwm(out)
"""


def timed_process(cmd: list[str], hwm: Path) -> tuple[float, float]:
    """Run ``cmd`` (which writes its own ``VmHWM`` to ``hwm`` at exit: unlike ``ru_maxrss``,
    not inherited from this process); return (wall seconds, peak RSS in MB)."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
           "MKL_NUM_THREADS": "1"}
    t0 = time.perf_counter()
    done = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                          check=False)
    wall = time.perf_counter() - t0
    if done.returncode:
        raise SystemExit(f"{' '.join(cmd)} failed: {done.stderr.decode().strip()[-300:]}")
    return wall, float(hwm.read_text())


def ready_s(python: str, system: str) -> float:
    """Import + model load seconds, as the worker measures them in a fresh process."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    out = subprocess.run([python, str(BENCH / "peers" / "worker.py"), system, "ready"],
                         env=env, check=True, capture_output=True, text=True).stdout
    return float(json.loads(out)["ready_s"])


def install_mb(python: str, roots: list[str], skip: list[str]) -> tuple[float, list[str]]:
    """Megabytes of the distributions ``roots`` pull in (minus ``skip``), in ``python``'s env."""
    out = subprocess.run([python, "-c", _CLOSURE, json.dumps(skip), *roots], check=True,
                         capture_output=True, text=True).stdout
    found = json.loads(out)
    return found["bytes"] / 1e6, found["dists"]


def offline_rtf(python: str) -> float:
    """voicecnn's default model, numpy engine, one thread: compute seconds per audio second."""
    code = (
        "import time, numpy as np, voicecnn as vc\n"
        "m = vc.load_model()\n"
        "w = (np.random.default_rng(0).standard_normal(960000) * 0.1).astype(np.float32)\n"
        "vc.frame_probs(m, w[:16000])\n"
        "t = []\n"
        "for _ in range(5):\n"
        "    t0 = time.perf_counter(); vc.frame_probs(m, w); t.append(time.perf_counter() - t0)\n"
        "print(min(t) / 60)\n"
    )
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    out = subprocess.run([python, "-c", code], env=env, check=True, capture_output=True,
                         text=True).stdout
    return float(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--peers-python", default=str(BENCH / ".venv-peers" / "bin" / "python"))
    parser.add_argument("--voicecnn-python", default=sys.executable)
    parser.add_argument("--full-python", default=sys.executable,
                        help="an environment with the train extra, for its install size")
    args = parser.parse_args()
    vc_py, peers_py = args.voicecnn_python, args.peers_python
    have_peers = Path(peers_py).exists()
    if not have_peers:
        print(f"(no peers: {peers_py} is missing; python bench/run.py --setup makes it)\n")
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}; "
          f"voicecnn from {vc_py}; {args.runs} fresh processes per figure\n")
    with tempfile.TemporaryDirectory() as tmp:
        ten = Path(tmp) / "ten_s.wav"
        sample, _ = sf.read(ROOT / "samples" / "speech_over_noise.flac", dtype="float32")
        sf.write(ten, np.tile(sample, 10)[:160000], 16000, subtype="PCM_16")
        hwm = Path(tmp) / "hwm.txt"
        commands = {
            "voicecnn": (vc_py, [vc_py, "-c", _VOICECNN_CLI, str(hwm), "detect", str(ten), "-f",
                                 "json"]),
        }
        if have_peers:
            for system in ("silero", "ten"):
                commands[system] = (peers_py, [peers_py, "-c", _PEER_FILE, system, str(ten),
                                               str(BENCH), str(hwm)])
        rows = {}
        for _ in range(args.runs):  # systems take turns, so load changes hit them alike
            for system, (python, cmd) in commands.items():
                row = rows.setdefault(system, {"ready": [], "wall": [], "rss": []})
                row["ready"].append(ready_s(python, system))
                wall, rss = timed_process(cmd, hwm)
                row["wall"].append(wall)
                row["rss"].append(rss)
    sizes = {"voicecnn": install_mb(vc_py, ["voicecnn"], [])}
    if have_peers:
        sizes["silero"] = install_mb(peers_py, ["silero-vad", "onnxruntime"], ["torch",
                                                                               "torchaudio"])
        sizes["ten"] = install_mb(peers_py, ["ten-vad"], [])
    names = {"voicecnn": "voicecnn (default model)", "silero": "Silero VAD (ONNX)",
             "ten": "TEN VAD"}
    print("| system | import + load s | detect 10 s file, wall s | peak RSS MB | install MB |")
    print("|---|---:|---:|---:|---:|")
    for system, row in rows.items():
        print(f"| {names[system]} | {statistics.median(row['ready']):.2f} | "
              f"{statistics.median(row['wall']):.2f} | {max(row['rss']):.0f} | "
              f"{sizes[system][0]:.0f} |")
    print(f"\nvoicecnn install: {', '.join(sizes['voicecnn'][1])}")
    full = install_mb(args.full_python, ["voicecnn", "torch", "scipy", "tensorboard"], [])[0]
    torch_only = install_mb(args.full_python, ["torch"], [])[0]
    print(f"with the train extra (torch, scipy, tensorboard): {full:,.0f} MB, of which torch's "
          f"closure {torch_only:,.0f} MB")
    print(f"voicecnn offline real-time factor, default model, one thread: "
          f"{offline_rtf(vc_py):.5f}")


if __name__ == "__main__":
    main()
