"""Decoding photos into float32 sRGB arrays plus everything needed to write them back.

``DecodedImage.rgb`` is *extended-range* sRGB: sRGB primaries and transfer curve,
in [0, 1] for sRGB/untagged/grey/CMYK sources, but with values below 0 or above 1
where a wide-gamut (Display P3, Adobe RGB...) matrix/TRC source holds colours
outside the sRGB gamut - nothing is clipped on decode, so writing the array back
unchanged reproduces the source pixels.  :func:`read_rgb` (training/evaluation data)
clips to [0, 1].

Mode handling (what :func:`read_image` hands out; see ``encode`` for the way back):

- ``RGB``/``RGBX``: as is.  ``RGBA``/``RGBa``: colour + alpha (alpha copied unchanged).
- 16-bit RGB(A) PNG/TIFF: read at full 16-bit precision (Pillow itself would
  truncate to 8 bits), ``bit_depth == 16``.
- ``L``/``1``/``I;16*``/``I``: grey replicated to R=G=B; ``LA``: grey + alpha.
- ``P``/``PA``: expanded through the palette to RGB, or RGBA if it has transparency.
- ``CMYK``: converted to sRGB through its ICC profile (naive conversion if untagged).
- Embedded non-sRGB RGB ICC profiles are converted to extended-range sRGB, unclipped
  (LUT-based profiles: via LittleCMS at 8-bit precision, clipped; see ``colour``).
  A damaged profile (``colour.profile_problem``) leaves the pixels as sRGB, with a
  warning; its bytes are still carried to the output unchanged.
- Multi-frame files (APNG, multi-page TIFF, MPO...): first frame only, with a warning.
- Pixels stay in *stored* orientation; EXIF Orientation is carried, never applied.
"""

from __future__ import annotations

import dataclasses
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from photoenhance.io import colour, libwarnings
from photoenhance.io.errors import ImageReadError
from photoenhance.io.formats import HEIC_INSTALL_HINT, heif_available, normalise_format
from photoenhance.io.heif import HeifSource, heif_source
from photoenhance.io.metadata import Metadata, extract_metadata
from photoenhance.io.orientation import stored_view
from photoenhance.io.truncation import check_complete, jpeg_ends_early

