"""Hub layout (save_pretrained / load_model of a folder or Hub id), offline cache, push_to_hub,
torch.hub. Never the network: a local folder, a hand-built Hugging Face cache, stand-ins."""

from __future__ import annotations

import json
import os
import shutil
import stat
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
import torch

import voicecnn as vc
from tests.conftest import file_modes
from voicecnn.net import hub

REPO = Path(__file__).parents[1]
COMMIT = "0123456789abcdef0123456789abcdef01234567"


@pytest.fixture
def tiny() -> torch.nn.Module:
    torch.manual_seed(3)
    return vc.create_model("vad_cnn1d_xs").eval()


@pytest.fixture
def offline_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty Hugging Face cache under HF_HOME in tmp_path, HF_HUB_OFFLINE=1."""
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return tmp_path / "hf" / "hub"


def _same_outputs(a: Any, b: Any) -> None:
    """Equal logits, whichever engine each runs on (numpy from load_model, or torch)."""
    x = torch.randn(1, 8000)
    with torch.no_grad():
        outs = [np.asarray(m(x).numpy() if hasattr(m(x), "numpy") else m(x)) for m in (a, b)]
    np.testing.assert_allclose(outs[0], outs[1], rtol=1e-4, atol=1e-4)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_save_pretrained_writes_the_hub_layout(tmp_path: Path, tiny: Any) -> None:
    card = {"license": "cc-by-4.0",
            "train_sources": {"librispeech": {"licence": "CC BY 4.0", "origin": "LibriSpeech"}}}
    folder = vc.save_pretrained(tiny, tmp_path / "my-vad", card=card)  # arch found from cfg
    assert sorted(p.name for p in folder.iterdir()) == ["README.md", "config.json",
                                                         "model.safetensors"]
    umask = os.umask(0)
    os.umask(umask)
    assert all(_mode(p) == 0o666 & ~umask for p in folder.iterdir())
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    assert config["library_name"] == "voicecnn" and config["arch"] == "vad_cnn1d_xs"
    assert config["config"] == vc.cfg_to_dict(tiny.cfg)
    assert config["sample_rate"] == 16000 and config["frame_hop_s"] == tiny.frame_hop_s
    readme = (folder / "README.md").read_text(encoding="utf-8")
    assert readme.startswith("---\nlibrary_name: voicecnn\nlicense: cc-by-4.0\n")
    assert "| librispeech | CC BY 4.0 | LibriSpeech |" in readme
    assert 'voicecnn.load_model("my-vad")' in readme
    # the weights file is the same one save_weights writes: it alone rebuilds the model
    assert vc.read_metadata(folder / "model.safetensors")["card"] == card
    for ref in (folder, str(folder)):
        _same_outputs(vc.load_model(ref), tiny)


def test_save_pretrained_needs_arch_for_a_changed_config(tmp_path: Path) -> None:
    model = vc.create_model("vad_cnn1d_xs", dropout=0.3)
    with pytest.raises(vc.CheckpointError, match="pass arch=NAME"):
        vc.save_pretrained(model, tmp_path / "m")
    vc.save_pretrained(model, tmp_path / "m", arch="vad_cnn1d_xs")
    assert vc.load_model(tmp_path / "m").cfg == model.cfg


def test_a_folder_without_weights_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(vc.CheckpointError, match="load_module"):
        vc.save_pretrained(vc.load_model("vad_cnn2d_s"), tmp_path / "numpy")  # numpy engine
    (tmp_path / "empty").mkdir()
    with pytest.raises(vc.UnknownModelError, match="without model.safetensors"):
        vc.load_model(tmp_path / "empty")


def _cache_repo(cache: Path, repo_id: str, folder: Path, ref: str = "main") -> Path:
    """Place a saved folder in the cache as huggingface_hub lays out a download."""
    repo = cache / ("models--" + repo_id.replace("/", "--"))
    snap = repo / "snapshots" / COMMIT
    snap.mkdir(parents=True)
    for f in folder.iterdir():
        shutil.copy(f, snap / f.name)
    (repo / "refs").mkdir()
    (repo / "refs" / ref).write_text(COMMIT)
    return snap / "model.safetensors"


def test_hub_id_from_the_offline_cache(
    tmp_path: Path, tiny: Any, offline_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    weights = _cache_repo(offline_cache, "someone/tiny-vad",
                          vc.save_pretrained(tiny, tmp_path / "tiny-vad"))
    monkeypatch.chdir(tmp_path)  # no local folder named someone/tiny-vad
    _same_outputs(vc.load_model("someone/tiny-vad"), tiny)
    assert hub.resolve_pretrained("someone/tiny-vad", revision=COMMIT) == weights
    # the layout is huggingface_hub's own: it finds the same file offline
    from huggingface_hub import try_to_load_from_cache

    found = try_to_load_from_cache("someone/tiny-vad", "model.safetensors",
                                   cache_dir=offline_cache)
    assert Path(str(found)) == weights
    with pytest.raises(vc.UnknownModelError, match="HF_HUB_OFFLINE is set"):
        vc.load_model("someone/other-vad")


def test_only_an_uncached_hub_id_downloads(
    tmp_path: Path, tiny: Any, offline_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import huggingface_hub

    monkeypatch.delenv("HF_HUB_OFFLINE")
    monkeypatch.chdir(tmp_path)
    saved = vc.save_pretrained(tiny, tmp_path / "saved")
    _cache_repo(offline_cache, "someone/cached", saved)
    calls: list[tuple[str, str]] = []

    def fake_download(repo_id: str, filename: str, **kw: Any) -> str:
        calls.append((repo_id, filename))
        assert kw["cache_dir"] == offline_cache
        if repo_id != "someone/remote":
            response = SimpleNamespace(headers={}, request=None)  # what the error reads
            raise huggingface_hub.errors.RepositoryNotFoundError("404", response=response)
        return str(_cache_repo(offline_cache, repo_id, saved))

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", fake_download)
    vc.load_model("someone/cached")
    assert calls == []  # in the cache: no network call
    _same_outputs(vc.load_model("someone/remote"), tiny)
    assert calls == [("someone/remote", "model.safetensors")]
    vc.load_model("someone/remote")  # now cached
    assert len(calls) == 1
    with pytest.raises(vc.UnknownModelError, match="nor a Hub model"):
        vc.load_model("someone/missing")


def test_push_to_hub_uploads_the_folder(
    tmp_path: Path, tiny: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import huggingface_hub

    seen: dict[str, Any] = {}

    def create_repo(self: Any, repo_id: str, **kw: Any) -> None:
        seen["repo"] = (repo_id, kw)

    def upload_folder(self: Any, *, repo_id: str, folder_path: Path, **kw: Any) -> Any:
        seen["files"] = {p.name: p.read_bytes() for p in Path(folder_path).iterdir()}
        return type("Info", (), {"commit_url": f"https://hub/{repo_id}/commit/1"})()

    monkeypatch.setattr(huggingface_hub.HfApi, "create_repo", create_repo)
    monkeypatch.setattr(huggingface_hub.HfApi, "upload_folder", upload_folder)
    url = vc.push_to_hub(tiny, "someone/tiny-vad", private=True)
    assert url == "https://hub/someone/tiny-vad/commit/1"
    assert seen["repo"] == ("someone/tiny-vad", {"private": True, "exist_ok": True})
    assert sorted(seen["files"]) == ["README.md", "config.json", "model.safetensors"]
    assert b"# someone/tiny-vad" in seen["files"]["README.md"]
    # a folder already saved goes up as it is
    folder = vc.save_pretrained(tiny, tmp_path / "f")
    vc.push_to_hub(folder, "someone/f")
    assert seen["files"]["model.safetensors"] == (folder / "model.safetensors").read_bytes()
    with pytest.raises(vc.CheckpointError, match="not a Hub model id"):
        vc.push_to_hub(folder, "no-owner")
    with pytest.raises(vc.CheckpointError, match="save_pretrained first"):
        vc.push_to_hub(tmp_path, "someone/x")


def test_torch_hub_load_local() -> None:
    model = torch.hub.load(str(REPO), "voicecnn", source="local", trust_repo=True)
    _same_outputs(model, vc.load_model())
    named = torch.hub.load(str(REPO), "voicecnn", "vad_cnn1d_s", source="local")
    _same_outputs(named, vc.load_model("vad_cnn1d_s"))


def test_cli_detect_takes_a_hub_folder_and_a_cached_id(
    tmp_path: Path, tiny: Any, wav_file: Path, offline_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from voicecnn.cli import app

    folder = vc.save_pretrained(tiny, tmp_path / "tiny-vad")
    _cache_repo(offline_cache, "someone/tiny-vad", folder)
    monkeypatch.chdir(tmp_path / "hf")
    outputs = []
    for ref in (str(folder), "someone/tiny-vad"):
        result = CliRunner().invoke(app, ["detect", str(wav_file), "-m", ref, "-f", "json"])
        assert result.exit_code == 0, result.output
        outputs.append(result.stdout)
    assert outputs[0] == outputs[1]
    result = CliRunner().invoke(app, ["detect", str(wav_file), "-m", "someone/none"])
    assert result.exit_code == 1 and "HF_HUB_OFFLINE is set" in result.stderr


def test_cache_folder_follows_huggingface_hub_s_variables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("HF_HUB_CACHE", "HF_HOME", "XDG_CACHE_HOME"):
        monkeypatch.delenv(name, raising=False)
    assert hub.hub_cache_dir() == Path("~/.cache/huggingface/hub").expanduser()
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert hub.hub_cache_dir() == tmp_path / "xdg" / "huggingface" / "hub"
    monkeypatch.setenv("HF_HOME", str(tmp_path / "home"))
    assert hub.hub_cache_dir() == tmp_path / "home" / "hub"
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "cache"))
    assert hub.hub_cache_dir() == tmp_path / "cache"
    assert hub.is_hub_id("someone/vad-1.0") and not hub.is_hub_id("vad_cnn2d_s")
    assert not hub.is_hub_id("runs/best.safetensors") and not hub.is_hub_id("a/b/c")


def test_hub_folder_gets_a_new_files_permissions(
    tiny_weights: Path, tmp_path: Path, umask: int
) -> None:
    model = vc.load_module(tiny_weights)
    vc.save_pretrained(model, tmp_path / "hub", arch="vad_cnn1d_xs")
    modes = file_modes(tmp_path / "hub")
    assert len(modes) == 3 and set(modes.values()) == {0o666 & ~umask}
