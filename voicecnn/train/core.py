"""What every training task shares: the common settings, the batches and the run itself.

A task (:mod:`~voicecnn.train.vad`, :mod:`~voicecnn.train.image`, :mod:`~voicecnn.train.clip`)
reads its data and builds its model into a :class:`TaskRun`; :func:`run_task` then trains it with
:func:`~voicecnn.train.fit` and writes the run directory::

    out_dir/config.toml        the resolved config (``voicecnn train`` reads it as it is)
    out_dir/best.safetensors   best weights by the selection metric, with the model card
    out_dir/last.safetensors   weights of the last evaluation
    out_dir/state.pt           resume state (optimiser, step, history, RNG)
    out_dir/log.csv, tb/       one row per evaluation; TensorBoard scalars if installed
    out_dir/card.json          the model card (also in best.safetensors' metadata)

Under ``torchrun`` each rank trains on its shard of every epoch and rank 0 writes.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset, DistributedSampler

from voicecnn.config import cfg_to_dict, check_fields, dumps_toml, jsonable
from voicecnn.errors import CheckpointError, ConfigError, DataError
from voicecnn.net.checkpoint import load_module, save_weights
from voicecnn.train.device import rank_world
from voicecnn.train.loop import (
    STATE_FILE,
    LossFn,
    TrainCfg,
    TrainState,
    fit,
    load_state,
    select_row,
)

__all__ = [
    "Batches",
    "DataCfg",
    "RunCfg",
    "RunResult",
    "Task",
    "TaskRun",
    "holdout_indices",
    "run_task",
]

Task = Literal["vad", "image", "clip"]
Batches = Iterator[tuple[torch.Tensor, torch.Tensor]]


@dataclass(frozen=True)
class DataCfg:
    """Where the examples come from and how they are loaded (each task adds its own fields).

    Attributes:
        train: Training sources (their kinds depend on the task).
        val: Validation sources of the same kinds; empty = hold out ``val_fraction`` of the
            training items.
        val_fraction: Share held out when ``val`` is empty (every n-th item).
        workers: DataLoader worker processes (0 = load in the training process).
    """

    train: tuple[str, ...] = ()
    val: tuple[str, ...] = ()
    val_fraction: float = 0.1
    workers: int = 2

    def __post_init__(self) -> None:
        check_fields(self, {"val_fraction": ("float", 0, 0.99), "workers": ("int", 0, 1024)})


@dataclass(frozen=True)
class RunCfg:
    """The settings every training run has; a run is one of the tasks' subclasses.

    Attributes:
        task: ``vad`` (frame detector, :class:`~voicecnn.train.vad.VadRunCfg`), ``image``
            (image classifier, :class:`~voicecnn.train.image.ImageRunCfg`) or ``clip`` (audio
            clip classifier, :class:`~voicecnn.train.clip.ClipRunCfg`).
        arch: Registered model name (``voicecnn models``); may be empty when ``init`` is set.
        init: Weights to start from (bundled name or ``.safetensors`` path) for fine-tuning;
            a classifier's head is replaced when the number of classes differs. With an
            ``arch`` other than init's, the new model takes every weight of the same name and
            shape, and its new blocks start as pass-throughs (e.g. ``vad_cnn2d_s_long`` from
            ``vad_cnn2d_s``).
        out_dir: Run directory.
        device: ``auto`` (CUDA when present), ``cpu``, ``cuda``, ``cuda:1``...; resolved by the
            caller (:func:`~voicecnn.train.device.resolve_device`).
        threads: Torch CPU threads per process, set by the caller (0 = torch's default).
        model: Overrides of the architecture's config (e.g. ``dropout = 0.1``), checked
            strictly.
        tensorboard: Also log to ``out_dir/tb`` when tensorboard is installed.
        card: Extra model-card entries (e.g. ``recipe``, ``licence``, data provenance).
        data: Data sources and loading.
        train: Optimisation.
    """

    task: Task = "vad"
    arch: str = ""
    init: str = ""
    out_dir: str = "runs/train"
    device: str = "auto"
    threads: int = 0
    model: dict[str, Any] = field(default_factory=dict)
    tensorboard: bool = True
    card: dict[str, Any] = field(default_factory=dict)
    data: DataCfg = field(default_factory=DataCfg)
    train: TrainCfg = field(default_factory=TrainCfg)

    def __post_init__(self) -> None:
        check_fields(self, {"threads": ("int", 0, 4096)})


@dataclass
class RunResult:
    """What a training run returns.

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


@dataclass
class TaskRun:
    """What a task hands to :func:`run_task`: the model, its data and how it learns.

    Attributes:
        model: The model to train.
        arch: Its registry name.
        train: The training set (map-style, sized).
        epoch_sets: The datasets told each epoch's number (``set_epoch``).
        evaluate: Validation figures of the model (``score`` among them).
        facts: What the card says about the data.
        loss_fn: The training loss.
        card: Card entries that follow ``init`` (e.g. the teacher).
        targets: Turns each batch's targets into the ones learnt (e.g. a teacher's blend).
    """

    model: Any
    arch: str
    train: Dataset[Any]
    epoch_sets: list[Any]
    evaluate: Callable[[nn.Module], dict[str, float]]
    facts: dict[str, Any]
    loss_fn: LossFn
    card: dict[str, Any] = field(default_factory=dict)
    targets: Callable[[Batches], Batches] | None = None


def holdout_indices(n: int, fraction: float) -> tuple[list[int], list[int]]:
    """Indices of (train, held-out): every ``round(1 / fraction)``-th item is held out.

    Raises:
        ConfigError: For a fraction outside (0, 1).
        DataError: For fewer than 2 items.
    """
    if not 0.0 < fraction < 1.0:
        raise ConfigError(f"data.val_fraction must be in (0, 1), got {fraction}")
    if n < 2:
        raise DataError("need at least 2 items to hold some out: set data.val")
    k = max(2, round(1.0 / fraction))
    held = list(range(k - 1, n, k)) or [n - 1]
    rest = sorted(set(range(n)) - set(held))
    return rest, held


def _batches(task: TaskRun, cfg: RunCfg, start_step: int, *, pin_memory: bool) -> Batches:
    """Endless batches, epoch after epoch, starting at batch ``start_step`` of the sequence.

    Each rank reads its own shard of every epoch's permutation (``DistributedSampler``, also
    with one process, so the order depends on the seed and epoch only and a resumed run picks
    up exactly where the interrupted one was).
    """
    rank, world = rank_world()
    batch = cfg.train.batch_size
    sampler: DistributedSampler[Any] = DistributedSampler(
        task.train,
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
        for ds in task.epoch_sets:
            ds.set_epoch(epoch)
        order = list(sampler)[skip * batch :]
        # Its own generator: an iterator draws a seed, which must not come from the global
        # RNG (dropout's), or a resumed run would draw different dropout masks.
        loader = DataLoader(
            task.train,
            batch_size=batch,
            sampler=order,
            drop_last=True,
            num_workers=cfg.data.workers,
            pin_memory=pin_memory,
            generator=torch.Generator().manual_seed(epoch),
        )
        yield from loader
        epoch, skip = epoch + 1, 0


def _silent(line: str) -> None:
    """The log of ranks other than 0."""


def run_task(
    cfg: RunCfg,
    prepare: Callable[[Any, torch.device, Callable[[str], None]], TaskRun],
    *,
    device: torch.device,
    resume: bool = False,
    log: Callable[[str], None] = print,
    on_step: Callable[[int, float], None] | None = None,
) -> RunResult:
    """Prepare a task's model and data with ``prepare``, train it and write the run directory.

    Args:
        cfg: The run (a task's subclass of :class:`RunCfg`).
        prepare: The task's ``(cfg, device, log) -> TaskRun``.
        device: A concrete device (under ``torchrun`` the one
            :func:`~voicecnn.train.device.init_distributed` returned).
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
    rank, world = rank_world()
    if rank != 0:
        log = _silent
    state: TrainState | None = load_state(out) if resume else None
    if not resume and (out / STATE_FILE).exists():
        raise CheckpointError(
            f"'{out}' already holds a run: pass --resume to continue it, or pick another out_dir"
        )
    t0 = time.monotonic()
    torch.manual_seed(cfg.train.seed)  # the same initial weights on every rank
    task = prepare(cfg, device, log)
    model, arch = task.model, task.arch
    n_params = sum(p.numel() for p in model.parameters())
    card: dict[str, Any] = {
        "task": cfg.task,
        "arch": arch,
        "init": cfg.init or None,
        **task.card,
        "params": n_params,
        "device": str(device) if world == 1 else f"{world} x {device.type}",
        **cfg.card,
        **task.facts,
    }
    if rank == 0:
        out.mkdir(parents=True, exist_ok=True)
        (out / "config.toml").write_text(dumps_toml(cfg_to_dict(cfg)), encoding="utf-8")
        log(
            f"{arch}: {n_params} parameters on {card['device']}; "
            + ", ".join(f"{k}={v}" for k, v in task.facts.items())
        )
    start_step = state.step if state is not None else 0
    if state is not None:
        log(f"resuming at step {start_step}")
    batches = _batches(task, cfg, start_step, pin_memory=device.type == "cuda")
    if task.targets is not None:
        batches = task.targets(batches)
    history = fit(
        model,
        batches,
        task.evaluate,
        replace(cfg.train, seed=cfg.train.seed + rank),
        device=device,
        log=log,
        out_dir=out,
        arch=arch,
        loss_fn=task.loss_fn,
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
    save_weights(load_module(best), best, arch=arch, card=card)
    card_text = json.dumps(card, indent=1, allow_nan=False) + "\n"
    (out / "card.json").write_text(card_text, encoding="utf-8")
    return RunResult(history, card, best, model)
