"""The command-line app (voicecnn.cli): --version, --help and each command's help, lazy command
loading, entry points, usage errors and option ranges across commands (each command's own
tests: tests/test_cli_<command>.py)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import voicecnn as vc
from voicecnn.cli import COMMANDS, app

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
        # NaN: typer's range check or, where typer lets it through, the command's own
        ["detect", "x.wav", "--min-silence", "nan"],
        ["stream", "--pad", "nan"],
        ["split", "x.wav", "-o", "o", "--threshold", "nan"],
    ],
)
def test_bad_option_values_exit_2_without_traceback(args: list[str]) -> None:
    result = runner.invoke(app, args, input=b"")
    assert result.exit_code == 2, result.output
    out = result.output
    assert "Traceback" not in out and ("Invalid value" in out or out.startswith("error: ")), out
    assert args[-2] in out, out  # names the bad option


def test_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and result.stdout == f"voicecnn {vc.__version__}\n"


@pytest.mark.parametrize("command", ["detect", "split", "train", "stream"])
def test_flags_show_no_bool_placeholder(command: str) -> None:
    result = runner.invoke(app, [command, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert "<bool>" not in result.stdout
    assert "--help" in result.stdout
    if command == "detect":
        assert re.search(r"--frames\s+Include", result.stdout)  # no type between flag and help
        assert "<float range>" in result.stdout  # options with values keep their type


def test_help_lists_every_command_with_its_help() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    listed = re.findall(r"^│ (\w+) +(\S.*?) *│$", result.stdout, re.MULTILINE)
    assert [name for name, _ in listed] == list(COMMANDS)
    assert all(text for _, text in listed)


def _detect_json_in_fresh_process(wav: Path, weights: Path) -> tuple[str, list[str]]:
    """stdout of ``voicecnn detect WAV -f json`` run by ``main`` in a new interpreter, and the
    modules it had imported."""
    code = (
        "import sys\n"
        "from voicecnn.cli import main\n"
        f"sys.argv = ['voicecnn', 'detect', {str(wav)!r}, '-m', {str(weights)!r}, '-f', 'json']\n"
        "try:\n    main()\nexcept SystemExit as e:\n    assert not e.code, e.code\n"
        "print('MODULES', *sorted(sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    text, _, modules = out.rpartition("MODULES ")
    return text, modules.split()


def test_a_command_imports_only_its_own_module(wav_file: Path, tiny_weights: Path) -> None:
    """``voicecnn detect`` loads the detect command, not training's, export's or the mic's."""
    _, modules = _detect_json_in_fresh_process(wav_file, tiny_weights)
    cli = [m for m in modules if m.startswith("voicecnn.cli.")]
    assert cli == ["voicecnn.cli._options", "voicecnn.cli._render", "voicecnn.cli.detect"]


def test_machine_readable_output_does_not_import_rich(wav_file: Path, tiny_weights: Path) -> None:
    """rich (~50 ms of start-up) is imported to draw tables, bars and messages, not for JSON."""
    text, modules = _detect_json_in_fresh_process(wav_file, tiny_weights)
    assert json.loads(text)["segments"] is not None
    assert [m for m in modules if m.split(".")[0] == "rich"] == []


def test_help_joins_the_lines_of_a_paragraph_but_keeps_lists() -> None:
    from voicecnn.cli import _help

    doc = """Score MODEL.

        Detectors: ROC-AUC,
        and F1.

        Formats:
        - json
        - csv
        """
    assert _help(doc) == "Score MODEL.\n\nDetectors: ROC-AUC, and F1.\n\nFormats:\n- json\n- csv"
