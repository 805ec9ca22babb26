"""``voicecnn listen`` (voicecnn.cli.listen): through a fake input device (a stand-in for the
sounddevice module), then through a real audio stack (PulseAudio, ALSA's pulse plugin,
PortAudio; marked slow).

The real stack: a user PulseAudio daemon (started here, in a temporary runtime folder) holds one
null sink per device rate (16, 44.1 and 48 kHz, float32). ``paplay`` plays a file into a sink;
``voicecnn listen -d pulse`` records that sink's monitor (``PULSE_SOURCE``) through PortAudio's
ALSA ``pulse`` device. The played file is the bundled sample resampled to the sink's rate, so no
resampler runs inside PulseAudio and the captured audio equals the played audio, delayed.

Tolerance: the events equal offline detection (``vc.detect``) of that same audio, placed at the
delay found in the saved utterances, within 0.02 s (two 10 ms frames); the segment count is
equal. Skipped only where PulseAudio, ``paplay`` or PortAudio are missing or the daemon cannot
start (``.ci/run`` installs them).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf
from typer.testing import CliRunner

import voicecnn as vc
from tests.conftest import event_segments, json_lines, one_line_error, rounded, speechlike
from voicecnn.cli import app

runner = CliRunner()

SAMPLE = Path(__file__).resolve().parents[1] / "samples" / "speech_over_noise.flac"
RATES = (16000, 44100, 48000)
TOLERANCE_S = 0.02
LEAD_S, TAIL_S = 0.5, 1.5  # silence around the sample in the played file








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
    lines = json_lines(result.stdout)
    summary = lines[-1]
    assert summary["event"] == "summary" and summary["sample_rate"] == rate
    assert summary["duration_s"] == pytest.approx(3.0)
    segs = event_segments(lines)
    assert len(summary["saved"]) == len(segs) == summary["segments"]
    offline = vc.detect(vc.load_model(tiny_weights), audio, vc.DetectCfg(threshold=0.45,
                        min_speech_s=0.1), sample_rate=rate)
    assert rounded(segs) == rounded(offline)
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


def _flaky_sounddevice(audio: np.ndarray, rate: int, *, every: int, stop_after: int) -> Any:
    """The fake sounddevice above, whose stream flags an input overflow on every
    ``every``-th block and dies (PortAudio's ``active`` turns false) after ``stop_after``."""
    sd = _fake_sounddevice(audio, rate)

    class InputStream(sd.InputStream):  # type: ignore[misc, name-defined]
        active = True

        def __enter__(self) -> Any:
            def run() -> None:
                for n, i in enumerate(range(0, audio.size, self.blocksize)):
                    if n == stop_after:
                        self.active = False
                        return
                    block = audio[i : i + self.blocksize, None]
                    status = "input overflow" if n % every == every - 1 else None
                    self.callback(block.astype(np.float32), block.shape[0], None, status)

            import threading

            self.thread = threading.Thread(target=run)
            self.thread.start()
            return self

    sd.InputStream = InputStream
    return sd


def test_listen_counts_overflows_and_survives_a_vanishing_device(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, tiny_weights: Path
) -> None:
    rate, block = 16000, 16000 // 50
    audio = speechlike(4.0, rate, seed=5)
    sd = _flaky_sounddevice(audio, rate, every=10, stop_after=100)  # 2 s, then gone
    monkeypatch.setitem(sys.modules, "sounddevice", sd)
    out = tmp_path / "utts"
    result = runner.invoke(app, ["listen", "-f", "jsonl", "--save-speech", str(out),
                                 "-m", str(tiny_weights), "--threshold", "0.45",
                                 "--min-speech", "0.1"])
    assert result.exit_code == 1
    line = one_line_error(result)
    assert "stopped delivering audio" in line and "after 2.0 s" in line and "kept" in line
    lines = [json.loads(ln) for ln in result.stdout.splitlines()]
    summary = lines[-1]
    assert summary["overflows"] == 10 and summary["duration_s"] == 100 * block / rate
    assert "stopped delivering audio" in summary["error"]
    offline = vc.detect(vc.load_model(tiny_weights), audio[: 100 * block],
                        vc.DetectCfg(threshold=0.45, min_speech_s=0.1), sample_rate=rate)
    assert summary["segments"] == len(offline) == len(summary["saved"]) > 0


# --- the real audio stack (slow) -------------------------------------------------------------


def _run(cmd: list[str], env: dict[str, str], **kw: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=30, **kw)


@pytest.fixture(scope="module")
def pulse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A PulseAudio daemon with null sinks ``vc_16000``, ``vc_44100``, ``vc_48000``; yields the
    environment that reaches it."""
    for tool in ("pulseaudio", "pactl", "paplay"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed (apt install pulseaudio pulseaudio-utils)")
    try:
        import sounddevice  # noqa: F401
    except (ImportError, OSError) as e:
        pytest.skip(f"sounddevice/PortAudio unavailable: {e}")
    root = tmp_path_factory.mktemp("pulse")
    run_dir, home = root / "run", root / "home"
    run_dir.mkdir(mode=0o700)
    home.mkdir()
    config = root / "null.pa"
    config.write_text(
        "load-module module-native-protocol-unix auth-anonymous=1\n"
        + "".join(
            f"load-module module-null-sink sink_name=vc_{r} rate={r} channels=1 "
            "format=float32le\n"
            for r in RATES
        )
    )
    env = {
        **os.environ, "XDG_RUNTIME_DIR": str(run_dir), "HOME": str(home),
        "PULSE_SERVER": f"unix:{run_dir}/pulse/native",
    }
    log = root / "pulseaudio.log"
    with log.open("w") as log_file:
        daemon = subprocess.Popen(
            ["pulseaudio", "-n", "-F", str(config), "--daemonize=no", "--exit-idle-time=-1",
             "--use-pid-file=no", "--log-level=error"],
            env=env, stdout=subprocess.DEVNULL, stderr=log_file,
        )
    deadline = time.monotonic() + 15
    while _run(["pactl", "info"], env).returncode != 0:
        if daemon.poll() is not None or time.monotonic() > deadline:
            daemon.kill()
            daemon.wait()
            pytest.skip(f"PulseAudio cannot start here: {log.read_text().strip()[:200]}")
        time.sleep(0.2)
    env["_PULSE_PID"] = str(daemon.pid)
    yield env
    if daemon.poll() is None:
        daemon.terminate()
    daemon.wait(timeout=10)


@pytest.fixture(scope="module")
def model() -> Any:
    return vc.load_model()


def _played(rate: int, folder: Path) -> tuple[Path, np.ndarray]:
    """The sample at ``rate`` with silence around it, as a float32 wav."""
    wave = vc.load_audio(SAMPLE, sample_rate=rate)
    audio = np.concatenate(
        [np.zeros(int(LEAD_S * rate), np.float32), wave, np.zeros(int(TAIL_S * rate), np.float32)]
    )
    path = folder / f"play_{rate}.wav"
    sf.write(path, audio, rate, subtype="FLOAT")
    return path, audio


@pytest.fixture
def procs() -> Iterator[list[subprocess.Popen[str]]]:
    """Processes a test starts; killed and reaped at its end, whatever happened."""
    started: list[subprocess.Popen[str]] = []
    yield started
    for p in started:
        if p.poll() is None:
            p.kill()
        p.communicate()


def _start_listen(env: dict[str, str], rate: int, out: Path, duration_s: float) -> Any:
    cmd = [sys.executable, "-m", "voicecnn", "listen", "-d", "pulse", "--rate", str(rate),
           "-f", "jsonl", "--duration", str(duration_s), "--save-speech", str(out)]
    return subprocess.Popen(cmd, env={**env, "PULSE_SOURCE": f"vc_{rate}.monitor"},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_recording(env: dict[str, str], n: int, procs: list[Any]) -> None:
    """Until ``n`` clients record from the daemon (the listen processes' streams are open)."""
    deadline = time.monotonic() + 120  # model loading on a busy 2-core machine
    while time.monotonic() < deadline:
        lines = _run(["pactl", "list", "short", "source-outputs"], env).stdout.splitlines()
        if len(lines) >= n:
            time.sleep(0.3)  # the stream is created, then started
            return
        if any(p.poll() is not None for p in procs):
            pytest.fail("listen ended before recording: " + procs[0].communicate()[1][-500:])
        time.sleep(0.1)
    pytest.fail("listen never opened its input stream")


def _events(stdout: str) -> tuple[list[tuple[float, float]], dict[str, Any]]:
    lines = [json.loads(ln) for ln in stdout.splitlines() if ln.strip()]
    starts = [e["time_s"] for e in lines if e["event"] == "start"]
    ends = [e["time_s"] for e in lines if e["event"] == "end"]
    return list(zip(starts, ends, strict=False)), lines[-1]


def _delay_samples(utterance: Path, start_s: float, played: np.ndarray, rate: int) -> int:
    """Where the played file started in stream time, from the first saved utterance: it
    starts at ``start_s`` in stream time, and its samples are found in the played file."""
    clip, clip_rate = sf.read(utterance, dtype="float32")
    assert clip_rate == rate
    probe = clip[: rate // 2]
    from scipy.signal import correlate

    score = correlate(played, probe, mode="valid", method="fft")
    at = int(np.argmax(score))
    return round(start_s * rate) - at


def _bridged(segs: list[tuple[float, float]], gap_s: float = 0.1) -> list[tuple[float, float]]:
    """Segments with pauses under ``gap_s`` (plus the rules' padding) bridged."""
    out: list[tuple[float, float]] = []
    for start, end in segs:
        if out and start - out[-1][1] < gap_s:
            out[-1] = (out[-1][0], end)
        else:
            out.append((start, end))
    return out


def _check_against_offline(
    model: Any, played: np.ndarray, rate: int, segs: list[tuple[float, float]],
    summary: dict[str, Any],
) -> list[tuple[float, float]]:
    saved = [Path(p) for p in summary["saved"]]
    assert saved, summary
    delay = _delay_samples(saved[0], segs[0][0], played, rate)
    total = round(summary["duration_s"] * rate)
    # the stream may start a little after paplay: within the played file's leading silence
    assert -LEAD_S * rate < delay < total, (delay, total)
    captured = np.concatenate([np.zeros(max(delay, 0), np.float32), played[max(-delay, 0):]])
    captured = captured[:total]
    captured = np.pad(captured, (0, total - captured.size))
    offline = [(s.start, s.end) for s in vc.detect(model, captured, sample_rate=rate)]
    # The sound server's path moves probabilities by a little: a pause whose frames sit at the
    # threshold (under 0.1 s between two words) may split a segment in one run and not in the
    # other. Such splits are bridged on both sides; every other boundary must agree.
    live_m, ref_m = _bridged(segs), _bridged(offline)
    assert len(live_m) == len(ref_m), (rate, segs, offline)
    for live, ref in zip(live_m, ref_m, strict=True):
        assert abs(live[0] - ref[0]) <= TOLERANCE_S and abs(live[1] - ref[1]) <= TOLERANCE_S, (
            rate, segs, offline,
        )
    # --save-speech: one file per segment, named by it, holding the captured audio between
    for path, (start, end) in zip(saved, segs, strict=True):
        clip, _ = sf.read(path, dtype="float32")
        assert path.stem.endswith(f"{start:.2f}-{end:.2f}")
        assert abs(clip.size / rate - (end - start)) <= 1.5 / rate + 1e-9
        ref = captured[round(start * rate) : round(start * rate) + clip.size]
        assert np.abs(clip - ref).max() <= 2 / 32768 + 1e-6  # PCM_16 rounding only
    return offline


@pytest.mark.slow
def test_listen_matches_offline_at_every_device_rate(
    pulse: dict[str, str], model: Any, tmp_path: Path, procs: list[Any]
) -> None:
    """Three streams at once (16, 44.1, 48 kHz). Under load: the 48 kHz listener is frozen for
    2 s mid-speech; PulseAudio keeps the audio (it buffers more than 6 s of a stalled reader,
    measured), so its events still equal offline detection and it counts no overflow."""
    plays = {r: _played(r, tmp_path) for r in RATES}
    duration = len(plays[RATES[0]][1]) / RATES[0] + 2.0
    listens = {r: _start_listen(pulse, r, tmp_path / f"utt_{r}", duration) for r in RATES}
    procs += listens.values()
    _wait_recording(pulse, len(RATES), list(listens.values()))
    players = [
        subprocess.Popen(["paplay", "-d", f"vc_{r}", str(plays[r][0])], env=pulse, text=True)
        for r in RATES
    ]
    procs += players
    time.sleep(3.0)
    os.kill(listens[48000].pid, signal.SIGSTOP)
    time.sleep(2.0)
    os.kill(listens[48000].pid, signal.SIGCONT)
    for p in players:
        assert p.wait(timeout=60) == 0
    for r, proc in listens.items():
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        assert "Traceback" not in err
        segs, summary = _events(out)
        assert summary["sample_rate"] == r and summary["overflows"] == 0
        _check_against_offline(model, plays[r][1], r, segs, summary)


@pytest.mark.slow
def test_the_device_vanishing_mid_stream(
    pulse: dict[str, str], tmp_path: Path, procs: list[Any]
) -> None:
    """Runs last in this module: it kills the daemon."""
    rate = 16000
    path, played = _played(rate, tmp_path)
    proc = _start_listen(pulse, rate, tmp_path / "utt", 60.0)
    procs.append(proc)
    _wait_recording(pulse, 1, [proc])
    player = subprocess.Popen(["paplay", "-d", f"vc_{rate}", str(path)], env=pulse, text=True)
    procs.append(player)
    time.sleep(LEAD_S + 7.0)  # past the first segment's end (5.4 s into the sample)
    os.kill(int(pulse["_PULSE_PID"]), signal.SIGKILL)
    player.wait(timeout=30)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 1, (out, err)
    assert "Traceback" not in err
    message = [ln for ln in err.splitlines() if ln.startswith("error:")]
    assert len(message) == 1 and "stopped delivering audio" in message[0], err
    segs, summary = _events(out)
    assert summary["event"] == "summary" and "stopped delivering audio" in summary["error"]
    assert summary["segments"] >= 1 and len(summary["saved"]) == summary["segments"]
    assert all(Path(p).stat().st_size > 44 for p in summary["saved"])
    assert summary["duration_s"] < 30
