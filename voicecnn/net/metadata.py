"""Checks on a weights file's metadata, before anything is built from it.

A weights file from elsewhere is untrusted input: its ``config`` decides how many layers,
channels and samples the model allocates and how much audio every frame looks at. Every field is
checked here for its type, its range and the caps below (which bound the memory and time a
model can take), and the model's parameter shapes are derived on torch's ``meta`` device (no
memory) and compared with the file's tensors, so a model is only built when the file holds
exactly the tensors its metadata describes. Every failure is one :class:`CheckpointError` line.

:func:`decode_metadata` and :func:`check_config` need no torch; :func:`build_checked` does.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from voicecnn.errors import CheckpointError, ConfigError
from voicecnn.io.escape import terminal

__all__ = [
    "CAPS",
    "check_onnx_metadata",
    "MAX_CONTEXT_S",
    "MAX_LAYERS",
    "MAX_STAGES",
    "build_checked",
    "check_config",
    "check_context",
    "check_finite",
    "check_shapes_if_torch",
    "check_tensors",
    "decode_metadata",
]

#: Inclusive (lowest, highest) value of integer config fields, wherever they appear.
CAPS: dict[str, tuple[int, int]] = {
    "sample_rate": (1_000, 192_000),
    "n_fft": (16, 16_384),
    "hop_length": (1, 16_384),
    "n_mels": (1, 512),
    "channels": (1, 4_096),
    "in_channels": (1, 64),
    "depth": (1, 64),
    "kernel": (1, 64),
    "dilation": (1, 4_096),
    "lookahead": (0, 4_096 * 63),
    "num_classes": (1, 100_000),
    "dims": (1, 2),
}
#: Largest value of each entry of these integer-list fields.
LIST_CAPS: dict[str, tuple[int, int]] = {
    "pool": (1, 64),
    "pool_stride": (1, 64),
    "input_size": (1, 4_096),
}
MAX_LAYERS = 256  # conv blocks in one model, all stages together
MAX_STAGES = 64  # entries of one list of stages
MAX_CONTEXT_S = 60.0  # seconds of audio one output frame may depend on


def _fail(where: str, message: str) -> CheckpointError:
    # keys and values come from the file: escaped, so the message stays one line
    return CheckpointError(terminal(f"'{where}': {message}"))


def _mismatch(where: str, arch: str, message: str) -> CheckpointError:
    head = f"'{where}' does not match architecture {arch!r}" if arch else f"'{where}'"
    return CheckpointError(terminal(f"{head}: {message}"))


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _json(text: Any, key: str, where: str) -> Any:
    if not isinstance(text, str):
        raise _fail(where, f"metadata {key!r} must be a string")
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as e:  # JSONDecodeError is a ValueError
        raise _fail(where, f"metadata {key!r} is not JSON ({_first_line(e)})") from e


def _first_line(e: BaseException) -> str:
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__


def decode_metadata(meta: Mapping[str, Any], where: str) -> dict[str, Any]:
    """The raw safetensors metadata as ``{"arch", "config", "card"}``, each checked for type.

    Raises:
        CheckpointError: If ``arch`` is missing or not a name, or ``config`` or ``card`` is not
            a JSON object (NaN and infinities are not JSON).
    """
    arch = meta.get("arch")
    if not isinstance(arch, str) or not arch or len(arch) > 200 or not arch.isprintable():
        raise _fail(where, "metadata 'arch' is not an architecture name")
    version = meta.get("voicecnn")
    if version is not None and not (isinstance(version, str) and version.isdigit()):
        raise _fail(where, "metadata 'voicecnn' (format version) is not a number")
    if "config" not in meta:
        raise _fail(where, "has no voicecnn metadata 'config'")
    config = _json(meta["config"], "config", where)
    card = _json(meta["card"], "card", where) if "card" in meta else {}
    for key, value in (("config", config), ("card", card)):
        if not isinstance(value, dict):
            raise _fail(where, f"metadata {key!r} must be a JSON object")
    return {"arch": arch, "config": config, "card": card}


def _walk(value: Any, path: str) -> Iterator[tuple[str, str, Any]]:
    """Every (dotted path, key, value) below ``value``, lists included."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield f"{path}.{k}", str(k), v
            yield from _walk(v, f"{path}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _walk(v, f"{path}[{i}]")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def check_config(config: Mapping[str, Any], where: str) -> None:
    """Check a model config (plain JSON values) against the caps and its own consistency.

    Integer fields named in :data:`CAPS` and :data:`LIST_CAPS` must be integers in range
    wherever they appear; every number must be finite; the stage lists are bounded
    (:data:`MAX_STAGES` entries, :data:`MAX_LAYERS` conv blocks in all); a ``frontend`` must
    have ``0 <= f_min_hz < f_max_hz <= sample_rate / 2``, ``n_mels <= n_fft // 2 + 1``,
    ``hop_length <= n_fft`` and ``0 < log_eps <= 1``.

    Raises:
        CheckpointError: Naming the first field that fails.
    """
    try:
        _check_fields(config, where)
    except RecursionError as e:
        raise _fail(where, "config nests too deeply") from e


def _check_fields(config: Mapping[str, Any], where: str) -> None:
    layers = 0
    for path, key, value in _walk(dict(config), "config"):
        if _number(value) and not math.isfinite(value):
            raise _fail(where, f"{path} = {value} is not a finite number")
        if key in CAPS and value is not None:
            lo, hi = CAPS[key]
            if not _is_int(value) or not lo <= value <= hi:
                raise _fail(where, f"{path} = {_show(value)} must be an integer in [{lo}, {hi}]")
        if key in LIST_CAPS and isinstance(value, list):  # other types: the typed config
            lo, hi = LIST_CAPS[key]
            if not all(_is_int(v) and lo <= v <= hi for v in value):
                raise _fail(
                    where, f"{path} = {_show(value)} must be a list of integers in [{lo}, {hi}]"
                )
        if key in ("stages", "temporal") and isinstance(value, list):
            if len(value) > MAX_STAGES:
                raise _fail(where, f"{path} has {len(value)} stages (at most {MAX_STAGES})")
            layers += sum(
                int(st.get("depth", 1))
                for st in value
                if isinstance(st, dict) and _is_int(st.get("depth", 1))
            )
        if key in ("dropout",) and _number(value) and not 0.0 <= value < 1.0:
            raise _fail(where, f"{path} = {_show(value)} must be in [0, 1)")
        if (
            key == "std"
            and isinstance(value, list)
            and any(not (_number(v) and v > 0) for v in value)
        ):
            raise _fail(where, f"{path} = {_show(value)} must hold positive numbers")
        if key == "frontend" and isinstance(value, dict):
            _check_frontend(value, path, where)
    if layers > MAX_LAYERS:
        raise _fail(where, f"config has {layers} conv blocks (at most {MAX_LAYERS})")


def _show(value: Any) -> str:
    text = json.dumps(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _check_frontend(fe: Mapping[str, Any], path: str, where: str) -> None:
    """The frontend's fields against each other (defaults as :class:`FrontendCfg`'s)."""
    rate, n_fft = fe.get("sample_rate", 16000), fe.get("n_fft", 400)
    hop, n_mels = fe.get("hop_length", 160), fe.get("n_mels", 64)
    f_min, f_max, eps = fe.get("f_min_hz", 0.0), fe.get("f_max_hz"), fe.get("log_eps", 1e-6)
    if not all(_is_int(v) for v in (rate, n_fft, hop, n_mels)):
        return  # reported by the caps, or by the typed config
    if hop > n_fft:
        raise _fail(where, f"{path}.hop_length = {hop} exceeds n_fft = {n_fft}")
    if n_mels > n_fft // 2 + 1:
        raise _fail(where, f"{path}.n_mels = {n_mels} exceeds n_fft // 2 + 1 = {n_fft // 2 + 1}")
    if not _number(f_min) or not 0.0 <= f_min < rate / 2:
        raise _fail(where, f"{path}.f_min_hz = {_show(f_min)} must be in [0, sample_rate / 2)")
    if f_max is not None and (not _number(f_max) or not f_min < f_max <= rate / 2):
        raise _fail(
            where, f"{path}.f_max_hz = {_show(f_max)} must be in (f_min_hz, sample_rate / 2]"
        )
    if not _number(eps) or not 0.0 < eps <= 1.0:
        raise _fail(where, f"{path}.log_eps = {_show(eps)} must be in (0, 1]")


def check_tensors(
    expected: Mapping[str, tuple[int, ...]],
    tensors: Mapping[str, Any],
    where: str,
    arch: str = "",
) -> None:
    """The file's tensors against the shapes the config implies: same names, same shapes, and
    finite values in every floating-point tensor.

    Args:
        expected: Name -> shape of every tensor the model holds.
        tensors: Name -> torch tensor or numpy array read from the file (no torch needed for
            numpy arrays).
        where: The file, for messages.
        arch: The architecture, for messages.

    Raises:
        CheckpointError: Naming the first tensor that is missing, unexpected, of another shape,
            or holds NaN or infinities.
    """
    missing = sorted(set(expected) - set(tensors))
    extra = sorted(set(tensors) - set(expected))
    for names, what in (
        (missing, "missing tensor {} that its config needs"),
        (extra, "holds tensor {} that its config does not describe"),
    ):
        if names:
            more = f" (and {len(names) - 1} more)" if len(names) > 1 else ""
            raise _mismatch(where, arch, what.format(repr(names[0])) + more)
    for name, shape in expected.items():
        t = tensors[name]
        if tuple(t.shape) != tuple(shape):
            raise _mismatch(
                where,
                arch,
                f"tensor {name!r} has shape {list(t.shape)}, its config says {list(shape)}",
            )
        if _floating(t) and not _finite(t):
            raise _mismatch(where, arch, f"tensor {name!r} holds NaN or infinite values")


def check_context(context: tuple[int, int], frame_hop_s: float, where: str) -> None:
    """At most :data:`MAX_CONTEXT_S` of audio per output frame (past, the frame, future).

    Raises:
        CheckpointError: Otherwise.
    """
    span_s = (sum(context) + 1) * frame_hop_s
    if span_s > MAX_CONTEXT_S:
        raise _fail(
            where, f"each frame would look at {span_s:.4g} s of audio (at most {MAX_CONTEXT_S:g} s)"
        )


def check_finite(tensors: Mapping[str, Any], where: str, arch: str = "") -> None:
    """No NaN or infinity in any floating-point tensor (torch or numpy).

    Raises:
        CheckpointError: Naming the first tensor that holds one.
    """
    for name, t in tensors.items():
        if _floating(t) and not _finite(t):
            raise _mismatch(where, arch, f"tensor {name!r} holds NaN or infinite values")


def check_shapes_if_torch(arch: str, cfg: Any, tensors: Mapping[str, Any], where: str) -> None:
    """Where torch is already imported, the tensors' names and shapes against those ``cfg``
    implies (derived on the ``meta`` device, nothing allocated). Otherwise nothing: the numpy
    engine takes its sizes from the tensors, so memory stays bounded by the file.

    Raises:
        CheckpointError: If the shapes differ.
    """
    if "torch" not in sys.modules:  # the torch-free path stays torch-free (and fast to start)
        return
    import torch

    from voicecnn.net.models import create_model

    with torch.device("meta"):
        try:
            skeleton = type(create_model(arch))(cfg)
        except (ValueError, TypeError, RuntimeError) as e:
            raise _mismatch(where, arch, _first_line(e)) from e
    named = {k: tuple(v.shape) for k, v in skeleton.state_dict().items()}
    check_tensors(named, canonical_names(cfg, tensors), where, arch)


def canonical_names(cfg: Any, tensors: Mapping[str, Any]) -> dict[str, Any]:
    """A detector's tensors under today's names (files saved before conv blocks had named
    children name them by position); other models' as they are."""
    from voicecnn.net.models.vad_spec import VadCnnCfg, vad_spec

    if isinstance(cfg, VadCnnCfg):
        from voicecnn.net.engine import rename_legacy

        return rename_legacy(vad_spec(cfg), tensors)
    return dict(tensors)


def _floating(t: Any) -> bool:
    """Whether a torch tensor or numpy array holds floating-point values."""
    flag = getattr(t.dtype, "is_floating_point", None)  # torch
    return bool(flag) if flag is not None else bool(np.issubdtype(t.dtype, np.floating))


def _finite(t: Any) -> bool:
    return bool(t.isfinite().all()) if hasattr(t, "isfinite") else bool(np.isfinite(t).all())


def build_checked(
    meta: Mapping[str, Any], tensors: Mapping[str, Any], where: str
) -> tuple[Any, dict[str, Any]]:
    """Check everything, then build the model of a weights file with its tensors loaded.

    Order: metadata types (:func:`decode_metadata`), the config's fields and caps
    (:func:`check_config`), the typed config, the model's skeleton on torch's ``meta`` device
    (nothing allocated) and its receptive field (at most :data:`MAX_CONTEXT_S`), the tensors
    (:func:`check_tensors`); only then the model itself.

    Returns:
        ``(model, decoded metadata)``: the model on the CPU in train mode.

    Raises:
        CheckpointError: One line naming the first problem.
    """
    import torch

    from voicecnn.config import cfg_from_dict
    from voicecnn.net.models import create_model, is_model

    decoded = decode_metadata(meta, where)
    arch = decoded["arch"]
    if not is_model(arch):
        raise _fail(where, f"needs architecture {arch!r}, unknown to this voicecnn")
    check_config(decoded["config"], where)
    with torch.device("meta"):  # skeletons: shapes without memory
        default = create_model(arch)
        cls = type(default)
        try:
            cfg = cfg_from_dict(type(default.cfg), decoded["config"], where="config")
            skeleton = cls(cfg)
        except (ConfigError, ValueError, TypeError, RuntimeError) as e:
            raise _fail(where, f"does not match architecture {arch!r}: {_first_line(e)}") from e
    context = getattr(skeleton, "context_frames", None)
    hop_s = getattr(skeleton, "frame_hop_s", None)
    if context is not None and hop_s is not None:
        check_context(context, hop_s, where)
    shapes = {k: tuple(v.shape) for k, v in skeleton.state_dict().items()}
    tensors = canonical_names(cfg, tensors)
    check_tensors(shapes, tensors, where, arch)
    try:
        model = cls(cfg)
        model.load_state_dict(dict(tensors), strict=True)
    except (RuntimeError, ValueError, TypeError) as e:
        raise _fail(where, f"does not match architecture {arch!r}: {_first_line(e)}") from e
    return model, decoded


def check_onnx_metadata(
    meta: Mapping[str, str], where: str
) -> tuple[int, int, int, int, dict[str, Any]]:
    """The checked metadata of a detector exported to ONNX: sample rate, hop length, frames of
    past and future context (at most :data:`MAX_CONTEXT_S` together) and the config object.

    Raises:
        CheckpointError: One line naming the first field that fails.
    """
    values = []
    for key, cap in (("sample_rate", "sample_rate"), ("hop_length", "hop_length")):
        text = meta.get(key, "")
        lo, hi = CAPS[cap]
        if not (text.isdigit() and lo <= int(text) <= hi):
            raise _fail(
                where, f"metadata {key!r} = {_show(text)} must be an integer in [{lo}, {hi}]"
            )
        values.append(int(text))
    rate, hop = values
    context = _json(meta.get("context_frames", ""), "context_frames", where)
    if not (
        isinstance(context, list)
        and len(context) == 2
        and all(_is_int(v) and v >= 0 for v in context)
    ):
        raise _fail(where, "metadata 'context_frames' must be two frame counts >= 0")
    past, future = context
    span_s = (past + future + 1) * hop / rate
    if span_s > MAX_CONTEXT_S:
        raise _fail(
            where, f"each frame would look at {span_s:.4g} s of audio (at most {MAX_CONTEXT_S:g} s)"
        )
    config = _json(meta.get("config", "{}"), "config", where)
    if not isinstance(config, dict):
        raise _fail(where, "metadata 'config' must be a JSON object")
    return rate, hop, past, future, config
