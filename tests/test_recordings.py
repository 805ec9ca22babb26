"""Annotated recordings checked against their audio: offsets, segments, all problems at once."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.data_files import jsonl, problems, spans, wav, write
from voicecnn.data.manifest import ManifestEntry
from voicecnn.data.recordings import END_TOLERANCE_S, load_dataset, validate
from voicecnn.detection.segments import Segment
from voicecnn.errors import DataError


def test_validate_checks_audio_offsets_and_segments(tmp_path: Path) -> None:
    audio = wav(tmp_path / "a.wav", 2.0)
    junk = write(tmp_path / "junk.wav", "not audio at all")
    src = tmp_path / "m.jsonl"
    good = ManifestEntry(audio, (Segment(0.5, 2.0 + END_TOLERANCE_S / 2),), source=src, line=1)
    entries = [
        good,
        ManifestEntry(tmp_path / "gone.wav", (), source=src, line=2),
        ManifestEntry(junk, (), source=src, line=3),
        ManifestEntry(audio, (Segment(1.0, 2.5),), source=src, line=4),
        ManifestEntry(audio, (), offset_s=2.5, source=src, line=5),
        ManifestEntry(audio, (), offset_s=1.0, duration_s=1.5, source=src, line=6),
        ManifestEntry(
            audio, (Segment(0.0, 1.5),), offset_s=1.0, duration_s=1.0, source=src, line=7
        ),
        ManifestEntry(audio, (Segment(0.0, 2.5),), source=tmp_path / "a.csv", segment_lines=(9,)),
    ]
    lines = [str(issue) for issue in validate(entries)]
    assert [line.split(": ")[0] for line in lines] == [
        f"{src}:2",
        f"{src}:3",
        f"{src}:4",
        f"{src}:5",
        f"{src}:6",
        f"{src}:7",
        f"{tmp_path / 'a.csv'}:9",
    ]
    assert "file not found" in lines[0]
    assert "not a readable audio file" in lines[1]
    assert "segment 1.000-2.500 s ends after the audio of" in lines[2]
    assert "offset 2.5 s is past the end of" in lines[3]
    assert "excerpt 1-2.5 s runs past the end" in lines[4]
    assert "segment 0.000-1.500 s ends after the excerpt" in lines[5]
    assert validate([good]) == []


def test_load_dataset_resolves_and_clips(tmp_path: Path) -> None:
    wav(tmp_path / "rec" / "a.wav", 2.0)
    write(tmp_path / "rec" / "a.csv", "0.5,2.03\n")  # within the tolerance: clipped
    wav(tmp_path / "b.wav", 3.0)
    manifest = jsonl(tmp_path / "m.jsonl", {"audio": "b.wav", "offset": 1.0, "segments": []})
    entries = load_dataset([tmp_path / "rec", manifest])
    assert [e.duration_s for e in entries] == [2.0, 2.0]
    assert spans(entries[0].segments) == [(0.5, 2.0)]
    assert load_dataset(str(manifest))[0].offset_s == 1.0


def test_load_dataset_reports_three_problems_in_one_error(tmp_path: Path) -> None:
    wav(tmp_path / "a.wav", 1.0)
    write(tmp_path / "a.csv", "0.2,0.4\n0.9,0.5\n")  # reversed segment, line 2
    wav(tmp_path / "b.wav", 1.0)
    write(tmp_path / "b.csv", "0.5,1.8\n")  # past the end of the audio, line 1
    write(tmp_path / "c.wav", "RIFF but not really")  # unreadable audio
    write(tmp_path / "c.csv", "0,0.5\n")
    with pytest.raises(DataError) as excinfo:
        load_dataset(tmp_path)
    lines = problems(excinfo)
    assert len(lines) == 3
    assert lines[0].startswith(f"{tmp_path / 'a.csv'}:2: reversed segment")
    assert lines[1].startswith(f"{tmp_path / 'b.csv'}:1: segment 0.500-1.800 s ends after")
    assert lines[2].startswith(f"{tmp_path / 'c.csv'}: cannot read ")
    assert "not a readable audio file" in lines[2]


def test_load_dataset_collects_parse_and_audio_problems(tmp_path: Path) -> None:
    manifest = jsonl(
        tmp_path / "m.jsonl",
        {"audio": "missing.wav", "segments": []},
        "{oops",
        {"audio": "missing2.wav", "segments": [[0.5, 0.1]]},
    )
    with pytest.raises(DataError) as excinfo:
        load_dataset([manifest, tmp_path / "nothing.jsonl"])
    lines = problems(excinfo)
    # Sorted by file and line; a line with bad segments still gets its audio checked.
    assert [line.split(": ")[0] for line in lines] == [
        f"{manifest}:1",
        f"{manifest}:2",
        f"{manifest}:3",
        f"{manifest}:3",
        f"{tmp_path / 'nothing.jsonl'}",
    ]
    assert "missing.wav': file not found" in lines[0]
    assert "reversed segment" in lines[2]
    assert "missing2.wav': file not found" in lines[3]
