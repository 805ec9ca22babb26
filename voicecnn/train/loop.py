"""A plain training loop (nanoGPT style): AdamW, warmup + cosine, periodic eval, resumable.

:func:`fit` pulls ``(input, target)`` batches from any iterator, evaluates with a callback, and
after each evaluation writes ``last.safetensors``, ``best.safetensors`` (best value of
``cfg.select_metric``, higher is better), a row of ``log.csv`` and the resume state
``state.pt`` in ``out_dir``, all atomically. Under ``torch.distributed`` (several processes,
e.g. launched by ``torchrun``) the model is wrapped in ``DistributedDataParallel`` and only
rank 0 evaluates, saves and logs.
"""

from __future__ import annotations

import csv
import io
import math
import pickle
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn

from voicecnn.config import check_fields
from voicecnn.errors import CheckpointError, ConfigError
from voicecnn.net.checkpoint import atomic_write_bytes, save_weights

__all__ = [
    "STATE_FILE",
    "EvalFn",
    "LossFn",
    "StepFn",
    "TrainCfg",
    "TrainState",
    "class_cross_entropy",
    "fit",
    "frame_bce",
    "load_state",
    "lr_at",
    "select_row",
]

STATE_FILE = "state.pt"
BEST_FILE = "best.safetensors"
CKPT_DIR = "ckpt"
"""Name of the resume state in a run directory."""

EvalFn = Callable[[nn.Module], dict[str, float]]
"""Evaluation callback: model (already in eval mode, no grad) -> named figures."""

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
"""Loss of a batch: (float32 logits, targets) -> scalar tensor."""

StepFn = Callable[[int, float], None]
"""Progress callback: (steps done, train loss of the step)."""


@dataclass(frozen=True)
class TrainCfg:
    """Optimisation settings.

    Attributes:
        lr: Peak learning rate.
        min_lr_ratio: Final learning rate as a fraction of ``lr``.
        weight_decay: AdamW decay, applied to weights with >= 2 dims only.
        betas: AdamW betas.
        batch_size: Clips per step (informational: the batch iterator decides).
        max_steps: Step budget; the cosine ends at it or at ``max_minutes``, whichever the
            run reaches first.
        warmup_steps: Linear warmup steps.
        eval_every: Evaluate every this many steps.
        eval_every_s: ... or when this many seconds passed since the last evaluation.
        max_minutes: Wall-clock budget; training stops (with a final evaluation) past it.
        grad_clip: Max global gradient norm (0 disables clipping).
        select_metric: Key of the evaluation dict that picks ``best.safetensors`` (higher is
            better).
        select_tolerance: Evaluations within this much of the best ``select_metric`` count as
            tied (e.g. ~1 standard error of a small real validation set); the tie goes to
            the highest ``select_tiebreak``. Every evaluation's weights are then kept as
            ``ckpt/step_N.safetensors``, since a later evaluation can hand the pick back
            to an earlier one.
        select_tiebreak: Key that breaks ties within ``select_tolerance`` (empty: the earliest).
        seed: Torch seed.
    """

    lr: float = 3e-3
    min_lr_ratio: float = 0.05
    weight_decay: float = 0.01
    betas: tuple[float, float] = (0.9, 0.99)
    batch_size: int = 32
    max_steps: int = 10_000
    warmup_steps: int = 200
    eval_every: int = 500
    eval_every_s: float = math.inf
    max_minutes: float = math.inf
    grad_clip: float = 1.0
    select_metric: str = "score"
    select_tolerance: float = 0.0
    select_tiebreak: str = ""
    seed: int = 0

    def __post_init__(self) -> None:
        if self.max_steps == 0:
            raise ConfigError("max_steps = 0 would train nothing: give at least 1 step")
        check_fields(self, {
            "lr": ("float>", 0, 1e3), "min_lr_ratio": ("float", 0, 1),
            "weight_decay": ("float", 0, 1e3), "batch_size": ("int", 1, 1_000_000),
            "max_steps": ("int", 1, 10**12), "warmup_steps": ("int", 0, 10**12),
            "eval_every": ("int", 1, 10**12), "eval_every_s": ("time", 0, 1e9),
            "max_minutes": ("time", 0, 1e9), "grad_clip": ("float", 0, 1e9),
            "select_tolerance": ("float", 0, 1e9), "seed": ("int", 0, 2**63 - 1),
        })
        if len(self.betas) != 2 or not all(
            isinstance(b, float | int) and 0 <= b < 1 for b in self.betas
        ):
            raise ConfigError(f"betas must be two numbers in [0, 1), got {self.betas}")


