"""write_image: modes, bit depths, formats, quality/subsampling, identity round trips."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest
from _iohelpers import smooth_rgb, to_u8
from PIL import Image, JpegImagePlugin

from photoenhance.io import ImageWriteError, output_suffix, read_image, write_image
from photoenhance.io.colour import is_srgb, parse_profile


def roundtrip(tmp_path: Path, src: Path, fmt: str | None = None, **kw: object):  # type: ignore[no-untyped-def]
    img = read_image(src)
    out = tmp_path / f"out{output_suffix(fmt or img.format)}"
    write_image(out, img, img.rgb, format=fmt, **kw)  # type: ignore[arg-type]
    return img, out, read_image(out)


def test_output_suffix() -> None:
    assert [output_suffix(f) for f in ("jpeg", "png", "tiff", "webp", "heif")] == [".jpg", ".png", ".tif", ".webp", ".heic"]
    assert output_suffix("JPG") == ".jpg"
    with pytest.raises(ValueError):
        output_suffix("gif")


@pytest.mark.parametrize("ext", ["png", "tif"])
@pytest.mark.parametrize("mode", ["RGB", "RGBA", "L", "LA"])
def test_lossless_identity_8bit(tmp_path: Path, ext: str, mode: str) -> None:
    a = smooth_rgb(13, 17)
    alpha = np.random.default_rng(0).integers(0, 256, (13, 17), dtype=np.uint8)
    im = Image.fromarray(np.dstack([a, alpha]), "RGBA").convert(mode)
    src = tmp_path / f"src.{ext}"
    im.save(src)
    _img, out, back = roundtrip(tmp_path, src)
    with Image.open(out) as o:
        assert o.mode == mode
        np.testing.assert_array_equal(np.asarray(o), np.asarray(im))
    assert back.mode == mode


@pytest.mark.parametrize("ext", ["png", "tif"])
@pytest.mark.parametrize("channels", [1, 3, 4])
def test_16bit_identity(tmp_path: Path, ext: str, channels: int) -> None:
    rng = np.random.default_rng(5)
    px = (rng.random((7, 9, channels)) * 65535).astype(np.uint16)
    src = tmp_path / f"src16.{ext}"
    if channels == 1:
        Image.fromarray(px[..., 0]).save(src)
    else:  # Pillow cannot write 48/64-bit: use our own writer once to make the source
        import io

        from photoenhance.io.sixteen import png16, tiff_deflate

        buf = io.BytesIO()
        mode = "RGB" if channels == 3 else "RGBA"
        Image.new(mode, (1, 1)).save(buf, "PNG" if ext == "png" else "TIFF", **({} if ext == "png" else {"compression": "raw"}))
        src.write_bytes((png16 if ext == "png" else tiff_deflate)(buf.getvalue(), px))
    img, _out, back = roundtrip(tmp_path, src)
    assert img.bit_depth == back.bit_depth == 16
    np.testing.assert_array_equal(back.rgb, img.rgb)
    if channels == 4:
        np.testing.assert_array_equal(back.alpha, img.alpha)
        np.testing.assert_array_equal(np.round(back.alpha * 65535).astype(np.uint16), px[..., 3])


@pytest.mark.parametrize("fmt", ["jpeg", "webp"])
def test_16bit_to_8bit_formats(tmp_path: Path, fmt: str) -> None:
    src = tmp_path / "g16.png"
    Image.fromarray(smooth_rgb(10, 10)[..., 0].astype(np.uint16) * 257).save(src)
    _, _out, back = roundtrip(tmp_path, src, fmt)
    assert back.bit_depth == 8


def test_grey_written_as_luma(tmp_path: Path) -> None:
    src = tmp_path / "g.png"
    Image.fromarray(smooth_rgb(6, 6)[..., 0]).save(src)
    img = read_image(src)
    enhanced = img.rgb.copy()
    enhanced[..., 0] = 1.0  # colourful "enhancement"
    out = tmp_path / "g_out.png"
    write_image(out, img, enhanced)
    with Image.open(out) as o:
        assert o.mode == "L"
        expected = np.round(np.clip(enhanced @ np.array([0.299, 0.587, 0.114]), 0, 1) * 255)
        np.testing.assert_allclose(np.asarray(o), expected, atol=1)
    _, _out_webp, back = roundtrip(tmp_path, src, "webp")
    assert back.mode == "RGB"  # WebP has no grey mode: R=G=B


def test_palette_written_as_rgb_or_rgba(tmp_path: Path) -> None:
    im = Image.fromarray(np.array([[0, 1], [2, 1]], np.uint8), "P")
    im.putpalette([255, 0, 0, 0, 255, 0, 0, 0, 255])
    src = tmp_path / "p.png"
    im.save(src)
    _, out, back = roundtrip(tmp_path, src)
    assert Image.open(out).mode == "RGB"
    im.save(src, transparency=1)
    _, out, back = roundtrip(tmp_path, src)
    assert Image.open(out).mode == "RGBA"
    np.testing.assert_array_equal(back.alpha, [[1, 0], [1, 0]])


def test_cmyk_written_as_rgb_jpeg(tmp_path: Path) -> None:
    src = tmp_path / "cmyk.jpg"
    Image.new("CMYK", (8, 8), (0, 255, 255, 0)).save(src)
    _, out, _back = roundtrip(tmp_path, src)
    with Image.open(out) as o:
        assert o.mode == "RGB"
        # a CMYK profile cannot tag RGB pixels: an sRGB profile is embedded instead
        assert is_srgb(parse_profile(o.info["icc_profile"]))


def test_cmyk_output_is_reproducible_whatever_the_clock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 20 item 8: LittleCMS stamps the current date into the sRGB profile it makes, so
    the bytes of a CMYK source's output changed from one second to the next (reruns, a pipe
    and a file, Ray and local all differed).  The clock is faked here by stamping two different
    dates into what LittleCMS returns: the written files must not change."""
    from PIL import ImageCms

    src = tmp_path / "cmyk.jpg"
    Image.new("CMYK", (8, 8), (0, 255, 255, 0)).save(src)
    img = read_image(src)
    real = ImageCms.ImageCmsProfile.tobytes
    outs = []
    for year in (1999, 2031):

        def stamped(self: ImageCms.ImageCmsProfile, year: int = year) -> bytes:
            b = bytearray(real(self))
            b[24:36] = struct.pack(">6H", year, 3, 4, 5, 6, 7)
            return bytes(b)

        monkeypatch.setattr(ImageCms.ImageCmsProfile, "tobytes", stamped)
        out = tmp_path / f"out{year}.jpg"
        write_image(out, img, img.rgb)
        outs.append(out.read_bytes())
    assert outs[0] == outs[1]
    with Image.open(tmp_path / "out1999.jpg") as o:
        assert is_srgb(parse_profile(o.info["icc_profile"]))


