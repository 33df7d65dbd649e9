"""Metadata carry-over checked at tag level with piexif, plus colour management."""

from __future__ import annotations

import io
import struct
from pathlib import Path

import numpy as np
import piexif
import pytest
from _iohelpers import P3_XYZ, exif_bytes, full_exif_dict, matrix_icc, smooth_rgb, to_u8
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image, ImageCms, PngImagePlugin

from photoenhance.io import output_suffix, read_image, write_image
from photoenhance.io.exif import edit_exif, strip_prefix

XMP = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF/>caf\xc3\xa9</x:xmpmeta>'
IFDS = ("0th", "Exif", "GPS", "Interop", "1st")
POINTERS = {piexif.ImageIFD.ExifTag, piexif.ImageIFD.GPSTag, piexif.ExifIFD.InteroperabilityTag,
            piexif.ImageIFD.JPEGInterchangeFormat, piexif.ImageIFD.JPEGInterchangeFormatLength}  # fmt: skip


def strip(d: dict, ifd: str, *, drop: tuple[int, ...] = ()) -> dict:
    return {k: v for k, v in d[ifd].items() if k not in POINTERS and k not in drop}


def norm(d: dict) -> dict:
    """Tag values compared by meaning: byte tuples as bytes, rationals as fractions."""
    from fractions import Fraction

    def one(v: object) -> object:
        if isinstance(v, tuple) and v and all(isinstance(x, int) and 0 <= x < 256 for x in v) and len(v) != 2:
            return bytes(v)
        if isinstance(v, tuple) and len(v) == 2 and all(isinstance(x, int) for x in v) and v[1]:
            return Fraction(v[0], v[1])
        if isinstance(v, tuple):
            return tuple(one(x) for x in v)
        return v

    return {k: one(v) for k, v in d.items()}


def assert_exif_carried(src: bytes, out: bytes, software: str, *, tiff_target: bool = False, blue: bool = False) -> None:
    a, b = piexif.load(src), piexif.load(out)
    assert b["0th"][piexif.ImageIFD.Software] == a["0th"][piexif.ImageIFD.Software] != software.encode()
    extra0 = (282, 283, 296) if tiff_target else ()  # TIFF IFD0 also holds resolution
    assert strip(a, "0th") == strip(b, "0th", drop=extra0)
    # every format, TIFF included: Exif/GPS/Interop tags exact (types, unreduced rationals)
    for ifd in ("Exif", "GPS", "Interop"):
        assert strip(a, ifd) == strip(b, ifd), ifd
    assert norm(b["Exif"])[piexif.ExifIFD.MakerNote] == norm(a["Exif"])[piexif.ExifIFD.MakerNote]
    if tiff_target:  # TIFF outputs carry no EXIF thumbnail (IFD1 is dropped)
        assert b["thumbnail"] is None and b["1st"] == {}
    elif a["thumbnail"]:  # regenerated, never the stale original, and never dropped
        assert b["thumbnail"], "the EXIF thumbnail was dropped"
        assert b["thumbnail"] != a["thumbnail"]
        assert strip(a, "1st") == strip(b, "1st")
        with Image.open(io.BytesIO(b["thumbnail"])) as t:
            assert not blue or np.asarray(t.convert("RGB")).mean(axis=(0, 1))[2] > 150  # blue, not the red original


def source_jpeg(tmp_path: Path, orientation: int = 6) -> Path:
    p = tmp_path / "src.jpg"
    Image.fromarray(smooth_rgb(24, 32)).save(
        p, quality=92, exif=piexif.dump(full_exif_dict(orientation)), xmp=XMP, dpi=(300, 300),
        icc_profile=matrix_icc(P3_XYZ), comment=b"a comment",
    )
    return p


@pytest.mark.parametrize("fmt", ["jpeg", "png", "webp", "tiff"])
def test_jpeg_metadata_carried_to_every_format(tmp_path: Path, fmt: str) -> None:
    src = source_jpeg(tmp_path)
    img = read_image(src)
    assert img.warnings == ()
    blue = np.zeros_like(img.rgb)
    blue[..., 2] = 1.0
    out = tmp_path / f"out{output_suffix(fmt)}"
    write_image(out, img, blue, format=fmt, software="photoenhance 1.2")
    back = read_image(out)
    assert back.metadata.exif is not None
    assert_exif_carried(img.metadata.exif or b"", back.metadata.exif, "photoenhance 1.2", tiff_target=fmt == "tiff", blue=True)
    assert piexif.load(back.metadata.exif)["0th"][piexif.ImageIFD.Orientation] == 6
    assert back.metadata.icc_profile == img.metadata.icc_profile  # original bytes, unchanged
    assert back.metadata.xmp == XMP
    if fmt != "webp":
        assert back.metadata.dpi == pytest.approx((300, 300), abs=0.01)
    assert back.rgb.shape == img.rgb.shape  # stored orientation, never transposed


