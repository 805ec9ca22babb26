"""``voicecnn listen``: live speech detection from a microphone (sounddevice + PortAudio).

The only module that imports sounddevice, and only when the command runs.
"""

from __future__ import annotations

import json
import math
import queue
import signal
import sys
import threading
import time
import typing
from collections import deque
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Annotated, Any

import numpy as np
import typer

from voicecnn.cli._options import ModelOpt, detection_options
from voicecnn.cli._render import err_console, error, out_console

if TYPE_CHECKING:
    from rich.console import RenderableType

    from voicecnn.detection.frames import DetectCfg
    from voicecnn.detection.stream import SpeechEvent


class ListenFormat(StrEnum):
    """Output of ``voicecnn listen``."""

    live = "live"
    jsonl = "jsonl"


def import_sounddevice() -> ModuleType:
    """Import sounddevice, turning a missing package or PortAudio into a clear exit."""
    try:
        import sounddevice
    except ImportError as e:  # the package
        error("sounddevice is not installed: pip install 'voicecnn[mic]'")
        raise typer.Exit(code=1) from e
    except OSError as e:  # the PortAudio library
        error("PortAudio library not found: install it (Debian/Ubuntu: apt install libportaudio2)")
        raise typer.Exit(code=1) from e
    return typing.cast(ModuleType, sounddevice)


def _input_devices(sd: ModuleType) -> list[dict[str, Any]]:
    return [dict(d) for d in sd.query_devices() if d["max_input_channels"] > 0]


def _print_devices(sd: ModuleType) -> None:
    from rich.table import Table

    devices = _input_devices(sd)
    if not devices:
        error("no audio input device found")
        raise typer.Exit(code=1)
    default = sd.default.device[0] if isinstance(sd.default.device, list | tuple) else None
    table = Table(title="Audio input devices", title_justify="left")
    for col in ("index", "name", "channels", "default rate (Hz)", "default"):
        table.add_column(col)
    for d in devices:
        table.add_row(str(d["index"]), d["name"], str(d["max_input_channels"]),
                      f"{d['default_samplerate']:.0f}", "yes" if d["index"] == default else "")
    out_console.print(table)


class UtteranceWriter:
    """Keeps recent input audio and writes each detected utterance to a wav file.

    Args:
        out_dir: Folder for ``utt_0001_1.23-4.56.wav`` files (created).
        sample_rate: Rate of the audio fed to :meth:`add`.
        keep_s: Seconds of audio kept while no speech is open (must cover the decision delay).
    """

    def __init__(self, out_dir: Path, sample_rate: int, keep_s: float) -> None:
        self.out_dir, self.sample_rate = out_dir, sample_rate
        self.keep = max(1, math.ceil(keep_s * sample_rate))
        out_dir.mkdir(parents=True, exist_ok=True)
        self._chunks: deque[np.ndarray] = deque()
        self._first = 0  # absolute index of the first kept sample
        self._n = 0  # samples added so far
        self._start: int | None = None
        self.written: list[Path] = []

    def add(self, mono: np.ndarray) -> None:
        """Append input samples (mono, float)."""
        self._chunks.append(mono.astype(np.float32, copy=True))
        self._n += mono.size
        while self._start is None and self._chunks and self._n - self._first - \
                self._chunks[0].size >= self.keep:
            self._first += self._chunks.popleft().size

    def event(self, ev: SpeechEvent) -> None:
        """Follow a start/end event; an end writes the utterance."""
        pos = min(max(round(ev.time_s * self.sample_rate), self._first), self._n)
        if ev.kind == "start":
            self._start = pos
            return
        if self._start is None:
            return
        import soundfile as sf

        audio = np.concatenate(list(self._chunks)) if self._chunks else np.zeros(0, np.float32)
        clip = audio[self._start - self._first : pos - self._first]
        start_s, end_s = self._start / self.sample_rate, pos / self.sample_rate
        path = self.out_dir / f"utt_{len(self.written) + 1:04d}_{start_s:.2f}-{end_s:.2f}.wav"
        sf.write(path, clip, self.sample_rate, subtype="PCM_16")
        self.written.append(path)
        self._start = None


