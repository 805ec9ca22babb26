"""voicecnn: voice activity detection with small convolutional networks.

Typical use::

    import voicecnn as vc

    model = vc.load_model()                      # bundled default model
    result = vc.detect_file(model, "talk.wav")  # segments + per-frame probabilities
    for seg in result.segments:
        print(f"{seg.start:.2f}-{seg.end:.2f}")
"""

from voicecnn.audio import SAMPLE_RATE, load_audio, prepare_audio, read_audio
from voicecnn.checkpoint import (
    DEFAULT_MODEL,
    bundled_models,
    load_model,
    read_metadata,
    save_weights,
)
from voicecnn.config import cfg_from_dict, cfg_to_dict, load_toml
from voicecnn.detect import (
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
from voicecnn.frontend import FrontendCfg, LogMel
from voicecnn.models import VadCnn, VadCnnCfg, create_model, list_models, register_model
from voicecnn.segments import Segment, segments_from_probs

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_MODEL",
    "SAMPLE_RATE",
    "AudioError",
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
    "bundled_models",
    "cfg_from_dict",
    "cfg_to_dict",
    "create_model",
    "detect",
    "detect_file",
    "detect_wave",
    "frame_probs",
    "list_models",
    "load_audio",
    "load_model",
    "load_toml",
    "prepare_audio",
    "read_audio",
    "read_metadata",
    "register_model",
    "save_weights",
    "segments_from_probs",
]