@pytest.mark.parametrize("orientation", range(1, 9))
@pytest.mark.parametrize("fmt", ["jpeg", "tiff", "png"])
def test_orientation_kept_and_pixels_stored(tmp_path: Path, orientation: int, fmt: str) -> None:
    d = full_exif_dict(orientation, thumbnail=False)
    a = smooth_rgb(6, 10)
    src = tmp_path / f"o{output_suffix(fmt)}"
    if fmt == "tiff":
        e = Image.Exif()
        e.load(piexif.dump(d))
        Image.fromarray(a).save(src, tiffinfo=e)
    else:
        Image.fromarray(a).save(src, exif=piexif.dump(d))
    img = read_image(src)
    assert img.rgb.shape == (6, 10, 3)
    if fmt != "jpeg":
        np.testing.assert_array_equal(to_u8(img.rgb), a)
    out = tmp_path / f"out{output_suffix(fmt)}"
    write_image(out, img, img.rgb)
    back = read_image(out)
    assert piexif.load(back.metadata.exif)["0th"][piexif.ImageIFD.Orientation] == orientation
    assert back.rgb.shape == (6, 10, 3)


def test_png_text_icc_dpi_and_format_change(tmp_path: Path) -> None:
    info = PngImagePlugin.PngInfo()
    info.add_text("Title", "Sunset")
    info.add_itxt("Description", "Straße – ünïcode")
    info.add_itxt("XML:com.adobe.xmp", XMP.decode())
    src = tmp_path / "t.png"
    Image.fromarray(smooth_rgb(8, 8)).save(src, pnginfo=info, dpi=(144, 144), exif=piexif.dump(full_exif_dict()))
    img = read_image(src)
    assert dict(img.metadata.png_text) == {"Title": "Sunset", "Description": "Straße – ünïcode"}
    out = tmp_path / "o.png"
    write_image(out, img, img.rgb)
    back = read_image(out)
    assert back.metadata.png_text == img.metadata.png_text
    assert back.metadata.xmp == XMP
    assert back.metadata.dpi == pytest.approx((144, 144), abs=0.01)
    assert_exif_carried(img.metadata.exif or b"", back.metadata.exif or b"", "photoenhance")
    jpg = tmp_path / "o.jpg"
    write_image(jpg, img, img.rgb, format="jpeg")
    back = read_image(jpg)
    assert back.metadata.xmp == XMP and back.metadata.dpi == (144, 144)
    assert_exif_carried(img.metadata.exif or b"", back.metadata.exif or b"", "photoenhance")


def test_jpeg_comment_and_no_exif_source(tmp_path: Path) -> None:
    src = tmp_path / "plain.jpg"
    Image.fromarray(smooth_rgb(8, 8)).save(src, comment=b"hi")
    img = read_image(src)
    assert img.metadata.exif is None and img.metadata.comment == b"hi"
    out = tmp_path / "o.jpg"
    write_image(out, img, img.rgb, software="pe")
    back = read_image(out)
    assert back.metadata.comment == b"hi"
    assert piexif.load(back.metadata.exif)["0th"] == {piexif.ImageIFD.Software: b"pe"}


def test_edit_exif_keeps_makernote_offsets_in_place() -> None:
    raw = exif_bytes(full_exif_dict())
    edited = edit_exif(raw, software="x", thumbnail=None)
    assert edited.warnings == ()
    loaded = piexif.load(edited.data)
    assert loaded["thumbnail"] is None and loaded["1st"] == {}
    mn = full_exif_dict()["Exif"][piexif.ExifIFD.MakerNote]
    assert raw.index(mn) == edited.data.index(mn)  # byte-identical and at the same offset


def _bad_exif_blobs() -> dict[str, bytes]:
    good = exif_bytes(full_exif_dict(thumbnail=False))
    bad_offset = good[:4] + struct.pack(">I", 0xFFFF00)
    wrong_type = bytearray(good)
    # turn the first IFD0 entry (Make, ASCII) into an unknown type 99
    wrong_type[10 + 2 : 10 + 4] = struct.pack(">H", 99)
    zero_len = exif_bytes({"0th": {piexif.ImageIFD.Make: b"", piexif.ImageIFD.Model: b""}})
    huge = exif_bytes({"0th": {piexif.ImageIFD.Make: b"X"}, "Exif": {piexif.ExifIFD.MakerNote: b"\x07" * 70000}})
    sub_ifd_oob = bytearray(good)
    pos = good.index(struct.pack(">HHI", piexif.ImageIFD.ExifTag, 4, 1))
    sub_ifd_oob[pos + 8 : pos + 12] = struct.pack(">I", 0x7FFFFFF0)
    return {"bad_offset": bad_offset, "wrong_type": bytes(wrong_type), "zero_len": zero_len,
            "huge_makernote": huge, "sub_ifd_out_of_range": bytes(sub_ifd_oob), "garbage": b"MM\x00*junk"}  # fmt: skip


