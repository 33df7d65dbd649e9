"""The :class:`Metadata` carried from an input photo to its enhanced output."""

from __future__ import annotations

import mmap
from dataclasses import dataclass, field

from PIL import Image

from photoenhance.io import exif as exif_module
from photoenhance.io.exif import ParsedExif, exif_from_tiff, strip_prefix
from photoenhance.io.orientation import exif_orientation

XMP_PNG_KEY = "XML:com.adobe.xmp"
XMP_EXTENSION_HEADER = b"http://ns.adobe.com/xmp/extension/\x00"
"""Starts each JPEG APP1 segment of *extended* XMP (XMP spec part 3, 1.1.3.1)."""

# TIFF IFD0 tags that describe the pixel layout of *this* file (or are carried
# separately: ICC, XMP); they must not be copied into another file's EXIF.
TIFF_STRUCTURAL_TAGS: frozenset[int] = frozenset(
    {
        254, 255, 256, 257, 258, 259, 262, 263, 266, 273, 277, 278, 279, 284,
        317, 320, 322, 323, 324, 325, 338, 339, 340, 341, 700, 34675,
    }
)  # fmt: skip


@dataclass(frozen=True)
class Metadata:
    """Everything carried from input to output, raw where possible.

    Attributes:
        exif: raw EXIF blob (TIFF header onwards, no ``Exif\\0\\0`` prefix) or None.
        icc_profile: embedded ICC profile bytes, unchanged, or None.
        xmp: raw XMP packet bytes or None.
        xmp_extended: JPEG extended XMP: the raw APP1 payloads (header, GUID, length,
            offset, data) of every ``http://ns.adobe.com/xmp/extension/`` segment, in
            file order; written back as such to JPEG outputs only.
        dpi: (x, y) resolution in dots per inch, or None.
        png_text: PNG tEXt/zTXt/iTXt chunks (XMP excluded) as (key, value) pairs.
        comment: JPEG COM segment bytes, or None.
        photoshop: JPEG APP13 (Photoshop IRB / IPTC) payload bytes, or None.
        warnings: metadata problems found while reading (e.g. unparseable EXIF).
        parsed_exif: ``exif`` as read once while decoding (:func:`~photoenhance.io.exif.parse_exif`),
            for :attr:`orientation` and the EXIF edit on writing; not compared.  Use
            :meth:`exif_parsed`, which checks that it belongs to ``exif``.
    """

    exif: bytes | None = None
    icc_profile: bytes | None = None
    xmp: bytes | None = None
    xmp_extended: tuple[bytes, ...] = ()
    dpi: tuple[float, float] | None = None
    png_text: tuple[tuple[str, str], ...] = ()
    comment: bytes | None = None
    photoshop: bytes | None = None
    warnings: tuple[str, ...] = ()
    parsed_exif: ParsedExif | None = field(default=None, compare=False, repr=False)

    def exif_parsed(self) -> ParsedExif | None:
        """``exif`` parsed: the reading done while decoding, or (for a Metadata built
        otherwise, or whose ``exif`` was replaced) a new one; None without EXIF."""
        if self.exif is None:
            return None
        parsed = self.parsed_exif
        if parsed is not None and (parsed.data is self.exif or parsed.data == self.exif):
            return parsed
        return exif_module.parse_exif(self.exif)

    @property
    def orientation(self) -> int:
        """EXIF Orientation 1..8 (1 when absent or unreadable), from the EXIF read once."""
        if self.exif is None:
            return 1
        parsed = self.parsed_exif
        if parsed is not None and (parsed.data is self.exif or parsed.data == self.exif):
            return exif_orientation(parsed)
        return exif_orientation(self.exif)


def _as_bytes(value: object) -> bytes | None:
    if isinstance(value, bytes):
        return value or None
    if isinstance(value, str):
        return value.encode("utf-8") or None
    return None


# IFD0 tags of a TIFF *file* that hold offsets into that file (besides the layout
# tags above): copying them into another file would leave stale pointers.
_TIFF_OFFSET_TAGS: frozenset[int] = frozenset({330, 400, 513, 514})


