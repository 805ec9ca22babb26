"""Reading, mixing and resampling audio.

Every voicecnn model runs on float32 mono audio at :data:`SAMPLE_RATE`. Files are read with
libsndfile (via ``soundfile``), so anything it decodes works: WAV in any PCM or float subtype,
FLAC, OGG/Vorbis, Opus, MP3, AIFF and more. Arrays from other libraries go through
:func:`prepare_audio`. Every problem with the input becomes a one-line :class:`AudioError`;
nothing here returns silent garbage.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import math
import os
import re
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import soundfile
import soxr

from voicecnn.errors import AudioError, ConfigError
from voicecnn.io.paths import why_missing

__all__ = [
    "AUDIO_SUFFIXES",
    "MAX_CHANNELS",
    "SAMPLE_RATE",
    "audio_duration_s",
    "iter_audio",
    "load_audio",
    "prepare_audio",
    "read_audio",
    "resample",
]

SAMPLE_RATE = 16000
"""The sample rate in Hz every voicecnn model runs at."""

AUDIO_SUFFIXES: frozenset[str] = frozenset(
    {
        ".wav", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".aif", ".aiff", ".aifc", ".au",
        ".snd", ".caf", ".w64", ".rf64", ".sd2", ".voc",
    }
)
"""File suffixes (lower case) taken as audio when scanning folders: what libsndfile reads."""

MAX_CHANNELS = 16
"""The most channels :func:`prepare_audio` accepts in an array."""

_RESAMPLE_QUALITY = "HQ"
_UNREADABLE = "not a readable audio file (format not recognised or file corrupt)"
_INT_BITS = {np.dtype(np.int8): 8, np.dtype(np.int16): 16, np.dtype(np.int32): 32}


def _quote(path: str | os.PathLike[str]) -> str:
    """Quote a path for a one-line message (control characters are escaped)."""
    text = os.fspath(path)
    return f"'{text}'" if text.isprintable() else repr(text)


def _checked_file(path: str | os.PathLike[str]) -> Path:
    """Check that ``path`` names a non-empty regular file that can be opened for reading.

    Args:
        path: Path of an audio file.

    Returns:
        The path as a :class:`~pathlib.Path`.

    Raises:
        AudioError: If the file is missing, a directory, not a regular file, empty or unreadable.
    """
    file = Path(path)
    where = _quote(path)
    try:
        stat = file.stat()
    except FileNotFoundError as e:  # or a broken symbolic link: say which
        raise AudioError(why_missing(file)) from e
    except NotADirectoryError as e:
        raise AudioError(f"cannot read {where}: a parent of it is not a directory") from e
    except PermissionError as e:
        raise AudioError(f"cannot read {where}: permission denied") from e
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise AudioError(f"cannot read {where}: symbolic link loop") from e
        raise AudioError(f"cannot read {where}: {e.strerror or 'cannot access file'}") from e
    if file.is_dir():
        raise AudioError(f"cannot read {where}: is a directory, not an audio file")
    if not file.is_file():
        raise AudioError(f"cannot read {where}: not a regular file")
    if stat.st_size == 0:
        raise AudioError(f"cannot read {where}: file is empty (0 bytes)")
    if not os.access(file, os.R_OK):
        raise AudioError(f"cannot read {where}: permission denied")
    return file


def _check_rate(rate: int, name: str) -> int:
    """Return ``rate`` as an int if it is a positive integer sample rate in Hz.

    Raises:
        AudioError: If ``rate`` is not a positive integer.
    """
    if isinstance(rate, bool) or not isinstance(rate, int | np.integer) or rate <= 0:
        raise AudioError(f"{name} must be a positive integer number of Hz, got {rate!r}")
    return int(rate)


_PLACEHOLDER_SIZES = frozenset({0, 0xFFFFFFFF, 0x7FFFFFFF, 0xFFFFFFFFFFFFFFFF})
"""Chunk sizes a writer that could not seek back leaves in a header: unknown, not a promise."""
_SIZE_LINE = re.compile(
    r"^\s*(data|SSND|RIFF|riff|FORM)\s*:\s*(\d+)\s*\(should be (\d+)\)", re.MULTILINE
)
_MPEG_SLACK = 2 * 1152  # an MP3's frame count without a Xing header is an estimate
_DECODER_NOISE = (  # what libogg and libmpg123 say when they skip damaged data
    "corrupted bitstream", "reports a hole", "illegal audio-mpeg-header", "resync",
    "skipped ",
)


@contextlib.contextmanager
def _captured_stderr(active: bool = True) -> Iterator[list[str]]:
    """Catch what C decoders write to file descriptor 2 (libmpg123's "Note:" lines), so it
    never reaches the user's terminal; the text is handed back as evidence of corruption.
    Only around the decoder calls that write there (opening any file, reading an MP3): fd 2
    is the whole process's."""
    lines: list[str] = []
    if not active:
        yield lines
        return
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no usable fd 2 (embedded interpreters): leave it alone
        yield lines
        return
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 2)
        try:
            yield lines
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            sink.seek(0)
            lines.extend(sink.read(65536).decode("utf-8", "replace").splitlines())


