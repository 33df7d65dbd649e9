"""Tests for photoenhance.metrics (numpy-only PSNR / SSIM / MS-SSIM)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from photoenhance.metrics import (
    gaussian_kernel1d,
    ms_ssim,
    psnr,
    psnr_y,
    rgb_to_luma,
    ssim,
    ssim_map,
)


def _rand(shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).random(shape, dtype=np.float32)


# ----------------------------------------------------------------------------- PSNR


def test_psnr_identical_is_inf() -> None:
    x = _rand((8, 9, 3))
    assert psnr(x, x) == math.inf
    assert psnr_y(x, x) == math.inf


def test_psnr_constant_offset_by_hand() -> None:
    # MSE = 0.1^2 = 0.01 -> PSNR = 10 log10(1 / 0.01) = 20 dB
    x = np.full((6, 7, 3), 0.3, np.float64)
    assert psnr(x + 0.1, x) == pytest.approx(20.0, abs=1e-9)
    # data_range 255 with an offset of 1 level: 10 log10(255^2) = 48.1308...
    y = np.full((5, 5, 3), 100.0)
    assert psnr(y + 1.0, y, data_range=255.0) == pytest.approx(20 * math.log10(255), abs=1e-9)


def test_psnr_single_pixel_error_by_hand() -> None:
    # One channel of one pixel off by 0.5 in a 4x4x3 image: MSE = 0.25 / 48.
    x = np.zeros((4, 4, 3), np.float32)
    y = x.copy()
    y[1, 2, 0] = 0.5
    assert psnr(x, y) == pytest.approx(10 * math.log10(48 / 0.25), abs=1e-6)


def test_psnr_shape_mismatch_raises() -> None:
    with pytest.raises(ValueError, match="same shape"):
        psnr(np.zeros((4, 4, 3)), np.zeros((4, 5, 3)))


def test_psnr_y_full_and_studio_swing() -> None:
    # A grey offset of d gives a luma offset of d (full range) or d * 219/255 (studio swing).
    x = np.full((4, 4, 3), 0.4)
    assert psnr_y(x + 0.1, x) == pytest.approx(20.0, abs=1e-9)
    expected = 10 * math.log10(1 / (0.1 * 219 / 255) ** 2)
    assert psnr_y(x + 0.1, x, studio_swing=True) == pytest.approx(expected, abs=1e-9)
    # Pure-chroma error that keeps luma: luma PSNR is inf, RGB PSNR finite.
    w = np.array([0.299, 0.587, 0.114])
    d = np.array([0.1, -0.1 * 0.299 / 0.587, 0.0])
    assert abs(float(d @ w)) < 1e-12
    assert psnr_y(x + d, x) > 200 or psnr_y(x + d, x) == math.inf
    assert math.isfinite(psnr(x + d, x))


def test_rgb_to_luma_values() -> None:
    white = np.ones((1, 1, 3))
    assert rgb_to_luma(white)[0, 0] == pytest.approx(1.0)
    assert rgb_to_luma(white, studio_swing=True)[0, 0] == pytest.approx(235 / 255)
    assert rgb_to_luma(np.zeros((1, 1, 3)), studio_swing=True)[0, 0] == pytest.approx(16 / 255)


# ----------------------------------------------------------------------------- SSIM


def test_gaussian_kernel_matches_skimage_window() -> None:
    k = gaussian_kernel1d()
    assert k.shape == (11,)
    assert k.sum() == pytest.approx(1.0)
    x = np.arange(-5, 6)
    ref = np.exp(-(x**2) / (2 * 1.5**2))
    np.testing.assert_allclose(k, ref / ref.sum(), rtol=1e-12)


def test_ssim_identical_is_one() -> None:
    x = _rand((20, 23, 3))
    assert ssim(x, x) == 1.0
    assert ms_ssim(_rand((180, 180, 3)), _rand((180, 180, 3), seed=1)) < 1.0
    y = _rand((176, 190, 3), seed=3)
    assert ms_ssim(y, y) == pytest.approx(1.0, abs=1e-12)


def test_ssim_constant_images_formula() -> None:
    # Constant images: all variances are 0, so SSIM = (2ab + C1) / (a^2 + b^2 + C1).
    a, b = 0.5, 0.25
    c1 = (0.01 * 1.0) ** 2
    expected = (2 * a * b + c1) / (a * a + b * b + c1)
    pa = np.full((16, 16, 3), a)
    pb = np.full((16, 16, 3), b)
    assert ssim(pa, pb) == pytest.approx(expected, rel=1e-10)


def test_ssim_hand_computation_11x11() -> None:
    """On an 11x11 image the valid region is the centre pixel: compute it by the definition."""
    rng = np.random.default_rng(7)
    x = rng.random((11, 11))
    y = np.clip(x + 0.2 * rng.standard_normal((11, 11)), 0, 1)
    g = np.exp(-(np.arange(-5, 6) ** 2) / (2 * 1.5**2))
    w = np.outer(g, g)
    w /= w.sum()
    mx, my = (w * x).sum(), (w * y).sum()
    vx = (w * (x - mx) ** 2).sum()
    vy = (w * (y - my) ** 2).sum()
    cxy = (w * (x - mx) * (y - my)).sum()
    c1, c2 = 0.01**2, 0.03**2
    expected = ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx**2 + my**2 + c1) * (vx + vy + c2))
    assert ssim_map(x, y).shape == (1, 1)
    assert ssim(x, y) == pytest.approx(expected, rel=1e-10)
    # RGB: per channel, then averaged.
    xr = np.stack([x, y, x], axis=-1)
    yr = np.stack([y, y, 1 - x], axis=-1)
    per_channel = [ssim(xr[..., c], yr[..., c]) for c in range(3)]
    assert ssim(xr, yr) == pytest.approx(float(np.mean(per_channel)), rel=1e-12)
    assert per_channel[1] == 1.0


def test_ssim_matches_skimage_style_reference() -> None:
    """Reference = skimage's algorithm (scipy gaussian_filter, reflect, crop 5, mean)."""
    ndimage = pytest.importorskip("scipy.ndimage")
    rng = np.random.default_rng(1)
    x = rng.random((37, 29, 3))
    y = np.clip(0.8 * x + 0.1 + 0.05 * rng.standard_normal(x.shape), 0, 1)
    c1, c2 = 0.01**2, 0.03**2
    vals = []
    for c in range(3):
        a, b = x[..., c], y[..., c]

        def f(z: np.ndarray) -> np.ndarray:
            return ndimage.gaussian_filter(z, sigma=1.5, truncate=3.5, mode="reflect")

        ux, uy = f(a), f(b)
        vx = f(a * a) - ux * ux
        vy = f(b * b) - uy * uy
        vxy = f(a * b) - ux * uy
        s = ((2 * ux * uy + c1) * (2 * vxy + c2)) / ((ux**2 + uy**2 + c1) * (vx + vy + c2))
        vals.append(s[5:-5, 5:-5].mean())
    assert ssim(x.astype(np.float32), y.astype(np.float32)) == pytest.approx(
        float(np.mean(vals)), abs=1e-6
    )


