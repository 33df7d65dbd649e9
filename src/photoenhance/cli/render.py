"""Shared rendering: the stdout/stderr consoles, one-line error/warning/note messages,
``_fail`` (``error: ...`` and exit).  Every user-provided string printed goes through
:func:`_line`."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import NoReturn

import typer
from rich.console import Console
from rich.text import Text

from photoenhance.cli.common import EXIT_USAGE
from photoenhance.display import printable


def _stderr() -> Console:
    """Console for messages/progress (created per call so redirected stderr is honoured)."""
    return Console(stderr=True, soft_wrap=True, highlight=False)


class _Stdout(Console):
    """stdout console: a reader that went away (``photoenhance run --dry-run | head``) ends
    the output, not the command, and is not an error: like ``ls | head`` (rich's default
    exits 1).  The rest goes to ``/dev/null``, so the interpreter's final flush is quiet."""

    def on_broken_pipe(self) -> None:
        self.quiet = True
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


def _stdout() -> Console:
    return _Stdout(soft_wrap=True, highlight=False)


def _line(text: str | Path) -> str:
    """``text`` as one printable line: control characters (a newline in a file name...)
    escaped, runs of spaces collapsed.  Every user-provided string printed goes through
    this and is printed as a rich ``Text`` (never parsed as markup)."""
    return " ".join(printable(text).split())


def _fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    """Print ``error: message`` (one line, the style of every error line) on stderr and
    exit with ``code``."""
    _stderr().print(Text.assemble(("error: ", "bold red"), _line(message)))
    raise typer.Exit(code)


def _error_line(console: Console, path: Path | str, reason: str) -> None:
    console.print(Text.assemble(("error: ", "bold red"), f"{_line(path)}: ", _line(reason)))


def _warning_line(console: Console, path: Path | str, text: str) -> None:
    console.print(Text.assemble(("warning: ", "yellow"), f"{_line(path)}: ", _line(text)))


def _note_line(console: Console, path: Path | str, text: str) -> None:
    console.print(Text.assemble(("note: ", "cyan"), f"{_line(path)}: ", _line(text)))
