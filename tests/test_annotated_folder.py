"""Annotated folders: audio paired with annotation files of every format and folder RTTMs."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.data_files import problems, spans, wav, write
from voicecnn.data.annotated_folder import scan_annotated_folder
from voicecnn.errors import DataError

DATA = Path(__file__).parent / "data"


def test_scan_pairs_every_format_and_folder_rttm(tmp_path: Path) -> None:
    wav(tmp_path / "a.wav", 2.0)
    write(tmp_path / "a.csv", "start,end\n0.5,1.0\n")
    wav(tmp_path / "b.wav", 2.0)
    write(tmp_path / "b.txt", "0.1\t0.4\tspeech\n")
    wav(tmp_path / "sub" / "c.wav", 2.0)
    write(tmp_path / "sub" / "c.TextGrid", (DATA / "short.TextGrid").read_text(encoding="utf-8"))
    wav(tmp_path / "d.wav", 2.0)
    wav(tmp_path / "e.wav", 2.0)
    write(
        tmp_path / "all.rttm",
        "SPEAKER d 1 0.2 0.3 <NA> <NA> x <NA> <NA>\nSPEAKER e 1 1.0 0.5 <NA> <NA> y <NA> <NA>\n",
    )
    wav(tmp_path / "f.wav", 2.0)
    write(tmp_path / "f.lab", "0 1 sil\n1 1.5 yes\n")
    write(tmp_path / "README.txt", "Recorded in 2024.\n")
    entries = scan_annotated_folder(tmp_path)
    got = {e.audio.relative_to(tmp_path).as_posix(): spans(e.segments) for e in entries}
    assert got == {
        "a.wav": [(0.5, 1.0)],
        "b.wav": [(0.1, 0.4)],
        "d.wav": [(0.2, 0.5)],
        "e.wav": [(1.0, 1.5)],
        "f.wav": [(1.0, 1.5)],
        "sub/c.wav": [(0.5, 1.2), (2.0, 2.5)],
    }
    assert entries[0].source == tmp_path / "a.csv" and entries[0].segment_lines == (2,)


def test_scan_folder_problems(tmp_path: Path) -> None:
    wav(tmp_path / "lonely.wav", 1.0)  # no annotation
    write(tmp_path / "orphan.csv", "0,1\n")  # no audio
    wav(tmp_path / "twice.wav", 1.0)
    write(tmp_path / "twice.csv", "0,1\n")
    write(tmp_path / "twice.lab", "0 1\n")
    wav(tmp_path / "ok.wav", 1.0)
    write(tmp_path / "ok.csv", "0,1\n1,x\n")  # a bad line
    wav(tmp_path / "ok.flac", 1.0)  # two audio files for ok.csv
    wav(tmp_path / "a" / "same.wav", 1.0)
    wav(tmp_path / "b" / "same.wav", 1.0)
    write(
        tmp_path / "all.rttm",
        "SPEAKER ghost 1 0 1 <NA> <NA> x <NA> <NA>\nSPEAKER same 1 0 1 <NA> <NA> x <NA> <NA>\n",
    )
    with pytest.raises(DataError) as excinfo:
        scan_annotated_folder(tmp_path)
    lines = sorted(problems(excinfo))
    assert lines == sorted(
        [
            f"{tmp_path / 'orphan.csv'}: annotation without audio: no orphan.wav, .flac or other "
            "audio file",
            f"{tmp_path / 'all.rttm'}:1: file id 'ghost' has no audio in {tmp_path}",
            f"{tmp_path / 'all.rttm'}:2: file id 'same' matches 2 audio files in {tmp_path}",
            f"{tmp_path / 'lonely.wav'}: no annotation: no lonely.csv, .rttm, .txt, .TextGrid or "
            ".lab, and no SPEAKER lines for 'lonely' in the folder's RTTM files",
            f"{tmp_path / 'twice.wav'}: annotated more than once: twice.csv, twice.lab",
            f"{tmp_path / 'ok.csv'}:2: end 'x' is not a number",
            f"{tmp_path / 'ok.wav'}: two audio files for one annotation: ok.flac, ok.wav",
        ]
    )
    with pytest.raises(DataError, match=r"nowhere: folder not found"):
        scan_annotated_folder(tmp_path / "nowhere")
