"""Decoding photos into float32 sRGB arrays (provisional minimal version)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PIL import Image

from photoenhance.io.errors import ImageReadError


def read_rgb(path: str | os.PathLike[str]) -> np.ndarray:
    """Read ``path`` as an HxWx3 float32 array in [0, 1] (stored orientation).

    Raises :class:`ImageReadError` (one line, naming the file) on any failure.
    """
    p = Path(path)
    try:
        with Image.open(p) as im:
            im.load()
            rgb = im.convert("RGB")
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise ImageReadError(p, f"cannot read image ({exc})") from exc
    return np.asarray(rgb, dtype=np.float32) / 255.0
