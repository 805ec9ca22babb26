"""Benchmark voicecnn against offline VADs (Silero, TEN, WebRTC) on the sets of ``sets.py``.

    python bench/run.py [--setup] [--quick] [--model NAME_OR_PATH ...] [--out bench/results]
                        [--update-md BENCHMARKS.md]

``--setup`` creates the peers' environment (``bench/.venv-peers``: torch 2.13.0, silero-vad,
onnxruntime, webrtcvad-wheels, ten-vad; Debian ``libc++1``). Every system then runs in a fresh
process of its own environment (``peers/worker.py``) on one thread, over the same WAV files; all
outputs are mapped onto the 10 ms grid and scored here against the frame labels:

* ROC-AUC of the frame scores (rank statistic, ties averaged);
* precision, recall, F1 and false-alarm rate (false positives / non-speech frames) of each
  system's decision at its default operating point;
* start and end errors of detected segments against labelled ones (one-to-one by overlap);
* offline real-time factor, streaming microseconds per chunk, import + load time, peak RSS,
  model size; voicecnn's batched throughput on a GPU when torch sees one.

Results go to ``OUT/results.json`` and ``OUT/tables.md``; the tables are printed, and with
``--update-md`` replace the block between ``<!-- bench:begin -->`` and ``<!-- bench:end -->``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import platform
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))  # `import sets`, `import peers` as when run as a script

import sets  # noqa: E402
from peers.grid import GRID_HOP, SAMPLE_RATE  # noqa: E402

from voicecnn.detection.segments import mask_to_segments  # noqa: E402
from voicecnn.train import metrics  # noqa: E402
from voicecnn.train.metrics import match_segments  # noqa: E402

PEERS_VENV = BENCH / ".venv-peers"
PEERS_PYTHON = PEERS_VENV / "bin" / "python"
PEER_PACKAGES = ("silero-vad", "onnxruntime", "webrtcvad-wheels", "ten-vad")
PEERS = ("silero", "ten", "webrtc")
PEER_LABELS = {"silero": "Silero VAD 6 (ONNX)", "ten": "TEN VAD", "webrtc": "WebRTC VAD (mode 3)"}
ONE_THREAD = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
FRAME_S = GRID_HOP / SAMPLE_RATE
MARK_BEGIN, MARK_END = "<!-- bench:begin -->", "<!-- bench:end -->"

Bool = npt.NDArray[np.bool_]


# --- metrics (pure) ------------------------------------------------------------------------


def roc_auc(labels: npt.ArrayLike, scores: npt.ArrayLike) -> float | None:
    """Frame ROC-AUC (:func:`voicecnn.train.metrics.roc_auc`); ``None`` for a single class."""
    auc = metrics.roc_auc(scores, labels)
    return None if math.isnan(auc) else auc


def decision_scores(labels: npt.ArrayLike, decision: npt.ArrayLike) -> dict[str, float | None]:
    """Precision, recall, F1 and false-alarm rate of a speech decision (``None`` if undefined)."""
    y = np.asarray(labels).astype(bool)
    d = np.asarray(decision).astype(bool)
    tp = int((y & d).sum())
    fp = int((~y & d).sum())
    fn = int((y & ~d).sum())
    negatives = int((~y).sum())
    precision = tp / (tp + fp) if tp + fp else None
    recall = tp / (tp + fn) if tp + fn else None
    f1 = 2 * tp / (2 * tp + fp + fn) if tp + fn else None
    return {"precision": precision, "recall": recall, "f1": f1,
            "fa_rate": fp / negatives if negatives else None}


def runs(mask: npt.ArrayLike) -> list[tuple[int, int]]:
    """``[start, end)`` frame indices of the runs of True."""
    return [(round(g.start / FRAME_S), round(g.end / FRAME_S))
            for g in mask_to_segments(np.asarray(mask, bool).reshape(-1), FRAME_S)]


def boundary_errors(labels: npt.ArrayLike, decision: npt.ArrayLike) -> tuple[
        list[float], list[float], int]:
    """Start and end errors (detected - labelled, seconds) of the segments paired one to one,
    largest overlap first (:func:`voicecnn.train.metrics.match_segments`).

    Returns:
        ``(start_errors, end_errors, n_reference_segments)``.
    """
    ref = mask_to_segments(np.asarray(labels, bool).reshape(-1), FRAME_S)
    hyp = mask_to_segments(np.asarray(decision, bool).reshape(-1), FRAME_S)
    match = match_segments(ref, hyp)
    return list(match.start_errors_s), list(match.end_errors_s), len(ref)


def median_ms(values: Sequence[float], *, absolute: bool) -> float | None:
    """Median of ``values`` (seconds) in milliseconds, of their magnitudes if ``absolute``."""
    if not values:
        return None
    v = np.abs(values) if absolute else np.asarray(values)
    return float(np.median(v)) * 1000


@dataclass
class Output:
    """One system's scores and decision on one file, with the file's labels (grid-aligned)."""

    labels: Bool | None
    probs: npt.NDArray[np.float32]
    speech: Bool


def score_set(kind: str, outputs: Sequence[Output]) -> dict[str, Any]:
    """The metrics of one system on one set (or a pool of sets) of ``kind``."""
    probs = np.concatenate([o.probs for o in outputs])
    speech = np.concatenate([o.speech for o in outputs])
    result: dict[str, Any] = {"frames": int(probs.size), "speech_share": float(speech.mean())}
    if kind == "ambiguous":
        return result
    labels = np.concatenate([o.labels for o in outputs if o.labels is not None])
    result["fa_rate"] = decision_scores(labels, speech)["fa_rate"]
    if kind == "nonspeech":
        return result
    result |= decision_scores(labels, speech)
    result["auc"] = roc_auc(labels, probs)
    starts, ends, n_ref = [], [], 0
    for o in outputs:
        if o.labels is None:
            continue
        s, e, n = boundary_errors(o.labels, o.speech)
        starts += s
        ends += e
        n_ref += n
    result |= {"start_abs_ms": median_ms(starts, absolute=True),
               "end_abs_ms": median_ms(ends, absolute=True),
               "start_ms": median_ms(starts, absolute=False),
               "end_ms": median_ms(ends, absolute=False),
               "matched": len(starts) / n_ref if n_ref else None}
    return result


def load_output(item: sets.Item, out_dir: Path) -> Output:
    """What a system wrote for one file, with the file's labels, trimmed to a common length."""
    data = np.load(out_dir / item.set / f"{item.name}.npz")
    probs, speech = data["probs"], data["speech"]
    if item.labels is None:
        return Output(None, probs, speech)
    labels = np.load(item.labels).astype(bool)
    n = min(labels.size, probs.size)
    return Output(labels[:n], probs[:n], speech[:n])