@dataclass
class TrainState:
    """Where a run stands after an evaluation: everything :func:`fit` needs to continue it.

    Attributes:
        step: Optimiser steps taken.
        best: The selection metric of the evaluation picked so far.
        best_step: The step of that evaluation (-1 before the first).
        elapsed_s: Wall-clock seconds of training so far (evaluations included).
        train_s: Seconds spent in training steps.
        clips: Training examples seen.
        history: The evaluation rows so far (as :func:`fit` returns them).
        model: Model state dict.
        optimizer: Optimiser state dict.
        rng: Torch CPU random state.
        cuda_rng: Random state of the CUDA device trained on (None on the CPU).
    """

    step: int = 0
    best: float = -math.inf
    best_step: int = -1
    elapsed_s: float = 0.0
    train_s: float = 0.0
    clips: int = 0
    history: list[dict[str, Any]] = field(default_factory=list)
    model: dict[str, torch.Tensor] = field(default_factory=dict)
    optimizer: dict[str, Any] = field(default_factory=dict)
    rng: torch.Tensor | None = None
    cuda_rng: torch.Tensor | None = None


def select_row(history: Sequence[dict[str, Any]], cfg: TrainCfg) -> int:
    """Index of the evaluation to ship: the best ``cfg.select_metric``, where every row within
    ``cfg.select_tolerance`` of the best ties and the tie goes to the highest
    ``cfg.select_tiebreak`` (then to the earliest row). NaN and missing values rank last.

    Raises:
        ValueError: If ``history`` is empty.
    """
    if not history:
        raise ValueError("no evaluation to select from")

    def value(row: dict[str, Any], key: str) -> float:
        v = row.get(key, -math.inf)
        return -math.inf if v is None or math.isnan(v) else float(v)

    scores = [value(r, cfg.select_metric) for r in history]
    top = max(scores)
    near = [i for i, v in enumerate(scores) if v >= top - cfg.select_tolerance]
    if not cfg.select_tiebreak:
        return near[0] if cfg.select_tolerance > 0 else scores.index(top)
    return max(near, key=lambda i: (value(history[i], cfg.select_tiebreak), -i))


def load_state(out_dir: str | Path) -> TrainState:
    """Read the resume state ``out_dir/state.pt`` (tensors and plain values only, no pickle).

    Raises:
        CheckpointError: If there is no state file or it cannot be read.
    """
    path = Path(out_dir) / STATE_FILE
    if not path.is_file():
        raise CheckpointError(f"nothing to resume: '{path}' does not exist")
    try:
        raw = torch.load(path, map_location="cpu", weights_only=True)
        return TrainState(**raw)
    except (
        OSError, RuntimeError, TypeError, ValueError, EOFError, pickle.UnpicklingError
    ) as e:
        msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        if "weights" in msg.lower() or "pickle" in msg.lower() or len(msg) > 120:
            # torch's advice here is to unpickle (weights_only=False): never relay it
            msg = "corrupt, or holds more than tensors and plain values"
        raise CheckpointError(f"cannot read resume state '{path}': {msg}") from e


def _save_state(path: Path, state: TrainState) -> None:
    buf = io.BytesIO()
    torch.save({k: getattr(state, k) for k in state.__dataclass_fields__}, buf)
    atomic_write_bytes(path, buf.getvalue())


