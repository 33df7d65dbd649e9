"""Builders for test images, EXIF blobs and ICC profiles (all made from scratch)."""

from __future__ import annotations

import io
import struct
from pathlib import Path

import numpy as np
import piexif
from PIL import Image

# Display P3 colorants adapted to D50 (as in Apple's Display P3 profile).
P3_XYZ = ((0.5151, 0.2412, -0.0011), (0.2919, 0.6922, 0.0419), (0.1572, 0.0666, 0.7841))
SRGB_XYZ = ((0.4361, 0.2225, 0.0139), (0.3851, 0.7169, 0.0971), (0.1431, 0.0606, 0.7141))
# Adobe RGB (1998) colorants adapted to D50.
ADOBE_XYZ = ((0.6097, 0.3111, 0.0195), (0.2053, 0.6257, 0.0609), (0.1492, 0.0632, 0.7446))
# ICC parametric curve type 3 of the sRGB TRC (Apple's Display P3 uses it too).
SRGB_PARA = (2.4, 1 / 1.055, 0.055 / 1.055, 1 / 12.92, 0.04045)


def smooth_rgb(h: int, w: int, seed: int = 0, lo: float = 0.15, hi: float = 0.85) -> np.ndarray:
    """HxWx3 uint8 smooth gradients (compress well, in gamut for moderate ranges)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    chans = []
    for _ in range(3):
        a, b, c = rng.random(3)
        v = 0.5 + 0.5 * np.sin(x / max(w, 1) * 3 * a + y / max(h, 1) * 3 * b + 6 * c)
        chans.append(lo + (hi - lo) * v)
    return np.round(np.stack(chans, -1) * 255).astype(np.uint8)


def jpeg_thumbnail(size: tuple[int, int] = (32, 24), colour: tuple[int, int, int] = (200, 10, 10)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, colour).save(buf, "JPEG")
    return buf.getvalue()


def full_exif_dict(orientation: int = 6, thumbnail: bool = True) -> dict:
    """An EXIF dict with every IFD populated, a MakerNote and (optionally) a thumbnail."""
    d = {
        "0th": {
            piexif.ImageIFD.Make: b"PhoneCo",
            piexif.ImageIFD.Model: b"Pixelator 9 \xc3\xa9",
            piexif.ImageIFD.Orientation: orientation,
            piexif.ImageIFD.Software: b"Camera 1.0",
            piexif.ImageIFD.DateTime: b"2024:05:06 07:08:09",
            piexif.ImageIFD.Artist: b"Ann",
        },
        "Exif": {
            piexif.ExifIFD.DateTimeOriginal: b"2024:05:06 07:08:09",
            piexif.ExifIFD.ExposureTime: (1, 120),
            piexif.ExifIFD.FNumber: (18, 10),
            piexif.ExifIFD.ISOSpeedRatings: 100,
            piexif.ExifIFD.MakerNote: bytes(range(256)) * 4,
            piexif.ExifIFD.UserComment: b"ASCII\x00\x00\x00hello",
            piexif.ExifIFD.LensModel: b"Main camera",
        },
        "GPS": {
            piexif.GPSIFD.GPSLatitudeRef: b"N",
            piexif.GPSIFD.GPSLatitude: ((52, 1), (31, 1), (1234, 100)),
            piexif.GPSIFD.GPSLongitudeRef: b"E",
            piexif.GPSIFD.GPSLongitude: ((13, 1), (24, 1), (5678, 100)),
            piexif.GPSIFD.GPSAltitude: (345, 10),
        },
        "Interop": {piexif.InteropIFD.InteroperabilityIndex: b"R98"},
        "1st": {},
        "thumbnail": None,
    }
    if thumbnail:
        d["1st"] = {
            piexif.ImageIFD.Compression: 6,
            piexif.ImageIFD.XResolution: (72, 1),
            piexif.ImageIFD.YResolution: (72, 1),
            piexif.ImageIFD.ResolutionUnit: 2,
        }
        d["thumbnail"] = jpeg_thumbnail()
    return d


def exif_bytes(d: dict) -> bytes:
    """Raw EXIF (no Exif\\0\\0 prefix)."""
    return piexif.dump(d)[6:]


def _s15(v: float) -> bytes:
    return struct.pack(">i", round(v * 65536))


def matrix_icc(
    colorants: tuple[tuple[float, float, float], ...],
    gamma: float = 2.2,
    desc: str = "Test P3",
    para: tuple[float, ...] | None = None,
    extra: tuple[tuple[bytes, bytes], ...] = (),
) -> bytes:
    """A v2 matrix/TRC RGB display profile written by hand (LittleCMS accepts it).

    ``para``: ICC parametric curve parameters (type 3: g, a, b, c, d) instead of ``gamma``.
    ``extra``: more (signature, body) tags, e.g. an ``A2B0``.
    """
    def xyz(v: tuple[float, float, float]) -> bytes:
        return b"XYZ \0\0\0\0" + b"".join(_s15(c) for c in v)

    text = desc.encode("ascii") + b"\0"
    desc_tag = b"desc\0\0\0\0" + struct.pack(">I", len(text)) + text + b"\0" * 4 + b"\0" * 4 + b"\0\0" + b"\0" + b"\0" * 67
    curv = b"curv\0\0\0\0" + struct.pack(">IH", 1, round(gamma * 256)) + b"\0\0"
    if para is not None:
        ftype = {1: 0, 3: 1, 4: 2, 5: 3, 7: 4}[len(para)]
        curv = b"para\0\0\0\0" + struct.pack(">HH", ftype, 0) + b"".join(_s15(v) for v in para)
    tags = [
        (b"desc", desc_tag),
        (b"wtpt", xyz((0.9642, 1.0, 0.8249))),
        (b"rXYZ", xyz(colorants[0])),
        (b"gXYZ", xyz(colorants[1])),
        (b"bXYZ", xyz(colorants[2])),
        (b"rTRC", curv),
        (b"gTRC", curv),
        (b"bTRC", curv),
        (b"cprt", b"text\0\0\0\0" + b"none\0\0\0\0"),
        *extra,
    ]
    offset = 128 + 4 + 12 * len(tags)
    table, data = b"", b""
    for sig, body in tags:
        while (offset + len(data)) % 4:
            data += b"\0"
        table += sig + struct.pack(">II", offset + len(data), len(body))
        data += body
    while len(data) % 4:
        data += b"\0"
    size = offset + len(data)
    header = struct.pack(">I", size) + b"lcms" + struct.pack(">I", 0x02100000) + b"mntrRGB XYZ "
    header += b"\0" * 12 + b"acsp" + b"APPL" + b"\0" * 4 + b"\0" * 8 + b"\0" * 8 + b"\0" * 4
    header += _s15(0.9642) + _s15(1.0) + _s15(0.8249) + b"lcms" + b"\0" * 16 + b"\0" * 28
    assert len(header) == 128
    return header + struct.pack(">I", len(tags)) + table + data


def save(im: Image.Image, path: Path, **kw: object) -> Path:
    im.save(path, **kw)
    return path


def to_u8(x: np.ndarray) -> np.ndarray:
    return np.round(np.clip(x, 0, 1) * 255).astype(np.uint8)
