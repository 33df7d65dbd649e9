"""Where the bundled model files (INT8/FP32 ONNX, checkpoint, model card) are.

They live in the repository's top-level ``weights/`` folder; a wheel carries them as
``photoenhance/weights`` (``setup.py`` maps the folder there).  :func:`weights_dir`
prefers the installed copy and otherwise finds the repository's folder next to the
source tree (editable installs, ``PYTHONPATH=src``).  No dependencies.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

WEIGHTS = "weights"


def weights_dir() -> Path:
    """The folder holding the bundled model files (it may be missing in a broken install)."""
    installed = Path(str(resources.files("photoenhance") / WEIGHTS))
    if installed.is_dir():
        return installed
    source_tree = Path(__file__).resolve().parents[2] / WEIGHTS  # <repo>/src/photoenhance/..
    if source_tree.is_dir():
        return source_tree
    return installed


def bundled_file(name: str) -> Path:
    """``name`` inside :func:`weights_dir` (not checked: callers report a missing file)."""
    return weights_dir() / name
