"""HEIF/HEIC specifics: what a source holds besides its primary image, and encoder
settings that keep an enhanced HEIC near the original's size at a usable speed.

Reading (:func:`heif_source`): pillow-heif reports, for the primary image, the chroma
subsampling, the grid layout (Apple stores 512 px tiles), thumbnails (box sizes), depth
images and auxiliary images by type (Apple's HDR gain map is the auxiliary type
``urn:com:apple:photo:2020:aux:hdrgainmap``).  pillow-heif writes thumbnails and grids
but only *reads* depth and auxiliary images (its README: "Reading of Depth Images",
"(beta) Reading of Auxiliary Images"; ``HeifFile.save`` has no option for them), so:

- thumbnails are regenerated from the enhanced pixels at the source's box sizes (like
  the EXIF thumbnail), HEIF outputs only;
- depth and auxiliary images (gain map, mattes...) are dropped with a warning
  (:func:`dropped_notes`).  A gain map computed for the original would not match the
  enhanced pixels anyway.  ISO 21496-1 gain maps (``tmap`` derived items) are not
  reported by pillow-heif and cannot be detected here.

Writing (:func:`heif_save_kwargs`): x265 ``preset=ultrafast`` through pillow-heif's
``enc_params`` ("dictionary with key:value to pass to x265 encoder", ``HeifFile.save``);
libheif's default preset is ``slow``.  Measured on 12 MP photos on a 2-core Xeon
(``bench/pipeline.py``): ultrafast costs about an eighth of the default's CPU time and,
at equal bits per pixel, PSNR within 0.2 dB of it.  The chroma subsampling and grid
tile size of the source are kept.  Without an explicit quality the output is sized
like the original (:func:`match_quality`): the x265 quality is searched on a sample
of the output pixels so that the primary image takes about as many bytes as the
source's did.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image

ENC_PARAMS: dict[str, str] = {"preset": "ultrafast"}
"""x265 options passed through pillow-heif's ``enc_params``."""
DEFAULT_QUALITY = 50
"""libheif's own default quality: used when there is no HEIF source to size against."""
_WINDOW = 256  # side of the sample windows (px)
_GRID = 4  # _GRID x _GRID windows: a 1 MP sample of a large photo
_MAX_PROBES = 7
_TOLERANCE = 0.05  # stop searching once the predicted size is within 5 %


@dataclass(frozen=True)
class HeifSource:
    """What a HEIF source holds besides the primary image's pixels and metadata.

    Attributes:
        file_size: bytes of the source file.
        chroma: 420, 422 or 444 (None: unknown, e.g. monochrome).
        tile_size: grid tile width of the primary image (0: a single coded image).
        thumbnails: box sizes of the primary image's thumbnails.
        depth_images: how many depth images the primary image has.
        aux_types: auxiliary image types (URNs), one entry per auxiliary image.
    """

    file_size: int
    chroma: int | None = None
    tile_size: int = 0
    thumbnails: tuple[int, ...] = ()
    depth_images: int = 0
    aux_types: tuple[str, ...] = ()


def heif_source(im: Image.Image, file_size: int) -> HeifSource:
    """Describe a HEIF image opened by pillow-heif's Pillow plugin (``im.info``)."""
    info = im.info
    chroma = info.get("chroma")
    tiling = info.get("tiling") or {}
    aux = info.get("aux") or {}
    aux_types = tuple(str(t) for t, ids in aux.items() for _ in (ids or [None]))
    return HeifSource(
        file_size=int(file_size),
        chroma=int(chroma) if chroma in (420, 422, 444) else None,
        tile_size=int(tiling.get("tile_width") or 0),
        thumbnails=tuple(int(t) for t in info.get("thumbnails") or () if t),
        depth_images=len(info.get("depth_images") or ()),
        aux_types=aux_types,
    )


def dropped_notes(src: HeifSource, out_format: str) -> list[str]:
    """One warning per kind of auxiliary data that ``out_format`` will not carry."""
    notes = []
    if src.depth_images:
        notes.append(
            f"HEIC depth image ({src.depth_images}) not carried over: pillow-heif reads "
            "depth images but cannot write them"
        )
    if src.aux_types:
        kinds = ", ".join(sorted(set(src.aux_types)))
        notes.append(
            f"HEIC auxiliary image ({len(src.aux_types)}: {kinds}) not carried over: "
            "pillow-heif reads auxiliary images (HDR gain map, mattes) but cannot write them"
        )
    if src.thumbnails and out_format != "heif":
        notes.append(
            f"HEIC thumbnail ({len(src.thumbnails)}) not carried over: "
            f"{out_format.upper()} has no place for it"
        )
    return notes


