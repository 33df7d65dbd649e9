"""The Enhancer (infer/enhancer.py) on onnxruntime: exact tiling, in-place mode, strength, context, session cache.

Uses the bundled INT8 model, so these tests need no torch."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from _models import model_with_metadata, tiny_model
from photoenhance.contract.context import band_on_grid, context_thumbnail
from photoenhance.contract.layout import pack, unpack
from photoenhance.infer.enhancer import Enhancer
from photoenhance.infer.inference_config import InferenceConfig
from photoenhance.infer.model_file import ModelLoadError, bundled_model_path
from photoenhance.infer.ort_session import read_model_info
from photoenhance.infer.tiling import plan_tiles


def on_8bit_grid(rgb: np.ndarray) -> bool:
    """Reference: every value is ``k / 255``, ``k`` in 0..255 (elementwise, no bands)."""
    scaled = rgb.astype(np.float64) * 255.0
    rounded = np.rint(scaled)
    with np.errstate(invalid="ignore"):
        return bool(
            np.all(np.isfinite(rgb)) and np.all((rounded >= 0) & (rounded <= 255))
            and np.all(np.abs(scaled - rounded) < 1e-3)
        )


@pytest.fixture(scope="module")
def image() -> np.ndarray:
    rng = np.random.default_rng(0)
    base = rng.random((6, 9, 3), dtype=np.float32)
    # smooth structure plus texture, odd size (not a multiple of 8)
    img = np.kron(base, np.ones((50, 50, 1), np.float32))[:293, :437]
    img = img + 0.1 * rng.random(img.shape, dtype=np.float32)
    # low contrast, like a phone photo: the bundled model changes it (model 0.3 leaves a
    # full-contrast random image alone to within 1/255, which would make the tiling
    # checks below vacuous)
    return np.clip(0.3 + 0.4 * img, 0, 1).astype(np.float32)


@pytest.fixture(scope="module")
def whole(image: np.ndarray) -> np.ndarray:
    return Enhancer(InferenceConfig(tile=4096)).enhance(image)


@pytest.mark.parametrize("tile", [64, 96, 200])
def test_tiled_equals_whole_image(image: np.ndarray, whole: np.ndarray, tile: int) -> None:
    enh = Enhancer(InferenceConfig(tile=tile))
    assert len(plan_tiles(296, 440, tile, enh.halo)) > 1
    tiled = enh.enhance(image)
    np.testing.assert_array_equal(tiled, whole)  # INT8 inference: bit-exact


def test_too_small_halo_shows_seams(image: np.ndarray, whole: np.ndarray) -> None:
    """The parity above is not vacuous: without enough halo, tiles differ."""
    tiled = Enhancer(InferenceConfig(tile=64, halo=0)).enhance(image)
    assert np.abs(tiled - whole).max() > 0


@pytest.mark.parametrize("tile", [64, 96, 200])
def test_in_place_equals_out_of_place(image: np.ndarray, whole: np.ndarray, tile: int) -> None:
    """In place, tiles overwrite pixels that later windows read (halo 80 > core 64 too)."""
    buf = image.copy()
    out = Enhancer(InferenceConfig(tile=tile)).enhance(buf, out=buf)
    assert out is buf
    np.testing.assert_array_equal(buf, whole)


def test_strength_blends_with_the_original(image: np.ndarray, whole: np.ndarray) -> None:
    enh = Enhancer(InferenceConfig(tile=4096))
    np.testing.assert_allclose(enh.enhance(image, strength=0.0), image, atol=1e-6)
    half = enh.enhance(image, strength=0.5)
    # whole = clip(x + Δ): half-way is x + Δ/2 (up to the clip, which moves by < 0.5/255)
    np.testing.assert_allclose(half, image + 0.5 * (whole - image), atol=0.5 / 255 + 1e-6)
    assert np.abs(half - image).mean() < np.abs(whole - image).mean()
    with pytest.raises(ValueError):
        enh.enhance(image, strength=1.5)


def test_sixteen_bit_precision_is_kept() -> None:
    """The network's change is added to the full-precision input."""
    img = np.full((32, 32, 3), 0.5 + 1 / 65535, np.float32)
    out = Enhancer(InferenceConfig()).enhance(img, strength=0.0)
    assert np.array_equal(out, img)


def test_plan_tiles_cover_the_image_once() -> None:
    for h, w, tile, halo in [(8, 8, 64, 80), (296, 440, 64, 80), (1000, 24, 128, 16)]:
        cover = np.zeros((h, w), int)
        for p in plan_tiles(h, w, tile, halo):
            assert p.wy % 8 == 0 and p.wx % 8 == 0
            assert 0 <= p.wy <= p.cy and p.cy + p.ch <= p.wy + p.wh <= h
            assert 0 <= p.wx <= p.cx and p.cx + p.cw <= p.wx + p.ww <= w
            cover[p.cy : p.cy + p.ch, p.cx : p.cx + p.cw] += 1
        assert np.all(cover == 1)


