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
    "SAMPLE_RATE": "voicecnn.audio",
    "load_audio": "voicecnn.audio",
    "prepare_audio": "voicecnn.audio",
    "read_audio": "voicecnn.audio",
    "DEFAULT_MODEL": "voicecnn.checkpoint",
    "average_weights": "voicecnn.checkpoint",
    "bundled_models": "voicecnn.checkpoint",
    "load_model": "voicecnn.checkpoint",
    "load_module": "voicecnn.checkpoint",
    "read_metadata": "voicecnn.checkpoint",
    "save_weights": "voicecnn.checkpoint",
    "cfg_from_dict": "voicecnn.config",
    "cfg_to_dict": "voicecnn.config",
    "load_toml": "voicecnn.config",
    "DetectCfg": "voicecnn.detection",
    "Detection": "voicecnn.detection",
    "FrameProbStream": "voicecnn.detection",
    "detect": "voicecnn.detection",
    "detect_file": "voicecnn.detection",
    "detect_files": "voicecnn.batch",
    "detect_wave": "voicecnn.detection",
    "frame_probs": "voicecnn.detection",
    "AudioError": "voicecnn.errors",
    "CheckpointError": "voicecnn.errors",
    "ConfigError": "voicecnn.errors",
    "DataError": "voicecnn.errors",
    "UnknownModelError": "voicecnn.errors",
    "VoiceCNNError": "voicecnn.errors",
    "FrontendCfg": "voicecnn.frontend_spec",
    "push_to_hub": "voicecnn.hub",
    "save_pretrained": "voicecnn.hub",
    "LogMel": "voicecnn.frontend",
    "ClipCnn": "voicecnn.models",
    "ClipCnnCfg": "voicecnn.models",
    "ImageCnn": "voicecnn.models",
    "ImageCnnCfg": "voicecnn.models",
    "VadCnn": "voicecnn.models",
    "VadCnnCfg": "voicecnn.models.vad_spec",
    "create_model": "voicecnn.models",
    "list_models": "voicecnn.models",
    "register_model": "voicecnn.models",
    "Segment": "voicecnn.segments",
    "segments_from_probs": "voicecnn.segments",
}

if TYPE_CHECKING:
    from voicecnn.audio import SAMPLE_RATE, load_audio, prepare_audio, read_audio
    from voicecnn.batch import detect_files
    from voicecnn.checkpoint import (
        DEFAULT_MODEL,
        average_weights,
        bundled_models,
        load_model,
        load_module,
        read_metadata,
        save_weights,
    )
    from voicecnn.config import cfg_from_dict, cfg_to_dict, load_toml
    from voicecnn.detection import (
        DetectCfg,
        Detection,
        FrameProbStream,
        detect,
        detect_file,
        detect_wave,
        frame_probs,
    )
    from voicecnn.errors import (
        AudioError,
        CheckpointError,
        ConfigError,
        DataError,
        UnknownModelError,
        VoiceCNNError,
    )
    from voicecnn.frontend import LogMel
    from voicecnn.frontend_spec import FrontendCfg
    from voicecnn.hub import push_to_hub, save_pretrained
    from voicecnn.models import (
        ClipCnn,
        ClipCnnCfg,
        ImageCnn,
        ImageCnnCfg,
        VadCnn,
        create_model,
        list_models,
        register_model,
    )
    from voicecnn.models.vad_spec import VadCnnCfg
    from voicecnn.segments import Segment, segments_from_probs


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    if name in {"segments", "audio", "detection", "models", "layers", "frontend", "checkpoint",
                "config", "errors", "hub", "silero"}:
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
