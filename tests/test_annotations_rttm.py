"""RTTM files: speakers merged per file id, every bad line reported, ids not found."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.data_files import error_lines, spans, write
from voicecnn.data.annotations import read_annotation
from voicecnn.data.annotations.rttm import read_rttm
from voicecnn.errors import DataError


def test_rttm_merges_overlapping_speakers_per_file(tmp_path: Path) -> None:
    path = write(
        tmp_path / "all.rttm",
        ";; comment line\n"
        "SPEAKER rec1 1 0.50 1.00 <NA> <NA> alice <NA> <NA>\n"
        "SPEAKER rec1 1 1.20 0.80 <NA> <NA> bob <NA> <NA>\n"  # overlaps alice
        "SPKR-INFO rec1 1 <NA> <NA> <NA> adult_female alice <NA>\n"
        "\n"
        "SPEAKER rec2 1 3.0 0.5 <NA> <NA> carol <NA> <NA>\n"
        "SPEAKER rec1 1 2.50 0.25 <NA> <NA> alice <NA> <NA>\n",
    )
    by_id = read_rttm(path)
    assert {k: spans(v) for k, v in by_id.items()} == {
        "rec1": [(0.5, 2.0), (2.5, 2.75)],
        "rec2": [(3.0, 3.5)],
    }
    assert spans(read_annotation(path, file_id="rec2")) == [(3.0, 3.5)]


def test_rttm_bad_lines_all_reported(tmp_path: Path) -> None:
    path = write(
        tmp_path / "bad.rttm",
        "SPEAKER rec1 1 0.5 1.0 <NA> <NA> a <NA> <NA>\n"
        "SPEAKER rec1 1 zero 1.0 <NA> <NA> a <NA> <NA>\n"
        "SPEAKER rec1 1\n"
        "SPEAKER rec1 1 2.0 -1.0 <NA> <NA> a <NA> <NA>\n"
        "SPEAKER rec1 1 -2.0 1.0 <NA> <NA> a <NA> <NA>\n"
        "garbage here\n",
    )
    with pytest.raises(DataError) as excinfo:
        read_rttm(path)
    lines = error_lines(excinfo)
    assert lines[0].startswith("5 problems")
    assert [line.split(": ")[0] for line in lines[1:]] == [f"{path}:{n}" for n in (2, 3, 4, 5, 6)]
    assert "onset 'zero' is not a number" in lines[1]
    assert "negative duration" in lines[3]
    assert "negative time" in lines[4]


def test_rttm_without_the_requested_id(tmp_path: Path) -> None:
    path = write(
        tmp_path / "x.rttm",
        "SPEAKER a 1 0 1 <NA> <NA> s <NA> <NA>\nSPEAKER b 1 0 1 <NA> <NA> s <NA> <NA>\n",
    )
    with pytest.raises(DataError, match=r"no SPEAKER lines for 'x'"):
        read_annotation(path)
    # An empty RTTM (or one without SPEAKER lines) is a file without speech.
    assert read_annotation(write(tmp_path / "y.rttm", ";; nothing said\n")) == []
