"""Wide-gamut colour: extended-range sRGB on decode, exact identity round trips on write."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from _iohelpers import ADOBE_XYZ, P3_XYZ, SRGB_PARA, matrix_icc, smooth_rgb
from PIL import Image, ImageCms

from photoenhance.io import read_image, read_rgb, write_image
from photoenhance.io.colour import srgb_decode_ext, srgb_encode_ext
from photoenhance.io.encode import _channels, plan_output

# Saturated colours, most of them outside sRGB when tagged P3 / Adobe RGB.
SATURATED = np.array(
    [(30, 215, 195), (255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0), (0, 255, 255),
     (255, 0, 255), (0, 0, 0), (255, 255, 255), (128, 128, 128), (250, 20, 60), (10, 90, 240)],
    dtype=np.uint8,
)  # fmt: skip
PROFILES = {
    "p3-srgb-trc": matrix_icc(P3_XYZ, desc="Display P3 (test)", para=SRGB_PARA),
    "p3-gamma": matrix_icc(P3_XYZ, desc="P3 gamma 2.2 (test)"),
    "adobe-rgb": matrix_icc(ADOBE_XYZ, gamma=563 / 256, desc="Adobe RGB (test)"),
}


def patches(block: int = 16) -> np.ndarray:
    """The saturated colours as flat ``block``-pixel squares (JPEG-friendly), then a gradient."""
    row = np.repeat(np.repeat(SATURATED[None], block, axis=0), block, axis=1)
    grad = smooth_rgb(block, row.shape[1], seed=3, lo=0.0, hi=1.0)
    return np.concatenate([row, grad], axis=0)


def pixels(path: Path) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB")).astype(int)


def test_extended_srgb_curve_is_odd_symmetric_and_invertible() -> None:
    v = np.linspace(-2.0, 3.0, 1001)
    np.testing.assert_allclose(srgb_decode_ext(srgb_encode_ext(v)), v, atol=1e-12)
    np.testing.assert_allclose(srgb_encode_ext(-v), -srgb_encode_ext(v))
    inside = np.linspace(0.0, 1.0, 101)
    ref = np.where(inside <= 0.04045, inside / 12.92, ((inside + 0.055) / 1.055) ** 2.4)
    np.testing.assert_allclose(srgb_decode_ext(inside), ref)


@pytest.mark.parametrize("profile", sorted(PROFILES))
@pytest.mark.parametrize("fmt", ["png", "jpeg", "tiff", "webp"])
def test_wide_gamut_round_trip_is_identity(tmp_path: Path, profile: str, fmt: str) -> None:
    icc = PROFILES[profile]
    a = patches()
    src = tmp_path / f"src.{fmt}"
    kw: dict[str, object] = {"icc_profile": icc}
    if fmt == "jpeg":
        kw |= {"quality": 100, "subsampling": 0}
    if fmt == "webp":
        kw |= {"lossless": True}
    Image.fromarray(a).save(src, **kw)
    img = read_image(src)
    assert img.rgb.min() < -0.01 and img.rgb.max() > 1.01  # not clipped on decode
    out = tmp_path / f"out.{fmt}"
    write_image(out, img, img.rgb, **({"quality": 100} if fmt in ("jpeg", "webp") else {}))  # type: ignore[arg-type]
    with Image.open(out) as o:
        assert o.info["icc_profile"] == icc
    want = pixels(src)  # the source as decoded (JPEG: after its own compression)
    # the 8-bit pixels handed to the encoder are the source's: the identity within 1/255
    handed = _channels(img.rgb, img.alpha, plan_output(img, fmt)).astype(int)
    assert np.abs(handed - want).max() <= 1
    got = pixels(out)
    if fmt in ("jpeg", "webp"):  # re-encoding adds its own error: flat patch centres
        centres = np.abs(got[8, 8::16] - want[8, 8::16])
        assert centres.max() <= 2, centres
    else:
        assert np.abs(got - want).max() <= 1


def test_p3_example_colour_not_shifted(tmp_path: Path) -> None:
    """The reported case: P3 (30,215,195) came back as (100,216,195)."""
    src = tmp_path / "p3.png"
    Image.fromarray(np.full((4, 4, 3), (30, 215, 195), np.uint8)).save(src, icc_profile=PROFILES["p3-srgb-trc"])
    img = read_image(src)
    assert img.rgb[0, 0, 0] < 0  # outside sRGB: negative red
    write_image(tmp_path / "o.png", img, img.rgb)
    assert tuple(pixels(tmp_path / "o.png")[0, 0]) == (30, 215, 195)


@pytest.mark.parametrize("ext", ["png", "tif"])
def test_wide_gamut_16bit_round_trip_exact(tmp_path: Path, ext: str) -> None:
    from photoenhance.io.sixteen import png16, tiff_deflate

    rng = np.random.default_rng(1)
    px = (rng.random((9, 11, 3)) * 65535).astype(np.uint16)
    px[0, :3] = [[65535, 0, 0], [0, 65535, 0], [0, 0, 65535]]
    icc = PROFILES["p3-srgb-trc"]
    buf = io.BytesIO()
    template_kw = {"icc_profile": icc} | ({} if ext == "png" else {"compression": "raw"})
    Image.new("RGB", (1, 1)).save(buf, "PNG" if ext == "png" else "TIFF", **template_kw)
    src = tmp_path / f"src.{ext}"
    src.write_bytes((png16 if ext == "png" else tiff_deflate)(buf.getvalue(), px))
    img = read_image(src)
    assert img.bit_depth == 16 and img.rgb.min() < 0
    write_image(tmp_path / f"o.{ext}", img, img.rgb)
    back = read_image(tmp_path / f"o.{ext}")
    assert back.metadata.icc_profile == icc
    np.testing.assert_array_equal(back.rgb, img.rgb)


def test_decoded_values_match_littlecms_unclipped(tmp_path: Path) -> None:
    """In-gamut colours agree with LittleCMS; out-of-gamut ones extend past [0, 1]."""
    icc = PROFILES["p3-srgb-trc"]
    src = tmp_path / "p3.png"
    Image.fromarray(patches(4)).save(src, icc_profile=icc)
    img = read_image(src)
    with Image.open(src) as im:
        ref = ImageCms.profileToProfile(im, ImageCms.ImageCmsProfile(io.BytesIO(icc)), ImageCms.createProfile("sRGB"))
        assert ref is not None
        lcms = np.asarray(ref, np.float32) / 255
    inside = (img.rgb >= 0.0) & (img.rgb <= 1.0)
    assert np.abs(img.rgb - lcms)[inside].max() < 2.5 / 255
    red = img.rgb[0, 4]  # P3 (255, 0, 0): sRGB red beyond 1, green and blue negative
    assert red[0] > 1.05 and red[1] < -0.05 and red[2] < -0.01


def test_read_rgb_is_clipped_for_training(tmp_path: Path) -> None:
    src = tmp_path / "p3.png"
    Image.fromarray(patches(4)).save(src, icc_profile=PROFILES["p3-srgb-trc"])
    full = read_image(src).rgb
    clipped = read_rgb(src)
    assert clipped.min() >= 0.0 and clipped.max() <= 1.0
    np.testing.assert_array_equal(clipped, np.clip(full, 0.0, 1.0))


def test_enhanced_beyond_gamut_is_clipped_in_target_space(tmp_path: Path) -> None:
    src = tmp_path / "p3.png"
    Image.fromarray(patches(4)).save(src, icc_profile=PROFILES["p3-srgb-trc"])
    img = read_image(src)
    pushed = img.rgb * 1.5 - 0.25  # an "enhancement" beyond even P3
    pushed[0, 0] = [np.nan, np.inf, -np.inf]
    write_image(tmp_path / "o.png", img, pushed)
    got = pixels(tmp_path / "o.png")
    assert got.min() == 0 and got.max() == 255
    assert not np.isnan(pushed).all()  # the caller's array is not modified in place
    assert np.isnan(pushed[0, 0, 0])
