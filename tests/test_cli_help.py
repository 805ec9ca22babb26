"""--version, inputs as a shell glob gives them, help texts that match the code and docs/cli.md."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

import voicecnn as vc
from voicecnn.cli import COMMANDS, app

REPO = Path(__file__).parents[1]
runner = CliRunner()


def test_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and result.stdout == f"voicecnn {vc.__version__}\n"


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


def test_a_command_imports_only_its_own_module(wav_file: Path, tiny_weights: Path) -> None:
    """``voicecnn detect`` loads the detect command, not training's, export's or the mic's."""
    code = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from voicecnn.cli import app\n"
        f"r = CliRunner().invoke(app, ['detect', {str(wav_file)!r}, '-m', {str(tiny_weights)!r},"
        " '-f', 'json'])\n"
        "assert r.exit_code == 0, r.output\n"
        "print(' '.join(sorted(m for m in sys.modules if m.startswith('voicecnn.cli.'))))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.split() == ["voicecnn.cli._options", "voicecnn.cli._render", "voicecnn.cli.detect"]