def test_alpha_dropped_for_jpeg_kept_for_webp(tmp_path: Path) -> None:
    src = tmp_path / "a.png"
    a = np.dstack([smooth_rgb(8, 8), np.full((8, 8), 77, np.uint8)])
    Image.fromarray(a, "RGBA").save(src)
    _, _out, back = roundtrip(tmp_path, src, "jpeg")
    assert back.alpha is None
    _, _out, back = roundtrip(tmp_path, src, "webp")
    assert back.alpha is not None and np.all(to_u8(back.alpha) == 77)


def test_jpeg_quality_and_444(tmp_path: Path) -> None:
    src = tmp_path / "q.jpg"
    Image.fromarray(smooth_rgb(32, 32)).save(src, quality=90, subsampling=2)
    _, out, back = roundtrip(tmp_path, src)
    assert back.quality == 90
    with Image.open(out) as o:
        assert JpegImagePlugin.get_sampling(o) == 0
    for q_src, q_out in [(40, 75), (100, 98)]:
        Image.fromarray(smooth_rgb(32, 32)).save(src, quality=q_src)
        assert roundtrip(tmp_path, src)[2].quality == q_out
    png = tmp_path / "x.png"
    Image.fromarray(smooth_rgb(32, 32)).save(png)
    assert roundtrip(tmp_path, png, "jpeg")[2].quality == 95
    assert roundtrip(tmp_path, png, "jpeg", quality=80)[2].quality == 80


