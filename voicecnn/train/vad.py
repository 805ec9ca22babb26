"""The ``vad`` task: frame speech detectors on annotated recordings and mixed clips.

Training data: annotated recordings (JSON Lines manifests and/or annotated folders, see
:func:`voicecnn.data.recordings.load_dataset`) cut into ``data.crop_s``-second crops, and/or
folders of speech and non-speech clips mixed on the fly (``data.clips``, the ``[augment]``
settings of :class:`~voicecnn.data.mix.MixCfg`). Validation: annotated recordings (frame ROC-AUC,
F1, false-alarm rate and segment figures, :func:`evaluate_recordings`) and/or fixed mixtures of
held-out clips (``data.val_clips``). Loss: frame BCE, optionally against targets blended with a
teacher's probabilities (``teacher``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import torch
from torch import nn
from torch.utils.data import ConcatDataset

from voicecnn.config import check_fields
from voicecnn.data.datasets import VadCropDataset, read_excerpt
from voicecnn.data.manifest import ManifestEntry
from voicecnn.data.mix import MixCfg
from voicecnn.data.mix_clips import MixClipSet, read_audio_list, scan_mix_clips
from voicecnn.data.recordings import load_dataset
from voicecnn.detection.frames import DetectCfg, FrameModel, frame_probs
from voicecnn.detection.segments import Segment, to_targets
from voicecnn.errors import ConfigError
from voicecnn.io.audio import audio_duration_s, load_audio
from voicecnn.net.checkpoint import load_module
from voicecnn.train.build import build_model
from voicecnn.train.core import Batches, DataCfg, RunCfg, TaskRun, holdout_indices
from voicecnn.train.loop import frame_bce
from voicecnn.train.metrics import (
    SegmentMatch,
    f1_at,
    false_alarm_rate,
    match_segments,
    roc_auc,
)
from voicecnn.train.silero_teacher import SILERO, SileroTeacher

__all__ = [
    "EvalCfg",
    "Recording",
    "VadDataCfg",
    "VadRunCfg",
    "evaluate_recordings",
    "load_recordings",
    "prepare_vad",
    "peak_normalised",
    "teacher_targets",
]


@dataclass(frozen=True)
class VadDataCfg(DataCfg):
    """The audio of a ``vad`` run (and the fields of :class:`~voicecnn.train.core.DataCfg`).

    ``train`` and ``val`` are JSON Lines manifests and/or folders of annotated recordings (see
    :func:`voicecnn.data.recordings.load_dataset`); ``val_fraction`` of the training recordings
    is held out when neither ``val`` nor ``val_clips`` is set.

    Attributes:
        clips: A folder with ``speech/`` and ``nonspeech/`` clip folders, mixed on the fly with
            the ``[augment]`` settings (scipy). Each holds named groups: subfolders and
            ``NAME.txt`` clip lists (see :func:`voicecnn.data.mix_clips.scan_mix_clip_groups`).
        clip_items: Mixtures per epoch from ``clips`` (0 = one per clip).
        clip_weights: Sampling weight of each clip group by name (others weigh 1), e.g.
            ``{ librispeech = 3.0, music = 1.5 }``.
        clip_cache: Clips each loading process keeps in memory per group (a large value keeps
            them all once read).
        rirs: Real room impulse responses for ``augment.p_real_rir``: a folder or a ``.txt``
            list of audio files (empty: synthetic rooms only).
        val_clips: A folder like ``clips`` (held-out speakers and sources) giving
            ``val_mixtures`` fixed validation mixtures (figures ``mix_roc_auc``, ``mix_f1``) and
            ``val_negative_crops`` crops of each non-speech group alone (false-alarm rates
            ``fa_GROUP`` and ``fa_nonspeech``).
        val_mixtures: Validation mixtures made from ``val_clips``.
        val_negative_crops: Validation crops per non-speech group of ``val_clips``.
        val_seed: Seed of the validation mixtures and crops (fixed, so every evaluation and
            every run sees the same audio).
        crop_s: Seconds per training crop.
    """

    clips: str = ""
    clip_items: int = 0
    clip_weights: dict[str, float] = field(default_factory=dict)
    clip_cache: int = 256
    rirs: str = ""
    val_clips: str = ""
    val_mixtures: int = 200
    val_negative_crops: int = 50
    val_seed: int = 1234
    crop_s: float = 4.0

    def __post_init__(self) -> None:
        super().__post_init__()
        check_fields(self, {
            "clip_items": ("int", 0, 10**12), "clip_cache": ("int", 0, 10**9),
            "val_mixtures": ("int", 0, 10**9), "val_negative_crops": ("int", 0, 10**9),
            "crop_s": ("float>", 0, 3600),
        })


@dataclass(frozen=True)
class EvalCfg:
    """Validation settings.

    Attributes:
        threshold: Speech probability threshold of the frame and segment figures.
        collar_s: Boundary tolerance of a segment hit, seconds.
        min_speech_s: Detected segments shorter than this are dropped (as ``voicecnn detect``).
        min_silence_s: Shorter pauses inside detected speech are filled.
    """

    threshold: float = 0.5
    collar_s: float = 0.2
    min_speech_s: float = 0.25
    min_silence_s: float = 0.1

    def __post_init__(self) -> None:
        check_fields(self, {"threshold": ("float", 0, 1), "collar_s": ("float", 0, 3600)})
        self.detect_cfg()  # the post-processing's own checks

    def detect_cfg(self) -> DetectCfg:
        """The post-processing these settings describe."""
        return DetectCfg(
            threshold=self.threshold,
            min_speech_s=self.min_speech_s,
            min_silence_s=self.min_silence_s,
        )


@dataclass(frozen=True)
class VadRunCfg(RunCfg):
    """A ``vad`` run (the fields of :class:`~voicecnn.train.core.RunCfg`).

    Attributes:
        data: The audio.
        teacher: Weights (bundled name or ``.safetensors`` path) whose frame probabilities on
            each training mixture are blended into its labels, so a fine-tune keeps what the
            teacher does wherever the new data does not say otherwise (learning without
            forgetting); or ``"silero"``: Silero VAD's probabilities (distillation, see
            :mod:`voicecnn.train.silero_teacher`; 16 kHz models); empty = plain labels. A
            voicecnn teacher must share the model's sample rate and frame hop.
        teacher_weight: Share of the teacher in the targets: ``(1 - w) * labels + w * p``.
        teacher_hears: What the teacher hears: ``"mixture"``, each training mixture as the
            model hears it; ``"peak"``, the mixture scaled so that its peak sits at
            ``teacher_peak_dbfs`` (by at most +80 dB), whatever level the model hears it at:
            targets that do not depend on the input level, where a teacher on a quiet
            mixture calls the speech in it silence.
        teacher_peak_dbfs: The peak level of ``teacher_hears = "peak"``.
        augment: Mixing of ``data.clips``.
        eval: Validation.
    """

    task: Literal["vad"] = "vad"
    data: VadDataCfg = field(default_factory=VadDataCfg)
    teacher: str = ""
    teacher_weight: float = 0.5
    teacher_hears: Literal["mixture", "peak"] = "mixture"
    teacher_peak_dbfs: float = -6.0
    augment: MixCfg = field(default_factory=MixCfg)
    eval: EvalCfg = field(default_factory=EvalCfg)


@dataclass(frozen=True)
class Recording:
    """A validation recording in memory: samples at the model's rate and true segments."""

    wave: npt.NDArray[np.float32]
    segments: tuple[Segment, ...]


