"""``voicecnn detect``: print or write the speech segments of audio files.

Batches: ``--jobs N`` worker processes (spawned, one model and one torch thread each) with
results rendered in input order; ``--batch-files K`` stacks equal-length windows of K files into
one model call (the default on a GPU); ``--skip-existing`` resumes a run into ``--output``, whose
files are written atomically so an existing one is complete.
"""

from __future__ import annotations

import glob
import importlib.util
import multiprocessing
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeAlias

import typer

from voicecnn.cli._options import (
    MaxSegmentOpt,
    MinSilenceOpt,
    MinSpeechOpt,
    ModelOpt,
    NegThresholdOpt,
    PadOpt,
    ThresholdOpt,
    cap_jobs,
    detect_cfg,
)
from voicecnn.cli._render import (
    CSV_HEADER,
    EXTENSIONS,
    Format,
    error,
    print_summary,
    print_table,
    progress,
    render_text,
    write_stdout,
)
from voicecnn.paths import check_writable, find_files, why_missing

if TYPE_CHECKING:
    from voicecnn.detection import DetectCfg, Detection

AUDIO_EXTENSIONS = frozenset(
    {
        ".wav",
        ".flac",
        ".ogg",
        ".oga",
        ".opus",
        ".mp3",
        ".aif",
        ".aiff",
        ".aifc",
        ".au",
        ".snd",
        ".caf",
        ".w64",
        ".rf64",
        ".sd2",
        ".voc",
    }
)


def expand_inputs(paths: list[str]) -> tuple[list[Path], list[str]]:
    """Files, directories (searched recursively for audio) and globs -> (files, problems)."""
    files: list[Path] = []
    problems: list[str] = []
    for text in paths:
        p = Path(text)
        if p.is_dir():
            found, unlisted = find_files(p, AUDIO_EXTENSIONS)
            problems.extend(unlisted)
            if not found and not unlisted:
                problems.append(f"'{p}' contains no audio files")
            files.extend(found)
        elif p.exists():
            files.append(p)
        elif glob.has_magic(text):
            matches = sorted(Path(m) for m in glob.glob(text, recursive=True) if Path(m).is_file())
            if not matches:
                problems.append(f"'{text}' matches no files")
            files.extend(matches)
        else:
            problems.append(why_missing(p))
    return list(dict.fromkeys(files)), problems


def output_path(out_dir: Path, src: Path, suffix: str, taken: set[Path]) -> Path:
    """``out_dir/<src stem><suffix>``, numbered ``_2``, ``_3``... past the names in ``taken``.

    The names depend only on the order of the inputs, so a rerun maps each input to the same
    file (what ``--skip-existing`` relies on).
    """
    dst = out_dir / (src.stem + suffix)
    n = 2
    while dst in taken:
        dst = out_dir / f"{src.stem}_{n}{suffix}"
        n += 1
    taken.add(dst)
    return dst


class Device(StrEnum):
    """Where the model runs."""

    auto = "auto"
    cpu = "cpu"
    cuda = "cuda"


@dataclass(frozen=True)
class _Settings:
    """What a worker needs to process files (picklable, sent once per worker)."""

    model: str | None
    cfg: DetectCfg
    device: str
    batched: bool


@dataclass(frozen=True)
class _Item:
    """One input and the files it produces."""

    path: Path
    output: Path | None
    plot: Path | None


_Result: TypeAlias = "Detection | str"  # a detection, or the one-line error of a failed input
_worker: dict[str, Any] = {}  # the model and settings of a worker process (set by _init_worker)


def _process(net: Any, settings: _Settings, items: list[_Item]) -> list[_Result]:
    """Detect (and plot) a group of inputs; failures become their one-line messages."""
    import voicecnn as vc
    from voicecnn.plot import plot_detection

    results: list[_Result]
    if settings.batched:
        results = [
            r if isinstance(r, vc.Detection) else str(r)
            for r in vc.detect_files(net, [it.path for it in items], settings.cfg)
        ]
    else:
        results = []
        for it in items:
            try:
                results.append(vc.detect_file(net, it.path, settings.cfg))
            except vc.VoiceCNNError as e:
                results.append(str(e))
    for n, (it, res) in enumerate(zip(items, results, strict=True)):
        if it.plot is not None and not isinstance(res, str):
            try:
                plot_detection(it.path, res, it.plot, cfg=settings.cfg)
            except vc.VoiceCNNError as e:
                results[n] = str(e)
    return results