def test_tiff_is_deflate(tmp_path: Path) -> None:
    src = tmp_path / "x.png"
    Image.fromarray(smooth_rgb(20, 20)).save(src)
    _, out, _ = roundtrip(tmp_path, src, "tiff")
    with Image.open(out) as o:
        assert o.info["compression"] in ("tiff_adobe_deflate", "tiff_deflate")


@pytest.mark.parametrize("fmt", ["jpeg", "webp"])
def test_lossy_identity_is_close(tmp_path: Path, fmt: str) -> None:
    src = tmp_path / "x.png"
    Image.fromarray(smooth_rgb(64, 64)).save(src)
    img, _, back = roundtrip(tmp_path, src, fmt)
    assert np.abs(back.rgb - img.rgb).mean() < 2.5 / 255


def test_shape_mismatch_and_bad_args(tmp_path: Path) -> None:
    src = tmp_path / "x.png"
    Image.fromarray(smooth_rgb(4, 4)).save(src)
    img = read_image(src)
    with pytest.raises(ValueError):
        write_image(tmp_path / "o.png", img, np.zeros((3, 4, 3), np.float32))
    with pytest.raises(ValueError):
        write_image(tmp_path / "o.png", img, img.rgb, format="gif")
    with pytest.raises(ImageWriteError, match="does not exist"):
        write_image(tmp_path / "missing" / "o.png", img, img.rgb)


def test_out_of_range_pixels_clipped(tmp_path: Path) -> None:
    src = tmp_path / "x.png"
    Image.fromarray(smooth_rgb(4, 4)).save(src)
    img = read_image(src)
    bad = img.rgb * 3 - 1
    bad[0, 0, 0] = np.nan
    write_image(tmp_path / "o.png", img, bad)
    back = read_image(tmp_path / "o.png")
    assert back.rgb.min() >= 0 and back.rgb.max() <= 1


@pytest.mark.parametrize("mode,bits", [("RGB", 8), ("RGB", 16), ("RGBA", 8), ("RGBA", 16), ("L", 8), ("LA", 8), ("I;16", 16)])
def test_banded_quantise_matches_whole_image_formula(monkeypatch: pytest.MonkeyPatch, mode: str, bits: int) -> None:
    """Band-wise NaN cleaning + clip + rint is bit-identical to the whole-array formula."""
    from photoenhance.io import colour
    from photoenhance.io.decode import LUMA_WEIGHTS
    from photoenhance.io.encode import OutputPlan, _channels

    monkeypatch.setattr(colour, "_BAND_PIXELS", 7 * 5)  # several bands, one partial
    rng = np.random.default_rng(2)
    rgb = (rng.random((23, 7, 3)) * 1.4 - 0.2).astype(np.float32)
    rgb[0, 0] = [np.nan, np.inf, -np.inf]
    rgb[5, 3] = [0.5 / 255, 1.5 / 255, 2.5 / 255]  # exact halves: round half to even
    alpha = rng.random((23, 7)).astype(np.float32)
    top = 65535 if bits == 16 else 255
    clean = np.nan_to_num(rgb, nan=0.0, posinf=1.0, neginf=0.0)

    def q(x: np.ndarray, t: int = top) -> np.ndarray:
        return np.round(np.clip(x, 0.0, 1.0) * t).astype(np.uint16 if t == 65535 else np.uint8)

    got = _channels(rgb, alpha, OutputPlan("png", mode, bits, None, None))
    if mode in ("L", "LA", "I;16"):
        want = q(np.tensordot(clean, LUMA_WEIGHTS, axes=([2], [0])))
        if mode == "LA":
            want = np.stack([want, q(alpha, 255)], axis=-1)
    else:
        want = q(clean)
        if mode == "RGBA":
            want = np.concatenate([want, q(alpha)[..., None]], axis=-1)
    assert got.dtype == want.dtype
    np.testing.assert_array_equal(got, want)
    assert np.isnan(rgb[0, 0, 0])  # input untouched


