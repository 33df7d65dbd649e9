"""PNG/TIFF pixel-data splicing: 16-bit RGB(A) (Pillow writes only 8-bit RGB) and
deflate TIFFs with EXIF sub-IFDs (Pillow's libtiff writer rejects those; the EXIF
IFDs themselves are added by :func:`photoenhance.io.exif.merge_exif_into_tiff`).

Both writers let Pillow produce a 1x1 file carrying all the metadata chunks/tags and
then swap in our own pixel data, so metadata handling stays in one place:

- PNG: the IHDR is rewritten (bit depth 16) and the IDAT replaced (filter "Up", zlib).
- TIFF: the little-endian IFD0 entries for size, BitsPerSample, Compression (deflate)
  and the single strip's offset/length are patched and the strip appended
  (8- or 16-bit, any of L/LA/RGB/RGBA/I;16).

Pixel data are converted and compressed in bands of rows (streaming zlib), so no
full-image byte-order/filter copies are made.
"""

from __future__ import annotations

import struct
import zlib

import numpy as np

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_IDAT_CHUNK = 1 << 20


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _png_chunks(png: bytes) -> list[tuple[bytes, bytes]]:
    if not png.startswith(_PNG_SIGNATURE):
        raise ValueError("not a PNG")
    pos, chunks = len(_PNG_SIGNATURE), []
    while pos + 8 <= len(png):
        length, kind = struct.unpack_from(">I4s", png, pos)
        chunks.append((kind, png[pos + 8 : pos + 8 + length]))
        pos += 12 + length
    return chunks


_BAND_BYTES = 1 << 22  # raw bytes compressed per step (no full-image temporaries)


def _band_step(row_bytes: int) -> int:
    """Rows per compression step."""
    return max(1, _BAND_BYTES // max(row_bytes, 1))


def _png16_idat(pixels: np.ndarray) -> bytes:
    """zlib stream of 16-bit rows with PNG filter "Up", built band by band."""
    h, w, c = pixels.shape
    row_bytes = w * c * 2
    comp = zlib.compressobj(6)
    parts = []
    prev = np.zeros(row_bytes, np.uint8)
    step = _band_step(row_bytes)
    for r0 in range(0, h, step):
        rows = pixels[r0 : r0 + step].astype(">u2").view(np.uint8).reshape(-1, row_bytes)
        out = np.empty((rows.shape[0], row_bytes + 1), np.uint8)
        out[:, 0] = 2  # PNG filter type 2 ("Up"), modulo 256
        np.subtract(rows[1:], rows[:-1], out=out[1:, 1:])
        np.subtract(rows[0], prev, out=out[0, 1:])
        prev = rows[-1].copy()
        parts.append(comp.compress(out.data))
    parts.append(comp.flush())
    return b"".join(parts)


def png16(template: bytes, pixels: np.ndarray) -> bytes:
    """Return a 16-bit PNG of ``pixels`` (HxWx3 or HxWx4 uint16) with ``template``'s metadata.

    ``template`` is a Pillow-written PNG (any size, RGB/RGBA) whose ancillary chunks
    (iCCP, pHYs, tEXt/iTXt, eXIf...) are kept in place.
    """
    h, w, c = pixels.shape
    compressed = _png16_idat(pixels)
    ihdr = struct.pack(">IIBBBBB", w, h, 16, 6 if c == 4 else 2, 0, 0, 0)
    out = [_PNG_SIGNATURE]
    wrote_idat = False
    for kind, data in _png_chunks(template):
        if kind == b"IHDR":
            out.append(_png_chunk(b"IHDR", ihdr))
        elif kind in (b"IDAT", b"sBIT", b"tRNS", b"bKGD", b"hIST", b"PLTE"):
            if kind == b"IDAT" and not wrote_idat:
                wrote_idat = True
                for i in range(0, max(len(compressed), 1), _IDAT_CHUNK):
                    out.append(_png_chunk(b"IDAT", compressed[i : i + _IDAT_CHUNK]))
        else:
            out.append(_png_chunk(kind, data))
    return b"".join(out)


def tiff_deflate(template: bytes, pixels: np.ndarray) -> bytes:
    """Return a deflate-compressed TIFF of ``pixels`` with ``template``'s tags.

    Args:
        template: a little-endian, single-strip, uncompressed Pillow TIFF (e.g. 1x1)
            with the same samples per pixel, carrying the wanted metadata tags.
        pixels: HxW or HxWxC uint8/uint16 array.
    """
    if pixels.ndim == 2:
        pixels = pixels[..., None]
    h, w, c = pixels.shape
    bits = 16 if pixels.dtype == np.uint16 else 8
    if template[:4] != b"II*\x00":
        raise ValueError("template TIFF must be little-endian")
    buf = bytearray(template)
    ifd = struct.unpack_from("<I", buf, 4)[0]
    count = struct.unpack_from("<H", buf, ifd)[0]
    comp = zlib.compressobj(6)
    parts = []
    step = _band_step(w * c * bits // 8)
    for r0 in range(0, h, step):
        band = np.ascontiguousarray(pixels[r0 : r0 + step], dtype="<u2" if bits == 16 else np.uint8)
        parts.append(comp.compress(band.data))
    parts.append(comp.flush())
    strip_len = sum(len(part) for part in parts)
    if len(buf) % 2:
        buf += b"\x00"
    strip_offset = len(buf)
    longs = {256: w, 257: h, 259: 8, 273: strip_offset, 278: h, 279: strip_len}
    seen = set()
    for i in range(count):
        pos = ifd + 2 + 12 * i
        tag, typ, n = struct.unpack_from("<HHI", buf, pos)
        if tag in longs:
            if n != 1:
                raise ValueError(f"template tag {tag} has {n} values")
            struct.pack_into("<HI", buf, pos + 2, 4, 1)
            struct.pack_into("<I", buf, pos + 8, longs[tag])
            seen.add(tag)
        elif tag == 258:
            if n != c or typ != 3:
                raise ValueError("unexpected BitsPerSample in template")
            off = struct.unpack_from("<I", buf, pos + 8)[0] if n * 2 > 4 else pos + 8
            struct.pack_into(f"<{n}H", buf, off, *([bits] * n))
            seen.add(tag)
    if seen != {*longs, 258}:
        raise ValueError(f"template TIFF lacks tags {sorted({*longs, 258} - seen)}")
    return b"".join([bytes(buf), *parts])
