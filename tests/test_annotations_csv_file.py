"""CSV annotations: with and without a header, label columns, every bad row reported."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.data_files import error_lines, spans, write
from voicecnn.data.annotations import read_annotation
from voicecnn.data.annotations.csv_file import read_csv_segments
from voicecnn.errors import DataError


def test_csv_with_and_without_header(tmp_path: Path) -> None:
    plain = write(tmp_path / "plain.csv", "1.5,2.0\n0.0,0.5\n0.4,1.0\n")
    assert spans(read_csv_segments(plain)) == [(0.0, 1.0), (1.5, 2.0)]
    named = write(tmp_path / "named.csv", "id,End,Start\nx,2.0,1.5\ny,0.5,0.0\n")
    assert spans(read_csv_segments(named)) == [(0.0, 0.5), (1.5, 2.0)]
    tabs = write(tmp_path / "tabs.csv", "start\tend\n0.25\t0.5\n")
    assert spans(read_annotation(tabs)) == [(0.25, 0.5)]


def test_csv_label_column_keeps_speech_rows(tmp_path: Path) -> None:
    path = write(
        tmp_path / "labelled.csv",
        "start,end,label\n0,1,speech\n1,2,music\n2,3,\n3,4,noise\n5,6,Speech\n",
    )
    assert spans(read_csv_segments(path)) == [(0.0, 1.0), (2.0, 3.0), (5.0, 6.0)]


def test_csv_bad_rows_all_reported(tmp_path: Path) -> None:
    path = write(
        tmp_path / "bad.csv",
        "start,end\n0.0,1.0\n2.0,1.5\n-1.0,0.5\nabc,2\n3.0\n4,4\n5,nan\n",
    )
    with pytest.raises(DataError) as excinfo:
        read_csv_segments(path)
    lines = error_lines(excinfo)
    assert lines[0].startswith("6 problems")
    assert [line.split(": ")[0] for line in lines[1:]] == [
        f"{path}:{n}" for n in (3, 4, 5, 6, 7, 8)
    ]
    assert "reversed segment" in lines[1]
    assert "negative time" in lines[2]
    assert "'abc' is not a number" in lines[3]
    assert "got 1 field(s)" in lines[4]
    assert "empty segment" in lines[5]
    assert "not a finite number" in lines[6]


def test_csv_header_without_start_end(tmp_path: Path) -> None:
    path = write(tmp_path / "h.csv", "from_ms;until_ms\n1;2\n")
    with pytest.raises(DataError, match=r"h\.csv:1: header .* needs 'start' and 'end'"):
        read_csv_segments(path)
