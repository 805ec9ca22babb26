"""Layers shared by every voicecnn model, audio and image alike."""

from voicecnn.layers.conv import ConvNormAct, ConvStack, Dims, StageCfg
from voicecnn.layers.heads import ClassifierHead, FrameHead

__all__ = ["ClassifierHead", "ConvNormAct", "ConvStack", "Dims", "FrameHead", "StageCfg"]