@dataclass
class _LiveState:
    level: float = -120.0  # dBFS of the last block
    prob: float = 0.0  # probability of the last decided frame
    speaking: bool = False
    samples: int = 0  # captured samples so far


def _level_dbfs(block: np.ndarray) -> float:
    rms = float(np.sqrt(np.mean(np.square(block, dtype=np.float64)))) if block.size else 0.0
    return 20 * math.log10(max(rms, 1e-6))


def _bar(fraction: float, width: int = 30) -> str:
    n = round(min(max(fraction, 0.0), 1.0) * width)
    return "█" * n + "·" * (width - n)


def _panel(level: float, prob: float, speaking: bool, log: deque[str], elapsed: float,
           device: str, threshold: float) -> RenderableType:
    from rich.panel import Panel
    from rich.text import Text

    text = Text()
    text.append(f"device  {device}\n", style="dim")
    text.append(f"time    {elapsed:8.2f} s\n")
    text.append(f"level   {_bar((level + 60) / 60)} {level:6.1f} dBFS\n")
    text.append(f"speech  {_bar(prob)} {prob:5.2f}  (threshold {threshold:.2f})\n")
    text.append("state   ")
    text.append(" SPEECH " if speaking else " silence ",
                style="bold white on green" if speaking else "dim")
    text.append("\n\n" + ("\n".join(log) if log else "waiting for speech..."))
    return Panel(text, title="voicecnn listen", subtitle="Ctrl-C to stop")


