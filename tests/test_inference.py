"""Detection without torch: what the inference-only install (no ``[train]`` extra) runs.

CI runs this file in a virtual environment without torch (it is marked ``no_torch``), and in
the full one (where the subprocess check proves that detection leaves torch unimported).
Project-wide: it checks an install, across the modules that install runs.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from typer.testing import CliRunner

import voicecnn as vc
from voicecnn.cli import app
from voicecnn.detection.stream import StreamingDetector
from voicecnn.net.engine import NumpyVad

from .conftest import speechlike

pytestmark = pytest.mark.no_torch  # CI runs it without torch too

SAMPLE = Path(__file__).parents[1] / "samples" / "speech_over_noise.flac"


@pytest.fixture(scope="module")
def default() -> NumpyVad:
    model = vc.load_model()
    assert isinstance(model, NumpyVad)
    return model


def test_file_stream_and_chunks_agree(default: NumpyVad, tmp_path: Path) -> None:
    path = tmp_path / "a.wav"
    sf.write(path, speechlike(5.0, seed=40), 16000)
    wave = vc.load_audio(path)  # as stored (16-bit)
    whole = vc.detect_wave(default, wave)
    from_file = vc.detect_file(default, path)
    assert from_file.segments == whole.segments
    np.testing.assert_allclose(from_file.probs, whole.probs, atol=1e-6)
    det = StreamingDetector(default)
    rng = np.random.default_rng(2)
    updates, pos = [], 0
    while pos < wave.size:
        n = int(rng.integers(1, 3000))
        updates.append(det.feed(wave[pos : pos + n]))
        pos += n
    updates.append(det.flush())
    np.testing.assert_allclose(np.concatenate([u.probs for u in updates]), whole.probs,
                               atol=1e-5)
    from voicecnn.detection.stream import events_to_segments

    events = [e for u in updates for e in u.events]
    assert [(round(s.start, 6), round(s.end, 6)) for s in events_to_segments(events)] == [
        (round(s.start, 6), round(s.end, 6)) for s in whole.segments
    ]


def test_the_sample_has_speech(default: NumpyVad) -> None:
    det = vc.detect_file(default, SAMPLE)
    assert det.segments and 0.2 < sum(s.duration for s in det.segments) / det.duration_s < 0.9


def test_cli_commands_without_torch(tmp_path: Path) -> None:
    runner = CliRunner()
    out = runner.invoke(app, ["detect", str(SAMPLE), "-f", "json"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout)["segments"]
    out = runner.invoke(app, ["split", str(SAMPLE), "-o", str(tmp_path / "parts")])
    assert out.exit_code == 0, out.output
    assert list((tmp_path / "parts").iterdir())


_NO_TORCH = """
import sys
import voicecnn as vc
from voicecnn.detection.stream import StreamingDetector
det = vc.detect_file(vc.load_model(), sys.argv[1])
StreamingDetector(vc.load_model()).feed(vc.load_audio(sys.argv[1])[:8000])
print(sorted(m for m in sys.modules if m.split(".")[0] in {"torch", "scipy"}))
"""


def test_detection_imports_neither_torch_nor_scipy() -> None:
    done = subprocess.run([sys.executable, "-c", _NO_TORCH, str(SAMPLE)], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_a_command_that_needs_torch_says_so_without_it(tmp_path: Path) -> None:
    code = ("import sys; sys.modules['torch'] = None; sys.argv = ['voicecnn', 'models']; "
            "from voicecnn.cli import main; main()")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        "error: this needs torch, which the inference-only install leaves out: "
        "pip install 'voicecnn[train]'"
    ]
