"""Model architectures, registered by name."""

from voicecnn.models._registry import create_model, is_model, list_models, register_model
from voicecnn.models.image import ClipCnn, ClipCnnCfg, ImageCnn, ImageCnnCfg
from voicecnn.models.vad import VadCnn, VadCnnCfg

__all__ = [
    "ClipCnn",
    "ClipCnnCfg",
    "ImageCnn",
    "ImageCnnCfg",
    "VadCnn",
    "VadCnnCfg",
    "create_model",
    "is_model",
    "list_models",
    "register_model",
]
