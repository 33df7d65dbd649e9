"""Image I/O for photoenhance: reading, writing, metadata and input discovery.

Pixels handed out by this package are HxWx3 float32 sRGB arrays in the file's
*stored* orientation (EXIF Orientation is carried over, never applied).

Colour contract (:attr:`DecodedImage.rgb` and :func:`write_image`):

- The values are *extended-range* sRGB (sRGB primaries, sRGB transfer curve extended
  sign-symmetrically and beyond 1, as in scRGB).  sRGB, untagged, grey and CMYK
  sources give values in [0, 1].  Wide-gamut matrix/TRC sources (Display P3 - the
  iPhone default - Adobe RGB, ProPhoto...) give values < 0 or > 1 where a colour is
  outside sRGB: nothing is clipped on decode.
- :func:`write_image` accepts such arrays: it converts back to the source profile
  with the same extended math, *then* clips to the target's [0, 1] and quantises.
  Writing ``rgb`` unchanged therefore reproduces the source pixels (within one
  quantisation step).
- Processing (the enhancer) feeds a network a clipped copy and adds the network's
  change to the unclipped values.
- LUT-based ICC profiles go through LittleCMS at 8-bit precision and are clipped to
  sRGB (with a warning).
- :func:`read_rgb` (training/evaluation data) returns values clipped to [0, 1].
Only this package deals with file modes, bit depths, colour profiles and metadata;
see :mod:`photoenhance.io.decode` and :mod:`photoenhance.io.encode` for the
per-mode/per-format decisions.
"""

from __future__ import annotations

from photoenhance.io.atomic import atomic_write, clean_stale_temps
from photoenhance.io.decode import (
    DecodedImage,
    OpenedImage,
    decode_bytes,
    is_complete_image,
    open_bytes,
    open_image,
    probe_image,
    read_image,
    read_rgb,
)
from photoenhance.io.encode import WrittenImage, write_image
from photoenhance.io.errors import ImageReadError, ImageWriteError
from photoenhance.io.formats import SUPPORTED_SUFFIXES, heif_available, output_suffix
from photoenhance.io.marker import MARKER_NAME, MARKER_REASON, is_output_folder, mark_output_folder
from photoenhance.io.metadata import Metadata
from photoenhance.io.walk import InputFile, WalkResult, walk_inputs

__all__ = [
    "MARKER_NAME",
    "MARKER_REASON",
    "SUPPORTED_SUFFIXES",
    "DecodedImage",
    "ImageReadError",
    "ImageWriteError",
    "InputFile",
    "Metadata",
    "OpenedImage",
    "WalkResult",
    "WrittenImage",
    "atomic_write",
    "clean_stale_temps",
    "decode_bytes",
    "heif_available",
    "is_complete_image",
    "is_output_folder",
    "mark_output_folder",
    "open_bytes",
    "open_image",
    "output_suffix",
    "probe_image",
    "read_image",
    "read_rgb",
    "walk_inputs",
    "write_image",
]
