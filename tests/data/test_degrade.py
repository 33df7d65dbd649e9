"""Tests for photoenhance.data.degrade: determinism, range, and each stage's effect."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from photoenhance.data.degrade import (
    DegradeConfig,
    DegradeParams,
    apply_degradation,
    color_transform,
    degrade,
    desaturate,
    encode_gamma,
    gaussian_blur,
    jpeg_compress,
    linearize,
    poisson_gaussian_noise,
    sample_params,
    saturation_matrix,
    standard_normal,
    tone_curve,
    unsharp_mask,
    vignette,
)
from photoenhance.metrics import psnr

IDENTITY = DegradeConfig.identity()


def _photo(h: int = 64, w: int = 64, seed: int = 0, texture: float = 0.02) -> np.ndarray:
    """Smooth gradients plus some texture and an edge: a small stand-in photo in [0.05, 0.95]."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    r = 0.3 + 0.4 * x / w
    g = 0.2 + 0.5 * y / h
    b = 0.5 + 0.2 * np.sin(x / 5.0) * np.cos(y / 7.0)
    img = np.stack([r, g, b], axis=-1)
    img[:, w // 2 :] += 0.15
    img += texture * np.random.default_rng(seed).standard_normal(img.shape).astype(np.float32)
    return np.clip(img, 0.05, 0.95).astype(np.float32)


def _hf_energy(img: np.ndarray) -> float:
    """Mean squared Laplacian: high-frequency energy."""
    lap = 4 * img[1:-1, 1:-1] - img[:-2, 1:-1] - img[2:, 1:-1] - img[1:-1, :-2] - img[1:-1, 2:]
    return float(np.mean(lap.astype(np.float64) ** 2))


def test_degrade_deterministic_per_seed_in_range() -> None:
    clean = _photo()
    before = clean.copy()
    a = degrade(clean, np.random.default_rng(42))
    b = degrade(clean, np.random.default_rng(42))
    c = degrade(clean, np.random.default_rng(43))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    np.testing.assert_array_equal(clean, before)  # input untouched
    for out in (a, c):
        assert out.shape == clean.shape and out.dtype == np.float32
        assert out.min() >= 0.0 and out.max() <= 1.0
        assert psnr(out, clean) < 40.0  # it actually changed the image


def test_identity_config_is_noop_and_params_advance_rng_equally() -> None:
    clean = _photo()
    out = degrade(clean, np.random.default_rng(0), IDENTITY)
    np.testing.assert_array_equal(out, clean)
    # The rng advances by the same amount whatever the config (reproducible streams).
    r1, r2 = np.random.default_rng(5), np.random.default_rng(5)
    degrade(clean, r1, IDENTITY)
    degrade(clean, r2)
    assert r1.integers(1 << 30) == r2.integers(1 << 30)


def test_default_params_within_config() -> None:
    cfg = DegradeConfig()
    rng = np.random.default_rng(0)
    for _ in range(50):
        p = sample_params(rng, cfg)
        assert cfg.blur_sigma[0] <= p.blur_sigma <= cfg.blur_sigma[1]
        assert 2 ** cfg.exposure_ev[0] <= p.exposure_gain <= 2 ** cfg.exposure_ev[1]
        assert cfg.shot_noise[0] <= p.shot_noise <= cfg.shot_noise[1]
        assert cfg.read_noise[0] <= p.read_noise <= cfg.read_noise[1]
        assert cfg.jpeg_quality is not None
        assert p.jpeg_quality is not None
        assert cfg.jpeg_quality[0] <= p.jpeg_quality <= cfg.jpeg_quality[1]


def test_config_validation() -> None:
    with pytest.raises(ValueError, match="blur_sigma"):
        DegradeConfig(blur_sigma=(1.0, 0.5))
    with pytest.raises(ValueError, match="jpeg_quality"):
        DegradeConfig(jpeg_quality=(50, 101))
    with pytest.raises(ValueError, match="shot_noise"):
        DegradeConfig(shot_noise=(-1.0, 0.0))


def test_noise_raises_high_frequency_energy() -> None:
    clean = _photo(texture=0.0)
    cfg = replace(IDENTITY, shot_noise=(2e-3, 2e-3), read_noise=(0.01, 0.01))
    noisy = degrade(clean, np.random.default_rng(1), cfg)
    assert _hf_energy(noisy) > 3 * _hf_energy(clean)
    assert abs(float(noisy.mean() - clean.mean())) < 0.01


def test_noise_is_signal_dependent() -> None:
    rng = np.random.default_rng(2)
    shot, read = 4e-3, 0.01
    for level in (0.05, 0.5):
        x = np.full((128, 128, 3), level, np.float32)
        y = poisson_gaussian_noise(x, shot, read, rng)
        assert float(np.var(y - x)) == pytest.approx(shot * level + read**2, rel=0.05)
    assert np.array_equal(poisson_gaussian_noise(x, 0.0, 0.0, rng), x)


def test_standard_normal_moments() -> None:
    n = standard_normal(np.random.default_rng(0), (200_000,))
    assert n.dtype == np.float32
    assert abs(float(n.mean())) < 0.01
    assert float(n.std()) == pytest.approx(1.0, abs=0.01)
    assert float(np.mean(np.abs(n) > 1.96)) == pytest.approx(0.05, abs=0.003)
    assert float(np.abs(n).max()) < 4.5


def test_underexposure_lowers_mean() -> None:
    clean = _photo()
    dark = degrade(clean, np.random.default_rng(0), replace(IDENTITY, exposure_ev=(-1.0, -1.0)))
    # One stop less light = gain 0.5 in linear light = 0.5^(1/2.2) = 0.73 in encoded values.
    assert float(dark.mean()) == pytest.approx(0.5 ** (1 / 2.2) * float(clean.mean()), rel=1e-3)


def test_tone_curve_darkens_and_flattens() -> None:
    clean = _photo()
    darker = tone_curve(clean, gamma=1.3, contrast=1.0)
    flatter = tone_curve(clean, gamma=1.0, contrast=0.7)
    assert darker.mean() < clean.mean()
    assert flatter.std() == pytest.approx(0.7 * clean.std(), rel=1e-4)
    np.testing.assert_array_equal(tone_curve(clean, 1.0, 1.0), clean)


def test_gamma_roundtrip() -> None:
    x = np.linspace(0, 1, 1001, dtype=np.float32)
    np.testing.assert_allclose(linearize(x), x.astype(np.float64) ** 2.2, atol=5e-5)
    np.testing.assert_allclose(encode_gamma(linearize(x)), x, atol=2e-3)


def test_blur_softens_and_preserves_constants() -> None:
    clean = _photo()
    soft = gaussian_blur(clean, 1.0)
    assert soft.shape == clean.shape and soft.dtype == np.float32
    assert _hf_energy(soft) < 0.3 * _hf_energy(clean)
    const = np.full((9, 7, 3), 0.4, np.float32)
    np.testing.assert_allclose(gaussian_blur(const, 2.5), const, atol=1e-6)  # kernel > image
    np.testing.assert_array_equal(gaussian_blur(clean, 0.0), clean)
    # Symmetric kernel: blurring a centred impulse is symmetric.
    imp = np.zeros((11, 11), np.float32)
    imp[5, 5] = 1.0
    out = gaussian_blur(imp, 1.0)
    np.testing.assert_allclose(out, out[::-1, ::-1], atol=1e-7)
    assert float(out.sum()) == pytest.approx(1.0, abs=1e-5)


def test_vignette_darkens_corners_not_centre() -> None:
    ones = np.ones((40, 60, 3), np.float32)
    v = vignette(ones, 0.3)
    assert v.max() <= 1.0
    assert v[20, 30, 0] > 0.99
    assert v[0, 0, 0] == pytest.approx(0.7, abs=0.02)
    off = vignette(ones, 0.3, center=(0.0, 0.0), radius=2.0)
    assert off[0, 0, 0] > off[-1, -1, 0]


def test_color_matrix_keeps_grey_without_wb_and_wb_casts() -> None:
    cfg = replace(IDENTITY, color_matrix_error=(0.08, 0.08))
    p = sample_params(np.random.default_rng(3), cfg)
    m = np.asarray(p.color_matrix)
    assert not np.allclose(m, np.eye(3))
    np.testing.assert_allclose(m @ np.ones(3), np.ones(3), atol=1e-12)  # greys stay grey
    grey = np.full((4, 4, 3), 0.5, np.float32)
    warm = color_transform(grey, np.diag([1.1, 1.0, 0.9]))
    assert warm[0, 0, 0] > warm[0, 0, 1] > warm[0, 0, 2]
    with pytest.raises(ValueError, match="3x3"):
        color_transform(grey, np.eye(2))


def test_desaturate_keeps_luma_reduces_chroma() -> None:
    clean = _photo()
    d = desaturate(clean, 0.5)
    luma = np.array([0.299, 0.587, 0.114], np.float32)
    np.testing.assert_allclose(d @ luma, clean @ luma, atol=1e-5)
    chroma = float(np.std(clean - (clean @ luma)[..., None]))
    assert float(np.std(d - (d @ luma)[..., None])) == pytest.approx(0.5 * chroma, rel=1e-3)
    np.testing.assert_allclose(saturation_matrix(0.0) @ np.array([1.0, 0, 0]), [0.299] * 3)


def test_unsharp_mask_overshoots_at_edges() -> None:
    step = np.full((16, 16, 3), 0.3, np.float32)
    step[:, 8:] = 0.7
    sharp = unsharp_mask(step, amount=1.0, sigma=1.0)
    assert sharp.max() > 0.7 + 0.05 and sharp.min() < 0.3 - 0.05  # halos both sides
    np.testing.assert_allclose(sharp[:, 0], 0.3, atol=1e-6)  # flat areas unchanged
    per_channel = unsharp_mask(step, amount=1.0, sigma=1.0, luma_only=False)
    np.testing.assert_allclose(per_channel, sharp, atol=1e-5)  # grey: same either way
    clean = _photo()
    assert _hf_energy(unsharp_mask(clean, 0.8, 1.2)) > _hf_energy(clean)


def test_jpeg_compress() -> None:
    clean = _photo()
    q95 = jpeg_compress(clean, 95)
    q20 = jpeg_compress(clean, 20)
    assert q95.dtype == np.float32 and q95.shape == clean.shape
    np.testing.assert_allclose(q95 * 255, np.rint(q95 * 255), atol=1e-3)
    assert psnr(q95, clean) > psnr(q20, clean)
    assert not np.array_equal(q95, clean)


def test_apply_degradation_with_explicit_params() -> None:
    clean = _photo()
    params = DegradeParams(exposure_gain=0.5, jpeg_quality=90)
    out1 = apply_degradation(clean, params, np.random.default_rng(0))
    out2 = apply_degradation(clean, params, np.random.default_rng(1))
    np.testing.assert_array_equal(out1, out2)  # no noise: rng does not matter
    assert out1.mean() < clean.mean()
    with pytest.raises(ValueError, match=r"\(H, W, 3\)"):
        apply_degradation(clean[..., :2], params, np.random.default_rng(0))


def test_default_degradation_looks_like_a_phone() -> None:
    """Averaged over draws: darker, noisier-or-softer, less saturated, not destroyed."""
    clean = _photo(96, 96)
    rng = np.random.default_rng(7)
    outs = [degrade(clean, rng) for _ in range(12)]
    luma = np.array([0.299, 0.587, 0.114], np.float32)
    assert np.mean([o.mean() for o in outs]) < clean.mean()
    chroma = [float(np.std(o - (o @ luma)[..., None])) for o in outs]
    assert np.mean(chroma) < float(np.std(clean - (clean @ luma)[..., None]))
    psnrs = [psnr(o, clean) for o in outs]
    assert 12.0 < np.mean(psnrs) < 32.0
