"""Options shared by the commands that detect speech (detect, stream, listen)."""

from __future__ import annotations

from typing import Annotated, Any, NoReturn

import typer

ModelOpt = Annotated[
    str | None,
    typer.Option("--model", "-m", help="Bundled model name or .safetensors path.",
                 show_default="bundled default"),
]
ThresholdOpt = Annotated[
    float, typer.Option("--threshold", "-t", min=0.0, max=1.0, help="Speech onset probability.")
]
NegThresholdOpt = Annotated[
    float | None,
    typer.Option(min=0.0, max=1.0, help="Speech offset probability.",
                 show_default="threshold - 0.15"),
]
MinSpeechOpt = Annotated[float, typer.Option(min=0.0, help="Drop speech shorter than this (s).")]
MinSilenceOpt = Annotated[float, typer.Option(min=0.0, help="Fill pauses shorter than this (s).")]
PadOpt = Annotated[float, typer.Option(min=0.0, help="Pad each segment by this (s).")]
MaxSegmentOpt = Annotated[
    float | None,
    typer.Option(min=0.01, help="Split segments longer than this (s) at their quietest frame.",
                 show_default="no limit"),
]


def detect_cfg(
    threshold: float,
    neg_threshold: float | None,
    min_speech: float,
    min_silence: float,
    pad: float,
    max_segment: float | None,
) -> Any:
    """Build a ``DetectCfg`` from the shared options (imported lazily); a value it rejects is
    a usage error: one line and exit code 2, before any model or audio is loaded."""
    from voicecnn.detection import DetectCfg
    from voicecnn.errors import ConfigError

    try:
        return DetectCfg(
            threshold=threshold, neg_threshold=neg_threshold, min_speech_s=min_speech,
            min_silence_s=min_silence, pad_s=pad, max_segment_s=max_segment,
        )
    except ConfigError as e:  # name the option, not the field
        field, _, rest = str(e).partition(" ")
        usage_error(f"{_OPTION_OF.get(field, field)} {rest}")


_OPTION_OF = {
    "threshold": "--threshold", "neg_threshold": "--neg-threshold",
    "min_speech_s": "--min-speech", "min_silence_s": "--min-silence", "pad_s": "--pad",
    "max_segment_s": "--max-segment",
}


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
