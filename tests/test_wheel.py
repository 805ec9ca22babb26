"""The built wheel carries the bundled weights and works from a clean virtual environment.

Project-wide: it checks the package as built and installed, not one module."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]


@pytest.mark.slow
def test_wheel_installs_and_loads_bundled_weights(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(tmp_path / "dist"), str(ROOT)],
        check=True, capture_output=True,
    )
    (wheel,) = (tmp_path / "dist").glob("voicecnn-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert any(n.startswith("voicecnn/weights/") and n.endswith(".safetensors") for n in names)
    assert "voicecnn/py.typed" in names
    assert not any(n.startswith(("tests/", "recipes/", "samples/")) for n in names)

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    py = venv / "bin" / "python"
    site = subprocess.run(
        [py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True, capture_output=True, text=True,
    ).stdout.strip()
    with zipfile.ZipFile(wheel) as zf:  # a wheel install is an unzip into site-packages
        zf.extractall(site)
    # Dependencies (torch, numpy...) come from this environment's site-packages through
    # PYTHONPATH, which skips its .pth files, so the editable checkout is not importable.
    env = {**os.environ, "PYTHONPATH": sysconfig.get_paths()["purelib"]}
    sample = ROOT / "samples" / "speech_over_noise.flac"
    code = (
        "import json, voicecnn as vc; m = vc.load_model(); "
        f"d = vc.detect_file(m, {str(sample)!r}); "
        "print(json.dumps({'file': vc.__file__, 'n': len(d.segments), "
        "'bundled': vc.bundled_models()}))"
    )
    out = subprocess.run([py, "-c", code], check=True, capture_output=True, text=True, env=env,
                         cwd=tmp_path)
    result = json.loads(out.stdout)
    assert result["file"].startswith(site)
    assert result["n"] >= 1
    assert result["bundled"]
