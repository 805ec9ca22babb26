"""Raw PCM and WAV byte streams -> float32 sample blocks, for ``voicecnn stream`` and pipes.

Reads from any binary file object without seeking (standard input, sockets, pipes from
``arecord``, ``ffmpeg ... -f s16le -`` or ``sox ... -t raw -``).
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO, Literal

import numpy as np
import numpy.typing as npt

from voicecnn.errors import AudioError

__all__ = [
    "MAX_STREAM_RATE",
    "MIN_STREAM_RATE",
    "PcmFormat",
    "SampleFormat",
    "iter_pcm",
    "read_wav_header",
]

MIN_STREAM_RATE = 1_000
MAX_STREAM_RATE = 768_000
"""Sample rates (Hz) a raw or WAV stream may declare."""

SampleFormat = Literal["s16le", "s32le", "f32le"]
_DTYPES: dict[str, str] = {"s16le": "<i2", "s32le": "<i4", "f32le": "<f4"}
_SCALE = {"s16le": 1 / 32768, "s32le": 1 / 2147483648, "f32le": 1.0}


@dataclass(frozen=True)
class PcmFormat:
    """Layout of interleaved little-endian PCM."""

    sample_rate: int
    channels: int = 1
    sample_format: SampleFormat = "s16le"

    def __post_init__(self) -> None:
        if not MIN_STREAM_RATE <= self.sample_rate <= MAX_STREAM_RATE:
            # 1 Hz "audio" would be resampled 16,000-fold: bounded so a stream costs real time
            raise AudioError(
                f"sample rate must be in [{MIN_STREAM_RATE}, {MAX_STREAM_RATE}] Hz, "
                f"got {self.sample_rate}"
            )
        if not 1 <= self.channels <= 64:
            raise AudioError(f"channels must be between 1 and 64, got {self.channels}")
        if self.sample_format not in _DTYPES:
            raise AudioError(f"unsupported sample format {self.sample_format!r}")

    @property
    def frame_bytes(self) -> int:
        """Bytes per multi-channel sample frame."""
        return np.dtype(_DTYPES[self.sample_format]).itemsize * self.channels


def _read_exact(stream: BinaryIO, n: int) -> bytes:
    data = b""
    while len(data) < n:
        part = stream.read(n - len(data))
        if not part:
            break
        data += part
    return data


def read_wav_header(stream: BinaryIO, first: bytes = b"") -> PcmFormat:
    """Parse a RIFF/WAVE header from a non-seekable stream, stopping at the data chunk.

    Args:
        stream: Binary stream positioned at the start of the file (less ``first``).
        first: Bytes already read from the stream (e.g. to sniff the format).

    Raises:
        AudioError: If the header is not a PCM 16/32-bit integer or 32-bit float WAV.
    """
    head = first + _read_exact(stream, 12 - len(first))
    if len(head) < 12 or head[:4] not in (b"RIFF", b"RF64") or head[8:12] != b"WAVE":
        raise AudioError("standard input is not a WAV stream (no RIFF/WAVE header)")
    fmt: PcmFormat | None = None
    while True:
        chunk = _read_exact(stream, 8)
        if len(chunk) < 8:
            raise AudioError("WAV stream ended before its data chunk")
        cid, size = chunk[:4], struct.unpack("<I", chunk[4:])[0]
        if cid == b"data":
            if fmt is None:
                raise AudioError("WAV stream has a data chunk before its fmt chunk")
            return fmt
        body = _read_exact(stream, size + (size & 1))
        if cid == b"fmt ":
            if len(body) < 16:
                raise AudioError("WAV stream has a truncated fmt chunk")
            tag, channels, rate, _, _, bits = struct.unpack("<HHIIHH", body[:16])
            if tag == 0xFFFE and len(body) >= 26:  # WAVE_FORMAT_EXTENSIBLE: real tag in GUID
                tag = struct.unpack("<H", body[24:26])[0]
            kinds = {(1, 16): "s16le", (1, 32): "s32le", (3, 32): "f32le"}
            if (tag, bits) not in kinds:
                raise AudioError(
                    f"WAV stream encoding (format tag {tag}, {bits} bits) is not supported; "
                    "use 16/32-bit integer or 32-bit float PCM"
                )
            fmt = PcmFormat(rate, channels, kinds[(tag, bits)])  # type: ignore[arg-type]


def iter_pcm(
    stream: BinaryIO, fmt: PcmFormat, *, block_s: float = 0.02, prefix: bytes = b""
) -> Iterator[npt.NDArray[np.float32]]:
    """Yield blocks of float32 samples shaped (n, channels), scaled to [-1, 1).

    Args:
        stream: Binary stream of interleaved little-endian samples.
        fmt: Their layout.
        block_s: Seconds to read at most per block (a block may be shorter).
        prefix: Bytes already read from the stream (e.g. to sniff a header).

    A trailing partial sample frame (an interrupted stream) is dropped.
    """
    block = max(1, round(block_s * fmt.sample_rate)) * fmt.frame_bytes
    dtype = np.dtype(_DTYPES[fmt.sample_format])
    read = getattr(stream, "read1", stream.read)  # what has arrived, for low latency
    rest = prefix
    while True:
        data = read(block)
        if not data:
            return
        data = rest + data
        usable = len(data) - len(data) % fmt.frame_bytes
        rest = data[usable:]
        if usable:
            samples = np.frombuffer(data[:usable], dtype=dtype).reshape(-1, fmt.channels)
            out = samples.astype(np.float32) * np.float32(_SCALE[fmt.sample_format])
            if not np.isfinite(out).all():
                raise AudioError("the stream contains NaN or infinite samples")
            yield out
