"""``voicecnn detect`` (voicecnn.cli.detect): output formats, batches past bad files, worker
processes, resume, cross-file batching, output folders and their errors."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
import typer
from typer.testing import CliRunner

import voicecnn as vc
from tests.conftest import file_modes, one_line_error, speechlike
from tests.test_cli_render import parse_textgrid
from voicecnn.cli import app

REPO = Path(__file__).parents[1]

runner = CliRunner()
# The untrained model's probabilities wander around 0.52: these settings give several segments.
RULES = ("-t", "0.52", "--neg-threshold", "0.518", "--min-speech", "0.05", "--min-silence", "0.05")


def _run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def _summary(err: str) -> dict[str, str]:
    """The summary table on stderr as {column: value}."""
    rows = [[c.strip() for c in ln.strip("│┃").split("│" if "│" in ln else "┃")]
            for ln in err.splitlines() if ln.startswith(("│", "┃"))]
    header, values = rows[0], rows[1]
    return dict(zip(header, values, strict=True))


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """Four short wavs of different lengths, a corrupt one and an empty one."""
    root = tmp_path / "audio"
    (root / "sub").mkdir(parents=True)
    for i, seconds in enumerate((0.6, 1.0, 1.35, 0.8)):
        sf.write(root / ("sub" if i == 3 else "") / f"f{i}.wav",
                 speechlike(seconds, seed=i), 16000)
    (root / "bad.wav").write_bytes(b"RIFF junk that is no wav")
    (root / "empty.flac").write_bytes(b"")
    return root


def test_jobs_and_batching_finish_past_bad_files_with_the_same_output(
    folder: Path, tiny_weights: Path
) -> None:
    args = ("detect", str(folder), "-m", str(tiny_weights), "-f", "json", *RULES)
    code1, out1, err1 = _run(*args)
    code2, out2, err2 = _run(*args, "--jobs", "2")
    code3, out3, err3 = _run(*args, "--device", "cpu", "--batch-files", "4")
    assert code1 == code2 == code3 == 1
    assert out2 == out1 and out3 == out1  # same lines in the same (input) order
    lines = [json.loads(ln) for ln in out1.splitlines()]
    assert [Path(ln["path"]).name for ln in lines] == ["f0.wav", "f1.wav", "f2.wav", "f3.wav"]
    assert sum(len(ln["segments"]) for ln in lines) > 4
    for err in (err1, err2, err3):
        errors = [ln for ln in err.splitlines() if ln.startswith("error:")]
        assert len(errors) == 3 and "bad.wav" in errors[0] and "empty.flac" in errors[1]
        assert errors[-1] == "error: 2 of 6 input(s) failed"
        summary = _summary(err)
        assert (summary["ok"], summary["failed"], summary["skipped"]) == ("4", "2", "0")
        assert "real time" in summary["speed"] and "Traceback" not in err


def test_skip_existing_resumes_an_interrupted_run(folder: Path, tiny_weights: Path,
                                                  tmp_path: Path) -> None:
    out = tmp_path / "out"
    args = ("detect", str(folder), "-m", str(tiny_weights), "-f", "json", "-o", str(out))
    code, _, err = _run(*args)
    assert code == 1 and _summary(err)["ok"] == "4"
    names = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert names == ["f0.json", "f1.json", "f2.json", "sub/f3.json"]  # nothing for bad files
    first = {p.name: p.read_text() for p in out.rglob("*.json")}
    (out / "f1.json").unlink()  # as if the run had stopped before f1
    (out / ".f2.json.x.tmp").write_text("{")  # a temporary file never counts as done
    code, _, err = _run(*args, "--skip-existing")
    summary = _summary(err)
    assert (summary["ok"], summary["failed"], summary["skipped"]) == ("1", "2", "3")
    assert code == 1  # the bad files are still bad
    assert {p.name: p.read_text() for p in out.rglob("*.json")} == first


def test_skip_existing_needs_output(folder: Path) -> None:
    assert _run("detect", str(folder), "--skip-existing")[0] == 2


@pytest.mark.skipif(torch.cuda.is_available(), reason="tests the message without CUDA")
def test_cuda_without_cuda_is_a_usage_error(folder: Path) -> None:
    code, _, err = _run("detect", str(folder), "--device", "cuda")
    assert code == 2 and "CUDA is not available" in err


def test_batched_path_equals_one_file_at_a_time(tmp_path: Path, tiny_weights: Path) -> None:
    net = vc.load_model(tiny_weights, device="cpu")  # the torch model: it batches windows
    # chunk_s 0.4 s = 40 frames per window: files shorter than a window, a little longer,
    # and several windows long; one shorter than a frame, one unreadable.
    cfg = vc.DetectCfg(threshold=0.52, neg_threshold=0.518, min_speech_s=0.05,
                       min_silence_s=0.05, chunk_s=0.4)
    paths = []
    for i, seconds in enumerate((0.005, 0.3, 0.45, 0.45, 1.0, 1.777)):
        paths.append(tmp_path / f"{i}.wav")
        sf.write(paths[-1], speechlike(seconds, seed=i), 16000)
    paths.insert(3, tmp_path / "missing.wav")
    got = vc.detect_files(net, paths, cfg)
    assert sum(len(r.segments) for r in got if isinstance(r, vc.Detection)) > 5
    for path, res in zip(paths, got, strict=True):
        if path.name == "missing.wav":
            assert isinstance(res, vc.AudioError) and "file not found" in str(res)
            continue
        want = vc.detect_file(net, path, cfg)
        assert isinstance(res, vc.Detection)
        np.testing.assert_allclose(res.probs, want.probs, atol=1e-5)
        assert (res.segments, res.duration_s, res.path) == (want.segments, want.duration_s,
                                                            want.path)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_batched_on_cuda_equals_cpu(folder: Path, tiny_weights: Path) -> None:
    cfg = vc.DetectCfg(threshold=0.52, neg_threshold=0.518, min_speech_s=0.05,
                       min_silence_s=0.05)
    paths = sorted(folder.rglob("f*.wav"))
    cpu = vc.load_model(tiny_weights)
    got = vc.detect_files(vc.load_model(tiny_weights, device="cuda"), paths, cfg)
    for path, res in zip(paths, got, strict=True):
        want = vc.detect_file(cpu, path, cfg)
        assert isinstance(res, vc.Detection)
        np.testing.assert_allclose(res.probs, want.probs, atol=1e-4)
        assert res.segments == want.segments


def test_textgrid_files_from_the_cli(folder: Path, tiny_weights: Path, tmp_path: Path) -> None:
    out = tmp_path / "grids"
    common = (str(folder / "f2.wav"), "-m", str(tiny_weights), *RULES)
    code, out_json, _ = _run("detect", *common, "-f", "json")
    code2, _, _ = _run("detect", *common, "-f", "textgrid", "-o", str(out))
    assert code == code2 == 0
    xmax, intervals = parse_textgrid((out / "f2.TextGrid").read_text())
    assert xmax == 1.35 and intervals[-1][1] == 1.35
    want = [t for s in json.loads(out_json)["segments"] for t in (s["start"], s["end"])]
    got = [t for lo, hi, text in intervals if text == "speech" for t in (lo, hi)]
    assert len(want) > 2 and got == pytest.approx(want, abs=1e-3)


def test_skip_existing_is_exact_where_stems_repeat(tmp_path: Path, tiny_weights: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    # The reproduction: a/x.flac and b/x.flac done, a0/x.flac added, rerun.
    for i, folder in enumerate(("a", "b", "a0")):
        (tmp_path / folder).mkdir()
        sf.write(tmp_path / folder / "x.flac", speechlike(1.0, seed=i), 16000)
    monkeypatch.chdir(tmp_path)
    common = ("-m", str(tiny_weights), "-f", "rttm", "-o", "out", "--skip-existing", *RULES)
    code, _, err = _run("detect", "a/x.flac", "b/x.flac", *common)
    assert code == 0 and _summary(err)["ok"] == "2"
    code, _, err = _run("detect", "a/x.flac", "b/x.flac", "a0/x.flac", *common)
    assert code == 0 and (_summary(err)["ok"], _summary(err)["skipped"]) == ("1", "2")
    for folder in ("a", "b", "a0"):
        lines = (tmp_path / "out" / folder / "x.rttm").read_text().splitlines()
        assert lines and {ln.split()[1] for ln in lines} == {f"{folder}/x"}


def test_manifest_in_and_combined_manifest_out(tmp_path: Path, folder: Path,
                                               tiny_weights: Path) -> None:
    manifest = tmp_path / "in.jsonl"
    names = ["f0.wav", "sub/f3.wav", "bad.wav"]
    manifest.write_text("".join(json.dumps({"audio_filepath": str(folder / n), "duration": 1})
                                + "\n" for n in names))
    out = tmp_path / "segments.jsonl"
    args = ("detect", str(manifest), "-m", str(tiny_weights), *RULES, "--manifest-out", str(out))
    code, stdout, err = _run(*args)
    assert code == 1 and stdout == ""  # results go to the manifest
    rows = [json.loads(ln) for ln in out.read_text().splitlines()]
    assert [r["id"] for r in rows] == ["f0", "sub/f3"] and rows[0]["segments"]
    want = json.loads(_run("detect", str(folder / "f0.wav"), "-m", str(tiny_weights), *RULES,
                           "-f", "json")[1])
    assert rows[0]["segments"] == want["segments"]
    status = [json.loads(ln) for ln in Path(f"{out}.status.jsonl").read_text().splitlines()]
    assert [s["status"] for s in status] == ["ok", "ok", "error"]
    assert "bad.wav" in status[2]["error"]
    code, _, err = _run(*args, "--skip-existing")
    assert (_summary(err)["ok"], _summary(err)["failed"], _summary(err)["skipped"]) == (
        "0", "1", "2")
    assert [json.loads(ln)["id"] for ln in out.read_text().splitlines()] == ["f0", "sub/f3"]


def test_a_shell_glob_skips_files_that_are_not_audio(tmp_path: Path, tiny_weights: Path) -> None:
    """`voicecnn detect samples/*` as the shell expands it: audio detected, the rest noted."""
    wav = tmp_path / "talk.wav"
    sf.write(wav, speechlike(1.0, seed=3), 16000)
    script, pretty = tmp_path / "make.py", tmp_path / "talk.json"
    script.write_text("print('hi')\n")
    pretty.write_text(json.dumps({"audio": "talk.wav", "speech": []}, indent=1))
    code, out, err = _run("detect", str(wav), str(script), str(pretty), "-m", str(tiny_weights),
                          "-f", "json")
    assert code == 0, err
    assert [json.loads(line)["path"] for line in out.splitlines()] == [str(wav)]
    assert f"skipped '{script}'" in err and f"skipped '{pretty}'" in err and "error" not in err
    code, out, err = _run("detect", str(script), str(pretty), "-m", str(tiny_weights))
    assert code == 1 and out == "" and "no audio files among the inputs" in err


def test_an_unwritable_output_folder_is_found_before_any_audio(
    wav_file: Path, tiny_weights: Path, tmp_path: Path
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = runner.invoke(
        app, ["detect", str(wav_file), "-m", str(tiny_weights), "-o", str(blocker / "out")]
    )
    assert result.exit_code == 1
    assert "cannot write to" in one_line_error(result)


def test_jobs_above_the_cpus_are_capped(wav_file: Path, tiny_weights: Path) -> None:
    import os

    cpus = len(os.sched_getaffinity(0))
    result = runner.invoke(
        app, ["detect", str(wav_file), str(wav_file), "-m", str(tiny_weights), "-j", "999"]
    )
    assert result.exit_code == 0, result.stderr
    assert f"--jobs 999 is more than the {cpus} CPU(s) available; using {cpus}" in result.stderr


def test_detect_output_gets_a_new_files_permissions(
    wav_file: Path, tiny_weights: Path, tmp_path: Path, umask: int
) -> None:
    result = CliRunner().invoke(app, ["detect", str(wav_file), "-m", str(tiny_weights),
                                      "-f", "rttm", "-o", str(tmp_path / "labels")])
    assert result.exit_code == 0, result.output
    modes = file_modes(tmp_path / "labels")
    assert len(modes) == 1 and set(modes.values()) == {0o666 & ~umask}


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


def test_bad_model_is_one_line_exit_1(wav_file: Path, tmp_path: Path) -> None:
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"junk")
    for model in ("no_such_model", str(junk)):
        code, out, err = _run("detect", str(wav_file), "-m", model)
        assert code == 1 and out == ""
        assert len(err.strip().splitlines()) == 1 and err.startswith("error:")


def test_stereo_48k_and_nan_file(tmp_path: Path, tiny_weights: Path) -> None:
    stereo = tmp_path / "stereo.wav"
    sf.write(stereo, np.stack([speechlike(2.0, 48000)] * 2, 1), 48000)
    nan = tmp_path / "nan.wav"
    sf.write(nan, np.full(16000, np.nan, dtype=np.float32), 16000, subtype="FLOAT")
    code, out, err = _run("detect", str(stereo), str(nan), "-m", str(tiny_weights), "-f", "json")
    assert code == 1
    assert json.loads(out)["duration_s"] == pytest.approx(2.0)
    assert "NaN" in err


@pytest.fixture
def mixed_folder(tmp_path: Path, wav_file: Path) -> Path:
    """A folder as samples/ is: audio beside a script and a JSON file."""
    folder = tmp_path / "samples"
    folder.mkdir()
    shutil.copy(wav_file, folder / "a.wav")
    (folder / "make.py").write_text("print(1)\n")
    (folder / "a.json").write_text("{}\n")
    (folder / "sub").mkdir()
    return folder


def test_globs_give_only_audio(mixed_folder: Path, tiny_weights: Path) -> None:
    # a quoted glob gives the audio files it matches, as a directory does
    result = runner.invoke(app, ["detect", f"{mixed_folder}/*", "-m", str(tiny_weights),
                                 "-f", "json"])
    assert result.exit_code == 0, result.output
    assert [line.split('"')[3] for line in result.stdout.splitlines()] == [
        str(mixed_folder / "a.wav")
    ]
    # nothing audio among its matches: one clear error, exit 1
    result = runner.invoke(app, ["detect", f"{mixed_folder}/*.py", "-m", str(tiny_weights)])
    assert result.exit_code == 1 and "matches no audio files" in result.stderr
    # a single file named on its own is tried whatever its suffix (among others: skipped)
    result = runner.invoke(app, ["detect", str(mixed_folder / "make.py"), "-m", str(tiny_weights)])
    assert result.exit_code == 1 and "not a readable audio file" in result.stderr


def _options(command: str) -> dict[str, str]:
    """Long option -> help text of a command."""
    cmd = typer.main.get_command(app).commands[command]  # type: ignore[attr-defined]
    return {
        next(o for o in p.opts if o.startswith("--")): p.help or ""
        for p in cmd.params
        if getattr(p, "help", None) is not None and any(o.startswith("--") for o in p.opts)
    }


def test_detect_help_matches_code_and_readme() -> None:
    opts = _options("detect")
    assert ".onnx" in opts["--model"] and "Hub" in opts["--model"]
    assert "least speech-like" in opts["--max-segment"]
    readme = (REPO / "docs" / "cli.md").read_text(encoding="utf-8")  # the CLI reference
    first_cells = [line.split("|")[1] for line in readme.splitlines() if line.startswith("| `--")]
    table = {opt for cell in first_cells for opt in re.findall(r"`(--[a-z-]+)", cell)}
    assert set(opts) <= table, f"missing from docs/cli.md: {sorted(set(opts) - table)}"
    row = next(line for line in readme.splitlines() if line.startswith("| `--model"))
    assert ".onnx" in row
    row = next(line for line in readme.splitlines() if line.startswith("| `--max-segment"))
    assert "least speech-like" in row
