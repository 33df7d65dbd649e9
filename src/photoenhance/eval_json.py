"""``eval --json FILE``: where the results may be written, and writing them atomically.

The same rules as ``run --report``: only an earlier ``eval --json`` file (it begins with
:data:`EVAL_JSON_START`) or an empty file is replaced; a photo, any other file, a folder
or a path whose folder does not exist is refused before any work
(:func:`check_eval_json_path`), and checked again when writing (:func:`write_eval_json`:
temporary file, fsync, rename).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, BinaryIO

from photoenhance import __version__
from photoenhance.io import ImageWriteError, atomic_write
from photoenhance.io.atomic import begins_like

KEY = "photoenhance_eval"
EVAL_JSON_START = b'{\n  "' + KEY.encode() + b'": "'
"""How a file written by :func:`write_eval_json` begins."""


def is_eval_json(path: Path) -> bool:
    """True if ``path`` is empty or begins like a file of :func:`write_eval_json`."""
    return begins_like(path, EVAL_JSON_START)


def eval_json_problem(path: Path) -> str | None:
    """Why ``eval --json PATH`` may not be written there, or None."""
    if path.is_dir():
        return "is a folder; give a file name"
    if not path.parent.is_dir():
        return f"its folder {path.parent} does not exist"
    if os.path.lexists(path) and not is_eval_json(path):
        return "exists and is not an eval --json file of photoenhance; refusing to overwrite it"
    return None


def write_eval_json(results: dict[str, Any], path: Path) -> None:
    """Write ``results`` (finite numbers only) atomically, after checking ``path`` again.

    Raises:
        ImageWriteError: one line naming ``path``.
    """
    problem = eval_json_problem(path)
    if problem is not None:
        raise ImageWriteError(path, problem)
    data = json.dumps({KEY: __version__, **results}, indent=2, allow_nan=False).encode() + b"\n"

    def _write(fh: BinaryIO) -> None:
        fh.write(data)

    atomic_write(path, _write)