def load_recordings(entries: Sequence[ManifestEntry], sample_rate: int) -> list[Recording]:
    """Read checked entries (from :func:`~voicecnn.data.recordings.load_dataset`) into memory.

    Raises:
        AudioError: If a file cannot be decoded.
    """
    out = []
    for e in entries:
        to_end_s = audio_duration_s(e.audio) - e.offset_s if e.duration_s is None else 0.0
        n = round((e.duration_s or to_end_s) * sample_rate)
        out.append(Recording(read_excerpt(e.audio, e.offset_s, n, sample_rate), e.segments))
    return out


def evaluate_recordings(
    model: FrameModel, recordings: Sequence[Recording], cfg: EvalCfg = EvalCfg()
) -> dict[str, float]:
    """Frame- and segment-level figures of a detector on labelled recordings.

    Args:
        model: A frame model (torch or ONNX) in eval mode.
        recordings: Audio at ``model.sample_rate`` with true segments.
        cfg: Threshold, collar and post-processing.

    Returns:
        ``roc_auc``, ``precision``, ``recall``, ``f1`` and ``false_alarm`` at the threshold
        over all frames; ``seg_precision``, ``seg_recall``, ``seg_f1``,
        ``median_start_error_s``, ``median_end_error_s`` from :class:`SegmentMatch`;
        ``speech_share`` (of reference frames); ``score`` = ``roc_auc``.
    """
    detect = cfg.detect_cfg()
    hop_s = model.frame_hop_s
    probs, labels = [], []
    match = SegmentMatch()
    for rec in recordings:
        p = frame_probs(model, rec.wave, chunk_s=detect.chunk_s)
        probs.append(p)
        labels.append(to_targets(rec.segments, len(p), hop_s))
        hyp = detect.segments(p, hop_s, rec.wave.size / model.sample_rate)
        match = match + match_segments(rec.segments, hyp, cfg.collar_s)
    s, y = np.concatenate(probs), np.concatenate(labels)
    auc = roc_auc(s, y)
    return {
        "roc_auc": auc,
        **f1_at(s, y, cfg.threshold),
        "false_alarm": false_alarm_rate(s, y, cfg.threshold),
        **match.figures(),
        "speech_share": float(y.mean()) if y.size else math.nan,
        "score": auc,
    }


