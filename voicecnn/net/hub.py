"""Sharing models in the Hugging Face Hub layout: a folder of ``model.safetensors``,
``config.json`` and a model card ``README.md``.

:func:`save_pretrained` writes such a folder; :func:`voicecnn.load_model` reads it back, from a
local folder or, given a Hub id (``"owner/name"``), from the Hugging Face cache. Offline first:
a Hub id already in the cache (``$HF_HUB_CACHE``, else ``$HF_HOME/hub``, else
``~/.cache/huggingface/hub``) is read from there without any network call and without
``huggingface_hub``; only a Hub id that is not cached is downloaded, through ``huggingface_hub``
(``pip install "voicecnn[hub]"``), and never when ``HF_HUB_OFFLINE`` is set.
:func:`push_to_hub` uploads a folder through ``huggingface_hub``.

``model.safetensors`` is the same file :func:`voicecnn.save_weights` writes (its metadata alone
rebuilds the model); ``config.json`` repeats the architecture and config for the Hub's pages and
for tools that read JSON.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from torch import nn

from voicecnn.config import cfg_to_dict, jsonable
from voicecnn.errors import CheckpointError
from voicecnn.net._hub import (
    CONFIG_FILE,
    LIBRARY_NAME,
    MODEL_CARD_FILE,
    WEIGHTS_FILE,
    hub_cache_dir,
    is_hub_id,
    resolve_pretrained,
)
from voicecnn.net.checkpoint import FORMAT_VERSION, atomic_write_bytes, save_weights
from voicecnn.net.models import create_model, list_models

__all__ = [
    "CONFIG_FILE",
    "MODEL_CARD_FILE",
    "WEIGHTS_FILE",
    "hub_cache_dir",
    "is_hub_id",
    "push_to_hub",
    "resolve_pretrained",
    "save_pretrained",
]

def _arch_of(model: nn.Module) -> str:
    """The registered architecture whose default config is ``model``'s, when one is."""
    cfg = getattr(model, "cfg", None)
    for name in list_models():
        candidate = create_model(name)
        if type(candidate) is type(model) and candidate.cfg == cfg:
            return name
    raise CheckpointError(
        f"cannot tell the architecture of this {type(model).__name__} (its config is no "
        "registered model's default): pass arch=NAME"
    )


def _card_markdown(name: str, arch: str, config: dict[str, Any], card: dict[str, Any]) -> str:
    """A model card: YAML front matter for the Hub, use, training data and licences, facts."""
    licence = str(card.get("license", "other"))
    lines = [
        "---",
        f"library_name: {LIBRARY_NAME}",
        f"license: {licence}",
        "tags:",
        "- voice-activity-detection",
        "- audio",
        "- speech",
        f"- {LIBRARY_NAME}",
        "pipeline_tag: voice-activity-detection",
        "---",
        "",
        f"# {name}",
        "",
        f"A voice activity detector of architecture `{arch}` for "
        f"[voicecnn](https://pypi.org/project/voicecnn/): one speech probability per frame.",
        "",
        "```python",
        "import voicecnn",
        "",
        f'model = voicecnn.load_model("{name}")  # a Hub id or this folder',
        'result = voicecnn.detect_file(model, "talk.wav")',
        "```",
        "",
    ]
    sources = card.get("train_sources") or card.get("sources")
    if sources:
        lines += ["## Training data and licences", ""]
        if isinstance(sources, dict):
            lines += ["| source | licence | origin |", "|---|---|---|"]
            for key, value in sources.items():
                info = value if isinstance(value, dict) else {"licence": str(value)}
                lines.append(f"| {key} | {info.get('licence', '')} | {info.get('origin', '')} |")
        else:
            lines.append(str(sources))
        lines.append("")
    facts = {"arch": arch, "config": config, "card": card}
    lines += [
        "## Facts",
        "",
        "```json",
        json.dumps(jsonable(facts), indent=1, allow_nan=False),
        "```",
        "",
    ]
    return "\n".join(lines)


