"""All terminal and file output of the CLI: tables, JSON lines, CSV, RTTM, Audacity, TextGrid.

The only module that imports rich, and only when something is drawn: a run that writes JSON,
CSV or RTTM to stdout without a message never imports it (~50 ms of a command's start-up).
Results go to stdout, messages and progress to stderr.
"""

from __future__ import annotations

import functools
import json
import sys
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol

from voicecnn.io.escape import csv_row, recording_id, terminal

if TYPE_CHECKING:
    from rich.console import Console

    from voicecnn.detection.frames import Detection
    out_console: Console
    err_console: Console


@functools.cache
def _console(stderr: bool) -> Console:
    from rich.console import Console

    return Console(stderr=stderr, highlight=False, soft_wrap=True)


def __getattr__(name: str) -> Any:
    """``out_console`` and ``err_console``, made (and rich imported) on first use."""
    if name in ("out_console", "err_console"):
        return _console(name == "err_console")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


class Format(StrEnum):
    """Output formats of ``voicecnn detect``."""

    table = "table"
    json = "json"
    csv = "csv"
    rttm = "rttm"
    audacity = "audacity"
    textgrid = "textgrid"


EXTENSIONS = {
    Format.table: ".txt",
    Format.json: ".json",
    Format.csv: ".csv",
    Format.rttm: ".rttm",
    Format.audacity: ".txt",
    Format.textgrid: ".TextGrid",
}


def error(message: str) -> None:
    """Print a one-line error to stderr."""
    _console(True).print(f"[bold red]error:[/] {_escape(terminal(message))}")


def info(message: str) -> None:
    """Print a one-line note to stderr."""
    _console(True).print(_escape(terminal(message)), style="dim")


class Bar(Protocol):
    """The part of ``rich.progress.Progress`` the commands use."""

    def __enter__(self) -> Any: ...
    def __exit__(self, *exc: Any) -> Any: ...
    def add_task(self, description: str, /, *, total: float | None = ...) -> Any: ...
    def update(self, task: Any, /, *, completed: float | None = ...,
               description: str | None = ...) -> Any: ...
    def advance(self, task: Any, /, advance: float = 1) -> Any: ...


class _NoBar:
    """What :func:`progress` gives for a single input: a bar that draws nothing."""

    def __enter__(self) -> _NoBar:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def add_task(self, description: str, /, *, total: float | None = None) -> int:
        return 0

    def update(self, task: Any, /, *, completed: float | None = None,
               description: str | None = None) -> None:
        return None

    def advance(self, task: Any, /, advance: float = 1) -> None:
        return None


def progress(total: int) -> Bar:
    """A progress bar on stderr; for a single input (``total <= 1``) one that draws nothing."""
    if total <= 1:
        return _NoBar()
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    return Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=_console(True), transient=True,
    )


def render_text(
    det: Detection, fmt: Format, *, frames: bool = False, rec_id: str | None = None
) -> str:
    """The result for one input in a machine-readable format, as text ending with a newline.

    ``rec_id`` names the recording in RTTM (default: the file's stem).
    """
    from voicecnn.detection.results import rttm_lines, rttm_uri

    if fmt is Format.json:
        return json.dumps(det.to_dict(frames=frames)) + "\n"
    if fmt is Format.csv:
        path = str(det.path)
        return "".join(csv_row([path, f"{s.start:.3f}", f"{s.end:.3f}"]) for s in det.segments)
    if fmt is Format.rttm:
        return rttm_lines(rttm_uri(rec_id) if rec_id else recording_id(det.path), det.segments)
    if fmt is Format.audacity:
        return "".join(f"{s.start:.6f}\t{s.end:.6f}\tspeech\n" for s in det.segments)
    if fmt is Format.textgrid:
        return _textgrid(det)
    lines = [f"{'start':>10} {'end':>10} {'duration':>10}"]
    lines += [f"{s.start:10.3f} {s.end:10.3f} {s.duration:10.3f}" for s in det.segments]
    return "\n".join(lines) + "\n"


def _num(x: float) -> str:
    return f"{x:.6f}".rstrip("0").rstrip(".")


def _textgrid(det: Detection) -> str:
    """A Praat TextGrid (long text format): one interval tier "speech" over the whole audio,
    intervals labelled "speech" or "" (silence)."""
    end = _num(det.duration_s)
    intervals: list[tuple[str, str, str]] = []
    cursor = "0"
    for s in det.segments:
        start, stop = _num(s.start), _num(s.end)
        if start != cursor:
            intervals.append((cursor, start, ""))
        if stop != start:
            intervals.append((start, stop, "speech"))
            cursor = stop
    if cursor != end or not intervals:
        intervals.append((cursor, end, ""))
    lines = [
        'File type = "ooTextFile"', 'Object class = "TextGrid"', "",
        "xmin = 0", f"xmax = {end}", "tiers? <exists>", "size = 1", "item []:",
        "    item [1]:", '        class = "IntervalTier"', '        name = "speech"',
        "        xmin = 0", f"        xmax = {end}", f"        intervals: size = {len(intervals)}",
    ]
    for i, (lo, hi, text) in enumerate(intervals, 1):
        lines += [f"        intervals [{i}]:", f"            xmin = {lo}",
                  f"            xmax = {hi}", f'            text = "{text}"']
    return "\n".join(lines) + "\n"


CSV_HEADER = "path,start,end\n"


def print_table(det: Detection) -> None:
    """Print a rich table of one input's segments to stdout."""
    speech = sum(s.duration for s in det.segments)
    share = speech / det.duration_s if det.duration_s > 0 else 0.0
    from rich.table import Table

    table = Table(
        title=_escape(terminal(str(det.path))),
        caption=f"{len(det.segments)} segments, {speech:.2f} s of speech in {det.duration_s:.2f} s"
        f" ({share:.0%})",
        title_justify="left", caption_justify="left",
    )
    for col in ("#", "start (s)", "end (s)", "duration (s)"):
        table.add_column(col, justify="right")
    for i, s in enumerate(det.segments, 1):
        table.add_row(str(i), f"{s.start:.3f}", f"{s.end:.3f}", f"{s.duration:.3f}")
    _console(False).print(table)


def _clock(seconds: float) -> str:
    m, s = divmod(seconds, 60.0)
    h, m = divmod(int(m), 60)
    return f"{h}:{m:02d}:{s:04.1f}" if h else f"{m}:{s:04.1f}"


def print_summary(
    *, ok: int, failed: int, skipped: int, audio_s: float, speech_s: float, wall_s: float
) -> None:
    """Print the summary table of a batch to stderr.

    Args:
        ok: Inputs processed.
        failed: Inputs that could not be processed.
        skipped: Inputs skipped because their output exists.
        audio_s: Seconds of audio processed.
        speech_s: Seconds of speech found in it.
        wall_s: Wall-clock seconds of the run.
    """
    from rich.table import Table

    table = Table(title="summary", title_justify="left")
    for col in ("ok", "failed", "skipped", "audio", "speech", "wall time", "speed"):
        table.add_column(col, justify="right")
    share = f" ({speech_s / audio_s:.0%})" if audio_s > 0 else ""
    speed = f"{audio_s / wall_s:.1f}x real time" if wall_s > 0 else "-"
    table.add_row(str(ok), str(failed), str(skipped), _clock(audio_s), _clock(speech_s) + share,
                  _clock(wall_s), speed)
    _console(True).print(table)


def write_stdout(text: str) -> None:
    """Write machine-readable text to stdout unchanged (no markup, no wrapping)."""
    sys.stdout.write(text)
    sys.stdout.flush()
