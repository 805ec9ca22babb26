"""Image data for the classifiers: IDX files (MNIST, Fashion-MNIST), npz arrays, image folders.

Readers return uint8 pixels, (N, H, W) greyscale or (N, H, W, C), and int64 labels (N,);
:func:`normalize` and :class:`ImageDataset` turn them into the float (C, H, W) tensors the models
take: ``(pixel / 255 - mean) / std`` per channel, the same rule a model's ``cfg.mean``/``cfg.std``
records for inference.

Randomness: item ``index`` of epoch ``epoch`` is augmented with
``numpy.random.default_rng([seed, epoch, index])`` and nothing else, so an item is the same in any
worker, in any order, on any run; :meth:`ImageDataset.set_epoch` gives new draws each epoch.

Reading PNG/JPEG/BMP files needs Pillow (``pip install 'voicecnn[image]'``).
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import torch
from torch.utils.data import Dataset

from voicecnn.errors import ConfigError, DataError
from voicecnn.io.files import read_bytes

__all__ = [
    "split_holdout",
    "IMAGE_EXTENSIONS",
    "ImageDataset",
    "channel_stats",
    "is_idx_folder",
    "load_idx_pair",
    "load_image",
    "load_image_folder",
    "load_mnist",
    "load_npz",
    "mnist_split",
    "normalize",
    "read_idx",
    "scan_image_folder",
    "shift_image",
]

IMAGE_EXTENSIONS = frozenset({".png", ".jpg", ".jpeg", ".bmp"})
"""File name suffixes (lower case) that :func:`scan_image_folder` takes as images."""

_U8 = npt.NDArray[np.uint8]
_I64 = npt.NDArray[np.int64]

# IDX type codes -> big-endian numpy dtypes (http://yann.lecun.com/exdb/mnist/, "IDX format").
_IDX_TYPES: dict[int, str] = {0x08: "u1", 0x09: "i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4",
                              0x0E: ">f8"}


def read_idx(path: str | Path) -> npt.NDArray[Any]:
    """Read an IDX file (the MNIST and Fashion-MNIST format), gzip-compressed or raw.

    Compression is recognised from the content, not the name.

    Args:
        path: The ``*-ubyte`` or ``*-ubyte.gz`` file.

    Returns:
        The array in native byte order: uint8 for MNIST's images (N, 28, 28) and labels (N,).

    Raises:
        DataError: If the file is missing, not gzip when it looks so, has a bad magic number, or
            holds fewer or more bytes than its header says; the message names the file.
    """
    data = read_bytes(path, DataError)
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as e:
            raise DataError(f"'{path}' is a damaged gzip file: {e}") from e
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _IDX_TYPES:
        raise DataError(f"'{path}' is not an IDX file (bad magic number {data[:4].hex()})")
    ndim = data[3]
    if ndim == 0:
        raise DataError(f"'{path}' is not an IDX file (0 dimensions)")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DataError(f"'{path}' is truncated: the header needs {header} bytes")
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    dtype = np.dtype(_IDX_TYPES[data[2]])
    expected = header + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(data) != expected:
        what = "truncated" if len(data) < expected else "longer than its header says"
        raise DataError(
            f"'{path}' is {what}: {len(data)} bytes for shape {shape}, expected {expected}"
        )
    arr = np.frombuffer(data, dtype=dtype, offset=header).reshape(shape)
    return arr.astype(dtype.newbyteorder("="))


def _check_pair(images: npt.NDArray[Any], labels: npt.NDArray[Any], where: str) -> None:
    if images.ndim not in (3, 4):
        raise DataError(f"{where}: images must be (N, H, W) or (N, H, W, C), got {images.shape}")
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
        raise DataError(f"{where}: labels must be a 1-D integer array, got {labels.dtype} "
                        f"{labels.shape}")
    if len(images) != len(labels):
        raise DataError(f"{where}: {len(images)} images but {len(labels)} labels")
    if len(labels) and labels.min() < 0:
        raise DataError(f"{where}: labels must not be negative")


def _as_uint8(images: npt.NDArray[Any], where: str) -> _U8:
    """uint8 pixels from uint8, integer (0..255) or float ([0, 1]) arrays."""
    if images.dtype == np.uint8:
        return images
    if images.size == 0:
        return images.astype(np.uint8)
    lo, hi = images.min(), images.max()
    if np.issubdtype(images.dtype, np.integer) and lo >= 0 and hi <= 255:
        return images.astype(np.uint8)
    if np.issubdtype(images.dtype, np.floating) and lo >= 0.0 and hi <= 1.0:
        return np.round(images * 255.0).astype(np.uint8)
    raise DataError(
        f"{where}: expected uint8 pixels, integers in 0..255 or floats in [0, 1]; got "
        f"{images.dtype} in [{lo}, {hi}]"
    )


def load_idx_pair(images_path: str | Path, labels_path: str | Path) -> tuple[_U8, _I64]:
    """Read an IDX images file and its labels file.

    Returns:
        uint8 images (N, H, W) and int64 labels (N,).

    Raises:
        DataError: If either file is unreadable, or they do not match.
    """
    images, labels = read_idx(images_path), read_idx(labels_path)
    if images.dtype != np.uint8 or images.ndim != 3:
        raise DataError(f"'{images_path}': expected uint8 images (N, H, W), got {images.dtype} "
                        f"{images.shape}")
    _check_pair(images, labels, f"'{images_path}' and '{labels_path}'")
    return images, labels.astype(np.int64)


def _idx_file(root: Path, prefix: str, kind: str, n: int) -> Path | None:
    """``root/<prefix>-<kind>-idx<n>-ubyte[.gz]`` (or the ``.idx<n>`` spelling) if it exists."""
    for name in (f"{prefix}-{kind}-idx{n}-ubyte", f"{prefix}-{kind}.idx{n}-ubyte"):
        for suffix in ("", ".gz"):
            if (root / (name + suffix)).is_file():
                return root / (name + suffix)
    return None


def is_idx_folder(path: str | Path) -> bool:
    """Whether ``path`` is a directory holding IDX files (a name with ``idx`` in it)."""
    p = Path(path)
    return p.is_dir() and any("idx" in f.name for f in p.iterdir())


def mnist_split(
    root: str | Path, split: Literal["auto", "train", "test"]
) -> Literal["train", "test"]:
    """The split of an MNIST-style IDX folder to read: ``auto`` is ``test`` (the ``t10k-*``
    files) when the folder has its images, else ``train``; the others are returned as given."""
    if split != "auto":
        return split
    return "test" if _idx_file(Path(root), "t10k", "images", 3) is not None else "train"


def load_mnist(
    root: str | Path, split: Literal["auto", "train", "test"] = "train"
) -> tuple[_U8, _I64]:
    """Read MNIST or Fashion-MNIST (same file names) from a directory.

    Looks for ``train-images-idx3-ubyte`` / ``train-labels-idx1-ubyte`` (``t10k-...`` for the
    test split), with or without ``.gz``, and the ``train-images.idx3-ubyte`` spelling.

    Args:
        root: The folder.
        split: ``train``, ``test`` (the ``t10k-*`` files) or ``auto`` (see
            :func:`mnist_split`).

    Returns:
        uint8 images (N, 28, 28) and int64 labels (N,).

    Raises:
        DataError: If the files are missing or unreadable.
    """
    root = Path(root)
    prefix = {"train": "train", "test": "t10k"}[mnist_split(root, split)]

    def find(kind: str, n: int) -> Path:
        found = _idx_file(root, prefix, kind, n)
        if found is None:
            raise DataError(f"'{root}' has no {prefix}-{kind}-idx{n}-ubyte[.gz] file")
        return found

    return load_idx_pair(find("images", 3), find("labels", 1))


def load_npz(path: str | Path, x_key: str = "x", y_key: str = "y") -> tuple[_U8, _I64]:
    """Read images and labels from a ``.npz`` file (e.g. ``x_train``/``y_train`` keys).

    Args:
        path: The ``.npz`` file (read without pickle).
        x_key: Key of the images: (N, H, W) or (N, H, W, C), uint8, integers in 0..255 or floats
            in [0, 1].
        y_key: Key of the integer labels (N,).

    Returns:
        uint8 images and int64 labels.

    Raises:
        DataError: If the file is unreadable, a key is missing, or the arrays do not fit.
    """
    p = Path(path)
    read_bytes(p, DataError)  # the same messages as the other readers for missing files
    try:
        with np.load(p, allow_pickle=False) as npz:
            missing = [k for k in (x_key, y_key) if k not in npz.files]
            if missing:
                raise DataError(f"'{p}' has no array {missing[0]!r}; it has: "
                                f"{', '.join(npz.files) or 'none'}")
            images, labels = npz[x_key], npz[y_key]
    except (OSError, ValueError, EOFError) as e:
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise DataError(f"'{p}' is not a readable .npz file: {msg}") from e
    if not isinstance(images, np.ndarray) or not isinstance(labels, np.ndarray):
        raise DataError(f"'{p}' is not a .npz archive of arrays")
    _check_pair(images, labels, f"'{p}'")
    return _as_uint8(images, f"'{p}'"), labels.astype(np.int64)


def scan_image_folder(root: str | Path) -> tuple[list[Path], list[int], list[str]]:
    """List a class-per-folder dataset: ``root/<class>/**/<image>.png|jpg|jpeg|bmp``.

    Classes are the sorted names of the sub-folders (hidden ones skipped); files are sorted.

    Returns:
        Image paths, their class indices, and the class names.

    Raises:
        DataError: If ``root`` is not a directory, has no class folders, or a class folder
            holds no image (the message names it).
    """
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"cannot read '{root}': not a directory")
    classes = sorted(d.name for d in root.iterdir() if d.is_dir() and not d.name.startswith("."))
    if not classes:
        raise DataError(f"'{root}' has no class folders (expected root/<class>/<image>)")
    paths: list[Path] = []
    labels: list[int] = []
    for index, name in enumerate(classes):
        found = sorted(
            f for f in (root / name).rglob("*")
            if f.suffix.lower() in IMAGE_EXTENSIONS and f.is_file()
            and not any(part.startswith(".") for part in f.relative_to(root).parts)
        )
        if not found:
            raise DataError(
                f"class '{name}' has no images ({', '.join(sorted(IMAGE_EXTENSIONS))}) in "
                f"'{root / name}'"
            )
        paths += found
        labels += [index] * len(found)
    return paths, labels, classes


def _eight_bit(img: Any) -> Any:
    """16-bit greyscale as 8-bit by scaling (Pillow's own conversion clips at 255)."""
    from PIL import Image

    if img.mode.startswith("I;16") or img.mode == "I":
        arr = np.asarray(img).astype(np.int64)
        if img.mode == "I" and arr.max(initial=0) <= 255:
            return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))
        return Image.fromarray((np.clip(arr, 0, 65535) // 257).astype(np.uint8))
    return img


def load_image(
    path: str | Path, size: tuple[int, int] | None = None, channels: int = 1
) -> _U8:
    """Read a PNG/JPEG/BMP (any format Pillow reads) as uint8 pixels (H, W, C).

    EXIF orientation is applied; 16-bit greyscale is scaled to 8 bits; colour images are
    converted to greyscale for ``channels=1`` and greyscale to RGB for ``channels=3``
    (transparency is dropped).

    Args:
        path: The image file.
        size: (H, W) to resize to (bilinear, aspect ratio not kept); ``None`` keeps the size.
        channels: 1 (greyscale) or 3 (RGB).

    Raises:
        DataError: If Pillow is missing or the file is missing or not a readable image.
    """
    if channels not in (1, 3):
        raise ConfigError(f"channels must be 1 or 3, got {channels}")
    try:
        from PIL import Image, ImageOps, UnidentifiedImageError
    except ImportError as e:
        raise DataError("reading images needs Pillow: pip install 'voicecnn[image]'") from e
    p = Path(path)
    try:
        with Image.open(p) as im:
            im.load()
            img = _eight_bit(ImageOps.exif_transpose(im)).convert("L" if channels == 1 else "RGB")
            if size is not None and img.size != (size[1], size[0]):
                img = img.resize((size[1], size[0]), Image.Resampling.BILINEAR)
            arr = np.asarray(img, dtype=np.uint8)
    except FileNotFoundError as e:
        raise DataError(f"cannot read '{p}': file not found") from e
    except IsADirectoryError as e:
        raise DataError(f"cannot read '{p}': is a directory") from e
    except UnidentifiedImageError as e:
        raise DataError(f"cannot read '{p}': not an image Pillow recognises") from e
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as e:
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise DataError(f"cannot read '{p}': damaged image ({msg})") from e
    return arr.reshape(arr.shape[0], arr.shape[1], channels).copy()


def load_image_folder(
    root: str | Path, *, size: tuple[int, int], channels: int = 1
) -> tuple[_U8, _I64, list[str]]:
    """Read a class-per-folder dataset (see :func:`scan_image_folder`) into memory.

    Returns:
        uint8 images (N, H, W, C) resized to ``size``, int64 labels (N,), the class names.

    Raises:
        DataError: As :func:`scan_image_folder`, or for the first unreadable image.
    """
    paths, labels, classes = scan_image_folder(root)
    images = np.empty((len(paths), size[0], size[1], channels), dtype=np.uint8)
    for i, p in enumerate(paths):
        images[i] = load_image(p, size, channels)
    return images, np.asarray(labels, dtype=np.int64), classes


def _as_nhwc(images: npt.NDArray[Any]) -> _U8:
    if images.dtype != np.uint8:
        raise DataError(f"expected uint8 images, got {images.dtype}")
    if images.ndim == 3:
        return images[..., None]
    if images.ndim == 4:
        return images
    raise DataError(f"expected images (N, H, W) or (N, H, W, C), got shape {images.shape}")


def _stats_arrays(
    mean: Sequence[float], std: Sequence[float], channels: int
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    m = np.asarray(mean, dtype=np.float32).reshape(-1)
    s = np.asarray(std, dtype=np.float32).reshape(-1)
    for name, v in (("mean", m), ("std", s)):
        if len(v) not in (1, channels):
            raise ConfigError(f"{name} needs 1 or {channels} values, got {len(v)}")
    if (s <= 0).any() or not (np.isfinite(m).all() and np.isfinite(s).all()):
        raise ConfigError("std must be positive and mean/std finite")
    return np.broadcast_to(m, (channels,)).copy(), np.broadcast_to(s, (channels,)).copy()


def normalize(
    images: npt.NDArray[np.uint8], mean: Sequence[float], std: Sequence[float]
) -> npt.NDArray[np.float32]:
    """uint8 images (N, H, W) or (N, H, W, C) -> float32 (N, C, H, W), ``(x/255 - mean)/std``.

    Args:
        images: Pixels, with the batch axis.
        mean: One value per channel, or one for all (in [0, 1] units).
        std: Likewise; positive.

    Raises:
        DataError: For arrays that are not uint8 images.
        ConfigError: For a wrong number of mean/std values or a non-positive std.
    """
    x = _as_nhwc(images)
    m, s = _stats_arrays(mean, std, x.shape[3])
    out = x.transpose(0, 3, 1, 2).astype(np.float32) / np.float32(255.0)
    return (out - m[:, None, None]) / s[:, None, None]


def channel_stats(
    images: npt.NDArray[np.uint8], *, chunk: int = 4096
) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-channel mean and standard deviation of pixels scaled to [0, 1].

    Computed in chunks of ``chunk`` images with float64 sums, so large sets stay in memory.

    Returns:
        (mean, std), one value per channel, for :func:`normalize` and a model's config.

    Raises:
        DataError: For arrays that are not uint8 images, or no images.
    """
    x = _as_nhwc(images)
    if x.shape[0] == 0:
        raise DataError("cannot compute statistics of no images")
    total = np.zeros(x.shape[3])
    squares = np.zeros(x.shape[3])
    for start in range(0, x.shape[0], chunk):
        part = x[start : start + chunk].astype(np.float64) / 255.0
        total += part.sum(axis=(0, 1, 2))
        squares += np.square(part).sum(axis=(0, 1, 2))
    n = x.shape[0] * x.shape[1] * x.shape[2]
    mean = total / n
    std = np.sqrt(np.maximum(squares / n - mean**2, 0.0))
    return tuple(float(v) for v in mean), tuple(float(max(v, 1e-6)) for v in std)


def shift_image(image: _U8, dy: int, dx: int) -> _U8:
    """Shift (H, W, C) pixels by ``dy`` rows and ``dx`` columns, filling with zeros.

    The same as padding by ``max(|dy|, |dx|)`` and cropping an (H, W) window off-centre.
    """
    h, w = image.shape[:2]
    out = np.zeros_like(image)
    if abs(dy) >= h or abs(dx) >= w:
        return out
    out[max(dy, 0) : h + min(dy, 0), max(dx, 0) : w + min(dx, 0)] = (
        image[max(-dy, 0) : h + min(-dy, 0), max(-dx, 0) : w + min(-dx, 0)]
    )
    return out


class ImageDataset(Dataset[tuple[torch.Tensor, int]]):
    """In-memory images -> ``(float32 tensor (C, H, W), int label)`` pairs, optionally augmented.

    The default ``DataLoader`` collation stacks them into (B, C, H, W) and int64 (B,).

    Args:
        images: uint8 pixels (N, H, W) or (N, H, W, C); kept by reference, not copied.
        labels: Class indices (N,), non-negative integers.
        mean: Per-channel (or one shared) mean of pixels in [0, 1], see :func:`normalize`.
        std: Per-channel (or one shared) standard deviation.
        augment: Randomly shift each image by up to ``max_shift_px`` pixels per axis (zero fill:
            padding and a random crop), and flip it if ``flip``.
        max_shift_px: Largest shift in pixels.
        flip: Also flip horizontally with probability 0.5: only for data whose mirror image has
            the same class (objects, not digits or letters).
        class_names: Names of the classes (optional, kept for saving with a model).
        seed: Seed of the augmentation.

    Raises:
        DataError: If images and labels do not fit.
        ConfigError: For bad mean/std or a negative shift.
    """

    def __init__(
        self,
        images: npt.NDArray[np.uint8],
        labels: npt.ArrayLike,
        *,
        mean: Sequence[float] = (0.5,),
        std: Sequence[float] = (0.5,),
        augment: bool = False,
        max_shift_px: int = 2,
        flip: bool = False,
        class_names: Sequence[str] = (),
        seed: int = 0,
    ) -> None:
        self.images = _as_nhwc(np.asarray(images))
        lab = np.asarray(labels)
        _check_pair(self.images, lab, "ImageDataset")
        self.labels = lab.astype(np.int64)
        if class_names and len(self.labels) and self.labels.max() >= len(class_names):
            raise DataError(
                f"ImageDataset: label {self.labels.max()} but only {len(class_names)} classes"
            )
        if max_shift_px < 0:
            raise ConfigError(f"max_shift_px must not be negative, got {max_shift_px}")
        self.mean, self.std = _stats_arrays(mean, std, self.images.shape[3])
        self.augment = augment
        self.max_shift_px = max_shift_px
        self.flip = flip
        self.class_names = list(class_names)
        self.seed = seed
        self.epoch = 0

    @property
    def num_classes(self) -> int:
        """Number of classes: of ``class_names`` if given, else the largest label + 1."""
        if self.class_names:
            return len(self.class_names)
        return int(self.labels.max()) + 1 if len(self.labels) else 0

    def set_epoch(self, epoch: int) -> None:
        """Draw new augmentations: item ``i`` of epoch ``e`` uses ``rng([seed, e, i])``."""
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        if not -len(self) <= index < len(self):
            raise IndexError(f"index {index} out of range for {len(self)} images")
        index %= len(self)
        img = self.images[index]
        if self.augment:
            rng = np.random.default_rng([self.seed, self.epoch, index])
            s = self.max_shift_px
            dy, dx = (int(v) for v in rng.integers(-s, s + 1, size=2))
            img = shift_image(img, dy, dx)
            if self.flip and rng.random() < 0.5:
                img = img[:, ::-1]
        x = img.transpose(2, 0, 1).astype(np.float32) / np.float32(255.0)
        x = (x - self.mean[:, None, None]) / self.std[:, None, None]
        return torch.from_numpy(np.ascontiguousarray(x)), int(self.labels[index])


def split_holdout(
    x: npt.NDArray[Any], y: npt.NDArray[Any], n_holdout: int, *, seed: int
) -> tuple[npt.NDArray[Any], npt.NDArray[Any], npt.NDArray[Any], npt.NDArray[Any]]:
    """Hold out ``n_holdout`` examples drawn with ``seed``, keeping the order of both parts.

    Returns:
        ``(x_train, y_train, x_holdout, y_holdout)``.

    Raises:
        ConfigError: Unless ``0 < n_holdout < len(y)``.
    """
    if not 0 < n_holdout < len(y):
        raise ConfigError(f"the held-out size must be in 1..{len(y) - 1}, got {n_holdout}")
    held = np.zeros(len(y), dtype=bool)
    held[np.random.default_rng(seed).choice(len(y), size=n_holdout, replace=False)] = True
    return x[~held], y[~held], x[held], y[held]