def test_context_thumbnail_is_the_adaptive_average() -> None:
    img = np.random.default_rng(1).random((100, 70, 3), dtype=np.float32)
    t = context_thumbnail(img)
    assert t.shape == (1, 3, 64, 64)
    # bin i of an axis of length n covers [floor(i*n/64), ceil((i+1)*n/64))
    ys, ye = (5 * 100) // 64, -((-6 * 100) // 64)
    xs, xe = (7 * 70) // 64, -((-8 * 70) // 64)
    np.testing.assert_allclose(t[0, :, 5, 7], img[ys:ye, xs:xe].mean(axis=(0, 1)), rtol=1e-5)
    flat = np.full((3, 1000, 3), 0.25, np.float32)
    np.testing.assert_allclose(context_thumbnail(flat), 0.25, rtol=1e-6)
    # extended range is clipped first; in_range=True (an 8-bit photo) skips the clip
    wide = img * 1.5 - 0.25
    np.testing.assert_allclose(context_thumbnail(wide), context_thumbnail(np.clip(wide, 0, 1)), rtol=1e-6)
    np.testing.assert_allclose(context_thumbnail(img, in_range=True), t, rtol=1e-6)
    assert not np.allclose(context_thumbnail(wide, in_range=True), context_thumbnail(wide))


def test_optimised_graph_cache(tmp_path: Path, image: np.ndarray, whole: np.ndarray) -> None:
    cfg = InferenceConfig(cache_dir=tmp_path / "cache", tile=4096)
    first = Enhancer(cfg)
    assert not first.used_cache
    cached = list((tmp_path / "cache").glob("*.onnx"))
    assert len(cached) == 1
    second = Enhancer(cfg)
    assert second.used_cache
    np.testing.assert_array_equal(second.enhance(image), whole)
    cached[0].write_bytes(b"garbage")  # a corrupt entry is rebuilt, never fatal
    third = Enhancer(cfg)
    assert not third.used_cache
    np.testing.assert_array_equal(third.enhance(image), whole)


def test_model_errors_are_clear(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match="not found"):
        Enhancer(InferenceConfig(model=tmp_path / "missing.onnx"))
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not onnx")
    with pytest.raises(ModelLoadError, match=r"bad\.onnx"):
        Enhancer(InferenceConfig(model=bad))
    info = read_model_info(bundled_model_path())
    assert info.precision == "int8-qat" and info.halo >= 64 and info.halo % 8 == 0 and info.params > 0


def test_extended_range_input_keeps_out_of_gamut_values() -> None:
    """Wide-gamut photos arrive as extended-range sRGB: the network sees the clipped image
    and its change is added to the unclipped values."""
    img = np.full((24, 24, 3), 0.5, np.float32)
    img[:12, :, 0] = 1.3  # out of the sRGB gamut
    img[12:, :, 2] = -0.2
    enh = Enhancer(InferenceConfig())
    np.testing.assert_array_equal(enh.enhance(img, strength=0.0), img)
    clipped = np.clip(img, 0, 1)
    delta = enh.enhance(clipped) - clipped
    np.testing.assert_allclose(enh.enhance(img), img + delta, atol=1e-6)


@pytest.mark.parametrize("tile", [64, 4096])
def test_eight_bit_photo_equals_one_direct_session_run(tile: int) -> None:
    """An 8-bit photo of even size takes the one-pass path (packed output copied straight
    into the image): tiled or not, in place or not, it equals one plain session run."""
    rng = np.random.default_rng(5)
    img = np.kron(rng.random((5, 7, 3), dtype=np.float32), np.ones((40, 48, 1), np.float32))
    img = (np.rint(np.clip(img + 0.1 * rng.random(img.shape, dtype=np.float32), 0, 1) * 255) / 255).astype(np.float32)
    assert on_8bit_grid(img) and img.shape == (200, 336, 3)
    enh = Enhancer(InferenceConfig(tile=tile))
    direct = unpack(enh.session.run(None, {"image": pack(img), **enh.photo_feeds(context_thumbnail(img))})[0])
    np.testing.assert_array_equal(enh.enhance(img), direct)
    buf = img.copy()
    enh.enhance(buf, out=buf)
    np.testing.assert_array_equal(buf, direct)


def test_band_on_grid() -> None:
    img = (np.arange(256 * 3, dtype=np.float32).reshape(16, 16, 3) % 256) / 255

    def check(band: np.ndarray) -> bool:
        return band_on_grid(band, np.empty_like(band), np.empty_like(band))

    assert check(img) and on_8bit_grid(img)
    for value in (0.5, 1.0 + 1 / 255, -1 / 255, np.nan):
        bad = img.copy()
        bad[15, 15, 2] = value
        assert not check(bad) and not on_8bit_grid(bad), value


