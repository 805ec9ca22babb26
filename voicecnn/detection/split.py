"""Cut audio files by segments, at the original sample rate, channels and sample format.

:func:`split_file` writes each segment as its own file; :func:`keep_file` writes one file with
only the speech (or only the rest) and a JSON sidecar that maps times in the new file back to
the original (:func:`to_original_time`). Segment times are taken to whole samples of the file
(``round(t * sample_rate)``). Only the frames needed are read, block by block, so files of any
length are cut in bounded memory. Output goes to a temporary file renamed into place, so a file
that exists is complete.

The output keeps the input's container and sample format when libsndfile can write them (WAV,
FLAC, OGG); other inputs (MP3, AIFF, ...) become WAV, keeping a PCM/float sample format or else
using 32-bit float.
"""

from __future__ import annotations

import bisect
import json
import math
import os
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

import soundfile as sf

from voicecnn.detection.segments import Segment
from voicecnn.errors import AudioError, VoiceCNNError
from voicecnn.io.files import atomic_path, atomic_write_bytes

__all__ = [
    "Clip",
    "Keep",
    "KeptAudio",
    "Piece",
    "keep_file",
    "read_pieces",
    "silence_segments",
    "split_file",
    "to_original_time",
]

Keep = Literal["speech", "silence"]

_SAME_CONTAINER = {"WAV": ".wav", "WAVEX": ".wav", "FLAC": ".flac", "OGG": ".ogg"}
_WAV_SUBTYPES = frozenset({"PCM_U8", "PCM_16", "PCM_24", "PCM_32", "FLOAT", "DOUBLE"})
_BLOCK_FRAMES = 1 << 16  # frames copied at a time


@dataclass(frozen=True)
class Clip:
    """One written piece of audio and where it came from.

    Attributes:
        path: The written file.
        start: Start in the original audio, seconds (on its sample grid).
        end: End in the original audio, seconds.
    """

    path: Path
    start: float
    end: float


@dataclass(frozen=True)
class Piece:
    """A stretch of a :func:`keep_file` output and the stretch of the original it copies.

    Attributes:
        new_start: Start in the new file, seconds.
        new_end: End in the new file, seconds.
        orig_start: Start in the original file, seconds.
        orig_end: End in the original file, seconds.
    """

    new_start: float
    new_end: float
    orig_start: float
    orig_end: float


@dataclass(frozen=True)
class KeptAudio:
    """What :func:`keep_file` wrote.

    Attributes:
        path: The audio file with only the kept parts.
        sidecar: The JSON file mapping its times to the original.
        pieces: The same mapping, in order.
    """

    path: Path
    sidecar: Path
    pieces: list[Piece]


@dataclass(frozen=True)
class _Format:
    """How to write (and read) the output of one input file."""

    format: str
    subtype: str
    suffix: str
    dtype: str  # read and write as this, so integer PCM is copied bit for bit


def _output_format(info: sf.SoundFile) -> _Format:
    fmt, subtype = str(info.format), str(info.subtype)
    if fmt in _SAME_CONTAINER and sf.check_format(fmt, subtype):
        suffix = _SAME_CONTAINER[fmt]
    else:
        fmt, suffix = "WAV", ".wav"
        subtype = subtype if subtype in _WAV_SUBTYPES else "FLOAT"
    dtype = "int32" if subtype.startswith("PCM_") else "float64"
    return _Format(fmt, subtype, suffix, dtype)


def _open(path: str | os.PathLike[str]) -> sf.SoundFile:
    try:
        return sf.SoundFile(path)
    except (sf.LibsndfileError, RuntimeError, OSError) as e:
        raise AudioError(f"cannot read '{os.fspath(path)}': not a readable audio file") from e


def _sample_ranges(segments: Iterable[Segment], rate: int, n_frames: int) -> list[tuple[int, int]]:
    """Segments as sorted, non-empty ``[start, stop)`` frame ranges within the file."""
    ranges = ((min(round(s.start * rate), n_frames), min(round(s.end * rate), n_frames))
              for s in sorted(segments, key=lambda s: (s.start, s.end)))
    return [(a, b) for a, b in ranges if b > a]


def _write_atomic(dst: Path, src: sf.SoundFile, fmt: _Format,
                  ranges: Sequence[tuple[int, int]]) -> None:
    """Copy the frame ranges of ``src`` one after another into a new file ``dst``."""
    try:
        with atomic_path(dst) as tmp, sf.SoundFile(tmp, "w", src.samplerate, src.channels,
                                                   fmt.subtype, format=fmt.format) as out:
            for start, stop in ranges:
                src.seek(start)
                for pos in range(start, stop, _BLOCK_FRAMES):
                    block = src.read(min(_BLOCK_FRAMES, stop - pos), dtype=fmt.dtype,
                                     always_2d=True)
                    out.write(block)
    except (sf.LibsndfileError, RuntimeError, OSError) as e:
        raise VoiceCNNError(f"cannot write '{dst}': {e}") from e


@contextmanager
def _source(
    path: str | os.PathLike[str], out_dir: str | os.PathLike[str]
) -> Iterator[tuple[sf.SoundFile, _Format, Path]]:
    """Open the input and create the output folder."""
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise VoiceCNNError(f"cannot create '{out}': {e.strerror}") from e
    with _open(path) as src:
        yield src, _output_format(src), out


