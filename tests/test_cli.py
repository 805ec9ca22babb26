"""The command-line app (voicecnn.cli): entry points, usage errors and option ranges across
commands (each command's own tests: tests/test_cli_<command>.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from voicecnn.cli import app

runner = CliRunner()


@pytest.mark.parametrize("args", [
    ["detect", "x.wav", "--threshold", "2"],
    ["detect", "x.wav", "--format", "xml"],
    ["detect"],
    ["nope"],
])
def test_usage_errors_exit_2(args: list[str]) -> None:
    assert runner.invoke(app, args).exit_code == 2


def test_python_dash_m_entry_point(wav_file: Path, tiny_weights: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "voicecnn", "detect", str(wav_file), "-m", str(tiny_weights),
         "-f", "json"], capture_output=True, text=True, check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["duration_s"] == pytest.approx(3.0)


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
