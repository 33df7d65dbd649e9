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
import io
import mmap
import os
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
from PIL import Image, UnidentifiedImageError

from photoenhance.io import colour, libwarnings
from photoenhance.io.errors import ImageReadError
from photoenhance.io.formats import HEIC_INSTALL_HINT, heif_available, normalise_format
from photoenhance.io.heif import HeifSource, heif_source
from photoenhance.io.manifest import FileIdentity, identity_of
from photoenhance.io.metadata import Metadata, extract_metadata
from photoenhance.io.orientation import stored_view
from photoenhance.io.truncation import check_data_complete, jpeg_data_ends_early

PathLike = str | os.PathLike[str]
Buffer = bytes | mmap.mmap
"""The bytes of one photo: its file's mmap, or bytes handed in (:func:`decode_bytes`)."""
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


def _looks_like_heif(data: Buffer) -> bool:
    head = bytes(data[:32])
    return head[4:8] == b"ftyp" and head[8:12] in _HEIF_BRANDS


class _MapReader(io.RawIOBase):
    """A read-only file object over a mmap with its own position, for Pillow.  Closing it
    (Pillow closes the file of an image it closes) leaves the mmap open: the truncation
    check, the TIFF EXIF and a 16-bit photo's second decode read the same mapping.  No
    ``fileno``: libtiff is handed the bytes, not the descriptor."""

    def __init__(self, data: mmap.mmap) -> None:
        super().__init__()
        self._data = data
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def read(self, n: int | None = -1) -> bytes:
        size = len(self._data)
        end = size if n is None or n < 0 else min(size, self._pos + n)
        if end <= self._pos:
            return b""
        out = self._data[self._pos : end]
        self._pos = end
        return out

    def readall(self) -> bytes:
        return self.read(-1)

    def readinto(self, buffer: Any) -> int:
        chunk = self.read(len(buffer))
        buffer[: len(chunk)] = chunk
        return len(chunk)

    def readline(self, size: int | None = -1) -> bytes:
        nl = self._data.find(b"\n", self._pos)
        end = len(self._data) if nl < 0 else nl + 1
        if size is not None and size >= 0:
            end = min(end, self._pos + size)
        return self.read(end - self._pos)

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        base = {os.SEEK_SET: 0, os.SEEK_CUR: self._pos, os.SEEK_END: len(self._data)}[whence]
        if base + offset < 0:
            raise ValueError("negative seek position")
        self._pos = base + offset
        return self._pos

    def tell(self) -> int:
        return self._pos


def _reader(data: Buffer) -> BinaryIO:
    """A file object over ``data`` for Pillow (a new one, at 0, per call): a reader of the
    mmap (no copy of the file), or a BytesIO sharing ``bytes``.  Pillow gets no path, so it
    never opens the file itself."""
    if isinstance(data, mmap.mmap):
        return _MapReader(data)  # type: ignore[return-value]
    return io.BytesIO(data)


def _open_unchecked(path: Path, data: Buffer) -> Image.Image:
    """Open without Pillow's global pixel limit (we apply our own ``max_megapixels``)."""
    Image.init()
    fp = _reader(data)
    prefix = fp.read(16)
    for fmt_id in Image.ID:
        factory, accept = Image.OPEN[fmt_id]
        if accept is not None and not accept(prefix):
            continue
        try:
            fp.seek(0)
            return factory(fp, "")
        except Image.DecompressionBombError as exc:  # a plugin's own hard check (WebP)
            raise ImageReadError(path, f"refusing to decode (possible decompression bomb): {exc}") from None
        except (SyntaxError, IndexError, TypeError, ValueError, OSError):
            continue
    raise UnidentifiedImageError(f"cannot identify image file {str(path)!r}")


def _open(path: Path, data: Buffer, max_megapixels: float, *, retry_heif: bool = True) -> Image.Image:
    """Pillow's image of ``data`` (the bytes of ``path``), its header size checked against
    ``max_megapixels``.  Nothing is opened: Pillow reads ``data``.

    Call inside :func:`libwarnings.capture` (Pillow warns about sizes we allow).
    """
    try:  # DecompressionBombWarning: dropped by libwarnings.capture (not catch_warnings:
        try:  # process-wide state, and photos are read and written on two threads)
            im = Image.open(_reader(data))
        except Image.DecompressionBombError:
            im = _open_unchecked(path, data)
    except UnidentifiedImageError:
        if not (retry_heif and _looks_like_heif(data)):
            raise ImageReadError(path, "not a recognised image (unknown format or corrupt header)") from None
        if not heif_available():
            raise ImageReadError(path, HEIC_INSTALL_HINT) from None
        # HEIF data under another name (a photo piped in, ``IMG_0001``): the HEIF opener
        # is registered lazily, by heif_available() just now, so Pillow did not try it yet
        return _open(path, data, max_megapixels, retry_heif=False)
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