def _config_path(source: str) -> str:
    """A configured path with ``~`` expanded."""
    return str(Path(source).expanduser())


@torch.no_grad()
def _batch_probs(model: nn.Module, waves: Sequence[npt.NDArray[np.float32]]) -> np.ndarray:
    """Speech probabilities of equal-length waves, batched, concatenated over the waves."""
    device = next(model.parameters()).device
    out = []
    for i in range(0, len(waves), 32):
        x = torch.from_numpy(np.stack(waves[i : i + 32])).to(device)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
            out.append(torch.sigmoid(model(x).float()).cpu().numpy().reshape(-1))
    return np.concatenate(out) if out else np.zeros(0, np.float32)


@dataclass(frozen=True)
class _MixValidation:
    """Fixed validation mixtures and non-speech crops (see ``DataCfg.val_clips``)."""

    waves: list[npt.NDArray[np.float32]]
    labels: list[npt.NDArray[np.float32]]
    negatives: dict[str, list[npt.NDArray[np.float32]]]

    def figures(self, model: nn.Module, threshold: float) -> dict[str, float]:
        """``mix_roc_auc``, ``mix_f1``, ``fa_GROUP`` per non-speech group, ``fa_nonspeech``."""
        p = _batch_probs(model, self.waves)
        n = p.size // max(1, len(self.waves))
        y = np.concatenate([t[:n] for t in self.labels])
        figs = {"mix_roc_auc": roc_auc(p, y), "mix_f1": f1_at(p, y, threshold)["f1"]}
        every = []
        for name, crops in self.negatives.items():
            q = _batch_probs(model, crops)
            figs[f"fa_{name}"] = false_alarm_rate(q, None, threshold)
            every.append(q)
        if every:
            figs["fa_nonspeech"] = false_alarm_rate(np.concatenate(every), None, threshold)
        return figs


def _mixtures(
    folder: str,
    cfg: VadRunCfg,
    *,
    seed: int,
    length: int | None,
    rirs: list[npt.NDArray[np.float32]],
    weights: dict[str, float] | None = None,
) -> tuple[MixClipSet, Any]:
    """The clip groups of ``folder`` (``speech/``, ``nonspeech/``) and their mixtures."""
    from voicecnn.data.datasets import ClipMixDataset  # mixing needs scipy

    root = Path(folder).expanduser()
    clips = scan_mix_clips(root / "speech", root / "nonspeech")
    mixes = ClipMixDataset(
        clips.speech_groups,
        clips.nonspeech_groups,
        cfg.data.crop_s,
        seed=seed,
        mix_cfg=cfg.augment,
        length=length,
        rirs=rirs,
        cache_size=cfg.data.clip_cache,
        weights=weights,
    )
    return clips, mixes


