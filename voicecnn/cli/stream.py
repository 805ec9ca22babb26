"""``voicecnn stream``: raw PCM or WAV on standard input -> JSON Lines speech events."""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

import typer

from voicecnn.cli._options import ModelOpt, detection_options
from voicecnn.cli._render import error

if TYPE_CHECKING:
    from voicecnn.detection.frames import DetectCfg
    from voicecnn.detection.stream import StreamUpdate


class SampleFormatChoice(StrEnum):
    """Raw sample encodings read from standard input."""

    s16le = "s16le"
    s32le = "s32le"
    f32le = "f32le"


def _emit(obj: dict[str, object]) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()  # a pipe reader sees each event as it is decided


class _Tally:
    """Prints updates as JSON lines and counts segments for the summary."""

    def __init__(self, frame_hop_s: float, *, frames: bool) -> None:
        self.frame_hop_s, self.frames = frame_hop_s, frames
        self.n_segments, self.speech_s, self._start_s = 0, 0.0, 0.0

    def __call__(self, update: StreamUpdate) -> None:
        if self.frames:
            for i, p in enumerate(update.probs.tolist(), update.first_frame):
                _emit({"frame": i, "time_s": round(i * self.frame_hop_s, 3),
                       "probability": round(p, 4)})
        for ev in update.events:
            _emit(ev.to_dict())
            if ev.kind == "start":
                self._start_s = ev.time_s
            else:
                self.n_segments += 1
                self.speech_s += ev.time_s - self._start_s


@detection_options
def stream(
    rate: Annotated[
        int, typer.Option("--rate", "-r", min=1000, max=768000,
                          help="Sample rate of raw input (Hz).")
    ] = 16000,
    channels: Annotated[
        int, typer.Option("--channels", "-c", min=1, max=64, help="Channels of raw input.")
    ] = 1,
    sample_format: Annotated[
        SampleFormatChoice, typer.Option("--sample-format", help="Encoding of raw input.")
    ] = SampleFormatChoice.s16le,
    model: ModelOpt = None,
    cfg: DetectCfg = None,  # type: ignore[assignment]  # the detection options
    frames: Annotated[
        bool, typer.Option("--frames", help="Also print every frame's probability.")
    ] = False,
) -> None:
    """Detect speech in audio piped to standard input; print JSON Lines events.

    Input is raw interleaved little-endian PCM (--rate, --channels, --sample-format) or a WAV
    stream, recognised by its header, which then sets the format. Lines are
    {"event": "start"|"end", "time_s": ...} as soon as each is decided, with --frames also
    {"frame", "time_s", "probability"}, and last {"event": "summary", ...}.

    Example: arecord -f S16_LE -r 16000 -c 1 | voicecnn stream
    """
    import voicecnn as vc
    from voicecnn.detection.stream import StreamingDetector
    from voicecnn.io.pcm import PcmFormat, iter_pcm, read_wav_header

    source = sys.stdin.buffer
    try:
        net = vc.load_model(model)
        sniff = source.read(4)
        if sniff in (b"RIFF", b"RF64"):
            fmt, prefix = read_wav_header(source, sniff), b""
        else:
            fmt, prefix = PcmFormat(rate, channels, sample_format.value), sniff
        det = StreamingDetector(net, cfg, sample_rate=fmt.sample_rate)
        tally = _Tally(net.frame_hop_s, frames=frames)
        for block in iter_pcm(source, fmt, prefix=prefix):
            tally(det.feed(block))
        tally(det.flush())
    except vc.VoiceCNNError as e:
        error(str(e))
        raise typer.Exit(code=1) from None
    _emit({"event": "summary", "duration_s": round(det.duration_s, 3),
           "segments": tally.n_segments, "speech_s": round(tally.speech_s, 3)})
