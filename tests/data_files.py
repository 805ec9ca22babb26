"""Small file builders and checks shared by the data readers' tests (not a test module)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from voicecnn.detection.segments import Segment
from voicecnn.errors import DataError


def wav(path: Path, duration_s: float, sample_rate: int = 16000) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    n = round(duration_s * sample_rate)
    sf.write(path, 0.1 * np.sin(np.arange(n) * 0.05), sample_rate, subtype="PCM_16")
    return path


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding=encoding)
    return path


def jsonl(path: Path, *records: object) -> Path:
    lines = [r if isinstance(r, str) else json.dumps(r) for r in records]
    return write(path, "\n".join(lines) + "\n")


def spans(segs: tuple[Segment, ...] | list[Segment]) -> list[tuple[float, float]]:
    return [(round(s.start, 6), round(s.end, 6)) for s in segs]


def problems(excinfo: pytest.ExceptionInfo[DataError]) -> list[str]:
    """The problem lines of a DataError, after checking that the first line counts them."""
    head, *lines = str(excinfo.value).splitlines()
    count = len(lines)
    assert (
        head == f"{count} problem{'s' if count != 1 else ''} in the data (fix them and run again):"
    )
    return lines


def error_lines(excinfo: pytest.ExceptionInfo[DataError]) -> list[str]:
    return str(excinfo.value).splitlines()
