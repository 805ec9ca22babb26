"""Pictures of detections: written, not blank, bounded for long files, clear without matplotlib."""

from __future__ import annotations

import resource
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from typer.testing import CliRunner

import voicecnn as vc
from voicecnn.cli import app
from voicecnn.detection.plot import _MelFrames, plot_detection

from .conftest import assert_picture, speechlike

pytest.importorskip("matplotlib")

runner = CliRunner()




def test_plot_of_an_array_at_another_rate(tiny_weights: Path, tmp_path: Path) -> None:
    stereo = np.stack([speechlike(2.0, 8000), speechlike(2.0, 8000, seed=1)], axis=1)
    net = vc.load_model(tiny_weights)
    det = vc.detect_wave(net, stereo, sample_rate=8000)
    assert_picture(plot_detection(stereo, det, tmp_path / "a.png", sample_rate=8000))
    blip = stereo[:40]  # 5 ms: no frame, no probabilities, still a picture
    det = vc.detect_wave(net, blip, sample_rate=8000)
    assert det.probs.size == 0
    assert plot_detection(blip, det, tmp_path / "b.svg", sample_rate=8000).stat().st_size > 0


def test_streamed_spectrogram_equals_one_logmel_run() -> None:
    logmel = vc.LogMel(vc.FrontendCfg())
    wave = speechlike(1.37)
    whole = logmel.power_mel(torch.from_numpy(wave)[None])[0].T.numpy()
    frames = _MelFrames(vc.FrontendCfg())
    parts = [frames.push(wave[i : i + 3001]) for i in range(0, wave.size, 3001)]
    got = np.concatenate([*parts, frames.flush()])
    assert got.shape == whole.shape
    np.testing.assert_allclose(got, whole, rtol=1e-4, atol=1e-6 * float(whole.max()))


@pytest.mark.slow
def test_twenty_minute_file_plots_in_bounded_time_and_memory(tmp_path: Path) -> None:
    rate, minutes = 16000, 20
    path = tmp_path / "long.wav"
    minute = 0.003 * np.random.default_rng(0).standard_normal(60 * rate).astype(np.float32)
    minute[: 5 * rate] += speechlike(5.0, rate)  # 5 s of "speech" at the start of each minute
    with sf.SoundFile(path, "w", rate, 1, "PCM_16") as f:
        for _ in range(minutes):
            f.write(minute)
    n_frames = minutes * 60 * 100
    probs = np.full(n_frames, 0.1, np.float32)
    segments = [vc.Segment(60.0 * m, 60.0 * m + 5.0) for m in range(minutes)]
    for s in segments:
        probs[int(s.start * 100) : int(s.end * 100)] = 0.9
    det = vc.Detection(segments, probs, 0.01, minutes * 60.0, path=str(path))
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    t0 = time.monotonic()
    out = plot_detection(path, det, tmp_path / "long.png")
    elapsed = time.monotonic() - t0
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak_before) / 1024
    assert_picture(out)
    assert elapsed < 30, elapsed  # ~3 s on 2 busy cores
    # The whole file as float32 is 77 MB and its full-resolution STFT ~0.3 GB.
    assert grown_mb < 200, grown_mb


def test_missing_matplotlib_is_one_clear_line(
    wav_file: Path, tiny_weights: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib -> ImportError
    det = vc.detect_file(vc.load_model(tiny_weights), wav_file)
    with pytest.raises(vc.VoiceCNNError, match=r"pip install 'voicecnn\[plot\]'"):
        plot_detection(wav_file, det, tmp_path / "x.png")
    for args in (["plot", str(wav_file)], ["detect", str(wav_file), "--plot", "x.png"]):
        result = runner.invoke(app, [*args, "-m", str(tiny_weights)])
        assert result.exit_code == 1
        assert result.stderr.strip().splitlines() == [
            "error: matplotlib is not installed: pip install 'voicecnn[plot]'"
        ]
    assert not (tmp_path / "x.png").exists()
