"""Batch detection over many files in bounded memory: one process, a worker pool, or GPU batches.

:func:`detect_batch` takes an iterable of inputs (anything with a ``path``, and a ``plot`` path
or ``None``) and yields ``(input, result)`` pairs, where a result is a
:class:`~voicecnn.Detection` or the one-line error of that file. Inputs are pulled lazily and at
most a few groups per worker are in flight, so neither the inputs nor the results of a corpus are
ever all in memory. Worker processes load the model once each and end when the main process
ends, however it ends (they watch its lifeline).

``batch_files > 1`` runs up to that many files side by side through one model call per step
(:func:`detect_files`): each file is read block by block and cut into the fixed windows of the
streaming context rule, so a file's memory is a window, never the whole file.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.connection
import os
import sys
import threading
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any, Generic, Protocol, TypeAlias, TypeVar

import numpy as np

from voicecnn.detection.frames import DetectCfg, Detection, FrameModel
from voicecnn.errors import VoiceCNNError
from voicecnn.io.audio import iter_audio

__all__ = [
    "BatchInput",
    "FileJob",
    "Result",
    "WorkerCfg",
    "detect_batch",
    "detect_files",
]

Result: TypeAlias = "Detection | str"
"""A file's detection, or the one-line error that stopped it."""


class BatchInput(Protocol):
    """What :func:`detect_batch` needs of an input."""

    @property
    def path(self) -> Path: ...  # noqa: D102

    @property
    def plot(self) -> Path | None: ...  # noqa: D102


@dataclass(frozen=True)
class FileJob:
    """A plain batch input: an audio file, and where to draw its plot (needs matplotlib)."""

    path: Path
    plot: Path | None = None


@dataclass(frozen=True)
class WorkerCfg:
    """What a worker needs to load its model and process files (picklable).

    Attributes:
        model: Bundled model name or weights path (``None``: the default model).
        cfg: Detection settings.
        device: Where the model runs (``"cpu"``, ``"cuda"``).
        batch_files: Files sharing model calls (1: one file at a time, streamed).
        frames: Keep each detection's per-frame probabilities (else they are dropped, which
            keeps results small on their way back from workers).
    """

    model: str | None = None
    cfg: DetectCfg = DetectCfg()
    device: str = "cpu"
    batch_files: int = 1
    frames: bool = True


T = TypeVar("T", bound=BatchInput)


def load_worker_model(settings: WorkerCfg, *, one_thread: bool = True) -> Any:
    """Load the model of a worker, which shares the machine's cores with other workers.

    ``one_thread`` limits torch to one thread (the workers run one per core); the main process
    of a run without workers keeps torch's own choice.

    The CPU takes :func:`~voicecnn.load_model`'s default engine (the numpy one, which runs
    file by file even when files are batched); a GPU takes the torch model, which batches files.
    """
    from voicecnn.net.checkpoint import load_model

    if settings.device == "cpu":
        net = load_model(settings.model)
    else:
        net = load_model(settings.model, device=settings.device)
    if one_thread:
        _one_thread()
    return net


def _one_thread() -> None:
    """One intra-op thread for torch, if the model runs on it: workers run one per core."""
    torch = sys.modules.get("torch")  # not imported here: a torch-free engine needs none
    if torch is not None:
        torch.set_num_threads(1)


def process_files(net: Any, settings: WorkerCfg, inputs: Sequence[BatchInput]) -> list[Result]:
    """Detect (and plot) a group of inputs with a loaded model; failures become messages."""
    from voicecnn.detection.frames import detect_file

    results: list[Result]
    if settings.batch_files > 1:
        results = [r if isinstance(r, Detection) else str(r)
                   for r in detect_files(net, [it.path for it in inputs], settings.cfg)]
    else:
        results = []
        for it in inputs:
            try:
                results.append(detect_file(net, it.path, settings.cfg))
            except VoiceCNNError as e:
                results.append(str(e))
    for n, (it, res) in enumerate(zip(inputs, results, strict=True)):
        if it.plot is not None and isinstance(res, Detection):
            try:
                _plot(it.path, res, it.plot, settings.cfg)
            except VoiceCNNError as e:
                results[n] = str(e)
    if not settings.frames:
        for res in results:
            if isinstance(res, Detection):
                res.probs = np.zeros(0, np.float32)
    return results


def _plot(path: Path, det: Detection, out: Path, cfg: DetectCfg) -> None:
    from voicecnn.detection.plot import plot_detection

    out.parent.mkdir(parents=True, exist_ok=True)
    plot_detection(path, det, out, cfg=cfg)


# --- worker processes -------------------------------------------------------------------------

_worker: dict[str, Any] = {}  # the model and settings of this worker process


def _exit_with_parent() -> None:
    """End this worker as soon as its parent is gone (killed, crashed or exited)."""
    parent = multiprocessing.parent_process()
    if parent is None:
        return
    multiprocessing.connection.wait([parent.sentinel])
    os._exit(1)  # no cleanup to run: the results have nowhere to go