def _is_mpeg(handle: soundfile.SoundFile) -> bool:
    return str(handle.format).upper() == "MP3" or str(handle.subtype).upper().startswith("MPEG")


def _declared_problem(handle: soundfile.SoundFile, file: Path) -> str | None:
    """What is wrong with a just-opened file, judged from its header: a data chunk larger than
    the file (WAV, AIFF, W64... cut short), or an Ogg stream whose last page is incomplete or
    not marked as the end of the stream."""
    matches = sorted(  # the data chunk's own size first: the clearest figure
        _SIZE_LINE.finditer(handle.extra_info), key=lambda m: m.group(1) not in ("data", "SSND")
    )
    for match in matches:
        declared, actual = int(match.group(2)), int(match.group(3))
        # a container size a few bytes off (a pad byte) is common in files that are whole
        slack = 0 if match.group(1) in ("data", "SSND") else 64
        if declared not in _PLACEHOLDER_SIZES and actual + slack < declared:
            return (
                f"truncated: its header declares {declared} bytes of {match.group(1)}, the "
                f"file holds {actual}"
            )
    if str(handle.format).upper() == "OGG":
        return _ogg_tail_problem(file)
    return None


@functools.cache
def _ogg_crc_table() -> tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte << 24
        for _ in range(8):
            crc = ((crc << 1) ^ 0x04C11DB7) & 0xFFFFFFFF if crc & 0x80000000 else crc << 1
        table.append(crc)
    return tuple(table)


def _ogg_crc(data: bytes) -> int:
    """Ogg's page checksum (CRC-32, polynomial 0x04C11DB7, not reflected: not zlib's)."""
    crc = 0
    table = _ogg_crc_table()
    for byte in data:
        crc = ((crc << 8) & 0xFFFFFFFF) ^ table[(crc >> 24) ^ byte]
    return crc


def _ogg_tail_problem(file: Path) -> str | None:
    """An Ogg file ends with a complete page (checksum right) flagged end-of-stream; anything
    else means it was cut short."""
    with file.open("rb") as f:
        f.seek(0, os.SEEK_END)
        size = f.tell()
        start = max(0, size - 70_000)  # a page is at most 65,307 bytes
        f.seek(start)
        tail = f.read()
    at = len(tail)
    while (at := tail.rfind(b"OggS", 0, at)) >= 0:
        if at + 27 > len(tail):
            continue
        n_seg = tail[at + 26]
        end = at + 27 + n_seg + sum(tail[at + 27 : at + 27 + n_seg])
        page = bytearray(tail[at:end])
        if end > len(tail) or len(page) < 27:
            continue
        stored = int.from_bytes(page[22:26], "little")
        page[22:26] = b"\0\0\0\0"
        if _ogg_crc(bytes(page)) != stored:
            continue
        if start + end != size:
            return "truncated: the file ends inside an Ogg page"
        if not tail[at + 5] & 0x04:
            return "truncated: its last Ogg page is not the end of the stream"
        return None
    return "truncated or corrupt: no complete Ogg page at its end"


def _read_problem(
    handle: soundfile.SoundFile, n_read: int, decoder_lines: list[str]
) -> str | None:
    """What reading a whole file showed: fewer samples than its header promised, or a decoder
    that had to skip damaged data."""
    noise = [
        line for line in (*handle.extra_info.splitlines(), *decoder_lines)
        if any(word in line.lower() for word in _DECODER_NOISE)
        and not line.startswith("File :")
    ]
    if noise:
        return f"corrupt: the decoder skipped damaged data ({noise[0].strip()[:80]})"
    slack = _MPEG_SLACK if _is_mpeg(handle) else 0
    # libsndfile says SF_COUNT_MAX frames where a header leaves the length open (streamed FLAC)
    if 0 < handle.frames < 2**62 and n_read + slack < handle.frames:
        rate = handle.samplerate
        return (
            f"truncated: holds {n_read / rate:.2f} s of the {handle.frames / rate:.2f} s its "
            "header declares"
        )
    return None


