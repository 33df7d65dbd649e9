"""Writing enhanced pixels back in the source's colour space, mode, depth and metadata.

Output decisions (source mode -> written mode), by target format:

==================  ==========================  ==============  ==================
source              PNG / TIFF                  JPEG            WebP / HEIF
==================  ==========================  ==============  ==================
RGB 8 / RGBA 8      RGB / RGBA 8-bit            RGB (alpha      RGB / RGBA
                                                dropped)
RGB(A) 16-bit       RGB(A) 16-bit               RGB 8-bit       RGB(A) 8-bit
L / 1 / LA          L / LA 8-bit (luma)         L (luma)        RGB(A), R=G=B=luma
I;16 (16-bit grey)  I;16 (luma, 16-bit)         L 8-bit         RGB, R=G=B=luma
P / PA              RGB, or RGBA if transparent RGB             RGB / RGBA
CMYK                RGB + sRGB ICC profile      RGB + sRGB ICC  RGB + sRGB ICC
==================  ==========================  ==============  ==================

Luma uses ITU-R BT.601 weights (as Pillow's ``convert("L")``), so grey inputs that
are not changed come back bit-identical.  Pixels of a source with a non-sRGB RGB
ICC profile are converted back from (extended-range, unclipped) sRGB to that
profile, *then* clipped to [0, 1] and quantised, and the original profile bytes are
embedded unchanged: an unchanged wide-gamut photo round-trips to the identity.
Write-time metadata compromises - and Python warnings the libraries raise while
encoding (captured, never printed) - are returned as data: :func:`write_image` gives a
:class:`WrittenImage` whose ``warnings`` are one-line strings (as
:attr:`DecodedImage.warnings` for reading); nothing is logged.

Memory: validation (NaN/inf), colour conversion, luma and quantisation run in bands
of rows straight into the preallocated 8/16-bit output buffer, and PNG/TIFF pixel
data are compressed band by band, so encoding needs little beyond the output
buffer and the encoder's own copy.
"""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
from PIL import Image, PngImagePlugin

from photoenhance.io import colour, libwarnings
from photoenhance.io.atomic import atomic_write
from photoenhance.io.decode import LUMA_WEIGHTS, DecodedImage
from photoenhance.io.errors import ImageWriteError
from photoenhance.io.exif import (
    EXIF_PREFIX,
    ExifFormatError,
    edit_exif,
    has_thumbnail,
    merge_exif_into_tiff,
    minimal_exif,
)
from photoenhance.io.formats import HEIC_INSTALL_HINT, heif_available, normalise_format
from photoenhance.io.heif import dropped_notes, heif_save_kwargs
from photoenhance.io.metadata import TIFF_STRUCTURAL_TAGS, XMP_PNG_KEY
from photoenhance.io.sixteen import png16, tiff_deflate
from photoenhance.io.xmp import record_processing

# Huffman-table optimisation costs a second pass: on a 12 MP photo (2 shared cores,
# libjpeg-turbo via Pillow 13, 4:4:4) ~0.19-0.38 s instead of ~0.07-0.12 s for 6-14 %
# smaller files.  Encoding dominates the batch pipeline, so it is off (baseline,
# non-progressive JPEG, like the camera's own files).
JPEG_OPTIMIZE = False
_MAX_JPEG_SEGMENT = 65533  # payload bytes of one APPn segment (excluding the marker)
_THUMB_SIZE = (160, 160)
DEFAULT_JPEG_QUALITY = 95
"""JPEG/WebP quality when the source is no JPEG (a JPEG source's own estimate is kept)."""
PREVIEW_JPEG_QUALITY = 85
"""Quality of the small JPEGs made beside a photo: its EXIF thumbnail, the ``--compare``
image and the ``--html`` page's images."""


def default_quality(source: DecodedImage) -> int:
    """JPEG/WebP quality when none is given: the source JPEG's estimated quality clamped to
    75..98, else :data:`DEFAULT_JPEG_QUALITY`."""
    return min(98, max(75, source.quality)) if source.quality else DEFAULT_JPEG_QUALITY