def _init_worker(settings: WorkerCfg) -> None:
    threading.Thread(target=_exit_with_parent, name="voicecnn-lifeline", daemon=True).start()
    _worker["net"] = load_worker_model(settings)
    _worker["settings"] = settings


def _work(paths: list[tuple[Path, Path | None]]) -> list[Result]:
    return process_files(_worker["net"], _worker["settings"], [FileJob(p, q) for p, q in paths])


def group_inputs(inputs: Iterable[T], size: int) -> Iterator[list[T]]:
    it = iter(inputs)
    while group := list(islice(it, size)):
        yield group


class HeldGroups(Generic[T]):
    """The groups handed to workers and not yet yielded, released as their results come
    (in submission order when ``ordered``, so a slow group holds back the ones after it)."""

    def __init__(self, *, ordered: bool) -> None:
        self.ordered = ordered
        self._held: dict[int, tuple[list[T], list[Result] | None]] = {}
        self._next_in = self._next_out = 0

    def __len__(self) -> int:
        return len(self._held)

    def add(self, group: list[T]) -> int:
        """Hold ``group``; return its number."""
        n = self._next_in
        self._held[n] = (group, None)
        self._next_in += 1
        return n

    def group(self, n: int) -> list[T]:
        return self._held[n][0]

    def finish(self, n: int, results: list[Result]) -> None:
        self._held[n] = (self._held[n][0], results)

    def release(self) -> Iterator[tuple[T, Result]]:
        """Yield ``(input, result)`` of every finished group that may go out now."""
        for n in sorted(k for k, (_, r) in self._held.items() if r is not None):
            if self.ordered and n != self._next_out:
                break
            group, got = self._held.pop(n)
            self._next_out = n + 1
            yield from zip(group, got or [], strict=True)


def _in_process(net: Any, settings: WorkerCfg, groups: Iterator[list[T]]
                ) -> Iterator[tuple[T, Result]]:
    for group in groups:
        yield from zip(group, process_files(net, settings, group), strict=True)


def _in_pool(settings: WorkerCfg, groups: Iterator[list[T]], jobs: int, *, ordered: bool,
             window: int) -> Iterator[tuple[T, Result]]:
    """Groups through ``jobs`` spawned workers, at most ``window`` groups held at a time."""
    pool = ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn"),
                               initializer=_init_worker, initargs=(settings,))
    running: dict[Future[list[Result]], int] = {}
    held: HeldGroups[T] = HeldGroups(ordered=ordered)
    try:
        while True:
            while len(held) < window and (group := next(groups, None)) is not None:
                n = held.add(group)
                try:
                    running[pool.submit(_work, [(it.path, it.plot) for it in group])] = n
                except BrokenProcessPool as e:
                    held.finish(n, _died(group, e))
            if not held:
                return
            done, _ = wait(running, return_when=FIRST_COMPLETED) if running else (set(), None)
            for future in done:
                n = running.pop(future)
                try:
                    results = future.result()
                except BrokenProcessPool as e:
                    results = _died(held.group(n), e)
                held.finish(n, results)
            yield from held.release()
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


def _died(group: list[T], e: BaseException) -> list[Result]:
    return [f"cannot process '{it.path}': a worker process died ({e})" for it in group]


def detect_batch(
    inputs: Iterable[T],
    settings: WorkerCfg = WorkerCfg(),
    *,
    jobs: int = 1,
    net: Any = None,
    ordered: bool = True,
) -> Iterator[tuple[T, Result]]:
    """Detect speech in many files; yield each input with its result.

    Args:
        inputs: Inputs with a ``path`` and a ``plot`` path or ``None`` (e.g. :class:`FileJob`);
            pulled lazily, a few groups ahead of the results.
        settings: Model, detection settings, device and batching.
        jobs: Worker processes (spawned; each loads the model once and uses one thread).
            1 runs in this process.
        net: The model already loaded (in-process runs only; loaded from ``settings`` if None).
        ordered: Yield in input order (else as files finish, which keeps workers busier).

    Yields:
        ``(input, Detection or error message)`` for every input.
    """
    groups = group_inputs(inputs, max(1, settings.batch_files))
    if jobs <= 1:
        if net is None:
            net = load_worker_model(settings, one_thread=False)
        yield from _in_process(net, settings, groups)
    else:
        yield from _in_pool(settings, groups, jobs, ordered=ordered, window=2 * jobs)


# --- several files through one model call -----------------------------------------------------

_MAX_BATCH_SAMPLES = 1 << 22  # samples per model call (~4 min at 16 kHz)


