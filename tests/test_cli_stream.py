"""``voicecnn stream`` (stdin) and ``voicecnn listen`` (a fake input device)."""

from __future__ import annotations

import io
import json
import signal
import sys
import threading
import time
import types
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf
from typer.testing import CliRunner

import voicecnn as vc
from voicecnn.cli import app
from voicecnn.detection.stream import SpeechEvent, events_to_segments

from .conftest import speechlike

runner = CliRunner()


def _lines(out: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.strip().splitlines()]


def _segments(lines: list[dict[str, Any]]) -> list[vc.Segment]:
    events = [SpeechEvent(d["event"], d["time_s"]) for d in lines if d.get("event") in
              ("start", "end")]
    return events_to_segments(events)


def _rounded(segs: list[vc.Segment]) -> list[tuple[float, float]]:
    return [(round(s.start, 3), round(s.end, 3)) for s in segs]


@pytest.fixture(scope="module")
def wave() -> np.ndarray:
    return speechlike(4.0, seed=11)


def test_raw_s16le_equals_offline(wave: np.ndarray, tiny_weights: Path) -> None:
    pcm = (wave * 32767).astype("<i2").tobytes()
    result = runner.invoke(app, ["stream", "-m", str(tiny_weights), "--threshold", "0.5"],
                           input=pcm)
    assert result.exit_code == 0, result.stderr
    lines = _lines(result.stdout)
    assert lines[-1]["event"] == "summary" and lines[-1]["duration_s"] == pytest.approx(4.0)
    model = vc.load_model(tiny_weights)
    offline = vc.detect(model, (wave * 32767).astype(np.int16))
    assert _rounded(_segments(lines)) == _rounded(offline)
    assert lines[-1]["segments"] == len(offline)


def test_wav_stream_sets_the_format(wave: np.ndarray, tiny_weights: Path) -> None:
    buf = io.BytesIO()
    stereo = np.stack([wave, wave], 1)
    sf.write(buf, stereo, 16000, format="WAV", subtype="FLOAT")
    result = runner.invoke(app, ["stream", "-m", str(tiny_weights), "--frames", "--rate", "8000"],
                           input=buf.getvalue())
    assert result.exit_code == 0, result.stderr
    lines = _lines(result.stdout)
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
    assert _lines(result.stdout)[-1]["duration_s"] == pytest.approx(2.0, abs=0.01)


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
    assert _lines(result.stdout) == [
        {"event": "summary", "duration_s": 0.0, "segments": 0, "speech_s": 0.0}
    ]


# --- listen, through a fake sounddevice ----------------------------------------------------


def _fake_sounddevice(audio: np.ndarray, rate: int, *, interrupt: bool = False) -> types.ModuleType:
    sd = types.ModuleType("sounddevice")

    class PortAudioError(Exception):
        pass

    devices = [
        {"index": 0, "name": "Fake Speaker", "max_input_channels": 0,
         "default_samplerate": 48000.0},
        {"index": 1, "name": "Fake Mic", "max_input_channels": 2,
         "default_samplerate": float(rate)},
    ]

    def query_devices(device: Any = None, kind: str | None = None) -> Any:
        if device is None and kind is None:
            return devices
        if device is None:
            return devices[1]
        for d in devices:
            if (device == d["index"] or (isinstance(device, str) and device in d["name"])) \
                    and d["max_input_channels"] > 0:
                return d
        raise ValueError(f"No input device matching {device!r}")

    class InputStream:
        def __init__(self, *, callback: Any, blocksize: int, channels: int, **kw: Any) -> None:
            self.callback, self.blocksize, self.channels = callback, blocksize, channels

        def __enter__(self) -> InputStream:
            def run() -> None:
                for i in range(0, audio.size, self.blocksize):
                    block = audio[i : i + self.blocksize, None].repeat(self.channels, 1)
                    self.callback(block.astype(np.float32), block.shape[0], None, None)
                    time.sleep(0.001)  # a device delivers blocks over time
                if interrupt:
                    signal.raise_signal(signal.SIGINT)  # the user presses Ctrl-C

            self.thread = threading.Thread(target=run)
            self.thread.start()
            return self

        def __exit__(self, *exc: object) -> None:
            self.thread.join()

    sd.PortAudioError = PortAudioError  # type: ignore[attr-defined]
    sd.query_devices = query_devices  # type: ignore[attr-defined]
    sd.InputStream = InputStream  # type: ignore[attr-defined]
    sd.default = types.SimpleNamespace(device=[1, 0])  # type: ignore[attr-defined]
    return sd