def read_audio(path: str | os.PathLike[str]) -> tuple[npt.NDArray[np.float32], int]:
    """Read an audio file as it is stored: native sample rate and all channels.

    Args:
        path: Path of any file libsndfile decodes (WAV, FLAC, OGG/Vorbis, Opus, MP3, AIFF, ...).

    Returns:
        ``(samples, sample_rate)``: float32 samples shaped (n_samples, n_channels), always 2-D,
        in the file's own scale (PCM is scaled to [-1, 1)), and the native sample rate in Hz.

    Raises:
        AudioError: If the file is missing, a directory, empty, unreadable, corrupt, in an
            unsupported format, holds no samples, or holds NaN or infinite samples.
    """
    file = _checked_file(path)
    where = _quote(path)
    try:
        with _captured_stderr():
            handle = soundfile.SoundFile(file)
        with handle:
            problem = _declared_problem(handle, file)
            if problem is None:
                with _captured_stderr(_is_mpeg(handle)) as decoder_lines:
                    samples = handle.read(dtype="float32", always_2d=True)
                sample_rate = handle.samplerate
                problem = _read_problem(handle, samples.shape[0], decoder_lines)
    except (soundfile.LibsndfileError, RuntimeError, OSError) as e:
        raise AudioError(f"cannot read {where}: {_UNREADABLE}") from e
    if problem is not None:
        raise AudioError(f"cannot read {where}: {problem}")
    samples = np.asarray(samples, dtype=np.float32)
    if samples.ndim != 2 or samples.shape[0] == 0 or samples.shape[1] == 0:
        raise AudioError(f"{where} holds no audio samples")
    if int(sample_rate) <= 0:
        raise AudioError(f"{where} declares an invalid sample rate of {sample_rate} Hz")
    if not np.isfinite(samples).all():
        raise AudioError(f"{where} contains NaN or infinite samples")
    return samples, int(sample_rate)


def load_audio(
    path: str | os.PathLike[str], sample_rate: int = SAMPLE_RATE
) -> npt.NDArray[np.float32]:
    """Read an audio file as the mono float32 signal the models consume.

    Channels are averaged, then the signal is resampled with soxr (quality ``'HQ'``) when the
    file's rate differs from ``sample_rate``.

    Args:
        path: Path of any file libsndfile decodes.
        sample_rate: Rate in Hz of the returned signal.

    Returns:
        Float32 C-contiguous samples shaped (n_samples,) at ``sample_rate``.

    Raises:
        AudioError: For every problem :func:`read_audio` reports, for a ``sample_rate`` that is
            not a positive integer, or for a file too short to give any sample at that rate.
    """
    _check_rate(sample_rate, "sample_rate")
    samples, native_rate = read_audio(path)
    # Mix here rather than in prepare_audio: a file may have more channels than an array may,
    # and a (n_samples, n_channels) file must never be mistaken for channels-first.
    mono = samples[:, 0] if samples.shape[1] == 1 else samples.mean(axis=1, dtype=np.float32)
    try:
        return prepare_audio(mono, native_rate, target_rate=sample_rate)
    except AudioError as e:
        raise AudioError(f"{_quote(path)}: {e}") from e


def iter_audio(
    path: str | os.PathLike[str], sample_rate: int = SAMPLE_RATE, *, block_s: float = 10.0
) -> Iterator[npt.NDArray[np.float32]]:
    """Read an audio file block by block as the mono float32 signal the models consume.

    The blocks joined are exactly what :func:`load_audio` returns (channels averaged, soxr
    ``'HQ'`` resampling, streamed), but memory stays bounded by ``block_s`` whatever the file's
    length. The file is checked and opened when this is called; decoding errors surface while
    iterating.

    Args:
        path: Path of any file libsndfile decodes.
        sample_rate: Rate in Hz of the returned signal.
        block_s: Seconds of native audio decoded at a time.

    Returns:
        An iterator of non-empty float32 C-contiguous blocks shaped (n_samples,) at
        ``sample_rate``.

    Raises:
        AudioError: For every problem :func:`load_audio` reports (a file holding NaN or
            infinite samples is reported when the block holding them is reached).
        ConfigError: If ``block_s`` is not a positive number of seconds.
    """
    rate = _check_rate(sample_rate, "sample_rate")
    if not (math.isfinite(block_s) and block_s > 0):
        raise ConfigError(f"block_s must be a positive number of seconds, got {block_s}")
    file = _checked_file(path)
    where = _quote(path)
    try:
        with _captured_stderr():
            handle = soundfile.SoundFile(file)
        problem = _declared_problem(handle, file)
    except (soundfile.LibsndfileError, RuntimeError, OSError) as e:
        raise AudioError(f"cannot read {where}: {_UNREADABLE}") from e
    if problem is not None:
        handle.close()
        raise AudioError(f"cannot read {where}: {problem}")
    if handle.samplerate <= 0:
        handle.close()
        raise AudioError(f"{where} declares an invalid sample rate of {handle.samplerate} Hz")
    if handle.frames == 0 or handle.channels == 0:
        handle.close()
        raise AudioError(f"{where} holds no audio samples")
    block_frames = max(1, round(block_s * handle.samplerate))
    return _iter_blocks(handle, where, rate, block_frames)


