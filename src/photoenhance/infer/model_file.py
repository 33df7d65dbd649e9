"""The model file: where the bundled one is, the checks before loading one, its hash.

:class:`ModelInfo` and :class:`ModelLoadError` are the contract's
(:mod:`photoenhance.contract.reader`), re-exported here for the inference side.
No onnxruntime and no torch here.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from photoenhance.bundled import bundled_file
from photoenhance.contract.reader import ModelInfo, ModelLoadError

__all__ = [
    "DEFAULT_MODEL_NAME",
    "ModelInfo",
    "ModelLoadError",
    "bundled_model_path",
    "check_model_path",
    "file_sha256",
    "sha256_hex",
]

DEFAULT_MODEL_NAME = "photoenhance-int8.onnx"


def bundled_model_path() -> Path:
    """The bundled INT8 model (``photoenhance/weights`` in a wheel, else the repository's
    ``weights/``: see :mod:`photoenhance.bundled`)."""
    path = bundled_file(DEFAULT_MODEL_NAME)
    if not path.is_file():
        raise ModelLoadError(f"bundled model missing: {path} (broken installation?)")
    return path


def check_model_path(path: Path) -> None:
    """A clear :class:`ModelLoadError` for a missing model, a folder or a special file."""
    if path.is_dir():
        raise ModelLoadError(f"{path}: is a directory, not an ONNX model file")
    if not path.exists():
        raise ModelLoadError(f"{path}: model file not found")
    if not path.is_file():
        raise ModelLoadError(f"{path}: is not a regular file")


def sha256_hex(path: Path) -> str:
    """SHA-256 (hex) of the file at ``path`` (raises ``OSError``)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def file_sha256(path: Path) -> str | None:
    """SHA-256 (hex) of the file at ``path`` - the model, for the report - or None if it
    cannot be read."""
    try:
        return sha256_hex(path)
    except OSError:
        return None
