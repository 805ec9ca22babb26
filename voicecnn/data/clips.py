"""Labelled audio clips for the clip classifiers: class folders, clip lists, folds, augmentation.

Two layouts are read, and may be combined (:func:`load_clip_sources`):

- a class-per-folder tree, ``root/<class>/**/<clip>.wav|flac|ogg|...`` (the class is the first
  folder under ``root``), as ESC-10 and ESC-50 are distributed;
- a clip list: JSON Lines, one ``{"audio": "dog/1-100038-A.ogg", "label": "dog_bark"}`` per line
  (``audio_filepath`` or ``path`` also name the file; ``class`` or ``category`` the label; an
  optional integer ``fold``), or CSV with a header row naming the same columns (``filename`` is
  also taken as the path). Relative paths are relative to the list's folder.

**Folds.** Datasets with official cross-validation folds (ESC-50, ESC-10, UrbanSound8K...) are
validated on one fold at a time (:func:`split_fold`). A clip's fold is the list's ``fold``
column when it has one, else the integer before the first ``-`` of its file name (ESC-50's
``{fold}-{freesound id}-{take}.ogg``, see :func:`clip_fold`).

Nothing stops at the first problem: missing folders, classes without clips, unreadable or empty
files, bad list lines and clips without a fold are all listed in one
:class:`~voicecnn.errors.DataError` (``path:line: message``, as :mod:`voicecnn.data.manifest`
reports).

:class:`ClipDataset` holds the decoded clips in memory and gives fixed-length waveforms with
seeded augmentation (random crop, circular time shift, gain, mixup, time and frequency masks).
Randomness: item ``index`` of epoch ``epoch`` is drawn from
``numpy.random.default_rng([seed, epoch, index])`` and nothing else, as in
:mod:`voicecnn.data.datasets`.
"""

from __future__ import annotations

import csv
import io
import math
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import torch
from torch.utils.data import Dataset

from voicecnn.audio import load_audio
from voicecnn.data.annotations import Issue, issues_error
from voicecnn.data.manifest import AUDIO_SUFFIXES, _check_audio, _json_lines, _read_text
from voicecnn.errors import AudioError, ConfigError, DataError

__all__ = [
    "Clip",
    "ClipAugmentCfg",
    "ClipDataset",
    "class_names",
    "clip_fold",
    "label_indices",
    "load_clip_sources",
    "load_waves",
    "read_clip_list",
    "scan_clip_classes",
    "split_fold",
]

_F32 = npt.NDArray[np.float32]
_PATH_KEYS = ("audio_filepath", "audio", "path", "filename")
_LABEL_KEYS = ("label", "class", "category")
_FOLD_PREFIX = re.compile(r"(\d+)-")
_LIST_SUFFIXES = frozenset({".jsonl", ".json", ".csv"})


@dataclass(frozen=True)
class Clip:
    """One labelled audio clip.

    Attributes:
        path: The audio file.
        label: Its class name.
        fold: Its cross-validation fold when a clip list gives one (None: from the file name,
            see :func:`clip_fold`).
        source: The list or folder it came from, for messages.
        line: Its line in a clip list (None for folders).
    """

    path: Path
    label: str
    fold: int | None = None
    source: Path | None = None
    line: int | None = None


# --- reading ----------------------------------------------------------------------------------


def _audio_files(folder: Path) -> list[Path]:
    return sorted(
        f
        for f in folder.rglob("*")
        if f.is_file()
        and f.suffix.lower() in AUDIO_SUFFIXES
        and not any(part.startswith(".") for part in f.relative_to(folder).parts)
    )


def _scan_classes(root: Path, issues: list[Issue]) -> list[Clip]:
    if not root.exists():
        issues.append(Issue(root, None, "folder not found"))
        return []
    if not root.is_dir():
        issues.append(Issue(root, None, "not a folder, a .jsonl or a .csv clip list"))
        return []
    classes = sorted(d for d in root.iterdir() if d.is_dir() and not d.name.startswith("."))
    if not classes:
        issues.append(Issue(root, None, "no class folders (expected root/<class>/<clip>)"))
        return []
    clips: list[Clip] = []
    for folder in classes:
        found = _audio_files(folder)
        if not found:
            suffixes = ", ".join(sorted(AUDIO_SUFFIXES))
            issues.append(Issue(folder, None, f"class '{folder.name}' has no clips ({suffixes})"))
        clips += [Clip(p, folder.name, source=root) for p in found]
    return clips