def _init_worker(settings: _Settings) -> None:
    """Load the model once per worker process; one torch thread each (the workers share cores)."""
    if settings.device != "cpu":
        import torch

        torch.set_num_threads(1)
    _worker["net"] = _load(settings.model, settings.device)
    _worker["settings"] = settings


def _work(items: list[_Item]) -> list[_Result]:
    return _process(_worker["net"], _worker["settings"], items)


def _completed(
    groups: list[list[_Item]], settings: _Settings, net: Any, jobs: int
) -> Iterator[tuple[int, list[_Result]]]:
    """``(group index, results)`` for every group, as each finishes (in order in-process)."""
    if jobs == 1 or len(groups) <= 1:  # no worker start-up for a single group
        for n, group in enumerate(groups):
            yield n, _process(net, settings, group)
        return
    pool = ProcessPoolExecutor(
        max_workers=min(jobs, len(groups)),
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_init_worker,
        initargs=(settings,),
    )
    try:
        futures = {pool.submit(_work, group): n for n, group in enumerate(groups)}
        for future in as_completed(futures):
            n = futures[future]
            try:
                yield n, future.result()
            except BrokenProcessPool as e:
                yield (
                    n,
                    [
                        f"cannot process '{it.path}': a worker process died ({e})"
                        for it in groups[n]
                    ],
                )
    finally:
        pool.shutdown(cancel_futures=True)


def _load(model: str | None, where: str) -> Any:
    """On the CPU the numpy engine (no torch); on a GPU the torch model, which batches files."""
    import voicecnn as vc

    return vc.load_model(model, device=None if where == "cpu" else where)


def _resolve_device(device: Device) -> str:
    if device is Device.cpu:
        return "cpu"
    if device is Device.auto and not (
        importlib.util.find_spec("torch") and Path("/proc/driver/nvidia/version").exists()
    ):
        return "cpu"  # no NVIDIA driver or no torch: no need to import torch to know
    import torch

    if device is Device.auto:
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device is Device.cuda and not torch.cuda.is_available():
        raise typer.BadParameter("CUDA is not available", param_hint="--device")
    return device.value


@dataclass
class _Tally:
    ok: int = 0
    failed: int = 0
    skipped: int = 0
    audio_s: float = 0.0
    speech_s: float = 0.0


def _emit(item: _Item, res: _Result, fmt: Format, frames: bool, tally: _Tally) -> None:
    """Render or write one input's result and count it."""
    from voicecnn.checkpoint import atomic_write_bytes

    if isinstance(res, str):
        error(res)
        tally.failed += 1
        return
    if item.output is not None:
        text = render_text(res, fmt, frames=frames)
        if fmt is Format.csv:
            text = CSV_HEADER + text
        try:
            atomic_write_bytes(item.output, text.encode("utf-8"))
        except OSError as e:
            error(f"cannot write '{item.output}': {e.strerror}")
            tally.failed += 1
            return
    elif fmt is Format.table:
        print_table(res)
    else:
        write_stdout(render_text(res, fmt, frames=frames))
    tally.ok += 1
    tally.audio_s += res.duration_s
    tally.speech_s += sum(s.duration for s in res.segments)


def _plan(files: list[Path], output: Path | None, plot: Path | None, fmt: Format) -> list[_Item]:
    """The output and plot file of every input (plot: a file for one input, else a folder)."""
    plot_dir = plot if plot is not None and (len(files) > 1 or plot.is_dir()) else None
    for folder in (output, plot_dir):
        if folder is not None:
            try:
                check_writable(folder)  # before any audio is processed
            except OSError as e:
                error(f"cannot write to '{folder}': {e.strerror}")
                raise typer.Exit(code=1) from None
    taken: set[Path] = set()
    items = []
    for path in files:
        out = None if output is None else output_path(output, path, EXTENSIONS[fmt], taken)
        image = plot if plot_dir is None else output_path(plot_dir, path, ".png", taken)
        items.append(_Item(path, out, image))
    return items