def test_models_of_another_format_are_refused(tmp_path: Path) -> None:
    onnx = pytest.importorskip("onnx")
    model = onnx.load(str(bundled_model_path()))
    for prop in model.metadata_props:
        if prop.key == "photoenhance.format":
            prop.value = "1"
    old = tmp_path / "old.onnx"
    onnx.save(model, str(old))
    with pytest.raises(ModelLoadError, match=r"old\.onnx: model format 1 is not supported"):
        Enhancer(InferenceConfig(model=old))


def test_scan_image_is_thumbnail_plus_grid_check() -> None:
    """Enhancer's one-pass scan agrees with the two separate functions, whichever bin
    (first, last) leaves the grid, and with extended-range values after that."""
    from photoenhance.contract.context import scan_image

    rng = np.random.default_rng(2)
    img = rng.integers(0, 256, (150, 90, 3)).astype(np.float32) / 255
    cases = [img]
    for r, value in ((0, 0.5), (149, 0.5), (70, 1.7), (149, -0.3)):
        bad = img.copy()
        bad[r, 3, 1] = value
        cases.append(bad)
    for case in cases:
        thumb, grid = scan_image(case)
        assert grid == on_8bit_grid(case)
        np.testing.assert_allclose(thumb, context_thumbnail(case), rtol=1e-6, atol=1e-7)
    assert scan_image(img)[1] and not any(scan_image(c)[1] for c in cases[1:])


def test_any_dtype_or_strides_give_the_same_result() -> None:
    """float64, Fortran-ordered and strided inputs take the generic packing paths and
    must agree bit for bit with the contiguous float32 fast path."""
    rng = np.random.default_rng(0)
    img = (rng.integers(0, 256, (130, 170, 3)) / 255).astype(np.float32)
    enh = Enhancer(InferenceConfig(tile=64))
    ref = enh.enhance(img)
    wide = np.zeros((130, 340, 3), np.float32)
    wide[:, ::2] = img
    for variant in (img.astype(np.float64), np.asfortranarray(img), wide[:, ::2]):
        np.testing.assert_array_equal(enh.enhance(variant), ref)


# --------------------------------------------------------------------------- model checks at load (issue 11, item 10)


def test_wrong_shape_is_refused_at_load(tmp_path: Path) -> None:
    three = tiny_model(tmp_path, "rgb.onnx", [1, "h", "w", 3])
    with pytest.raises(ModelLoadError, match=r"rgb\.onnx: .*'image' has shape") as info:
        Enhancer(InferenceConfig(model=three))
    assert "\n" not in str(info.value)
    with pytest.raises(ModelLoadError, match=r"rgb\.onnx"):
        read_model_info(three)  # the dry run's check too
    cropped = tiny_model(tmp_path, "cropped.onnx", ["n", "h", "w", 12], crop=True)
    assert read_model_info(cropped).multiple == 8  # its declared shapes look right
    with pytest.raises(ModelLoadError, match=r"cropped\.onnx: the model returns \(1, 1, 8, 12\)"):
        Enhancer(InferenceConfig(model=cropped))


@pytest.mark.parametrize(
    ("changes", "needle"),
    [
        ({"context": "{not json"}, "photoenhance.context is not valid JSON"),
        ({"context": "[64]"}, "photoenhance.context must be a JSON object"),
        ({"config": "nope"}, "photoenhance.config is not valid JSON"),
        ({"multiple": "0"}, "photoenhance.multiple must be an integer >= 2"),
        ({"multiple": "eight"}, "photoenhance.multiple must be an integer >= 2"),
        ({"multiple": "7"}, "photoenhance.multiple must be even"),
        ({"halo": "-8"}, "photoenhance.halo must be an integer >= 0"),
        ({"context": '{"size": 0}'}, "size must be positive"),
    ],
)
def test_bad_metadata_is_refused_at_load(
    tmp_path: Path, changes: dict[str, str], needle: str
) -> None:
    path = model_with_metadata(tmp_path, "meta.onnx", **changes)
    for load in (lambda: Enhancer(InferenceConfig(model=path)), lambda: read_model_info(path)):
        with pytest.raises(ModelLoadError) as info:
            load()
        text = str(info.value)
        assert text.startswith(f"{path}: bad photoenhance metadata: ") and needle in text, text
        assert "\n" not in text


def test_directory_as_model_says_so(tmp_path: Path) -> None:
    (tmp_path / "model.onnx").mkdir()
    for load in (
        lambda: Enhancer(InferenceConfig(model=tmp_path / "model.onnx")),
        lambda: read_model_info(tmp_path / "model.onnx"),
    ):
        with pytest.raises(ModelLoadError, match=r"model\.onnx: is a directory"):
            load()
