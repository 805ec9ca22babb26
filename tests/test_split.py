"""Cutting audio by segments: sample-exact copies, formats kept, time maps that round-trip."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from tests.conftest import file_modes
from voicecnn.detection.segments import Segment
from voicecnn.detection.split import (
    Piece,
    keep_file,
    read_pieces,
    silence_segments,
    split_file,
    to_original_time,
)
from voicecnn.errors import AudioError

from .conftest import speechlike

pytestmark = pytest.mark.no_torch  # CI runs it without torch too

RATE = 44100
SEGMENTS = [Segment(0.1, 0.35), Segment(0.5, 0.5), Segment(1.9, 2.5), Segment(0.9, 1.2)]
# sorted, the empty one dropped, the last clipped to the 2 s file, on the 44.1 kHz sample grid
EXPECTED = [(4410, 15435), (39690, 52920), (83790, 88200)]


@pytest.fixture
def stereo(tmp_path: Path) -> tuple[Path, np.ndarray]:
    """A 2 s stereo 44.1 kHz 16-bit wav of distinct random samples."""
    data = np.random.default_rng(0).integers(-30000, 30000, (2 * RATE, 2)).astype(np.int16)
    path = tmp_path / "in" / "talk.wav"
    path.parent.mkdir()
    sf.write(path, data, RATE, subtype="PCM_16")
    return path, data


def test_split_writes_each_segment_bit_exact(stereo: tuple[Path, np.ndarray],
                                             tmp_path: Path) -> None:
    path, data = stereo
    clips = split_file(path, SEGMENTS, tmp_path / "out")
    assert [(round(c.start * RATE), round(c.end * RATE)) for c in clips] == EXPECTED
    assert clips[0].path.name == "talk_0001_0.100-0.350.wav"
    for clip, (a, b) in zip(clips, EXPECTED, strict=True):
        info = sf.info(clip.path)
        assert (info.samplerate, info.channels, info.subtype) == (RATE, 2, "PCM_16")
        got, _ = sf.read(clip.path, dtype="int16")
        np.testing.assert_array_equal(got, data[a:b])
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(
        c.path.name for c in clips)  # no temporary files left


@pytest.mark.parametrize("keep", ["speech", "silence"])
def test_keep_round_trips_times_and_samples(stereo: tuple[Path, np.ndarray], tmp_path: Path,
                                            keep: str) -> None:
    path, data = stereo
    kept = keep_file(path, SEGMENTS, tmp_path / "out", keep=keep)  # type: ignore[arg-type]
    assert kept.path.name == f"talk_{keep}.wav" and kept.sidecar.name == f"talk_{keep}.json"
    ranges = EXPECTED if keep == "speech" else [(0, 4410), (15435, 39690), (52920, 83790)]
    assert [(round(p.orig_start * RATE), round(p.orig_end * RATE)) for p in kept.pieces] == ranges
    assert read_pieces(kept.sidecar) == kept.pieces
    meta = json.loads(kept.sidecar.read_text())
    assert meta["keep"] == keep and meta["sample_rate"] == RATE
    new, rate = sf.read(kept.path, dtype="int16")
    assert rate == RATE and new.shape == (sum(b - a for a, b in ranges), 2)
    np.testing.assert_array_equal(new, np.concatenate([data[a:b] for a, b in ranges]))
    # Segment times map back, and every sample of the new file is the original's
    for p in kept.pieces:
        assert to_original_time(p.new_start, kept.pieces) == p.orig_start
        assert p.new_end - p.new_start == pytest.approx(p.orig_end - p.orig_start)
    last = kept.pieces[-1]
    assert to_original_time(last.new_end, kept.pieces) == pytest.approx(last.orig_end)
    for i in np.random.default_rng(1).integers(0, new.shape[0], 200):
        orig = round(to_original_time(i / RATE, kept.pieces) * RATE)
        np.testing.assert_array_equal(new[i], data[orig])


def test_to_original_time_rules() -> None:
    pieces = [Piece(0.0, 1.0, 2.0, 3.0), Piece(1.0, 1.5, 5.0, 5.5)]
    assert to_original_time(0.5, pieces) == 2.5
    assert to_original_time(1.0, pieces) == 5.0  # a join maps to the later piece's start
    assert to_original_time(1.5, pieces) == 5.5  # the very end
    for bad in (-0.1, 1.6, float("nan")):
        with pytest.raises(ValueError, match="outside"):
            to_original_time(bad, pieces)
    with pytest.raises(ValueError, match="no pieces"):
        to_original_time(0.0, [])


@pytest.mark.parametrize(("segments", "expected"), [
    ([], [(0.0, 4.0)]),
    ([(0.0, 4.0)], []),
    ([(1.0, 2.0), (0.0, 0.5)], [(0.5, 1.0), (2.0, 4.0)]),
    ([(1.0, 2.0), (1.5, 3.0), (3.0, 3.5)], [(0.0, 1.0), (3.5, 4.0)]),  # overlapping, touching
    ([(3.0, 5.0)], [(0.0, 3.0)]),
    ([(2.0, 2.0)], [(0.0, 4.0)]),  # an empty segment cuts nothing
])
def test_silence_is_the_complement(segments: list[tuple[float, float]],
                                   expected: list[tuple[float, float]]) -> None:
    got = silence_segments([Segment(a, b) for a, b in segments], 4.0)
    assert [(s.start, s.end) for s in got] == expected


@pytest.mark.parametrize(("suffix", "fmt", "subtype", "out_suffix", "out_subtype"), [
    (".flac", "FLAC", "PCM_24", ".flac", "PCM_24"),
    (".ogg", "OGG", "VORBIS", ".ogg", "VORBIS"),
    (".au", "AU", "PCM_16", ".wav", "PCM_16"),
    (".aiff", "AIFF", "PCM_S8", ".wav", "FLOAT"),
])
def test_output_container(tmp_path: Path, suffix: str, fmt: str, subtype: str, out_suffix: str,
                          out_subtype: str) -> None:
    path = tmp_path / f"x{suffix}"
    sf.write(path, speechlike(1.0, 22050), 22050, format=fmt, subtype=subtype)
    (clip,) = split_file(path, [Segment(0.25, 0.75)], tmp_path / "out")
    info = sf.info(clip.path)
    assert clip.path.suffix == out_suffix and info.subtype == out_subtype
    assert info.samplerate == 22050 and info.frames == pytest.approx(11025, abs=2)


def test_unreadable_input_is_an_audio_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"RIFF nonsense")
    with pytest.raises(AudioError, match="bad.wav"):
        keep_file(bad, [], tmp_path / "out")


def test_split_and_keep_files_get_a_new_files_permissions(
    wav_file: Path, tmp_path: Path, umask: int
) -> None:
    split_file(wav_file, [Segment(0.1, 0.5), Segment(1.0, 1.5)], tmp_path / "parts")
    keep_file(wav_file, [Segment(0.1, 0.5)], tmp_path / "kept")
    modes = {**file_modes(tmp_path / "parts"), **file_modes(tmp_path / "kept")}
    assert len(modes) == 4 and set(modes.values()) == {0o666 & ~umask}
