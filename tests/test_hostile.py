"""Hostile input: whatever a user or a file feeds voicecnn, it gets a one-line error and the
documented exit code, never a traceback, a partial output file or unbounded memory.

Tables of bad values per option and per metadata field; generated hostile file names; corrupt
and truncated files of every format. README's "Bad input" section states the promise.
"""

from __future__ import annotations

import csv
import io
import json
import math
import subprocess
import sys
import textwrap
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from safetensors import safe_open
from safetensors.torch import save_file
from typer.testing import CliRunner

import voicecnn as vc
from tests.conftest import speechlike
from voicecnn.cli import app
from voicecnn.errors import AudioError, CheckpointError, ConfigError
from voicecnn.io.audio import iter_audio
from voicecnn.io.escape import csv_row, recording_id, rttm_id, rttm_id_text, terminal

runner = CliRunner()
_FIXTURES = [HealthCheck.function_scoped_fixture]  # fixtures here are read-only or tmp factories


def _one_line_error(result: Any) -> str:
    """The first ``error:`` line of the result's stderr (there must be one, and no traceback)."""
    err = result.stderr
    assert "Traceback" not in err, err
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    lines = [ln for ln in err.splitlines() if ln.strip()]
    errors = [ln for ln in lines if ln.startswith("error:")]
    assert len(errors) >= 1, err
    return errors[0]


# --- option values: one table, every command that takes the rules ---------------------------

BAD_RULES = [
    (["--min-silence", "1e308"], "--min-silence must be in [0, 86400] seconds"),
    (["--min-speech", "1e308"], "--min-speech must be"),
    (["--max-segment", "1e308"], "--max-segment must be"),
    (["--pad", "inf"], "--pad must be"),
    (["--min-speech", "inf"], "--min-speech must be"),
    (["--max-segment", "inf"], "--max-segment must be"),
    (["--neg-threshold", "0.9"], "--neg-threshold must be in [0, threshold = 0.5]"),
    (["--threshold", "0.2", "--neg-threshold", "0.3"], "--neg-threshold must be"),
]


@pytest.mark.parametrize(("args", "field"), BAD_RULES)
def test_bad_rule_values_are_usage_errors_in_every_command(
    args: list[str], field: str, wav_file: Path, tiny_weights: Path, tmp_path: Path
) -> None:
    pcm = (speechlike(0.5) * 32767).astype("<i2").tobytes()
    out = tmp_path / "out"
    commands = {
        "detect": ["detect", str(wav_file), "-o", str(out)],
        "split": ["split", str(wav_file), "-o", str(out)],
        "stream": ["stream"],
        "plot": ["plot", str(wav_file), "-o", str(out / "x.png")],
    }
    for name, cmd in commands.items():
        result = runner.invoke(app, [*cmd, "-m", str(tiny_weights), *args], input=pcm)
        assert result.exit_code == 2, (name, result.stdout, result.stderr)
        line = _one_line_error(result)
        assert field in line, (name, line)
        assert not out.exists() or not any(out.iterdir()), name  # nothing written


def test_bad_rule_values_in_the_library() -> None:
    for kwargs in (
        {"min_silence_s": 1e308}, {"pad_s": math.inf}, {"min_speech_s": -1.0},
        {"max_segment_s": 0.0}, {"threshold": math.nan}, {"neg_threshold": 0.9},
        {"chunk_s": math.inf},
    ):
        with pytest.raises(ConfigError) as e:
            vc.DetectCfg(**kwargs)  # type: ignore[arg-type]
        assert "\n" not in str(e.value)


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


TRAIN_SETTINGS = [
    ("train.batch_size=0", "train.batch_size must be"),
    ("train.eval_every=0", "train.eval_every must be"),
    ("train.max_minutes=0", "train.max_minutes must be"),
    ("train.max_minutes=-1", "train.max_minutes must be"),
    ("train.lr=-1", "train.lr must be"),
    ("train.lr=nan", "train.lr must be"),
    ("train.weight_decay=-1", "train.weight_decay must be"),
    ("train.grad_clip=-1", "train.grad_clip must be"),
    ("train.max_steps=0", "max_steps = 0 would train nothing"),
    ("train.warmup_steps=-1", "train.warmup_steps must be"),
    ("train.betas=[0.9, 1.5]", "betas must be"),
    ("data.workers=-1", "data.workers must be"),
    ("data.crop_s=inf", "data.crop_s must be"),
    ("eval.threshold=2", "eval.threshold must be"),
    ("eval.min_speech_s=1e308", "min_speech_s must be"),
]