@contextmanager
def _file_data(path: Path) -> Iterator[tuple[Buffer, FileIdentity | None]]:
    """The bytes of the photo ``path`` - its one ``open`` and one ``mmap`` - and its identity
    (``fstat`` of that open file, taken before anything is read)."""
    _check_file(path)
    try:
        fh = open(path, "rb")  # noqa: SIM115 - closed by the with-block below
    except PermissionError:
        raise ImageReadError(path, "permission denied") from None
    except OSError as exc:  # as Pillow's own open of the path reported it
        raise ImageReadError(path, f"corrupt image header ({_reason(exc)})") from exc
    with fh:
        identity = identity_of(os.fstat(fh.fileno()))
        try:
            data: Buffer = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
        except (OSError, ValueError):  # not mappable (a special file system): read it
            data = fh.read()
        try:
            yield data, identity
        finally:
            if isinstance(data, mmap.mmap):
                data.close()


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
    with libwarnings.capture(), _file_data(p) as (data, _), _open(p, data, max_megapixels) as im:
        _format_of(im, p)  # read_image reports the warnings
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


def _decode_with_rawmode(path: Path, data: Buffer, rawmode: str, max_megapixels: float) -> np.ndarray:
    """Decode the first frame of ``data`` again with a substituted raw mode; uint8 HxWxC."""
    with _open(path, data, max_megapixels) as im:
        tile = im.tile[0]
        args = rawmode if isinstance(tile.args, str) else (rawmode, *tuple(tile.args)[1:])
        im.tile = [tile._replace(args=args)]
        im.load()
        return np.asarray(im)


def _load_16bit_rgb(path: Path, data: Buffer, im: Image.Image, max_megapixels: float) -> np.ndarray:
    """Full-precision HxWxC uint16 for 16-bit RGB(A) files that Pillow truncates to 8 bits.

    Pillow's unpacker keeps the high byte; decoding again with the opposite byte order
    keeps the low byte instead (filtering/decompression happen before unpacking).  The
    second decode reads the same bytes (the photo's one mmap), not the file again: Pillow
    has no 16-bit RGB mode, and its PNG/libtiff decoders unfilter with the raw mode's pixel
    size, so no raw mode gives both bytes in one pass.
    """
    raw = _rawmode(im)
    assert raw is not None
    im.load()  # decodes with the high byte
    hi = np.asarray(im).astype(np.uint16)
    lo = _decode_with_rawmode(path, data, _SWAPPED[raw], max_megapixels).astype(np.uint16)
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


def _pixels(im: Image.Image, path: Path, buffer: Buffer, max_megapixels: float) -> _Pixels:
    mode = im.mode
    raw = _rawmode(im)
    if mode in ("RGB", "RGBA") and raw in _SWAPPED:
        data = _load_16bit_rgb(path, buffer, im, max_megapixels)
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


def _decode(p: Path, data: Buffer, im: Image.Image, max_megapixels: float) -> DecodedImage:
    """Decode the opened ``im`` (Pillow's image of ``data``, the bytes of ``p``); closes it."""
    with im:
        fmt = _format_of(im, p)
        ends_early = fmt == "jpeg" and jpeg_data_ends_early(p, data)  # before any pixel buffer exists
        if ends_early:
            _finish_at_eof(im)
        elif fmt != "jpeg":
            check_data_complete(p, data, fmt)
        notes: list[str] = []
        n_frames = int(getattr(im, "n_frames", 1) or 1)
        if n_frames > 1:
            notes.append(f"{n_frames} frames/pages: only the first was processed")
            im.seek(0)
        mode = im.mode
        if im.tile and _rawmode(im) == "LA;16B":
            mode = "LA"
        orientation = _tiff_orientation(im)
        early_meta = extract_metadata(im, fmt, data) if fmt == "tiff" else None  # before load drops tag 274
        px = _pixels(im, p, data, max_megapixels)
        if ends_early:
            notes.append(_damage_note(p, im))
        notes.extend(px.warnings)
        meta = early_meta or extract_metadata(im, fmt, data)
        quality = _quality(im) if fmt == "jpeg" else None
        heif = heif_source(im, len(data)) if fmt == "heif" else None
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


@contextmanager
def _read_errors(p: Path) -> Iterator[None]:
    """Every failure inside as one :class:`ImageReadError` line naming ``p``."""
    try:
        yield
    except ImageReadError:
        raise
    except MemoryError:
        raise ImageReadError(p, "out of memory while decoding") from None
    except PermissionError:
        raise ImageReadError(p, "permission denied") from None
    except Exception as exc:  # Pillow raises OSError/SyntaxError/ValueError/zlib.error/...
        raise ImageReadError(p, f"corrupt or truncated image data ({_reason(exc)})") from exc


def _with_caught(image: DecodedImage, caught: list[str]) -> DecodedImage:
    if caught:
        return dataclasses.replace(image, warnings=(*image.warnings, *caught))
    return image


