"""Layers shared by every voicecnn model, audio and image alike.

The torch modules are imported on first use (PEP 562), so the torch-free specs beside them
(``voicecnn.layers.*_spec``, ``voicecnn.layers.step``) load without torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_LAZY = {
    "ClassifierHead": "voicecnn.layers.heads",
    "ConvNormAct": "voicecnn.layers.conv",
    "ConvStack": "voicecnn.layers.conv",
    "Dims": "voicecnn.layers.conv_spec",
    "FrameHead": "voicecnn.layers.heads",
    "StageCfg": "voicecnn.layers.conv_spec",
}

if TYPE_CHECKING:
    from voicecnn.layers.conv import ConvNormAct, ConvStack
    from voicecnn.layers.conv_spec import Dims, StageCfg
    from voicecnn.layers.heads import ClassifierHead, FrameHead

__all__ = ["ClassifierHead", "ConvNormAct", "ConvStack", "Dims", "FrameHead", "StageCfg"]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'voicecnn.layers' has no attribute {name!r}")