def _iter_blocks(
    handle: soundfile.SoundFile, where: str, sample_rate: int, block_frames: int
) -> Iterator[npt.NDArray[np.float32]]:
    """Decode, check, mix and resample an open file block by block; closes it at the end."""
    with handle:
        native_rate = int(handle.samplerate)
        stream = (
            None
            if native_rate == sample_rate
            else soxr.ResampleStream(native_rate, sample_rate, 1, "float32", _RESAMPLE_QUALITY)
        )
        n_read = n_out = 0
        last = False
        decoder_lines: list[str] = []
        mpeg = _is_mpeg(handle)
        while not last:
            try:
                with _captured_stderr(mpeg) as lines:
                    block = handle.read(block_frames, dtype="float32", always_2d=True)
            except (soundfile.LibsndfileError, RuntimeError, OSError) as e:
                raise AudioError(f"cannot read {where}: {_UNREADABLE}") from e
            decoder_lines += lines
            last = block.shape[0] < block_frames
            if last and (problem := _read_problem(handle, n_read + block.shape[0],
                                                  decoder_lines)):
                raise AudioError(f"cannot read {where}: {problem}")
            if not np.isfinite(block).all():
                raise AudioError(f"{where} contains NaN or infinite samples")
            n_read += block.shape[0]
            mono = block[:, 0] if block.shape[1] == 1 else block.mean(axis=1, dtype=np.float32)
            out = mono if stream is None else stream.resample_chunk(mono, last=last)
            if out.size:
                n_out += out.size
                yield np.ascontiguousarray(out, dtype=np.float32)
        if n_read == 0:
            raise AudioError(f"{where} holds no audio samples")
        if n_out == 0:
            raise AudioError(
                f"{where}: audio too short: {n_read} samples at {native_rate} Hz give none "
                f"at {sample_rate} Hz"
            )


def _as_array(wave: Any) -> npt.NDArray[Any]:
    """Turn an array-like (numpy array, nested sequence, torch tensor) into a numpy array.

    Raises:
        AudioError: If ``wave`` cannot be made into a numeric numpy array.
    """
    if not isinstance(wave, np.ndarray) and hasattr(wave, "numpy"):
        # A torch tensor (or alike): leave autograd and the GPU without importing torch.
        if hasattr(wave, "detach"):
            wave = wave.detach()
        if hasattr(wave, "cpu"):
            wave = wave.cpu()
        try:
            wave = wave.numpy()
        except TypeError as e:  # e.g. bfloat16, which numpy lacks
            if not hasattr(wave, "float"):
                raise AudioError(f"cannot convert {type(wave).__name__} to a numpy array") from e
            wave = wave.float().numpy()
    try:
        return np.asarray(wave)
    except (ValueError, TypeError) as e:
        raise AudioError(
            f"cannot convert {type(wave).__name__} to an array of samples (ragged or not numbers)"
        ) from e


def _to_float(array: npt.NDArray[Any]) -> npt.NDArray[np.floating[Any]]:
    """Convert samples to floats in [-1, 1] by their dtype.

    Floats are kept as they are (float16 becomes float32), signed int8/16/32 are divided by
    2**(bits-1) and uint8 is centred on 128.

    Raises:
        AudioError: For any other dtype (bool, complex, object, int64, unsigned wider than 8 bits).
    """
    dtype = array.dtype
    if dtype.kind == "f":
        if dtype.itemsize < 4:
            return array.astype(np.float32)
        return array if dtype.itemsize <= 8 else array.astype(np.float64)
    if dtype in _INT_BITS:
        return array.astype(np.float32) / np.float32(2 ** (_INT_BITS[dtype] - 1))
    if dtype == np.dtype(np.uint8):
        return (array.astype(np.float32) - np.float32(128)) / np.float32(128)
    raise AudioError(f"unsupported sample dtype {dtype} (use float16/32/64, int8/16/32 or uint8)")