@dataclass(frozen=True)
class OutputPlan:
    """How an output is written.

    Attributes:
        format: canonical format name.
        mode: ``"RGB"``, ``"RGBA"``, ``"L"``, ``"LA"`` or ``"I;16"``.
        bits: 8 or 16 bits per channel.
        icc_profile: profile bytes to embed (None: untagged).
        convert_icc: profile to convert sRGB pixels into before quantising, or None.
    """

    format: str
    mode: str
    bits: int
    icc_profile: bytes | None
    convert_icc: bytes | None


def _is_rgb_space(source: DecodedImage) -> bool:
    return not source.is_grey and source.mode != "CMYK"


def plan_output(source: DecodedImage, fmt: str) -> OutputPlan:
    """Decide mode, depth and colour profile for writing ``source``'s pixels as ``fmt``."""
    alpha = source.alpha is not None and fmt != "jpeg"
    deep = source.bit_depth == 16 and fmt in ("png", "tiff")
    icc = source.metadata.icc_profile
    if source.is_grey and fmt in ("png", "tiff", "jpeg"):
        mode = "LA" if alpha else ("I;16" if deep else "L")
        bits = 16 if mode == "I;16" else 8
        grey_icc = icc if icc and _profile_space(icc) == "GRAY" else None
        return OutputPlan(fmt, mode, bits, grey_icc, None)
    mode = "RGBA" if alpha else "RGB"
    bits = 16 if deep else 8
    if source.mode == "CMYK":
        return OutputPlan(fmt, mode, bits, colour.srgb_icc_bytes(), None)
    if source.is_grey or (icc and _profile_space(icc) not in ("RGB", "?")):
        return OutputPlan(fmt, mode, bits, None, None)
    # an RGB profile - damaged ones included (pixels left as sRGB) - is embedded unchanged
    convert = icc if _is_rgb_space(source) and colour.needs_conversion(icc) else None
    return OutputPlan(fmt, mode, bits, icc, convert)


def _profile_space(icc: bytes) -> str:
    """The profile's colour space, from its header if the rest is damaged ("?": no header)."""
    try:
        return colour.parse_profile(icc).colour_space
    except ValueError:
        return colour.header_colour_space(icc) or "?"


def _clean_band(band: np.ndarray) -> np.ndarray:
    """A float32 copy of ``band`` with NaN -> 0, +inf -> 1, -inf -> 0."""
    out = np.array(band, dtype=np.float32)
    return np.nan_to_num(out, copy=False, nan=0.0, posinf=1.0, neginf=0.0)


def _quantise_into(x: np.ndarray, out: np.ndarray, bits: int) -> None:
    """``out[...] = rint(clip(x, 0, 1) * top)``; ``x`` (float32) is overwritten."""
    top = np.float32(65535 if bits == 16 else 255)
    np.clip(x, 0.0, 1.0, out=x)
    x *= top
    np.rint(x, out=x)
    out[...] = x


def _quantise_clean_into(src: np.ndarray, out: np.ndarray, bits: int) -> None:
    """``out[...] = rint(clip(x, 0, 1) * top)`` with NaN -> 0, +inf -> 1, -inf -> 0 —
    what :func:`_clean_band` then :func:`_quantise_into` give, in four passes instead of
    about ten (``fmax``/``fmin`` pick the non-NaN operand). ``src`` is not modified."""
    top = np.float32(65535 if bits == 16 else 255)
    x = np.fmax(src, np.float32(0.0), dtype=np.float32)
    np.fmin(x, np.float32(1.0), out=x)
    x *= top
    np.rint(x, out=x)
    out[...] = x


def _quantise(x: np.ndarray, bits: int) -> np.ndarray:
    """Quantised copy of float ``x`` (any shape): clip to [0, 1], scale, round half even."""
    out = np.empty(x.shape, np.uint16 if bits == 16 else np.uint8)
    _quantise_into(np.array(x, dtype=np.float32), out, bits)
    return out


def _out_shape(h: int, w: int, mode: str) -> tuple[int, ...]:
    return {"L": (h, w), "I;16": (h, w), "LA": (h, w, 2), "RGB": (h, w, 3), "RGBA": (h, w, 4)}[mode]