@pytest.mark.parametrize(("setting", "message"), TRAIN_SETTINGS)
def test_bad_train_settings_are_one_line_before_anything_runs(
    setting: str, message: str, tmp_path: Path
) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'arch = "vad_cnn1d_xs"\nout_dir = "{tmp_path / "run"}"\n')
    result = runner.invoke(app, ["train", str(cfg), "--set", setting])
    assert result.exit_code == 1, result.output
    assert message in _one_line_error(result)
    assert not (tmp_path / "run").exists()


def test_corrupt_resume_state_never_suggests_unpickling(tmp_path: Path) -> None:
    from voicecnn.train.loop import load_state

    run = tmp_path / "run"
    run.mkdir()
    torch.save({"step": 1, "evil": Path("x")}, run / "state.pt")  # an object: not weights_only
    with pytest.raises(CheckpointError) as e:
        load_state(run)
    assert "weights_only" not in str(e.value) and "\n" not in str(e.value)
    (run / "state.pt").write_bytes(b"PK\x03\x04 not a zip at all")
    with pytest.raises(CheckpointError) as e:
        load_state(run)
    assert "weights_only" not in str(e.value) and "\n" not in str(e.value)


# --- model metadata: every field, under a capped address space -------------------------------

_BASE = "vad_cnn2d_s"


def _source() -> tuple[dict[str, str], dict[str, torch.Tensor]]:
    path = str(Path(vc.__file__).parent / "weights" / f"{_BASE}.safetensors")
    with safe_open(path, "pt") as f:
        return dict(f.metadata()), {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118


def _cfg(fn: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, str]], None]:
    def edit(meta: dict[str, str]) -> None:
        config = json.loads(meta["config"])
        fn(config)
        meta["config"] = json.dumps(config)

    return edit


def _set(*path: Any, value: Any) -> Callable[[dict[str, str]], None]:
    def fn(config: dict[str, Any]) -> None:
        node = config
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value

    return _cfg(fn)


def _raw(key: str, value: str | None) -> Callable[[dict[str, str]], None]:
    def edit(meta: dict[str, str]) -> None:
        if value is None:
            meta.pop(key)
        else:
            meta[key] = value

    return edit


METADATA_CASES: dict[str, tuple[Callable[[dict[str, str]], None], str]] = {
    "depth_huge": (_set("temporal", 1, "depth", value=1_000_000), "depth"),
    "depth_zero": (_set("temporal", 1, "depth", value=0), "depth"),
    "dilation_huge": (_set("temporal", 1, "dilation", value=10**9), "dilation"),
    "kernel_huge": (_set("stages", 0, "kernel", value=1001), "kernel"),
    "channels_huge": (_set("temporal", 0, "channels", value=10**7), "channels"),
    "channels_shape": (_set("temporal", 0, "channels", value=4096), "shape"),
    "pool_huge": (_set("stages", 0, "pool", value=[10**6, 1]), "pool"),
    "lookahead_negative": (_set("temporal", 1, "lookahead", value=-5), "lookahead"),
    "sample_rate_huge": (_set("frontend", "sample_rate", value=10**12), "sample_rate"),
    "sample_rate_zero": (_set("frontend", "sample_rate", value=0), "sample_rate"),
    "sample_rate_float": (_set("frontend", "sample_rate", value=16000.5), "sample_rate"),
    "n_fft_huge": (_set("frontend", "n_fft", value=10**9), "n_fft"),
    "hop_zero": (_set("frontend", "hop_length", value=0), "hop_length"),
    "hop_above_fft": (_set("frontend", "hop_length", value=800), "hop_length"),
    "n_mels_huge": (_set("frontend", "n_mels", value=100_000), "n_mels"),
    "n_mels_above_bins": (_set("frontend", "n_mels", value=300), "n_mels"),
    "n_mels_string": (_set("frontend", "n_mels", value="64"), "n_mels"),
    "f_max_negative": (_set("frontend", "f_max_hz", value=-100), "f_max_hz"),
    "f_min_above_nyquist": (_set("frontend", "f_min_hz", value=9000.0), "f_min_hz"),
    "log_eps_zero": (_set("frontend", "log_eps", value=0.0), "log_eps"),
    "dropout_one": (_set("dropout", value=1.5), "dropout"),
    "dims_three": (_set("dims", value=3), "dims"),
    "stages_empty": (_set("stages", value=[]), "stage"),
    "stages_many": (_set("temporal", value=[{"channels": 8}] * 100), "stages"),
    "context_minutes": (
        _set("temporal", value=[{"channels": 48, "kernel": 3, "dilation": 4096}] * 7),
        "s of audio",
    ),
    "unknown_key": (_set("extra", value=1), "extra"),
    "config_not_object": (_raw("config", "[1, 2]"), "config"),
    "config_not_json": (_raw("config", "{depth: 1"), "config"),
    "config_nan": (_raw("config", '{"dropout": NaN}'), "NaN"),
    "config_missing": (_raw("config", None), "config"),
    "card_not_json": (_raw("card", "{not json"), "card"),
    "card_not_object": (_raw("card", '"text"'), "card"),
    "arch_empty": (_raw("arch", ""), "arch"),
    "arch_unknown": (_raw("arch", "vad_cnn9d_zz"), "vad_cnn9d_zz"),
    "arch_control": (_raw("arch", "vad\x1b[31m"), "arch"),
    "version_text": (_raw("voicecnn", "one"), "voicecnn"),
}
TENSOR_CASES: dict[str, tuple[Callable[[dict[str, torch.Tensor]], None], str]] = {
    "tensor_nan": (lambda t: t["head.proj.weight"].fill_(math.nan), "NaN"),
    "tensor_missing": (lambda t: t.pop("head.proj.weight"), "missing tensor"),
    "tensor_extra": (lambda t: t.update(extra=torch.zeros(3)), "holds tensor"),
    "tensor_shape": (lambda t: t.update({"head.proj.weight": torch.zeros(1, 3, 1)}), "shape"),
}


