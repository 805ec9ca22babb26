"""The clip classifiers' training set: windows, padding, seeded augmentation, mixup targets."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tests.train_data import SR
from voicecnn.data.clip_dataset import ClipAugmentCfg, ClipDataset


def _dataset(augment: ClipAugmentCfg | None, seed: int = 0) -> ClipDataset:
    rng = np.random.default_rng(5)
    waves = [rng.standard_normal(n).astype(np.float32) for n in (8000, 12000, 20000, 16000)]
    return ClipDataset(
        waves, [0, 1, 2, 1], num_classes=3, clip_s=1.0, sample_rate=SR, augment=augment, seed=seed
    )


def test_windows_without_augmentation_pad_and_crop() -> None:
    ds = _dataset(None)
    x, y = ds[0]
    assert x.shape == (SR,) and y == 0 and isinstance(y, int)
    np.testing.assert_array_equal(x[:8000].numpy(), ds.waves[0])
    assert not x[8000:].any()
    np.testing.assert_array_equal(ds[2][0].numpy(), ds.waves[2][:SR])  # the first clip_s
    xb, yb = next(iter(torch.utils.data.DataLoader(ds, batch_size=4)))
    assert xb.shape == (4, SR) and yb.tolist() == [0, 1, 2, 1]


def test_augmentation_is_seeded_per_epoch_and_index() -> None:
    cfg = ClipAugmentCfg(shift_s=0.2, gain_db=6.0, mixup=0.4, time_masks=2, freq_masks=2)
    ds = _dataset(cfg, seed=3)
    first = [ds[i] for i in range(4)]
    again = _dataset(cfg, seed=3)
    for i in reversed(range(4)):  # any order, a fresh object: the same items
        x, t = again[i]
        assert torch.equal(x, first[i][0]) and torch.equal(t, first[i][1])
    plain = _dataset(None)
    assert all(not torch.equal(first[i][0], plain[i][0]) for i in range(4))
    ds.set_epoch(1)
    assert all(not torch.equal(ds[i][0], first[i][0]) for i in range(4))
    ds.set_epoch(0)
    assert all(torch.equal(ds[i][0], first[i][0]) for i in range(4))
    other = _dataset(cfg, seed=4)
    assert any(not torch.equal(other[i][0], first[i][0]) for i in range(4))
    # mixup targets: class probabilities summing to 1, the item's own class included
    for i, (x, t) in enumerate(first):
        assert x.shape == (SR,) and x.dtype == torch.float32 and t.shape == (3,)
        assert float(t.sum()) == pytest.approx(1.0) and float(t[ds.labels[i]]) > 0
    mixed = [t for ds_e in range(6) for t in _epoch_targets(ds, ds_e)]
    assert any(float(t.max()) < 1.0 for t in mixed)


def _epoch_targets(ds: ClipDataset, epoch: int) -> list[torch.Tensor]:
    ds.set_epoch(epoch)
    out = [ds[i][1] for i in range(len(ds))]
    ds.set_epoch(0)
    return out


def test_shift_rolls_and_gain_scales() -> None:
    rng = np.random.default_rng(0)
    wave = rng.standard_normal(SR).astype(np.float32)

    def augmented(augment: ClipAugmentCfg) -> np.ndarray:
        ds = ClipDataset(
            [wave], [0], num_classes=1, clip_s=1.0, sample_rate=SR, augment=augment, seed=1
        )
        return ds[0][0].numpy()

    x = augmented(ClipAugmentCfg(shift_s=0.1, gain_db=0.0))
    k = int(np.argmax([np.dot(np.roll(wave, s), x) for s in range(-1600, 1601)])) - 1600
    np.testing.assert_array_equal(x, np.roll(wave, k))  # a circular shift: nothing lost
    ratio = augmented(ClipAugmentCfg(shift_s=0.0, gain_db=6.0)) / wave
    assert np.allclose(ratio, ratio[0]) and 0.5 <= ratio[0] <= 2.0 and ratio[0] != 1.0
    with pytest.raises(ValueError, match="mixup_prob"):
        ClipAugmentCfg(mixup_prob=2.0)
