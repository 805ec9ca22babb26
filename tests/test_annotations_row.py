"""Speech rows: merging overlapping and touching rows, and which labels are speech."""

from __future__ import annotations

import pytest

from tests.data_files import spans
from voicecnn.data.annotations.row import Row, is_speech_label, merge_rows


def test_merge_rows_sorts_merges_and_keeps_the_line_of_the_end() -> None:
    rows = [Row(3.0, 4.0, 5), Row(0.0, 1.0, 1), Row(0.5, 2.0, 2), Row(2.0, 2.5, 3)]
    segments, lines = merge_rows(rows)
    assert spans(segments) == [(0.0, 2.5), (3.0, 4.0)]
    assert lines == [3, 5]
    assert merge_rows([]) == ([], [])


@pytest.mark.parametrize(
    ("label", "speech"),
    [
        ("speech", True),
        ("SPK_1", True),
        ("hello", True),
        ("", False),
        ("SIL", False),
        ("<sil>", False),
        ("#", False),
        ("noise", False),
        (" music ", False),
    ],
)
def test_speech_labels(label: str, speech: bool) -> None:
    assert is_speech_label(label) is speech