class _Windows:
    """One file cut into the fixed model windows of the streaming context rule, block by block.

    Every window of a file longer than one window spans ``chunk + past + future`` frames (the
    last reaches back instead of being short), so windows of different files stack into one
    batch; a file shorter than a window is one window of its own length.
    """

    def __init__(self, model: FrameModel, path: Path, cfg: DetectCfg, block_s: float) -> None:
        self.path, self.cfg = path, cfg
        self.rate, self.hop = model.sample_rate, model.hop_length
        self.frame_hop_s = model.frame_hop_s
        self.past, self.future = (c + 1 for c in model.context_frames)
        self.chunk = max(1, round(cfg.chunk_s / model.frame_hop_s))
        self.span = self.chunk + self.past + self.future
        self._blocks = iter_audio(path, self.rate, block_s=block_s)
        self._buf = np.zeros(0, np.float32)
        self._buf_start = 0  # sample index of _buf[0]
        self._n_samples = 0
        self._eof = False
        self._next = 0  # first frame without a probability yet
        self._probs: list[np.ndarray] = []

    def next_window(self) -> tuple[np.ndarray, int, int, int] | None:
        """``(samples, first frame, first kept frame, end of kept frames)``; None at the end.

        Raises:
            AudioError: If the file cannot be read.
        """
        while True:
            a, hop = self._next, self.hop
            width = self.span * hop + hop - 1
            if not self._eof:
                first = max(a - self.past, 0)
                if (first + self.span) * hop + hop - 1 <= self._n_samples:
                    return self._cut(first, width, a, a + self.chunk)
                block = next(self._blocks, None)
                if block is None:
                    self._eof = True
                else:
                    self._buf = np.concatenate([self._buf, block])
                    self._n_samples += block.size
                continue
            n = self._n_samples // hop
            if a >= n:
                return None
            if n <= self.span:
                return self._cut(0, n * hop + hop - 1, a, n)
            first = min(max(a - self.past, 0), n - self.span)
            return self._cut(first, width, a, min(a + self.chunk, n))

    def _cut(self, first: int, width: int, a: int, b: int) -> tuple[np.ndarray, int, int, int]:
        lo = first * self.hop - self._buf_start
        piece = self._buf[lo : lo + width]
        x = np.zeros(width, np.float32)
        x[: piece.size] = piece
        self._next = b
        n_now = self._n_samples // self.hop
        keep_from = max(0, min(b - self.past, n_now - self.span) * self.hop)
        if keep_from > self._buf_start:
            self._buf = self._buf[keep_from - self._buf_start :]
            self._buf_start = keep_from
        return x, first, a, b

    def add(self, probs: np.ndarray) -> None:
        self._probs.append(probs)

    def detection(self) -> Detection:
        probs = np.concatenate(self._probs) if self._probs else np.zeros(0, np.float32)
        duration_s = self._n_samples / self.rate
        segs = self.cfg.segments(probs, self.frame_hop_s, duration_s)
        return Detection(segs, probs, self.frame_hop_s, duration_s, path=str(self.path))


def _batch_probs(model: FrameModel, x: np.ndarray) -> np.ndarray:
    """Speech probabilities of a batch of equal-length windows: (B, S) -> (B, S // hop)."""
    import torch

    from voicecnn.detection.frames import _device_of

    with torch.inference_mode():
        logits = model(torch.from_numpy(x).to(_device_of(model)))
        return torch.sigmoid(logits.float()).cpu().numpy()


def _detect_one(model: FrameModel, path: str | Path, cfg: DetectCfg) -> Detection | VoiceCNNError:
    from voicecnn.detection.frames import detect_file

    try:
        return detect_file(model, path, cfg)
    except VoiceCNNError as e:
        return e


def detect_files(
    model: FrameModel, paths: Sequence[str | Path], cfg: DetectCfg = DetectCfg(), *,
    block_s: float = 10.0,
) -> list[Detection | VoiceCNNError]:
    """Detect speech in several files side by side, one model call per step for all of them.

    Each file is read ``block_s`` at a time and cut into windows of ``cfg.chunk_s`` plus the
    model's context; every step stacks one window of each file into a batch. Memory is a window
    and a block per file whatever the files' lengths; the probabilities equal those of
    :func:`voicecnn.detect_file` (within float rounding).

    Returns:
        One :class:`~voicecnn.Detection`, or the error that file raised, per path, in order.
    """
    if callable(getattr(model, "stream", None)):  # an engine with its own stream: file by file
        return [_detect_one(model, p, cfg) for p in paths]
    results: list[Detection | VoiceCNNError | None] = [None] * len(paths)
    active: dict[int, _Windows] = {}
    for i, p in enumerate(paths):
        try:
            active[i] = _Windows(model, Path(p), cfg, block_s)
        except VoiceCNNError as e:  # checked when opened
            results[i] = e
    while active:
        step: dict[int, list[tuple[int, np.ndarray, int, int, int]]] = {}
        for i, cutter in list(active.items()):
            try:
                window = cutter.next_window()
            except VoiceCNNError as e:
                results[i] = e
                del active[i]
                continue
            if window is None:
                results[i] = cutter.detection()
                del active[i]
                continue
            step.setdefault(window[0].size, []).append((i, *window))
        for width, rows in step.items():
            per_call = max(1, _MAX_BATCH_SAMPLES // width)
            for k in range(0, len(rows), per_call):
                part = rows[k : k + per_call]
                probs = _batch_probs(model, np.stack([x for _, x, _, _, _ in part]))
                for row, (i, _, first, a, b) in enumerate(part):
                    active[i].add(probs[row, a - first : b - first])
    return [r if r is not None else VoiceCNNError(f"no result for '{p}'")
            for r, p in zip(results, paths, strict=True)]
