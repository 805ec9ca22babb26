"""voicecnn.net.metadata: hostile model metadata (every config field, the card, the tensors) is
refused with one line, in bounded memory and time, by both loaders and in the CLI."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import save_file
from typer.testing import CliRunner

import voicecnn as vc
from tests.conftest import one_line_error
from voicecnn.cli import app
from voicecnn.errors import CheckpointError

runner = CliRunner()

_BASE = "vad_cnn2d_s"
def _source() -> tuple[dict[str, str], dict[str, torch.Tensor]]:
    path = str(Path(vc.__file__).parent / "weights" / f"{_BASE}.safetensors")
    with safe_open(path, "pt") as f:
        return dict(f.metadata()), {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118


def _cfg(fn: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, str]], None]:
    def edit(meta: dict[str, str]) -> None:
        config = json.loads(meta["config"])
        fn(config)
        meta["config"] = json.dumps(config)

    return edit


def _set(*path: Any, value: Any) -> Callable[[dict[str, str]], None]:
    def fn(config: dict[str, Any]) -> None:
        node = config
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value

    return _cfg(fn)


def _raw(key: str, value: str | None) -> Callable[[dict[str, str]], None]:
    def edit(meta: dict[str, str]) -> None:
        if value is None:
            meta.pop(key)
        else:
            meta[key] = value

    return edit


METADATA_CASES: dict[str, tuple[Callable[[dict[str, str]], None], str]] = {
    "depth_huge": (_set("temporal", 1, "depth", value=1_000_000), "depth"),
    "depth_zero": (_set("temporal", 1, "depth", value=0), "depth"),
    "dilation_huge": (_set("temporal", 1, "dilation", value=10**9), "dilation"),
    "kernel_huge": (_set("stages", 0, "kernel", value=1001), "kernel"),
    "channels_huge": (_set("temporal", 0, "channels", value=10**7), "channels"),
    "channels_shape": (_set("temporal", 0, "channels", value=4096), "shape"),
    "pool_huge": (_set("stages", 0, "pool", value=[10**6, 1]), "pool"),
    "lookahead_negative": (_set("temporal", 1, "lookahead", value=-5), "lookahead"),
    "sample_rate_huge": (_set("frontend", "sample_rate", value=10**12), "sample_rate"),
    "sample_rate_zero": (_set("frontend", "sample_rate", value=0), "sample_rate"),
    "sample_rate_float": (_set("frontend", "sample_rate", value=16000.5), "sample_rate"),
    "n_fft_huge": (_set("frontend", "n_fft", value=10**9), "n_fft"),
    "hop_zero": (_set("frontend", "hop_length", value=0), "hop_length"),
    "hop_above_fft": (_set("frontend", "hop_length", value=800), "hop_length"),
    "n_mels_huge": (_set("frontend", "n_mels", value=100_000), "n_mels"),
    "n_mels_above_bins": (_set("frontend", "n_mels", value=300), "n_mels"),
    "n_mels_string": (_set("frontend", "n_mels", value="64"), "n_mels"),
    "f_max_negative": (_set("frontend", "f_max_hz", value=-100), "f_max_hz"),
    "f_min_above_nyquist": (_set("frontend", "f_min_hz", value=9000.0), "f_min_hz"),
    "log_eps_zero": (_set("frontend", "log_eps", value=0.0), "log_eps"),
    "dropout_one": (_set("dropout", value=1.5), "dropout"),
    "dims_three": (_set("dims", value=3), "dims"),
    "stages_empty": (_set("stages", value=[]), "stage"),
    "stages_many": (_set("temporal", value=[{"channels": 8}] * 100), "stages"),
    "context_minutes": (
        _set("temporal", value=[{"channels": 48, "kernel": 3, "dilation": 4096}] * 7),
        "s of audio",
    ),
    "unknown_key": (_set("extra", value=1), "extra"),
    "config_not_object": (_raw("config", "[1, 2]"), "config"),
    "config_not_json": (_raw("config", "{depth: 1"), "config"),
    "config_nan": (_raw("config", '{"dropout": NaN}'), "NaN"),
    "config_missing": (_raw("config", None), "config"),
    "card_not_json": (_raw("card", "{not json"), "card"),
    "card_not_object": (_raw("card", '"text"'), "card"),
    "arch_empty": (_raw("arch", ""), "arch"),
    "arch_unknown": (_raw("arch", "vad_cnn9d_zz"), "vad_cnn9d_zz"),
    "arch_control": (_raw("arch", "vad\x1b[31m"), "arch"),
    "version_text": (_raw("voicecnn", "one"), "voicecnn"),
}
TENSOR_CASES: dict[str, tuple[Callable[[dict[str, torch.Tensor]], None], str]] = {
    "tensor_nan": (lambda t: t["head.proj.weight"].fill_(math.nan), "NaN"),
    "tensor_missing": (lambda t: t.pop("head.proj.weight"), "missing tensor"),
    "tensor_extra": (lambda t: t.update(extra=torch.zeros(3)), "holds tensor"),
    "tensor_shape": (lambda t: t.update({"head.proj.weight": torch.zeros(1, 3, 1)}), "shape"),
}
_CAPPED = textwrap.dedent(
    """
    import json, resource, sys
    cap = 2 << 30  # 2 GiB of address space: loading a bundled model needs well under that
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    import voicecnn as vc
    from voicecnn.net.checkpoint import load_module
    vc.load_model("{base}")  # the cap leaves room for a real model
    for path in sys.argv[1:]:
        for loader, load in (("numpy", vc.load_model), ("torch", load_module)):
            try:
                load(path)
                out = {{"error": None}}
            except BaseException as e:
                out = {{"error": type(e).__name__, "message": str(e)}}
            print(json.dumps({{"path": path, "loader": loader, **out}}))
    """
)


@pytest.fixture(scope="module")
def hostile_weights(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, str]]:
    meta, tensors = _source()
    folder = tmp_path_factory.mktemp("hostile_weights")
    out: dict[str, tuple[Path, str]] = {}
    for name, (edit, word) in METADATA_CASES.items():
        m = dict(meta)
        edit(m)
        save_file(tensors, folder / f"{name}.safetensors", metadata=m)
        out[name] = (folder / f"{name}.safetensors", word)
    for name, (tensor_edit, word) in TENSOR_CASES.items():
        t = {k: v.clone() for k, v in tensors.items()}
        tensor_edit(t)
        save_file(t, folder / f"{name}.safetensors", metadata=meta)
        out[name] = (folder / f"{name}.safetensors", word)
    return out


@pytest.mark.slow
def test_hostile_metadata_is_rejected_in_bounded_memory_and_time(
    hostile_weights: dict[str, tuple[Path, str]],
) -> None:
    """Every case is refused with one CheckpointError line, in a process whose address space is
    capped at 2 GiB (uncapped, ``depth = 1e6`` had reached 5.5 GB), within the timeout."""
    paths = [str(p) for p, _ in hostile_weights.values()]
    proc = subprocess.run(
        [sys.executable, "-c", _CAPPED.format(base=_BASE), *paths],
        capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    rows = [json.loads(ln) for ln in proc.stdout.splitlines()]
    assert {(Path(r["path"]).stem, r["loader"]) for r in rows} == {
        (name, loader) for name in hostile_weights for loader in ("numpy", "torch")
    }
    for r in rows:
        name = Path(r["path"]).stem
        if name == "channels_shape" and r["loader"] == "numpy":
            continue  # the numpy engine takes its sizes from the tensors, not the config
        assert r["error"] == "CheckpointError", r
        word = hostile_weights[name][1]
        assert "\n" not in r["message"] and word in r["message"], (name, r["message"])


@pytest.mark.parametrize("name", ["depth_huge", "card_not_json", "f_max_negative", "tensor_nan"])
def test_hostile_metadata_in_the_cli(
    name: str, hostile_weights: dict[str, tuple[Path, str]], wav_file: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    path, word = hostile_weights[name]
    result = runner.invoke(app, ["detect", str(wav_file), "-m", str(path), "-o", str(out)])
    assert result.exit_code == 1
    assert word in one_line_error(result)
    assert not out.exists() or not any(out.iterdir())
    if name == "card_not_json":  # reading the metadata alone
        with pytest.raises(CheckpointError, match="card"):
            vc.read_metadata(path)