def _channels(rgb: np.ndarray, alpha: np.ndarray | None, plan: OutputPlan) -> np.ndarray:
    """Quantised HxWxC (or HxW) array for ``plan.mode``, computed in bands of rows.

    Per band: NaN -> 0 / inf -> 1 / -inf -> 0, conversion from extended-range sRGB to
    ``plan.convert_icc`` (matrix/TRC: exact, unclipped until here), luma for grey
    modes, then clip to [0, 1], scale and round (half to even) into the output.
    """
    h, w = rgb.shape[:2]
    dtype = np.uint16 if plan.bits == 16 else np.uint8
    px = np.empty(_out_shape(h, w, plan.mode), dtype)
    profile = colour.parse_profile(plan.convert_icc) if plan.convert_icc else None
    if profile is not None and not profile.is_matrix_rgb:
        raise ValueError("LUT-based profiles are converted before _channels")
    for rows in colour.row_bands(h, w):
        if profile is not None and plan.mode in ("RGB", "RGBA"):  # fast: cleans, converts, quantises
            colour.srgb_to_codes(rgb[rows], profile, plan.bits, px[rows, :, :3])
            if plan.mode == "RGBA":
                assert alpha is not None
                _quantise_into(np.array(alpha[rows], np.float32), px[rows, :, 3], plan.bits)
            continue
        if profile is None and plan.mode in ("RGB", "RGBA"):  # the common case: sRGB out
            _quantise_clean_into(rgb[rows], px[rows, :, :3], plan.bits)
            if plan.mode == "RGBA":
                assert alpha is not None
                _quantise_into(np.array(alpha[rows], np.float32), px[rows, :, 3], plan.bits)
            continue
        band = _clean_band(rgb[rows])
        if profile is not None:
            band = colour.matrix_from_srgb(band, profile).astype(np.float32)
        if plan.mode in ("L", "LA", "I;16"):
            y = np.tensordot(band, LUMA_WEIGHTS, axes=([2], [0])).astype(np.float32, copy=False)
            _quantise_into(y, px[rows] if plan.mode != "LA" else px[rows, :, 0], plan.bits)
            if plan.mode == "LA":
                assert alpha is not None
                _quantise_into(np.array(alpha[rows], np.float32), px[rows, :, 1], 8)
            continue
        _quantise_into(band, px[rows, :, :3], plan.bits)
        if plan.mode == "RGBA":
            assert alpha is not None
            _quantise_into(np.array(alpha[rows], np.float32), px[rows, :, 3], plan.bits)
    return px


def _pil_image(px: np.ndarray, plan: OutputPlan) -> Image.Image:
    """An 8-bit Pillow image (16-bit RGB(A) is handled by :mod:`sixteen`)."""
    if plan.mode == "I;16":
        return Image.fromarray(px.astype(np.uint16, copy=False))  # native uint16 -> "I;16"
    return Image.fromarray(px, plan.mode)


def _pil_image_banded(rgb: np.ndarray, alpha: np.ndarray | None, plan: OutputPlan) -> Image.Image:
    """The 8-bit Pillow image of :func:`_channels` (same pixels), filled band by band.

    Pillow keeps RGB at 4 bytes/px, so ``Image.fromarray`` of a full quantised array
    holds both (7 bytes/px; 336 MB at 48 MP); here only one band of the array exists.
    """
    assert plan.bits == 8 and plan.mode != "I;16"
    h, w = rgb.shape[:2]
    im = Image.new(plan.mode, (w, h))
    for rows in colour.row_bands(h, w):
        band = _channels(rgb[rows], None if alpha is None else alpha[rows], plan)
        im.paste(Image.fromarray(band, plan.mode), (0, rows.start))
    return im


