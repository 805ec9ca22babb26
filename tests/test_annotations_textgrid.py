"""Praat TextGrids: long and short formats, tiers, UTF-16, problems with their lines."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.data_files import spans, write
from voicecnn.data.annotations import read_annotation
from voicecnn.data.annotations.textgrid import read_textgrid
from voicecnn.errors import DataError

DATA = Path(__file__).parent / "data"


def test_textgrid_long_format() -> None:
    # "" and "sil" are silence; quotes and brackets inside text do not confuse the parser.
    assert spans(read_textgrid(DATA / "long.TextGrid")) == [(0.5, 1.2), (1.5, 2.25)]


def test_textgrid_short_format_and_tiers() -> None:
    path = DATA / "short.TextGrid"
    assert spans(read_textgrid(path)) == [(0.5, 1.2), (2.0, 2.5)]  # union of interval tiers
    assert spans(read_textgrid(path, tier="words")) == [(0.5, 1.2)]
    assert spans(read_textgrid(path, tier="speaker2")) == [(2.0, 2.5)]
    with pytest.raises(DataError, match=r"no interval tier named 'nope' \(interval tiers: "):
        read_textgrid(path, tier="nope")


def test_textgrid_utf16_and_suffix_case(tmp_path: Path) -> None:
    text = (DATA / "long.TextGrid").read_text(encoding="utf-8").replace("hello", "héllo")
    path = write(tmp_path / "u.textgrid", text, encoding="utf-16")
    assert spans(read_annotation(path)) == [(0.5, 1.2), (1.5, 2.25)]


def test_textgrid_problems_have_lines(tmp_path: Path) -> None:
    long_text = (DATA / "long.TextGrid").read_text(encoding="utf-8")
    reversed_text = long_text.replace("xmax = 1.2 ", "xmax = 0.2 ", 1)
    with pytest.raises(DataError, match=r"r\.TextGrid:20: reversed segment"):
        read_textgrid(write(tmp_path / "r.TextGrid", reversed_text))
    truncated = "\n".join(long_text.splitlines()[:25])
    with pytest.raises(DataError, match=r"t\.TextGrid:25: file ends early"):
        read_textgrid(write(tmp_path / "t.TextGrid", truncated))
    garbled = long_text.replace('text = "hello"', "text = hello", 1)
    with pytest.raises(DataError, match=r"g\.TextGrid:\d+: expected interval text"):
        read_textgrid(write(tmp_path / "g.TextGrid", garbled))
    with pytest.raises(DataError, match=r"not a TextGrid"):
        read_textgrid(
            write(tmp_path / "p.TextGrid", 'File type = "ooTextFile"\nObject class = "Pitch 1"\n')
        )