def prepare_audio(
    wave: Any, sample_rate: int, *, target_rate: int = SAMPLE_RATE
) -> npt.NDArray[np.float32]:
    """Turn an array of samples into the mono float32 signal the models consume.

    Args:
        wave: Samples as a numpy array, a torch tensor (anything with ``.numpy()``) or anything
            ``np.asarray`` accepts, shaped (n_samples,) or (n_samples, n_channels) with at most
            :data:`MAX_CHANNELS` channels. A shape (n_channels, n_samples) with
            ``shape[0] <= 16 < shape[1]`` is taken as channels-first. Floats are used as they
            are; int8/16/32 are scaled by 2**(bits-1); uint8 is centred on 128.
        sample_rate: Rate of ``wave`` in Hz.
        target_rate: Rate in Hz of the returned signal.

    Returns:
        Float32 C-contiguous samples shaped (n_samples,) at ``target_rate``, channels averaged.
        When no conversion is needed the result may share memory with ``wave``.

    Raises:
        AudioError: If ``wave`` is not 1-D or 2-D, has no samples, too many channels, a dtype
            other than those above, NaN or infinite values; if a rate is not a positive integer;
            or if ``wave`` is too short to give any sample at ``target_rate``.
    """
    from_rate = _check_rate(sample_rate, "sample_rate")
    to_rate = _check_rate(target_rate, "target_rate")
    array = _as_array(wave)
    if array.ndim not in (1, 2):
        raise AudioError(
            f"audio must be shaped (n_samples,) or (n_samples, n_channels), got {array.shape}"
        )
    if array.ndim == 2 and array.shape[0] <= MAX_CHANNELS < array.shape[1]:
        array = array.T
    if array.ndim == 2 and array.shape[1] > MAX_CHANNELS:
        raise AudioError(
            f"audio has {array.shape[1]} channels, at most {MAX_CHANNELS} are supported"
        )
    if array.size == 0:
        raise AudioError(f"audio holds no samples (shape {array.shape})")
    samples = _to_float(array)
    if not np.isfinite(samples).all():
        raise AudioError("audio contains NaN or infinite samples")
    if samples.ndim == 2:
        samples = samples[:, 0] if samples.shape[1] == 1 else samples.mean(axis=1)
    out = resample(samples, from_rate, to_rate)
    if out.size == 0:
        raise AudioError(
            f"audio too short: {samples.shape[0]} samples at {from_rate} Hz give none "
            f"at {to_rate} Hz"
        )
    return out


def resample(wave: npt.ArrayLike, from_rate: int, to_rate: int) -> npt.NDArray[np.float32]:
    """Resample with soxr (quality ``'HQ'``).

    Args:
        wave: Float samples shaped (n_samples,) or (n_samples, n_channels).
        from_rate: Rate of ``wave`` in Hz.
        to_rate: Rate of the result in Hz.

    Returns:
        Float32 C-contiguous samples at ``to_rate``, same number of dimensions as ``wave``,
        about ``n_samples * to_rate / from_rate`` long. When the rates are equal, ``wave`` as
        float32 (no copy if it already is).

    Raises:
        AudioError: If a rate is not a positive integer or ``wave`` is not 1-D or 2-D.
    """
    in_rate = _check_rate(from_rate, "from_rate")
    out_rate = _check_rate(to_rate, "to_rate")
    samples = np.ascontiguousarray(wave, dtype=np.float32)
    if samples.ndim not in (1, 2):
        raise AudioError(f"cannot resample an array shaped {samples.shape}: must be 1-D or 2-D")
    if in_rate == out_rate:
        return samples
    resampled = soxr.resample(samples, in_rate, out_rate, quality=_RESAMPLE_QUALITY)
    return np.ascontiguousarray(resampled, dtype=np.float32)


def audio_duration_s(path: str | os.PathLike[str]) -> float:
    """Duration of an audio file in seconds, read from its header without decoding it.

    Args:
        path: Path of any file libsndfile decodes.

    Returns:
        The number of frames divided by the native sample rate, in seconds (0.0 for a valid
        file that holds no samples). For compressed formats this is libsndfile's count.

    Raises:
        AudioError: If the file is missing, a directory, empty, unreadable, corrupt or in an
            unsupported format.
    """
    file = _checked_file(path)
    try:
        info = soundfile.info(file)
    except (soundfile.LibsndfileError, RuntimeError, OSError) as e:
        raise AudioError(f"cannot read {_quote(path)}: {_UNREADABLE}") from e
    if info.samplerate <= 0:
        raise AudioError(f"{_quote(path)} declares an invalid sample rate of {info.samplerate} Hz")
    return float(info.frames) / float(info.samplerate)
