"""Model architectures, registered by name.

The torch models are imported (and so registered) on first use of a name here (PEP 562), so the
torch-free configs and specs beside them (``voicecnn.models.vad_spec``) load without torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_LAZY = {
    "ClipCnn": "voicecnn.models.image",
    "ClipCnnCfg": "voicecnn.models.image",
    "ImageCnn": "voicecnn.models.image",
    "ImageCnnCfg": "voicecnn.models.image",
    "VadCnn": "voicecnn.models.vad",
    "VadCnnCfg": "voicecnn.models.vad_spec",
    "create_model": "voicecnn.models._registry",
    "is_model": "voicecnn.models._registry",
    "list_models": "voicecnn.models._registry",
    "register_model": "voicecnn.models._registry",
}

if TYPE_CHECKING:
    from voicecnn.models._registry import create_model, is_model, list_models, register_model
    from voicecnn.models.image import ClipCnn, ClipCnnCfg, ImageCnn, ImageCnnCfg
    from voicecnn.models.vad import VadCnn
    from voicecnn.models.vad_spec import VadCnnCfg

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


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        if _LAZY[name] != "voicecnn.models.vad_spec":
            # Every architecture registers itself when its module loads.
            importlib.import_module("voicecnn.models.vad")
            importlib.import_module("voicecnn.models.image")
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'voicecnn.models' has no attribute {name!r}")
