"""Output heads: per-frame logits for detectors, pooled class logits for classifiers."""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

__all__ = ["ClassifierHead", "FrameHead"]


class FrameHead(nn.Module):
    """Per-frame logits from (B, C, T) features (or (B, C, H, T), flattened to C*H channels).

    Returns (B, T) for one class, (B, K, T) for ``num_classes = K > 1``.
    """

    def __init__(self, in_channels: int, num_classes: int = 1, *, dropout: float = 0.0) -> None:
        super().__init__()
        self.in_channels = in_channels
        self.num_classes = num_classes
        self.drop = nn.Dropout(dropout)
        self.proj = nn.Conv1d(in_channels, num_classes, 1)

    def reset(self, num_classes: int) -> None:
        """Replace the projection with a fresh one for ``num_classes`` outputs."""
        self.num_classes = num_classes
        self.proj = nn.Conv1d(self.in_channels, num_classes, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map features to logits."""
        if x.dim() == 4:
            x = x.flatten(1, 2)
        out: torch.Tensor = self.proj(self.drop(x))
        return out.squeeze(1) if self.num_classes == 1 else out


Pool = Literal["avg", "max", "avgmax", "flatten"]


class ClassifierHead(nn.Module):
    """Pool features over space/time, then dropout and one linear layer -> (B, K) logits.

    Args:
        in_features: Channels of the features (``pool="flatten"``: C*H*W of a fixed input size).
        num_classes: Number of classes K.
        pool: ``avg``/``max``/``avgmax`` global pooling (any input size), or ``flatten`` for a
            fully connected layer over a fixed-size map (the classic small CNN).
        dropout: Dropout probability before the linear layer.
    """

    def __init__(
        self, in_features: int, num_classes: int, *, pool: Pool = "avg", dropout: float = 0.0
    ) -> None:
        super().__init__()
        self.pool: Pool = pool
        self.in_features = in_features * (2 if pool == "avgmax" else 1)
        self.num_classes = num_classes
        self.drop = nn.Dropout(dropout)
        self.fc = nn.Linear(self.in_features, num_classes)

    def reset(self, num_classes: int) -> None:
        """Replace the linear layer with a fresh one for ``num_classes`` outputs."""
        self.num_classes = num_classes
        self.fc = nn.Linear(self.in_features, num_classes)

    def pool_features(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, ...) -> (B, F) pooled features."""
        if self.pool == "flatten":
            return x.flatten(1)
        x = x.flatten(2)
        if self.pool == "avg":
            return x.mean(-1)
        if self.pool == "max":
            return x.amax(-1)
        return torch.cat([x.mean(-1), x.amax(-1)], dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map features to class logits (B, K)."""
        return self.fc(self.drop(self.pool_features(x)))  # type: ignore[no-any-return]