def test_thumbnail_from_banded_box_reduce(monkeypatch: pytest.MonkeyPatch) -> None:
    from photoenhance.io import colour
    from photoenhance.io.encode import _box_reduce, _thumbnail

    monkeypatch.setattr(colour, "_BAND_PIXELS", 1000)
    rgb = np.zeros((700, 1300, 3), np.float32)
    rgb[..., 2] = 1.0
    rgb[:10] = np.nan
    small = _box_reduce(rgb, 640)
    assert small.shape == (350, 650, 3)
    assert small.min() >= 0.0 and small.max() <= 1.0
    with Image.open(__import__("io").BytesIO(_thumbnail(rgb))) as t:
        assert max(t.size) == 160
        assert np.asarray(t.convert("RGB"))[60:, :, 2].mean() > 240


def test_jpeg_written_without_huffman_optimisation(tmp_path: Path) -> None:
    """Speed: baseline JPEG with standard Huffman tables (same bytes as Pillow's default)."""
    import io

    src = tmp_path / "x.png"
    a = smooth_rgb(48, 64)
    Image.fromarray(a).save(src)
    img = read_image(src)
    out = tmp_path / "o.jpg"
    write_image(out, img, img.rgb, format="jpeg", quality=90)
    ref, opt = io.BytesIO(), io.BytesIO()
    Image.fromarray(a).save(ref, "JPEG", quality=90, subsampling=0, optimize=False)
    Image.fromarray(a).save(opt, "JPEG", quality=90, subsampling=0, optimize=True)
    with Image.open(out) as o:
        assert "progressive" not in o.info and "progression" not in o.info
        assert JpegImagePlugin.get_sampling(o) == 0

    def scan(data: bytes) -> bytes:  # the (single, baseline) scan: SOS header + entropy data
        return data[data.rindex(b"\xff\xda") :]

    assert scan(out.read_bytes()) == scan(ref.getvalue()) != scan(opt.getvalue())


@pytest.mark.parametrize("tagged", [False, True])
def test_encode_peak_memory_is_a_small_fraction(tmp_path: Path, tagged: bool) -> None:
    """No full-size float copies while encoding (NaN cleaning/colour/quantise are banded)."""
    import tracemalloc

    from _iohelpers import P3_XYZ, matrix_icc

    src = tmp_path / "big.png"
    Image.fromarray(smooth_rgb(1000, 1200)).save(src, **({"icc_profile": matrix_icc(P3_XYZ)} if tagged else {}))
    img = read_image(src)
    # once untraced: the colour code's lookup tables are built on first use and cached
    # (they are per-process, not per-image); without this the result depended on test order
    write_image(tmp_path / "warm.jpg", img, img.rgb, format="jpeg")
    tracemalloc.start()
    try:
        write_image(tmp_path / "o.jpg", img, img.rgb, format="jpeg")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # the 8-bit output buffer (1/4 of the float32 input) plus fixed-size band
    # temporaries (a few MiB whatever the image size); the old code needed 3-9x the input
    assert peak < img.rgb.nbytes // 4 + 16 * 2**20, peak / img.rgb.nbytes


