"""EXIF orientation views: display_view matches Pillow's exif_transpose, stored_view undoes it."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageOps

from photoenhance.io.orientation import display_view, stored_view


@pytest.mark.parametrize("orientation", range(1, 9))
def test_display_matches_pillow_and_stored_undoes_it(orientation: int) -> None:
    a = np.random.default_rng(orientation).integers(0, 255, (5, 7, 3), dtype=np.uint8)
    im = Image.fromarray(a)
    exif = im.getexif()
    exif[274] = orientation
    im.info["exif"] = exif.tobytes()
    im = Image.open(_roundtrip(im))
    shown = np.asarray(ImageOps.exif_transpose(im))
    assert np.array_equal(display_view(a, orientation), shown)
    assert np.array_equal(stored_view(shown, orientation), a)


def _roundtrip(im: Image.Image) -> io.BytesIO:
    buf = io.BytesIO()
    im.save(buf, format="PNG", exif=im.info["exif"])
    buf.seek(0)
    return buf
