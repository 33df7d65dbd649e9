"""``enhance`` on every image kind gives the same kind back, with the pixels (or, for
``bytes``, the very bytes) that ``run`` writes for the same photo (issue 19, item 1)."""

from __future__ import annotations

import io

import numpy as np
import pytest
from _apihelpers import alpha, pil_images, pixels, rgb16
from PIL import Image

import photoenhance
from photoenhance.io import read_image


def _run_pixels(run_outputs, name: str) -> np.ndarray:
    return np.asarray(Image.open(run_outputs.outputs[name]))


def test_bytes_come_back_as_the_file_run_writes(run_outputs, enhancer) -> None:
    for name, path in run_outputs.inputs.items():
        data = path.read_bytes()
        out = enhancer.enhance(data)
        assert isinstance(out, bytes)
        assert out == run_outputs.outputs[name].read_bytes(), name
        assert path.read_bytes() == data  # the input is not changed


def test_bytes_keep_exif_orientation_and_icc(run_outputs, enhancer) -> None:
    out = Image.open(io.BytesIO(enhancer.enhance(run_outputs.inputs["photo.jpg"].read_bytes())))
    source = Image.open(run_outputs.inputs["photo.jpg"])
    assert out.format == "JPEG" and out.size == source.size
    assert out.getexif()[0x0112] == 6
    assert out.info["icc_profile"] == source.info["icc_profile"]


def test_bytearray_and_memoryview_give_bytes(run_outputs, enhancer) -> None:
    data = run_outputs.inputs["photo.webp"].read_bytes()
    expected = run_outputs.outputs["photo.webp"].read_bytes()
    assert enhancer.enhance(bytearray(data)) == expected
    assert enhancer.enhance(memoryview(data)) == expected


@pytest.mark.parametrize(
    ("array", "run_name"),
    [
        (pixels(), "pil-rgb.png"),
        (np.dstack([pixels(), alpha()]), "pil-rgba.png"),
        (np.asarray(Image.fromarray(pixels()).convert("L")), "pil-l.png"),
        (np.asarray(Image.fromarray(pixels()).convert("L"))[..., None], "pil-l.png"),
        (np.asarray(Image.fromarray(np.dstack([pixels(), alpha()])).convert("LA")), "pil-la.png"),
    ],
    ids=["rgb8", "rgba8", "grey8", "grey8-hw1", "grey-alpha8"],
)
def test_uint8_arrays_get_runs_pixels(run_outputs, enhancer, array: np.ndarray, run_name: str) -> None:
    before = array.copy()
    out = enhancer.enhance(array)
    assert out.dtype == np.uint8 and out.shape == array.shape
    assert np.array_equal(array, before)  # the input is not changed
    assert np.array_equal(out.reshape(_run_pixels(run_outputs, run_name).shape), _run_pixels(run_outputs, run_name))
    if array.ndim == 3 and array.shape[2] in (2, 4):
        assert np.array_equal(out[..., -1], array[..., -1])  # alpha unchanged


def test_uint16_rgb_array_gets_runs_16_bit_pixels(run_outputs, enhancer) -> None:
    px = rgb16()
    out = enhancer.enhance(px)
    assert out.dtype == np.uint16 and out.shape == px.shape
    written = read_image(run_outputs.outputs["rgb16.png"]).rgb
    assert np.array_equal(out, np.rint(written * 65535).astype(np.uint16))
    rgba = enhancer.enhance(np.dstack([px, np.full(px.shape[:2], 1234, np.uint16)]))
    assert np.array_equal(rgba[..., :3], out) and (rgba[..., 3] == 1234).all()


def test_uint16_grey_array_gets_runs_pixels(run_outputs, enhancer) -> None:
    grey = np.asarray(pil_images()["i16"]).astype(np.uint16)
    out = enhancer.enhance(grey)
    assert out.dtype == np.uint16 and out.shape == grey.shape
    assert np.array_equal(out, _run_pixels(run_outputs, "pil-i16.png").astype(np.uint16))


