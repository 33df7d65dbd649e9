"""The page's images: crops before and after (lossless WebP) and an overview (JPEG) of one
photo.

Crops are lossless (WebP: about 28 % smaller than PNG, every browser shows it) because the changes to judge (noise, sharpening halos, a few codes
of tone) are of the size a JPEG re-encode would add: the page must show the decoded
pixels exactly.  The overview (~20 KB JPEG) is for orientation only, never for judging.
Crops are sRGB, clipped to [0, 1] (wide-gamut colours outside sRGB are clipped in the
page, not in the photo) and shown in display orientation (EXIF Orientation applied).

One photo is decoded at a time: :func:`photo_assets` reads the input, measures and crops
it, releases it, then does the same for the output.  Files are named
``p<NNNN>-<crop>-before.webp``, ``p<NNNN>-<crop>-after.webp`` and ``p<NNNN>-overview.jpg``
(what :data:`~photoenhance.html_report.paths.ASSET_RE` lets a later run remove);
each is written atomically.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import Image

from photoenhance.html_report.crops import CROP_LABELS, choose_crops
from photoenhance.html_report.measures import codes, measure_after, measure_before
from photoenhance.html_report.records import CropView
from photoenhance.io import atomic_write, read_image
from photoenhance.io.orientation import display_view

OVERVIEW_SIZE = 320


def _to_image(x: np.ndarray) -> Image.Image:
    return Image.fromarray(codes(np.ascontiguousarray(x)), "RGB")


def _overview(view: np.ndarray) -> Image.Image:
    h, w = view.shape[:2]
    step = max(1, max(h, w) // (2 * OVERVIEW_SIZE))
    im = _to_image(view[::step, ::step])
    im.thumbnail((OVERVIEW_SIZE, OVERVIEW_SIZE), Image.Resampling.LANCZOS)
    return im


def _save(path: Path, image: Image.Image, fmt: str) -> int:
    def _write(fh: BinaryIO) -> None:
        if fmt == "WEBP":  # lossless; fastest effort: 28 % smaller than PNG, faster too
            image.save(fh, "WEBP", lossless=True, quality=0, method=0, exact=True)
        else:
            image.save(fh, "JPEG", quality=85)

    atomic_write(path, _write)
    return path.stat().st_size


@dataclass(frozen=True)
class PhotoAssets:
    """What :func:`photo_assets` measured and wrote for one photo (``size``: bytes written)."""

    width: int
    height: int
    luma_shift: float
    new_clipping: float
    crops: tuple[CropView, ...]
    overview: str
    size: int


def photo_assets(
    before_path: Path, after_path: Path, folder: Path, prefix: str, rel: str, crop: int,
    max_megapixels: float,
) -> PhotoAssets:  # fmt: skip
    """Read the input, measure and crop it, release it; then the same for the output."""
    written = 0
    before = read_image(before_path, max_megapixels=max_megapixels)
    orientation = before.metadata.orientation  # the EXIF read once while decoding
    stored_shape = before.rgb.shape
    view = display_view(before.rgb, orientation)
    height, width = view.shape[:2]
    stats = measure_before(view)
    boxes = choose_crops(stats.block_mean, stats.block_var, stats.block, width, height, crop)
    for key, x, y, w, h in boxes:
        written += _save(
            folder / f"{prefix}-{key}-before.webp", _to_image(view[y : y + h, x : x + w]), "WEBP"
        )
    written += _save(folder / f"{prefix}-overview.jpg", _overview(view), "JPEG")
    del before, view
    after = read_image(after_path, max_megapixels=max_megapixels)
    if after.rgb.shape[:2] != stored_shape[:2]:
        raise ValueError(
            f"the output is {after.width}x{after.height}, the input "
            f"{stored_shape[1]}x{stored_shape[0]}: not the same photo"
        )
    view = display_view(after.rgb, orientation)  # outputs carry the input's EXIF
    luma_after, clipped = measure_after(view, stats.below_clip)
    for key, x, y, w, h in boxes:
        written += _save(
            folder / f"{prefix}-{key}-after.webp", _to_image(view[y : y + h, x : x + w]), "WEBP"
        )
    del after, view
    n = width * height
    crops = tuple(
        CropView(key, CROP_LABELS[key], x, y, w, h,
                 f"{rel}/{prefix}-{key}-before.webp", f"{rel}/{prefix}-{key}-after.webp")
        for key, x, y, w, h in boxes
    )  # fmt: skip
    return PhotoAssets(
        width,
        height,
        (luma_after - stats.luma_sum) / n * 255.0,
        clipped / n,
        crops,
        f"{rel}/{prefix}-overview.jpg",
        written,
    )