def _mix_validation(cfg: VadRunCfg, rirs: list[npt.NDArray[np.float32]]) -> _MixValidation:
    from voicecnn.data.datasets import negative_crops

    d = cfg.data
    clips, mixes = _mixtures(
        d.val_clips, cfg, seed=d.val_seed, length=max(1, d.val_mixtures), rirs=rirs
    )
    items = [mixes[i] for i in range(len(mixes))] if d.val_mixtures > 0 else []
    negatives = {
        name: negative_crops(
            paths, d.val_negative_crops, d.crop_s, seed=d.val_seed + k + 1, mix_cfg=cfg.augment
        )
        for k, (name, paths) in enumerate(clips.nonspeech_groups.items())
        if d.val_negative_crops > 0
    }
    return _MixValidation([w.numpy() for w, _ in items], [y.numpy() for _, y in items], negatives)


def prepare_vad(
    cfg: VadRunCfg, device: torch.device, log: Callable[[str], None] = print
) -> TaskRun:
    """Model, data and teacher of a ``vad`` run.

    Raises:
        ConfigError: For no training data, nothing to validate on, mixing settings that do not
            fit the model, or an unusable teacher.
        DataError: Listing every problem of the recordings or clips.
    """
    model, arch = build_model(cfg, {}, log)
    d = cfg.data
    if not d.train and not d.clips:
        raise ConfigError(
            "no training data: set data.train (annotated recordings) and/or data.clips "
            "(speech and non-speech clips to mix)"
        )
    entries = load_dataset([_config_path(s) for s in d.train]) if d.train else []
    if d.val:
        val_entries = load_dataset([_config_path(s) for s in d.val])
    elif entries and not d.val_clips:
        rest, held = holdout_indices(len(entries), d.val_fraction)
        entries, val_entries = [entries[i] for i in rest], [entries[i] for i in held]
    elif not d.val_clips:
        raise ConfigError("nothing to validate on: set data.val and/or data.val_clips")
    else:
        val_entries = []
    seed = cfg.train.seed
    sets: list[Any] = []
    facts: dict[str, Any] = {
        "train_sources": list(d.train),
        "val_sources": list(d.val) or ("held out of train" if val_entries else []),
        "train_recordings": len(entries),
        "val_recordings": len(val_entries),
    }
    if entries:
        crops = VadCropDataset(entries, d.crop_s, model.sample_rate, model.frame_hop_s, seed=seed)
        sets.append(crops)
        facts["train_hours"] = round(sum(crops.durations_s) / 3600, 3)
    rirs: list[npt.NDArray[np.float32]] = []
    if d.clips or d.val_clips:
        if cfg.augment.sample_rate != model.sample_rate or cfg.augment.hop != model.hop_length:
            raise ConfigError(
                "augment.sample_rate and augment.hop must match the model's rate and hop"
            )
        if d.clip_cache < 1:
            raise ConfigError(f"data.clip_cache must be at least 1, got {d.clip_cache}")
        if d.rirs:
            rirs = [load_audio(p, model.sample_rate) for p in read_audio_list(d.rirs)]
            facts["rirs"] = len(rirs)
    if d.clips:
        clips, mixes = _mixtures(
            d.clips,
            cfg,
            seed=seed,
            length=d.clip_items or None,
            rirs=rirs,
            weights=d.clip_weights,
        )
        sets.append(mixes)
        facts.update(
            clip_sources=d.clips,
            speech_clips={k: len(v) for k, v in clips.speech_groups.items()},
            nonspeech_clips={k: len(v) for k, v in clips.nonspeech_groups.items()},
            clip_weights=dict(d.clip_weights),
        )
    elif d.clip_weights:
        raise ConfigError("data.clip_weights is set but data.clips is not")
    recordings = load_recordings(val_entries, model.sample_rate)
    fixed = _mix_validation(cfg, rirs) if d.val_clips else None
    if fixed is not None:
        facts.update(val_clip_sources=d.val_clips, val_mixtures=len(fixed.waves))

    def evaluate(m: nn.Module) -> dict[str, float]:
        figs = evaluate_recordings(m, recordings, cfg.eval) if recordings else {}  # type: ignore[arg-type]
        if fixed is not None:
            figs.update(fixed.figures(m, cfg.eval.threshold))
        figs["score"] = figs["roc_auc"] if recordings else figs.get("mix_roc_auc", math.nan)
        return figs

    teacher = _load_teacher(cfg, model, device) if cfg.teacher else None
    card: dict[str, Any] = {}
    if cfg.teacher:
        card = {"teacher": cfg.teacher, "teacher_weight": cfg.teacher_weight}
        if cfg.teacher_hears == "peak":
            card["teacher_peak_dbfs"] = cfg.teacher_peak_dbfs
    if cfg.teacher == SILERO:
        card["teacher_source"] = "Silero VAD (silero-vad package, MIT licence), distilled"
    return TaskRun(
        model=model,
        arch=arch,
        train=ConcatDataset(sets) if len(sets) > 1 else sets[0],
        epoch_sets=sets,
        evaluate=evaluate,
        facts=facts,
        loss_fn=frame_bce,
        card=card,
        targets=None
        if teacher is None
        else lambda batches: teacher_targets(
            batches, teacher, cfg.teacher_weight, device,
            cfg.teacher_peak_dbfs if cfg.teacher_hears == "peak" else None,
        ),
    )


