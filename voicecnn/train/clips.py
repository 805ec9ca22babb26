"""The ``clip`` task of :func:`voicecnn.train.run.train`: audio clip classifiers (ESC-10...).

Data: class-per-folder trees of audio clips and/or JSON Lines / CSV clip lists
(:mod:`voicecnn.data.clips`). Validation: the clips of ``data.val`` (same kinds of sources), or
one cross-validation fold of the training sources (``data.val_fold``, fold from the list or the
file-name prefix ``<fold>-``), or every n-th clip (``data.val_fraction``). The classes (sorted
labels of the training clips) set the model's head and are saved with it. Clips are decoded once
into memory at the model's rate and given as ``data.clip_s``-second windows, augmented with the
``[clip_augment]`` settings (:class:`~voicecnn.data.clips.ClipAugmentCfg`). Loss: cross-entropy
(with mixup, against the mixed class probabilities); figures: accuracy and loss, as images.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader

from voicecnn.data.clips import (
    ClipDataset,
    class_names,
    label_indices,
    load_clip_sources,
    load_waves,
    split_fold,
)
from voicecnn.errors import ConfigError
from voicecnn.train.run import RunCfg, _build_model, _classifier_data, _Data, _split

__all__ = ["clip_run", "soft_cross_entropy"]


def soft_cross_entropy(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of (B, K) logits against (B,) class indices or (B, K) class probabilities
    (mixup's targets)."""
    if targets.dim() == 1:
        return F.cross_entropy(logits, targets.long())
    return F.cross_entropy(logits, targets.float())


def clip_run(cfg: RunCfg, device: torch.device) -> tuple[Any, str, _Data]:
    """Model and data of a ``clip`` run (the training clips decide the classes).

    Raises:
        ConfigError: For ``data.val`` and ``data.val_fold`` both set, or a bad setting.
        DataError: Listing every problem of the sources (see
            :func:`~voicecnn.data.clips.load_clip_sources`), clips without a fold, validation
            classes the training clips lack, or clips that cannot be decoded.
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
        rest, held = _split(len(clips), d.val_fraction)
        train_clips, val_clips = [clips[i] for i in rest], [clips[i] for i in held]
        val_sources = "held out of train"
    names = class_names(train_clips)
    model, arch = _build_model(cfg, {"num_classes": len(names), "class_names": names})
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
    return model, arch, _classifier_data(train_set, val_loader, device, facts)