def save_pretrained(
    model: nn.Module,
    save_directory: str | os.PathLike[str],
    *,
    arch: str | None = None,
    card: dict[str, Any] | None = None,
    name: str | None = None,
) -> Path:
    """Write ``model`` as a Hub folder: ``model.safetensors``, ``config.json``, ``README.md``.

    Each file is written atomically with the usual permissions; existing files are replaced.

    Args:
        model: A registered model (a ``cfg`` attribute), e.g. from :func:`voicecnn.load_model`.
        save_directory: The folder (created if missing).
        arch: Registry name of the architecture; ``None`` = the one whose default config the
            model has.
        card: Model-card facts (training data, licences, figures) stored in the weights'
            metadata and written into ``README.md``; a ``license`` key (a Hub licence id such
            as ``"cc-by-4.0"``) goes into the card's front matter.
        name: Title of the model card (default: the folder's name).

    Returns:
        The folder.
    """
    folder = Path(save_directory).expanduser()
    if not hasattr(model, "state_dict"):
        raise CheckpointError(
            f"{type(model).__name__} is an inference engine, not a torch module: save the module "
            "(voicecnn.load_module(name), or the one you trained)"
        )
    arch = _arch_of(model) if arch is None else arch
    card = dict(card or {})
    save_weights(model, folder / WEIGHTS_FILE, arch=arch, card=card)
    config = cfg_to_dict(model.cfg)  # save_weights checked it exists
    meta: dict[str, Any] = {
        "library_name": LIBRARY_NAME,
        "voicecnn": FORMAT_VERSION,
        "arch": arch,
        "config": config,
    }
    for key in ("sample_rate", "frame_hop_s"):
        if hasattr(model, key):
            meta[key] = getattr(model, key)
    text = json.dumps(jsonable(meta), indent=1, allow_nan=False) + "\n"
    atomic_write_bytes(folder / CONFIG_FILE, text.encode("utf-8"))
    markdown = _card_markdown(name or folder.resolve().name, arch, config, card)
    atomic_write_bytes(folder / MODEL_CARD_FILE, markdown.encode("utf-8"))
    return folder


def push_to_hub(
    model_or_folder: nn.Module | str | os.PathLike[str],
    repo_id: str,
    *,
    arch: str | None = None,
    card: dict[str, Any] | None = None,
    private: bool | None = None,
    token: str | None = None,
    commit_message: str = "Upload voicecnn model",
) -> str:
    """Upload a model (written by :func:`save_pretrained` first) or a saved folder to the Hub.

    Needs ``huggingface_hub`` (``pip install "voicecnn[hub]"``) and a token (``token=``, or
    ``huggingface-cli login``). The repository is created if it does not exist.

    Returns:
        The URL of the commit.

    Raises:
        CheckpointError: If ``huggingface_hub`` is missing, the folder lacks a file, or the
            upload fails.
    """
    try:
        from huggingface_hub import HfApi
        from huggingface_hub.errors import HfHubHTTPError
    except ImportError as e:
        raise CheckpointError(
            'push_to_hub needs huggingface_hub: pip install "voicecnn[hub]"'
        ) from e
    if not is_hub_id(repo_id):
        raise CheckpointError(f"'{repo_id}' is not a Hub model id (owner/name)")
    with tempfile.TemporaryDirectory() as tmp:
        if isinstance(model_or_folder, nn.Module):
            folder = save_pretrained(
                model_or_folder, Path(tmp) / repo_id.split("/")[1], arch=arch, card=card,
                name=repo_id,
            )
        else:
            folder = Path(model_or_folder).expanduser()
        missing = [f for f in (WEIGHTS_FILE, CONFIG_FILE) if not (folder / f).is_file()]
        if missing:
            raise CheckpointError(f"'{folder}' lacks {', '.join(missing)}: save_pretrained first")
        api = HfApi(token=token)
        try:
            api.create_repo(repo_id, private=private, exist_ok=True)
            info = api.upload_folder(
                repo_id=repo_id, folder_path=folder, commit_message=commit_message
            )
        except (HfHubHTTPError, OSError) as e:
            first = str(e).splitlines()[0] if str(e) else type(e).__name__
            raise CheckpointError(f"cannot push to '{repo_id}': {first}") from e
    return str(getattr(info, "commit_url", info))
