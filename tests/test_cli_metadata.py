"""Metadata through ``photoenhance run``: EXIF (all IFDs, GPS, MakerNote, Orientation 1-8),
ICC profiles (sRGB and a wide-gamut one) and alpha."""

from __future__ import annotations

import io
import struct
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import piexif
import pytest
from PIL import ExifTags, Image, ImageCms

OUT_SUFFIX = {"jpeg": ".jpg", "png": ".png", "tiff": ".tif", "webp": ".webp"}
# Offsets/pointers that legitimately change when a file is rewritten.
POINTER_TAGS = {
    "0th": {piexif.ImageIFD.ExifTag, piexif.ImageIFD.GPSTag},
    "Exif": {piexif.ExifIFD.InteroperabilityTag},
    "GPS": set(),
    "Interop": set(),
}


def exif_dict(orientation: int) -> dict[str, Any]:
    """EXIF with 0th, Exif, GPS, Interop and 1st IFDs, a MakerNote and a thumbnail."""
    thumb = io.BytesIO()
    Image.new("RGB", (32, 24), (200, 10, 10)).save(thumb, "JPEG")
    return {
        "0th": {
            piexif.ImageIFD.Make: b"PhoneCo",
            piexif.ImageIFD.Model: b"Pixelator 9",
            piexif.ImageIFD.Orientation: orientation,
            piexif.ImageIFD.Software: b"Camera 1.0",
            piexif.ImageIFD.DateTime: b"2024:05:06 07:08:09",
            piexif.ImageIFD.XResolution: (72, 1),
            piexif.ImageIFD.YResolution: (72, 1),
            piexif.ImageIFD.ResolutionUnit: 2,
        },
        "Exif": {
            piexif.ExifIFD.DateTimeOriginal: b"2024:05:06 07:08:09",
            piexif.ExifIFD.ExposureTime: (1, 120),
            piexif.ExifIFD.FNumber: (18, 10),
            piexif.ExifIFD.ISOSpeedRatings: 100,
            piexif.ExifIFD.MakerNote: bytes(range(256)) * 3,
            piexif.ExifIFD.UserComment: b"ASCII\x00\x00\x00hello",
            piexif.ExifIFD.LensModel: b"Main camera",
        },
        "GPS": {
            piexif.GPSIFD.GPSVersionID: (2, 2, 0, 0),
            piexif.GPSIFD.GPSLatitudeRef: b"N",
            piexif.GPSIFD.GPSLatitude: ((52, 1), (31, 1), (1234, 100)),
            piexif.GPSIFD.GPSLongitudeRef: b"E",
            piexif.GPSIFD.GPSLongitude: ((13, 1), (24, 1), (5678, 100)),
            piexif.GPSIFD.GPSAltitude: (345, 10),
        },
        "Interop": {piexif.InteropIFD.InteroperabilityIndex: b"R98"},
        "1st": {
            piexif.ImageIFD.Compression: 6,
            piexif.ImageIFD.XResolution: (72, 1),
            piexif.ImageIFD.YResolution: (72, 1),
            piexif.ImageIFD.ResolutionUnit: 2,
        },
        "thumbnail": thumb.getvalue(),
    }


def read_exif(path: Path) -> dict[str, Any]:
    """piexif view of a file's EXIF (JPEG/WebP directly, PNG via eXIf, TIFF via its IFD0)."""
    if path.suffix in (".png", ".tif"):
        with Image.open(path) as im:
            tags = im.getexif()
            for ifd in (ExifTags.IFD.Exif, ExifTags.IFD.GPSInfo, ExifTags.IFD.Interop):
                tags.get_ifd(ifd)  # load sub-IFDs so that tobytes() re-serialises them
            raw = im.info["exif"] if path.suffix == ".png" else tags.tobytes()
        return piexif.load(raw if raw.startswith(b"Exif") else b"Exif\x00\x00" + raw)
    return piexif.load(str(path))


