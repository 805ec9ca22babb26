"""Import rules of the architecture (STYLE.md §2), checked on the source."""

from __future__ import annotations

import ast
from pathlib import Path

PKG = Path(__file__).parents[1] / "voicecnn"


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def _modules() -> dict[str, set[str]]:
    return {str(p.relative_to(PKG)): _imports(p) for p in PKG.rglob("*.py")}


def test_cli_libraries_stay_in_cli() -> None:
    for name, imports in _modules().items():
        if not name.startswith("cli/"):
            assert not imports & {"typer", "rich"}, name
        if name != "cli/listen.py":
            assert "sounddevice" not in imports, name


def test_light_modules_do_not_import_torch_or_librosa() -> None:
    mods = _modules()
    for name in ("audio.py", "segments.py", "config.py", "errors.py", "pcm.py"):
        assert not mods[name] & {"torch", "librosa"}, name
    for name, imports in mods.items():  # librosa is for tests and data preparation only
        assert "librosa" not in imports, name


def test_ray_stays_in_its_module() -> None:
    for name, imports in _modules().items():
        if name != "ray_batch.py":
            assert "ray" not in imports, name