def test_float32_arrays_are_the_unquantised_result(enhancer) -> None:
    px = pixels()
    x = px.astype(np.float32) / np.float32(255)
    out = enhancer.enhance(x)
    assert out.dtype == np.float32 and out.shape == x.shape
    assert np.array_equal(np.rint(np.clip(out, 0, 1) * 255).astype(np.uint8), enhancer.enhance(px))
    grey = x[..., 1].copy()
    g = enhancer.enhance(grey)
    assert g.dtype == np.float32 and g.shape == grey.shape
    rgba = enhancer.enhance(np.dstack([x, np.full(x.shape[:2], 0.25, np.float32)]))
    assert np.array_equal(rgba[..., :3], out) and (rgba[..., 3] == np.float32(0.25)).all()


def test_extended_range_float_is_not_clipped(enhancer) -> None:
    x = pixels().astype(np.float32) / np.float32(255)
    x[:8, :8] = [1.3, -0.2, 0.5]  # a wide-gamut colour converted to sRGB
    out = enhancer.enhance(x, strength=0.0)
    assert np.array_equal(out, x)


def test_strength_zero_returns_the_input_pixels(enhancer) -> None:
    px = pixels()
    assert np.array_equal(enhancer.enhance(px, strength=0.0), px)
    half = enhancer.enhance(px, strength=0.5).astype(int)
    full = enhancer.enhance(px).astype(int)
    assert np.abs(half - (px.astype(int) + full) / 2).max() <= 1


MODES = {
    "rgb": "RGB", "rgba": "RGBA", "l": "L", "la": "LA", "p": "RGB", "ptrans": "RGBA",
    "bw": "L", "i16": "I;16", "i": "I;16", "cmyk": "RGB", "ycbcr": "RGB", "p3": "RGB",
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(MODES))
def test_pil_images_of_every_mode_get_runs_pixels(run_outputs, enhancer, name: str) -> None:
    im = pil_images()[name]
    before = np.asarray(im).copy()
    out = enhancer.enhance(im)
    assert isinstance(out, Image.Image)
    assert out.mode == MODES[name] and out.size == im.size
    assert np.array_equal(np.asarray(im), before) and im.mode == pil_images()[name].mode
    run_name = next(n for n in run_outputs.outputs if n.startswith(f"pil-{name}."))
    written = Image.open(run_outputs.outputs[run_name])
    assert out.mode == written.mode
    assert np.array_equal(np.asarray(out), np.asarray(written))
    assert out.info.get("icc_profile") == written.info.get("icc_profile")


def test_pil_keeps_info_and_its_wide_gamut_profile(enhancer) -> None:
    im = pil_images()["p3"]
    im.info["dpi"] = (300, 300)
    out = enhancer.enhance(im)
    assert out.info["icc_profile"] == im.info["icc_profile"]
    assert out.info["dpi"] == (300, 300)
    cmyk = enhancer.enhance(pil_images()["cmyk"])
    from photoenhance.io.colour import srgb_icc_bytes

    assert cmyk.info["icc_profile"] == srgb_icc_bytes()


def test_module_function_is_the_enhancer_result(enhancer) -> None:
    px = pixels(seed=5)
    assert np.array_equal(photoenhance.enhance(px), enhancer.enhance(px))
    assert np.array_equal(photoenhance.enhance(px, model=enhancer), enhancer.enhance(px))


def test_enhance_bytes_gives_runs_bytes_with_the_warnings(run_outputs, enhancer) -> None:
    from photoenhance.api import EnhancedBytes

    data = run_outputs.inputs["photo.jpg"].read_bytes()
    out = enhancer.enhance_bytes(data)
    assert isinstance(out, EnhancedBytes) and out.format == "jpeg"
    assert out.data == run_outputs.outputs["photo.jpg"].read_bytes()
    assert out.megapixels == pytest.approx(80 * 48 / 1e6) and isinstance(out.warnings, tuple)
    png = enhancer.enhance_bytes(data, format="png", name="IMG_1.jpg")
    assert png.format == "png" and png.data[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(photoenhance.ImageReadError, match=r"^IMG_2\.jpg: "):
        enhancer.enhance_bytes(b"junk", name="IMG_2.jpg")


def test_bytes_leave_no_temporary_behind(run_outputs, enhancer, tmp_path, monkeypatch) -> None:
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    enhancer.enhance(run_outputs.inputs["pil-rgb.png"].read_bytes())
    with pytest.raises(photoenhance.ImageReadError):
        enhancer.enhance(b"junk")
    assert list(tmp_path.iterdir()) == []
