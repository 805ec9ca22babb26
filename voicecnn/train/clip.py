"""The ``clip`` task: audio clip classifiers (ESC-10...).

Data: class-per-folder trees of audio clips and/or JSON Lines / CSV clip lists
(:mod:`voicecnn.data.labelled_clips`). Validation: the clips of ``data.val`` (same kinds of
sources), or one cross-validation fold of the training sources (``data.val_fold``, fold from the
list or the file-name prefix ``<fold>-``), or every n-th clip (``data.val_fraction``). The classes
(sorted labels of the training clips) set the model's head and are saved with it. Clips are
decoded once into memory at the model's rate and given as ``data.clip_s``-second windows,
augmented with the ``[clip_augment]`` settings
(:class:`~voicecnn.data.clip_dataset.ClipAugmentCfg`). Loss: cross-entropy (with mixup, against
the mixed class probabilities); figures: accuracy and loss, as images.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader

from voicecnn.config import check_fields
from voicecnn.data.clip_dataset import ClipAugmentCfg, ClipDataset
from voicecnn.data.labelled_clips import (
    class_names,
    label_indices,
    load_clip_sources,
    load_waves,
    split_fold,
)
from voicecnn.errors import ConfigError
from voicecnn.train.build import build_model
from voicecnn.train.classifier import classifier_run
from voicecnn.train.core import DataCfg, RunCfg, TaskRun, holdout_indices

__all__ = ["ClipDataCfg", "ClipRunCfg", "prepare_clip", "soft_cross_entropy"]


@dataclass(frozen=True)
class ClipDataCfg(DataCfg):
    """The clips of a ``clip`` run (and the fields of :class:`~voicecnn.train.core.DataCfg`).

    ``train`` and ``val`` are class-per-folder trees of audio clips and/or ``.jsonl`` /
    ``.csv`` clip lists.

    Attributes:
        val_fold: Validate on this cross-validation fold of the training clips (a list's
            ``fold``, else the ``<fold>-`` prefix of the file name, as ESC-50's
            ``3-110389-A.ogg``) instead of ``val`` / ``val_fraction``; 0 = off.
        clip_s: Seconds per example (longer clips are cropped, shorter ones zero-padded).
    """

    val_fold: int = 0
    clip_s: float = 5.0

    def __post_init__(self) -> None:
        super().__post_init__()
        check_fields(self, {"val_fold": ("int", 0, 10**9), "clip_s": ("float>", 0, 3600)})


@dataclass(frozen=True)
class ClipRunCfg(RunCfg):
    """A ``clip`` run (the fields of :class:`~voicecnn.train.core.RunCfg`).

    Attributes:
        data: The clips.
        clip_augment: Augmentation of the training clips.
    """

    task: Literal["clip"] = "clip"
    data: ClipDataCfg = field(default_factory=ClipDataCfg)
    clip_augment: ClipAugmentCfg = field(default_factory=ClipAugmentCfg)


def soft_cross_entropy(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of (B, K) logits against (B,) class indices or (B, K) class probabilities
    (mixup's targets)."""
    if targets.dim() == 1:
        return F.cross_entropy(logits, targets.long())
    return F.cross_entropy(logits, targets.float())


def prepare_clip(
    cfg: ClipRunCfg, device: torch.device, log: Callable[[str], None] = print
) -> TaskRun:
    """Model and data of a ``clip`` run (the training clips decide the classes).

    Raises:
        ConfigError: For ``data.val`` and ``data.val_fold`` both set, or a bad setting.
        DataError: Listing every problem of the sources (see
            :func:`~voicecnn.data.labelled_clips.load_clip_sources`), clips without a fold,
            validation classes the training clips lack, or clips that cannot be decoded.
    """
    d = cfg.data
    clips = load_clip_sources(d.train)
    if d.val_fold:
        if d.val:
            raise ConfigError("set data.val or data.val_fold, not both")
        train_clips, val_clips = split_fold(clips, d.val_fold)
        val_sources: Any = f"fold {d.val_fold} of train"
    elif d.val:
        train_clips, val_clips = clips, load_clip_sources(d.val)
        val_sources = list(d.val)
    else:
        rest, held = holdout_indices(len(clips), d.val_fraction)
        train_clips, val_clips = [clips[i] for i in rest], [clips[i] for i in held]
        val_sources = "held out of train"
    names = class_names(train_clips)
    model, arch = build_model(cfg, {"num_classes": len(names), "class_names": names})
    if set(model.cfg.class_names) != set(names):  # init weights of other classes: a new head
        model.reset_head(len(names), names)
    names = list(model.class_names)  # the model's order (init weights keep theirs)
    y, vy = label_indices(train_clips, names), label_indices(val_clips, names)
    waves = load_waves([*train_clips, *val_clips], model.sample_rate)
    common = {"num_classes": len(names), "clip_s": d.clip_s, "sample_rate": model.sample_rate}
    train_set = ClipDataset(
        waves[: len(y)], y, augment=cfg.clip_augment, seed=cfg.train.seed, **common
    )
    val_set = ClipDataset(waves[len(y) :], vy, **common)
    val_loader = DataLoader(val_set, batch_size=min(max(cfg.train.batch_size, 1), 64))
    facts = {
        "train_sources": list(d.train),
        "val_sources": val_sources,
        "train_clips": len(train_set),
        "val_clips": len(val_set),
        "classes": len(names),
        "clip_s": d.clip_s,
    }
    return classifier_run(model, arch, train_set, val_loader, device, facts, soft_cross_entropy)