def split_file(
    path: str | os.PathLike[str],
    segments: Iterable[Segment],
    out_dir: str | os.PathLike[str],
    *,
    stem: str | None = None,
) -> list[Clip]:
    """Write each segment of an audio file as its own file.

    Files are named ``<stem>_<n>_<start>-<end><suffix>`` (n from 1, times in seconds with 3
    decimals) and have the input's sample rate, channels and, where possible, format.

    Args:
        path: The audio file.
        segments: Parts to cut out, in seconds; clipped to the file, empty ones skipped.
        out_dir: Folder for the files (created).
        stem: Name prefix; ``None`` = the input's file name without suffix.

    Returns:
        The written clips in time order.

    Raises:
        AudioError: If the file cannot be read.
        VoiceCNNError: If an output cannot be written.
    """
    clips: list[Clip] = []
    with _source(path, out_dir) as (src, fmt, out):
        ranges = _sample_ranges(segments, src.samplerate, src.frames)
        width = max(4, len(str(len(ranges))))
        for n, (a, b) in enumerate(ranges, 1):
            start, end = a / src.samplerate, b / src.samplerate
            dst = out / f"{stem or Path(path).stem}_{n:0{width}d}_{start:.3f}-{end:.3f}{fmt.suffix}"
            _write_atomic(dst, src, fmt, [(a, b)])
            clips.append(Clip(dst, start, end))
    return clips


def silence_segments(segments: Iterable[Segment], duration_s: float) -> list[Segment]:
    """The parts of ``[0, duration_s]`` outside all ``segments`` (their complement).

    Args:
        segments: Segments in seconds, in any order; they may overlap; empty ones are ignored.
        duration_s: Length of the audio in seconds.

    Returns:
        Sorted, disjoint, non-empty segments.
    """
    gaps: list[Segment] = []
    cursor = 0.0
    for s in sorted((s for s in segments if s.end > s.start), key=lambda s: s.start):
        if s.start > cursor:
            gaps.append(Segment(cursor, min(s.start, duration_s)))
        cursor = max(cursor, s.end)
        if cursor >= duration_s:
            break
    if cursor < duration_s:
        gaps.append(Segment(cursor, duration_s))
    return [g for g in gaps if g.end > g.start]


def keep_file(
    path: str | os.PathLike[str],
    segments: Iterable[Segment],
    out_dir: str | os.PathLike[str],
    *,
    keep: Keep = "speech",
    stem: str | None = None,
) -> KeptAudio:
    """Write one file with only the speech of an audio file, or only the rest.

    The kept parts are joined in order into ``<stem>_<keep><suffix>``, at the input's sample
    rate, channels and, where possible, format. Beside it ``<stem>_<keep>.json`` holds
    ``{"source", "keep", "sample_rate", "duration_s", "pieces": [{"new_start", "new_end",
    "orig_start", "orig_end"}, ...]}`` (seconds), for :func:`read_pieces`.

    Args:
        path: The audio file.
        segments: Speech segments in seconds (e.g. ``detect_file(...).segments``).
        out_dir: Folder for the two files (created).
        keep: ``"speech"`` keeps the segments, ``"silence"`` everything else.
        stem: Name prefix; ``None`` = the input's file name without suffix.

    Returns:
        The written paths and the time mapping.

    Raises:
        AudioError: If the file cannot be read.
        VoiceCNNError: If an output cannot be written.
    """
    name = f"{stem or Path(path).stem}_{keep}"
    with _source(path, out_dir) as (src, fmt, out):
        rate = src.samplerate
        kept = list(segments)
        if keep == "silence":
            kept = silence_segments(kept, src.frames / rate)
        ranges = _sample_ranges(kept, rate, src.frames)
        pieces, at = [], 0
        for a, b in ranges:
            pieces.append(Piece(at / rate, (at + b - a) / rate, a / rate, b / rate))
            at += b - a
        dst, sidecar = out / f"{name}{fmt.suffix}", out / f"{name}.json"
        _write_atomic(dst, src, fmt, ranges)
    meta = {"source": os.fspath(path), "keep": keep, "sample_rate": rate,
            "duration_s": at / rate, "pieces": [asdict(p) for p in pieces]}
    try:
        atomic_write_bytes(sidecar, (json.dumps(meta, indent=1) + "\n").encode())
    except OSError as e:
        raise VoiceCNNError(f"cannot write '{sidecar}': {e.strerror}") from e
    return KeptAudio(dst, sidecar, pieces)


def read_pieces(sidecar: str | os.PathLike[str]) -> list[Piece]:
    """Read the time mapping from a :func:`keep_file` sidecar.

    Raises:
        VoiceCNNError: If the file cannot be read or is not such a sidecar.
    """
    try:
        data = json.loads(Path(sidecar).read_text(encoding="utf-8"))
        return [Piece(**p) for p in data["pieces"]]
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise VoiceCNNError(f"'{os.fspath(sidecar)}' is not a voicecnn time map: {e}") from e


def to_original_time(t_s: float, pieces: Sequence[Piece]) -> float:
    """Map a time in a :func:`keep_file` output back to the original audio.

    A time where two pieces meet maps to the start of the later piece; the very end maps to
    the end of the last piece.

    Args:
        t_s: Seconds from the start of the new file, in ``[0, pieces[-1].new_end]``.
        pieces: The mapping, in order (from :class:`KeptAudio` or :func:`read_pieces`).

    Returns:
        Seconds from the start of the original file.

    Raises:
        ValueError: If there are no pieces or ``t_s`` is outside the new file.
    """
    if not pieces:
        raise ValueError("no pieces: the new file is empty")
    if not (math.isfinite(t_s) and 0.0 <= t_s <= pieces[-1].new_end):
        raise ValueError(f"time {t_s} s is outside the new file [0, {pieces[-1].new_end}]")
    i = max(0, bisect.bisect_right([p.new_start for p in pieces], t_s) - 1)
    return pieces[i].orig_start + (t_s - pieces[i].new_start)
