"""Layers shared by every voicecnn model, audio and image alike.

The torch modules are imported on first use (PEP 562), so the torch-free specs beside them
(``voicecnn.net.layers.*_spec``, ``voicecnn.net.layers.step``) load without torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_LAZY = {
    "ClassifierHead": "voicecnn.net.layers.heads",
    "ConvNormAct": "voicecnn.net.layers.conv",
    "ConvStack": "voicecnn.net.layers.conv",
    "Dims": "voicecnn.net.layers.conv_spec",
    "FrameHead": "voicecnn.net.layers.heads",
    "StageCfg": "voicecnn.net.layers.conv_spec",
}

if TYPE_CHECKING:
    from voicecnn.net.layers.conv import ConvNormAct, ConvStack
    from voicecnn.net.layers.conv_spec import Dims, StageCfg
    from voicecnn.net.layers.heads import ClassifierHead, FrameHead

__all__ = ["ClassifierHead", "ConvNormAct", "ConvStack", "Dims", "FrameHead", "StageCfg"]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'voicecnn.net.layers' has no attribute {name!r}")