@pytest.mark.parametrize("name", list(_bad_exif_blobs()))
@pytest.mark.parametrize("fmt", ["png", "jpeg"])
def test_broken_exif_never_loses_the_photo(tmp_path: Path, name: str, fmt: str) -> None:
    blob = _bad_exif_blobs()[name]
    src = tmp_path / f"b{output_suffix(fmt)}"
    if fmt == "jpeg" and len(blob) > 65000:  # cannot exist in a JPEG source; PNG covers it
        pytest.skip("EXIF larger than one JPEG segment cannot be embedded in a JPEG source")
    Image.fromarray(smooth_rgb(8, 8)).save(src, exif=(b"Exif\x00\x00" if fmt == "jpeg" else b"") + blob)
    img = read_image(src)
    assert img.metadata.exif == blob  # raw bytes kept
    for target in ("png", "jpeg", "webp", "tiff"):
        out = tmp_path / f"o{output_suffix(target)}"
        write_image(out, img, img.rgb, format=target)
        assert read_image(out).rgb.shape == (8, 8, 3)
    if name in ("bad_offset", "garbage"):
        assert any("EXIF" in w for w in img.warnings)
        out = tmp_path / "o.png"
        write_image(out, img, img.rgb)
        assert read_image(out).metadata.exif == blob  # carried unchanged


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=300), st.booleans())
def test_fuzz_edit_exif_never_raises(data: bytes, with_header: bool) -> None:
    blob = (b"MM\x00*\x00\x00\x00\x08" + data) if with_header else data
    out = edit_exif(blob, software="pe", thumbnail=b"\xff\xd8\xff\xd9")
    assert isinstance(out.data, bytes)
    if out.warnings:  # unchanged (apart from a leading Exif\0\0, which is always removed)
        assert out.data == strip_prefix(blob)


_ascii = st.binary(min_size=0, max_size=20).map(lambda b: bytes(c % 95 + 32 for c in b))


@settings(max_examples=25, deadline=None)
@given(
    make=_ascii,
    model=_ascii,
    orientation=st.integers(1, 8),
    iso=st.integers(0, 65535),
    exposure=st.tuples(st.integers(1, 10**6), st.integers(1, 10**6)),
    makernote=st.binary(max_size=2000),
    thumb=st.booleans(),
    fmt=st.sampled_from(["png", "jpeg", "webp", "tiff"]),
)
def test_fuzz_exif_carry(
    tmp_path_factory: pytest.TempPathFactory, make: bytes, model: bytes, orientation: int,
    iso: int, exposure: tuple[int, int], makernote: bytes, thumb: bool, fmt: str,
) -> None:  # fmt: skip
    d = full_exif_dict(orientation, thumbnail=thumb)
    d["0th"][piexif.ImageIFD.Make] = make
    d["0th"][piexif.ImageIFD.Model] = model
    d["Exif"][piexif.ExifIFD.ISOSpeedRatings] = iso
    d["Exif"][piexif.ExifIFD.ExposureTime] = exposure
    d["Exif"][piexif.ExifIFD.MakerNote] = makernote
    tmp = tmp_path_factory.mktemp("fz")
    src = tmp / "s.png"
    Image.fromarray(smooth_rgb(5, 7)).save(src, exif=piexif.dump(d))
    img = read_image(src)
    out = tmp / f"o{output_suffix(fmt)}"
    write_image(out, img, np.zeros_like(img.rgb) + np.array([0, 0, 1], np.float32), format=fmt)
    assert_exif_carried(img.metadata.exif or b"", read_image(out).metadata.exif or b"", "photoenhance", tiff_target=fmt == "tiff", blue=True)


# ----------------------------------------------------------------------------- colour


@pytest.mark.parametrize("fmt", ["png", "jpeg", "tiff"])
def test_wide_gamut_identity_no_colour_shift(tmp_path: Path, fmt: str) -> None:
    p3 = matrix_icc(P3_XYZ, desc="Display P3 (test)")
    a = smooth_rgb(32, 48, lo=0.3, hi=0.7)
    src = tmp_path / f"p3{output_suffix(fmt)}"
    Image.fromarray(a).save(src, icc_profile=p3, **({"quality": 98} if fmt == "jpeg" else {}))
    img = read_image(src)
    # rgb is sRGB: matches LittleCMS's conversion of the same pixels
    with Image.open(src) as im:
        ref = ImageCms.profileToProfile(im, ImageCms.ImageCmsProfile(io.BytesIO(p3)), ImageCms.createProfile("sRGB"))
        assert np.abs(img.rgb * 255 - np.asarray(ref, np.float32)).mean() < 1.0
    assert not np.allclose(img.rgb, np.asarray(Image.open(src).convert("RGB")) / 255, atol=2 / 255)
    out = tmp_path / f"o{output_suffix(fmt)}"
    write_image(out, img, img.rgb)
    with Image.open(out) as o, Image.open(src) as s:
        assert o.info["icc_profile"] == p3
        err = np.abs(np.asarray(o.convert("RGB"), np.float32) - np.asarray(s.convert("RGB"), np.float32)).mean()
    assert err < 1.5, err


