"""Audacity label files and .lab files (seconds and HTK units), bad lines reported."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.data_files import error_lines, spans, write
from voicecnn.data.annotations import read_annotation
from voicecnn.data.annotations.label_file import read_audacity, read_lab
from voicecnn.errors import DataError


def test_audacity_labels(tmp_path: Path) -> None:
    path = write(
        tmp_path / "rec.txt",
        "0.500000\t1.250000\tspeech\n"
        "\\\t100.0\t3000.0\n"  # spectral selection of the label above
        "2.000000\t2.000000\tclick\n"  # point label
        "3.000000\t4.000000\n"  # no label: speech
        "4.500000\t5.000000\tnoise\n"
        "6\t7\tsomeone talking\twith a tab\n",
    )
    assert spans(read_audacity(path)) == [(0.5, 1.25), (3.0, 4.0), (6.0, 7.0)]
    assert spans(read_annotation(path)) == [(0.5, 1.25), (3.0, 4.0), (6.0, 7.0)]


def test_audacity_bad_lines(tmp_path: Path) -> None:
    path = write(tmp_path / "bad.txt", "1.0\t0.5\tspeech\nhello\n0.1\tx\tspeech\n")
    with pytest.raises(DataError) as excinfo:
        read_audacity(path)
    lines = error_lines(excinfo)
    assert lines[0].startswith("3 problems")
    assert lines[1].startswith(f"{path}:1: reversed segment")
    assert lines[2].startswith(f"{path}:2: expected start<tab>end<tab>label")
    assert lines[3].startswith(f"{path}:3: end 'x' is not a number")


def test_lab_seconds_and_htk_units(tmp_path: Path) -> None:
    seconds = write(tmp_path / "a.lab", "0.0 0.5 sil\n0.5 1.5 hello world\n1.5 2.0 sil\n2 3\n")
    assert spans(read_lab(seconds)) == [(0.5, 1.5), (2.0, 3.0)]
    htk = write(tmp_path / "b.lab", "0 5000000 sil\n5000000 15000000 a\n15000000 20000000 sil\n")
    assert spans(read_annotation(htk)) == [(0.5, 1.5)]
    bad = write(tmp_path / "c.lab", "0.0 0.5 sil\n1.0\n")
    with pytest.raises(DataError, match=r"c\.lab:2: expected start end label"):
        read_lab(bad)