def scan_clip_classes(root: str | os.PathLike[str]) -> list[Clip]:
    """List a class-per-folder tree of clips: ``root/<class>/**/<clip>.<audio suffix>``.

    Classes are the sub-folders of ``root`` (hidden ones skipped); files are searched
    recursively and sorted. Only the folder is read here (see :func:`load_clip_sources`).

    Raises:
        DataError: Listing every problem: ``root`` missing or not a folder, no class folders,
            class folders without clips.
    """
    issues: list[Issue] = []
    clips = _scan_classes(Path(root), issues)
    if issues:
        raise issues_error(issues)
    return clips


def _record_clip(
    record: dict[str, Any], source: Path, line: int, issues: list[Issue]
) -> Clip | None:
    """A list record -> clip (paths relative to the list's folder), or None after an issue."""
    path = next((record[k] for k in _PATH_KEYS if record.get(k) not in (None, "")), None)
    label = next((record[k] for k in _LABEL_KEYS if record.get(k) not in (None, "")), None)
    fold: Any = record.get("fold")
    problems = []
    if not isinstance(path, str):
        problems.append(f"no audio path ({', '.join(_PATH_KEYS)})")
    if label is None or isinstance(label, dict | list):
        problems.append(f"no label ({', '.join(_LABEL_KEYS)})")
    if isinstance(fold, str):
        fold = int(fold) if fold.strip().isdigit() else fold
        fold = None if fold == "" else fold
    if fold is not None and (isinstance(fold, bool) or not isinstance(fold, int) or fold < 1):
        problems.append(f"fold must be a positive integer, got {fold!r}")
    if problems:
        issues.append(Issue(source, line, "; ".join(problems)))
        return None
    p = Path(os.path.expanduser(str(path)))
    return Clip(p if p.is_absolute() else source.parent / p, str(label), fold, source, line)


def _read_list(path: Path, issues: list[Issue]) -> list[Clip]:
    text = _read_text(path, "clip list", issues)
    if text is None:
        return []
    clips: list[Clip] = []
    if path.suffix.lower() == ".csv":
        reader = csv.DictReader(io.StringIO(text))
        columns = {c.strip().lower() for c in reader.fieldnames or ()}
        if not columns & set(_PATH_KEYS) or not columns & set(_LABEL_KEYS):
            issues.append(
                Issue(
                    path,
                    1,
                    f"the header must name a path column ({', '.join(_PATH_KEYS)}) "
                    f"and a label column ({', '.join(_LABEL_KEYS)})",
                )
            )
            return []
        for row in reader:
            record = {(k or "").strip().lower(): (v or "").strip() for k, v in row.items()}
            clip = _record_clip(record, path, reader.line_num, issues)
            if clip is not None:
                clips.append(clip)
    else:
        for number, record in _json_lines(text, path, issues):
            if not isinstance(record, dict):
                issues.append(Issue(path, number, "expected a JSON object"))
                continue
            clip = _record_clip(record, path, number, issues)
            if clip is not None:
                clips.append(clip)
    if not clips and not any(i.path == path for i in issues):
        issues.append(Issue(path, None, "clip list is empty"))
    return clips


def read_clip_list(path: str | os.PathLike[str]) -> list[Clip]:
    """Read a JSON Lines or CSV clip list (see the module docstring for its columns).

    Only the list is read here; :func:`load_clip_sources` also checks the audio.

    Raises:
        DataError: Listing every bad line (no path, no label, a fold that is not a positive
            integer, invalid JSON), or if the file is missing, empty or not text.
    """
    issues: list[Issue] = []
    clips = _read_list(Path(path), issues)
    if issues:
        raise issues_error(issues)
    return clips


def _check_clip(clip: Clip, issues: list[Issue]) -> None:
    where = clip.source if clip.line is not None and clip.source is not None else clip.path
    _check_audio(clip.path, where, clip.line, issues)