def semantic(ifd: str, tag: int, value: Any) -> Any:
    """A value normalised so that re-encodings that keep its meaning compare equal
    (rationals reduced; UNDEFINED bytes vs BYTE tuples)."""
    if isinstance(value, bytes):
        value = tuple(value)
    kind = piexif.TAGS["Image" if ifd in ("0th", "1st") else ifd].get(tag, {}).get("type")
    if kind in (5, 10):
        pairs = value if value and isinstance(value[0], tuple) else (value,)
        return tuple(Fraction(a, b) for a, b in pairs)
    return value


def assert_exif_equal(
    src: dict[str, Any],
    out: dict[str, Any],
    *,
    exact: bool,
    ifds: tuple[str, ...] = ("0th", "Exif", "GPS", "Interop"),
) -> None:
    """Tag-level equality of 0th/Exif/GPS/Interop (Software too: the camera's is kept),
    except pointers and thumbnail."""
    for ifd in ifds:
        want = {k: v for k, v in src[ifd].items() if k not in POINTER_TAGS[ifd]}
        got = {k: v for k, v in out[ifd].items() if k not in POINTER_TAGS[ifd]}
        if exact:
            assert got == want, ifd
        else:  # TIFF: IFD0 also holds the file's structural tags; Pillow re-types values
            norm_want = {k: semantic(ifd, k, v) for k, v in want.items()}
            norm_got = {k: semantic(ifd, k, got[k]) if k in got else None for k in want}
            assert norm_got == norm_want, ifd
    assert out["0th"][piexif.ImageIFD.Software] == src["0th"][piexif.ImageIFD.Software]


def make_jpeg_with_exif(make_photo: Any, path: Path, orientation: int) -> dict[str, Any]:
    make_photo(path, seed=orientation, quality=90, exif=piexif.dump(exif_dict(orientation)))
    return piexif.load(str(path))


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_round_trip_every_orientation(
    cli: Any, tmp_path: Path, make_photo: Any, orientation: int
) -> None:
    src = tmp_path / "in" / "photo.jpg"
    before = make_jpeg_with_exif(make_photo, src, orientation)
    r = cli("run", src, "-o", tmp_path / "out")
    assert r.exit_code == 0, r.output
    dst = tmp_path / "out" / "photo.jpg"
    after = read_exif(dst)
    assert_exif_equal(before, after, exact=True)
    assert after["0th"][piexif.ImageIFD.Orientation] == orientation
    with Image.open(dst) as im:
        assert im.size == (96, 64)  # pixels stay in stored orientation


@pytest.mark.parametrize("fmt", ["png", "tiff", "webp"])
def test_exif_round_trip_format_conversions(
    cli: Any, tmp_path: Path, make_photo: Any, fmt: str
) -> None:
    src = tmp_path / "in" / "photo.jpg"
    before = make_jpeg_with_exif(make_photo, src, 6)
    r = cli("run", src, "-o", tmp_path / "out", "--format", fmt)
    assert r.exit_code == 0, r.output
    after = read_exif(tmp_path / "out" / f"photo{OUT_SUFFIX[fmt]}")
    if fmt == "tiff":  # Interop: see test_exif_tiff_interop_ifd
        assert_exif_equal(before, after, exact=False, ifds=("0th", "Exif", "GPS"))
    else:
        assert_exif_equal(before, after, exact=True)


def test_exif_tiff_interop_ifd(cli: Any, tmp_path: Path, make_photo: Any) -> None:
    src = tmp_path / "in" / "photo.jpg"
    before = make_jpeg_with_exif(make_photo, src, 1)
    assert cli("run", src, "-o", tmp_path / "out", "--format", "tiff").exit_code == 0
    after = read_exif(tmp_path / "out" / "photo.tif")
    assert_exif_equal(before, after, exact=False, ifds=("Interop",))


# --------------------------------------------------------------------------- ICC


def _s15(v: float) -> bytes:
    return struct.pack(">i", round(v * 65536))


