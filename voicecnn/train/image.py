"""The ``image`` task: image classifiers on ``.npz`` arrays, MNIST IDX folders or class folders.

The data decides the classes, the input size and channels and the pixel statistics of a fresh
model (``init`` weights keep theirs). Loss: cross-entropy; figures: accuracy and loss.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import numpy.typing as npt
import torch
from torch.utils.data import DataLoader

from voicecnn.config import check_fields
from voicecnn.data.images import (
    ImageDataset,
    channel_stats,
    is_idx_folder,
    load_image_folder,
    load_mnist,
    load_npz,
    mnist_split,
)
from voicecnn.errors import ConfigError
from voicecnn.train.build import build_model
from voicecnn.train.classifier import classifier_run
from voicecnn.train.core import DataCfg, RunCfg, TaskRun, holdout_indices
from voicecnn.train.loop import class_cross_entropy

__all__ = ["ImageDataCfg", "ImageRunCfg", "prepare_image"]


@dataclass(frozen=True)
class ImageDataCfg(DataCfg):
    """The images of an ``image`` run (and the fields of :class:`~voicecnn.train.core.DataCfg`).

    ``train`` is one ``.npz`` file (``x``/``y`` arrays), a folder of MNIST IDX files or a
    class-per-folder image tree; ``val`` one source of the same kinds.

    Attributes:
        image_size: Image folders: (H, W) the images are resized to.
        channels: Image folders: 1 (grey) or 3 (RGB).
        augment_images: Augment the training images (``shift_px``, ``flip``).
        shift_px: Largest random shift in pixels per axis (zero fill).
        flip: Also flip horizontally at random (half the time): for data whose mirror image
            keeps its class (clothes, objects; not digits).
        val_idx_split: The files of an MNIST IDX folder given as ``val``: ``test``
            (``t10k-*``), ``train`` (``train-*``), or ``auto``: ``t10k-*`` when the folder has
            them, else ``train-*``.
    """

    image_size: tuple[int, int] = (28, 28)
    channels: int = 1
    augment_images: bool = True
    shift_px: int = 2
    flip: bool = False
    val_idx_split: Literal["auto", "train", "test"] = "auto"

    def __post_init__(self) -> None:
        super().__post_init__()
        check_fields(self, {"channels": ("int", 1, 4)})
        if len(self.image_size) != 2 or min(self.image_size) < 1 or max(self.image_size) > 4096:
            raise ConfigError(f"image_size must be two sizes in [1, 4096], got {self.image_size}")


@dataclass(frozen=True)
class ImageRunCfg(RunCfg):
    """An ``image`` run (the fields of :class:`~voicecnn.train.core.RunCfg`).

    Attributes:
        data: The images.
    """

    task: Literal["image"] = "image"
    data: ImageDataCfg = field(default_factory=ImageDataCfg)


def _read_images(
    source: str, data: ImageDataCfg, split: Literal["auto", "train", "test"]
) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.int64], list[str]]:
    path = Path(source)
    if path.suffix.lower() == ".npz":
        x, y = load_npz(path)
        return x, y, []
    if is_idx_folder(path):
        x, y = load_mnist(path, mnist_split(path, split))
        return x, y, []
    return load_image_folder(path, size=data.image_size, channels=data.channels)


def _one_source(sources: tuple[str, ...], what: str) -> str:
    if len(sources) != 1:
        raise ConfigError(f"task 'image' takes exactly one {what} source, got {len(sources)}")
    return sources[0]


def prepare_image(
    cfg: ImageRunCfg, device: torch.device, log: Callable[[str], None] = print
) -> TaskRun:
    """Model and data of an image run (the data decides the classes, size and statistics).

    Raises:
        ConfigError: For other than one training (or validation) source, or ``data.val``
            naming the training images.
        DataError: For unreadable images.
    """
    source = _one_source(cfg.data.train, "data.train")
    x, y, names = _read_images(source, cfg.data, "train")
    if cfg.data.val:
        val = _one_source(cfg.data.val, "data.val")
        split = cfg.data.val_idx_split
        if Path(val).resolve() == Path(source).resolve() and not (
            is_idx_folder(val) and mnist_split(val, split) == "test"
        ):
            raise ConfigError(f"data.val would read the training images of '{val}'")
        vx, vy, _ = _read_images(val, cfg.data, split)
    else:
        rest, held = holdout_indices(len(y), cfg.data.val_fraction)
        x, y, vx, vy = x[rest], y[rest], x[held], y[held]
    mean, std = channel_stats(x)
    n_classes = len(names) if names else int(max(y.max(), vy.max())) + 1
    implied = {
        "num_classes": n_classes,
        "class_names": names,
        "mean": list(mean),
        "std": list(std),
        "in_channels": x.shape[3] if x.ndim == 4 else 1,
        "input_size": list(x.shape[1:3]),
    }
    model, arch = build_model(cfg, implied)
    mc = model.cfg  # init weights keep the statistics they were trained with
    train_set = ImageDataset(
        x,
        y,
        mean=mc.mean,
        std=mc.std,
        augment=cfg.data.augment_images,
        max_shift_px=cfg.data.shift_px,
        flip=cfg.data.flip,
        class_names=names,
        seed=cfg.train.seed,
    )
    val_set = ImageDataset(vx, vy, mean=mc.mean, std=mc.std, class_names=names)
    val_loader = DataLoader(val_set, batch_size=max(cfg.train.batch_size, 256))
    facts = {
        "train_sources": list(cfg.data.train),
        "val_sources": list(cfg.data.val) or "held out of train",
        "train_images": len(train_set),
        "val_images": len(val_set),
        "classes": n_classes,
    }
    return classifier_run(model, arch, train_set, val_loader, device, facts, class_cross_entropy)