def evaluate(items: Sequence[sets.Item], out_dir: Path) -> dict[str, Any]:
    """Metrics per set, for the pools (independent speech sets, non-speech sets) and for the
    groups of ambiguous audio (singing, babble)."""
    outputs = [(item, load_output(item, out_dir)) for item in items]
    by_set: dict[str, list[Output]] = {}
    for item, out in outputs:
        by_set.setdefault(item.set, []).append(out)
    result = {name: score_set(sets.SET_INFO[name].kind, outs) for name, outs in by_set.items()}
    independent = [o for s in sets.SETS if s.kind == "speech" and not s.used_in_training
                   and s.family != "real" for o in by_set.get(s.name, [])]
    nonspeech = [o for s in sets.SETS if s.kind == "nonspeech" for o in by_set.get(s.name, [])]
    result["pool:speech"] = score_set("speech", independent)
    result["pool:nonspeech"] = score_set("nonspeech", nonspeech)
    for source in real_sources(items):
        outs = [o for i, o in outputs
                if i.set == "real" and (i.name == source or i.name.startswith(source + "_"))]
        result[f"real:{source}"] = score_set("speech", outs)
    for group in ("sing", "babble"):
        outs = [o for i, o in outputs if i.set == "ambiguous" and i.name.startswith(group + "_")]
        if outs:
            result[f"ambiguous:{group}"] = score_set("ambiguous", outs)
    return result