def _sample(im: Image.Image) -> tuple[Image.Image, float]:
    """A mosaic of windows spread over ``im`` and the factor from its area to ``im``'s."""
    w, h = im.size
    side = _WINDOW * _GRID
    if h * w <= 2 * side * side:
        return im, 1.0
    wx, wy = min(_WINDOW, w), min(_WINDOW, h)
    xs = np.linspace(0, w - wx, _GRID).astype(int)
    ys = np.linspace(0, h - wy, _GRID).astype(int)
    mosaic = Image.new(im.mode, (wx * _GRID, wy * _GRID))
    for i, y in enumerate(ys):
        for j, x in enumerate(xs):
            mosaic.paste(im.crop((int(x), int(y), int(x) + wx, int(y) + wy)), (j * wx, i * wy))
    return mosaic, (h * w) / (mosaic.size[0] * mosaic.size[1])


def _encoded_size(im: Image.Image, quality: int, chroma: int) -> int:
    buf = io.BytesIO()
    im.save(buf, "HEIF", quality=quality, chroma=chroma, enc_params=dict(ENC_PARAMS), tile_size=0)
    return len(buf.getvalue())


def match_quality(im: Image.Image, target_bytes: float, chroma: int) -> int:
    """The x265 quality (1-100) at which ``im`` would take about ``target_bytes``.

    Sizes are predicted from a sample (16 windows of 256 px, ~1 MP, of a large photo).
    log(size) grows about linearly with quality up to ~90 and is flat above, so the
    search extrapolates from quality 50 until the target is bracketed, then runs the
    Illinois variant of regula falsi on log(size), each step kept inside the middle half
    of the bracket: at most seven sample encodes (~0.2-0.7 s CPU each at ultrafast),
    fewer once a prediction is within 5 %.  The probed quality whose predicted size is
    nearest the target wins.
    """
    if target_bytes <= 0:
        return DEFAULT_QUALITY
    sample, scale = _sample(im)
    log_target = math.log(target_bytes)
    tol = math.log1p(_TOLERANCE)
    probes: dict[int, float] = {}  # quality -> log(predicted size) - log(target)

    def probe(q: int) -> float:
        probes[q] = math.log(max(1, _encoded_size(sample, q, chroma)) * scale) - log_target
        return probes[q]

    q, f = DEFAULT_QUALITY, probe(DEFAULT_QUALITY)
    slope = 0.055  # d log(size) / d quality of photos at ultrafast, 40 < q < 80
    lo = hi = None  # (quality, f): f < 0 below the target, > 0 above
    while abs(f) > tol and len(probes) < _MAX_PROBES:
        lo, hi = (q, f) if f < 0 else lo, (q, f) if f > 0 else hi
        if lo is not None and hi is not None:
            break
        nq = min(100, max(1, round(q - f / slope)))
        if nq == q or nq in probes:  # at the end of the range
            return q
        nf = probe(nq)
        slope = max(0.01, (nf - f) / (nq - q))  # sizes grow with quality
        q, f = nq, nf
    side = 0
    while lo is not None and hi is not None and abs(f) > tol and len(probes) < _MAX_PROBES:
        if hi[0] - lo[0] <= 1:
            break
        nq = round(lo[0] - lo[1] * (hi[0] - lo[0]) / (hi[1] - lo[1]))
        margin = max(1, (hi[0] - lo[0]) // 4)  # the bracket shrinks by a quarter at least
        q = min(hi[0] - margin, max(lo[0] + margin, nq))
        f = probe(q)
        if f < 0:
            hi = (hi[0], hi[1] / 2) if side < 0 else hi  # Illinois: kept twice, halve it
            lo, side = (q, f), -1
        else:
            lo = (lo[0], lo[1] / 2) if side > 0 else lo
            hi, side = (q, f), 1
    return min(probes, key=lambda k: abs(probes[k]))


def heif_save_kwargs(
    im: Image.Image, src: HeifSource | None, quality: int | None, carried_bytes: int
) -> dict[str, Any]:
    """pillow-heif ``save`` options (besides metadata) for the 8-bit Pillow image ``im``.

    ``carried_bytes``: metadata the output carries (EXIF, XMP, ICC), subtracted from the
    source's file size to give the primary image's byte budget.
    """
    chroma = src.chroma if src is not None and src.chroma else 420
    if quality is None:
        quality = DEFAULT_QUALITY
        if src is not None:
            quality = match_quality(im, src.file_size - carried_bytes, chroma)
    kw: dict[str, Any] = {"quality": quality, "chroma": chroma, "enc_params": dict(ENC_PARAMS)}
    if src is not None:
        kw["tile_size"] = src.tile_size
        if src.thumbnails:
            kw["thumbnails"] = list(src.thumbnails)
    return kw
