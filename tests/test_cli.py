"""The command line through typer's CliRunner: formats, batches with bad files, exit codes."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from typer.testing import CliRunner

import voicecnn as vc
from tests.conftest import speechlike
from voicecnn.cli import app

runner = CliRunner()


def _run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_json_lines_have_the_documented_keys(wav_file: Path, tiny_weights: Path) -> None:
    code, out, err = _run("detect", str(wav_file), "--model", str(tiny_weights), "-f", "json",
                          "--frames", "--threshold", "0.0", "--min-speech", "0")
    assert code == 0, err
    (line,) = out.strip().splitlines()
    obj = json.loads(line)
    assert set(obj) == {"path", "duration_s", "segments", "frame_hop_s", "probabilities"}
    assert obj["path"] == str(wav_file) and obj["duration_s"] == pytest.approx(3.0)
    assert obj["frame_hop_s"] == pytest.approx(0.01)
    assert len(obj["probabilities"]) == 300
    # threshold 0 marks everything: one segment over the whole file
    assert obj["segments"] == [{"start": 0.0, "end": 3.0}]


def test_default_model_table_on_the_sample() -> None:
    sample = Path(__file__).parents[1] / "samples" / "speech_over_noise.flac"
    code, out, err = _run("detect", str(sample))
    assert code == 0, err
    assert "speech_over_noise.flac" in out and "segments" in out


@pytest.mark.parametrize(("fmt", "check"), [
    ("csv", lambda t: list(csv.reader(io.StringIO(t)))[0] == ["path", "start", "end"]),
    ("rttm", lambda t: all(ln.startswith("SPEAKER clip 1 ") and ln.split()[7] == "speech"
                           for ln in t.splitlines())),
    ("audacity", lambda t: all(len(ln.split("\t")) == 3 for ln in t.splitlines())),
])
def test_other_formats(fmt: str, check: object, wav_file: Path, tiny_weights: Path) -> None:
    code, out, err = _run("detect", str(wav_file), "-m", str(tiny_weights), "-f", fmt,
                          "--threshold", "0.0", "--neg-threshold", "0.0")
    assert code == 0, err
    assert out.strip() and check(out)  # type: ignore[operator]


def test_batch_keeps_going_past_bad_files(tmp_path: Path, tiny_weights: Path) -> None:
    good = tmp_path / "good.wav"
    sf.write(good, speechlike(1.0), 16000)
    (tmp_path / "bad.wav").write_bytes(b"RIFF junk that is no wav")
    (tmp_path / "empty.flac").write_bytes(b"")
    code, out, err = _run("detect", str(tmp_path), str(tmp_path / "missing.wav"),
                          "-m", str(tiny_weights), "-f", "json")
    assert code == 1
    lines = [json.loads(ln) for ln in out.strip().splitlines()]
    assert [Path(ln["path"]).name for ln in lines] == ["good.wav"]
    errors = [ln for ln in err.splitlines() if ln.startswith("error:")]
    assert len(errors) == 4  # bad.wav, empty.flac, missing.wav, summary
    assert "3 of 4 input(s) failed" in errors[-1]
    assert "Traceback" not in err


def test_output_dir_writes_one_file_per_input(tmp_path: Path, tiny_weights: Path) -> None:
    for name in ("a.wav", "b.wav"):
        sf.write(tmp_path / name, speechlike(1.0), 16000)
    out_dir = tmp_path / "out"
    code, _, err = _run("detect", str(tmp_path / "*.wav"), "-m", str(tiny_weights),
                        "-f", "rttm", "-o", str(out_dir))
    assert code == 0, err
    assert sorted(p.name for p in out_dir.iterdir()) == ["a.rttm", "b.rttm"]


@pytest.mark.parametrize("args", [
    ["detect", "x.wav", "--threshold", "2"],
    ["detect", "x.wav", "--format", "xml"],
    ["detect"],
    ["nope"],
])
def test_usage_errors_exit_2(args: list[str]) -> None:
    assert runner.invoke(app, args).exit_code == 2


def test_bad_model_is_one_line_exit_1(wav_file: Path, tmp_path: Path) -> None:
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"junk")
    for model in ("no_such_model", str(junk)):
        code, out, err = _run("detect", str(wav_file), "-m", model)
        assert code == 1 and out == ""
        assert len(err.strip().splitlines()) == 1 and err.startswith("error:")


def test_models_lists_architectures_and_bundled_weights() -> None:
    code, out, _ = _run("models", "--json")
    assert code == 0
    data = json.loads(out)
    names = [a["name"] for a in data["architectures"]]
    assert "vad_cnn1d_s" in names and "vad_cnn2d_s" in names
    assert any(b["default"] for b in data["bundled"])
    code, out, _ = _run("models")
    assert code == 0 and "Bundled weights" in out


def test_models_table_keeps_whole_names_on_a_narrow_terminal(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from voicecnn.cli import _render

    monkeypatch.setattr(_render.out_console, "width", 60)
    code, out, _ = _run("models")
    assert code == 0 and max(len(line) for line in out.splitlines()) <= 60
    for name in vc.list_models():
        assert f" {name} " in out, name


def test_python_dash_m_entry_point(wav_file: Path, tiny_weights: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "voicecnn", "detect", str(wav_file), "-m", str(tiny_weights),
         "-f", "json"], capture_output=True, text=True, check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["duration_s"] == pytest.approx(3.0)


def test_stereo_48k_and_nan_file(tmp_path: Path, tiny_weights: Path) -> None:
    stereo = tmp_path / "stereo.wav"
    sf.write(stereo, np.stack([speechlike(2.0, 48000)] * 2, 1), 48000)
    nan = tmp_path / "nan.wav"
    sf.write(nan, np.full(16000, np.nan, dtype=np.float32), 16000, subtype="FLOAT")
    code, out, err = _run("detect", str(stereo), str(nan), "-m", str(tiny_weights), "-f", "json")
    assert code == 1
    assert json.loads(out)["duration_s"] == pytest.approx(2.0)
    assert "NaN" in err


def test_average_writes_a_model_detect_runs(wav_file: Path, tiny_weights: Path,
                                            tmp_path: Path) -> None:
    out = tmp_path / "avg.safetensors"
    code, _, err = _run("average", str(tiny_weights), str(tiny_weights), "-w", "1", "-w", "3",
                        "-o", str(out))
    assert code == 0, err
    assert err.startswith(f"wrote {out}: 0.25 x {tiny_weights}, 0.75 x {tiny_weights}")
    code, out_json, err = _run("detect", str(wav_file), "-m", str(out), "-f", "json",
                               "--frames")
    assert code == 0, err
    want = json.loads(_run("detect", str(wav_file), "-m", str(tiny_weights), "-f", "json",
                           "--frames")[1])
    assert json.loads(out_json)["probabilities"] == pytest.approx(want["probabilities"],
                                                                  abs=1e-5)
    for args, message in [
        ([str(tiny_weights)], "two or more"),
        ([str(tiny_weights), "vad_cnn2d_s"], "in architecture"),
        ([str(tiny_weights), str(tmp_path / "none.safetensors")], "none.safetensors"),
    ]:
        code, _, err = _run("average", *args, "-o", str(tmp_path / "x.safetensors"))
        assert code == 1 and err.startswith("error:") and message in err, err
        assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "x.safetensors").exists()


def test_detection_options_are_declared_once_with_the_defaults_of_detectcfg() -> None:
    import dataclasses

    import typer.main

    from voicecnn.cli import app

    want = {f.name: f.default for f in dataclasses.fields(vc.DetectCfg)}
    names = {"threshold": "threshold", "neg_threshold": "neg_threshold",
             "min_speech": "min_speech_s", "min_silence": "min_silence_s", "pad": "pad_s",
             "max_segment": "max_segment_s"}
    group = typer.main.get_command(app)
    for command in ("detect", "stream", "listen", "split", "plot"):
        params = {p.name: p for p in group.commands[command].params}  # type: ignore[attr-defined]
        for option, field in names.items():
            assert params[option].default == want[field], (command, option)


@pytest.mark.parametrize(
    "args",
    [
        ["stream", "--rate", "1"],
        ["stream", "--rate", "1000000000"],
        ["stream", "--channels", "0"],
        ["detect", "x.wav", "-j", "0"],
        ["listen", "--rate", "1"],
        ["detect", "x.wav", "--min-silence", "nan"],  # NaN fails the option's own range
        ["stream", "--pad", "nan"],
        ["split", "x.wav", "-o", "o", "--threshold", "nan"],
    ],
)
def test_bad_option_values_exit_2_without_traceback(args: list[str]) -> None:
    result = runner.invoke(app, args, input=b"")
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and "Invalid value" in result.output
