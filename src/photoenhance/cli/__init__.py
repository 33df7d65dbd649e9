"""The ``photoenhance`` command line (typer).

Commands are thin: parse options, build a frozen config, call the library, render the
result with rich.  One module per command, each registering one ``@app.command``
function on the single typer app of :mod:`photoenhance.cli.root`; shared pieces live in
:mod:`~photoenhance.cli.common` (exit codes, SIGTERM state), :mod:`~photoenhance.cli.render`
(consoles, one-line messages, ``_fail``), :mod:`~photoenhance.cli.help` (help screens) and
:mod:`~photoenhance.cli.runconfig` (options of ``run``/``watch`` -> ``RunConfig``).  A new
command is a new module imported below (the import order is the order of ``--help``).

Exit codes (all commands):
    0  everything done (skipped photos count as done)
    1  some inputs failed (each named on stderr, one line per file), or the report
       could not be written
    2  usage error: bad option value, bad config file, no photos found, model that
       cannot be loaded (one-line message on stderr)
    130 interrupted (Ctrl-C)
    143 terminated (SIGTERM: handled as Ctrl-C is, so no partial file is left)
"""

from __future__ import annotations

from photoenhance.cli.common import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_TERMINATED,
    EXIT_USAGE,
)
from photoenhance.cli.root import app, main

# Each import registers its command on ``app``; this order is the order of ``--help``.
# isort: off
from photoenhance.cli import run as _run  # noqa: F401
from photoenhance.cli import watch as _watch  # noqa: F401
from photoenhance.cli import info as _info  # noqa: F401
from photoenhance.cli import train as _train  # noqa: F401
from photoenhance.cli import eval as _eval  # noqa: F401
# isort: on

__all__ = [
    "EXIT_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_TERMINATED",
    "EXIT_USAGE",
    "app",
    "main",
]
