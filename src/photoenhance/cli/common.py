"""What every command shares besides output: exit codes and the SIGTERM state.

SIGTERM is handled as Ctrl-C is (:func:`photoenhance.cli.root.main` installs
:func:`_on_sigterm`); a command that catches the resulting ``KeyboardInterrupt`` asks
:func:`_interrupt_message` and :func:`_interrupted_code` which of the two it was.
"""

from __future__ import annotations

import signal

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 128 + signal.SIGTERM  # 143


_terminated = False  # set by the SIGTERM handler: the exit code is then 143, not 130


def _on_sigterm(signum: int, frame: object) -> None:
    """SIGTERM takes the Ctrl-C path: a KeyboardInterrupt in the main thread, so a batch
    stops as it does on Ctrl-C (photos being written finish atomically, temporaries are
    removed, nothing partial is left under a final name).  Further SIGTERMs are ignored
    while that cleanup runs (SIGKILL still ends the process)."""
    global _terminated
    _terminated = True
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise KeyboardInterrupt


def _interrupted_code() -> int:
    return EXIT_TERMINATED if _terminated else EXIT_INTERRUPTED


def _was_terminated() -> bool:
    return _terminated


def _interrupt_message() -> str:
    return "Terminated." if _terminated else "Interrupted."