def frame_bce(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Frame-wise binary cross-entropy of (B, T) logits against (B, >= T) 0/1 targets."""
    return F.binary_cross_entropy_with_logits(logits, targets[:, : logits.shape[1]].float())


def class_cross_entropy(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of (B, K) class logits against (B,) int64 class indices."""
    return F.cross_entropy(logits, targets.long())


def lr_at(step: int, cfg: TrainCfg, progress: float | None = None) -> float:
    """Learning rate at ``step``: linear warmup to ``lr``, then cosine down to ``min_lr_ratio``.

    Args:
        step: Optimiser steps taken so far.
        cfg: Schedule settings (``lr``, ``warmup_steps``, ``max_steps``, ``min_lr_ratio``).
        progress: Fraction in [0, 1] of the cosine to use instead of the step count (e.g. the
            share of a time budget spent); warmup is always counted in steps.
    """
    if step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    if progress is None:
        progress = (step - cfg.warmup_steps) / max(1, cfg.max_steps - cfg.warmup_steps)
    progress = min(1.0, max(0.0, progress))
    floor = cfg.lr * cfg.min_lr_ratio
    return floor + 0.5 * (cfg.lr - floor) * (1.0 + math.cos(math.pi * progress))


def _optimizer(model: nn.Module, cfg: TrainCfg) -> torch.optim.AdamW:
    params = [p for p in model.parameters() if p.requires_grad]
    groups = [
        {"params": [p for p in params if p.dim() >= 2], "weight_decay": cfg.weight_decay},
        {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0},
    ]
    return torch.optim.AdamW(groups, lr=cfg.lr, betas=cfg.betas)


def _write_csv(path: Path, rows: list[dict[str, Any]]) -> None:
    """Write all rows (the columns of the first) atomically."""
    buf = io.StringIO()
    if rows:
        writer = csv.DictWriter(buf, fieldnames=list(rows[0]), extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    atomic_write_bytes(path, buf.getvalue().encode())


def _distributed() -> bool:
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def _from_rank0(flags: list[bool], device: torch.device) -> list[bool]:
    """Rank 0's values of ``flags`` on every rank (time-based decisions must agree)."""
    t = torch.tensor([float(f) for f in flags], device=device)
    dist.broadcast(t, src=0)
    return [bool(v) for v in t.tolist()]


class _TensorBoard:
    """Scalars to TensorBoard when it is installed (the ``train`` extra); otherwise nothing."""

    def __init__(self, out: Path, log: Callable[[str], None]) -> None:
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            log(
                "note: tensorboard is not installed (pip install voicecnn[train]); "
                "logging to log.csv only"
            )
            self.writer = None
        else:
            self.writer = SummaryWriter(str(out / "tb"))

    def add(self, row: dict[str, Any]) -> None:
        if self.writer is None:
            return
        for key, value in row.items():
            if key != "step" and isinstance(value, int | float):
                self.writer.add_scalar(key, value, row["step"])
        self.writer.flush()

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def fit(
    model: nn.Module,
    train_batches: Iterator[tuple[torch.Tensor, torch.Tensor]],
    evaluate_fn: EvalFn,
    cfg: TrainCfg,
    *,
    device: torch.device | str,
    log: Callable[[str], None] = print,
    out_dir: str | Path,
    arch: str,
    loss_fn: LossFn = frame_bce,
    card: dict[str, Any] | None = None,
    resume: TrainState | None = None,
    on_step: StepFn | None = None,
    tensorboard: bool = False,
) -> list[dict[str, Any]]:
    """Train ``model`` until ``max_steps``, ``max_minutes`` or the batches run out.

    Under an initialised ``torch.distributed`` process group of several processes, every rank
    calls this with its own shard of batches; gradients are averaged by
    ``DistributedDataParallel``, and rank 0 alone evaluates and writes files (the others wait).

    Args:
        model: A registered model; ``loss_fn(model(x), y)`` is minimised.
        train_batches: Yields ``(input, target)`` tensors (any device); when resuming, it
            should start where the interrupted run's batches stopped (at ``resume.step``).
        evaluate_fn: Called after every evaluation interval and at the end.
        cfg: Optimisation settings.
        device: Where to train; CUDA runs the forward pass under bf16 autocast.
        log: Receives notes and one line per evaluation (rank 0 only).
        out_dir: Receives ``best.safetensors``, ``last.safetensors``, ``log.csv``,
            ``state.pt`` (and ``tb/`` with ``tensorboard``).
        arch: Registry name passed to :func:`voicecnn.net.checkpoint.save_weights`.
        loss_fn: Loss of a batch, :func:`frame_bce` for detectors (the default) or
            :func:`class_cross_entropy` for classifiers.
        card: Model-card facts stored with the weights (the step and figures are added).
        resume: State from :func:`load_state` to continue from, or ``None`` to start afresh.
        on_step: Called after every step (rank 0 only), e.g. to draw a progress bar.
        tensorboard: Also log to ``out_dir/tb`` if tensorboard is installed.

    Returns:
        One dict per evaluation (those before a resume included): step, lr, train loss, elapsed
        and training seconds (batch fetching included, evaluations excluded), clips/s over the
        training seconds, and the evaluation figures.
    """
    device = torch.device(device)
    out = Path(out_dir)
    distributed = _distributed()
    main = not distributed or dist.get_rank() == 0
    if main:
        out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(cfg.seed)
    model.to(device).train()
    opt = _optimizer(model, cfg)
    st = resume if resume is not None else TrainState()
    if resume is not None:
        model.load_state_dict(resume.model)
        opt.load_state_dict(resume.optimizer)
        if resume.rng is not None:
            torch.set_rng_state(resume.rng)
        if resume.cuda_rng is not None and device.type == "cuda":
            torch.cuda.set_rng_state(resume.cuda_rng, device)
    net: nn.Module = model
    if distributed:
        ids = [device.index] if device.type == "cuda" else None
        net = nn.parallel.DistributedDataParallel(model, device_ids=ids)
    use_bf16 = device.type == "cuda"
    history = list(st.history)
    board = _TensorBoard(out, log) if main and tensorboard else None
    start = time.monotonic() - st.elapsed_s
    last_eval = time.monotonic()
    loss_sum, loss_n, step = 0.0, 0, st.step
    budget_s = cfg.max_minutes * 60.0
    timed = math.isfinite(budget_s) or math.isfinite(cfg.eval_every_s)
    while step < cfg.max_steps:
        t0 = time.monotonic()
        try:
            x, y = next(train_batches)
        except StopIteration:
            break
        # The cosine follows whichever budget (steps or time) is spent faster.
        spent = (t0 - start) / budget_s if math.isfinite(budget_s) else 0.0
        span = max(1, cfg.max_steps - cfg.warmup_steps)
        lr = lr_at(step, cfg, max(spent, (step - cfg.warmup_steps) / span))
        for group in opt.param_groups:
            group["lr"] = lr
        x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=use_bf16):
            logits = net(x)
        loss = loss_fn(logits.float(), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()  # type: ignore[no-untyped-call]
        if cfg.grad_clip > 0:
            nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
        opt.step()
        step += 1
        loss_value = float(loss.detach())
        loss_sum += loss_value
        loss_n += 1
        st.clips += x.shape[0]
        now = time.monotonic()
        st.train_s += now - t0
        if main and on_step is not None:
            on_step(step, loss_value)
        out_of_time = now - start >= budget_s
        by_time = now - last_eval >= cfg.eval_every_s
        if distributed and timed:
            out_of_time, by_time = _from_rank0([out_of_time, by_time], device)
        if not (step % cfg.eval_every == 0 or by_time or out_of_time or step == cfg.max_steps):
            continue
        if main:
            model.eval()
            with torch.no_grad():
                # Plain floats: numpy scalars would not survive a weights-only state load.
                figures = {k: float(v) for k, v in evaluate_fn(model).items()}
            model.train()
            row: dict[str, Any] = {
                "step": step,
                "lr": lr,
                "train_loss": loss_sum / max(1, loss_n),
                "elapsed_s": round(time.monotonic() - start, 1),
                "train_s": round(st.train_s, 1),
                "clips_per_s": st.clips / max(st.train_s, 1e-9),
                **figures,
            }
            history.append(row)
            weights_card = {**(card or {}), "step": step, **figures}
            save_weights(model, out / "last.safetensors", arch=arch, card=weights_card)
            if cfg.select_tolerance > 0:
                ckpt = out / CKPT_DIR / f"step_{step}.safetensors"
                save_weights(model, ckpt, arch=arch, card=weights_card)
            pick = history[select_row(history, cfg)]
            improved = pick is row
            if improved:
                save_weights(model, out / BEST_FILE, arch=arch, card=weights_card)
            elif pick["step"] != st.best_step:  # a tie handed the pick back to an earlier step
                kept = out / CKPT_DIR / f"step_{pick['step']}.safetensors"
                atomic_write_bytes(out / BEST_FILE, kept.read_bytes())
            st.best_step = int(pick["step"])
            st.best = float(pick.get(cfg.select_metric, -math.inf))
            # The log is rewritten from the history kept in the state, so a resumed run's log
            # never holds rows the state does not know.
            _write_csv(out / "log.csv", history)
            st.step, st.elapsed_s, st.history = step, time.monotonic() - start, history
            st.model, st.optimizer = model.state_dict(), opt.state_dict()
            st.rng = torch.get_rng_state()
            st.cuda_rng = torch.cuda.get_rng_state(device) if device.type == "cuda" else None
            _save_state(out / STATE_FILE, st)
            if board is not None:
                board.add(row)
            log(
                " ".join(
                    f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items()
                )
                + (" *" if improved else "")
            )
        if distributed:
            dist.barrier()
        loss_sum, loss_n, last_eval = 0.0, 0, time.monotonic()
        if out_of_time:
            break
    if board is not None:
        board.close()
    return history
