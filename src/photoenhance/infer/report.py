"""The JSON report of a batch (``run --report``) and the runtime versions ``info`` shows.

:func:`write_report` writes :meth:`BatchResult.to_dict` atomically; :func:`is_report`
recognises a file it wrote (the only kind of existing file a report may replace).
The report records every setting of the run (``settings``: format, quality, strength,
tile, threads, overwrite, recursive, max megapixels, the model's path and SHA-256, the
onnxruntime provider; see :meth:`RunConfig.settings`).
No torch here.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import BinaryIO

import numpy as np
import onnxruntime as ort

from photoenhance import __version__
from photoenhance.infer.types import BatchResult, describe_error
from photoenhance.io import ImageWriteError, atomic_write
from photoenhance.io.atomic import begins_like

#: how a report written by :func:`write_report` begins (the file it may replace)
_REPORT_START = b'{\n  "photoenhance": '


def is_report(path: Path) -> bool:
    """True if ``path`` is empty or begins like a report written by :func:`write_report`."""
    return begins_like(path, _REPORT_START)


def write_report(result: BatchResult, path: Path) -> None:
    """Write ``result.to_dict()`` as JSON to ``path`` atomically (temporary file, fsync,
    rename; creating its folder).  Only an earlier report (or an empty file) is replaced:
    :func:`~photoenhance.infer.naming.plan_batch` refuses other paths before any work
    (``RunConfig.report``), and this checks again.

    Raises:
        ImageWriteError: the report cannot be written (one-line message).
    """
    data = json.dumps(result.to_dict(), indent=2).encode("utf-8") + b"\n"
    if os.path.lexists(path) and not path.is_dir() and not is_report(path):
        raise ImageWriteError(path, "exists and is not a photoenhance report; not overwritten")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ImageWriteError(path, f"cannot create folder: {describe_error(exc)}") from exc

    def _write(fh: BinaryIO) -> None:
        fh.write(data)

    atomic_write(path, _write)


def runtime_versions() -> dict[str, str]:
    """Versions relevant to inference (for ``photoenhance info``)."""
    return {"photoenhance": __version__, "onnxruntime": ort.__version__, "numpy": np.__version__}
