"""``voicecnn average``: the weighted average of models of one architecture, as a new model."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from voicecnn.cli._render import error, info


def average(
    models: Annotated[
        list[str],
        typer.Argument(
            metavar="MODEL...",
            help="Two or more bundled model names or .safetensors paths of one architecture.",
            show_default=False,
        ),
    ],
    output: Annotated[
        Path, typer.Option("--output", "-o", dir_okay=False, help="Output .safetensors file.")
    ],
    weight: Annotated[
        list[float] | None,
        typer.Option(
            "--weight",
            "-w",
            help="One weight per MODEL, in order (normalised to sum 1).",
            show_default="equal",
        ),
    ] = None,
) -> None:
    """Average MODELs' weights into one model: a fine-tune with the weights it started from
    (keeps more of what they did elsewhere), or one run's checkpoints."""
    import voicecnn as vc

    try:
        card = vc.average_weights(models, output, weight)
    except vc.VoiceCNNError as e:
        error(str(e))
        raise typer.Exit(code=1) from None
    parts = ", ".join(f"{a['weight']:g} x {a['source']}" for a in card["averaged"])
    info(f"wrote {output}: {parts}; use it with: voicecnn detect --model {output} FILE")