def _tiff_exif_raw(data: bytes | mmap.mmap | None) -> tuple[bytes | None, tuple[str, ...]]:
    """EXIF for a TIFF source, copied byte for byte from the file's bytes ``data`` (its
    mmap; see ``exif_from_tiff``).

    Raises on any problem (the caller falls back to Pillow's re-serialisation).
    """
    if data is None:
        raise ValueError("no file bytes")
    edited = exif_from_tiff(data, skip=TIFF_STRUCTURAL_TAGS | _TIFF_OFFSET_TAGS)  # type: ignore[arg-type]
    return edited.data or None, edited.warnings


def _tiff_exif(im: Image.Image, data: bytes | mmap.mmap | None) -> tuple[bytes | None, tuple[str, ...]]:
    """EXIF for a TIFF source: its IFD0 metadata tags plus Exif/GPS/Interop sub-IFDs.

    Copied raw from the file (types and values kept exactly); if the file cannot be
    mapped or parsed that way (BigTIFF, not a real file...), Pillow's re-serialisation
    is used instead (it re-types some values, e.g. UNDEFINED -> BYTE).
    """
    try:
        return _tiff_exif_raw(data)
    except Exception:  # any failure: fall back to Pillow
        pass
    exif = im.getexif()
    for tag in list(exif):
        if tag in TIFF_STRUCTURAL_TAGS or tag in _TIFF_OFFSET_TAGS:
            del exif[tag]
    if not len(exif):
        return None, ()
    return strip_prefix(exif.tobytes()), ()


def _dpi(im: Image.Image, fmt: str) -> tuple[float, float] | None:
    dpi = im.info.get("dpi")
    if fmt == "tiff" and getattr(im, "tag_v2", {}).get(296) not in (2, 3):
        return None  # no (or "no absolute") resolution unit: not a real DPI
    try:
        if dpi and len(dpi) == 2 and float(dpi[0]) > 0 and float(dpi[1]) > 0:
            return (float(dpi[0]), float(dpi[1]))
    except (TypeError, ValueError):
        pass
    return None


def _photoshop(im: Image.Image) -> bytes | None:
    for marker, payload in getattr(im, "applist", []):
        if marker == "APP13" and payload.startswith(b"Photoshop 3.0\x00"):
            return bytes(payload)
    return None


def _xmp_extended(im: Image.Image) -> tuple[bytes, ...]:
    return tuple(
        bytes(payload)
        for marker, payload in getattr(im, "applist", [])
        if marker == "APP1" and payload.startswith(XMP_EXTENSION_HEADER)
    )


def extract_metadata(im: Image.Image, fmt: str, data: bytes | mmap.mmap | None = None) -> Metadata:
    """Collect :class:`Metadata` from an opened, *loaded* Pillow image of format ``fmt``
    whose file holds ``data`` (its mmap: a TIFF's EXIF is copied from it).

    The EXIF is read once (:func:`~photoenhance.io.exif.parse_exif`) and carried in
    :attr:`Metadata.parsed_exif`.
    """
    info = im.info
    warnings: list[str] = []
    try:
        if fmt == "tiff":
            exif, tiff_notes = _tiff_exif(im, data)
            warnings.extend(tiff_notes)
        else:
            exif = _as_bytes(info.get("exif"))
    except Exception as exc:  # a broken TIFF IFD must not lose the photo
        exif = None
        warnings.append(f"EXIF unreadable ({type(exc).__name__}); not carried over")
    if exif is not None:
        exif = strip_prefix(exif) or None
    parsed: ParsedExif | None = None
    if exif is not None:  # bounds first: no parser sees an entry larger than the blob
        parsed = exif_module.parse_exif(exif)
        exif = parsed.data or None
        warnings.extend(parsed.warnings)
        if exif is None:
            parsed = None
    xmp = _as_bytes(info.get("xmp")) or _as_bytes(info.get(XMP_PNG_KEY))
    text: tuple[tuple[str, str], ...] = ()
    if fmt == "png":
        items = getattr(im, "text", {}).items()
        text = tuple((str(k), str(v)) for k, v in items if k != XMP_PNG_KEY)
    return Metadata(
        exif=exif,
        icc_profile=_as_bytes(info.get("icc_profile")),
        xmp=xmp,
        xmp_extended=_xmp_extended(im) if fmt == "jpeg" else (),
        dpi=_dpi(im, fmt),
        png_text=text,
        comment=_as_bytes(info.get("comment")) if fmt == "jpeg" else None,
        photoshop=_photoshop(im) if fmt == "jpeg" else None,
        warnings=tuple(warnings),
        parsed_exif=parsed,
    )
