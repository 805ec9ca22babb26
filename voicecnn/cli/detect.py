"""``voicecnn detect``: print or write the speech segments of audio files.

Parse, call the library (:mod:`voicecnn.detection.corpus` for the inputs,
:mod:`voicecnn.detection.batch` or :mod:`voicecnn.detection.ray_batch` to run them,
:mod:`voicecnn.detection.results` for the combined manifest), render.
"""

from __future__ import annotations

import importlib.util
import time
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from voicecnn.cli._options import ModelOpt, cap_jobs, detection_options
from voicecnn.cli._render import (
    CSV_HEADER,
    EXTENSIONS,
    Format,
    error,
    info,
    print_summary,
    print_table,
    progress,
    render_text,
    write_stdout,
)
from voicecnn.io.paths import check_writable

if TYPE_CHECKING:
    from voicecnn.detection.corpus import PlannedItem
    from voicecnn.detection.frames import DetectCfg, Detection
    from voicecnn.detection.results import ResultManifest


class Device(StrEnum):
    """Where the model runs."""

    auto = "auto"
    cpu = "cpu"
    cuda = "cuda"


class ManifestChoice(StrEnum):
    """Formats of the combined manifest (--manifest-out)."""

    nemo = "nemo"
    lhotse = "lhotse"
    rttm = "rttm"


@dataclass
class _Tally:
    ok: int = 0
    failed: int = 0
    skipped: int = 0
    ignored: int = 0  # inputs that name no audio (Skipped notes): not in the total
    audio_s: float = 0.0
    speech_s: float = 0.0

    @property
    def total(self) -> int:
        return self.ok + self.failed + self.skipped


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
    if not torch.cuda.is_available():
        raise typer.BadParameter("CUDA is not available", param_hint="--device")
    return device.value


def _todo(
    paths: list[str], root: Path | None, output: Path | None, plot: Path | None, fmt: Format,
    *, skip_existing: bool, tally: _Tally, manifest: ResultManifest | None,
) -> Iterator[PlannedItem]:
    """The recordings to process: problems reported, finished ones skipped (and counted)."""
    from voicecnn.detection.corpus import Skipped, plan_items

    done = None if manifest is None else manifest.done
    for item in plan_items(paths, root=root, out_dir=output, suffix=EXTENSIONS[fmt], plot=plot,
                           manifest_done=done):
        if isinstance(item, Skipped):  # a non-audio file a shell glob matched: a note
            info(item)
            tally.ignored += 1
        elif isinstance(item, str):
            error(item)
            tally.failed += 1
            if manifest is not None:
                manifest.add_problem(item)
        elif skip_existing and item.done:
            tally.skipped += 1
        else:
            yield item


def _emit(item: PlannedItem, res: Detection | str, fmt: Format, frames: bool, tally: _Tally,
          manifest: ResultManifest | None, to_stdout: bool) -> None:
    """Write, render and count one recording's result."""
    from voicecnn.net.checkpoint import atomic_write_bytes

    if manifest is not None:
        manifest.add(item.rec, res)
    if isinstance(res, str):
        error(res)
        tally.failed += 1
        return
    if item.output is not None:
        text = render_text(res, fmt, frames=frames, rec_id=item.rec.id)
        if fmt is Format.csv:
            text = CSV_HEADER + text
        try:
            atomic_write_bytes(item.output, text.encode("utf-8"))
        except OSError as e:
            error(f"cannot write '{item.output}': {e.strerror}")
            tally.failed += 1
            return
    elif to_stdout and fmt is Format.table:
        print_table(res)
    elif to_stdout:
        write_stdout(render_text(res, fmt, frames=frames, rec_id=item.rec.id))
    tally.ok += 1
    tally.audio_s += res.duration_s
    tally.speech_s += sum(s.duration for s in res.segments)