@pytest.fixture(scope="module")
def hostile_weights(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, str]]:
    meta, tensors = _source()
    folder = tmp_path_factory.mktemp("hostile_weights")
    out: dict[str, tuple[Path, str]] = {}
    for name, (edit, word) in METADATA_CASES.items():
        m = dict(meta)
        edit(m)
        save_file(tensors, folder / f"{name}.safetensors", metadata=m)
        out[name] = (folder / f"{name}.safetensors", word)
    for name, (tensor_edit, word) in TENSOR_CASES.items():
        t = {k: v.clone() for k, v in tensors.items()}
        tensor_edit(t)
        save_file(t, folder / f"{name}.safetensors", metadata=meta)
        out[name] = (folder / f"{name}.safetensors", word)
    return out


_CAPPED = textwrap.dedent(
    """
    import json, resource, sys
    cap = 2 << 30  # 2 GiB of address space: loading a bundled model needs well under that
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    import voicecnn as vc
    from voicecnn.net.checkpoint import load_module
    vc.load_model("{base}")  # the cap leaves room for a real model
    for path in sys.argv[1:]:
        for loader, load in (("numpy", vc.load_model), ("torch", load_module)):
            try:
                load(path)
                out = {{"error": None}}
            except BaseException as e:
                out = {{"error": type(e).__name__, "message": str(e)}}
            print(json.dumps({{"path": path, "loader": loader, **out}}))
    """
)