def real_sources(items: Sequence[sets.Item]) -> list[str]:
    """The sources of the ``real`` set's files (their names up to the second underscore)."""
    return sorted({"_".join(i.name.split("_")[:2]) for i in items if i.set == "real"})


# --- running the systems -------------------------------------------------------------------


def outputs_root(cache: Path, quick: bool = False) -> Path:
    """The folder of every system's outputs (``--quick`` runs apart), one folder per system."""
    return cache / ("outputs-quick" if quick else "outputs")


def label_slug(label: str) -> str:
    """The folder name of a system's outputs, from its label."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", label).strip("_")


@dataclass(frozen=True)
class System:
    """A VAD to run: its label, the worker's arguments, and the Python that runs it."""

    label: str
    system: str
    python: str
    model: str | None = None

    @property
    def slug(self) -> str:
        """The folder name of its outputs."""
        return label_slug(self.label)

    def worker(self, *args: str) -> list[str]:
        """The worker command line for one job."""
        model = ["--model", self.model] if self.model else []
        return [self.python, str(BENCH / "peers" / "worker.py"), self.system, *model, *args]


def one_thread_env() -> dict[str, str]:
    """The environment for workers: this one, limited to one thread."""
    return os.environ | ONE_THREAD


def ready_s(system: System, repeats: int = 3) -> float:
    """Median seconds from the first import to a loaded model, each in a fresh process."""
    times = []
    for _ in range(repeats):
        out = subprocess.run(system.worker("ready"), env=one_thread_env(), check=True,
                             capture_output=True, text=True).stdout
        times.append(json.loads(out.strip().splitlines()[-1])["ready_s"])
    return float(statistics.median(times))


def systems(models: Sequence[str], peers: bool) -> list[System]:
    """The peers (when ``peers``) and the voicecnn models, in table order."""
    out = [System(PEER_LABELS[p], p, str(PEERS_PYTHON)) for p in PEERS] if peers else []
    return out + [System(f"voicecnn {name}", "voicecnn", sys.executable, m)
                  for name, m in zip(model_names(models), models, strict=True)]


def run_outputs(system: System, files: Path, out_dir: Path, stream_wav: str,
                stream_s: float | None = None, quiet: bool = False) -> None:
    """Run a system over every file of ``files`` (JSON: {key: wav}) in a fresh one-thread
    process, writing one npz per file under ``out_dir``; ``stream_s`` limits the streaming
    measurement to that many seconds of ``stream_wav``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    limit = [] if stream_s is None else ["--stream-s", f"{stream_s:g}"]
    subprocess.run(system.worker("run", "--files", str(files), "--out", str(out_dir),
                                 "--stream", stream_wav, *limit), env=one_thread_env(),
                   check=True, stdout=subprocess.DEVNULL if quiet else None)


def run_system(system: System, files: Path, out_dir: Path, stream_wav: str) -> dict[str, Any]:
    """Run a system over every file in a fresh one-thread process; return its summary."""
    run_outputs(system, files, out_dir, stream_wav)
    summary: dict[str, Any] = json.loads((out_dir / "summary.json").read_text())
    summary["ready_s"] = ready_s(system)
    summary["rtf"] = summary["compute_s"] / summary["audio_s"]
    return summary


def gpu_throughput(model_name: str | None) -> dict[str, Any] | None:
    """voicecnn's batched speed on CUDA (32 x 30 s per call), or ``None`` without a GPU."""
    import torch

    if not torch.cuda.is_available():
        return None
    import voicecnn as vc

    model = vc.load_model(model_name, device="cuda")
    batch = torch.randn(32, 30 * SAMPLE_RATE, device="cuda") * 0.1
    with torch.inference_mode():
        for _ in range(3):
            model(batch)
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        repeats = 10
        for _ in range(repeats):
            model(batch)
        torch.cuda.synchronize()
    seconds = time.perf_counter() - t0
    return {"x_realtime": repeats * 32 * 30 / seconds, "device": torch.cuda.get_device_name()}


