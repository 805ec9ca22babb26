"""Model architectures, registered by name.

The torch models are imported (and so registered) on first use of a name here (PEP 562), so the
torch-free configs and specs beside them (``voicecnn.net.models.vad_spec``) load without torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_LAZY = {
    "ClipCnn": "voicecnn.net.models.image",
    "ClipCnnCfg": "voicecnn.net.models.image",
    "ImageCnn": "voicecnn.net.models.image",
    "ImageCnnCfg": "voicecnn.net.models.image",
    "VadCnn": "voicecnn.net.models.vad",
    "VadCnnCfg": "voicecnn.net.models.vad_spec",
    "create_model": "voicecnn.net.models._registry",
    "is_model": "voicecnn.net.models._registry",
    "list_models": "voicecnn.net.models._registry",
    "register_model": "voicecnn.net.models._registry",
}

if TYPE_CHECKING:
    from voicecnn.net.models._registry import create_model, is_model, list_models, register_model
    from voicecnn.net.models.image import ClipCnn, ClipCnnCfg, ImageCnn, ImageCnnCfg
    from voicecnn.net.models.vad import VadCnn
    from voicecnn.net.models.vad_spec import VadCnnCfg

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
        if _LAZY[name] != "voicecnn.net.models.vad_spec":
            # Every architecture registers itself when its module loads.
            importlib.import_module("voicecnn.net.models.vad")
            importlib.import_module("voicecnn.net.models.image")
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'voicecnn.net.models' has no attribute {name!r}")
