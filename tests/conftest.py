"""Shared fixtures: tiny models and generated audio, nothing downloaded.

Where a test goes (tests/test_layout.py keeps it true):

- ``tests/test_<name>.py`` tests the voicecnn module that ``<name>`` names: its path below
  ``voicecnn/`` joined by ``_``, shortened from the left as far as it names one module:
  ``test_segments.py`` is voicecnn/detection/segments.py, ``test_annotations_rttm.py``
  data/annotations/rttm.py. Where the last part repeats, the folder comes along:
  ``test_models_image.py`` (net/models/image.py) and ``test_train_image.py`` (train/image.py). A
  package is named by its folder (``test_layers.py``), a private module without its ``_``
  (``test_cli_render.py`` is cli/_render.py).
- The commands keep their ``cli_`` prefix: ``test_cli_stream.py`` is the ``stream`` command
  (voicecnn/cli/stream.py), ``test_stream.py`` is voicecnn/detection/stream.py;
  ``test_cli.py`` is the app itself.
- A test lives in the file of the module whose behaviour it checks, even when it drives that
  module through the CLI; ``test_cli_<command>.py`` holds what the command adds (options,
  output, exit codes).
- A few files are about the project as a whole (``PROJECT_WIDE`` in tests/test_layout.py: the
  layout, README, wheel, licences, bench/, recipes/, the inference-only install), each with a
  docstring saying so.

Markers: ``slow`` (end-to-end runs: left out of ``python -m pytest``, run by CI next with
``python -m pytest -m slow``; everything: ``python -m pytest -m ""``), ``gpu`` (skipped without
CUDA), ``no_torch`` (a file that also runs on the inference-only install: without torch, only
the files that carry it are collected, see ``pytest_ignore_collect`` below).
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf

import voicecnn as vc
from tests.train_data import annotated_folder, make_clips

try:
    import torch
except ImportError:  # the inference-only install: the tests that need torch skip
    torch = None  # type: ignore[assignment]


def pytest_ignore_collect(collection_path: Path) -> bool | None:
    """Without torch (the inference-only install), only the test files marked ``no_torch``
    are collected: the others import torch and could not even be collected there."""
    if torch is None and collection_path.name.startswith("test_") and collection_path.is_file():
        return "mark.no_torch" not in collection_path.read_text(encoding="utf-8")
    return None


@pytest.fixture(autouse=True)
def _seed_and_one_thread() -> Iterator[None]:
    """Seeded torch; one thread: tiny models run faster so, and tests do not fight for cores."""
    if torch is None:
        yield
        return
    torch.manual_seed(0)
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def speechlike(duration_s: float, sample_rate: int = 16000, *, seed: int = 0) -> np.ndarray:
    """Harmonic bursts with a wandering pitch over faint noise (not speech, but not flat)."""
    rng = np.random.default_rng(seed)
    n = int(duration_s * sample_rate)
    t = np.arange(n) / sample_rate
    f0 = 120 + 40 * np.sin(2 * np.pi * 0.7 * t)
    phase = 2 * np.pi * np.cumsum(f0) / sample_rate
    voiced = sum(np.sin(k * phase) / k for k in range(1, 12))
    envelope = (np.sin(2 * np.pi * 2.5 * t) > 0).astype(np.float64)
    x = 0.3 * voiced * envelope + 0.003 * rng.standard_normal(n)
    return x.astype(np.float32)


def one_line_error(result: Any) -> str:
    """The first ``error:`` line of a CliRunner result's stderr (there must be one, and no
    traceback): how every command reports bad input."""
    err = result.stderr
    assert "Traceback" not in err, err
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    lines = [ln for ln in err.splitlines() if ln.strip()]
    errors = [ln for ln in lines if ln.startswith("error:")]
    assert len(errors) >= 1, err
    return errors[0]


@pytest.fixture(scope="session")
def tiny_weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An untrained vad_cnn1d_xs saved as a weights file (for plumbing tests)."""
    if torch is None:
        pytest.skip("needs torch to make a model")
    torch.manual_seed(0)
    model = vc.create_model("vad_cnn1d_xs").eval()
    path = tmp_path_factory.mktemp("weights") / "tiny.safetensors"
    vc.save_weights(model, path, arch="vad_cnn1d_xs", card={"note": "untrained test model"})
    return path


@pytest.fixture
def wav_file(tmp_path: Path) -> Path:
    """A 3 s, 16 kHz mono wav."""
    path = tmp_path / "clip.wav"
    sf.write(path, speechlike(3.0), 16000)
    return path


@pytest.fixture(scope="module")
def recordings(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Six annotated 4 s recordings (``rec*.wav`` with ``rec*.csv``) in a folder."""
    return annotated_folder(tmp_path_factory.mktemp("recordings"))


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny ESC-like tree: ``<class>/<fold>-<id>-A.wav``, three classes, two folds."""
    return make_clips(tmp_path_factory.mktemp("clips") / "esc")


@pytest.fixture(params=[0o022, 0o002])
def umask(request: pytest.FixtureRequest) -> Iterator[int]:
    """The process umask set to each usual value for the test (files written must follow it)."""
    old = os.umask(request.param)
    yield request.param
    os.umask(old)


def file_modes(folder: Path) -> dict[str, int]:
    """Permission bits of the files in ``folder``, by name."""
    return {p.name: stat.S_IMODE(p.stat().st_mode) for p in folder.iterdir() if p.is_file()}


def json_lines(out: str) -> list[dict[str, Any]]:
    """The JSON objects of a command's JSON Lines output."""
    return [json.loads(line) for line in out.strip().splitlines()]


def event_segments(lines: list[dict[str, Any]]) -> list[Any]:
    """The segments that a stream's start/end events describe."""
    from voicecnn.detection.stream import SpeechEvent, events_to_segments

    events = [SpeechEvent(d["event"], d["time_s"]) for d in lines if d.get("event") in
              ("start", "end")]
    return events_to_segments(events)


def rounded(segs: list[Any]) -> list[tuple[float, float]]:
    """Segments as (start, end) pairs rounded to the millisecond."""
    return [(round(s.start, 3), round(s.end, 3)) for s in segs]


def cli(*args: Any) -> tuple[int, str, str]:
    """``voicecnn ARGS`` through typer's runner: exit code, stdout, stderr."""
    from typer.testing import CliRunner

    from voicecnn.cli import app

    result = CliRunner().invoke(app, [str(a) for a in args])
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def gap_weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An untrained global-average-pooling image model's weights (tests.train_data)."""
    from tests.train_data import save_gap_model

    return save_gap_model(tmp_path_factory.mktemp("weights") / "gap.safetensors")


def assert_picture(path: Path) -> None:
    """``path`` is a drawn PNG: large, not blank, many colours."""
    from matplotlib.image import imread

    image = imread(path)  # (H, W, 4) floats in [0, 1]
    assert image.shape[0] > 300 and image.shape[1] > 600
    rgb = image[..., :3]
    assert rgb.std() > 0.05  # not a blank canvas
    assert len(np.unique(rgb.reshape(-1, 3).round(2), axis=0)) > 50  # many colours drawn