@detection_options
def listen(
    device: Annotated[
        str | None, typer.Option("--device", "-d", help="Input device index or name part.",
                                 show_default="system default")
    ] = None,
    list_devices: Annotated[
        bool, typer.Option("--list-devices", help="List input devices and exit.")
    ] = False,
    rate: Annotated[
        int | None, typer.Option(min=1000, max=768000, help="Capture rate (Hz).",
                                 show_default="device default")
    ] = None,
    fmt: Annotated[ListenFormat, typer.Option("--format", "-f", help="Output.")]
    = ListenFormat.live,
    save_speech: Annotated[
        Path | None, typer.Option(file_okay=False, help="Write each utterance as a wav here.")
    ] = None,
    duration: Annotated[
        float | None, typer.Option(min=0.01, help="Stop after this many seconds.",
                                   show_default="until Ctrl-C")
    ] = None,
    model: ModelOpt = None,
    cfg: DetectCfg = None,  # type: ignore[assignment]  # the detection options
) -> None:
    """Detect speech live from a microphone; Ctrl-C stops with a summary."""
    sd = import_sounddevice()
    if list_devices:
        _print_devices(sd)
        return
    import voicecnn as vc
    from voicecnn.detection.stream import StreamingDetector

    try:
        dev: int | str | None = int(device) if device is not None and device.isdigit() else device
        info = dict(sd.query_devices(dev, "input"))
    except (ValueError, sd.PortAudioError) as e:
        what = f"no input device matches {device!r}" if device else "no default input device"
        error(f"{what} (see voicecnn listen --list-devices): {str(e).splitlines()[0]}")
        raise typer.Exit(code=1) from None
    capture_rate = int(rate or info["default_samplerate"])
    try:
        net = vc.load_model(model)
        det = StreamingDetector(net, cfg, sample_rate=capture_rate)
    except vc.VoiceCNNError as e:
        error(str(e))
        raise typer.Exit(code=1) from None
    writer = None
    if save_speech is not None:
        keep_s = (det.lookahead_s + cfg.min_speech_s + cfg.pad_s
                  + max(cfg.min_silence_s, 2 * cfg.pad_s) + 2.0)
        writer = UtteranceWriter(save_speech, capture_rate, keep_s)
    blocks: queue.Queue[np.ndarray] = queue.Queue()
    overflows = 0

    def callback(indata: np.ndarray, frames: int, when: Any, status: Any) -> None:
        nonlocal overflows
        if status:
            overflows += 1
        blocks.put(indata.mean(axis=1) if indata.shape[1] > 1 else indata[:, 0].copy())

    events: list[SpeechEvent] = []
    log: deque[str] = deque(maxlen=8)
    state = _LiveState()

    def handle(update: Any) -> None:
        if update.probs.size:
            state.prob = float(update.probs[-1])
        for ev in update.events:
            events.append(ev)
            state.speaking = ev.kind == "start"
            if writer is not None:
                writer.event(ev)
            if fmt is ListenFormat.jsonl:
                sys.stdout.write(json.dumps(ev.to_dict()) + "\n")
                sys.stdout.flush()
            else:
                log.append(f"{ev.time_s:9.2f} s  speech {ev.kind}")

    from rich.live import Live

    live = Live(console=out_console, refresh_per_second=12, transient=False,
                auto_refresh=False) if fmt is ListenFormat.live else None
    name = str(info.get("name", dev))
    limit = math.inf if duration is None else duration * capture_rate
    t0 = time.monotonic()

    def consume(block: np.ndarray) -> None:
        if state.samples + block.size > limit:
            block = block[: int(limit - state.samples)]
        state.samples += block.size
        state.level = _level_dbfs(block)
        if writer is not None:
            writer.add(block)
        handle(det.feed(block))

    def refresh() -> None:
        if live is not None:
            live.update(_panel(state.level, state.prob, state.speaking, log,
                               state.samples / capture_rate, name, cfg.threshold), refresh=True)

    # Ctrl-C sets a flag checked between blocks, so it never lands inside the detector.
    stop = threading.Event()
    try:
        previous = signal.signal(signal.SIGINT, lambda *_: stop.set())
    except ValueError:  # not the main thread: Ctrl-C stays a KeyboardInterrupt
        previous = None
    if live is not None:
        live.start()
    lost: str | None = None  # why the device stopped delivering audio mid-stream
    opened = False
    try:
        with sd.InputStream(device=dev, channels=1, samplerate=capture_rate, dtype="float32",
                            blocksize=max(1, capture_rate // 50), callback=callback) as stream:
            opened = True
            while state.samples < limit and not stop.is_set():
                try:
                    consume(blocks.get(timeout=0.1))
                except queue.Empty:
                    # A stream that PortAudio stopped (the device or sound server went away)
                    # delivers nothing more: end the run instead of waiting forever.
                    if not getattr(stream, "active", True) and blocks.empty():
                        lost = "the input device stopped delivering audio (unplugged, or the "
                        lost += "sound server went away)"
                        break
                    continue
                refresh()
    except KeyboardInterrupt:
        pass
    except sd.PortAudioError as e:
        if not opened:
            if live is not None:
                live.stop()
            error(f"audio input failed: {str(e).splitlines()[0]}")
            raise typer.Exit(code=1) from None
        lost = lost or f"audio input failed: {str(e).splitlines()[0]}"
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
    while state.samples < limit and not blocks.empty():  # audio captured before the stop
        consume(blocks.get_nowait())
    handle(det.flush())
    refresh()  # the final state, with what the stop left in the queue
    if live is not None:
        live.stop()
    speech_s = sum(e.time_s * (1 if e.kind == "end" else -1) for e in events)
    summary = {
        "event": "summary", "duration_s": round(state.samples / capture_rate, 3),
        "segments": sum(e.kind == "end" for e in events), "speech_s": round(speech_s, 3),
        "device": name, "sample_rate": capture_rate, "overflows": overflows,
        "saved": [str(p) for p in writer.written] if writer is not None else [],
        "wall_s": round(time.monotonic() - t0, 2),
    }
    if lost is not None:
        summary["error"] = lost
    if fmt is ListenFormat.jsonl:
        sys.stdout.write(json.dumps(summary) + "\n")
    else:
        err_console.print(
            f"{summary['segments']} utterance(s), {speech_s:.2f} s of speech in "
            f"{summary['duration_s']:.2f} s from {name} at {capture_rate} Hz"
            + (f"; saved to {save_speech}" if writer is not None else "")
        )
    if lost is not None:
        sys.stdout.flush()
        error(f"{lost} after {summary['duration_s']} s; the speech up to then was kept")
        raise typer.Exit(code=1)