def setup_peers() -> None:
    """Create ``bench/.venv-peers`` with the peers (the CPU torch wheel first), and libc++1."""
    sets.ensure_apt(["libc++1"])
    if not PEERS_PYTHON.exists():
        subprocess.run([sys.executable, "-m", "venv", str(PEERS_VENV)], check=True)
    pip = [str(PEERS_PYTHON), "-m", "pip", "install", "-q"]
    subprocess.run([*pip, "torch==2.13.0"], check=True)
    subprocess.run([*pip, *PEER_PACKAGES], check=True)


def versions() -> dict[str, str]:
    """Versions of the systems and their runtimes."""
    code = ("import importlib.metadata as m, json; print(json.dumps({p: m.version(p) for p in "
            f"{list(PEER_PACKAGES)!r}}}))")
    out = subprocess.run([str(PEERS_PYTHON), "-c", code], check=True, capture_output=True,
                         text=True).stdout
    import torch

    import voicecnn as vc

    found: dict[str, str] = json.loads(out)
    return found | {"voicecnn": vc.__version__, "torch": torch.__version__}


def machine() -> str:
    """CPU model, cores and memory of this machine."""
    cpu = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        names = re.findall(r"model name\s*:\s*(.+)", cpuinfo.read_text())
        cpu = names[0].strip() if names else cpu
    mem_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{cpu}, {os.cpu_count()} cores, {mem_gb:.0f} GB RAM, Python {platform.python_version()}"


# --- tables --------------------------------------------------------------------------------


