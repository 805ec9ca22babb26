"""What the classifier tasks (image, clip) share: one training set and accuracy on a loader."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from voicecnn.train.core import TaskRun
from voicecnn.train.loop import LossFn, class_cross_entropy
from voicecnn.train.metrics import accuracy

__all__ = ["classifier_figures", "classifier_run"]


def classifier_figures(
    model: nn.Module, loader: DataLoader[Any], device: torch.device
) -> dict[str, float]:
    """Accuracy and mean cross-entropy of a classifier over a loader of (inputs, labels).

    Returns:
        ``accuracy``, ``loss`` and ``score`` (= ``accuracy``).
    """
    logits, labels = [], []
    for x, y in loader:
        logits.append(model(x.to(device)).float().cpu())
        labels.append(y)
    z, t = torch.cat(logits), torch.cat(labels)
    acc = accuracy(z.numpy(), t.numpy())
    return {"accuracy": acc, "loss": float(class_cross_entropy(z, t)), "score": acc}


def classifier_run(
    model: Any,
    arch: str,
    train_set: Dataset[Any],
    val_loader: DataLoader[Any],
    device: torch.device,
    facts: dict[str, Any],
    loss_fn: LossFn,
) -> TaskRun:
    """A classifier's run: one training set, told each epoch, scored on ``val_loader``."""
    return TaskRun(
        model=model,
        arch=arch,
        train=train_set,
        epoch_sets=[train_set],
        evaluate=lambda m: classifier_figures(m, val_loader, device),
        facts=facts,
        loss_fn=loss_fn,
    )
