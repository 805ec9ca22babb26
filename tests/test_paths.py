"""voicecnn.io.paths: unreadable inputs (symbolic link loops, broken links) are named for what they
are."""

from __future__ import annotations

import json
from pathlib import Path

import soundfile as sf
from typer.testing import CliRunner

from tests.conftest import speechlike
from voicecnn.cli import app

runner = CliRunner()


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