def test_hostile_metadata_is_rejected_in_bounded_memory_and_time(
    hostile_weights: dict[str, tuple[Path, str]],
) -> None:
    """Every case is refused with one CheckpointError line, in a process whose address space is
    capped at 2 GiB (uncapped, ``depth = 1e6`` had reached 5.5 GB), within the timeout."""
    paths = [str(p) for p, _ in hostile_weights.values()]
    proc = subprocess.run(
        [sys.executable, "-c", _CAPPED.format(base=_BASE), *paths],
        capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    rows = [json.loads(ln) for ln in proc.stdout.splitlines()]
    assert {(Path(r["path"]).stem, r["loader"]) for r in rows} == {
        (name, loader) for name in hostile_weights for loader in ("numpy", "torch")
    }
    for r in rows:
        name = Path(r["path"]).stem
        if name == "channels_shape" and r["loader"] == "numpy":
            continue  # the numpy engine takes its sizes from the tensors, not the config
        assert r["error"] == "CheckpointError", r
        word = hostile_weights[name][1]
        assert "\n" not in r["message"] and word in r["message"], (name, r["message"])


@pytest.mark.parametrize("name", ["depth_huge", "card_not_json", "f_max_negative", "tensor_nan"])
def test_hostile_metadata_in_the_cli(
    name: str, hostile_weights: dict[str, tuple[Path, str]], wav_file: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    path, word = hostile_weights[name]
    result = runner.invoke(app, ["detect", str(wav_file), "-m", str(path), "-o", str(out)])
    assert result.exit_code == 1
    assert word in _one_line_error(result)
    assert not out.exists() or not any(out.iterdir())
    if name == "card_not_json":  # reading the metadata alone
        with pytest.raises(CheckpointError, match="card"):
            vc.read_metadata(path)


# --- hostile file names -----------------------------------------------------------------------


def _terminal_safe(text: str) -> bool:
    """No control, format, surrogate or line/paragraph-separator characters."""
    return not any(unicodedata.category(c) in ("Cc", "Cf", "Cs", "Zl", "Zp") for c in text)


_NAME_CHARS = st.characters(
    codec="utf-8", exclude_characters="/\x00", categories=["L", "N", "P", "S", "Z", "Cc", "Cf"]
)
hostile_names = st.text(_NAME_CHARS, min_size=1, max_size=12).filter(
    lambda s: s not in (".", "..")
)


@given(hostile_names)
@settings(max_examples=300)
def test_escaping_rules_hold_for_any_name(name: str) -> None:
    assert _terminal_safe(terminal(name))
    rid = rttm_id(name)
    assert rid and not any(c.isspace() for c in rid) and rid.isprintable()
    row = csv_row([name, "1.000", "2.000"])
    assert next(csv.reader(io.StringIO(row))) == [name, "1.000", "2.000"]


@given(hostile_names, hostile_names)
@settings(max_examples=300)
def test_recording_ids_are_one_to_one(a: str, b: str) -> None:
    if a != b:
        assert rttm_id(a) != rttm_id(b)
    assert rttm_id_text(rttm_id(a)) == a  # read back by the RTTM reader
    assert recording_id("a b.wav") != recording_id("a_b.wav")


def test_detect_rttm_reads_back_for_names_with_spaces(tmp_path: Path, tiny_weights: Path) -> None:
    from voicecnn.data.annotations.rttm import read_rttm

    path = tmp_path / "a b.wav"
    sf.write(path, speechlike(1.0), 16000)
    result = runner.invoke(app, ["detect", str(path), "-m", str(tiny_weights), "-f", "rttm",
                                 "--threshold", "0", "--neg-threshold", "0"])
    rttm = tmp_path / "out.rttm"
    rttm.write_text(result.stdout)
    assert list(read_rttm(rttm)) == ["a b"]


@given(name=hostile_names)
@settings(max_examples=25, deadline=None, suppress_health_check=_FIXTURES)
def test_hostile_file_names_keep_every_format_whole(
    name: str, tiny_weights: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    folder = tmp_path_factory.mktemp("names")
    path = folder / f"{name}.wav"
    wave = speechlike(1.0)
    sf.write(path, wave, 16000)
    args = [str(path), "-m", str(tiny_weights), "--threshold", "0", "--neg-threshold", "0"]
    rttm = runner.invoke(app, ["detect", *args, "-f", "rttm"])
    assert rttm.exit_code == 0, rttm.stderr
    lines = rttm.stdout.splitlines()
    assert lines and all(len(ln.split(" ")) == 10 and "\t" not in ln for ln in lines), lines
    out = runner.invoke(app, ["detect", *args, "-f", "csv"])
    rows = list(csv.reader(io.StringIO(out.stdout)))
    assert rows[0] == ["path", "start", "end"] and rows[1][0] == str(path)
    table = runner.invoke(app, ["detect", *args])
    assert _terminal_safe(table.stdout.replace("\n", ""))
    missing = runner.invoke(app, ["detect", str(folder / f"gone{name}.wav")])
    assert missing.exit_code == 1
    assert _terminal_safe(missing.stderr.replace("\n", ""))
    assert "file not found" in missing.stderr or "matches no audio files" in missing.stderr


# --- corrupt and truncated audio of every format ----------------------------------------------

FORMATS = {  # suffix: (soundfile format, subtype, rate)
    "wav": ("WAV", "PCM_16", 16000),
    "aiff": ("AIFF", "PCM_24", 16000),
    "w64": ("W64", "FLOAT", 16000),
    "flac": ("FLAC", "PCM_16", 16000),
    "ogg": ("OGG", "VORBIS", 16000),
    "opus": ("OGG", "OPUS", 48000),
    "mp3": ("MP3", "MPEG_LAYER_III", 16000),
}


@pytest.fixture(scope="module")
def whole_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    folder = tmp_path_factory.mktemp("whole")
    out = {}
    for suffix, (fmt, subtype, rate) in FORMATS.items():
        wave = speechlike(4.0, rate, seed=3)
        path = folder / f"x.{suffix}"
        sf.write(path, wave, rate, format=fmt, subtype=subtype)
        out[suffix] = path.read_bytes()
        vc.read_audio(path)  # whole files read cleanly
    return out


@pytest.mark.parametrize("suffix", FORMATS)
@given(cut=st.floats(0.05, 0.9))
@settings(max_examples=12, deadline=None, suppress_health_check=_FIXTURES)
def test_truncated_files_are_errors(
    suffix: str, cut: float, whole_files: dict[str, bytes],
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    data = whole_files[suffix]
    path = tmp_path_factory.mktemp("cut") / f"cut.{suffix}"
    path.write_bytes(data[: int(len(data) * cut)])
    for read in (vc.read_audio, lambda p: list(iter_audio(p))):
        with pytest.raises(AudioError) as e:
            read(path)
        assert "\n" not in str(e.value)


def test_a_truncated_wav_says_what_its_header_promised(
    whole_files: dict[str, bytes], tmp_path: Path
) -> None:
    data = whole_files["wav"]
    path = tmp_path / "half.wav"
    path.write_bytes(data[: len(data) // 2])
    declared = len(data) - 44  # the data chunk of a plain 16-bit PCM WAV
    with pytest.raises(AudioError, match=rf"truncated: its header declares {declared} bytes of "
                       rf"data, the file holds {len(data) // 2 - 44}"):
        vc.read_audio(path)


CORRUPTIBLE = ("flac", "ogg", "opus", "mp3")  # PCM formats have no redundancy to check


def test_files_corrupted_mid_stream_are_errors_in_the_cli(
    whole_files: dict[str, bytes], tiny_weights: Path, tmp_path: Path
) -> None:
    """One real process (the C decoders' stderr is the process's): each corrupted file is one
    error line, libmpg123's "Note:" lines never show, nothing is written."""
    paths = []
    for suffix in CORRUPTIBLE:
        data = bytearray(whole_files[suffix])
        mid = len(data) // 2
        noise = np.random.default_rng(0).integers(0, 256, 2000, np.uint8).tobytes()
        data[mid : mid + 2000] = noise
        paths.append(tmp_path / f"bad.{suffix}")
        paths[-1].write_bytes(bytes(data))
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "voicecnn", "detect", *map(str, paths), "-m", str(tiny_weights),
           "-f", "json", "-o", str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 1, proc.stderr
    assert "Note:" not in proc.stderr and "Traceback" not in proc.stderr
    errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("error:")]
    for path in paths:
        assert sum(path.name in ln for ln in errors) == 1, (path.name, errors)
    assert f"{len(paths)} of {len(paths)} input(s) failed" in errors[-1]
    assert not out.exists() or not any(out.iterdir())


def test_an_unwritable_output_folder_is_found_before_any_audio(
    wav_file: Path, tiny_weights: Path, tmp_path: Path
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = runner.invoke(
        app, ["detect", str(wav_file), "-m", str(tiny_weights), "-o", str(blocker / "out")]
    )
    assert result.exit_code == 1
    assert "cannot write to" in _one_line_error(result)


# --- the smaller ones ---------------------------------------------------------------------------


def test_symlink_loops_and_broken_links_say_so(tmp_path: Path, tiny_weights: Path) -> None:
    loop = tmp_path / "loop.wav"
    loop.symlink_to(loop)
    broken = tmp_path / "broken.wav"
    broken.symlink_to(tmp_path / "nowhere.wav")
    result = runner.invoke(app, ["detect", str(loop), str(broken), "-m", str(tiny_weights)])
    assert result.exit_code == 1
    assert "symbolic link loop" in result.stderr and "broken symbolic link" in result.stderr
    # inside a folder too, beside a good file
    sf.write(tmp_path / "good.wav", speechlike(0.5), 16000)
    result = runner.invoke(app, ["detect", str(tmp_path), "-m", str(tiny_weights), "-f", "json"])
    assert result.exit_code == 1 and "symbolic link loop" in result.stderr
    assert json.loads(result.stdout.splitlines()[0])["path"].endswith("good.wav")


def test_an_unreadable_subfolder_is_reported(
    tmp_path: Path, tiny_weights: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    (tmp_path / "locked").mkdir()
    sf.write(tmp_path / "good.wav", speechlike(0.5), 16000)
    real = os.scandir

    def scandir(path: Any = ".") -> Any:  # root ignores chmod 000: deny the listing here
        if str(path).endswith("locked"):
            raise PermissionError(13, "Permission denied", str(path))
        return real(path)

    monkeypatch.setattr(os, "scandir", scandir)
    result = runner.invoke(app, ["detect", str(tmp_path), "-m", str(tiny_weights), "-f", "json"])
    assert result.exit_code == 1
    assert "cannot list" in result.stderr and "locked" in result.stderr
    assert len(result.stdout.splitlines()) == 1  # the readable file was still processed


def test_jobs_above_the_cpus_are_capped(wav_file: Path, tiny_weights: Path) -> None:
    import os

    cpus = len(os.sched_getaffinity(0))
    result = runner.invoke(
        app, ["detect", str(wav_file), str(wav_file), "-m", str(tiny_weights), "-j", "999"]
    )
    assert result.exit_code == 0, result.stderr
    assert f"--jobs 999 is more than the {cpus} CPU(s) available; using {cpus}" in result.stderr


def test_split_of_a_file_without_speech_writes_nothing(tmp_path: Path, tiny_weights: Path) -> None:
    silent = tmp_path / "silent.wav"
    sf.write(silent, np.zeros(16000, np.float32), 16000)
    for keep in ([], ["--keep", "speech"]):
        out = tmp_path / f"out{len(keep)}"
        result = runner.invoke(
            app, ["split", str(silent), "-o", str(out), "-m", str(tiny_weights),
                  "--threshold", "1", *keep],
        )
        assert result.exit_code == 0, result.stderr
        assert "no speech found, nothing written" in result.stderr
        assert not out.exists() or not any(out.iterdir())


# --- listen without a sound server: overflows counted, a device that goes away ----------------


def _flaky_sounddevice(audio: np.ndarray, rate: int, *, every: int, stop_after: int) -> Any:
    """The fake sounddevice of test_cli_stream, whose stream flags an input overflow on every
    ``every``-th block and dies (PortAudio's ``active`` turns false) after ``stop_after``."""
    from tests.test_cli_stream import _fake_sounddevice

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
    line = _one_line_error(result)
    assert "stopped delivering audio" in line and "after 2.0 s" in line and "kept" in line
    lines = [json.loads(ln) for ln in result.stdout.splitlines()]
    summary = lines[-1]
    assert summary["overflows"] == 10 and summary["duration_s"] == 100 * block / rate
    assert "stopped delivering audio" in summary["error"]
    offline = vc.detect(vc.load_model(tiny_weights), audio[: 100 * block],
                        vc.DetectCfg(threshold=0.45, min_speech_s=0.1), sample_rate=rate)
    assert summary["segments"] == len(offline) == len(summary["saved"]) > 0


@pytest.fixture(scope="module")
def onnx_detector(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")
    from voicecnn.net.export import export_onnx

    path = tmp_path_factory.mktemp("onnx") / "vad.onnx"
    export_onnx(vc.create_model("vad_cnn1d_xs").eval(), path, arch="vad_cnn1d_xs")
    return path


@pytest.mark.parametrize(
    ("key", "value", "word"),
    [
        ("context_frames", "[1000000000, 0]", "s of audio"),
        ("context_frames", "[1, 2, 3]", "context_frames"),
        ("sample_rate", "1000000000000", "sample_rate"),
        ("hop_length", "-1", "hop_length"),
        ("config", "{not json", "config"),
    ],
)
def test_hostile_onnx_metadata(
    key: str, value: str, word: str, onnx_detector: Path, tmp_path: Path
) -> None:
    import onnx

    graph = onnx.load(str(onnx_detector))
    for prop in graph.metadata_props:
        if prop.key == key:
            prop.value = value
    path = tmp_path / "hostile.onnx"
    onnx.save(graph, str(path))
    with pytest.raises(CheckpointError) as e:
        vc.load_model(path)
    assert word in str(e.value) and "\n" not in str(e.value)
