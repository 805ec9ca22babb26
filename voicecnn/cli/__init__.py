"""Command-line interface: ``voicecnn COMMAND``. Parse, call the library, render.

Each command lives in its own module (``voicecnn/cli/<command>.py``), imported only when that
command runs (or when ``--help`` lists them all): ``voicecnn detect`` pays for detection's
imports, not for training's, export's or the microphone's. Heavy imports (torch) happen inside
the commands that need them.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Iterator, MutableMapping
from typing import Annotated, Any

import typer
import typer.core
import typer.main

COMMANDS = ("detect", "classify", "models", "stream", "listen", "plot", "split", "export",
            "train", "evaluate", "average")
"""Every command, in the order ``--help`` lists them; ``voicecnn.cli.<name>.<name>`` defines
each one."""


def _help(doc: str | None) -> str:
    """A command's docstring as help: each paragraph's lines joined (the terminal wraps them),
    except in paragraphs of list items or indented lines, whose breaks are the layout."""
    paragraphs = inspect.cleandoc(doc or "").split("\n\n")
    return "\n\n".join(
        p if any(ln[:1] in " -*" for ln in p.splitlines()) else " ".join(p.split("\n"))
        for p in paragraphs
    )


def _load_command(name: str) -> Any:
    """The click command of ``voicecnn NAME``, built from its module's function."""
    func = getattr(importlib.import_module(f"voicecnn.cli.{name}"), name)
    one = typer.Typer(add_completion=False)
    one.command(name, help=_help(func.__doc__))(func)
    return typer.main.get_command(one)


class _LazyCommands(MutableMapping[str, Any]):
    """The group's commands by name: each one's module is imported at its first lookup."""

    def __init__(self, loaded: MutableMapping[str, Any]) -> None:
        self._loaded = dict(loaded)

    def __getitem__(self, name: str) -> Any:
        if name not in self._loaded:
            if name not in COMMANDS:
                raise KeyError(name)
            self._loaded[name] = _load_command(name)
        return self._loaded[name]

    def __setitem__(self, name: str, command: Any) -> None:
        self._loaded[name] = command

    def __delitem__(self, name: str) -> None:
        del self._loaded[name]

    def __iter__(self) -> Iterator[str]:
        yield from COMMANDS
        yield from (n for n in self._loaded if n not in COMMANDS)

    def __len__(self) -> int:
        return len(set(COMMANDS) | set(self._loaded))


class _LazyGroup(typer.core.TyperGroup):
    """A typer group whose commands are loaded by name when asked for (see module docstring)."""

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        self.commands = _LazyCommands(self.commands)

    def list_commands(self, ctx: Any) -> list[str]:
        """Every command's name, without loading any."""
        return list(self.commands)


app = typer.Typer(
    name="voicecnn",
    help="Voice activity detection with small convolutional networks.",
    cls=_LazyGroup,
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


# typer 0.29 shows a ``<bool>`` type beside flags; earlier versions show none and lack the hook.
_display_type = getattr(typer.core.TyperOption, "display_type_rich", None)


def _display_type_of_value(self: typer.core.TyperOption, ctx: Any) -> str | None:
    """A flag takes no value: its help row shows no ``<bool>`` type."""
    return None if self.is_flag or _display_type is None else _display_type(self, ctx)


if _display_type is not None:
    typer.core.TyperOption.display_type_rich = _display_type_of_value  # type: ignore[attr-defined]


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
