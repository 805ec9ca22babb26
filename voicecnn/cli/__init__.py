"""Command-line interface: ``voicecnn COMMAND``. Parse, call the library, render.

Heavy imports (torch, the library) happen inside the commands, so ``--help`` stays fast.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
import typer.core

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


def _print_version(value: bool) -> None:
    if value:
        from voicecnn import __version__

        typer.echo(f"voicecnn {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_print_version, is_eager=True,
                     help="Print the version and exit."),
    ] = False,
) -> None:
    """Voice activity detection with small convolutional networks."""


_display_type = typer.core.TyperOption.display_type_rich


def _display_type_of_value(self: typer.core.TyperOption, ctx: Any) -> str | None:
    """A flag takes no value: its help row shows no ``<bool>`` type (Typer shows one)."""
    return None if self.is_flag else _display_type(self, ctx)


typer.core.TyperOption.display_type_rich = _display_type_of_value  # type: ignore[method-assign]

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
    # typer's bundled click: its ClickException, the base of every usage error
    click_error: type[Exception] = next(
        c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException"
    )
    try:
        code = app(standalone_mode=False)
    except click_error as err:  # a usage error: one line, exit 2 (typer draws a box of several)
        e: Any = err
        if type(e).__name__ == "NoArgsIsHelpError":  # bare `voicecnn`: the help, as asked for
            e.show()
        else:
            typer.echo(f"error: {e.format_message()} (see --help)", err=True)
        raise SystemExit(e.exit_code) from None
    except typer.Abort:
        raise SystemExit(1) from None
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
    raise SystemExit(code if isinstance(code, int) else 0)