@pytest.mark.parametrize("bits", [8, 16])
def test_fast_quantisation_equals_clean_then_quantise(bits: int) -> None:
    """The sRGB fast path (fmax/fmin) gives exactly what the general path gives for
    NaN, ±inf, out-of-range values and rounding ties, and leaves its input alone."""
    from photoenhance.io.encode import _clean_band, _quantise_clean_into, _quantise_into

    rng = np.random.default_rng(bits)
    x = (rng.random((40, 50, 3)) * 1.6 - 0.3).astype(np.float32)
    x[0, 0, 0], x[1, 1, 1], x[2, 2, 2] = np.nan, np.inf, -np.inf
    x[3, 3, 0], x[4, 4, 0] = 0.5 / 255, 1.5 / 255  # ties round half to even
    dtype = np.uint16 if bits == 16 else np.uint8
    fast, ref = np.empty(x.shape, dtype), np.empty(x.shape, dtype)
    before = x.copy()
    _quantise_clean_into(x, fast, bits)
    np.testing.assert_array_equal(x, before)
    _quantise_into(_clean_band(x), ref, bits)
    np.testing.assert_array_equal(fast, ref)
    assert fast[0, 0, 0] == 0 and fast[1, 1, 1] == (65535 if bits == 16 else 255) and fast[2, 2, 2] == 0


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "L", "LA"])
@pytest.mark.parametrize("tagged", [False, True])
def test_banded_pillow_image_equals_whole_array_path(monkeypatch: pytest.MonkeyPatch, mode: str, tagged: bool) -> None:
    """The encoder's Pillow image, filled band by band (what keeps a 48 MP photo under
    1 GB), holds exactly the pixels of the whole-array path it replaced."""
    from _iohelpers import P3_XYZ, matrix_icc

    from photoenhance.io import colour
    from photoenhance.io.encode import OutputPlan, _channels, _pil_image, _pil_image_banded

    monkeypatch.setattr(colour, "_BAND_PIXELS", 9 * 4)  # four rows a band, one partial
    rng = np.random.default_rng(5)
    rgb = (rng.random((23, 9, 3)) * 1.4 - 0.2).astype(np.float32)
    rgb[0, 0] = [np.nan, np.inf, -np.inf]
    alpha = rng.random((23, 9)).astype(np.float32) if mode in ("RGBA", "LA") else None
    icc = matrix_icc(P3_XYZ) if tagged and mode in ("RGB", "RGBA") else None
    plan = OutputPlan("jpeg", mode, 8, icc, icc)
    banded = _pil_image_banded(rgb, alpha, plan)
    whole = _pil_image(_channels(rgb, alpha, plan), plan)
    assert banded.mode == whole.mode == mode and banded.size == (9, 23)
    np.testing.assert_array_equal(np.asarray(banded), np.asarray(whole))
    assert np.asarray(banded)[20:].any()  # the last, partial band was filled


def test_jpeg_bytes_equal_whole_array_encode(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Same file bytes as encoding Pillow's image of the whole quantised array."""
    import io

    from photoenhance.io import colour
    from photoenhance.io.encode import (
        _channels,
        _jpeg_kwargs,
        _pil_image,
        _with_history,
        plan_output,
    )

    monkeypatch.setattr(colour, "_BAND_PIXELS", 64 * 10)
    src = tmp_path / "x.jpg"
    Image.fromarray(smooth_rgb(75, 64, seed=3)).save(src, quality=90)
    img = read_image(src)
    rgb = np.clip(img.rgb * 1.1 - 0.02, -0.1, 1.2)
    write_image(tmp_path / "o.jpg", img, rgb)
    plan = plan_output(img, "jpeg")
    ref = io.BytesIO()
    img = _with_history(img, "jpeg", "photoenhance", [])  # the XMP packet write_image adds
    _pil_image(_channels(rgb, None, plan), plan).save(ref, "JPEG", **_jpeg_kwargs(img, rgb, plan, "photoenhance", None, []))
    assert (tmp_path / "o.jpg").read_bytes() == ref.getvalue()