def _load_teacher(cfg: VadRunCfg, model: Any, device: torch.device) -> Any:
    """``cfg.teacher``'s model in eval mode on ``device``, checked against the student."""
    if not 0.0 < cfg.teacher_weight <= 1.0:
        raise ConfigError(f"teacher_weight must be in (0, 1], got {cfg.teacher_weight}")
    peak = cfg.teacher_peak_dbfs
    if not -60.0 <= peak <= 0.0:
        raise ConfigError(f"teacher_peak_dbfs must be in [-60, 0], got {peak}")
    teacher: Any
    if cfg.teacher == SILERO:
        if model.sample_rate != SileroTeacher.sample_rate:
            raise ConfigError(
                f'teacher "silero" works at {SileroTeacher.sample_rate} Hz; '
                f"the model at {model.sample_rate} Hz"
            )
        return SileroTeacher(model.hop_length)
    teacher = load_module(cfg.teacher)
    if not hasattr(teacher, "frame_hop_s"):
        raise ConfigError(f"teacher {cfg.teacher!r} is not a speech detector")
    ours = (model.sample_rate, model.frame_hop_s)
    theirs = (teacher.sample_rate, teacher.frame_hop_s)
    if ours != theirs:
        raise ConfigError(
            f"teacher {cfg.teacher!r} works at {theirs[0]} Hz, {theirs[1] * 1000:g} ms frames; "
            f"the model at {ours[0]} Hz, {ours[1] * 1000:g} ms"
        )
    return teacher.to(device).eval()


def teacher_targets(
    batches: Batches,
    teacher: nn.Module,
    weight: float,
    device: torch.device,
    peak_dbfs: float | None = None,
) -> Batches:
    """``batches`` with float targets ``(1 - weight) * labels + weight * teacher(x)``.

    With ``peak_dbfs``, the teacher hears ``peak_normalised(x, peak_dbfs)`` instead of ``x``.
    Frames past the teacher's output (if any) keep their labels.
    """
    use_bf16 = device.type == "cuda"
    for x, y in batches:
        x = x.to(device, non_blocking=True)
        heard = x if peak_dbfs is None else peak_normalised(x, peak_dbfs)
        with torch.no_grad(), torch.autocast(device.type, torch.bfloat16, enabled=use_bf16):
            p = torch.sigmoid(teacher(heard).float())
        soft = y.to(device, non_blocking=True).float()
        n = min(p.shape[1], soft.shape[1])
        soft[:, :n] = (1.0 - weight) * soft[:, :n] + weight * p[:, :n]
        yield x, soft


_MAX_GAIN_DB = 80.0  # digital silence and a -90 dBFS hum are not raised to full scale


def peak_normalised(x: torch.Tensor, peak_dbfs: float) -> torch.Tensor:
    """Each row of ``x`` ``(B, S)`` scaled so its peak is at ``peak_dbfs``, gain ≤ +80 dB."""
    peak = x.abs().amax(dim=-1, keepdim=True)
    target = 10.0 ** (peak_dbfs / 20.0)
    gain = (target / peak.clamp_min(1e-30)).clamp(max=10.0 ** (_MAX_GAIN_DB / 20.0))
    out: torch.Tensor = x * gain
    return out