def test_srgb_and_untagged_not_converted(tmp_path: Path) -> None:
    a = smooth_rgb(8, 8, lo=0.0, hi=1.0)
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    for name, kw in (("tagged.png", {"icc_profile": srgb}), ("untagged.png", {})):
        p = tmp_path / name
        Image.fromarray(a).save(p, **kw)
        img = read_image(p)
        np.testing.assert_array_equal(to_u8(img.rgb), a)
        out = tmp_path / f"o_{name}"
        write_image(out, img, img.rgb)
        with Image.open(out) as o:
            np.testing.assert_array_equal(np.asarray(o), a)
            assert o.info.get("icc_profile") == kw.get("icc_profile")


# ----------------------------------------------------------------------------- TIFF EXIF


def test_tiff_output_keeps_exif_sub_ifds_byte_exact(tmp_path: Path) -> None:
    """JPEG (big-endian EXIF) -> TIFF: Interop IFD present, types and rationals unchanged."""
    import warnings

    from PIL import ExifTags

    src = source_jpeg(tmp_path)
    img = read_image(src)
    out = tmp_path / "o.tif"
    write_image(out, img, img.rgb, format="tiff")
    a = piexif.load(img.metadata.exif or b"")
    b = piexif.load(out.read_bytes())  # piexif parses the TIFF file's own IFDs
    for ifd in ("Exif", "GPS", "Interop"):
        assert strip(a, ifd) == strip(b, ifd), ifd  # exact: MakerNote bytes, (18, 10) unreduced
    assert b["Exif"][piexif.ExifIFD.FNumber] == (18, 10)
    assert b["Interop"][piexif.InteropIFD.InteroperabilityIndex] == b"R98"
    assert b["0th"][piexif.ImageIFD.Model] == "Pixelator 9 é".encode()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "Tag data larger than file" / "Corrupt EXIF data"
        with Image.open(out) as im:
            exif = im.getexif()
            assert exif.get_ifd(ExifTags.IFD.Interop)[1] == "R98"
            tags = exif.get_ifd(ExifTags.IFD.Exif)
            assert tags[piexif.ExifIFD.MakerNote] == bytes(range(256)) * 4
            assert sorted(im.size) == sorted(img.rgb.shape[:2])


@pytest.mark.parametrize("fmt", ["tiff", "jpeg"])
def test_tiff_source_exif_copied_raw(tmp_path: Path, fmt: str) -> None:
    """TIFF -> TIFF/JPEG: the source's EXIF (all sub-IFDs) comes through exactly."""
    first = tmp_path / "first.tif"
    img0 = read_image(source_jpeg(tmp_path))
    write_image(first, img0, img0.rgb, format="tiff", software="cam")
    img = read_image(first)
    assert not img.warnings
    assert img.metadata.exif is not None
    out = tmp_path / f"o{output_suffix(fmt)}"
    write_image(out, img, img.rgb, format=fmt)
    a = piexif.load(img0.metadata.exif or b"")
    b = piexif.load(out.read_bytes() if fmt == "tiff" else str(out))
    for ifd in ("Exif", "GPS", "Interop"):
        assert strip(a, ifd) == strip(b, ifd), ifd
    assert b["0th"][piexif.ImageIFD.Orientation] == 6
    assert b["0th"][piexif.ImageIFD.Software] == b"Camera 1.0"  # the camera's, kept


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=300), st.sampled_from([b"MM\x00*\x00\x00\x00\x08", b"II*\x00\x08\x00\x00\x00", b""]))
def test_fuzz_tiff_exif_merge_fails_cleanly(data: bytes, header: bytes) -> None:
    """Arbitrary EXIF: merging into a TIFF succeeds (readable file) or raises the handled errors."""
    from photoenhance.io.exif import ExifFormatError, exif_from_tiff, merge_exif_into_tiff

    buf = io.BytesIO()
    Image.new("RGB", (1, 1)).save(buf, "TIFF", compression="raw")
    try:
        merged = merge_exif_into_tiff(buf.getvalue(), header + data, skip=frozenset())
    except (ExifFormatError, struct.error):
        return
    with Image.open(io.BytesIO(merged.data)) as im:
        assert im.size == (1, 1)
    assert exif_from_tiff(merged.data, skip=frozenset()).data[:4] == b"II*\x00"
