"""``voicecnn stream`` (voicecnn.cli.stream): raw PCM or WAV on stdin gives the offline events."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from typer.testing import CliRunner

import voicecnn as vc
from voicecnn.cli import app

from .conftest import event_segments, json_lines, rounded, speechlike

runner = CliRunner()








@pytest.fixture(scope="module")
def wave() -> np.ndarray:
    return speechlike(4.0, seed=11)


def test_raw_s16le_equals_offline(wave: np.ndarray, tiny_weights: Path) -> None:
    pcm = (wave * 32767).astype("<i2").tobytes()
    result = runner.invoke(app, ["stream", "-m", str(tiny_weights), "--threshold", "0.5"],
                           input=pcm)
    assert result.exit_code == 0, result.stderr
    lines = json_lines(result.stdout)
    assert lines[-1]["event"] == "summary" and lines[-1]["duration_s"] == pytest.approx(4.0)
    model = vc.load_model(tiny_weights)
    offline = vc.detect(model, (wave * 32767).astype(np.int16))
    assert rounded(event_segments(lines)) == rounded(offline)
    assert lines[-1]["segments"] == len(offline)


def test_wav_stream_sets_the_format(wave: np.ndarray, tiny_weights: Path) -> None:
    buf = io.BytesIO()
    stereo = np.stack([wave, wave], 1)
    sf.write(buf, stereo, 16000, format="WAV", subtype="FLOAT")
    result = runner.invoke(app, ["stream", "-m", str(tiny_weights), "--frames", "--rate", "8000"],
                           input=buf.getvalue())
    assert result.exit_code == 0, result.stderr
    lines = json_lines(result.stdout)
    frames = [d for d in lines if "frame" in d]
    assert [d["frame"] for d in frames] == list(range(400))  # 16 kHz from the header, not 8
    model = vc.load_model(tiny_weights)
    np.testing.assert_allclose([d["probability"] for d in frames], vc.frame_probs(model, wave),
                               atol=1e-4)


def test_raw_48k_stereo_f32(wave: np.ndarray, tiny_weights: Path) -> None:
    hi = speechlike(2.0, 48000, seed=12)
    pcm = np.stack([hi, hi], 1).astype("<f4").tobytes()
    result = runner.invoke(app, ["stream", "-m", str(tiny_weights), "-r", "48000", "-c", "2",
                                 "--sample-format", "f32le"], input=pcm)
    assert result.exit_code == 0, result.stderr
    assert json_lines(result.stdout)[-1]["duration_s"] == pytest.approx(2.0, abs=0.01)


@pytest.mark.parametrize(("data", "message"), [
    (b"RIFF\x00\x00\x00\x00WAVEfmt ", "WAV stream ended"),
    (b"RIFF\x24\x00\x00\x00WAVEfmt \x10\x00\x00\x00\x02\x00\x01\x00\x80\x3e\x00\x00"
     b"\x00\x7d\x00\x00\x02\x00\x10\x00data\x00\x00\x00\x00", "not supported"),
])
def test_bad_wav_streams_are_one_line_errors(data: bytes, message: str,
                                             tiny_weights: Path) -> None:
    result = runner.invoke(app, ["stream", "-m", str(tiny_weights)], input=data)
    assert result.exit_code == 1
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_empty_input_gives_only_a_summary(tiny_weights: Path) -> None:
    result = runner.invoke(app, ["stream", "-m", str(tiny_weights)], input=b"")
    assert result.exit_code == 0
    assert json_lines(result.stdout) == [
        {"event": "summary", "duration_s": 0.0, "segments": 0, "speech_s": 0.0}
    ]


# --- listen, through a fake sounddevice ----------------------------------------------------