def load_clip_sources(sources: Sequence[str | os.PathLike[str]]) -> list[Clip]:
    """The clips of class folders and clip lists, every file's header checked.

    Args:
        sources: Class-per-folder trees and ``.jsonl`` / ``.csv`` clip lists, at least one.

    Returns:
        The clips of all sources, in order.

    Raises:
        DataError: Listing every problem of every source at once: missing or empty folders
            and classes, bad list lines, unreadable or empty audio files.
    """
    if not sources:
        raise DataError("no clip sources given (class folders or .jsonl/.csv clip lists)")
    issues: list[Issue] = []
    clips: list[Clip] = []
    for source in sources:
        p = Path(source)
        if p.suffix.lower() in _LIST_SUFFIXES and not p.is_dir():
            clips += _read_list(p, issues)
        else:
            clips += _scan_classes(p, issues)
    for clip in clips:
        _check_clip(clip, issues)
    if issues:
        raise issues_error(issues)
    return clips


def class_names(clips: Sequence[Clip]) -> list[str]:
    """The sorted distinct labels of ``clips``."""
    return sorted({c.label for c in clips})


def label_indices(clips: Sequence[Clip], names: Sequence[str]) -> npt.NDArray[np.int64]:
    """Each clip's class index in ``names``.

    Raises:
        DataError: Listing the labels that are not among ``names`` (with a clip of each).
    """
    index = {name: i for i, name in enumerate(names)}
    unknown: dict[str, Clip] = {}
    for c in clips:
        if c.label not in index:
            unknown.setdefault(c.label, c)
    if unknown:
        issues = [
            Issue(
                c.source if c.line is not None and c.source else c.path,
                c.line,
                f"class {label!r} is not one of the {len(names)} classes: {', '.join(names)}",
            )
            for label, c in sorted(unknown.items())
        ]
        raise issues_error(issues)
    return np.asarray([index[c.label] for c in clips], dtype=np.int64)


# --- folds ------------------------------------------------------------------------------------


def clip_fold(clip: Clip) -> int | None:
    """The clip's fold: the list's ``fold``, else the integer before the first ``-`` of its
    file name (``3-110389-A.ogg`` -> 3), else None."""
    if clip.fold is not None:
        return clip.fold
    m = _FOLD_PREFIX.match(clip.path.name)
    return int(m.group(1)) if m and int(m.group(1)) > 0 else None


def split_fold(clips: Sequence[Clip], fold: int) -> tuple[list[Clip], list[Clip]]:
    """Split clips into (the other folds, fold ``fold``) for cross-validation.

    Raises:
        ConfigError: If ``fold`` is not a positive integer.
        DataError: Listing every clip without a fold (no ``fold`` in its list and no
            ``<fold>-`` prefix on its name), or if no clip, or every clip, is in ``fold``.
    """
    if isinstance(fold, bool) or not isinstance(fold, int) or fold < 1:
        raise ConfigError(f"data.val_fold must be a positive fold number, got {fold!r}")
    missing = [c for c in clips if clip_fold(c) is None]
    if missing:
        raise issues_error(
            [
                Issue(
                    c.source if c.line is not None and c.source else c.path,
                    c.line,
                    f"no fold: '{c.path.name}' does not start with '<fold>-' (as ESC-50's "
                    "'3-110389-A.ogg') and the list gives no 'fold'",
                )
                for c in missing
            ]
        )
    held = [c for c in clips if clip_fold(c) == fold]
    rest = [c for c in clips if clip_fold(c) != fold]
    folds = sorted({f for c in clips if (f := clip_fold(c)) is not None})
    if not held:
        raise DataError(f"no clip is in fold {fold} (folds found: {', '.join(map(str, folds))})")
    if not rest:
        raise DataError(f"every clip is in fold {fold}: nothing is left to train on")
    return rest, held


# --- audio ------------------------------------------------------------------------------------


def load_waves(clips: Sequence[Clip], sample_rate: int) -> list[_F32]:
    """Decode every clip as mono float32 at ``sample_rate`` (:func:`voicecnn.load_audio`).

    Raises:
        DataError: Listing every clip that cannot be decoded (or is too short to give a sample
            at ``sample_rate``).
    """
    waves: list[_F32] = []
    issues: list[Issue] = []
    for c in clips:
        try:
            waves.append(load_audio(c.path, sample_rate))
        except AudioError as e:
            issues.append(
                Issue(c.source if c.line is not None and c.source else c.path, c.line, str(e))
            )
    if issues:
        raise issues_error(issues)
    return waves


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
