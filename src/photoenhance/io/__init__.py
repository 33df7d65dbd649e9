"""Image I/O for photoenhance: reading, writing, metadata and input discovery.

Pixels handed out by this package are HxWx3 float32 sRGB arrays in [0, 1], in the
file's *stored* orientation (EXIF Orientation is preserved, never applied).
"""

from __future__ import annotations

from photoenhance.io.decode import read_rgb
from photoenhance.io.errors import ImageReadError, ImageWriteError

__all__ = ["ImageReadError", "ImageWriteError", "read_rgb"]
