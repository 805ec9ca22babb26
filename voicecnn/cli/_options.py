"""Options shared by the commands that detect speech (detect, stream, listen, split, plot).

The detection options are declared once, here, with their defaults read from
:class:`voicecnn.DetectCfg`: a command takes ``cfg: DetectCfg`` and :func:`detection_options`
puts the options in its place on the command line.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import fields
from typing import Annotated, Any, NoReturn, TypeVar

import typer

from voicecnn.detection.frames import DetectCfg
from voicecnn.errors import ConfigError

ModelOpt = Annotated[
    str | None,
    typer.Option("--model", "-m",
                 help="Bundled model name, .safetensors or .onnx file, Hub folder or Hub id "
                 "(owner/name, from the Hugging Face cache).",
                 show_default="bundled default"),
]

_DEFAULTS = {f.name: f.default for f in fields(DetectCfg)}

# (command-line parameter, DetectCfg field, typer option); the order is the order in --help.
_DETECTION_OPTIONS: tuple[tuple[str, str, Any], ...] = (
    ("threshold", "threshold", Annotated[
        float, typer.Option("--threshold", "-t", min=0.0, max=1.0,
                            help="Speech onset probability.")]),
    ("neg_threshold", "neg_threshold", Annotated[
        float | None, typer.Option(min=0.0, max=1.0, help="Speech offset probability.",
                                   show_default="threshold - 0.15")]),
    ("min_speech", "min_speech_s", Annotated[
        float, typer.Option(min=0.0, help="Drop speech shorter than this (s).")]),
    ("min_silence", "min_silence_s", Annotated[
        float, typer.Option(min=0.0, help="Fill pauses shorter than this (s).")]),
    ("pad", "pad_s", Annotated[
        float, typer.Option(min=0.0, help="Pad each segment by this (s).")]),
    ("max_segment", "max_segment_s", Annotated[
        float | None, typer.Option(min=0.01, help="Split segments longer than this (s) at "
                                   "their least speech-like frame.", show_default="no limit")]),
)

F = TypeVar("F", bound=Callable[..., Any])


def detection_options(command: F) -> F:
    """Replace a command's ``cfg: DetectCfg`` parameter by the detection options.

    The command is called with ``cfg`` built from the options; settings that do not fit
    together (an offset above the onset) are a usage error (exit code 2).
    """
    sig = inspect.signature(command)
    names = list(sig.parameters)
    if "cfg" not in names:
        raise TypeError(f"{command.__name__} has no 'cfg' parameter")
    options = [
        inspect.Parameter(param, inspect.Parameter.KEYWORD_ONLY, default=_DEFAULTS[field],
                          annotation=annotation)
        for param, field, annotation in _DETECTION_OPTIONS
    ]
    at = names.index("cfg")
    kept = [_resolved(p, command, keyword_only=i > at)
            for i, p in enumerate(sig.parameters.values()) if p.name != "cfg"]
    params = kept[:at] + options + kept[at:]

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        given = {field: kwargs.pop(param) for param, field, _ in _DETECTION_OPTIONS}
        try:
            cfg = DetectCfg(**given)
        except ConfigError as e:  # one line naming the option, before any model or audio
            field, _, rest = str(e).partition(" ")
            usage_error(f"{_OPTION_OF.get(field, field)} {rest}")
        return command(*args, cfg=cfg, **kwargs)

    hints = {p.name: p.annotation for p in params}
    wrapper.__signature__ = sig.replace(parameters=params)  # type: ignore[attr-defined]
    wrapper.__annotations__ = {**hints, "return": None}
    return wrapper  # type: ignore[return-value]


def _resolved(param: inspect.Parameter, owner: Callable[..., Any], *,
              keyword_only: bool) -> inspect.Parameter:
    """``param`` with its annotation evaluated (the commands use postponed annotations)."""
    annotation = param.annotation
    if isinstance(annotation, str):
        annotation = eval(annotation, owner.__globals__)  # noqa: S307 - our own source text
    kind = inspect.Parameter.KEYWORD_ONLY if keyword_only else param.kind
    return param.replace(annotation=annotation, kind=kind)


_OPTION_OF = {field: "--" + param.replace("_", "-") for param, field, _ in _DETECTION_OPTIONS}


def usage_error(message: str) -> NoReturn:
    """Print a one-line usage error to stderr and exit with code 2 (README's usage errors)."""
    from voicecnn.cli._render import error

    error(message)
    raise typer.Exit(code=2)


def cap_jobs(jobs: int) -> int:
    """``--jobs`` capped at the CPUs this process may use (each job holds a model copy and
    a core; more only cost memory and time), with a warning when it was above."""
    import os

    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    cpus = max(1, cpus or 1)
    if jobs > cpus:
        from voicecnn.cli._render import info

        info(f"warning: --jobs {jobs} is more than the {cpus} CPU(s) available; using {cpus}")
        return cpus
    return jobs