PathLike = str | os.PathLike[str]
LUMA_WEIGHTS = np.array([0.299, 0.587, 0.114], dtype=np.float32)  # ITU-R BT.601, as Pillow
_HEIF_SUFFIXES = (".heic", ".heif")
_HEIF_BRANDS = (b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1")
_PIL_FORMATS = {"JPEG": "jpeg", "MPO": "jpeg", "PNG": "png", "TIFF": "tiff", "WEBP": "webp", "HEIF": "heif"}
_GREY_MODES = ("1", "L", "LA", "La", "I", "I;16", "I;16L", "I;16B", "I;16N")
_STD_LUMA_QTABLE = np.array(
    [16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55,
     14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51, 87, 80, 62,
     18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
     49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99],
    dtype=np.float64,
)  # fmt: skip


@dataclass(frozen=True, eq=False)
class DecodedImage:
    """A decoded photo.

    Attributes:
        path: the file read.
        format: ``"jpeg"``, ``"png"``, ``"tiff"``, ``"webp"`` or ``"heif"``.
        rgb: HxWx3 float32 *extended-range* sRGB, stored (un-rotated) orientation.
            sRGB primaries and (sign-symmetric, unbounded) sRGB transfer curve, as in
            scRGB/extended sRGB.  In [0, 1] for sRGB-tagged, untagged, grey, CMYK and
            LUT-profile sources; for matrix/TRC wide-gamut sources (Display P3,
            Adobe RGB...) values are < 0 or > 1 wherever the colour lies outside the
            sRGB gamut - never clipped, so :func:`~photoenhance.io.write_image` of this
            array unchanged returns the source pixels.  Consumers that need [0, 1]
            (a network input) must clip a copy and apply their change to these values.
        alpha: HxW float32 [0, 1] or None.
        mode: the original Pillow mode (``"RGB"``, ``"L"``, ``"I;16"``, ``"P"``, ``"CMYK"``...).
        bit_depth: bits per channel of the source, 8 or 16.
        metadata: what is carried over to the output.
        quality: estimated JPEG quality (1-100) from the quantisation tables, else None.
        warnings: everything noteworthy (multi-frame, colour, metadata problems, and
            Python warnings the libraries raised while decoding).
        heif: for HEIF sources, the file size, chroma, grid, thumbnails, depth and
            auxiliary images (see :mod:`photoenhance.io.heif`); else None.
    """

    path: Path
    format: str
    rgb: np.ndarray
    alpha: np.ndarray | None
    mode: str
    bit_depth: int
    metadata: Metadata
    quality: int | None
    warnings: tuple[str, ...] = field(default=())
    heif: HeifSource | None = None

    @property
    def width(self) -> int:
        return int(self.rgb.shape[1])

    @property
    def height(self) -> int:
        return int(self.rgb.shape[0])

    @property
    def megapixels(self) -> float:
        """Width x height / 1e6."""
        return self.width * self.height / 1e6

    @property
    def is_grey(self) -> bool:
        """True if the source was greyscale (written back as grey where possible)."""
        return self.mode in _GREY_MODES


# --------------------------------------------------------------------------- opening


def _check_file(path: Path) -> None:
    """Fail early, with a clear reason, for paths that cannot be a readable photo."""
    try:
        st = path.stat()
    except FileNotFoundError:
        raise ImageReadError(path, "file does not exist") from None
    except OSError as exc:
        raise ImageReadError(path, f"cannot access file ({exc.strerror or exc})") from exc
    if path.is_dir():
        raise ImageReadError(path, "is a directory, not a photo")
    if not path.is_file():
        raise ImageReadError(path, "is not a regular file")
    if st.st_size == 0:
        raise ImageReadError(path, "empty file (0 bytes)")
    if path.suffix.lower() in _HEIF_SUFFIXES and not heif_available():
        raise ImageReadError(path, HEIC_INSTALL_HINT)


def _looks_like_heif(path: Path) -> bool:
    try:
        with open(path, "rb") as fh:
            head = fh.read(32)
    except OSError:
        return False
    return head[4:8] == b"ftyp" and head[8:12] in _HEIF_BRANDS


def _open_unchecked(path: Path) -> Image.Image:
    """Open without Pillow's global pixel limit (we apply our own ``max_megapixels``).

    Each plugin gets the *path*, so the image owns its file handle: it is closed
    when the plugin fails and when the image is closed (no leaked handle).
    """
    Image.init()
    with open(path, "rb") as fh:
        prefix = fh.read(16)
    for fmt_id in Image.ID:
        factory, accept = Image.OPEN[fmt_id]
        if accept is not None and not accept(prefix):
            continue
        try:
            return factory(str(path), str(path))
        except Image.DecompressionBombError as exc:  # a plugin's own hard check (WebP)
            raise ImageReadError(path, f"refusing to decode (possible decompression bomb): {exc}") from None
        except (SyntaxError, IndexError, TypeError, ValueError, OSError):
            continue
    raise UnidentifiedImageError(f"cannot identify image file {str(path)!r}")


def _open(path: Path, max_megapixels: float, *, retry_heif: bool = True) -> Image.Image:
    """Open ``path`` read-only and check its header size against ``max_megapixels``.

    Call inside :func:`libwarnings.capture` (Pillow warns about sizes we allow).
    """
    _check_file(path)
    try:  # DecompressionBombWarning: dropped by libwarnings.capture (not catch_warnings:
        try:  # process-wide state, and photos are read and written on two threads)
            im = Image.open(path)
        except Image.DecompressionBombError:
            im = _open_unchecked(path)
    except UnidentifiedImageError:
        if not (retry_heif and _looks_like_heif(path)):
            raise ImageReadError(path, "not a recognised image (unknown format or corrupt header)") from None
        if not heif_available():
            raise ImageReadError(path, HEIC_INSTALL_HINT) from None
        # HEIF data under another name (a photo piped in, ``IMG_0001``): the HEIF opener
        # is registered lazily, by heif_available() just now, so Pillow did not try it yet
        return _open(path, max_megapixels, retry_heif=False)
    except PermissionError:
        raise ImageReadError(path, "permission denied") from None
    except ImageReadError:
        raise
    except Exception as exc:
        raise ImageReadError(path, f"corrupt image header ({_reason(exc)})") from exc
    width, height = _stored_size(im)
    if width * height > max_megapixels * 1e6:
        im.close()
        raise ImageReadError(
            path,
            f"{width}x{height} pixels ({width * height / 1e6:.1f} MP) exceeds the limit of "
            f"{max_megapixels:g} MP; refusing to decode (possible decompression bomb)",
        )
    if width < 1 or height < 1:
        im.close()
        raise ImageReadError(path, f"invalid image size {width}x{height}")
    return im


def _reason(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _tiff_orientation(im: Image.Image) -> int:
    """EXIF Orientation of a TIFF (Pillow's TIFF loader applies it; we undo that)."""
    if im.format != "TIFF":
        return 1
    value = getattr(im, "tag_v2", {}).get(274, 1)
    return value if isinstance(value, int) and 2 <= value <= 8 else 1


def _stored_size(im: Image.Image) -> tuple[int, int]:
    """(width, height) as stored in the file (Pillow reports TIFF 5-8 rotated)."""
    w, h = im.size
    return (h, w) if _tiff_orientation(im) >= 5 else (w, h)


def _format_of(im: Image.Image, path: Path) -> str:
    fmt = _PIL_FORMATS.get(im.format or "")
    if fmt is None:
        raise ImageReadError(path, f"unsupported image format {im.format or 'unknown'}")
    return normalise_format(fmt)


def probe_image(path: PathLike, *, max_megapixels: float = 200.0) -> tuple[int, int]:
    """Return ``(width, height)`` from the header only, without decoding pixels.

    Raises:
        ImageReadError: missing/zero-byte/unreadable file, directory, not an image,
            unsupported format, or more than ``max_megapixels`` pixels.
    """
    p = Path(path)
    with libwarnings.capture(), _open(p, max_megapixels) as im:  # read_image reports them
        _format_of(im, p)
        width, height = _stored_size(im)
        return (int(width), int(height))


# --------------------------------------------------------------------------- pixels


def _rawmode(im: Image.Image) -> str | None:
    if not im.tile:
        return None
    args = im.tile[0].args
    raw = args if isinstance(args, str) else (args[0] if args else None)
    return raw if isinstance(raw, str) else None


_SWAPPED = {"RGB;16B": "RGB;16L", "RGB;16L": "RGB;16B", "RGBA;16B": "RGBA;16L",
            "RGBA;16L": "RGBA;16B", "RGBX;16B": "RGBX;16L", "RGBX;16L": "RGBX;16B"}  # fmt: skip
_NATIVE_SWAP = "B" if sys.byteorder == "little" else "L"  # libtiff hands out native order
_SWAPPED.update({f"{m};16N": f"{m};16{_NATIVE_SWAP}" for m in ("RGB", "RGBA", "RGBX")})


def _decode_with_rawmode(path: Path, rawmode: str, max_megapixels: float) -> np.ndarray:
    """Decode the first frame with a substituted raw mode; returns uint8 HxWxC."""
    with _open(path, max_megapixels) as im:
        tile = im.tile[0]
        args = rawmode if isinstance(tile.args, str) else (rawmode, *tuple(tile.args)[1:])
        im.tile = [tile._replace(args=args)]
        im.load()
        return np.asarray(im)


def _load_16bit_rgb(path: Path, im: Image.Image, max_megapixels: float) -> np.ndarray:
    """Full-precision HxWxC uint16 for 16-bit RGB(A) files that Pillow truncates to 8 bits.

    Pillow's unpacker keeps the high byte; decoding again with the opposite byte order
    keeps the low byte instead (filtering/decompression happen before unpacking).
    """
    raw = _rawmode(im)
    assert raw is not None
    im.load()  # decodes with the high byte
    hi = np.asarray(im).astype(np.uint16)
    lo = _decode_with_rawmode(path, _SWAPPED[raw], max_megapixels).astype(np.uint16)
    return (hi << 8) | lo


@dataclass(frozen=True)
class _Pixels:
    rgb: np.ndarray  # HxWx3 in the source colour space: float32 [0,1], or RGB uint8/uint16 codes
    alpha: np.ndarray | None
    bit_depth: int
    is_rgb_space: bool  # RGB data to which an RGB ICC profile applies
    warnings: tuple[str, ...] = ()


def _grey(values: np.ndarray, scale: float) -> np.ndarray:
    g = np.clip(values.astype(np.float32) / scale, 0.0, 1.0)
    return np.repeat(g[..., None], 3, axis=2)


def _to_float(a: np.ndarray, scale: float) -> np.ndarray:
    """``a / scale`` as float32, computed in row bands into one output array (a 48 MP photo
    needs its 576 MB float array, not two more temporaries of that size)."""
    out = np.empty(a.shape, np.float32)
    rows = max(1, (1 << 20) // max(1, int(np.prod(a.shape[1:]))))
    for r in range(0, a.shape[0], rows):
        np.divide(a[r : r + rows], np.float32(scale), out=out[r : r + rows], dtype=np.float32)
    return out


def _pixels(im: Image.Image, path: Path, max_megapixels: float) -> _Pixels:
    mode = im.mode
    raw = _rawmode(im)
    if mode in ("RGB", "RGBA") and raw in _SWAPPED:
        data = _load_16bit_rgb(path, im, max_megapixels)
        alpha = _to_float(data[..., 3], 65535) if mode == "RGBA" else None
        return _Pixels(data[..., :3], alpha, 16, True)
    if raw == "LA;16B":
        im.load()
        data = np.asarray(im)
        note = "16-bit grey+alpha PNG read at 8-bit precision"
        return _Pixels(_grey(data[..., 0], 255), _to_float(data[..., 3], 255), 16, False, (note,))
    im.load()
    if mode in ("I;16", "I;16L", "I;16B", "I;16N", "I"):
        return _Pixels(_grey(np.asarray(im), 65535), None, 16, False)
    if mode in ("1", "L"):
        return _Pixels(_grey(np.asarray(im.convert("L")), 255), None, 8, False)
    if mode in ("LA", "La"):
        data = np.asarray(im.convert("LA"))
        return _Pixels(_grey(data[..., 0], 255), _to_float(data[..., 1], 255), 8, False)
    if mode == "CMYK":
        rgb_im, notes = colour.cmyk_to_srgb(im, im.info.get("icc_profile"))
        return _Pixels(_to_float(np.asarray(rgb_im), 255), None, 8, False, notes)
    if mode in ("P", "PA"):
        has_alpha = mode == "PA" or "transparency" in im.info
        im = im.convert("RGBA" if has_alpha else "RGB")
        mode = im.mode
    if mode in ("RGBA", "RGBa"):
        data = np.asarray(im.convert("RGBA"))
        return _Pixels(data[..., :3], _to_float(data[..., 3], 255), 8, True)
    if mode in ("RGB", "RGBX", "YCbCr"):
        # no convert() for RGB: it would hold one more full copy (4 bytes/pixel in Pillow)
        return _Pixels(np.asarray(im if mode == "RGB" else im.convert("RGB")), None, 8, True)
    raise ImageReadError(path, f"unsupported colour mode {mode}")


MAX_MISSING_ROWS = 0.1
"""A damaged JPEG is read (with a warning) when at most this share of its rows is missing."""
_JPEG_FILL = (127, 128)  # libjpeg's value where image data is missing (127: inverted CMYK)


def _finish_at_eof(im: Image.Image) -> None:
    """Let Pillow decode the JPEG ``im`` whose data ends early: an EOI at the end of the
    file makes libjpeg fill the rest (what ``LOAD_TRUNCATED_IMAGES`` does, for this image
    only: that flag is process-wide, and photos are read on two threads)."""
    read = im.load_read  # type: ignore[attr-defined]
    ended = False

    def load_read(n: int) -> bytes:
        nonlocal ended
        data = read(n)
        if not data and not ended:
            ended = True
            return b"\xff\xd9"
        return data

    im.load_read = load_read  # type: ignore[attr-defined]


def _filled_rows(im: Image.Image) -> int:
    """Rows at the bottom of the loaded JPEG ``im`` that libjpeg filled, wholly or from some
    column to the right edge (the row of blocks where the data ends), for missing data:
    their last pixels hold one flat value, 128, in every channel.  Read a row at a time."""
    w, h = im.size
    tail = min(w, 8)
    filled = 0
    for y in range(h - 1, -1, -1):
        row = np.asarray(im.crop((w - tail, y, w, y + 1)))
        value = int(row.flat[0])
        if value not in _JPEG_FILL or not bool((row == value).all()):
            break
        filled += 1
    return filled


def _damage_note(path: Path, im: Image.Image) -> str:
    """The warning for a JPEG whose data ends early; refused if most rows are missing."""
    height = im.size[1]
    missing = _filled_rows(im)
    if missing > height * MAX_MISSING_ROWS:
        raise ImageReadError(
            path, f"truncated JPEG: the image data ends after {height - missing} of {height} rows"
        )
    if missing:
        return (f"damaged JPEG: the image data ends early; the last {missing} of {height} rows "
                "are missing or incomplete (filled with grey)")  # fmt: skip
    return "damaged JPEG: the image data ends early; some detail is missing"


def _quality(im: Image.Image) -> int | None:
    """IJG quality (1-100) whose scaled standard luminance table best matches table 0."""
    tables = getattr(im, "quantization", None)
    if not tables or 0 not in tables:
        return None
    table = np.asarray(list(tables[0])[:64], dtype=np.float64)
    if table.size != 64:
        return None
    q = np.arange(1, 101, dtype=np.float64)
    scale = np.where(q < 50, 5000.0 / q, 200.0 - 2.0 * q)[:, None]
    candidates = np.clip(np.floor((_STD_LUMA_QTABLE[None, :] * scale + 50.0) / 100.0), 1, 255)
    return int(np.argmin(np.abs(candidates - table[None, :]).sum(axis=1))) + 1


# --------------------------------------------------------------------------- public


def _decode(p: Path, max_megapixels: float) -> DecodedImage:
    with _open(p, max_megapixels) as im:
        fmt = _format_of(im, p)
        ends_early = fmt == "jpeg" and jpeg_ends_early(p)  # before any pixel buffer exists
        if ends_early:
            _finish_at_eof(im)
        elif fmt != "jpeg":
            check_complete(p, fmt)
        notes: list[str] = []
        n_frames = int(getattr(im, "n_frames", 1) or 1)
        if n_frames > 1:
            notes.append(f"{n_frames} frames/pages: only the first was processed")
            im.seek(0)
        mode = im.mode
        if im.tile and _rawmode(im) == "LA;16B":
            mode = "LA"
        orientation = _tiff_orientation(im)
        early_meta = extract_metadata(im, fmt) if fmt == "tiff" else None  # before load drops tag 274
        px = _pixels(im, p, max_megapixels)
        if ends_early:
            notes.append(_damage_note(p, im))
        notes.extend(px.warnings)
        meta = early_meta or extract_metadata(im, fmt)
        quality = _quality(im) if fmt == "jpeg" else None
        heif = heif_source(im, p.stat().st_size) if fmt == "heif" else None
    im.close()  # the pixels are copied out: free Pillow's image (4 bytes/px for RGB; the
    del im  # with-block only closes the file) before the float32 array is made below
    if orientation != 1:
        alpha = None if px.alpha is None else stored_view(px.alpha, orientation)
        px = _Pixels(stored_view(px.rgb, orientation), alpha, px.bit_depth, px.is_rgb_space, px.warnings)
    rgb = px.rgb
    problem = colour.profile_problem(meta.icc_profile) if px.is_rgb_space and meta.icc_profile else None
    if problem:
        notes.append(f"colour profile unusable ({problem}): pixels treated as sRGB, profile kept unchanged")
    if px.is_rgb_space and colour.needs_conversion(meta.icc_profile):
        assert meta.icc_profile is not None
        rgb, colour_notes = colour.to_srgb(rgb, meta.icc_profile)  # codes: table-driven
        notes.extend(colour_notes)
    elif rgb.dtype != np.float32:
        rgb = _to_float(rgb, 65535 if rgb.dtype == np.uint16 else 255)
    notes.extend(meta.warnings)
    return DecodedImage(
        path=p,
        format=fmt,
        rgb=np.ascontiguousarray(rgb, dtype=np.float32),
        alpha=None if px.alpha is None else np.ascontiguousarray(px.alpha, dtype=np.float32),
        mode=mode,
        bit_depth=px.bit_depth,
        metadata=meta,
        quality=quality,
        warnings=tuple(notes),
        heif=heif,
    )


def read_image(path: PathLike, *, max_megapixels: float = 200.0) -> DecodedImage:
    """Fully decode ``path`` (first frame) into a :class:`DecodedImage`.

    The file is opened read-only and never modified.  Truncated files are errors
    (the whole image is decoded; nothing is grey-filled): Pillow's strict loader
    catches data cut off mid-stream, and :mod:`photoenhance.io.truncation` catches
    JPEG/PNG data that ends early but properly (before decoding anything).  The one
    exception is a damaged JPEG that still holds at least 90 % of its rows
    (:data:`MAX_MISSING_ROWS`): read with libjpeg's grey fill and a warning naming the
    rows missing, as image viewers show it.

    Raises:
        ImageReadError: one line ``"<path>: <reason>"`` for every failure (missing,
            empty, directory, permission denied, not an image, corrupt/truncated
            data, unsupported format or mode, over ``max_megapixels``, HEIC without
            pillow-heif).
    """
    p = Path(path)
    try:
        with libwarnings.capture() as caught:  # Pillow's warnings: the photo's, not stderr's
            image = _decode(p, max_megapixels)
        if caught:
            image = dataclasses.replace(image, warnings=(*image.warnings, *caught))
        return image
    except ImageReadError:
        raise
    except MemoryError:
        raise ImageReadError(p, "out of memory while decoding") from None
    except PermissionError:
        raise ImageReadError(p, "permission denied") from None
    except Exception as exc:  # Pillow raises OSError/SyntaxError/ValueError/zlib.error/...
        raise ImageReadError(p, f"corrupt or truncated image data ({_reason(exc)})") from exc


def read_rgb(path: PathLike) -> np.ndarray:
    """Read ``path`` as HxWx3 float32 sRGB **clipped to [0, 1]**, stored orientation.

    For training/evaluation data: unlike :attr:`DecodedImage.rgb`, wide-gamut colours
    are clipped to the sRGB gamut (the network's input/target range).

    Raises:
        ImageReadError: see :func:`read_image`.
    """
    rgb = read_image(path).rgb
    return np.clip(rgb, 0.0, 1.0, out=rgb)


def is_complete_image(path: Path) -> bool:
    """True only if ``path`` is a supported image that fully decodes (no truncation)."""
    p = Path(path)
    try:
        with libwarnings.capture(), _open(p, float("inf")) as im:
            check_complete(p, _format_of(im, p))
            im.load()
    except Exception:
        return False
    return True
