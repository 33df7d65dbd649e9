"""Exceptions raised by :mod:`photoenhance.io`.

Both exceptions render as a single line ``"<path>: <reason>"`` (control characters of
the path escaped, see :func:`photoenhance.display.printable`) so that the CLI can print
them verbatim next to the file they concern.
"""

from __future__ import annotations

import os
from pathlib import Path

from photoenhance.display import one_line, printable


class ImageReadError(ValueError):
    """A file could not be read as a photo. ``str()`` is one line: ``"<path>: <reason>"``."""

    def __init__(self, path: str | os.PathLike[str], reason: str) -> None:
        self.path = Path(path)
        self.reason = one_line(reason)
        super().__init__(f"{printable(self.path)}: {self.reason}")


class ImageWriteError(OSError):
    """A file could not be written. ``str()`` is one line: ``"<path>: <reason>"``."""

    def __init__(self, path: str | os.PathLike[str], reason: str) -> None:
        self.path = Path(path)
        self.reason = one_line(reason)
        super().__init__(f"{printable(self.path)}: {self.reason}")

    def __str__(self) -> str:
        return f"{printable(self.path)}: {self.reason}"
