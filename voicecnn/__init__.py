"""voicecnn: voice activity detection with small convolutional networks.

Typical use::

    import voicecnn as vc

    model = vc.load_model()                      # bundled default model
    result = vc.detect_file(model, "talk.wav")  # segments + per-frame probabilities
    for seg in result.segments:
        print(f"{seg.start:.2f}-{seg.end:.2f}")
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# Public names -> defining module. Loaded on first use (PEP 562), so that importing voicecnn,
# and ``voicecnn --help``, does not pay for torch until a model is needed.
_LAZY = {
    "SAMPLE_RATE": "voicecnn.io.audio",
    "load_audio": "voicecnn.io.audio",
    "prepare_audio": "voicecnn.io.audio",
    "read_audio": "voicecnn.io.audio",
    "DEFAULT_MODEL": "voicecnn.net.checkpoint",
    "average_weights": "voicecnn.net.checkpoint",
    "bundled_models": "voicecnn.net.checkpoint",
    "load_model": "voicecnn.net.checkpoint",
    "load_module": "voicecnn.net.checkpoint",
    "read_metadata": "voicecnn.net.checkpoint",
    "save_weights": "voicecnn.net.checkpoint",
    "cfg_from_dict": "voicecnn.config",
    "cfg_to_dict": "voicecnn.config",
    "load_toml": "voicecnn.config",
    "DetectCfg": "voicecnn.detection.frames",
    "Detection": "voicecnn.detection.frames",
    "FrameProbStream": "voicecnn.detection.frames",
    "detect": "voicecnn.detection.frames",
    "detect_file": "voicecnn.detection.frames",
    "detect_files": "voicecnn.detection.batch",
    "detect_wave": "voicecnn.detection.frames",
    "frame_probs": "voicecnn.detection.frames",
    "AudioError": "voicecnn.errors",
    "CheckpointError": "voicecnn.errors",
    "ConfigError": "voicecnn.errors",
    "DataError": "voicecnn.errors",
    "UnknownModelError": "voicecnn.errors",
    "VoiceCNNError": "voicecnn.errors",
    "FrontendCfg": "voicecnn.net.frontend_spec",
    "push_to_hub": "voicecnn.net.hub",
    "save_pretrained": "voicecnn.net.hub",
    "LogMel": "voicecnn.net.frontend",
    "ClipCnn": "voicecnn.net.models",
    "ClipCnnCfg": "voicecnn.net.models",
    "ImageCnn": "voicecnn.net.models",
    "ImageCnnCfg": "voicecnn.net.models",
    "VadCnn": "voicecnn.net.models",
    "VadCnnCfg": "voicecnn.net.models.vad_spec",
    "create_model": "voicecnn.net.models",
    "list_models": "voicecnn.net.models",
    "register_model": "voicecnn.net.models",
    "Segment": "voicecnn.detection.segments",
    "segments_from_probs": "voicecnn.detection.segments",
}

if TYPE_CHECKING:
    from voicecnn.config import cfg_from_dict, cfg_to_dict, load_toml
    from voicecnn.detection.batch import detect_files
    from voicecnn.detection.frames import (
        DetectCfg,
        Detection,
        FrameProbStream,
        detect,
        detect_file,
        detect_wave,
        frame_probs,
    )
    from voicecnn.detection.segments import Segment, segments_from_probs
    from voicecnn.errors import (
        AudioError,
        CheckpointError,
        ConfigError,
        DataError,
        UnknownModelError,
        VoiceCNNError,
    )
    from voicecnn.io.audio import SAMPLE_RATE, load_audio, prepare_audio, read_audio
    from voicecnn.net.checkpoint import (
        DEFAULT_MODEL,
        average_weights,
        bundled_models,
        load_model,
        load_module,
        read_metadata,
        save_weights,
    )
    from voicecnn.net.frontend import LogMel
    from voicecnn.net.frontend_spec import FrontendCfg
    from voicecnn.net.hub import push_to_hub, save_pretrained
    from voicecnn.net.models import (
        ClipCnn,
        ClipCnnCfg,
        ImageCnn,
        ImageCnnCfg,
        VadCnn,
        create_model,
        list_models,
        register_model,
    )
    from voicecnn.net.models.vad_spec import VadCnnCfg


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    if name in {"io", "net", "detection", "compat", "data", "train", "config", "errors"}:
        return importlib.import_module(f"voicecnn.{name}")
    raise AttributeError(f"module 'voicecnn' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)


__all__ = [
    "DEFAULT_MODEL",
    "SAMPLE_RATE",
    "AudioError",
    "ClipCnn",
    "ClipCnnCfg",
    "ImageCnn",
    "ImageCnnCfg",
    "CheckpointError",
    "ConfigError",
    "DataError",
    "DetectCfg",
    "Detection",
    "FrameProbStream",
    "FrontendCfg",
    "LogMel",
    "Segment",
    "UnknownModelError",
    "VadCnn",
    "VadCnnCfg",
    "VoiceCNNError",
    "__version__",
    "average_weights",
    "bundled_models",
    "cfg_from_dict",
    "cfg_to_dict",
    "create_model",
    "detect",
    "detect_file",
    "detect_files",
    "detect_wave",
    "frame_probs",
    "list_models",
    "load_audio",
    "load_model",
    "load_module",
    "load_toml",
    "prepare_audio",
    "push_to_hub",
    "read_audio",
    "read_metadata",
    "register_model",
    "save_pretrained",
    "save_weights",
    "segments_from_probs",
]
