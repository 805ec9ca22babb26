"""The model registry: names -> builder functions. The only module-level table in voicecnn."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from voicecnn.errors import UnknownModelError

__all__ = ["create_model", "is_model", "list_models", "model_task", "register_model"]

M = TypeVar("M", bound=Callable[..., Any])

_BUILDERS: dict[str, Callable[..., Any]] = {}
_TASKS: dict[str, str] = {}


def register_model(name: str, *, task: str = "vad") -> Callable[[M], M]:
    """Decorator that registers a builder ``fn(**overrides) -> nn.Module`` under ``name``.

    Raises:
        ValueError: If ``name`` is already registered.
    """

    def deco(fn: M) -> M:
        if name in _BUILDERS:
            raise ValueError(f"model {name!r} is already registered")
        _BUILDERS[name] = fn
        _TASKS[name] = task
        return fn

    return deco


def list_models(task: str | None = None) -> list[str]:
    """Registered model names, sorted; only those of ``task`` (``"vad"``, ``"image"``, ``"clip"``)
    if given."""
    return sorted(n for n in _BUILDERS if task is None or _TASKS[n] == task)


def is_model(name: str) -> bool:
    """Whether ``name`` is a registered architecture."""
    return name in _BUILDERS


def model_task(name: str) -> str:
    """The task (``"vad"``, ``"image"``...) of a registered architecture."""
    if name not in _TASKS:
        raise UnknownModelError(_unknown(name))
    return _TASKS[name]


def _unknown(name: str) -> str:
    return f"unknown model {name!r}; registered: {', '.join(list_models())}"


def create_model(name: str, **overrides: Any) -> Any:
    """Build the registered architecture ``name`` with randomly initialised weights.

    Args:
        name: A name from :func:`list_models`.
        **overrides: Config fields to replace, e.g. ``dropout=0.2``.

    Raises:
        UnknownModelError: If ``name`` is not registered.
    """
    if name not in _BUILDERS:
        raise UnknownModelError(_unknown(name))
    return _BUILDERS[name](**overrides)
