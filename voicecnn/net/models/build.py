"""Torch modules from torch-free layer specs: the torch side of every spec type, in one place.

The specs (``voicecnn.net.layers.*_spec``, ``voicecnn.net.frontend_spec``) hold each layer's
settings and
its numpy step and import no torch module; this module maps each spec type to the torch module
it describes, so a model family's spec list (:func:`voicecnn.net.models.vad_spec.vad_spec`) builds
the torch model, and an architecture made of existing layers needs no new code here.
"""

from __future__ import annotations

from collections import OrderedDict

from torch import nn

from voicecnn.net.frontend import FrameLogMel
from voicecnn.net.frontend_spec import LogMelSpec
from voicecnn.net.layers.basic_spec import BatchNormSpec, FlattenSpec, UnsqueezeSpec
from voicecnn.net.layers.conv import ConvNormAct, ConvStack, max_pool
from voicecnn.net.layers.conv_spec import ConvNormActSpec, ConvStackSpec, MaxPoolSpec
from voicecnn.net.layers.heads import FrameHead
from voicecnn.net.layers.heads_spec import FrameHeadSpec
from voicecnn.net.layers.step import LayerSpec, Seq

__all__ = ["build_module"]


def build_module(spec: LayerSpec) -> nn.Module:
    """The torch module ``spec`` describes (a :class:`Seq` becomes a named ``nn.Sequential``).

    Raises:
        TypeError: For a spec type with no torch module.
    """
    if isinstance(spec, Seq):
        return nn.Sequential(OrderedDict((n, build_module(s)) for n, s in spec.layers))
    if isinstance(spec, LogMelSpec):
        return FrameLogMel(spec.cfg)
    if isinstance(spec, BatchNormSpec):
        return nn.BatchNorm1d(spec.channels, eps=spec.eps)
    if isinstance(spec, UnsqueezeSpec):
        return nn.Unflatten(1, (1, spec.channels))
    if isinstance(spec, FlattenSpec):
        return nn.Flatten(1, 2)
    if isinstance(spec, ConvStackSpec):
        return ConvStack(spec.c_in, spec.stages, dims=spec.dims)
    if isinstance(spec, ConvNormActSpec):
        return ConvNormAct.from_spec(spec)
    if isinstance(spec, MaxPoolSpec):
        return max_pool(spec)
    if isinstance(spec, FrameHeadSpec):
        return FrameHead(spec.in_channels, spec.num_classes, dropout=spec.dropout)
    raise TypeError(f"no torch module for {type(spec).__name__}")
