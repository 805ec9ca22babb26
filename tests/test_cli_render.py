"""Output formats of the CLI (voicecnn.cli._render): TextGrid files that parse back."""

from __future__ import annotations

import re

import numpy as np
import pytest

import voicecnn as vc
from voicecnn.cli._render import Format, render_text

pytestmark = pytest.mark.no_torch  # CI runs it without torch too


def parse_textgrid(text: str) -> tuple[float, list[tuple[float, float, str]]]:
    """(xmax, intervals of the one tier) of a long-format TextGrid."""
    assert text.startswith('File type = "ooTextFile"\nObject class = "TextGrid"\n')
    xmax = float(re.search(r"^xmax = (\S+)", text, re.M).group(1))  # type: ignore[union-attr]
    assert re.search(r'class = "IntervalTier"\s+name = "speech"', text)
    found = re.findall(r'intervals \[\d+\]:\s+xmin = (\S+)\s+xmax = (\S+)\s+text = "(.*)"', text)
    size = int(re.search(r"intervals: size = (\d+)", text).group(1))  # type: ignore[union-attr]
    assert size == len(found)
    return xmax, [(float(a), float(b), t) for a, b, t in found]


@pytest.mark.parametrize("segments", [
    [],
    [(0.0, 1.0)],
    [(0.25, 0.5), (0.5, 1.25), (2.0, 3.0)],  # touching pieces (max_segment), speech to the end
    [(1.5, 2.125)],
])
def test_textgrid_parses_back(segments: list[tuple[float, float]]) -> None:
    segs = [vc.Segment(a, b) for a, b in segments]
    det = vc.Detection(segs, np.zeros(300, np.float32), 0.01, 3.0, path="a.wav")
    xmax, intervals = parse_textgrid(render_text(det, Format.textgrid))
    assert xmax == 3.0 and intervals[0][0] == 0.0 and intervals[-1][1] == 3.0
    assert all(a[1] == b[0] for a, b in zip(intervals, intervals[1:], strict=False))  # tiled
    assert all(lo < hi for lo, hi, _ in intervals) or intervals == [(0.0, 3.0, "")]
    assert [(lo, hi) for lo, hi, t in intervals if t == "speech"] == segments
    assert {t for _, _, t in intervals} <= {"speech", ""}
