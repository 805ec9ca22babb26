"""Scoring image and clip classifiers on labelled data (``voicecnn evaluate`` and the recipes).

Labelled sources:

- images: a ``.npz`` file (arrays ``x``/``y``), an MNIST-style IDX folder (its ``t10k-*`` files
  when it has them, else ``train-*``; or the split asked for), or a class-per-folder image tree;
- clips: class-per-folder trees of audio clips and/or JSON Lines / CSV clip lists
  (:mod:`voicecnn.data.labelled_clips`), optionally only one cross-validation fold.

Folders and lists name their classes; each must be one of the model's class names (a model
without names has the classes ``"0"``, ``"1"``...). Labels of ``.npz`` and IDX data are class
indices. Images are resized and normalised as the model takes them; clips are decoded at the
model's rate and cut to the first ``clip_s`` seconds (zero-padded), as the trainer validates,
or given whole one by one.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import torch
from torch.utils.data import DataLoader

from voicecnn.data.clip_dataset import ClipDataset
from voicecnn.data.images import (
    ImageDataset,
    is_idx_folder,
    load_image_folder,
    load_mnist,
    load_npz,
)
from voicecnn.data.labelled_clips import (
    label_indices,
    load_clip_sources,
    load_waves,
    split_fold,
)
from voicecnn.errors import ConfigError, DataError

__all__ = ["ClassReport", "classifier_task", "evaluate_classifier", "predict"]

_I64 = npt.NDArray[np.int64]


def classifier_task(net: Any) -> Literal["image", "clip"] | None:
    """``image`` or ``clip`` for an image or clip classifier (torch or ONNX), else None."""
    from voicecnn.net.export import OnnxClassifier
    from voicecnn.net.models import ClipCnn, ImageCnn

    if isinstance(net, ClipCnn):
        return "clip"
    if isinstance(net, ImageCnn):
        return "image"
    if isinstance(net, OnnxClassifier):
        return "clip" if net.task == "clip" else "image"
    return None


@dataclass(frozen=True)
class ClassReport:
    """How a classifier did on labelled examples.

    Attributes:
        classes: Class names, in the model's order.
        confusion: Counts (K, K): row = true class, column = predicted class.
    """

    classes: tuple[str, ...]
    confusion: npt.NDArray[np.int64]

    @classmethod
    def of(
        cls, predicted: npt.ArrayLike, labels: npt.ArrayLike, classes: Sequence[str]
    ) -> ClassReport:
        """The report of predicted vs true class indices."""
        k = len(classes)
        p = np.asarray(predicted, dtype=np.int64).reshape(-1)
        y = np.asarray(labels, dtype=np.int64).reshape(-1)
        confusion = np.zeros((k, k), dtype=np.int64)
        np.add.at(confusion, (y, p), 1)
        return cls(tuple(classes), confusion)

    @property
    def examples(self) -> int:
        """Number of examples scored."""
        return int(self.confusion.sum())

    @property
    def errors(self) -> int:
        """Examples given a wrong class."""
        return self.examples - int(np.trace(self.confusion))

    @property
    def accuracy(self) -> float:
        """Share of examples given their true class (NaN without examples)."""
        return 1.0 - self.errors / self.examples if self.examples else float("nan")

    def per_class(self) -> dict[str, tuple[int, float, str | None, int]]:
        """For each class present: (examples, accuracy, the wrong class it was most often
        taken for or None, how often)."""
        out: dict[str, tuple[int, float, str | None, int]] = {}
        for k, name in enumerate(self.classes):
            row = self.confusion[k]
            n = int(row.sum())
            if not n:
                continue
            wrong = row.copy()
            wrong[k] = 0
            j = int(wrong.argmax())
            taken = (self.classes[j], int(wrong[j])) if wrong[j] else (None, 0)
            out[name] = (n, float(row[k] / n), *taken)
        return out

    def to_dict(self) -> dict[str, Any]:
        """Plain values for JSON: examples, accuracy, errors, classes, per-class accuracy and
        the confusion matrix."""
        return {
            "examples": self.examples,
            "accuracy": self.accuracy,
            "errors": self.errors,
            "classes": list(self.classes),
            "per_class": {name: round(v[1], 4) for name, v in self.per_class().items()},
            "confusion": self.confusion.tolist(),
        }


@torch.inference_mode()
def predict(net: Any, batches: Iterable[torch.Tensor]) -> _I64:
    """The predicted class index of every input in ``batches`` (torch or ONNX model)."""
    if isinstance(net, torch.nn.Module):
        net.eval()
    out = [net(x).argmax(-1).cpu().numpy() for x in batches]
    return np.concatenate(out).astype(np.int64) if out else np.zeros(0, dtype=np.int64)


def _image_data(
    net: Any, source: Path, split: Literal["auto", "train", "test"]
) -> tuple[npt.NDArray[np.uint8], _I64]:
    cfg = net.cfg
    names = list(net.class_names)
    if source.suffix.lower() == ".npz":
        x, y = load_npz(source)
    elif is_idx_folder(source):
        x, y = load_mnist(source, split)
    else:
        size = tuple(cfg.input_size or (28, 28))
        x, y_folder, folder_names = load_image_folder(
            source, size=(size[0], size[1]), channels=cfg.in_channels
        )
        unknown = sorted(set(folder_names) - set(names))
        if unknown:
            raise DataError(
                f"'{source}': class folder(s) {', '.join(unknown)} are not among the model's "
                f"classes: {', '.join(names)}"
            )
        index = np.asarray([names.index(n) for n in folder_names], dtype=np.int64)
        return x, index[y_folder]
    if len(y) and int(y.max()) >= len(names):
        raise DataError(f"'{source}': label {int(y.max())} but the model has {len(names)} classes")
    return x, y


def evaluate_classifier(
    net: Any,
    sources: Sequence[str | os.PathLike[str]],
    *,
    split: Literal["auto", "train", "test"] = "auto",
    fold: int = 0,
    clip_s: float | None = None,
    batch_size: int = 64,
) -> ClassReport:
    """Score an image or clip classifier on labelled data (see the module docstring).

    Args:
        net: An :class:`~voicecnn.net.models.ImageCnn`, :class:`~voicecnn.net.models.ClipCnn` or
            :class:`~voicecnn.net.export.OnnxClassifier`.
        sources: Images: one ``.npz`` file, IDX folder or image tree. Clips: class folders
            and clip lists.
        split: IDX folders: ``test`` (``t10k-*``), ``train``, or ``auto`` (``t10k-*`` when
            present).
        fold: Clips: score only this fold (0 = all clips).
        clip_s: Clips: seconds each clip is cut or padded to (None = whole clips, one at a
            time).
        batch_size: Examples per model call.

    Raises:
        ConfigError: If ``net`` is not a classifier, or a setting does not fit the data.
        DataError: For unreadable data or classes the model does not have.
    """
    task = classifier_task(net)
    if task is None:
        raise ConfigError(f"{type(net).__name__} is not an image or clip classifier")
    names = list(net.class_names)
    if task == "image":
        if len(sources) != 1:
            raise ConfigError(f"an image model is scored on one data source, got {len(sources)}")
        if fold:
            raise ConfigError("a fold is a setting for clip data")
        x, y = _image_data(net, Path(sources[0]), split)
        data = ImageDataset(x, y, mean=net.cfg.mean, std=net.cfg.std)
        loader = DataLoader(data, batch_size=batch_size)
        return ClassReport.of(predict(net, (xb for xb, _ in loader)), y, names)
    clips = load_clip_sources(sources)
    if fold:
        clips = split_fold(clips, fold)[1]
    labels = label_indices(clips, names)
    waves = load_waves(clips, net.sample_rate)
    if clip_s is None:
        batches: Iterable[torch.Tensor] = (torch.from_numpy(w)[None] for w in waves)
    else:
        fixed = ClipDataset(
            waves, labels, num_classes=len(names), clip_s=clip_s, sample_rate=net.sample_rate
        )
        batches = (xb for xb, _ in DataLoader(fixed, batch_size=batch_size))
    return ClassReport.of(predict(net, batches), labels, names)
