"""Display orientation: the photo as a viewer shows it (EXIF Orientation applied).

Photos are processed in *stored* orientation and the Orientation tag is carried over;
what shows them upright reads the tag (:attr:`photoenhance.io.Metadata.orientation`,
from the EXIF read once while decoding; :func:`exif_orientation` for a blob): the
``--compare`` images turn their reduced copies with Pillow's transposes
(:mod:`photoenhance.infer.compare`), the ``--html`` page's crops, overview and measures
view the pixels with :func:`display_view`.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from photoenhance.io.exif import ParsedExif


def exif_orientation(exif: bytes | ParsedExif | None) -> int:
    """EXIF Orientation (1..8) of a raw EXIF blob, or of one read by
    :func:`~photoenhance.io.exif.parse_exif` (not read again unless the entry is of an
    unusual type); 1 when absent or unreadable."""
    if isinstance(exif, ParsedExif):
        if exif.orientation is not None:
            return exif.orientation
        exif = exif.data  # an odd entry (or a blob the walk could not read): Pillow decides
    if not exif:
        return 1
    try:
        tags = Image.Exif()
        tags.load(b"Exif\x00\x00" + exif)
        value = tags.get(274, 1)
    except Exception:
        return 1
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def display_view(a: np.ndarray, orientation: int) -> np.ndarray:
    """A view of stored-orientation ``a`` (HxW[xC]) as a viewer shows it (EXIF
    ``orientation`` applied, like Pillow's ``ImageOps.exif_transpose``); no copy."""
    if orientation == 2:
        return a[:, ::-1]
    if orientation == 3:
        return a[::-1, ::-1]
    if orientation == 4:
        return a[::-1]
    if orientation == 5:
        return a.swapaxes(0, 1)
    if orientation == 6:
        return np.rot90(a, -1)
    if orientation == 7:
        return a.swapaxes(0, 1)[::-1, ::-1]
    if orientation == 8:
        return np.rot90(a, 1)
    return a


# EXIF orientations that are their own inverse map to themselves; 6 and 8 (quarter turns
# in opposite directions) undo each other.
_INVERSE = {6: 8, 8: 6}


def stored_view(a: np.ndarray, orientation: int) -> np.ndarray:
    """The inverse of :func:`display_view`: a displayed (``exif_transpose``-d) ``a`` back in
    stored orientation; no copy."""
    return display_view(a, _INVERSE.get(orientation, orientation))
