"""Image I/O for photoenhance: reading, writing, metadata and input discovery.

Pixels handed out by this package are HxWx3 float32 sRGB arrays in [0, 1], in the
file's *stored* orientation (EXIF Orientation is carried over, never applied).
Only this package deals with file modes, bit depths, colour profiles and metadata;
see :mod:`photoenhance.io.decode` and :mod:`photoenhance.io.encode` for the
per-mode/per-format decisions.
"""

from __future__ import annotations

from photoenhance.io.atomic import atomic_write, clean_stale_temps
from photoenhance.io.decode import (
    DecodedImage,
    is_complete_image,
    probe_image,
    read_image,
    read_rgb,
)
from photoenhance.io.encode import write_image
from photoenhance.io.errors import ImageReadError, ImageWriteError
from photoenhance.io.formats import SUPPORTED_SUFFIXES, heif_available, output_suffix
from photoenhance.io.metadata import Metadata
from photoenhance.io.walk import InputFile, WalkResult, walk_inputs

__all__ = [
    "SUPPORTED_SUFFIXES",
    "DecodedImage",
    "ImageReadError",
    "ImageWriteError",
    "InputFile",
    "Metadata",
    "WalkResult",
    "atomic_write",
    "clean_stale_temps",
    "heif_available",
    "is_complete_image",
    "output_suffix",
    "probe_image",
    "read_image",
    "read_rgb",
    "walk_inputs",
    "write_image",
]
