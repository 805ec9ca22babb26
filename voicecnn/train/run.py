"""A whole training run from one config: data, model, loop, evaluation, checkpoints, card.

:class:`RunCfg` is read strictly with :func:`voicecnn.config.load_toml` (unknown keys and wrong
types are errors); :func:`train` builds the data and the model, runs :func:`~voicecnn.train.fit`
and writes the run directory::

    out_dir/config.toml        the resolved config (``voicecnn train`` reads it as it is)
    out_dir/best.safetensors   best weights by the selection metric, with the model card
    out_dir/last.safetensors   weights of the last evaluation
    out_dir/state.pt           resume state (optimiser, step, history, RNG)
    out_dir/log.csv, tb/       one row per evaluation; TensorBoard scalars if installed
    out_dir/card.json          the model card (also in best.safetensors' metadata)

Tasks: ``vad`` (annotated recordings, and optionally clip folders mixed on the fly; frame BCE;
ROC-AUC, F1, false-alarm rate and segment figures) and ``image`` (``.npz``, MNIST IDX folder
or class-per-folder images; cross-entropy; accuracy) and ``clip`` (audio clips in class
folders or lists, validated on a held-out fold; see :mod:`voicecnn.train.clips`). Under
``torchrun`` call
:func:`init_distributed` first: each rank then trains on its shard and rank 0 writes.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import torch
import torch.distributed as dist
from torch import nn
from torch.utils.data import ConcatDataset, DataLoader, Dataset, DistributedSampler

from voicecnn.audio import audio_duration_s, load_audio
from voicecnn.checkpoint import load_model, read_metadata, save_weights
from voicecnn.config import cfg_from_dict, cfg_to_dict, check_fields, dumps_toml, jsonable
from voicecnn.data.clips import ClipAugmentCfg
from voicecnn.data.datasets import VadCropDataset, read_excerpt
from voicecnn.data.images import (
    ImageDataset,
    channel_stats,
    is_idx_folder,
    load_image_folder,
    load_mnist,
    load_npz,
    mnist_split,
)
from voicecnn.data.manifest import (
    ClipSet,
    ManifestEntry,
    load_dataset,
    read_clip_list,
    scan_clip_folders,
)
from voicecnn.data.mix import MixCfg
from voicecnn.detection import DetectCfg, FrameModel, frame_probs
from voicecnn.errors import CheckpointError, ConfigError, DataError
from voicecnn.layers import ConvNormAct
from voicecnn.models import create_model
from voicecnn.models._registry import model_task
from voicecnn.segments import Segment, to_targets
from voicecnn.train.loop import (
    STATE_FILE,
    TrainCfg,
    TrainState,
    class_cross_entropy,
    fit,
    frame_bce,
    load_state,
    select_row,
)
from voicecnn.train.metrics import (
    SegmentMatch,
    accuracy,
    f1_at,
    false_alarm_rate,
    match_segments,
    roc_auc,
)

__all__ = [
    "DataCfg",
    "EvalCfg",
    "RunCfg",
    "Recording",
    "RunResult",
    "evaluate_images",
    "evaluate_recordings",
    "init_distributed",
    "load_recordings",
    "resolve_device",
    "train",
]

Task = Literal["vad", "image", "clip"]


@dataclass(frozen=True)
class DataCfg:
    """Where the examples come from and how they are loaded.

    Attributes:
        train: Training sources. ``vad``: JSON Lines manifests and/or folders of annotated
            recordings (see :func:`voicecnn.data.manifest.load_dataset`). ``image``: one
            ``.npz`` file (``x``/``y`` arrays), a folder of MNIST IDX files or a
            class-per-folder image tree. ``clip``: class-per-folder trees of audio clips
            and/or ``.jsonl`` / ``.csv`` clip lists (:mod:`voicecnn.data.clips`).
        val: Validation sources of the same kinds; empty = hold out ``val_fraction`` of the
            training recordings (or images).
        val_fraction: Share held out when ``val`` is empty (every n-th item).
        clips: ``vad`` only: a folder with ``speech/`` and ``nonspeech/`` clip folders, mixed
            on the fly with the ``[augment]`` settings (scipy). Each holds named groups:
            subfolders and ``NAME.txt`` clip lists (see
            :func:`voicecnn.data.manifest.scan_clip_groups`).
        clip_items: Mixtures per epoch from ``clips`` (0 = one per clip).
        clip_weights: Sampling weight of each clip group by name (others weigh 1), e.g.
            ``{ librispeech = 3.0, music = 1.5 }``.
        clip_cache: Clips each loading process keeps in memory per group (a large value keeps
            them all once read).
        rirs: Real room impulse responses for ``augment.p_real_rir``: a folder or a ``.txt``
            clip list (empty: synthetic rooms only).
        val_clips: ``vad`` only: a folder like ``clips`` (held-out speakers and sources)
            giving ``val_mixtures`` fixed validation mixtures (figures ``mix_roc_auc``,
            ``mix_f1``) and ``val_negative_crops`` crops of each non-speech group alone
            (false-alarm rates ``fa_GROUP`` and ``fa_nonspeech``).
        val_mixtures: Validation mixtures made from ``val_clips``.
        val_negative_crops: Validation crops per non-speech group of ``val_clips``.
        val_seed: Seed of the validation mixtures and crops (fixed, so every evaluation and
            every run sees the same audio).
        crop_s: ``vad``: seconds per training crop.
        image_size: ``image`` folders: (H, W) the images are resized to.
        channels: ``image`` folders: 1 (grey) or 3 (RGB).
        augment_images: ``image``: augment the training images (``shift_px``, ``flip``).
        shift_px: ``image``: largest random shift in pixels per axis (zero fill).
        flip: ``image``: also flip horizontally at random (half the time): for data
            whose mirror image keeps its class (clothes, objects; not digits).
        val_idx_split: ``image``: the files of an MNIST IDX folder given as ``val``:
            ``test`` (``t10k-*``), ``train`` (``train-*``), or ``auto``: ``t10k-*``
            when the folder has them, else ``train-*``.
        val_fold: ``clip``: validate on this cross-validation fold of the training
            clips (a list's ``fold``, else the ``<fold>-`` prefix of the file name, as
            ESC-50's ``3-110389-A.ogg``) instead of ``val`` / ``val_fraction``; 0 = off.
        clip_s: ``clip``: seconds per example (longer clips are cropped, shorter
            ones zero-padded).
        workers: DataLoader worker processes (0 = load in the training process).
    """

    train: tuple[str, ...] = ()
    val: tuple[str, ...] = ()
    val_fraction: float = 0.1
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
    image_size: tuple[int, int] = (28, 28)
    channels: int = 1
    augment_images: bool = True
    shift_px: int = 2
    flip: bool = False
    val_idx_split: Literal["auto", "train", "test"] = "auto"
    val_fold: int = 0
    clip_s: float = 5.0
    workers: int = 2

    def __post_init__(self) -> None:
        check_fields(self, {
            "val_fraction": ("float", 0, 0.99), "clip_items": ("int", 0, 10**12),
            "clip_cache": ("int", 0, 10**9), "val_mixtures": ("int", 0, 10**9),
            "val_negative_crops": ("int", 0, 10**9), "crop_s": ("float>", 0, 3600),
            "channels": ("int", 1, 4),
            "val_fold": ("int", 0, 10**9), "clip_s": ("float>", 0, 3600),
            "workers": ("int", 0, 1024),
        })
        if len(self.image_size) != 2 or min(self.image_size) < 1 or max(self.image_size) > 4096:
            raise ConfigError(f"image_size must be two sizes in [1, 4096], got {self.image_size}")


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
class RunCfg:
    """A training run.

    Attributes:
        task: ``vad`` (frame detector), ``image`` (image classifier) or ``clip`` (audio
            clip classifier).
        arch: Registered model name (``voicecnn models``); may be empty when ``init`` is set.
        init: Weights to start from (bundled name or ``.safetensors`` path) for fine-tuning;
            a classifier's head is replaced when the number of classes differs. With an
            ``arch`` other than init's, the new model takes every weight of the same name and
            shape, and its new blocks start as pass-throughs (e.g. ``vad_cnn2d_s_long`` from
            ``vad_cnn2d_s``).
        teacher: ``vad``: weights (bundled name or ``.safetensors`` path) whose frame
            probabilities on each training mixture are blended into its labels, so a fine-tune
            keeps what the teacher does wherever the new data does not say otherwise
            (learning without forgetting); empty = plain labels. The teacher must share the
            model's sample rate and frame hop.
        teacher_weight: Share of the teacher in the targets: ``(1 - w) * labels + w * p``.
        out_dir: Run directory.
        device: ``auto`` (CUDA when present), ``cpu``, ``cuda``, ``cuda:1``...; resolved by the
            caller (:func:`resolve_device`).
        threads: Torch CPU threads per process, set by the caller (0 = torch's default).
        model: Overrides of the architecture's config (e.g. ``dropout = 0.1``), checked
            strictly.
        tensorboard: Also log to ``out_dir/tb`` when tensorboard is installed.
        card: Extra model-card entries (e.g. ``recipe``, ``licence``, data provenance).
        data: Data sources and loading.
        augment: Mixing of ``data.clips``.
        clip_augment: ``clip``: augmentation of the training clips.
        train: Optimisation.
        eval: Validation.
    """

    task: Task = "vad"
    arch: str = ""
    init: str = ""
    teacher: str = ""
    teacher_weight: float = 0.5
    out_dir: str = "runs/train"
    device: str = "auto"
    threads: int = 0
    model: dict[str, Any] = field(default_factory=dict)
    tensorboard: bool = True
    card: dict[str, Any] = field(default_factory=dict)
    data: DataCfg = field(default_factory=DataCfg)
    augment: MixCfg = field(default_factory=MixCfg)
    clip_augment: ClipAugmentCfg = field(default_factory=ClipAugmentCfg)
    train: TrainCfg = field(default_factory=TrainCfg)
    eval: EvalCfg = field(default_factory=EvalCfg)

    def __post_init__(self) -> None:
        check_fields(self, {"threads": ("int", 0, 4096)})


@dataclass
class RunResult:
    """What :func:`train` returns.

    Attributes:
        history: One row per evaluation (see :func:`~voicecnn.train.fit`).
        card: The model card written with the best weights (rank 0; empty on other ranks).
        best: Path of the best weights.
        model: The trained model as it ended (the last step's weights, not the best).
    """

    history: list[dict[str, Any]]
    card: dict[str, Any]
    best: Path
    model: nn.Module


# --- devices and processes --------------------------------------------------------------------


def resolve_device(name: str) -> torch.device:
    """``auto`` -> ``cuda`` when available, else ``cpu``; other names are checked.

    Raises:
        ConfigError: For an unknown device name, or CUDA asked for but absent.
    """
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError as e:
        raise ConfigError(f"unknown device {name!r}: {e}") from e
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"device {name!r} asked for, but CUDA is not available")
    return device


def init_distributed(device: torch.device) -> torch.device:
    """Join the process group when launched by ``torchrun`` (``WORLD_SIZE`` > 1).

    NCCL on CUDA (each process on GPU ``LOCAL_RANK``), gloo on CPU. Without ``torchrun`` this
    does nothing. Pair it with ``torch.distributed.destroy_process_group()`` at the end.

    Args:
        device: The resolved device of the run.

    Returns:
        This process's device.
    """
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1 or dist.is_initialized():
        return device
    if device.type == "cuda":
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        torch.cuda.set_device(device)
    dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return device


def _rank_world() -> tuple[int, int]:
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


# --- models -----------------------------------------------------------------------------------


def _build_model(
    cfg: RunCfg, from_data: dict[str, Any], log: Callable[[str], None] = print
) -> tuple[Any, str]:
    """The model to train and its registry name: from ``init`` or a fresh ``arch``.

    ``from_data`` holds config values the data implies (a classifier's classes, channels,
    input size and pixel statistics); they apply to fresh models, while ``init`` weights keep
    theirs and only get a new head when the number of classes differs.
    """
    init_arch = str(read_metadata(cfg.init)["arch"]) if cfg.init else ""
    grow = bool(cfg.init and cfg.arch and cfg.arch != init_arch)
    if cfg.init and not grow:
        arch = init_arch
        if cfg.model:
            raise ConfigError("model overrides cannot change the architecture of init weights")
        model: Any = load_model(cfg.init)
    elif cfg.arch:
        arch = cfg.arch
        model = create_model(arch)
    else:
        raise ConfigError("set arch (a registered model) or init (weights to start from)")
    if model_task(arch) != cfg.task:
        raise ConfigError(f"{arch!r} is a {model_task(arch)!r} model, but task = {cfg.task!r}")
    base = cfg_to_dict(model.cfg)
    if not cfg.init or grow:
        implied = {k: v for k, v in from_data.items() if base.get(k) is not None}
        model = type(model)(
            cfg_from_dict(type(model.cfg), {**base, **implied, **cfg.model}, where="model")
        )
    if grow:
        log(_grow_from(model, cfg.init))
    n_classes = from_data.get("num_classes")
    if n_classes is not None and model.num_classes != n_classes:
        model.reset_head(n_classes, from_data.get("class_names", ()))
    return model, arch


def _grow_from(model: nn.Module, init: str) -> str:
    """Start a model of another architecture from ``init``'s weights; return what was copied.

    Every tensor with the same name and shape is copied. A conv block none of whose tensors were
    copied and that maps its width to itself starts as a pass-through (identity at its
    current-time tap), so a stack grown by blocks begins close to what ``init`` computed.
    """
    src = load_model(init)
    if type(src) is not type(model):
        raise ConfigError(f"init {init!r} is a {type(src).__name__}, not a {type(model).__name__}")
    ours = model.state_dict()
    same = {k: v for k, v in src.state_dict().items() if k in ours and ours[k].shape == v.shape}
    if not same:
        raise ConfigError(f"init {init!r} shares no weights with this {type(model).__name__}")
    model.load_state_dict(same, strict=False)
    for name, block in model.named_modules():
        if isinstance(block, ConvNormAct) and not any(k.startswith(f"{name}.") for k in same):
            _pass_through(block)
    new = sorted({k.rsplit(".", 1)[0] for k in ours if k not in same})
    return f"init {init}: {len(same)} of {len(ours)} tensors copied; new: {', '.join(new)}"


def _pass_through(block: ConvNormAct) -> None:
    conv = block[1]
    assert isinstance(conv, nn.Conv1d | nn.Conv2d)
    past = block.time_padding[0]
    dilation = int(conv.dilation[-1])
    if conv.in_channels != conv.out_channels or past % dilation:
        return
    weight = conv.weight
    with torch.no_grad():
        weight.zero_()
        eye = torch.eye(conv.in_channels)
        if weight.dim() == 3:
            weight[:, :, past // dilation] = eye
        else:
            weight[:, :, (weight.shape[2] - 1) // 2, past // dilation] = eye


# --- VAD data and figures ---------------------------------------------------------------------


@dataclass(frozen=True)
class Recording:
    """A validation recording in memory: samples at the model's rate and true segments."""

    wave: npt.NDArray[np.float32]
    segments: tuple[Segment, ...]


def load_recordings(entries: Sequence[ManifestEntry], sample_rate: int) -> list[Recording]:
    """Read checked entries (from :func:`~voicecnn.data.manifest.load_dataset`) into memory.

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


def _split(n: int, fraction: float) -> tuple[list[int], list[int]]:
    """Indices of (train, held-out): every ``round(1 / fraction)``-th item is held out."""
    if not 0.0 < fraction < 1.0:
        raise ConfigError(f"data.val_fraction must be in (0, 1), got {fraction}")
    if n < 2:
        raise DataError("need at least 2 items to hold some out: set data.val")
    k = max(2, round(1.0 / fraction))
    held = list(range(k - 1, n, k)) or [n - 1]
    rest = sorted(set(range(n)) - set(held))
    return rest, held


@dataclass
class _Data:
    """The datasets of a run, and what the card says about them."""

    train: Dataset[Any]  # sized: a map-style dataset
    epoch_sets: list[Any]
    evaluate: Callable[[nn.Module], dict[str, float]]
    facts: dict[str, Any]


def _path(source: str) -> str:
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
class _ClipValidation:
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
    cfg: RunCfg,
    *,
    seed: int,
    length: int | None,
    rirs: list[npt.NDArray[np.float32]],
    weights: dict[str, float] | None = None,
) -> tuple[ClipSet, Any]:
    """The clip groups of ``folder`` (``speech/``, ``nonspeech/``) and their mixtures."""
    from voicecnn.data.datasets import ClipMixDataset  # mixing needs scipy

    root = Path(folder).expanduser()
    clips = scan_clip_folders(root / "speech", root / "nonspeech")
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


def _clip_validation(cfg: RunCfg, rirs: list[npt.NDArray[np.float32]]) -> _ClipValidation:
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
    return _ClipValidation([w.numpy() for w, _ in items], [y.numpy() for _, y in items], negatives)


def _vad_data(cfg: RunCfg, model: Any) -> _Data:
    d = cfg.data
    if not d.train and not d.clips:
        raise ConfigError(
            "no training data: set data.train (annotated recordings) and/or data.clips "
            "(speech and non-speech clips to mix)"
        )
    entries = load_dataset([_path(s) for s in d.train]) if d.train else []
    if d.val:
        val_entries = load_dataset([_path(s) for s in d.val])
    elif entries and not d.val_clips:
        rest, held = _split(len(entries), d.val_fraction)
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
            rirs = [load_audio(p, model.sample_rate) for p in read_clip_list(d.rirs)]
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
    fixed = _clip_validation(cfg, rirs) if d.val_clips else None
    if fixed is not None:
        facts.update(val_clip_sources=d.val_clips, val_mixtures=len(fixed.waves))

    def evaluate(m: nn.Module) -> dict[str, float]:
        figs = evaluate_recordings(m, recordings, cfg.eval) if recordings else {}  # type: ignore[arg-type]
        if fixed is not None:
            figs.update(fixed.figures(m, cfg.eval.threshold))
        figs["score"] = figs["roc_auc"] if recordings else figs.get("mix_roc_auc", math.nan)
        return figs

    return _Data(
        train=ConcatDataset(sets) if len(sets) > 1 else sets[0],
        epoch_sets=sets,
        evaluate=evaluate,
        facts=facts,
    )


# --- image data and figures -------------------------------------------------------------------


def _read_images(
    source: str, data: DataCfg, split: Literal["auto", "train", "test"]
) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.int64], list[str]]:
    path = Path(source)
    if path.suffix.lower() == ".npz":
        x, y = load_npz(path)
        return x, y, []
    if is_idx_folder(path):
        x, y = load_mnist(path, mnist_split(path, split))
        return x, y, []
    return load_image_folder(path, size=data.image_size, channels=data.channels)


def evaluate_images(
    model: nn.Module, loader: DataLoader[Any], device: torch.device
) -> dict[str, float]:
    """Accuracy and mean cross-entropy of a classifier over a loader of (images, labels).

    Returns:
        ``accuracy``, ``loss`` and ``score`` (= ``accuracy``).
    """
    logits, labels = [], []
    for x, y in loader:
        logits.append(model(x.to(device)).float().cpu())
        labels.append(y)
    z, t = torch.cat(logits), torch.cat(labels)
    acc = accuracy(z.numpy(), t.numpy())
    return {"accuracy": acc, "loss": float(class_cross_entropy(z, t)), "score": acc}


def _classifier_data(
    train_set: Dataset[Any],
    val_loader: DataLoader[Any],
    device: torch.device,
    facts: dict[str, Any],
) -> _Data:
    """The data of a classifier run (image or clip): one training set, told each epoch,
    and accuracy and loss over ``val_loader`` (:func:`evaluate_images`)."""
    return _Data(
        train=train_set,
        epoch_sets=[train_set],
        evaluate=lambda m: evaluate_images(m, val_loader, device),
        facts=facts,
    )


def _one_source(sources: tuple[str, ...], what: str) -> str:
    if len(sources) != 1:
        raise ConfigError(f"task 'image' takes exactly one {what} source, got {len(sources)}")
    return sources[0]


def _image_run(cfg: RunCfg, device: torch.device) -> tuple[Any, str, _Data]:
    """Model and data of an image run (the data decides the classes, size and statistics)."""
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
        rest, held = _split(len(y), cfg.data.val_fraction)
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
    model, arch = _build_model(cfg, implied)
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
    return model, arch, _classifier_data(train_set, val_loader, device, facts)


# --- batches ----------------------------------------------------------------------------------


def _batches(
    data: _Data, cfg: RunCfg, start_step: int, *, pin_memory: bool
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Endless batches, epoch after epoch, starting at batch ``start_step`` of the sequence.

    Each rank reads its own shard of every epoch's permutation (``DistributedSampler``, also
    with one process, so the order depends on the seed and epoch only and a resumed run picks
    up exactly where the interrupted one was).
    """
    rank, world = _rank_world()
    batch = cfg.train.batch_size
    sampler: DistributedSampler[Any] = DistributedSampler(
        data.train,
        num_replicas=world,
        rank=rank,
        shuffle=True,
        seed=cfg.train.seed,
        drop_last=True,
    )
    per_epoch = len(sampler) // batch
    if per_epoch == 0:
        raise DataError(
            f"{len(sampler) * world} training items are fewer than one batch of {batch}"
            + (f" per process ({world} processes)" if world > 1 else "")
        )
    epoch, skip = divmod(start_step, per_epoch)
    while True:
        sampler.set_epoch(epoch)
        for ds in data.epoch_sets:
            ds.set_epoch(epoch)
        order = list(sampler)[skip * batch :]
        # Its own generator: an iterator draws a seed, which must not come from the global
        # RNG (dropout's), or a resumed run would draw different dropout masks.
        loader = DataLoader(
            data.train,
            batch_size=batch,
            sampler=order,
            drop_last=True,
            num_workers=cfg.data.workers,
            pin_memory=pin_memory,
            generator=torch.Generator().manual_seed(epoch),
        )
        yield from loader
        epoch, skip = epoch + 1, 0


def _load_teacher(cfg: RunCfg, model: Any, device: torch.device) -> Any:
    """``cfg.teacher``'s model in eval mode on ``device``, checked against the student."""
    if cfg.task != "vad":
        raise ConfigError(f"teacher is a setting of task = 'vad', not {cfg.task!r}")
    if not 0.0 < cfg.teacher_weight <= 1.0:
        raise ConfigError(f"teacher_weight must be in (0, 1], got {cfg.teacher_weight}")
    teacher: Any = load_model(cfg.teacher)
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


def _taught(
    batches: Iterator[tuple[torch.Tensor, torch.Tensor]],
    teacher: nn.Module,
    weight: float,
    device: torch.device,
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """``batches`` with float targets ``(1 - weight) * labels + weight * teacher(x)``.

    Frames past the teacher's output (if any) keep their labels.
    """
    use_bf16 = device.type == "cuda"
    for x, y in batches:
        x = x.to(device, non_blocking=True)
        with torch.no_grad(), torch.autocast(device.type, torch.bfloat16, enabled=use_bf16):
            p = torch.sigmoid(teacher(x).float())
        soft = y.to(device, non_blocking=True).float()
        n = min(p.shape[1], soft.shape[1])
        soft[:, :n] = (1.0 - weight) * soft[:, :n] + weight * p[:, :n]
        yield x, soft


# --- the run ----------------------------------------------------------------------------------


def _silent(line: str) -> None:
    """The log of ranks other than 0."""


def train(
    cfg: RunCfg,
    *,
    device: torch.device,
    resume: bool = False,
    log: Callable[[str], None] = print,
    on_step: Callable[[int, float], None] | None = None,
) -> RunResult:
    """Run the training ``cfg`` describes on ``device`` (see the module docstring for files).

    Args:
        cfg: The run.
        device: A concrete device (see :func:`resolve_device`; under ``torchrun`` the one
            :func:`init_distributed` returned).
        resume: Continue the run in ``cfg.out_dir`` from its last evaluation.
        log: Receives notes and one line per evaluation (rank 0 only).
        on_step: Called after every step with (steps done, loss), rank 0 only.

    Returns:
        The history, the model card and the path of the best weights.

    Raises:
        ConfigError: For inconsistent settings.
        DataError: For unusable data (every problem listed).
        CheckpointError: If ``resume`` finds no readable state, or ``init`` is unreadable.
    """
    out = Path(cfg.out_dir).expanduser()
    rank, world = _rank_world()
    if rank != 0:
        log = _silent
    state: TrainState | None = load_state(out) if resume else None
    if not resume and (out / STATE_FILE).exists():
        raise CheckpointError(
            f"'{out}' already holds a run: pass --resume to continue it, or pick another out_dir"
        )
    t0 = time.monotonic()
    torch.manual_seed(cfg.train.seed)  # the same initial weights on every rank
    if cfg.data.val_fold and cfg.task != "clip":
        raise ConfigError("data.val_fold is a setting of task = 'clip'")
    if cfg.task == "image":
        model, arch, data = _image_run(cfg, device)
        loss_fn = class_cross_entropy
    elif cfg.task == "clip":
        from voicecnn.train.clips import clip_run, soft_cross_entropy

        model, arch, data = clip_run(cfg, device)
        loss_fn = soft_cross_entropy
    else:
        model, arch = _build_model(cfg, {}, log)
        data = _vad_data(cfg, model)
        loss_fn = frame_bce
    teacher = _load_teacher(cfg, model, device) if cfg.teacher else None
    taught = {"teacher": cfg.teacher, "teacher_weight": cfg.teacher_weight} if cfg.teacher else {}
    n_params = sum(p.numel() for p in model.parameters())
    card: dict[str, Any] = {
        "task": cfg.task,
        "arch": arch,
        "init": cfg.init or None,
        **taught,
        "params": n_params,
        "device": str(device) if world == 1 else f"{world} x {device.type}",
        **cfg.card,
        **data.facts,
    }
    if rank == 0:
        out.mkdir(parents=True, exist_ok=True)
        (out / "config.toml").write_text(dumps_toml(cfg_to_dict(cfg)))
        log(
            f"{arch}: {n_params} parameters on {card['device']}; "
            + ", ".join(f"{k}={v}" for k, v in data.facts.items())
        )
    start_step = state.step if state is not None else 0
    if state is not None:
        log(f"resuming at step {start_step}")
    batches = _batches(data, cfg, start_step, pin_memory=device.type == "cuda")
    if teacher is not None:
        batches = _taught(batches, teacher, cfg.teacher_weight, device)
    history = fit(
        model,
        batches,
        data.evaluate,
        replace(cfg.train, seed=cfg.train.seed + rank),
        device=device,
        log=log,
        out_dir=out,
        arch=arch,
        loss_fn=loss_fn,
        card=card,
        resume=state,
        on_step=on_step,
        tensorboard=cfg.tensorboard,
    )
    best = out / "best.safetensors"
    if rank != 0 or not history:
        return RunResult(history, {}, best, model)
    best_row = history[select_row(history, cfg.train)]
    card.update(
        config=cfg_to_dict(cfg),
        steps=history[-1]["step"],
        best_step=best_row["step"],
        wall_s=round(time.monotonic() - t0 + (state.elapsed_s if state else 0.0), 1),
        validation={k: v for k, v in best_row.items() if k not in ("step", "lr")},
    )
    card = jsonable(card)  # strict JSON: unset budgets (inf) become null
    save_weights(load_model(best), best, arch=arch, card=card)
    (out / "card.json").write_text(json.dumps(card, indent=1, allow_nan=False) + "\n")
    return RunResult(history, card, best, model)
