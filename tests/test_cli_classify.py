"""``voicecnn classify`` through typer's CliRunner, with untrained models saved to tmp_path."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from PIL import Image
from typer.testing import CliRunner

import voicecnn as vc
from voicecnn.cli import app

from .conftest import speechlike

runner = CliRunner()
DIGITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


def _run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def image_weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    torch.manual_seed(0)
    model = vc.create_model("img_cnn2d_s", class_names=DIGITS).eval()
    path = tmp_path_factory.mktemp("weights") / "digits.safetensors"
    vc.save_weights(model, path, arch="img_cnn2d_s")
    return path


@pytest.fixture
def png(tmp_path: Path) -> Path:
    """A 40x32 RGB picture (the model takes 28x28 greyscale: the CLI converts it)."""
    rng = np.random.default_rng(0)
    path = tmp_path / "digit.png"
    Image.fromarray(rng.integers(0, 256, (40, 32, 3), dtype=np.uint8)).save(path)
    return path


def _expected_probs(weights: Path, png: Path) -> torch.Tensor:
    from voicecnn.data.images import load_image, normalize

    model = vc.load_model(weights)
    x = torch.from_numpy(normalize(load_image(png, (28, 28), 1)[None], (0.5,), (0.5,)))
    with torch.no_grad():
        return model(x).softmax(-1)[0]  # type: ignore[no-any-return]


def test_json_lists_top_k_in_order(image_weights: Path, png: Path) -> None:
    code, out, err = _run("classify", str(png), "--model", str(image_weights), "-f", "json",
                          "--top-k", "3")
    assert code == 0, err
    (line,) = out.strip().splitlines()
    obj = json.loads(line)
    assert obj["path"] == str(png) and len(obj["predictions"]) == 3
    probs = [p["probability"] for p in obj["predictions"]]
    assert probs == sorted(probs, reverse=True) and all(0 <= p <= 1 for p in probs)
    expected = _expected_probs(image_weights, png)
    for pred in obj["predictions"]:
        assert pred["label"] == DIGITS[pred["index"]]
        assert pred["probability"] == pytest.approx(float(expected[pred["index"]]), abs=1e-5)
    assert obj["predictions"][0]["index"] == int(expected.argmax())


def test_table_and_top_k_capped_at_the_classes(image_weights: Path, png: Path) -> None:
    code, out, err = _run("classify", str(png), "-m", str(image_weights), "-k", "50")
    assert code == 0, err
    assert "digit.png" in out and "probability" in out
    assert sum(name in out.split() for name in DIGITS) == 10  # all 10 classes, no more


def test_bad_files_are_reported_and_the_batch_goes_on(
    image_weights: Path, png: Path, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not a picture")
    code, out, err = _run("classify", str(bad), str(png), str(tmp_path / "missing.png"),
                          "-m", str(image_weights), "-f", "json")
    assert code == 1
    assert [json.loads(ln)["path"] for ln in out.strip().splitlines()] == [str(png)]
    assert "bad.png" in err and "missing.png" in err and "Traceback" not in err
    assert len([ln for ln in err.splitlines() if "error" in ln]) == 2


def test_directory_of_images(image_weights: Path, png: Path, tmp_path: Path) -> None:
    Image.new("L", (28, 28), 255).save(tmp_path / "white.bmp")
    code, out, err = _run("classify", str(tmp_path), "-m", str(image_weights), "-f", "json")
    assert code == 0, err
    assert sorted(Path(json.loads(ln)["path"]).name for ln in out.splitlines()) == [
        "digit.png", "white.bmp"]


def test_gap_model_takes_images_at_their_size(png: Path, tmp_path: Path) -> None:
    model = vc.create_model("img_cnn2d_gap", num_classes=3).eval()
    weights = tmp_path / "gap.safetensors"
    vc.save_weights(model, weights, arch="img_cnn2d_gap")
    tiny = tmp_path / "tiny.png"
    Image.new("L", (4, 4)).save(tiny)
    code, out, err = _run("classify", str(png), str(tiny), "-m", str(weights), "-f", "json")
    assert code == 1 and "smaller than the model's minimum 8x8" in err
    (line,) = out.splitlines()
    assert {p["label"] for p in json.loads(line)["predictions"]} == {"0", "1", "2"}


def test_clip_model_classifies_audio(tmp_path: Path, wav_file: Path) -> None:
    model = vc.create_model("clip_cnn2d_s", num_classes=2, class_names=("dog", "rain")).eval()
    weights = tmp_path / "clip.safetensors"
    vc.save_weights(model, weights, arch="clip_cnn2d_s")
    sf.write(tmp_path / "short.wav", speechlike(0.3), 16000)
    code, out, err = _run("classify", str(wav_file), str(tmp_path / "short.wav"), "-m",
                          str(weights), "-f", "json", "-k", "1")
    assert code == 0, err
    lines = [json.loads(ln) for ln in out.splitlines()]
    assert [len(obj["predictions"]) for obj in lines] == [1, 1]
    assert all(obj["predictions"][0]["label"] in {"dog", "rain"} for obj in lines)


def test_not_a_classifier_or_no_model(tiny_weights: Path, png: Path) -> None:
    code, _, err = _run("classify", str(png), "-m", str(tiny_weights))
    assert code == 1 and "not an image or clip classifier" in err
    code, _, err = _run("classify", str(png), "-m", "no_such_model")
    assert code == 1 and "unknown model" in err
    code, _, _ = _run("classify", str(png))
    assert code == 2  # --model is required
