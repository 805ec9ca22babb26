"""Image readers (IDX, npz, folders, Pillow) on generated files, bad input, and ImageDataset."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from voicecnn.data.images import (
    ImageDataset,
    channel_stats,
    load_idx_pair,
    load_image,
    load_image_folder,
    load_mnist,
    load_npz,
    normalize,
    read_idx,
    scan_image_folder,
    shift_image,
)
from voicecnn.errors import ConfigError, DataError


def _idx_bytes(arr: np.ndarray) -> bytes:
    code = {np.dtype(np.uint8): 0x08, np.dtype(">i4"): 0x0C, np.dtype(">f4"): 0x0D}[arr.dtype]
    header = struct.pack(">BBBB", 0, 0, code, arr.ndim) + struct.pack(f">{arr.ndim}I", *arr.shape)
    return header + arr.tobytes()


@pytest.fixture
def digits() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (5, 28, 28), dtype=np.uint8), np.array([3, 1, 4, 1, 5], np.uint8)


def _write(path: Path, data: bytes, *, compress: bool = False) -> Path:
    path.write_bytes(gzip.compress(data) if compress else data)
    return path


@pytest.mark.parametrize("compress", [False, True])
def test_read_idx_raw_and_gzip(tmp_path: Path, digits: tuple[np.ndarray, np.ndarray],
                               compress: bool) -> None:
    images, labels = digits
    # the name says nothing: gzip is recognised from the content
    p = _write(tmp_path / "images", _idx_bytes(images), compress=compress)
    out = read_idx(p)
    assert out.dtype == np.uint8 and np.array_equal(out, images)
    q = _write(tmp_path / "labels", _idx_bytes(labels), compress=compress)
    assert np.array_equal(read_idx(q), labels)


def test_read_idx_other_types_come_back_native(tmp_path: Path) -> None:
    ints = np.arange(6, dtype=">i4").reshape(2, 3)
    out = read_idx(_write(tmp_path / "ints", _idx_bytes(ints)))
    assert out.dtype == np.dtype("int32") and out.dtype.isnative and np.array_equal(out, ints)
    floats = np.linspace(0, 1, 4, dtype=">f4")
    assert np.allclose(read_idx(_write(tmp_path / "floats", _idx_bytes(floats))), floats)


def test_read_idx_bad_input_names_the_file(tmp_path: Path,
                                           digits: tuple[np.ndarray, np.ndarray]) -> None:
    good = _idx_bytes(digits[0])
    cases = {
        "magic": (b"\x08\x03\x00\x00" + good[4:], "bad magic number"),
        "type": (b"\x00\x00\x07\x03" + good[4:], "bad magic number"),
        "short": (good[:-10], "is truncated"),
        "header": (good[:9], "is truncated: the header"),
        "long": (good + b"\x00", "longer than its header says"),
        "empty": (b"", "bad magic number"),
        "gz": (gzip.compress(good)[:-12], "damaged gzip file"),
    }
    for name, (data, match) in cases.items():
        p = _write(tmp_path / f"{name}-ubyte", data)
        with pytest.raises(DataError, match=match) as e:
            read_idx(p)
        assert str(p) in str(e.value) and "\n" not in str(e.value)
    with pytest.raises(DataError, match="file not found"):
        read_idx(tmp_path / "missing")


def test_load_mnist_finds_both_spellings(tmp_path: Path,
                                         digits: tuple[np.ndarray, np.ndarray]) -> None:
    images, labels = digits
    _write(tmp_path / "train-images-idx3-ubyte.gz", _idx_bytes(images), compress=True)
    _write(tmp_path / "train-labels-idx1-ubyte.gz", _idx_bytes(labels), compress=True)
    _write(tmp_path / "t10k-images.idx3-ubyte", _idx_bytes(images[:2]))
    _write(tmp_path / "t10k-labels.idx1-ubyte", _idx_bytes(labels[:2]))
    x, y = load_mnist(tmp_path)
    assert np.array_equal(x, images) and y.dtype == np.int64 and list(y) == [3, 1, 4, 1, 5]
    x, y = load_mnist(tmp_path, "test")
    assert x.shape == (2, 28, 28) and list(y) == [3, 1]
    with pytest.raises(DataError, match="has no train-images-idx3-ubyte"):
        load_mnist(tmp_path / "nothing")


def test_load_idx_pair_checks_counts(tmp_path: Path,
                                     digits: tuple[np.ndarray, np.ndarray]) -> None:
    images, labels = digits
    xi = _write(tmp_path / "x", _idx_bytes(images))
    yi = _write(tmp_path / "y", _idx_bytes(labels[:4]))
    with pytest.raises(DataError, match="5 images but 4 labels"):
        load_idx_pair(xi, yi)
    with pytest.raises(DataError, match=r"expected uint8 images \(N, H, W\)"):
        load_idx_pair(_write(tmp_path / "y1", _idx_bytes(labels)), yi)


def test_load_npz(tmp_path: Path, digits: tuple[np.ndarray, np.ndarray]) -> None:
    images, labels = digits
    p = tmp_path / "d.npz"
    np.savez(p, x_train=images, y_train=labels, x_float=images / 255.0, x_bad=images * 2.0)
    x, y = load_npz(p, "x_train", "y_train")
    assert np.array_equal(x, images) and y.dtype == np.int64
    assert np.array_equal(load_npz(p, "x_float", "y_train")[0], images)  # floats in [0, 1]
    with pytest.raises(DataError, match=r"has no array 'x'; it has: x_train"):
        load_npz(p)
    with pytest.raises(DataError, match="floats in \\[0, 1\\]"):
        load_npz(p, "x_bad", "y_train")
    np.savez(tmp_path / "e.npz", x=images, y=labels[:4])
    with pytest.raises(DataError, match="5 images but 4 labels"):
        load_npz(tmp_path / "e.npz")
    (tmp_path / "junk.npz").write_bytes(b"not a zip file")
    with pytest.raises(DataError, match="not a readable .npz file"):
        load_npz(tmp_path / "junk.npz")
    with pytest.raises(DataError, match="file not found"):
        load_npz(tmp_path / "missing.npz")


def _png(path: Path, value: int, size: tuple[int, int] = (12, 10), mode: str = "L") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    colour = value if mode == "L" else (value, 0, 255 - value)
    Image.new(mode, (size[1], size[0]), colour).save(path)
    return path


def test_scan_and_load_image_folder(tmp_path: Path) -> None:
    _png(tmp_path / "cat" / "a.png", 10)
    _png(tmp_path / "cat" / "sub" / "b.PNG", 20)
    _png(tmp_path / "dog" / "c.jpg", 200, mode="RGB")
    _png(tmp_path / "dog" / ".hidden.png", 1)
    (tmp_path / "dog" / "notes.txt").write_text("not an image")
    _png(tmp_path / ".cache" / "x.png", 0)
    paths, labels, classes = scan_image_folder(tmp_path)
    assert classes == ["cat", "dog"] and labels == [0, 0, 1]
    assert [p.name for p in paths] == ["a.png", "b.PNG", "c.jpg"]
    images, y, names = load_image_folder(tmp_path, size=(8, 6), channels=3)
    assert images.shape == (3, 8, 6, 3) and images.dtype == np.uint8 and list(y) == [0, 0, 1]
    assert names == classes and images[0, 0, 0, 0] == 10


def test_image_folder_errors(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="not a directory"):
        scan_image_folder(tmp_path / "missing")
    with pytest.raises(DataError, match="has no class folders"):
        scan_image_folder(tmp_path)
    _png(tmp_path / "cat" / "a.png", 10)
    (tmp_path / "dog").mkdir()
    (tmp_path / "dog" / "readme.txt").write_text("x")
    with pytest.raises(DataError, match=r"class 'dog' has no images"):
        scan_image_folder(tmp_path)
    (tmp_path / "dog" / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    with pytest.raises(DataError, match=r"bad\.png") as e:
        load_image_folder(tmp_path, size=(8, 8))
    assert "\n" not in str(e.value)


def test_load_image_converts_and_resizes(tmp_path: Path) -> None:
    rgb = _png(tmp_path / "rgb.png", 100, size=(20, 30), mode="RGB")
    grey = load_image(rgb)
    assert grey.shape == (20, 30, 1) and grey.dtype == np.uint8
    assert load_image(rgb, (28, 28), channels=3).shape == (28, 28, 3)
    assert np.all(load_image(_png(tmp_path / "g.bmp", 77), channels=3) == 77)
    rgba = tmp_path / "rgba.png"
    Image.new("RGBA", (5, 4), (255, 255, 255, 128)).save(rgba)
    assert load_image(rgba).shape == (4, 5, 1)
    deep = tmp_path / "16bit.png"
    Image.fromarray(np.array([[0, 257 * 100, 65535]], dtype=np.uint16)).save(deep)
    assert load_image(deep).ravel().tolist() == [0, 100, 255]  # scaled, not clipped


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (b"", "not an image Pillow recognises"),
        (b"hello, world", "not an image Pillow recognises"),
        (None, "damaged image"),
    ],
)
def test_load_image_bad_files(tmp_path: Path, content: bytes | None, match: str) -> None:
    p = tmp_path / "bad.png"
    if content is None:  # a real PNG cut short
        _png(tmp_path / "full.png", 0, size=(64, 64), mode="RGB")
        Image.effect_noise((64, 64), 50).save(tmp_path / "full.png")
        p.write_bytes((tmp_path / "full.png").read_bytes()[:200])
    else:
        p.write_bytes(content)
    with pytest.raises(DataError, match=match) as e:
        load_image(p)
    assert str(p) in str(e.value) and "\n" not in str(e.value)
    with pytest.raises(DataError, match="file not found"):
        load_image(tmp_path / "missing.png")
    with pytest.raises(DataError, match="is a directory"):
        load_image(tmp_path)
    with pytest.raises(ConfigError, match="channels"):
        load_image(p, channels=2)


def test_normalize_and_channel_stats() -> None:
    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, (7, 5, 4, 3), dtype=np.uint8)
    mean, std = channel_stats(images, chunk=3)
    ref = images.astype(np.float64) / 255
    assert np.allclose(mean, ref.mean(axis=(0, 1, 2))) and np.allclose(std, ref.std(axis=(0, 1, 2)))
    x = normalize(images, mean, std)
    assert x.shape == (7, 3, 5, 4) and x.dtype == np.float32
    assert np.allclose(x.mean(axis=(0, 2, 3)), 0, atol=1e-5)
    assert np.allclose(x.std(axis=(0, 2, 3)), 1, atol=1e-4)
    grey = normalize(images[..., 0], (0.5,), (0.5,))
    assert grey.shape == (7, 1, 5, 4) and grey.min() >= -1 and grey.max() <= 1
    with pytest.raises(ConfigError, match="mean needs 1 or 3 values"):
        normalize(images, (0.1, 0.2), (1.0,))
    with pytest.raises(ConfigError, match="positive"):
        normalize(images, (0.1,), (0.0,))
    with pytest.raises(DataError, match="uint8"):
        normalize(images.astype(np.float32), (0.1,), (1.0,))


def test_shift_image_moves_pixels_and_fills_zeros() -> None:
    img = np.arange(1, 13, dtype=np.uint8).reshape(3, 4, 1)
    out = shift_image(img, 1, -2)
    assert np.array_equal(out[1:, :2, 0], img[:2, 2:, 0])
    assert (out[0] == 0).all() and (out[:, 2:] == 0).all()
    assert np.array_equal(shift_image(img, 0, 0), img)
    assert not shift_image(img, 3, 0).any()


def test_dataset_normalises_and_collates() -> None:
    images = np.full((4, 6, 6), 255, dtype=np.uint8)
    ds = ImageDataset(images, [0, 1, 2, 1], mean=(0.5,), std=(0.25,), class_names=["a", "b", "c"])
    x, y = ds[1]
    assert x.shape == (1, 6, 6) and x.dtype == torch.float32 and y == 1
    assert torch.allclose(x, torch.full_like(x, 2.0))  # (1 - 0.5) / 0.25
    assert ds.num_classes == 3 and len(ds) == 4
    xb, yb = next(iter(torch.utils.data.DataLoader(ds, batch_size=4)))
    assert xb.shape == (4, 1, 6, 6) and yb.dtype == torch.int64
    with pytest.raises(IndexError):
        ds[4]


def test_dataset_augmentation_is_seeded_per_epoch_and_index() -> None:
    rng = np.random.default_rng(2)
    images = rng.integers(1, 256, (6, 10, 10, 3), dtype=np.uint8)
    labels = np.arange(6)
    plain = ImageDataset(images, labels)
    ds = ImageDataset(images, labels, augment=True, max_shift_px=3, flip=True, seed=7)
    first = [ds[i][0] for i in range(6)]
    again = ImageDataset(images, labels, augment=True, max_shift_px=3, flip=True, seed=7)
    # same (seed, epoch, index) -> same item, in any order
    assert all(torch.equal(again[i][0], first[i]) for i in reversed(range(6)))
    assert any(not torch.equal(first[i], plain[i][0]) for i in range(6))
    ds.set_epoch(1)
    assert any(not torch.equal(ds[i][0], first[i]) for i in range(6))
    ds.set_epoch(0)
    assert all(torch.equal(ds[i][0], first[i]) for i in range(6))
    other = ImageDataset(images, labels, augment=True, max_shift_px=3, flip=True, seed=8)
    assert any(not torch.equal(other[i][0], first[i]) for i in range(6))
    # no flip for digits: every augmented item is a shifted copy of the original
    noflip = ImageDataset(images, labels, augment=True, max_shift_px=2, seed=0)
    for i in range(6):
        x = noflip[i][0]
        shifts = [shift_image(images[i], dy, dx) for dy in range(-2, 3) for dx in range(-2, 3)]
        assert any(torch.allclose(x, ImageDataset(s[None], [0])[0][0]) for s in shifts)


def test_dataset_rejects_bad_input() -> None:
    images = np.zeros((3, 4, 4), dtype=np.uint8)
    with pytest.raises(DataError, match="3 images but 2 labels"):
        ImageDataset(images, [0, 1])
    with pytest.raises(DataError, match="label 5 but only 2 classes"):
        ImageDataset(images, [0, 1, 5], class_names=["a", "b"])
    with pytest.raises(DataError, match="must not be negative"):
        ImageDataset(images, [0, -1, 1])
    with pytest.raises(DataError, match="uint8"):
        ImageDataset(images.astype(np.float32), [0, 1, 1])
    with pytest.raises(ConfigError, match="max_shift_px"):
        ImageDataset(images, [0, 1, 1], max_shift_px=-1)
