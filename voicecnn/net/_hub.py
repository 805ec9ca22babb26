"""Finding a model in the Hugging Face Hub layout: a local folder, or a Hub id read from the
cache (downloaded only when not cached). :mod:`voicecnn.net.hub` is the public side; this module
imports nothing of voicecnn's models, so :mod:`voicecnn.net.checkpoint` can use it."""

from __future__ import annotations

import os
import re
from pathlib import Path

from voicecnn.errors import CheckpointError, UnknownModelError

WEIGHTS_FILE = "model.safetensors"
CONFIG_FILE = "config.json"
MODEL_CARD_FILE = "README.md"
LIBRARY_NAME = "voicecnn"
_HUB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*/[A-Za-z0-9][A-Za-z0-9_.-]*$")
_TRUE = {"1", "on", "yes", "true"}


def is_hub_id(text: str) -> bool:
    """Whether ``text`` has the form of a Hub model id, ``owner/name`` (not a file name)."""
    return bool(_HUB_ID.match(text)) and not text.endswith((".safetensors", ".onnx", ".json"))


def hub_cache_dir() -> Path:
    """The Hugging Face cache folder, as ``huggingface_hub`` finds it (read at each call)."""
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"]).expanduser()
    home = os.environ.get("HF_HOME") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or "~/.cache", "huggingface"
    )
    return Path(home).expanduser() / "hub"


def _offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in _TRUE


def _cached(repo_id: str, revision: str) -> Path | None:
    """``model.safetensors`` of ``repo_id`` at ``revision`` (a branch, tag or commit) in the
    cache, or ``None``: the cache layout is ``models--OWNER--NAME/refs/REV`` (holding a commit
    hash) and ``snapshots/COMMIT/FILE``."""
    repo = hub_cache_dir() / ("models--" + repo_id.replace("/", "--"))
    ref = repo / "refs" / revision
    try:
        commit = ref.read_text(encoding="utf-8").strip() if ref.is_file() else revision
    except OSError:
        return None
    path = repo / "snapshots" / commit / WEIGHTS_FILE
    return path if path.is_file() else None


def resolve_pretrained(name_or_path: str | os.PathLike[str], *, revision: str = "main") -> Path:
    """The ``model.safetensors`` of a local folder or of a Hub id.

    A folder holding ``model.safetensors`` is used as it is. A Hub id is looked up in the
    cache; only when it is not there, and ``HF_HUB_OFFLINE`` is not set, is it downloaded with
    ``huggingface_hub``.

    Raises:
        UnknownModelError: For a folder without ``model.safetensors``, or a Hub id that is not
            cached while offline, or that the Hub does not know.
        CheckpointError: If a download is needed but ``huggingface_hub`` is missing or fails.
    """
    text = os.fspath(name_or_path)
    p = Path(text).expanduser()
    if p.is_dir():
        if not (p / WEIGHTS_FILE).is_file():
            raise UnknownModelError(f"'{p}' is a folder without {WEIGHTS_FILE}")
        return p / WEIGHTS_FILE
    if not is_hub_id(text):
        raise UnknownModelError(f"'{text}' is neither a model folder nor a Hub id (owner/name)")
    cached = _cached(text, revision)
    if cached is not None:
        return cached
    if _offline():
        raise UnknownModelError(
            f"'{text}' is neither a local file or folder nor in the Hugging Face cache "
            f"({hub_cache_dir()}), and HF_HUB_OFFLINE is set"
        )
    return _download(text, revision)


def _download(repo_id: str, revision: str) -> Path:
    try:
        from huggingface_hub import hf_hub_download
        from huggingface_hub.errors import (
            EntryNotFoundError,
            HfHubHTTPError,
            LocalEntryNotFoundError,
            RepositoryNotFoundError,
            RevisionNotFoundError,
        )
    except ImportError as e:
        raise CheckpointError(
            f"'{repo_id}' is neither a local file or folder nor in the Hugging Face cache "
            f"({hub_cache_dir()}); downloading it needs huggingface_hub: "
            'pip install "voicecnn[hub]"'
        ) from e
    try:
        path = hf_hub_download(
            repo_id, WEIGHTS_FILE, revision=revision, cache_dir=hub_cache_dir(),
            library_name=LIBRARY_NAME,
        )
    except (RepositoryNotFoundError, RevisionNotFoundError, EntryNotFoundError) as e:
        raise UnknownModelError(
            f"'{repo_id}' is neither a local file or folder nor a Hub model with {WEIGHTS_FILE} "
            f"at revision {revision!r}"
        ) from e
    except (LocalEntryNotFoundError, HfHubHTTPError, OSError) as e:
        first = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise CheckpointError(f"cannot download '{repo_id}' from the Hub: {first}") from e
    return Path(str(path))