class OpenedImage:
    """A photo opened once, not yet decoded: its file (one ``open``), its bytes (one
    ``mmap``) and its header (Pillow's image of those bytes).

    What :func:`open_image` gives: the size is known (:attr:`size`) before any pixel is
    decoded, and :meth:`decode` decodes from the same bytes - nothing opens the file again
    (the truncation check, the TIFF EXIF and a 16-bit photo's second decode read the mmap).
    Close it (or use it as a context manager) when done; :meth:`decode` does not close it.

    Attributes:
        path: the photo.
        size: ``(width, height)`` as stored in the file.
        identity: the file's identity (``fstat`` of the open file, before it was read).
    """

    def __init__(self, path: Path, max_megapixels: float, data: bytes | None = None) -> None:
        self.path = path
        self._max_megapixels = max_megapixels
        self._stack = ExitStack()
        self._caught: list[str] = []
        try:
            with libwarnings.capture() as caught, _read_errors(path):
                if data is None:
                    data, identity = self._stack.enter_context(_file_data(path))
                else:
                    _check_bytes(path, data)
                    identity = None
                im = _open(path, data, max_megapixels)
                _format_of(im, path)
            self._caught = list(caught)
        except BaseException:
            self._stack.close()
            raise
        self._data: Buffer = data
        self._im: Image.Image | None = im
        self.identity: FileIdentity | None = identity
        self.size: tuple[int, int] = _stored_size(im)

    def decode(self) -> DecodedImage:
        """Decode the photo (see :func:`read_image`); once.

        Raises:
            ImageReadError: as :func:`read_image`.
        """
        im, self._im = self._im, None
        if im is None:
            raise ValueError(f"{self.path}: already decoded")
        with libwarnings.capture() as caught, _read_errors(self.path):
            image = _decode(self.path, self._data, im, self._max_megapixels)
        seen = set(self._caught)
        return _with_caught(image, [*self._caught, *(w for w in caught if w not in seen)])

    def close(self) -> None:
        if self._im is not None:
            self._im.close()
            self._im = None
        self._stack.close()

    def __enter__(self) -> OpenedImage:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_image(path: PathLike, *, max_megapixels: float = 200.0) -> OpenedImage:
    """Open ``path`` once (file + mmap + header) for :meth:`OpenedImage.decode`.

    Raises:
        ImageReadError: as :func:`probe_image`.
    """
    return OpenedImage(Path(path), max_megapixels)


def read_image(
    path: PathLike, *, max_megapixels: float = 200.0, opened: OpenedImage | None = None
) -> DecodedImage:
    """Fully decode ``path`` (first frame) into a :class:`DecodedImage`.

    ``opened``: ``path`` already opened by :func:`open_image` (an engine that needed its
    size first): that is decoded (and ``max_megapixels`` is the one it was opened with);
    it is not closed here.

    The file is opened once, read-only (one ``open``, one ``mmap`` that every step reads:
    Pillow, the truncation check, the TIFF EXIF, a 16-bit photo's second decode) and never
    modified.  Truncated files are errors
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
    if opened is not None:
        return opened.decode()
    p = Path(path)
    # Pillow's warnings: the photo's, not stderr's
    with libwarnings.capture() as caught, _read_errors(p), _file_data(p) as (data, _):
        image = _decode(p, data, _open(p, data, max_megapixels), max_megapixels)
    return _with_caught(image, caught)


def _check_bytes(path: Path, data: bytes) -> None:
    """As :func:`_check_file`, for the bytes of a photo named ``path``."""
    if not isinstance(data, bytes):
        raise TypeError(f"{path}: expected bytes, got {type(data).__name__}")
    if not data:
        raise ImageReadError(path, "empty file (0 bytes)")
    if path.suffix.lower() in _HEIF_SUFFIXES and not heif_available():
        raise ImageReadError(path, HEIC_INSTALL_HINT)


def open_bytes(data: bytes, name: str | Path, *, max_megapixels: float = 200.0) -> OpenedImage:
    """:func:`open_image` for the bytes of an encoded photo (``name`` stands for its file
    in messages); no file and no temporary file is involved.

    Raises:
        ImageReadError: as :func:`decode_bytes`.
    """
    return OpenedImage(Path(name), max_megapixels, bytes(data) if isinstance(data, (bytearray, memoryview)) else data)


def decode_bytes(data: bytes, name: str, max_megapixels: float = 200.0) -> DecodedImage:
    """Decode the encoded photo ``data`` (the bytes of a JPEG/PNG/TIFF/WebP/HEIF file) as
    :func:`read_image` decodes a file holding them: same pixels, metadata and warnings, no
    temporary file.  ``name`` stands for the file in messages and in ``.path`` (its suffix
    matters only as for a file: ``.heic`` without pillow-heif is refused).

    Raises:
        ImageReadError: as :func:`read_image` (``"<name>: empty file (0 bytes)"``...).
        TypeError: ``data`` is not bytes.
    """
    with open_bytes(data, name, max_megapixels=max_megapixels) as opened:
        return opened.decode()


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
        with libwarnings.capture(), _file_data(p) as (data, _), _open(p, data, float("inf")) as im:
            check_data_complete(p, data, _format_of(im, p))
            im.load()
    except Exception:
        return False
    return True
