"""VAD mixing clips: speech and non-speech folders, named groups, audio lists and their problems."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.data_files import problems, wav, write
from voicecnn.data.mix_clips import read_audio_list, scan_mix_clip_groups, scan_mix_clips
from voicecnn.errors import DataError


def test_scan_mix_clips(tmp_path: Path) -> None:
    wav(tmp_path / "speech" / "s1.wav", 0.5)
    wav(tmp_path / "speech" / "more" / "s2.flac", 0.5)
    write(tmp_path / "speech" / "notes.md", "not audio")
    wav(tmp_path / "noise" / "n1.wav", 0.5)
    clips = scan_mix_clips(tmp_path / "speech", tmp_path / "noise")
    assert [p.name for p in clips.speech] == ["s2.flac", "s1.wav"]
    assert [p.name for p in clips.nonspeech] == ["n1.wav"]


def test_scan_mix_clips_problems(tmp_path: Path) -> None:
    wav(tmp_path / "speech" / "s1.wav", 0.5)
    write(tmp_path / "speech" / "broken.wav", "garbage")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError) as excinfo:
        scan_mix_clips(tmp_path / "speech", tmp_path / "empty")
    lines = problems(excinfo)
    assert len(lines) == 2
    assert lines[0].startswith(f"{tmp_path / 'speech' / 'broken.wav'}: cannot read")
    assert lines[1] == f"{tmp_path / 'empty'}: no audio files found"
    with pytest.raises(DataError, match=r"nope: folder not found"):
        scan_mix_clips(tmp_path / "nope", tmp_path / "speech")


def test_clip_groups_from_subfolders_lists_and_loose_files(tmp_path: Path) -> None:
    root = tmp_path / "speech"
    wav(root / "loose.wav", 0.3)
    wav(root / "libri" / "a" / "1.flac", 0.3)
    wav(root / "libri" / "2.wav", 0.3)
    elsewhere = wav(tmp_path / "far" / "x.wav", 0.3)
    write(root / "asterisk.txt", f"# prompts\n\n../far/x.wav\n{elsewhere}\n")
    groups = scan_mix_clip_groups(root)
    assert list(groups) == ["asterisk", "libri", "speech"]
    assert sorted(p.name for p in groups["libri"]) == ["1.flac", "2.wav"]
    assert groups["asterisk"] == (elsewhere, elsewhere)
    assert [p.name for p in groups["speech"]] == ["loose.wav"]
    clips = scan_mix_clips(root, tmp_path / "far")
    assert clips.nonspeech_groups == {"far": (elsewhere,)}
    assert len(clips.speech) == 5 and list(clips.speech) == sorted(clips.speech)
    assert read_audio_list(root / "asterisk.txt") == groups["asterisk"]
    assert len(read_audio_list(root)) == 5


def test_clip_lists_report_missing_files_with_their_line(tmp_path: Path) -> None:
    wav(tmp_path / "ok.wav", 0.3)
    write(tmp_path / "g" / "music.txt", "../ok.wav\n# comment\n../gone.wav\n")
    write(tmp_path / "g" / "empty.txt", "# nothing\n")
    with pytest.raises(DataError) as excinfo:
        scan_mix_clip_groups(tmp_path / "g")
    assert problems(excinfo) == [
        f"{tmp_path / 'g' / 'music.txt'}:3: '{tmp_path / 'gone.wav'}': file not found"
    ]
    with pytest.raises(DataError, match="names no file"):
        read_audio_list(tmp_path / "g" / "empty.txt")
    with pytest.raises(DataError, match="not found"):
        read_audio_list(tmp_path / "nope.txt")
