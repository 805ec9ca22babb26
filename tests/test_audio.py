"""Tests of voicecnn.io.audio: every claimed format, resampling, mixing, arrays and bad input."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
import soundfile
import soundfile as sf
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import voicecnn as vc
from tests.conftest import speechlike
from voicecnn.errors import AudioError, ConfigError
from voicecnn.io.audio import (
    SAMPLE_RATE,
    audio_duration_s,
    iter_audio,
    load_audio,
    prepare_audio,
    read_audio,
    resample,
)

pytestmark = pytest.mark.no_torch  # CI runs it without torch too

_FIXTURES = [HealthCheck.function_scoped_fixture]  # fixtures here are read-only or tmp factories

CUT_FORMATS = {  # suffix: (soundfile format, subtype, rate)
    "wav": ("WAV", "PCM_16", 16000),
    "aiff": ("AIFF", "PCM_24", 16000),
    "w64": ("W64", "FLOAT", 16000),
    "flac": ("FLAC", "PCM_16", 16000),
    "ogg": ("OGG", "VORBIS", 16000),
    "opus": ("OGG", "OPUS", 48000),
    "mp3": ("MP3", "MPEG_LAYER_III", 16000),
}
CORRUPTIBLE = ("flac", "ogg", "opus", "mp3")  # PCM formats have no redundancy to check

TONE_HZ = 440.0
FloatArray = npt.NDArray[np.float64]


def _tone(rate: int, duration_s: float = 1.0, amplitude: float = 0.5) -> FloatArray:
    """A sine at TONE_HZ, shape (n_samples,)."""
    t = np.arange(round(rate * duration_s)) / rate
    return amplitude * np.sin(2 * np.pi * TONE_HZ * t)


def _peak_hz(wave: npt.NDArray[Any], sample_rate: int) -> float:
    """Frequency of the strongest FFT bin (Hann window)."""
    spectrum = np.abs(np.fft.rfft(wave * np.hanning(wave.size)))
    return float(np.fft.rfftfreq(wave.size, 1 / sample_rate)[np.argmax(spectrum)])


def _rms(wave: npt.NDArray[Any]) -> float:
    return float(np.sqrt(np.mean(np.square(wave, dtype=np.float64))))


def _write_or_skip(path: Path, data: npt.NDArray[Any], rate: int, fmt: str, subtype: str) -> None:
    """Write with soundfile, or skip the test if this libsndfile cannot write that format."""
    if fmt not in soundfile.available_formats():
        pytest.skip(f"libsndfile {soundfile.__libsndfile_version__} lacks format {fmt}")
    if subtype not in soundfile.available_subtypes(fmt):
        pytest.skip(f"libsndfile {soundfile.__libsndfile_version__} lacks {fmt}/{subtype}")
    try:
        soundfile.write(path, data, rate, format=fmt, subtype=subtype)
    except soundfile.LibsndfileError as e:
        pytest.skip(f"libsndfile cannot write {fmt}/{subtype} at {rate} Hz: {e}")


def _assert_one_line_error(excinfo: pytest.ExceptionInfo[AudioError]) -> str:
    message = str(excinfo.value)
    assert message
    assert "\n" not in message
    assert "\r" not in message
    return message


# --- formats and rates ------------------------------------------------------------------

FORMATS = [
    ("WAV", "PCM_16", "wav", True),
    ("WAV", "PCM_24", "wav", True),
    ("WAV", "PCM_32", "wav", True),
    ("WAV", "FLOAT", "wav", True),
    ("WAV", "DOUBLE", "wav", True),
    ("WAV", "PCM_U8", "wav", True),
    ("FLAC", "PCM_16", "flac", True),
    ("FLAC", "PCM_24", "flac", True),
    ("AIFF", "PCM_16", "aiff", True),
    ("OGG", "VORBIS", "ogg", False),
    ("OGG", "OPUS", "opus", False),
    ("MP3", "MPEG_LAYER_III", "mp3", False),
]


@pytest.mark.parametrize(
    ("fmt", "subtype", "ext", "lossless"), FORMATS, ids=[f"{f}-{s}" for f, s, _, _ in FORMATS]
)
def test_every_format_loads_as_the_same_tone(
    tmp_path: Path, fmt: str, subtype: str, ext: str, lossless: bool
) -> None:
    rate = 48000  # a rate every format here (Opus included) supports
    path = tmp_path / f"tone.{ext}"
    _write_or_skip(path, _tone(rate), rate, fmt, subtype)

    samples, native_rate = read_audio(path)
    assert native_rate == rate
    assert samples.dtype == np.float32
    assert samples.ndim == 2
    assert samples.shape[1] == 1

    wave = load_audio(path)
    assert wave.dtype == np.float32
    assert wave.ndim == 1
    assert wave.flags["C_CONTIGUOUS"]
    assert abs(wave.size - SAMPLE_RATE) <= 0.01 * SAMPLE_RATE
    assert _peak_hz(wave, SAMPLE_RATE) == pytest.approx(TONE_HZ, abs=2.0)
    expected_rms = 0.5 / np.sqrt(2)
    tolerance = 0.02 if lossless else 0.35  # PCM_U8 quantises coarsely; codecs change levels
    assert _rms(wave[1000:-1000]) == pytest.approx(expected_rms, rel=tolerance)
    assert audio_duration_s(path) == pytest.approx(1.0, rel=0.01)


@pytest.mark.parametrize("rate", [8000, 22050, 44100, 48000])
@pytest.mark.parametrize(
    ("fmt", "subtype", "ext"), [("WAV", "PCM_16", "wav"), ("FLAC", "PCM_16", "flac")]
)
def test_rates_resample_to_16k_keeping_the_tone(
    tmp_path: Path, rate: int, fmt: str, subtype: str, ext: str
) -> None:
    duration_s = 1.5
    path = tmp_path / f"tone.{ext}"
    _write_or_skip(path, _tone(rate, duration_s), rate, fmt, subtype)

    wave = load_audio(path)
    assert abs(wave.size - duration_s * SAMPLE_RATE) <= 0.01 * duration_s * SAMPLE_RATE
    assert _peak_hz(wave, SAMPLE_RATE) == pytest.approx(TONE_HZ, abs=1.5)
    assert _rms(wave[2000:-2000]) == pytest.approx(0.5 / np.sqrt(2), rel=0.01)
    assert audio_duration_s(path) == pytest.approx(duration_s)


def test_load_audio_other_target_rate(tmp_path: Path) -> None:
    path = tmp_path / "tone.wav"
    soundfile.write(path, _tone(44100), 44100, subtype="FLOAT")
    wave = load_audio(path, sample_rate=8000)
    assert abs(wave.size - 8000) <= 80
    assert _peak_hz(wave, 8000) == pytest.approx(TONE_HZ, abs=2.0)


def test_load_audio_native_rate_is_exact(tmp_path: Path) -> None:
    path = tmp_path / "tone.wav"
    tone = _tone(SAMPLE_RATE).astype(np.float32)
    soundfile.write(path, tone, SAMPLE_RATE, subtype="FLOAT")
    np.testing.assert_array_equal(load_audio(path), tone)


# --- channels -------------------------------------------------------------------------


@pytest.mark.parametrize("rate", [16000, 44100])
def test_opposite_channels_cancel(tmp_path: Path, rate: int) -> None:
    tone = _tone(rate)
    path = tmp_path / "stereo.wav"
    soundfile.write(path, np.stack([tone, -tone], axis=1), rate, subtype="FLOAT")
    samples, _ = read_audio(path)
    assert samples.shape == (rate, 2)
    assert np.abs(load_audio(path)).max() < 1e-4


@pytest.mark.parametrize("rate", [16000, 44100])
def test_one_silent_channel_halves_amplitude(tmp_path: Path, rate: int) -> None:
    tone = _tone(rate)
    path = tmp_path / "stereo.wav"
    soundfile.write(path, np.stack([tone, np.zeros_like(tone)], axis=1), rate, subtype="FLOAT")
    wave = load_audio(path)
    assert _rms(wave[1000:-1000]) == pytest.approx(0.25 / np.sqrt(2), rel=0.01)
    assert _peak_hz(wave, SAMPLE_RATE) == pytest.approx(TONE_HZ, abs=2.0)


def test_six_channels_are_averaged(tmp_path: Path) -> None:
    tone = _tone(SAMPLE_RATE)
    gains = np.array([1.0, 0.5, 0.0, -0.5, 1.0, 1.0])  # mean 0.5
    path = tmp_path / "surround.wav"
    soundfile.write(path, tone[:, None] * gains[None, :], SAMPLE_RATE, subtype="FLOAT")
    samples, _ = read_audio(path)
    assert samples.shape == (SAMPLE_RATE, 6)
    np.testing.assert_allclose(load_audio(path), 0.5 * tone, atol=1e-6)


# --- iter_audio -------------------------------------------------------------------------


@pytest.mark.parametrize(("rate", "n_channels"), [(16000, 1), (44100, 2), (8000, 3)])
def test_iter_audio_blocks_join_to_load_audio(tmp_path: Path, rate: int, n_channels: int) -> None:
    rng = np.random.default_rng(0)
    data = rng.uniform(-0.5, 0.5, size=(round(rate * 2.3), n_channels))
    path = tmp_path / "noise.wav"
    soundfile.write(path, data, rate, subtype="FLOAT")
    blocks = list(iter_audio(path, block_s=0.5))
    assert len(blocks) >= 4
    assert all(b.dtype == np.float32 and b.ndim == 1 and b.size > 0 for b in blocks)
    np.testing.assert_allclose(np.concatenate(blocks), load_audio(path), atol=1e-6)


def test_iter_audio_exact_multiple_of_block(tmp_path: Path) -> None:
    path = tmp_path / "tone.wav"
    soundfile.write(path, _tone(44100, 2.0), 44100, subtype="FLOAT")
    joined = np.concatenate(list(iter_audio(path, block_s=1.0)))
    np.testing.assert_allclose(joined, load_audio(path), atol=1e-6)


def test_iter_audio_rejects_bad_block(tmp_path: Path) -> None:
    path = tmp_path / "tone.wav"
    soundfile.write(path, _tone(SAMPLE_RATE), SAMPLE_RATE)
    with pytest.raises(ConfigError, match="block_s"):
        iter_audio(path, block_s=0.0)


# --- prepare_audio ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("samples", "expected"),
    [
        (np.array([-128, 0, 64, 127], dtype=np.int8), [-1.0, 0.0, 0.5, 127 / 128]),
        (np.array([-32768, 0, 16384], dtype=np.int16), [-1.0, 0.0, 0.5]),
        (np.array([-(2**31), 0, 2**30], dtype=np.int32), [-1.0, 0.0, 0.5]),
        (np.array([0, 64, 128, 192, 255], dtype=np.uint8), [-1.0, -0.5, 0.0, 0.5, 127 / 128]),
        (np.array([0.25, -2.0], dtype=np.float16), [0.25, -2.0]),
        (np.array([0.25, -2.0], dtype=np.float32), [0.25, -2.0]),
        (np.array([0.25, -2.0], dtype=np.float64), [0.25, -2.0]),
        ([0.25, -0.5], [0.25, -0.5]),
    ],
    ids=["int8", "int16", "int32", "uint8", "float16", "float32", "float64", "list"],
)
def test_prepare_audio_scales_by_dtype(samples: Any, expected: list[float]) -> None:
    wave = prepare_audio(samples, SAMPLE_RATE)
    assert wave.dtype == np.float32
    assert wave.flags["C_CONTIGUOUS"]
    np.testing.assert_allclose(wave, expected, rtol=1e-6)


def test_prepare_audio_int16_tone_resampled() -> None:
    tone = _tone(44100)
    pcm = np.round(tone * 32767).astype(np.int16)
    wave = prepare_audio(pcm, 44100)
    assert abs(wave.size - SAMPLE_RATE) <= 0.01 * SAMPLE_RATE
    assert _peak_hz(wave, SAMPLE_RATE) == pytest.approx(TONE_HZ, abs=2.0)
    assert _rms(wave[1000:-1000]) == pytest.approx(0.5 / np.sqrt(2), rel=0.01)


def test_prepare_audio_channels_last_and_first_agree() -> None:
    rng = np.random.default_rng(1)
    stereo = rng.uniform(-1, 1, size=(1000, 2)).astype(np.float32)
    expected = stereo.mean(axis=1)
    np.testing.assert_allclose(prepare_audio(stereo, SAMPLE_RATE), expected, rtol=1e-6)
    np.testing.assert_allclose(prepare_audio(stereo.T, SAMPLE_RATE), expected, rtol=1e-6)
    pcm = np.round(stereo * 32767).astype(np.int16)
    np.testing.assert_allclose(
        prepare_audio(pcm.T, SAMPLE_RATE), pcm.mean(axis=1) / 32768, rtol=1e-5, atol=1e-7
    )


def test_prepare_audio_short_channels_last_is_not_transposed() -> None:
    # (10, 2): 10 samples of 2 channels, since shape[1] is not > 16.
    wave = prepare_audio(np.ones((10, 2), dtype=np.float32), SAMPLE_RATE)
    assert wave.shape == (10,)


def test_prepare_audio_sixteen_channels_first() -> None:
    wave = prepare_audio(np.full((16, 100), 0.5), SAMPLE_RATE)
    assert wave.shape == (100,)
    np.testing.assert_allclose(wave, 0.5)


class _FakeTensor:
    """Stands in for a torch tensor: detach / cpu / numpy."""

    def __init__(self, array: npt.NDArray[Any]) -> None:
        self._array = array

    def detach(self) -> _FakeTensor:
        return self

    def cpu(self) -> _FakeTensor:
        return self

    def numpy(self) -> npt.NDArray[Any]:
        return self._array


def test_prepare_audio_tensor_like() -> None:
    array = np.array([0.1, -0.2, 0.3], dtype=np.float32)
    np.testing.assert_array_equal(prepare_audio(_FakeTensor(array), SAMPLE_RATE), array)


def test_prepare_audio_torch_tensor() -> None:
    torch = pytest.importorskip("torch")
    tensor = torch.linspace(-0.5, 0.5, 200).reshape(2, 100).requires_grad_(True)
    wave = prepare_audio(tensor, SAMPLE_RATE)
    np.testing.assert_allclose(wave, tensor.detach().numpy().mean(axis=0), rtol=1e-6)
    bf16 = torch.tensor([0.5, -0.25], dtype=torch.bfloat16)
    np.testing.assert_allclose(prepare_audio(bf16, SAMPLE_RATE), [0.5, -0.25])


def test_resample() -> None:
    tone = _tone(48000).astype(np.float32)
    same = resample(tone, 48000, 48000)
    assert same.dtype == np.float32
    np.testing.assert_array_equal(same, tone)
    down = resample(tone, 48000, SAMPLE_RATE)
    assert down.dtype == np.float32
    assert abs(down.size - SAMPLE_RATE) <= 2
    assert _peak_hz(down, SAMPLE_RATE) == pytest.approx(TONE_HZ, abs=1.0)
    stereo = resample(np.stack([tone, tone], axis=1), 48000, SAMPLE_RATE)
    assert stereo.shape == (down.size, 2)


# --- bad input --------------------------------------------------------------------------


def _make_missing(tmp_path: Path) -> Path:
    return tmp_path / "missing.wav"


def _make_directory(tmp_path: Path) -> Path:
    path = tmp_path / "folder.wav"
    path.mkdir()
    return path


def _make_empty(tmp_path: Path) -> Path:
    path = tmp_path / "empty.wav"
    path.touch()
    return path


def _make_truncated_header(tmp_path: Path) -> Path:
    whole = tmp_path / "whole.wav"
    soundfile.write(whole, _tone(SAMPLE_RATE), SAMPLE_RATE)
    path = tmp_path / "truncated.wav"
    path.write_bytes(whole.read_bytes()[:20])
    return path


def _make_random_bytes(tmp_path: Path) -> Path:
    path = tmp_path / "noise.wav"
    path.write_bytes(np.random.default_rng(2).integers(0, 256, 4000, dtype=np.uint8).tobytes())
    return path


def _make_text_mp3(tmp_path: Path) -> Path:
    path = tmp_path / "notes.mp3"
    path.write_text("this is not audio\n" * 50)
    return path


def _make_zero_frames(tmp_path: Path) -> Path:
    path = tmp_path / "zero.wav"
    soundfile.write(path, np.zeros((0, 1), dtype=np.float32), SAMPLE_RATE)
    return path


def _make_nan(tmp_path: Path) -> Path:
    data = _tone(SAMPLE_RATE).astype(np.float32)
    data[500] = np.nan
    path = tmp_path / "nan.wav"
    soundfile.write(path, data, SAMPLE_RATE, subtype="FLOAT")
    return path


def _make_inf(tmp_path: Path) -> Path:
    data = _tone(SAMPLE_RATE)
    data[-1] = -np.inf
    path = tmp_path / "inf.wav"
    soundfile.write(path, data, SAMPLE_RATE, subtype="DOUBLE")
    return path


BAD_FILES = [
    (_make_missing, "file not found", True),
    (_make_directory, "directory", True),
    (_make_empty, "empty", True),
    (_make_truncated_header, "not a readable audio file", True),
    (_make_random_bytes, "not a readable audio file", True),
    (_make_text_mp3, "not a readable audio file", True),
    (_make_zero_frames, "holds no audio samples", False),
    (_make_nan, "NaN or infinite", False),
    (_make_inf, "NaN or infinite", False),
]


@pytest.mark.parametrize(
    ("make", "reason", "bad_header"), BAD_FILES, ids=[m.__name__[6:] for m, _, _ in BAD_FILES]
)
def test_bad_files_raise_one_line_audio_error(
    tmp_path: Path, make: Any, reason: str, bad_header: bool
) -> None:
    path = make(tmp_path)
    for read in (read_audio, load_audio, lambda p: list(iter_audio(p))):
        with pytest.raises(AudioError) as excinfo:
            read(path)
        message = _assert_one_line_error(excinfo)
        assert reason in message
        assert f"'{path}'" in message
    if bad_header:
        with pytest.raises(AudioError) as excinfo:
            audio_duration_s(path)
        assert reason in _assert_one_line_error(excinfo)
    else:
        assert audio_duration_s(path) >= 0.0


def test_unreadable_file_keeps_the_cause(tmp_path: Path) -> None:
    path = _make_random_bytes(tmp_path)
    with pytest.raises(AudioError) as excinfo:
        read_audio(path)
    assert isinstance(excinfo.value.__cause__, soundfile.LibsndfileError)


def test_path_with_newline_stays_one_line(tmp_path: Path) -> None:
    path = tmp_path / "two\nlines.wav"
    with pytest.raises(AudioError) as excinfo:
        read_audio(path)
    assert "file not found" in _assert_one_line_error(excinfo)


def test_unreadable_permissions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "locked.wav"
    soundfile.write(path, _tone(SAMPLE_RATE), SAMPLE_RATE)
    # Root reads any file, so the denial is simulated where the check asks the OS.
    monkeypatch.setattr(os, "access", lambda *args, **kwargs: False)
    with pytest.raises(AudioError, match="permission denied"):
        read_audio(path)


BAD_ARRAYS: list[tuple[str, Any, Any]] = [
    ("3-D", np.zeros((10, 2, 2), dtype=np.float32), SAMPLE_RATE),
    ("0-D", np.float32(0.5), SAMPLE_RATE),
    ("complex", np.zeros(100, dtype=np.complex64), SAMPLE_RATE),
    ("bool", np.ones(100, dtype=bool), SAMPLE_RATE),
    ("object", np.array([object()] * 4), SAMPLE_RATE),
    ("strings", np.array(["a", "b"]), SAMPLE_RATE),
    ("int64", np.arange(100), SAMPLE_RATE),
    ("ragged", [[0.1, 0.2], [0.3]], SAMPLE_RATE),
    ("inf", np.array([0.0, np.inf, 0.1], dtype=np.float32), SAMPLE_RATE),
    ("nan", np.array([0.0, np.nan], dtype=np.float64), SAMPLE_RATE),
    ("empty", np.zeros(0, dtype=np.float32), SAMPLE_RATE),
    ("no channels", np.zeros((100, 0), dtype=np.float32), SAMPLE_RATE),
    ("17 channels", np.zeros((100, 17), dtype=np.float32), SAMPLE_RATE),
    ("rate 0", np.zeros(100, dtype=np.float32), 0),
    ("rate negative", np.zeros(100, dtype=np.float32), -16000),
    ("rate float", np.zeros(100, dtype=np.float32), 16000.5),
    ("too short", np.zeros(1, dtype=np.float32), 44100),
]


@pytest.mark.parametrize(
    ("wave", "rate"),
    [(wave, rate) for _, wave, rate in BAD_ARRAYS],
    ids=[name for name, _, _ in BAD_ARRAYS],
)
def test_bad_arrays_raise_one_line_audio_error(wave: Any, rate: int) -> None:
    with pytest.raises(AudioError) as excinfo:
        prepare_audio(wave, rate)
    _assert_one_line_error(excinfo)


def test_bad_target_rate() -> None:
    with pytest.raises(AudioError, match="target_rate"):
        prepare_audio(np.zeros(100, dtype=np.float32), SAMPLE_RATE, target_rate=0)


def test_float16_infinity_is_rejected() -> None:
    with pytest.raises(AudioError, match="NaN or infinite"):
        prepare_audio(np.array([np.inf, 0.0], dtype=np.float16), SAMPLE_RATE)


@pytest.fixture(scope="module")
def whole_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    folder = tmp_path_factory.mktemp("whole")
    out = {}
    for suffix, (fmt, subtype, rate) in CUT_FORMATS.items():
        wave = speechlike(4.0, rate, seed=3)
        path = folder / f"x.{suffix}"
        sf.write(path, wave, rate, format=fmt, subtype=subtype)
        out[suffix] = path.read_bytes()
        vc.read_audio(path)  # whole files read cleanly
    return out


@pytest.mark.parametrize("suffix", CUT_FORMATS)
@given(cut=st.floats(0.05, 0.9))
@settings(max_examples=12, deadline=None, suppress_health_check=_FIXTURES)
def test_truncated_files_are_errors(
    suffix: str, cut: float, whole_files: dict[str, bytes],
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    data = whole_files[suffix]
    path = tmp_path_factory.mktemp("cut") / f"cut.{suffix}"
    path.write_bytes(data[: int(len(data) * cut)])
    for read in (vc.read_audio, lambda p: list(iter_audio(p))):
        with pytest.raises(AudioError) as e:
            read(path)
        assert "\n" not in str(e.value)


def test_a_truncated_wav_says_what_its_header_promised(
    whole_files: dict[str, bytes], tmp_path: Path
) -> None:
    data = whole_files["wav"]
    path = tmp_path / "half.wav"
    path.write_bytes(data[: len(data) // 2])
    declared = len(data) - 44  # the data chunk of a plain 16-bit PCM WAV
    with pytest.raises(AudioError, match=rf"truncated: its header declares {declared} bytes of "
                       rf"data, the file holds {len(data) // 2 - 44}"):
        vc.read_audio(path)


def test_files_corrupted_mid_stream_are_errors_in_the_cli(
    whole_files: dict[str, bytes], tiny_weights: Path, tmp_path: Path
) -> None:
    """One real process (the C decoders' stderr is the process's): each corrupted file is one
    error line, libmpg123's "Note:" lines never show, nothing is written."""
    paths = []
    for suffix in CORRUPTIBLE:
        data = bytearray(whole_files[suffix])
        mid = len(data) // 2
        noise = np.random.default_rng(0).integers(0, 256, 2000, np.uint8).tobytes()
        data[mid : mid + 2000] = noise
        paths.append(tmp_path / f"bad.{suffix}")
        paths[-1].write_bytes(bytes(data))
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "voicecnn", "detect", *map(str, paths), "-m", str(tiny_weights),
           "-f", "json", "-o", str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 1, proc.stderr
    assert "Note:" not in proc.stderr and "Traceback" not in proc.stderr
    errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("error:")]
    for path in paths:
        assert sum(path.name in ln for ln in errors) == 1, (path.name, errors)
    assert f"{len(paths)} of {len(paths)} input(s) failed" in errors[-1]
    assert not out.exists() or not any(out.iterdir())
