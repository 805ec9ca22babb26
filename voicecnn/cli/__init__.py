"""Command-line interface: ``voicecnn COMMAND``. Parse, call the library, render.

Heavy imports (torch, the library) happen inside the commands, so ``--help`` stays fast.
"""

from __future__ import annotations

import typer

from voicecnn.cli.average import average
from voicecnn.cli.classify import classify
from voicecnn.cli.detect import detect
from voicecnn.cli.evaluate import evaluate
from voicecnn.cli.export import export
from voicecnn.cli.listen import listen
from voicecnn.cli.models import models
from voicecnn.cli.plot import plot
from voicecnn.cli.split import split
from voicecnn.cli.stream import stream
from voicecnn.cli.train import train

app = typer.Typer(
    name="voicecnn",
    help="Voice activity detection with small convolutional networks.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.command()(detect)
app.command()(classify)
app.command()(models)
app.command()(stream)
app.command()(listen)
app.command()(plot)
app.command()(split)
app.command()(export)
app.command()(train)
app.command()(evaluate)
app.command()(average)


def main() -> None:
    """Entry point of the ``voicecnn`` console script."""
    try:
        app()
    except KeyboardInterrupt:
        raise SystemExit(130) from None
    except ModuleNotFoundError as e:
        if e.name not in {"torch", "scipy"}:
            raise
        # Detection runs without torch; training, export, classifiers and GPU runs need it.
        typer.echo(
            f"error: this needs {e.name}, which the inference-only install leaves out: "
            "pip install 'voicecnn[train]'",
            err=True,
        )
        raise SystemExit(1) from None
