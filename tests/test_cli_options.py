"""Detection options (voicecnn.cli._options): declared once, with DetectCfg's defaults, and checked
the same way in every command that takes them."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

import voicecnn as vc
from tests.conftest import one_line_error, speechlike
from voicecnn.cli import app

runner = CliRunner()

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
        line = one_line_error(result)
        assert field in line, (name, line)
        assert not out.exists() or not any(out.iterdir()), name  # nothing written


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
