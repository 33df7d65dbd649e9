"""The ``photoenhance`` typer app (root group, ``-V``) and :func:`main`, the console-script
entry point.  The commands register themselves on :data:`app` in their own modules;
``photoenhance/cli/__init__.py`` imports them all."""

from __future__ import annotations

import signal
from typing import Annotated

import typer

from photoenhance import __version__
from photoenhance.cli.common import (
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_TERMINATED,
    _interrupt_message,
    _interrupted_code,
    _on_sigterm,
    _was_terminated,
)
from photoenhance.cli.help import _examples, _Group
from photoenhance.cli.render import _stderr

app = typer.Typer(
    name="photoenhance",
    help="Enhance phone photos with a small INT8 network, keeping all their metadata.",
    epilog=_examples(
        "photoenhance run photos/ -o enhanced/",
        "photoenhance run -h",
        "photoenhance info",
    ),
    cls=_Group,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"photoenhance {__version__}")
        raise typer.Exit(EXIT_OK)


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "-V",
            "--version",
            callback=_version_callback,
            is_eager=True,
            help="Show the version and exit.",
        ),
    ] = False,
) -> None:
    """Enhance phone photos with a small INT8 network, keeping all their metadata."""


def main() -> None:
    """Console-script entry point (``photoenhance``): SIGTERM is handled like Ctrl-C."""
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:  # keep a handler set by a host
        signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        app(prog_name="photoenhance")
    except KeyboardInterrupt:
        _stderr().print(_interrupt_message())
        raise SystemExit(_interrupted_code()) from None
    except SystemExit as exc:  # typer turns an uncaught KeyboardInterrupt into exit 130
        if _was_terminated() and exc.code == EXIT_INTERRUPTED:
            raise SystemExit(EXIT_TERMINATED) from None
        raise
