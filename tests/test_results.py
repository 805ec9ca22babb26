"""The combined manifest of a batch run and its journal: formats, errors, exact resume."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import voicecnn as vc
from voicecnn.detection.corpus import Recording
from voicecnn.detection.results import ManifestFormat, ResultManifest, manifest_format_for

pytestmark = pytest.mark.no_torch  # CI runs it without torch too


def _det(*segments: tuple[float, float]) -> vc.Detection:
    return vc.Detection([vc.Segment(a, b) for a, b in segments], np.zeros(0, np.float32), 0.01,
                        5.0)


RECS = [Recording("a/x", Path("/c/a/x.wav"), "a/x"), Recording("b y", Path("/c/b y.wav"), "b y"),
        Recording("c", Path("/c/c.wav"), "c")]


@pytest.mark.parametrize("fmt", list(ManifestFormat))
def test_each_format_and_an_exact_resume(tmp_path: Path, fmt: ManifestFormat) -> None:
    path = tmp_path / "out" / f"all.{'rttm' if fmt is ManifestFormat.rttm else 'jsonl'}"
    with ResultManifest(path, fmt) as m:
        m.add(RECS[0], _det((0.5, 1.25), (2.0, 3.0)))
        m.add(RECS[1], "cannot read '/c/b y.wav': file is empty (0 bytes)")
        m.add(RECS[2], _det())
        m.add_problem("'x/*.wav' matches no files")
    text = path.read_text()
    if fmt is ManifestFormat.rttm:
        assert text.splitlines() == [
            "SPEAKER a/x 1 0.500 0.750 <NA> <NA> speech <NA> <NA>",
            "SPEAKER a/x 1 2.000 1.000 <NA> <NA> speech <NA> <NA>"]
    elif fmt is ManifestFormat.lhotse:
        rows = [json.loads(ln) for ln in text.splitlines()]
        assert rows[1] == {"id": "a/x-00001", "recording_id": "a/x", "start": 2.0,
                           "duration": 1.0, "channel": 0}
    else:
        rows = [json.loads(ln) for ln in text.splitlines()]
        assert [(r["id"], r["segments"]) for r in rows] == [
            ("a/x", [{"start": 0.5, "end": 1.25}, {"start": 2.0, "end": 3.0}]), ("c", [])]
        assert rows[0]["audio_filepath"] == "/c/a/x.wav" and rows[0]["duration"] == 5.0
    status = [json.loads(ln) for ln in m.status_path.read_text().splitlines()]
    assert [s["status"] for s in status] == ["ok", "error", "ok", "error"]
    assert status[1]["error"].endswith("file is empty (0 bytes)") and status[1]["id"] == "b y"

    # An interrupted rerun: a's lines written but its journal line lost, half a line of c.
    with ResultManifest(path, fmt) as m:
        m.add(RECS[2], _det((1.0, 2.0)))
        m._out.write(m.lines(RECS[0], _det((0.5, 1.25))))
    with path.open("a") as f:
        f.write(m.lines(RECS[2], _det((4.0, 4.5)))[:-5])
    with ResultManifest(path, fmt, resume=True) as m:
        assert m.done == {"c"}
        m.add(RECS[0], _det((0.5, 1.25)))
    after = path.read_text()
    assert after == m.lines(RECS[2], _det((1.0, 2.0))) + m.lines(RECS[0], _det((0.5, 1.25)))


def test_format_from_the_name() -> None:
    assert manifest_format_for(Path("x/all.rttm")) is ManifestFormat.rttm
    assert manifest_format_for(Path("vad_supervisions.jsonl.gz")) is ManifestFormat.lhotse
    assert manifest_format_for(Path("segments.jsonl")) is ManifestFormat.nemo