def test_list_devices_shows_inputs_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "sounddevice", _fake_sounddevice(np.zeros(1), 16000))
    result = runner.invoke(app, ["listen", "--list-devices"])
    assert result.exit_code == 0
    assert "Fake Mic" in result.stdout and "Fake Speaker" not in result.stdout


def test_listen_jsonl_saves_utterances(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                       tiny_weights: Path) -> None:
    rate = 44100
    audio = speechlike(3.0, rate, seed=13)
    monkeypatch.setitem(sys.modules, "sounddevice", _fake_sounddevice(audio, rate))
    out = tmp_path / "utts"
    result = runner.invoke(app, ["listen", "-d", "Mic", "-f", "jsonl", "--duration", "3",
                                 "--save-speech", str(out), "-m", str(tiny_weights),
                                 "--threshold", "0.45", "--min-speech", "0.1"])
    assert result.exit_code == 0, result.stderr
    lines = _lines(result.stdout)
    summary = lines[-1]
    assert summary["event"] == "summary" and summary["sample_rate"] == rate
    assert summary["duration_s"] == pytest.approx(3.0)
    segs = _segments(lines)
    assert len(summary["saved"]) == len(segs) == summary["segments"]
    offline = vc.detect(vc.load_model(tiny_weights), audio, vc.DetectCfg(threshold=0.45,
                        min_speech_s=0.1), sample_rate=rate)
    assert _rounded(segs) == _rounded(offline)
    for path, seg in zip(summary["saved"], segs, strict=True):
        info = sf.info(path)
        assert info.samplerate == rate
        assert info.duration == pytest.approx(seg.duration, abs=2 / rate)


def test_listen_live_display_and_ctrl_c(monkeypatch: pytest.MonkeyPatch,
                                        tiny_weights: Path) -> None:
    audio = speechlike(1.5, 16000, seed=14)
    monkeypatch.setitem(sys.modules, "sounddevice",
                        _fake_sounddevice(audio, 16000, interrupt=True))
    result = runner.invoke(app, ["listen", "-m", str(tiny_weights)])
    assert result.exit_code == 0, result.stderr
    assert "voicecnn listen" in result.stdout and "dBFS" in result.stdout
    assert "utterance(s)" in result.stderr and "1.50 s from Fake Mic" in result.stderr


def test_listen_unknown_device_and_missing_portaudio(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "sounddevice", _fake_sounddevice(np.zeros(1), 16000))
    result = runner.invoke(app, ["listen", "-d", "Nope"])
    assert result.exit_code == 1 and "no input device matches 'Nope'" in result.stderr

    monkeypatch.setitem(sys.modules, "sounddevice", None)  # import raises ImportError
    result = runner.invoke(app, ["listen"])
    assert result.exit_code == 1 and "pip install 'voicecnn[mic]'" in result.stderr


def test_listen_without_portaudio_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    import builtins

    real_import = builtins.__import__

    def no_portaudio(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "sounddevice":  # what sounddevice raises when libportaudio is missing
            raise OSError("PortAudio library not found")
        return real_import(name, *args, **kwargs)

    monkeypatch.delitem(sys.modules, "sounddevice", raising=False)
    monkeypatch.setattr(builtins, "__import__", no_portaudio)
    result = runner.invoke(app, ["listen"])
    assert result.exit_code == 1
    assert "apt install libportaudio2" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
