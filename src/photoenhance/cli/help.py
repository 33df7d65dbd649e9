"""How help screens look: no Python type names, an "Examples" block per command.

Every command is declared ``@app.command(..., cls=_Command, epilog=_examples(...))``
(a test checks every help screen).
"""

from __future__ import annotations

import typer
from rich.markup import escape
from typer.core import TyperCommand, TyperGroup

from photoenhance.config import OUTPUT_FORMATS


class _PlainHelp:
    """Help without Python type names (mixed into the command classes below).

    typer >= 0.2x prints a type column (``<bool>``, ``<list[Path]>``, ``<str>``) for every
    parameter without a metavar, and for positional arguments even with one.  Every option
    of this CLI has a metavar that says what to give (``DIR``, ``N``, the choices); this
    hides the type of flags (``--help`` too: they take no value) and of arguments (their
    metavar names them).  Older typer shows metavars only; nothing changes there.
    """

    def get_params(self, ctx: typer.Context) -> list:
        params = super().get_params(ctx)  # type: ignore[misc]
        for param in params:
            if getattr(param, "is_flag", False) and param.metavar is None:
                param.metavar = ""
            elif param.param_type_name == "argument" and hasattr(param, "display_type_rich"):
                param.display_type_rich = _no_type
        return params


def _no_type(ctx: object = None) -> None:
    return None


class _Command(_PlainHelp, TyperCommand):
    """Every command: ``@app.command(..., cls=_Command)`` (a test checks every help)."""


class _Group(_PlainHelp, TyperGroup):
    pass


def _examples(*lines: str) -> str:
    """An "Examples" block for a command's help (the epilog), one command line per row."""
    return "[bold]Examples[/bold]\n" + "\n".join(f"  {escape(line)}" for line in lines)


#: metavar of ``--format`` (run, watch)
_FORMAT_CHOICES = "[" + "|".join(OUTPUT_FORMATS) + "]"
