"""A whole training run from one config: ``voicecnn train CONFIG`` and the recipes start here.

A config is read strictly (unknown keys and wrong types are errors) into the run config of its
``task`` (:func:`load_run_cfg`): :class:`~voicecnn.train.vad.VadRunCfg`,
:class:`~voicecnn.train.image.ImageRunCfg` or :class:`~voicecnn.train.clip.ClipRunCfg`, each
holding only its own settings over the shared ones of :class:`~voicecnn.train.core.RunCfg`.
:func:`train` hands it to its task, which reads the data and builds the model, and the shared
core (:func:`~voicecnn.train.core.run_task`) trains it and writes the run directory. Under
``torchrun`` call :func:`~voicecnn.train.device.init_distributed` first: each rank then trains on
its shard and rank 0 writes.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, get_type_hints

import torch

from voicecnn.config import cfg_from_dict, read_toml
from voicecnn.errors import ConfigError
from voicecnn.train.clip import ClipRunCfg, prepare_clip
from voicecnn.train.core import RunCfg, RunResult, TaskRun, run_task
from voicecnn.train.image import ImageRunCfg, prepare_image
from voicecnn.train.vad import VadRunCfg, prepare_vad

__all__ = ["TASKS", "load_run_cfg", "run_cfg_from_dict", "train"]

Prepare = Callable[[Any, torch.device, Callable[[str], None]], TaskRun]

TASKS: dict[str, tuple[type[RunCfg], Prepare]] = {
    "vad": (VadRunCfg, prepare_vad),
    "image": (ImageRunCfg, prepare_image),
    "clip": (ClipRunCfg, prepare_clip),
}
"""Each task's run config and its ``prepare(cfg, device, log)``."""


def _fields(cls: type[Any]) -> set[str]:
    return {f.name for f in dataclasses.fields(cls)}


def _setting_keys(cls: type[RunCfg]) -> set[str]:
    """The top-level keys and the ``data.`` keys of a task's run config."""
    data_cls = get_type_hints(cls)["data"]
    return _fields(cls) | {f"data.{k}" for k in _fields(data_cls)}


def _check_task_keys(data: dict[str, Any], task: str, where: str) -> None:
    """Name the task a setting belongs to, where the strict reader would only say "unknown"."""
    given = set(data) | {f"data.{k}" for k in data.get("data") or {} if isinstance(k, str)}
    ours = _setting_keys(TASKS[task][0])
    for key in sorted(given - ours):
        owners = [t for t, (cls, _) in TASKS.items() if key in _setting_keys(cls)]
        if owners:
            raise ConfigError(f"{where}: {key} is a setting of task = {owners[0]!r}, not {task!r}")


def run_cfg_from_dict(data: dict[str, Any], *, where: str = "config") -> RunCfg:
    """The run config of ``data``'s ``task`` (default ``vad``), read strictly.

    Raises:
        ConfigError: For an unknown task, a setting of another task, an unknown key or a value
            of the wrong type.
    """
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected a table of settings, got {type(data).__name__}")
    task = data.get("task", "vad")
    if not isinstance(task, str) or task not in TASKS:
        raise ConfigError(f"{where}.task: {task!r} is not one of {list(TASKS)}")
    if isinstance(data.get("data", {}), dict):
        _check_task_keys(data, task, where)
    return cfg_from_dict(TASKS[task][0], data, where=where)


def load_run_cfg(path: str | os.PathLike[str], overrides: list[str] | None = None) -> RunCfg:
    """Read a TOML run config (with its ``base`` files and ``key=value`` overrides).

    Raises:
        ConfigError: If a file is missing or malformed, or a setting is wrong (see
            :func:`run_cfg_from_dict`).
    """
    return run_cfg_from_dict(read_toml(path, overrides), where=str(Path(path)))


def train(
    cfg: RunCfg,
    *,
    device: torch.device,
    resume: bool = False,
    log: Callable[[str], None] = print,
    on_step: Callable[[int, float], None] | None = None,
) -> RunResult:
    """Run the training ``cfg`` describes on ``device`` (see :mod:`voicecnn.train.core` for the
    files it writes).

    Args:
        cfg: The run: a :class:`~voicecnn.train.vad.VadRunCfg`,
            :class:`~voicecnn.train.image.ImageRunCfg` or :class:`~voicecnn.train.clip.ClipRunCfg`
            (e.g. from :func:`load_run_cfg`).
        device: A concrete device (see :func:`~voicecnn.train.device.resolve_device`; under
            ``torchrun`` the one :func:`~voicecnn.train.device.init_distributed` returned).
        resume: Continue the run in ``cfg.out_dir`` from its last evaluation.
        log: Receives notes and one line per evaluation (rank 0 only).
        on_step: Called after every step with (steps done, loss), rank 0 only.

    Returns:
        The history, the model card and the path of the best weights.

    Raises:
        ConfigError: For inconsistent settings, or a config that is not a task's.
        DataError: For unusable data (every problem listed).
        CheckpointError: If ``resume`` finds no readable state, or ``init`` is unreadable.
    """
    cls, prepare = TASKS.get(cfg.task, (None, None))
    if cls is None or prepare is None or not isinstance(cfg, cls):
        raise ConfigError(
            f"a {type(cfg).__name__} with task = {cfg.task!r} is not a task's run config "
            "(VadRunCfg, ImageRunCfg or ClipRunCfg)"
        )
    return run_task(cfg, prepare, device=device, resume=resume, log=log, on_step=on_step)