def detect(
    paths: Annotated[
        list[str],
        typer.Argument(
            metavar="PATH", help="Audio files, directories or glob patterns.", show_default=False
        ),
    ],
    model: ModelOpt = None,
    threshold: ThresholdOpt = 0.5,
    neg_threshold: NegThresholdOpt = None,
    min_speech: MinSpeechOpt = 0.25,
    min_silence: MinSilenceOpt = 0.1,
    pad: PadOpt = 0.03,
    max_segment: MaxSegmentOpt = None,
    fmt: Annotated[Format, typer.Option("--format", "-f", help="Output format.")] = Format.table,
    frames: Annotated[
        bool, typer.Option("--frames", help="Include per-frame probabilities (json).")
    ] = False,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            file_okay=False,
            help="Write one file per input here.",
            show_default="stdout",
        ),
    ] = None,
    plot: Annotated[
        Path | None,
        typer.Option(
            help="Draw waveform, spectrogram, probability and segments: the image "
            "file for one input, a folder of <name>.png for several "
            "(needs matplotlib).",
            show_default=False,
        ),
    ] = None,
    jobs: Annotated[int, typer.Option("--jobs", "-j", min=1, help="Worker processes.")] = 1,
    skip_existing: Annotated[
        bool, typer.Option(help="Skip inputs whose --output file exists (resume a run).")
    ] = False,
    device: Annotated[
        Device, typer.Option(help="Run the model here (auto: cuda when available).")
    ] = Device.auto,
    batch_files: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Files whose audio shares model calls (1 = one file at a time).",
            show_default="16 on cuda, 1 on cpu",
        ),
    ] = None,
) -> None:
    """Print the speech segments of audio files."""
    import voicecnn as vc
    from voicecnn.plot import require_matplotlib

    if skip_existing and output is None:
        raise typer.BadParameter("needs --output", param_hint="--skip-existing")
    where = _resolve_device(device)
    jobs = cap_jobs(jobs)
    files, problems = expand_inputs(paths)
    for msg in problems:
        error(msg)
    try:
        cfg = detect_cfg(threshold, neg_threshold, min_speech, min_silence, pad, max_segment)
        net = _load(model, where)
        if plot is not None:
            require_matplotlib()
    except vc.VoiceCNNError as e:
        error(str(e))
        raise typer.Exit(code=1) from None
    t0 = time.monotonic()
    items = _plan(files, output, plot, fmt)
    tally = _Tally(failed=len(problems))
    if skip_existing:
        todo = [
            it
            for it in items
            if not (
                it.output is not None
                and it.output.exists()
                and (it.plot is None or it.plot.exists())
            )
        ]
        tally.skipped = len(items) - len(todo)
        items = todo
    if fmt is Format.csv and output is None and items:
        write_stdout(CSV_HEADER)
    size = batch_files or (16 if where == "cuda" else 1)
    settings = _Settings(model, cfg, where, batched=size > 1)
    groups = [items[i : i + size] for i in range(0, len(items), size)]
    done: dict[int, list[_Result]] = {}
    next_group = 0
    with progress(len(files)) as bar:
        task = bar.add_task("detecting", total=len(files), completed=tally.skipped)
        for n, results in _completed(groups, settings, net, jobs):
            bar.advance(task, len(results))
            done[n] = results
            while next_group in done:  # render in input order, whatever finished first
                for item, res in zip(groups[next_group], done.pop(next_group), strict=True):
                    _emit(item, res, fmt, frames, tally)
                next_group += 1
    if len(files) + len(problems) > 1:
        print_summary(
            ok=tally.ok,
            failed=tally.failed,
            skipped=tally.skipped,
            audio_s=tally.audio_s,
            speech_s=tally.speech_s,
            wall_s=time.monotonic() - t0,
        )
    if tally.failed:
        error(f"{tally.failed} of {len(files) + len(problems)} input(s) failed")
        raise typer.Exit(code=1)
