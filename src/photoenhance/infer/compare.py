"""Before/after compare images (``run --compare``): a reduced copy of the decoded photo
and of the enhanced one side by side, upright (EXIF orientation applied), under *Before* / *After*
labels, as a JPEG written atomically.  No torch here.
"""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from photoenhance.io import atomic_write
from photoenhance.io.encode import PREVIEW_JPEG_QUALITY

_ORIENT_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


def small_copy(rgb: np.ndarray, size: int) -> Image.Image:
    """A reduced 8-bit copy of ``rgb`` whose long side is at most ``size``."""
    h, w = rgb.shape[:2]
    step = max(1, max(h, w) // (2 * size))
    sub = rgb[::step, ::step]
    im = Image.fromarray(np.round(np.clip(sub, 0.0, 1.0) * 255.0).astype(np.uint8), "RGB")
    im.thumbnail((size, size), Image.Resampling.LANCZOS)
    return im


def label_height(height: int) -> int:
    """Height of the white band above the photos that holds the labels."""
    return _font_size(height) + 8


def _font_size(height: int) -> int:
    return max(12, min(40, height // 24))


def write_compare(path: Path, before: Image.Image, after: Image.Image, orientation: int) -> None:
    """Write ``before`` and ``after`` side by side, turned upright, under a white band
    labelled *Before* and *After* (Pillow's built-in font: nothing to install), to
    ``path`` (atomically, creating its folder).  The labels never cover the photos."""
    if orientation in _ORIENT_TRANSPOSE:
        before = before.transpose(_ORIENT_TRANSPOSE[orientation])
        after = after.transpose(_ORIENT_TRANSPOSE[orientation])
    gap = 8
    height = max(before.height, after.height)
    band = label_height(height)
    canvas = Image.new("RGB", (before.width + gap + after.width, band + height), (255, 255, 255))
    canvas.paste(before, (0, band))
    canvas.paste(after, (before.width + gap, band))
    draw = ImageDraw.Draw(canvas)
    font = ImageFont.load_default(_font_size(height))
    draw.text((4, 4), "Before", fill=(0, 0, 0), font=font)
    draw.text((before.width + gap + 4, 4), "After", fill=(0, 0, 0), font=font)
    path.parent.mkdir(parents=True, exist_ok=True)

    def _save(fh: BinaryIO) -> None:
        canvas.save(fh, "JPEG", quality=PREVIEW_JPEG_QUALITY)

    atomic_write(path, _save)