def test_ssim_matches_skimage_if_installed() -> None:
    metrics = pytest.importorskip("skimage.metrics")
    x = _rand((40, 33, 3), seed=4)
    y = np.clip(x + 0.1 * _rand((40, 33, 3), seed=5) - 0.05, 0, 1)
    ref = metrics.structural_similarity(
        x,
        y,
        gaussian_weights=True,
        sigma=1.5,
        use_sample_covariance=False,
        data_range=1,
        channel_axis=-1,
    )
    assert ssim(x, y) == pytest.approx(ref, abs=1e-5)


def test_ssim_too_small_raises() -> None:
    with pytest.raises(ValueError, match="11x11"):
        ssim(np.zeros((10, 20, 3)), np.zeros((10, 20, 3)))
    with pytest.raises(ValueError, match="176x176"):
        ms_ssim(np.zeros((100, 200, 3)), np.zeros((100, 200, 3)))


def test_ssim_detects_degradation_order() -> None:
    x = _rand((32, 32, 3), seed=2)
    noise = np.random.default_rng(9).standard_normal(x.shape)
    mild = np.clip(x + 0.02 * noise, 0, 1)
    strong = np.clip(x + 0.2 * noise, 0, 1)
    assert 1.0 > ssim(mild, x) > ssim(strong, x)


def test_ssim_anticorrelated_is_negative() -> None:
    x = _rand((24, 24), seed=11)
    assert ssim(x, 1.0 - x) < 0.0


_images = arrays(
    np.float64,
    st.tuples(st.integers(11, 18), st.integers(11, 18), st.just(3)),
    elements=st.floats(0.0, 1.0, allow_nan=False),
)


@settings(max_examples=40, deadline=None)
@given(a=_images, data=st.data())
def test_ssim_symmetric_and_bounded(a: np.ndarray, data: st.DataObject) -> None:
    b = data.draw(arrays(np.float64, a.shape, elements=st.floats(0.0, 1.0, allow_nan=False)))
    s_ab, s_ba = ssim(a, b), ssim(b, a)
    assert s_ab == pytest.approx(s_ba, abs=1e-12)
    assert -1.0 - 1e-9 <= s_ab <= 1.0 + 1e-9
    assert psnr(a, b) == psnr(b, a)
