"""The annotation dispatch: formats picked by suffix, unknown suffixes and unreadable files."""

from __future__ import annotations

from pathlib import Path

import pytest

from voicecnn.data.annotations import parse_annotation, read_annotation
from voicecnn.errors import DataError


def test_unknown_suffix_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"unknown annotation format '\.json'"):
        read_annotation(tmp_path / "a.json")
    missing = tmp_path / "gone.csv"
    rows, issues = parse_annotation(missing)
    assert rows == []
    assert [str(i) for i in issues] == [f"{missing}: cannot read: file not found"]
    binary = tmp_path / "bin.csv"
    binary.write_bytes(b"0,1\n\xff\xfe\x00garbage")
    with pytest.raises(DataError, match=r"bin\.csv:2: not UTF-8 text"):
        read_annotation(binary)
