"""PyTorch datasets of training crops: annotated recordings and on-the-fly clip mixtures.

Both datasets give ``(wave, targets)`` pairs: float32 samples shaped (S,) at ``sample_rate`` and
float32 frame labels shaped (T,) with ``S = T * hop`` (frame ``t`` covers samples
``[t * hop, (t + 1) * hop)``, as the models frame their output), so the default ``DataLoader``
collation stacks them into (B, S) and (B, T).

Randomness: item ``index`` of epoch ``epoch`` is drawn from
``numpy.random.default_rng([seed, epoch, index])`` and nothing else, so an item is the same in
any worker, in any order, on any run; :meth:`set_epoch` gives new crops each epoch. Call it
before iterating the ``DataLoader`` for the epoch (workers copy the dataset when an epoch's
iteration starts; with ``persistent_workers=True`` they would keep the old epoch).
"""

from __future__ import annotations

import bisect
import math
import os
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, overload

import numpy as np
import numpy.typing as npt
import soundfile
import torch
from torch.utils.data import Dataset

from voicecnn.data.manifest import ManifestEntry
from voicecnn.data.mix import MixCfg, Source, make_mixture, random_crop, rms_db, speech_labels
from voicecnn.detection.segments import Segment, to_targets
from voicecnn.errors import AudioError, ConfigError, DataError
from voicecnn.io.audio import SAMPLE_RATE, audio_duration_s, load_audio, resample

__all__ = ["ClipMixDataset", "VadCropDataset", "negative_crops", "read_excerpt"]

_F32 = npt.NDArray[np.float32]
_CONTEXT_S = 0.01
"""Extra audio read on each side of an excerpt that is resampled, so the filter has context."""


def _hop_samples(frame_hop_s: float, sample_rate: int) -> int:
    """Samples per frame; ``frame_hop_s * sample_rate`` must be a whole number.

    Raises:
        ConfigError: Otherwise, or if either is not positive.
    """
    if not (isinstance(sample_rate, int) and sample_rate > 0):
        raise ConfigError(f"sample_rate must be a positive integer of Hz, got {sample_rate!r}")
    if not (math.isfinite(frame_hop_s) and frame_hop_s > 0):
        raise ConfigError(f"frame_hop_s must be a positive number of seconds, got {frame_hop_s}")
    hop = frame_hop_s * sample_rate
    if abs(hop - round(hop)) > 1e-6 or round(hop) < 1:
        raise ConfigError(
            f"frame_hop_s * sample_rate must be a whole number of samples, got {hop:g}"
        )
    return round(hop)


def _crop_frames(crop_s: float, frame_hop_s: float) -> int:
    """Frames in a crop of ``crop_s`` seconds (rounded to whole frames).

    Raises:
        ConfigError: If the crop is shorter than one frame.
    """
    if not (math.isfinite(crop_s) and crop_s > 0):
        raise ConfigError(f"crop_s must be a positive number of seconds, got {crop_s}")
    n_frames = round(crop_s / frame_hop_s)
    if n_frames < 1:
        raise ConfigError(f"crop_s must be at least one frame ({frame_hop_s} s), got {crop_s}")
    return n_frames


def _check_count(value: int, name: str) -> int:
    """``value`` if it is an integer >= 0 (a seed or an epoch).

    Raises:
        ConfigError: Otherwise.
    """
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 0:
        raise ConfigError(f"{name} must be an integer >= 0, got {value!r}")
    return int(value)


def _rng(seed: int, epoch: int, index: int) -> np.random.Generator:
    return np.random.default_rng([seed, epoch, index])