def _box_reduce(rgb: np.ndarray, target: int) -> np.ndarray:
    """Clean, clipped float32 block mean of ``rgb`` whose long side is >= ~``target``."""
    h, w = rgb.shape[:2]
    f = max(1, max(h, w) // target)
    cols = np.arange(0, w, f)
    col_n = np.diff(np.append(cols, w)).astype(np.float32)
    out_rows = []
    step = max(1, colour.row_bands(h, w)[0].stop // f) * f  # whole f-row blocks per band
    for r0 in range(0, h, step):
        band = np.clip(_clean_band(rgb[r0 : min(h, r0 + step)]), 0.0, 1.0)
        starts = np.arange(0, band.shape[0], f)
        n = np.diff(np.append(starts, band.shape[0])).astype(np.float32)
        sums = np.add.reduceat(np.add.reduceat(band, starts, axis=0), cols, axis=1)
        out_rows.append(sums / (n[:, None, None] * col_n[None, :, None]))
    return np.concatenate(out_rows, axis=0)


def _thumbnail(rgb: np.ndarray) -> bytes:
    """EXIF JPEG thumbnail (sRGB, at most 160x160) of the cleaned, clipped pixels.

    The image is first box-reduced in bands (no full-size copy), then resized by Pillow.
    """
    small = _box_reduce(rgb, 4 * max(_THUMB_SIZE))
    im = Image.fromarray(_quantise(small, 8), "RGB")
    im.thumbnail(_THUMB_SIZE)
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=PREVIEW_JPEG_QUALITY)
    return buf.getvalue()


def _exif_for_output(source: DecodedImage, rgb: np.ndarray, software: str, *, thumb: bool, notes: list[str]) -> bytes:
    """Raw EXIF (no prefix) with the thumbnail regenerated or dropped; ``Software`` is the
    camera's, unchanged (the processing is recorded in XMP, :mod:`photoenhance.io.xmp`).
    A photo without EXIF gets a minimal one naming ``software``."""
    exif = source.metadata.exif_parsed()  # read once while decoding: not parsed again
    if exif is None:
        return minimal_exif(software)
    new_thumb = _thumbnail(rgb) if thumb and has_thumbnail(exif) else None
    edited = edit_exif(exif, software=None, thumbnail=new_thumb)
    notes.extend(edited.warnings)
    return edited.data


def _jpeg_kwargs(source: DecodedImage, rgb: np.ndarray, plan: OutputPlan, software: str, quality: int | None, notes: list[str]) -> dict[str, Any]:
    meta = source.metadata
    quality = default_quality(source) if quality is None else quality
    kw: dict[str, Any] = {"quality": quality, "subsampling": 0, "optimize": JPEG_OPTIMIZE, "progressive": False}
    exif = _exif_for_output(source, rgb, software, thumb=True, notes=notes)
    if len(EXIF_PREFIX) + len(exif) > _MAX_JPEG_SEGMENT:
        exif = _exif_for_output(source, rgb, software, thumb=False, notes=[])  # noted above
    if len(EXIF_PREFIX) + len(exif) <= _MAX_JPEG_SEGMENT:
        kw["exif"] = EXIF_PREFIX + exif
    else:
        notes.append("EXIF too large for a JPEG APP1 segment; not written")
    if plan.icc_profile:
        kw["icc_profile"] = plan.icc_profile
    extra = b""
    if meta.xmp and len(meta.xmp) <= _MAX_JPEG_SEGMENT - 40:
        kw["xmp"] = meta.xmp
        for payload in meta.xmp_extended:  # the main packet names them (HasExtendedXMP)
            extra += b"\xff\xe1" + (len(payload) + 2).to_bytes(2, "big") + payload
    elif meta.xmp:
        notes.append("XMP too large for one JPEG segment; not written")
        if meta.xmp_extended:
            notes.append(_extended_xmp_note(meta.xmp_extended, "its main XMP packet is not written"))
    if meta.dpi:
        kw["dpi"] = meta.dpi
    if meta.comment:
        kw["comment"] = meta.comment
    if meta.photoshop and len(meta.photoshop) + 2 <= _MAX_JPEG_SEGMENT:
        extra += b"\xff\xed" + (len(meta.photoshop) + 2).to_bytes(2, "big") + meta.photoshop
    if extra:
        kw["extra"] = extra
    return kw


def _extended_xmp_note(segments: tuple[bytes, ...], why: str) -> str:
    size = sum(len(s) for s in segments)
    return f"extended XMP ({size} bytes in {len(segments)} JPEG segments) not written: {why}"


def _warn_extended_xmp(source: DecodedImage, fmt: str, notes: list[str]) -> None:
    """Extended XMP exists only as JPEG APP1 segments: other formats cannot hold it."""
    if source.metadata.xmp_extended and fmt != "jpeg":
        why = f"{fmt.upper()} has no place for JPEG extended XMP segments (the main XMP packet is kept)"
        notes.append(_extended_xmp_note(source.metadata.xmp_extended, why))


def _png_info(source: DecodedImage) -> PngImagePlugin.PngInfo:
    meta = source.metadata
    info = PngImagePlugin.PngInfo()
    keys = set()
    for key, value in meta.png_text:
        keys.add(key)
        try:
            info.add_text(key, value.encode("latin-1").decode("latin-1"))
        except UnicodeEncodeError:
            info.add_itxt(key, value)
    if meta.comment and "Comment" not in keys:
        info.add_text("Comment", meta.comment.decode("latin-1"))
    if meta.xmp:
        info.add_itxt(XMP_PNG_KEY, meta.xmp.decode("utf-8", "replace"))
    return info


def _png_kwargs(source: DecodedImage, rgb: np.ndarray, plan: OutputPlan, software: str, notes: list[str]) -> dict[str, Any]:
    kw: dict[str, Any] = {"pnginfo": _png_info(source), "exif": _exif_for_output(source, rgb, software, thumb=True, notes=notes)}
    if plan.icc_profile:
        kw["icc_profile"] = plan.icc_profile
    if source.metadata.dpi:
        kw["dpi"] = source.metadata.dpi
    return kw


def _tiff_kwargs(source: DecodedImage, plan: OutputPlan) -> dict[str, Any]:
    """Pillow options for the 1x1 TIFF template (EXIF is added by :func:`_tiff_add_exif`)."""
    meta = source.metadata
    tags = Image.Exif()
    if meta.xmp:
        tags[700] = meta.xmp
    kw: dict[str, Any] = {"tiffinfo": tags, "compression": "raw"}  # deflate patched in later
    if plan.icc_profile:
        kw["icc_profile"] = plan.icc_profile
    if meta.dpi:
        kw["dpi"] = meta.dpi
    return kw


def _tiff_add_exif(template: bytes, source: DecodedImage, rgb: np.ndarray, software: str, notes: list[str]) -> bytes:
    """``template`` with the EXIF IFD0 tags and Exif/GPS/Interop IFDs written byte for byte."""
    exif = _exif_for_output(source, rgb, software, thumb=False, notes=notes)
    try:
        merged = merge_exif_into_tiff(template, exif, skip=TIFF_STRUCTURAL_TAGS)
    except (ExifFormatError, struct.error, ValueError, OverflowError) as exc:
        notes.append(f"EXIF could not be written as TIFF tags ({exc}); only Software kept")
        merged = merge_exif_into_tiff(template, minimal_exif(software), skip=TIFF_STRUCTURAL_TAGS)
    notes.extend(merged.warnings)
    return merged.data


def _webp_kwargs(source: DecodedImage, rgb: np.ndarray, plan: OutputPlan, software: str, quality: int | None, notes: list[str]) -> dict[str, Any]:
    quality = default_quality(source) if quality is None else quality
    kw: dict[str, Any] = {"quality": quality, "exif": _exif_for_output(source, rgb, software, thumb=True, notes=notes)}
    if plan.icc_profile:
        kw["icc_profile"] = plan.icc_profile
    if source.metadata.xmp:
        kw["xmp"] = source.metadata.xmp
    if plan.mode == "RGBA":
        kw["exact"] = True
    return kw


def _heif_kwargs(source: DecodedImage, rgb: np.ndarray, im: Image.Image, plan: OutputPlan, software: str, quality: int | None, notes: list[str]) -> dict[str, Any]:
    """HEIF options: metadata as for WebP, encoder settings from :mod:`photoenhance.io.heif`
    (x265 ultrafast, the source's chroma/grid/thumbnail sizes, its size when no quality)."""
    kw: dict[str, Any] = {"exif": _exif_for_output(source, rgb, software, thumb=True, notes=notes)}
    if plan.icc_profile:
        kw["icc_profile"] = plan.icc_profile
    if source.metadata.xmp:
        kw["xmp"] = source.metadata.xmp
    carried = sum(len(kw.get(k) or b"") for k in ("exif", "icc_profile", "xmp"))
    kw.update(heif_save_kwargs(im, source.heif, quality, carried))
    return kw


@dataclass(frozen=True)
class EncodedImage:
    """The bytes of a complete file and the metadata compromises made writing them."""

    data: bytes
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class WrittenImage:
    """What :func:`write_image` wrote.

    Attributes:
        path: the file written.
        format: canonical format name.
        warnings: one-line notes (metadata not written, library warnings...), as
            :attr:`DecodedImage.warnings` for reading.
    """

    path: Path
    format: str
    warnings: tuple[str, ...] = ()


def encode_bytes(source: DecodedImage, rgb: np.ndarray, plan: OutputPlan, *, quality: int | None, software: str) -> EncodedImage:
    """Encode extended-range sRGB float pixels ``rgb`` (HxWx3) to the bytes of a complete file.

    NaN/inf are cleaned and values clipped band by band (see :func:`_channels`);
    ``rgb`` is never modified.
    """
    notes: list[str] = []
    return EncodedImage(_encode(source, rgb, plan, quality, software, notes), tuple(notes))


def _encode(source: DecodedImage, rgb: np.ndarray, plan: OutputPlan, quality: int | None, software: str, notes: list[str]) -> bytes:
    fmt = plan.format
    px: np.ndarray | None = None  # the quantised array (16-bit PNG, TIFF, LUT profiles)
    im: Image.Image | None = None  # or Pillow's image of it, for Pillow's encoders
    if plan.convert_icc and not colour.is_matrix_profile(plan.convert_icc):
        clean = np.empty(rgb.shape, np.float32)  # rare LUT-profile path: LittleCMS, 8-bit
        for rows in colour.row_bands(rgb.shape[0], rgb.shape[1]):
            clean[rows] = _clean_band(rgb[rows])
        lut_px = colour.from_srgb(clean, plan.convert_icc)
        del clean
        px = _channels(lut_px, source.alpha, OutputPlan(plan.format, plan.mode, plan.bits, plan.icc_profile, None))
    elif fmt == "tiff" or plan.bits == 16 or plan.mode == "I;16":
        px = _channels(rgb, source.alpha, plan)
    else:  # straight into Pillow's image, band by band (no full-size array beside it)
        im = _pil_image_banded(rgb, source.alpha, plan)
    if im is None and fmt != "tiff" and not (fmt == "png" and plan.bits == 16 and plan.mode != "I;16"):
        assert px is not None
        im, px = _pil_image(px, plan), None  # Pillow copied the pixels: free ours first
    buf = io.BytesIO()
    _warn_extended_xmp(source, fmt, notes)
    source = _with_history(source, fmt, software, notes)
    if source.heif is not None:
        notes.extend(dropped_notes(source.heif, fmt))
    if fmt == "jpeg":
        assert im is not None
        im.save(buf, "JPEG", **_jpeg_kwargs(source, rgb, plan, software, quality, notes))
    elif fmt == "png":
        kw = _png_kwargs(source, rgb, plan, software, notes)
        if im is None:  # 16-bit RGB(A)
            assert px is not None
            Image.new(plan.mode, (1, 1)).save(buf, "PNG", **kw)
            return png16(buf.getvalue(), px)
        im.save(buf, "PNG", **kw)
    elif fmt == "tiff":
        assert px is not None
        Image.new(plan.mode, (1, 1)).save(buf, "TIFF", **_tiff_kwargs(source, plan))
        return tiff_deflate(_tiff_add_exif(buf.getvalue(), source, rgb, software, notes), px)
    elif fmt == "heif":  # via pillow-heif's Pillow plugin
        assert im is not None
        im.save(buf, "HEIF", **_heif_kwargs(source, rgb, im, plan, software, quality, notes))
    else:
        assert im is not None
        im.save(buf, "WEBP", **_webp_kwargs(source, rgb, plan, software, quality, notes))
    del im  # free Pillow's copy before the bytes are copied out
    return buf.getvalue()


def _with_history(source: DecodedImage, fmt: str, software: str, notes: list[str]) -> DecodedImage:
    """``source`` whose XMP records this processing (:func:`record_processing`); a packet
    that would no longer fit a JPEG segment, though the original did, stays unchanged."""
    original = source.metadata.xmp
    edit = record_processing(original, software)
    xmp = edit.data
    if edit.note:
        notes.append(edit.note)
    limit = _MAX_JPEG_SEGMENT - 40
    if fmt == "jpeg" and original and len(xmp) > limit >= len(original):
        notes.append("XMP packet too large to record the processing in; carried over unchanged")
        xmp = original
    return replace(source, metadata=replace(source.metadata, xmp=xmp))


def _validate(dst: Path, source: DecodedImage, rgb: np.ndarray, quality: int | None) -> None:
    """Check arguments; NaN/inf are cleaned later, band by band (no full copy)."""
    if not isinstance(rgb, np.ndarray) or rgb.shape != source.rgb.shape:
        shape = getattr(rgb, "shape", None)
        raise ValueError(f"{dst}: expected pixels of shape {source.rgb.shape}, got {shape}")
    if not np.issubdtype(rgb.dtype, np.number) or np.issubdtype(rgb.dtype, np.complexfloating):
        raise ValueError(f"{dst}: expected real-valued pixels, got dtype {rgb.dtype}")
    if quality is not None and not 1 <= quality <= 100:
        raise ValueError(f"{dst}: quality must be in 1..100, got {quality}")


def encode_image(
    name: Path,
    source: DecodedImage,
    rgb: np.ndarray,
    *,
    format: str | None = None,
    quality: int | None = None,
    software: str = "photoenhance",
) -> EncodedImage:
    """The bytes :func:`write_image` writes to ``name``, in memory (nothing is written):
    the same checks, encoding, warnings and errors (naming ``name``, e.g. ``-`` for stdout).

    Raises:
        ValueError: as :func:`write_image`.
        ImageWriteError: as :func:`write_image` (encoding failures).
    """
    name = Path(name)
    fmt = normalise_format(format or source.format)
    _validate(name, source, rgb, quality)
    if fmt == "heif" and not heif_available():
        raise ImageWriteError(name, HEIC_INSTALL_HINT)
    plan = plan_output(source, fmt)
    try:
        with libwarnings.capture() as caught:
            encoded = encode_bytes(source, rgb, plan, quality=quality, software=software)
        return EncodedImage(encoded.data, (*encoded.warnings, *caught))
    except MemoryError:
        raise ImageWriteError(name, "out of memory while encoding") from None
    except Exception as exc:  # encoder failure: report it against the output file
        raise ImageWriteError(name, f"cannot encode {fmt.upper()}: {type(exc).__name__}: {exc}") from exc


def write_image(
    dst: Path,
    source: DecodedImage,
    rgb: np.ndarray,
    *,
    format: str | None = None,
    quality: int | None = None,
    software: str = "photoenhance",
) -> WrittenImage:
    """Write enhanced pixels ``rgb`` for ``source`` to ``dst``, atomically.

    Args:
        dst: output path (its folder must exist).
        source: the :class:`DecodedImage` the pixels came from.
        rgb: HxWx3 float32 *extended-range* sRGB (see :attr:`DecodedImage.rgb`), same
            shape as ``source.rgb``, stored orientation; not modified.  It is converted
            to the source's colour profile with the same extended math, then clipped to
            [0, 1] and quantised (NaN -> 0, +inf -> 1, -inf -> 0).  Writing
            ``source.rgb`` unchanged reproduces the source pixels.
        format: ``"jpeg"``, ``"png"``, ``"tiff"``, ``"webp"``, ``"heif"`` (or suffix-like
            aliases); None keeps the source format.
        quality: JPEG/WebP/HEIF quality 1-100; None = for JPEG/WebP the source JPEG's
            estimated quality clamped to 75..98, else :data:`DEFAULT_JPEG_QUALITY`; for
            HEIF the quality that gives about the HEIF source's file size, else 50
            (libheif's default).  Ignored for PNG/TIFF (lossless).
        software: the program recorded in the XMP history (``stEvt:softwareAgent``; EXIF
            ``Software`` is kept as the camera wrote it, and only set for a photo without
            EXIF).

    Returns:
        The path, format and warnings (metadata that could not be written, Python
        warnings the libraries raised while encoding) as data; nothing is logged.

    Raises:
        ValueError: wrong pixel shape, bad quality, unknown format (programming errors).
        ImageWriteError: one line naming ``dst`` for any I/O or encoding failure; no
            partial file or temporary is left behind.
    """
    dst = Path(dst)
    encoded = encode_image(dst, source, rgb, format=format, quality=quality, software=software)
    data = encoded.data

    def _write(fh: BinaryIO) -> None:
        fh.write(data)

    atomic_write(dst, _write)
    return WrittenImage(dst, normalise_format(format or source.format), encoded.warnings)