def p3_icc() -> bytes:
    """A v2 matrix/TRC Display-P3-like RGB profile, written by hand."""

    def xyz(v: tuple[float, float, float]) -> bytes:
        return b"XYZ \0\0\0\0" + b"".join(_s15(c) for c in v)

    text = b"Test P3\0"
    desc = (
        b"desc\0\0\0\0" + struct.pack(">I", len(text)) + text + b"\0" * 8 + b"\0\0\0" + b"\0" * 67
    )
    curv = b"curv\0\0\0\0" + struct.pack(">IH", 1, round(2.2 * 256)) + b"\0\0"
    tags = [
        (b"desc", desc),
        (b"wtpt", xyz((0.9642, 1.0, 0.8249))),
        (b"rXYZ", xyz((0.5151, 0.2412, -0.0011))),
        (b"gXYZ", xyz((0.2919, 0.6922, 0.0419))),
        (b"bXYZ", xyz((0.1572, 0.0666, 0.7841))),
        (b"rTRC", curv),
        (b"gTRC", curv),
        (b"bTRC", curv),
        (b"cprt", b"text\0\0\0\0none\0\0\0\0"),
    ]
    offset = 128 + 4 + 12 * len(tags)
    table, data = b"", b""
    for sig, body in tags:
        data += b"\0" * (-(offset + len(data)) % 4)
        table += sig + struct.pack(">II", offset + len(data), len(body))
        data += body
    data += b"\0" * (-len(data) % 4)
    header = (
        struct.pack(">I", offset + len(data))
        + b"lcms"
        + struct.pack(">I", 0x02100000)
        + b"mntrRGB XYZ "
    )
    header += b"\0" * 12 + b"acsp" + b"APPL" + b"\0" * 24
    header += _s15(0.9642) + _s15(1.0) + _s15(0.8249) + b"lcms" + b"\0" * 44
    assert len(header) == 128
    return header + struct.pack(">I", len(tags)) + table + data


def srgb_icc() -> bytes:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


@pytest.mark.parametrize("profile", ["srgb", "p3"])
@pytest.mark.parametrize("fmt", ["jpeg", "png", "tiff", "webp"])
def test_icc_profile_round_trip(
    cli: Any, tmp_path: Path, make_photo: Any, profile: str, fmt: str
) -> None:
    icc = srgb_icc() if profile == "srgb" else p3_icc()
    # moderate saturation: every colour is inside sRGB (the decoder works in sRGB)
    px = np.asarray(Image.open(make_photo(tmp_path / "seed.png", seed=5))) // 2 + 64
    src = tmp_path / "in" / "photo.png"
    src.parent.mkdir()
    Image.fromarray(px, "RGB").save(src, icc_profile=icc)
    out = tmp_path / "out"
    r = cli("run", src, "-o", out, "--format", fmt, "--strength", "0", "--quality", "95")
    assert r.exit_code == 0, r.output
    dst = out / f"photo{OUT_SUFFIX[fmt]}"
    with Image.open(dst) as im:
        assert im.info.get("icc_profile") == icc
        got = np.asarray(im.convert("RGB")).astype(int)
    # strength 0: the pixels come back in the source's colour space, unchanged
    diff = np.abs(got - px.astype(int))
    if fmt in ("png", "tiff"):
        assert diff.max() <= 1
    else:  # lossy
        assert diff.mean() < 2.0


# --------------------------------------------------------------------------- alpha


@pytest.mark.parametrize("suffix", [".png", ".tif", ".webp"])
def test_alpha_kept(cli: Any, tmp_path: Path, make_photo: Any, suffix: str) -> None:
    src = make_photo(
        tmp_path / "in" / f"a{suffix}",
        mode="RGBA",
        **({"lossless": True} if suffix == ".webp" else {}),
    )
    r = cli("run", src, "-o", tmp_path / "out")
    assert r.exit_code == 0, r.output
    with Image.open(src) as a, Image.open(tmp_path / "out" / f"a{suffix}") as b:
        assert b.mode == "RGBA"
        diff = np.abs(np.asarray(a)[..., 3].astype(int) - np.asarray(b)[..., 3].astype(int)).max()
    assert diff == 0
