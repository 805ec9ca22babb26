"""Weights files: one ``.safetensors`` whose metadata rebuilds the model (no pickle).

Metadata keys: ``voicecnn`` (format version), ``arch`` (registry name), ``config`` (the model's
config as JSON) and optional free-form ``card`` (JSON: training data, figures). Bundled weights
live in ``voicecnn/weights/`` and are read through :mod:`importlib.resources`.

Reading is torch-free: :func:`load_model` gives detectors on the numpy engine
(:class:`voicecnn.net.engine.NumpyVad`, tensors read by ``safetensors.numpy``); torch is imported
only to save, average, or load a torch module (:func:`load_module`, ``load_model(device=...)``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from safetensors import SafetensorError

from voicecnn.config import cfg_from_dict, cfg_to_dict, jsonable
from voicecnn.errors import CheckpointError, ConfigError, UnknownModelError
from voicecnn.io.files import atomic_write_bytes, read_bytes
from voicecnn.net.metadata import (
    build_checked,
    check_config,
    check_context,
    check_finite,
    check_shapes_if_torch,
    decode_metadata,
)
from voicecnn.net.models.vad_spec import VARIANTS, VadCnnCfg, context_frames

if TYPE_CHECKING:
    from torch import nn

    from voicecnn.net.engine import NumpyVad

__all__ = [
    "DEFAULT_MODEL",
    "FORMAT_VERSION",
    "atomic_write_bytes",
    "average_weights",
    "bundled_models",
    "load_model",
    "load_module",
    "read_metadata",
    "save_weights",
]

FORMAT_VERSION = "1"
DEFAULT_MODEL = "vad_cnn2d_s"
_WEIGHTS_PACKAGE = "voicecnn.weights"


def save_weights(
    model: nn.Module, path: str | Path, *, arch: str, card: dict[str, Any] | None = None
) -> None:
    """Save ``model``'s weights and config to a ``.safetensors`` file, atomically.

    Args:
        model: A registered model with a dataclass ``cfg`` attribute.
        path: Destination file.
        arch: Registry name of the architecture (see :func:`voicecnn.list_models`).
        card: Optional model-card facts stored as JSON in the metadata.
    """
    from safetensors.torch import save as st_save

    from voicecnn.net.models import is_model, list_models

    if not is_model(arch):
        raise UnknownModelError(f"unknown model {arch!r}; registered: {', '.join(list_models())}")
    cfg = getattr(model, "cfg", None)
    if cfg is None:
        raise CheckpointError(f"{type(model).__name__} has no 'cfg' to save")
    meta = {"voicecnn": FORMAT_VERSION, "arch": arch, "config": json.dumps(cfg_to_dict(cfg))}
    if card is not None:
        meta["card"] = json.dumps(jsonable(card), allow_nan=False)
    tensors = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    atomic_write_bytes(path, st_save(tensors, metadata=meta))


def _header(data: bytes, where: str) -> dict[str, str]:
    """The voicecnn metadata of a safetensors file, its fields checked (one-line errors)."""
    try:
        n = int.from_bytes(data[:8], "little")
        if len(data) < 8 or n > len(data) - 8:
            raise ValueError("truncated header")
        header = json.loads(data[8 : 8 + n])
    except (ValueError, UnicodeDecodeError) as e:
        raise CheckpointError(f"'{where}' is not a safetensors weights file") from e
    meta = header.get("__metadata__") if isinstance(header, dict) else None
    if not isinstance(meta, dict) or "arch" not in meta or "config" not in meta:
        raise CheckpointError(f"'{where}' has no voicecnn metadata (arch, config)")
    for key in ("voicecnn", "arch", "config", "card"):
        if key in meta and not isinstance(meta[key], str):
            raise CheckpointError(f"'{where}': metadata {key!r} must be a string")
    return meta


def _tensors(data: bytes, where: str, *, torch: bool = False) -> dict[str, Any]:
    """The tensors of a safetensors file: numpy arrays, or torch tensors with ``torch``."""
    try:
        if torch:
            from safetensors.torch import load as torch_load

            return torch_load(data)
        from safetensors.numpy import load as numpy_load

        return numpy_load(data)
    except (SafetensorError, ValueError) as e:
        raise CheckpointError(f"'{where}' is not a safetensors weights file") from e


def _read(data: bytes, where: str) -> tuple[dict[str, Any], dict[str, str]]:
    meta = _header(data, where)
    return _tensors(data, where, torch=True), meta


def read_metadata(name_or_path: str | Path) -> dict[str, Any]:
    """The metadata of a weights file or bundled model: arch, config and card as dicts."""
    data, where = _locate(name_or_path)
    return _decoded(_header(data, where), where)


def _decoded(meta: dict[str, str], where: str = "weights") -> dict[str, Any]:
    """Raw safetensors metadata as arch, config and card (dicts), each checked for type."""
    return decode_metadata(meta, where)


def bundled_models() -> list[str]:
    """Names of the weights shipped inside the package."""
    root = resources.files(_WEIGHTS_PACKAGE)
    return sorted(
        p.name.removesuffix(".safetensors")
        for p in root.iterdir()
        if p.name.endswith(".safetensors")
    )


def _locate(name_or_path: str | Path) -> tuple[bytes, str]:
    text = str(name_or_path)
    bundled = resources.files(_WEIGHTS_PACKAGE).joinpath(f"{text}.safetensors")
    if "/" not in text and bundled.is_file():
        return bundled.read_bytes(), f"bundled:{text}"
    p = Path(name_or_path)
    if p.is_dir() or (not p.exists() and p.suffix != ".safetensors" and _is_hub_id(text)):
        from voicecnn.net._hub import resolve_pretrained  # a Hub folder, or a Hub id (cache first)

        path = resolve_pretrained(text)
        return read_bytes(path, CheckpointError), str(path)
    if p.suffix == ".safetensors" or p.exists():
        return read_bytes(p, CheckpointError), str(p)
    known = ", ".join(bundled_models()) or "none"
    if _is_arch(text):
        raise UnknownModelError(
            f"{text!r} is an architecture without bundled weights (bundled: {known}); "
            "train it or pass a .safetensors file"
        )
    raise UnknownModelError(
        f"unknown model {text!r}: not a bundled model ({known}) nor an existing file"
    )


def _is_hub_id(text: str) -> bool:
    from voicecnn.net._hub import is_hub_id

    return is_hub_id(text)


def _is_arch(name: str) -> bool:
    """Whether ``name`` is a registered architecture (VAD ones are known without torch)."""
    if name in VARIANTS:
        return True
    try:
        from voicecnn.net.models import is_model
    except ImportError:  # an install without torch knows the VAD architectures only
        return False
    return is_model(name)


def load_model(name_or_path: str | Path | None = None, *, device: str | None = None) -> Any:
    """Load trained weights for inference.

    Detectors load on the numpy engine (:class:`voicecnn.net.engine.NumpyVad`), which needs no
    torch and equals the torch model (within float32 rounding); with a ``device``, or for an
    architecture the numpy engine does not run (image and clip classifiers), the torch module
    comes back, in eval mode. Typed ``Any``: the architecture is only known at run time.

    Args:
        name_or_path: A bundled model name (see :func:`bundled_models`), a ``.safetensors``
            path, a folder written by :func:`voicecnn.save_pretrained` (Hugging Face Hub
            layout), a Hub id ``"owner/name"`` (read from the Hugging Face cache; downloaded
            only when not cached, see :mod:`voicecnn.net.hub`), an ``.onnx`` file from
            :func:`voicecnn.net.export.export_onnx` or
            :func:`~voicecnn.net.export.export_classifier_onnx` (run by onnxruntime), or ``None``
            for the default bundled model.
        device: ``None`` for the numpy engine; a torch device (``"cpu"``, ``"cuda"``) for
            the torch module there.

    Raises:
        UnknownModelError: If the name is neither bundled nor an existing file.
        CheckpointError: If the file is unreadable or does not match its architecture.
    """
    if name_or_path is not None and str(name_or_path).endswith(".onnx"):
        from voicecnn.net.export import load_onnx

        return load_onnx(name_or_path)
    target = DEFAULT_MODEL if name_or_path is None else name_or_path
    if device is None:
        data, where = _locate(target)
        meta = _header(data, where)
        if meta["arch"] in VARIANTS:
            return _numpy_model(data, where, meta)
    return load_module(target, device=device or "cpu")


def _numpy_model(data: bytes, where: str, meta: dict[str, str]) -> NumpyVad:
    from voicecnn.net.engine import NumpyVad

    arch = meta["arch"]
    config = _decoded(meta, where)["config"]
    check_config(config, where)  # every field's type, range and caps before anything is built
    try:
        cfg = cfg_from_dict(VadCnnCfg, config, where=f"{where}: config")
        check_context(context_frames(cfg), cfg.frontend.hop_s, where)
        tensors = _tensors(data, where)
        check_finite(tensors, where, arch)
        check_shapes_if_torch(arch, cfg, tensors, where)
        return NumpyVad(cfg, tensors, arch=arch)
    except (ConfigError, ValueError, TypeError) as e:
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise CheckpointError(f"'{where}' does not match architecture {arch!r}: {msg}") from e


def load_module(name_or_path: str | Path | None = None, *, device: str = "cpu") -> Any:
    """Load trained weights as the torch module of their architecture, in eval mode.

    What training (``init``), export and GPU batching need; imports torch.

    Args:
        name_or_path: A bundled model name or a ``.safetensors`` path; ``None`` for the
            default bundled model.
        device: Torch device to put the model on.

    Raises:
        UnknownModelError: If the name is neither bundled nor an existing file.
        CheckpointError: If the file is unreadable or does not match its architecture.
    """
    model, _ = _load_with_metadata(DEFAULT_MODEL if name_or_path is None else name_or_path)
    return model.to(device).eval()


def _load_with_metadata(name_or_path: str | Path) -> tuple[Any, dict[str, Any]]:
    """The model of a weights file or bundled model (on the CPU) and its decoded metadata,
    from one read of the file."""
    data, where = _locate(name_or_path)
    tensors, meta = _read(data, where)
    return build_checked(meta, tensors, where)  # every field checked before building


def average_weights(
    sources: Sequence[str | Path], out: str | Path, weights: Sequence[float] | None = None
) -> dict[str, Any]:
    """Write the weighted average of models of one architecture and config to ``out``.

    Averaging a fine-tune with the weights it started from (weight-space ensembling,
    "WiSE-FT") keeps much of what the start did on conditions the fine-tune's data lacked;
    averaging the checkpoints of one run smooths its noise. Floating-point tensors (weights,
    batch-norm statistics) are averaged; counters come from the first source.

    Args:
        sources: Two or more bundled names or ``.safetensors`` paths.
        out: Destination ``.safetensors`` file (written atomically).
        weights: One non-negative weight per source (normalised to sum 1); ``None`` = equal.

    Returns:
        The card written: ``averaged`` lists each source, its weight and its own card.

    Raises:
        ConfigError: For fewer than two sources or unusable weights.
        CheckpointError: If a source is unreadable or differs in architecture or config.
    """
    if len(sources) < 2:
        raise ConfigError("averaging needs two or more models")
    w = [1.0] * len(sources) if weights is None else [float(x) for x in weights]
    if len(w) != len(sources):
        raise ConfigError(f"{len(w)} weight(s) for {len(sources)} models")
    if any(not x >= 0 for x in w) or not sum(w) > 0:
        raise ConfigError(f"weights must be >= 0 with a positive sum, got {w}")
    w = [x / sum(w) for x in w]
    models, metas = zip(*(_load_with_metadata(s) for s in sources), strict=True)
    first = metas[0]
    for src, meta in zip(sources[1:], metas[1:], strict=True):
        if meta["arch"] != first["arch"]:
            what = f"architecture ({meta['arch']} vs {first['arch']})"
        else:
            keys = sorted(k for k in first["config"] if meta["config"].get(k) != first["config"][k])
            what = f"config ({', '.join(keys)})" if keys else ""
        if what:
            raise CheckpointError(
                f"'{src}' differs from '{sources[0]}' in {what}: only models of one "
                "architecture and config average"
            )
    states = [m.state_dict() for m in models]
    avg = {
        k: sum(x * s[k].double() for x, s in zip(w, states, strict=True)).to(v.dtype)
        if v.is_floating_point()
        else v
        for k, v in states[0].items()
    }
    model = models[0]
    model.load_state_dict(avg)
    card = {
        "averaged": [
            {"source": str(s), "weight": x, "card": m["card"]}
            for s, x, m in zip(sources, w, metas, strict=True)
        ]
    }
    save_weights(model, out, arch=first["arch"], card=card)
    return card