def _f(value: float | None, digits: int = 3) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], align: str = "l") -> str:
    lines = ["| " + " | ".join(header) + " |",
             "|" + "|".join(["---"] + ["---:" if align == "r" else "---"] * (len(header) - 1))
             + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def tables(results: dict[str, Any]) -> str:
    """The Markdown tables of a results dict."""
    systems = results["systems"]
    labels = list(systems)
    m = {label: systems[label]["metrics"] for label in labels}
    out = []
    if "real" in m[labels[0]]:
        out += real_tables(m, labels)
    head = ["system", "ROC-AUC", "F1", "precision", "recall", "false alarms (speech sets)",
            "false alarms (non-speech sets)", "abs start err ms", "abs end err ms"]
    rows = []
    for label in labels:
        sp, ns = m[label]["pool:speech"], m[label]["pool:nonspeech"]
        rows.append([label, _f(sp["auc"]), _f(sp["f1"]), _f(sp["precision"]), _f(sp["recall"]),
                     _f(sp["fa_rate"]), _f(ns["fa_rate"]), _f(sp["start_abs_ms"], 0),
                     _f(sp["end_abs_ms"], 0)])
    out += ["### Energy-label benchmark: accuracy, pooled over the independent speech sets and "
            "the non-speech sets",
            "", _table(head, rows, "r"), ""]
    set_names = [s.name for s in sets.SETS if s.name in m[labels[0]] and s.kind != "ambiguous"]
    for metric, title in (("auc", "Frame ROC-AUC per set"),
                          ("f1", "F1 at each system's default operating point, per set"),
                          ("fa_rate", "False-alarm rate (share of non-speech frames called "
                                      "speech) per set")):
        rows = []
        for name in set_names:
            info = sets.SET_INFO[name]
            if metric != "fa_rate" and info.kind != "speech":
                continue
            note = f" ({info.used_in_training})" if info.used_in_training else ""
            rows.append([f"{name}{note}", *[_f(m[label][name].get(metric)) for label in labels]])
        out += [f"### {title}", "", _table(["set", *labels], rows, "r"), ""]
    rows = []
    for label in labels:
        sp = m[label]["pool:speech"]
        rows.append([label, _f(sp["start_ms"], 0), _f(sp["end_ms"], 0), _f(sp["start_abs_ms"], 0),
                     _f(sp["end_abs_ms"], 0), _f(sp["matched"], 2)])
    out += ["### Segment boundaries (independent speech sets; detected minus labelled, median)",
            "", _table(["system", "start ms", "end ms", "abs start ms", "abs end ms",
                        "labelled segments matched"], rows, "r"), ""]
    groups = [k for k in m[labels[0]] if k.startswith("ambiguous:")]
    rows = [[k.split(":")[1], *[_f(m[label][k]["speech_share"], 2) for label in labels]]
            for k in groups]
    out += ["### Ambiguous audio: share of time called speech (not scored)", "",
            _table(["audio", *labels], rows, "r"), ""]
    rows = []
    for label in labels:
        s = systems[label]["summary"]
        st = s["stream"]
        params = f"{s['parameters']:,}" if "parameters" in s else "–"
        gpu = systems[label].get("gpu")
        rows.append([label, f"{s['model_bytes'] / 1e3:,.0f} kB", params, _f(s["ready_s"], 2),
                     f"{s['peak_rss_mb']:.0f}", f"{s['rtf']:.4f}", f"{1 / s['rtf']:,.0f}",
                     f"{st['chunk_ms']:g} ms",
                     f"{st['mean_us']:.0f} / {st['median_us']:.0f} / {st['p95_us']:.0f}",
                     f"{st['mean_us'] / st['chunk_ms'] * 32:.0f}",
                     f"{gpu['x_realtime']:,.0f}" if gpu else "–"])
    out += ["### Cost on one CPU thread", "",
            _table(["system", "model on disk", "parameters", "import + load s", "peak RSS MB",
                    "offline RTF", "x real time", "stream chunk",
                    "µs per chunk (mean / median / p95)", "µs per 32 ms of audio",
                    "GPU x real time"], rows, "r"), ""]
    return "\n".join(out)


def real_tables(m: dict[str, Any], labels: Sequence[str]) -> list[str]:
    """The tables of the real recordings with independent labels, at their three levels."""
    head = ["system", "ROC-AUC", "F1", "precision", "recall", "false alarms",
            "abs start err ms", "abs end err ms", "ROC-AUC −20 / +20 dB",
            "false alarms −20 / +20 dB", "worst ROC-AUC of the 3 levels"]
    rows = []
    for label in labels:
        r, q, ld = m[label]["real"], m[label].get("real_m20", {}), m[label].get("real_p20", {})
        aucs = [x.get("auc") for x in (r, q, ld)]
        worst = min((a for a in aucs if a is not None), default=None)
        rows.append([label, _f(r["auc"]), _f(r["f1"]), _f(r["precision"]), _f(r["recall"]),
                     _f(r["fa_rate"]), _f(r["start_abs_ms"], 0), _f(r["end_abs_ms"], 0),
                     f"{_f(q.get('auc'))} / {_f(ld.get('auc'))}",
                     f"{_f(q.get('fa_rate'))} / {_f(ld.get('fa_rate'))}", _f(worst)])
    out = ["### Real recordings, labels independent of any energy rule (primary)", "",
           _table(head, rows, "r"), ""]
    sources = [k for k in m[labels[0]] if k.startswith("real:")]
    rows = [[k.split(":")[1], *[f"{_f(m[label][k]['auc'])} / {_f(m[label][k]['f1'])}"
                                for label in labels]] for k in sources]
    out += ["### Real recordings: ROC-AUC / F1 per source (as recorded)", "",
            _table(["source", *labels], rows, "r"), ""]
    return out


def update_markdown(path: Path, block: str) -> None:
    """Replace the text between the bench markers of ``path`` with ``block``."""
    text = path.read_text()
    if MARK_BEGIN not in text or MARK_END not in text:
        raise SystemExit(f"{path} has no {MARK_BEGIN} ... {MARK_END} block")
    head, rest = text.split(MARK_BEGIN, 1)
    _, tail = rest.split(MARK_END, 1)
    path.write_text(f"{head}{MARK_BEGIN}\n{block}\n{MARK_END}{tail}")


# --- main ----------------------------------------------------------------------------------


def default_models() -> list[str]:
    """The bundled voicecnn models (``--model`` overrides)."""
    import voicecnn as vc

    names: list[str] = vc.bundled_models()
    if not names:
        raise SystemExit("no bundled voicecnn weights: pass --model PATH.safetensors")
    return names


def model_names(models: Sequence[str]) -> list[str]:
    """Short names for the table: a bundled name, or a file's stem (with its folder when two
    files share a stem, e.g. ``vad_cnn2d_s/best``)."""
    stems = [Path(m).stem if m.endswith(".safetensors") else m for m in models]
    return [f"{Path(m).parent.name}/{stem}" if stems.count(stem) > 1 else stem
            for m, stem in zip(models, stems, strict=True)]


def main() -> None:
    """Build the sets, run every system, score, write and print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--setup", action="store_true", help="install the peers' environment")
    parser.add_argument("--quick", action="store_true", help="a quarter of the audio")
    parser.add_argument("--model", action="append", help="voicecnn model(s): bundled name or "
                        ".safetensors path (repeatable; default: every bundled model)")
    parser.add_argument("--out", type=Path, default=BENCH / "results")
    parser.add_argument("--cache", type=Path, default=sets.DEFAULT_CACHE)
    parser.add_argument("--rebuild-sets", action="store_true")
    parser.add_argument("--update-md", type=Path, help="Markdown file whose bench block to fill")
    parser.add_argument("--no-peers", action="store_true",
                        help="run the voicecnn models only (e.g. to compare checkpoints)")
    args = parser.parse_args()
    t_start = time.perf_counter()
    if args.setup:
        setup_peers()
    if not PEERS_PYTHON.exists() and not args.no_peers:
        raise SystemExit(f"{PEERS_VENV} is missing: run with --setup")
    models = args.model or default_models()
    items = sets.build_all(args.cache, quick=args.quick, rebuild=args.rebuild_sets)
    print(f"sets ready: {len(items)} files, {sum(i.duration_s for i in items) / 60:.1f} min "
          f"({time.perf_counter() - t_start:.0f} s)", file=sys.stderr, flush=True)
    run_dir = outputs_root(args.cache, args.quick)
    run_dir.mkdir(parents=True, exist_ok=True)
    files = run_dir / "files.json"
    files.write_text(json.dumps({f"{i.set}/{i.name}": i.wav for i in items}))
    stream_wav = next(i.wav for i in items if i.set == "long_form")
    results: dict[str, Any] = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "command": "python bench/run.py " + " ".join(sys.argv[1:]),
        "machine": machine(),
        "versions": {} if args.no_peers else versions(),
        "sets": {s.name: {"kind": s.kind, "description": s.description,
                          "used_in_training": s.used_in_training,
                          "files": sum(i.set == s.name for i in items),
                          "minutes": round(sum(i.duration_s for i in items if i.set == s.name)
                                           / 60, 2)} for s in sets.SETS},
        "systems": {},
    }
    for system in systems(models, not args.no_peers):
        t0 = time.perf_counter()
        summary = run_system(system, files, run_dir / system.slug, stream_wav)
        entry: dict[str, Any] = {"summary": summary,
                                 "metrics": evaluate(items, run_dir / system.slug)}
        if system.system == "voicecnn":
            entry["gpu"] = gpu_throughput(system.model)
        results["systems"][system.label] = entry
        print(f"{system.label}: {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
    results["wall_s"] = round(time.perf_counter() - t_start, 1)
    md = tables(results)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(json.dumps(results, indent=1))
    (args.out / "tables.md").write_text(md + "\n")
    if args.update_md:
        update_markdown(args.update_md, md)
    print(md)
    print(f"\nwall time {results['wall_s']:.0f} s; results in {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
