"""Labelled clips as a training set for the clip classifiers, with seeded augmentation.

:class:`ClipDataset` holds the decoded clips (:mod:`voicecnn.data.labelled_clips`) in memory and
gives fixed-length waveforms with seeded augmentation (random crop, circular time shift, gain,
mixup, time and frequency masks; :class:`ClipAugmentCfg`). Randomness: item ``index`` of epoch
``epoch`` is drawn from ``numpy.random.default_rng([seed, epoch, index])`` and nothing else, as in
:mod:`voicecnn.data.datasets`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import torch
from torch.utils.data import Dataset

from voicecnn.errors import ConfigError, DataError

__all__ = ["ClipAugmentCfg", "ClipDataset"]

_F32 = npt.NDArray[np.float32]


@dataclass(frozen=True)
class ClipAugmentCfg:
    """Random changes to training clips (all off with :meth:`off`).

    Every training item is first placed in a window of the dataset's fixed length: a random
    excerpt of a longer clip, a shorter one zero-padded at its end.

    Attributes:
        shift_s: Roll the window circularly by up to this many seconds either way (what
            leaves one end comes back at the other, so nothing is lost).
        gain_db: Scale by a gain drawn uniformly in +-``gain_db`` dB.
        mixup: Beta(``mixup``, ``mixup``) parameter of mixup: the item is mixed with another
            (independently shifted and scaled) training clip, ``lam * a + (1 - lam) * b``,
            and its target becomes ``lam`` of its class and ``1 - lam`` of the other's;
            0 = off.
        mixup_prob: Share of items that are mixed when ``mixup`` > 0.
        time_masks: Number of spans set to zero (SpecAugment's time masks, on the waveform).
        time_mask_s: Longest such span in seconds.
        freq_masks: Number of frequency bands removed (SpecAugment's frequency masks, by
            zeroing a band of the clip's spectrum).
        freq_mask: Widest such band, as a share of the mel scale up to the Nyquist frequency.
    """

    shift_s: float = 0.5
    gain_db: float = 6.0
    mixup: float = 0.0
    mixup_prob: float = 1.0
    time_masks: int = 0
    time_mask_s: float = 0.25
    freq_masks: int = 0
    freq_mask: float = 0.1

    def __post_init__(self) -> None:
        for name in ("shift_s", "gain_db", "mixup", "time_mask_s"):
            v = getattr(self, name)
            if not (math.isfinite(v) and v >= 0):
                raise ValueError(f"{name} must be a number >= 0, got {v}")
        if not 0.0 <= self.mixup_prob <= 1.0:
            raise ValueError(f"mixup_prob must be in [0, 1], got {self.mixup_prob}")
        if not 0.0 <= self.freq_mask <= 1.0:
            raise ValueError(f"freq_mask must be in [0, 1], got {self.freq_mask}")
        if self.time_masks < 0 or self.freq_masks < 0:
            raise ValueError("time_masks and freq_masks must be >= 0")

    @classmethod
    def off(cls) -> ClipAugmentCfg:
        """No augmentation at all (random excerpts of long clips remain)."""
        return cls(shift_s=0.0, gain_db=0.0)


def _mel(hz: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Hz -> mel (HTK formula)."""
    return 2595.0 * np.log10(1.0 + np.asarray(hz, dtype=np.float64) / 700.0)


class ClipDataset(Dataset[tuple[torch.Tensor, Any]]):
    """Decoded clips -> fixed-length ``(float32 wave (S,), target)`` pairs, optionally augmented.

    Without augmentation (validation) each clip gives its first ``clip_s`` seconds,
    zero-padded when shorter, and its class index. With ``augment``, see
    :class:`ClipAugmentCfg`; targets are class indices, or float32 class probabilities (K,)
    when mixup is on. The default ``DataLoader`` collation stacks them into (B, S) and (B,)
    or (B, K).

    Args:
        waves: Mono float32 clips at ``sample_rate`` (e.g. from :func:`load_waves`), kept by
            reference.
        labels: Class index of each clip.
        num_classes: Number of classes K.
        clip_s: Seconds per item.
        sample_rate: Rate of ``waves`` in Hz.
        augment: Augmentation of training items; None for none (validation).
        seed: Seed (>= 0) of the augmentation.

    Raises:
        DataError: If waves and labels differ in number or a label is out of range.
        ConfigError: For a non-positive ``clip_s``.
    """

    def __init__(
        self,
        waves: Sequence[_F32],
        labels: npt.ArrayLike,
        *,
        num_classes: int,
        clip_s: float,
        sample_rate: int,
        augment: ClipAugmentCfg | None = None,
        seed: int = 0,
    ) -> None:
        lab = np.asarray(labels, dtype=np.int64).reshape(-1)
        if len(lab) != len(waves):
            raise DataError(f"ClipDataset: {len(waves)} clips but {len(lab)} labels")
        if len(lab) and (lab.min() < 0 or lab.max() >= num_classes):
            raise DataError(f"ClipDataset: labels must be in 0..{num_classes - 1}")
        if not (math.isfinite(clip_s) and clip_s > 0):
            raise ConfigError(f"data.clip_s must be a positive number of seconds, got {clip_s}")
        self.waves = list(waves)
        self.labels = lab
        self.num_classes = num_classes
        self.sample_rate = sample_rate
        self.n_samples = max(1, round(clip_s * sample_rate))
        self.augment = augment
        self.seed = int(seed)
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Draw new augmentations: item ``i`` of epoch ``e`` uses ``rng([seed, e, i])``."""
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.labels)

    def _window(self, index: int, rng: np.random.Generator | None) -> _F32:
        """Clip ``index`` in a window of ``n_samples``: shifted and scaled when ``rng`` is set."""
        wave, n = self.waves[index], self.n_samples
        start = 0
        if rng is not None and wave.size > n:
            start = int(rng.integers(0, wave.size - n + 1))
        out = np.zeros(n, dtype=np.float32)
        piece = wave[start : start + n]
        out[: piece.size] = piece
        aug = self.augment
        if rng is None or aug is None:
            return out
        limit = round(aug.shift_s * self.sample_rate)
        if limit:
            out = np.roll(out, int(rng.integers(-limit, limit + 1)))
        if aug.gain_db:
            out *= np.float32(10.0 ** (rng.uniform(-aug.gain_db, aug.gain_db) / 20.0))
        return out

    def _masks(self, wave: _F32, rng: np.random.Generator, aug: ClipAugmentCfg) -> _F32:
        n = wave.size
        if aug.freq_masks and aug.freq_mask > 0:
            spectrum = np.fft.rfft(wave)
            hz = np.fft.rfftfreq(n, 1.0 / self.sample_rate)
            mels = _mel(hz)
            top = float(mels[-1])
            for _ in range(aug.freq_masks):
                width = rng.uniform(0.0, aug.freq_mask) * top
                lo = rng.uniform(0.0, max(top - width, 0.0))
                spectrum[(mels >= lo) & (mels < lo + width)] = 0.0
            wave = np.fft.irfft(spectrum, n).astype(np.float32)
        longest = round(aug.time_mask_s * self.sample_rate)
        for _ in range(aug.time_masks if longest else 0):
            width = int(rng.integers(0, longest + 1))
            lo = int(rng.integers(0, max(n - width, 0) + 1))
            wave[lo : lo + width] = 0.0
        return wave

    def __getitem__(self, index: int) -> tuple[torch.Tensor, Any]:
        if not -len(self) <= index < len(self):
            raise IndexError(f"index {index} out of range for {len(self)} clips")
        index %= len(self)
        label = int(self.labels[index])
        aug = self.augment
        if aug is None:
            return torch.from_numpy(self._window(index, None)), label
        rng = np.random.default_rng([self.seed, self.epoch, index])
        wave = self._window(index, rng)
        target: Any = label
        if aug.mixup > 0:
            probs = np.zeros(self.num_classes, dtype=np.float32)
            probs[label] = 1.0
            if rng.random() < aug.mixup_prob:
                other = int(rng.integers(0, len(self)))
                lam = float(rng.beta(aug.mixup, aug.mixup))
                wave = lam * wave + (1.0 - lam) * self._window(other, rng)
                probs *= lam
                probs[int(self.labels[other])] += 1.0 - lam
            target = torch.from_numpy(probs)
        wave = self._masks(wave.astype(np.float32), rng, aug)
        return torch.from_numpy(np.ascontiguousarray(wave, dtype=np.float32)), target