@detection_options
def detect(
    paths: Annotated[
        list[str],
        typer.Argument(
            metavar="PATH",
            help="Audio files, directories, glob patterns, file lists (.txt/.lst/.list: one path "
            "per line) or JSONL manifests (.jsonl/.json[.gz]: lhotse recordings or NeMo lines).",
            show_default=False,
        ),
    ],
    model: ModelOpt = None,
    cfg: DetectCfg = None,  # type: ignore[assignment]  # the detection options
    fmt: Annotated[Format, typer.Option("--format", "-f", help="Output format.")] = Format.table,
    frames: Annotated[
        bool, typer.Option("--frames", help="Include per-frame probabilities (json).")
    ] = False,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output", "-o", file_okay=False,
            help="Write one file per input here, mirroring the input tree under --root.",
            show_default="stdout",
        ),
    ] = None,
    root: Annotated[
        Path | None,
        typer.Option(
            file_okay=False,
            help="Recording ids and output paths are relative to this folder (pin it to keep "
            "them stable as a corpus grows).",
            show_default="common folder of the inputs",
        ),
    ] = None,
    manifest_out: Annotated[
        Path | None,
        typer.Option(
            "--manifest-out", dir_okay=False,
            help="Also write every result into this one manifest (and a <name>.status.jsonl "
            "journal: ok or the error, per recording).",
            show_default=False,
        ),
    ] = None,
    manifest_format: Annotated[
        ManifestChoice | None,
        typer.Option(
            help="nemo: a JSON line per recording with its segments; lhotse: supervisions; "
            "rttm.",
            show_default=".rttm: rttm, *supervision*: lhotse, else nemo",
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
    jobs: Annotated[
        int | None,
        typer.Option("--jobs", "-j", min=1, help="Worker processes (with --ray: actors).",
                     show_default="1; with --ray, the cluster's CPUs (GPUs)"),
    ] = None,
    skip_existing: Annotated[
        bool,
        typer.Option(help="Skip inputs whose --output file (and --manifest-out entry) exists "
                     "(resume a run)."),
    ] = False,
    device: Annotated[
        Device, typer.Option(help="Run the model here (auto: cuda when available).")
    ] = Device.auto,
    batch_files: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Files whose audio windows share model calls (1 = one file at a time).",
            show_default="16 on cuda, 1 on cpu",
        ),
    ] = None,
    ray: Annotated[
        bool,
        typer.Option("--ray", help="Run on Ray: a local one, or the cluster of --ray-address "
                     "(needs voicecnn[ray])."),
    ] = False,
    ray_address: Annotated[
        str | None,
        typer.Option(help="Join this Ray cluster (e.g. auto, or ray://head:10001); implies --ray.",
                     show_default=False),
    ] = None,
) -> None:
    """Print or write the speech segments of audio files, lists and manifests."""
    import voicecnn as vc
    from voicecnn.detection.batch import WorkerCfg, detect_batch, load_worker_model
    from voicecnn.detection.results import ManifestFormat, ResultManifest, manifest_format_for

    use_ray = ray or ray_address is not None
    if skip_existing and output is None and manifest_out is None:
        raise typer.BadParameter("needs --output or --manifest-out", param_hint="--skip-existing")
    where = "cpu" if use_ray and device is Device.auto else _resolve_device(device)
    t0 = time.monotonic()
    tally = _Tally()
    manifest = None
    try:
        if plot is not None:
            from voicecnn.detection.plot import require_matplotlib

            require_matplotlib()
        if manifest_out is not None:
            mfmt = (ManifestFormat(manifest_format.value) if manifest_format
                    else manifest_format_for(manifest_out))
            manifest = ResultManifest(manifest_out, mfmt, resume=skip_existing)
        if output is not None:
            try:
                check_writable(output)  # before any audio is processed
            except OSError as e:
                error(f"cannot write to '{output}': {e.strerror or e}")
                raise typer.Exit(code=1) from None
        if not use_ray and jobs is not None:
            jobs = cap_jobs(jobs)
        size = batch_files or (16 if where == "cuda" else 1)
        settings = WorkerCfg(model, cfg, where, size, frames=frames)
        net = load_worker_model(settings, one_thread=False)  # a bad model fails here, once
        items = _todo(paths, root, output, plot, fmt, skip_existing=skip_existing, tally=tally,
                      manifest=manifest)
        to_stdout = output is None and manifest_out is None
        if fmt is Format.csv and to_stdout:
            write_stdout(CSV_HEADER)
        if use_ray:
            from voicecnn.detection.ray_batch import detect_ray

            results = detect_ray(items, settings, address=ray_address, actors=jobs,
                                 device=device.value, ordered=to_stdout)
        else:
            results = detect_batch(items, settings, jobs=jobs or 1, net=net, ordered=to_stdout)
        with progress(0 if len(paths) == 1 else 2) as bar:
            task = bar.add_task("detecting", total=None)
            for item, res in results:
                _emit(item, res, fmt, frames, tally, manifest, to_stdout)
                bar.update(task, completed=tally.total)
    except vc.VoiceCNNError as e:
        error(str(e))
        raise typer.Exit(code=1) from None
    finally:
        if manifest is not None:
            manifest.close()
    if tally.total > 1:
        print_summary(ok=tally.ok, failed=tally.failed, skipped=tally.skipped,
                      audio_s=tally.audio_s, speech_s=tally.speech_s,
                      wall_s=time.monotonic() - t0)
    if tally.failed:
        error(f"{tally.failed} of {tally.total} input(s) failed")
        raise typer.Exit(code=1)
    if tally.ignored and not tally.total:
        error("no audio files among the inputs")
        raise typer.Exit(code=1)
