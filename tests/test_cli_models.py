"""``voicecnn models`` (voicecnn.cli.models): architectures and bundled weights, as a table
or JSON."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

import voicecnn as vc
from voicecnn.cli import app

runner = CliRunner()


def _run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


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
