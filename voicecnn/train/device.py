"""Where a run trains: the device from its name, and the process group under ``torchrun``."""

from __future__ import annotations

import os

import torch
import torch.distributed as dist

from voicecnn.errors import ConfigError

__all__ = ["init_distributed", "rank_world", "resolve_device"]


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


def rank_world() -> tuple[int, int]:
    """This process's rank and the number of processes (0, 1 outside a process group)."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1