def read_excerpt(
    path: str | os.PathLike[str], start_s: float, n_samples: int, sample_rate: int = SAMPLE_RATE
) -> _F32:
    """Read ``n_samples`` mono samples at ``sample_rate`` from ``start_s`` seconds into a file.

    Only the excerpt is decoded (plus a little context when it must be resampled), so crops
    of long recordings cost the same as crops of short ones. Channels are averaged; past the
    end of the file the result is zero-padded.

    Args:
        path: Any file libsndfile decodes.
        start_s: Start of the excerpt in seconds (>= 0).
        n_samples: Samples to return.
        sample_rate: Rate in Hz of the result (soxr ``'HQ'`` resampling when it differs).

    Returns:
        Float32 samples shaped (n_samples,).

    Raises:
        AudioError: If the file cannot be read or holds NaN or infinite samples.
    """
    try:
        with soundfile.SoundFile(path) as handle:
            native_rate, n_native = int(handle.samplerate), int(handle.frames)
            ratio = native_rate / sample_rate
            context = round(_CONTEXT_S * native_rate) if native_rate != sample_rate else 0
            first = round(start_s * native_rate)
            # Start reading on a sample that falls on the output grid too (a multiple of
            # native_rate / gcd), so the resampled excerpt matches the whole file resampled.
            step = native_rate // math.gcd(native_rate, sample_rate)
            lo = max(0, (first - context) // step * step)
            hi = min(n_native, first + math.ceil(n_samples * ratio) + context)
            if hi > lo:
                handle.seek(lo)
                block = handle.read(hi - lo, dtype="float32", always_2d=True)
            else:
                block = np.zeros((0, 1), dtype=np.float32)
    except (soundfile.LibsndfileError, RuntimeError, OSError) as e:
        raise AudioError(f"cannot read '{path}': not a readable audio file") from e
    if not np.isfinite(block).all():
        raise AudioError(f"'{path}' contains NaN or infinite samples")
    mono = block.mean(axis=1, dtype=np.float32) if block.shape[1] > 1 else block[:, 0]
    skip = first - lo
    if native_rate != sample_rate and mono.size:
        mono = resample(mono, native_rate, sample_rate)
        skip = round(start_s * sample_rate - lo / ratio)  # where start_s falls after resampling
    out = np.zeros(n_samples, dtype=np.float32)
    piece = mono[skip : skip + n_samples]
    out[: piece.size] = piece
    return out


class VadCropDataset(Dataset[tuple[torch.Tensor, torch.Tensor]]):
    """Random fixed-length crops of annotated recordings, with frame targets.

    An epoch has one crop per ``crop_s`` of audio (at least one per entry), so long
    recordings are drawn in proportion to their length. Item ``index`` belongs to one entry;
    where in it the crop starts is drawn afresh each epoch. Entries shorter than a crop are
    zero-padded (the padding is labelled non-speech).

    Audio is not held in memory: each item decodes only its crop from the file
    (:func:`read_excerpt`), so memory stays flat whatever the dataset's size, workers share
    nothing, and the page cache does the caching.

    Args:
        entries: Annotated recordings, best from :func:`~voicecnn.data.recordings.load_dataset`
            (checked, with ``duration_s`` filled in; otherwise the headers are read here).
        crop_s: Length of a crop in seconds (rounded to whole frames).
        sample_rate: Rate of the returned audio in Hz.
        frame_hop_s: Seconds per target frame; ``frame_hop_s * sample_rate`` must be whole.
        seed: Seed (>= 0) of the crop positions.

    Raises:
        DataError: If there are no entries.
        ConfigError: For a bad crop, rate, hop or seed.
        AudioError: If an entry without ``duration_s`` has unreadable audio.
    """

    def __init__(
        self,
        entries: Sequence[ManifestEntry],
        crop_s: float,
        sample_rate: int = SAMPLE_RATE,
        frame_hop_s: float = 0.01,
        *,
        seed: int,
    ) -> None:
        if not entries:
            raise DataError("VadCropDataset needs at least one entry")
        self.hop_length = _hop_samples(frame_hop_s, sample_rate)
        self.sample_rate = sample_rate
        self.frame_hop_s = frame_hop_s
        self.n_frames = _crop_frames(crop_s, frame_hop_s)
        self.n_samples = self.n_frames * self.hop_length
        self.seed = _check_count(seed, "seed")
        self.epoch = 0
        self.entries = list(entries)
        self.durations_s = [
            entry.duration_s
            if entry.duration_s is not None
            else audio_duration_s(entry.audio) - entry.offset_s
            for entry in self.entries
        ]
        crop_len_s = self.n_samples / sample_rate
        counts = [max(1, math.ceil(d / crop_len_s - 1e-9)) for d in self.durations_s]
        self._ends = np.cumsum(counts).tolist()

    def set_epoch(self, epoch: int) -> None:
        """Draw the crops of ``epoch`` (>= 0) from now on."""
        self.epoch = _check_count(epoch, "epoch")

    def __len__(self) -> int:
        """Crops per epoch."""
        return int(self._ends[-1])

    def locate(self, index: int) -> tuple[int, float]:
        """Which entry item ``index`` of the current epoch comes from, and where its crop starts.

        Args:
            index: Item index in ``[0, len(self))``.

        Returns:
            ``(entry_index, start_s)``: the crop starts ``start_s`` seconds into the entry's
            excerpt (a multiple of ``1 / sample_rate``).

        Raises:
            IndexError: If ``index`` is out of range.
        """
        if not 0 <= index < len(self):
            raise IndexError(f"index {index} out of range for {len(self)} crops")
        which = bisect.bisect_right(self._ends, index)
        n_available = math.floor(self.durations_s[which] * self.sample_rate + 1e-6)
        rng = _rng(self.seed, self.epoch, index)
        start = int(rng.integers(0, max(0, n_available - self.n_samples) + 1))
        return which, start / self.sample_rate

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Crop ``index``: wave float32 (S,) and targets float32 (T,), S = T * hop_length."""
        which, start_s = self.locate(index)
        entry = self.entries[which]
        end_s = min(start_s + self.n_samples / self.sample_rate, self.durations_s[which])
        wave = read_excerpt(entry.audio, entry.offset_s + start_s, self.n_samples, self.sample_rate)
        n_valid = round((end_s - start_s) * self.sample_rate)
        wave[n_valid:] = 0.0  # the excerpt may end before the file does
        shifted = [
            Segment(max(seg.start, start_s) - start_s, min(seg.end, end_s) - start_s)
            for seg in entry.segments
            if seg.end > start_s and seg.start < end_s
        ]
        targets = to_targets(shifted, self.n_frames, self.frame_hop_s)
        return torch.from_numpy(wave), torch.from_numpy(targets)


class _ClipSources(Sequence[Source]):
    """Clips as :class:`~voicecnn.data.mix.Source` objects, loaded when first used.

    Each process keeps the last ``cache_size`` clips it loaded; the cache is not copied when
    the object is pickled (for a ``DataLoader`` worker).
    """

    def __init__(self, paths: Sequence[Path], *, speech: bool, cfg: MixCfg, cache_size: int):
        self.paths = list(paths)
        self.speech = speech
        self.cfg = cfg
        self.cache_size = cache_size
        self._cache: OrderedDict[int, Source] = OrderedDict()

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_cache"] = OrderedDict()
        return state

    def __len__(self) -> int:
        return len(self.paths)

    @overload
    def __getitem__(self, index: int) -> Source: ...

    @overload
    def __getitem__(self, index: slice) -> list[Source]: ...

    def __getitem__(self, index: int | slice) -> Source | list[Source]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if index in self._cache:
            self._cache.move_to_end(index)
            return self._cache[index]
        wave = load_audio(self.paths[index], self.cfg.sample_rate)
        hop = self.cfg.hop
        if self.speech:
            labels = speech_labels(wave, hop=hop, sample_rate=self.cfg.sample_rate)
        else:
            labels = np.zeros(len(wave) // hop, dtype=np.float32)
        source = Source(wave, labels)
        self._cache[index] = source
        if len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
        return source


Clips = Sequence[str | os.PathLike[str]] | Mapping[str, Sequence[str | os.PathLike[str]]]
"""Clip paths: one group, or named groups (as :func:`~voicecnn.data.mix_clips.scan_mix_clip_groups`
gives them)."""


def _groups(clips: Clips, default: str) -> dict[str, list[Path]]:
    """Named groups of paths (a plain sequence is group ``default``); empty ones left out."""
    named = clips if isinstance(clips, Mapping) else {default: clips}
    return {name: [Path(p) for p in paths] for name, paths in named.items() if len(paths)}


class ClipMixDataset(Dataset[tuple[torch.Tensor, torch.Tensor]]):
    """Mixtures made on the fly from speech clips and non-speech clips.

    Each item is :func:`~voicecnn.data.mix.make_mixture` of the clips with the ``MixCfg``
    given, its length set to ``crop_s``: a speech group and a non-speech group are drawn by
    ``weights`` (uniformly by default), then a clip of the group. Speech labels come from the
    clean clips' energy (:func:`~voicecnn.data.mix.speech_labels`); non-speech clips are
    labelled 0 throughout.

    Clips are loaded when a mixture first needs them and kept in a per-process cache of
    ``cache_size`` clips per group, so start-up is instant and memory bounded.

    Args:
        speech_clips: Paths of clean speech clips (e.g. ``MixClipSet.speech``), or named groups of
            them (``MixClipSet.speech_groups``); at least one clip.
        nonspeech_clips: Paths or named groups of clips without speech; may be empty
            (synthetic backgrounds only).
        crop_s: Length of a mixture in seconds (rounded to whole frames of ``mix_cfg.hop``).
        seed: Seed (>= 0) of the mixtures.
        mix_cfg: Mixing settings; its ``seconds`` is replaced by ``crop_s``.
        length: Items per epoch; None for the number of clips.
        rirs: Real room impulse responses (float32 arrays at ``mix_cfg.sample_rate``) to draw from.
        cache_size: Clips kept in memory per group and process.
        weights: Sampling weight (>= 0) of each named group; unnamed groups weigh 1.

    Raises:
        DataError: If there is no speech clip.
        ConfigError: For a bad crop length, length, cache size, seed or weight, or a weight
            naming no group.
    """

    def __init__(
        self,
        speech_clips: Clips,
        nonspeech_clips: Clips,
        crop_s: float,
        *,
        seed: int,
        mix_cfg: MixCfg | None = None,
        length: int | None = None,
        rirs: Sequence[_F32] = (),
        cache_size: int = 256,
        weights: Mapping[str, float] | None = None,
    ) -> None:
        speech = _groups(speech_clips, "speech")
        nonspeech = _groups(nonspeech_clips, "nonspeech")
        if not speech:
            raise DataError("ClipMixDataset needs at least one speech clip")
        cfg = mix_cfg if mix_cfg is not None else MixCfg()
        self.hop_length = cfg.hop
        self.sample_rate = cfg.sample_rate
        self.frame_hop_s = cfg.hop / cfg.sample_rate
        self.n_frames = _crop_frames(crop_s, self.frame_hop_s)
        self.cfg = replace(cfg, seconds=self.n_frames * self.frame_hop_s)
        self.n_samples = self.n_frames * self.hop_length
        if length is not None and length < 1:
            raise ConfigError(f"length must be a positive number of items, got {length}")
        if cache_size < 1:
            raise ConfigError(f"cache_size must be at least 1, got {cache_size}")
        weights = dict(weights or {})
        unknown = sorted(set(weights) - set(speech) - set(nonspeech))
        if unknown:
            raise ConfigError(
                f"weights name no clip group: {', '.join(unknown)} "
                f"(groups: {', '.join([*speech, *nonspeech])})"
            )
        bad = [k for k, w in weights.items() if not (math.isfinite(w) and w >= 0)]
        if bad:
            raise ConfigError(f"group weights must be finite and >= 0: {', '.join(bad)}")
        self.seed = _check_count(seed, "seed")
        self.epoch = 0
        n_clips = sum(map(len, speech.values())) + sum(map(len, nonspeech.values()))
        self.length = length if length is not None else n_clips
        self.rirs = list(rirs)

        def sources(groups: dict[str, list[Path]], is_speech: bool) -> list[_ClipSources]:
            return [
                _ClipSources(paths, speech=is_speech, cfg=self.cfg, cache_size=cache_size)
                for paths in groups.values()
            ]

        def group_weights(groups: dict[str, list[Path]]) -> list[float] | None:
            w = [float(weights.get(name, 1.0)) for name in groups]
            if groups and not sum(w) > 0:
                raise ConfigError(f"the weights of {', '.join(groups)} add up to 0")
            return w if weights else None

        self._speech = sources(speech, True)
        self._nonspeech = sources(nonspeech, False)
        self._speech_w = group_weights(speech)
        self._nonspeech_w = group_weights(nonspeech)
        self.groups = {"speech": list(speech), "nonspeech": list(nonspeech)}

    def set_epoch(self, epoch: int) -> None:
        """Draw the mixtures of ``epoch`` (>= 0) from now on."""
        self.epoch = _check_count(epoch, "epoch")

    def __len__(self) -> int:
        """Mixtures per epoch."""
        return self.length

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Mixture ``index``: wave float32 (S,) and labels float32 (T,), S = T * hop_length."""
        if not 0 <= index < self.length:
            raise IndexError(f"index {index} out of range for {self.length} mixtures")
        wave, labels = make_mixture(
            self._speech,
            self._nonspeech,
            _rng(self.seed, self.epoch, index),
            self.cfg,
            self.rirs,
            self._speech_w,
            self._nonspeech_w,
        )
        return torch.from_numpy(wave), torch.from_numpy(labels)


def negative_crops(
    clips: Sequence[str | os.PathLike[str]],
    n: int,
    crop_s: float,
    *,
    seed: int,
    mix_cfg: MixCfg | None = None,
) -> list[_F32]:
    """``n`` crops of non-speech clips at random levels, to measure false alarms on.

    Crop ``i`` takes a random clip and a random ``crop_s`` window of it (a shorter clip is
    repeated to fill it) from ``default_rng([seed, 0, i])``, scaled to an RMS level drawn from
    ``mix_cfg.level_dbfs`` (the levels training mixtures have) and clipped to [-1, 1].

    Args:
        clips: Paths of clips without speech, at least one.
        n: Number of crops (>= 0).
        crop_s: Seconds per crop (rounded to whole frames of ``mix_cfg.hop``).
        seed: Seed (>= 0).
        mix_cfg: Rate, hop and levels.

    Returns:
        ``n`` float32 arrays of equal length.

    Raises:
        DataError: If there is no clip.
        AudioError: If a clip cannot be decoded.
    """
    if not clips:
        raise DataError("negative_crops needs at least one clip")
    cfg = mix_cfg if mix_cfg is not None else MixCfg()
    hop = cfg.hop
    n_frames = _crop_frames(crop_s, hop / cfg.sample_rate)
    sources = _ClipSources([Path(c) for c in clips], speech=False, cfg=cfg, cache_size=len(clips))
    lo, hi = cfg.level_dbfs
    seed = _check_count(seed, "seed")
    out = []
    for i in range(_check_count(n, "n")):
        rng = _rng(seed, 0, i)
        crop = random_crop(sources[int(rng.integers(len(sources)))], n_frames, rng, hop).wave
        wave = np.resize(crop, n_frames * hop) if len(crop) else np.zeros(n_frames * hop)
        gain = 10 ** ((rng.uniform(lo, hi) - rms_db(wave)) / 20)
        out.append(np.clip(wave * gain, -1.0, 1.0).astype(np.float32))
    return out
