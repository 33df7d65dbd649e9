"""Harm measures on constructed images with known answers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from photoenhance.harm import (
    HarmMeasures,
    crushed_shadows,
    do_no_harm,
    harm_measures,
    luma_shift,
    new_clipping,
    noise_gain,
    saturation_change,
    summarise,
)


def _ramp(h: int = 64, w: int = 256) -> np.ndarray:
    """Horizontal grey ramp, column j = j / 255 (codes 0..255, one per column)."""
    row = np.arange(w, dtype=np.float32) / 255.0
    return np.repeat(np.repeat(row[None, :, None], h, axis=0), 3, axis=2)


def test_new_clipping_of_a_ramp_clipped_by_a_known_amount() -> None:
    x = _ramp()
    # brighten by 30 codes and clip: input codes 224..249 (26 columns) newly reach >= 254;
    # 250..255 were already near white and do not count
    y = np.clip(x + 30 / 255, 0, 1)
    assert new_clipping(x, y) == pytest.approx(26 / 256)
    assert new_clipping(x, x) == 0.0
    # a head that can only fade towards white never clips: x + 0.3·(1 − x)
    assert new_clipping(x, x + 0.3 * (1 - x)) == 0.0


def test_one_blown_channel_counts_as_clipped() -> None:
    x = np.full((10, 10, 3), 0.5, np.float32)
    y = x.copy()
    y[:5, :, 2] = 1.0  # the blue channel of half the pixels blown (a sky turning white)
    assert new_clipping(x, y) == pytest.approx(0.5)


def test_crushed_shadows_of_a_ramp_darkened_by_a_known_amount() -> None:
    x = _ramp()
    y = np.clip(x - 20 / 255, 0, 1)
    # codes 6..21 (16 columns) newly reach <= 1; 0..5 were already near black
    assert crushed_shadows(x, y) == pytest.approx(16 / 256)
    assert crushed_shadows(x, x * 0.5) == 0.0  # halving takes code 6 to 3, never to <= 1


def test_luma_shift_in_8bit_units() -> None:
    x = np.full((8, 8, 3), 0.4, np.float32)
    assert luma_shift(x, x + 22 / 255) == pytest.approx(22.0, abs=1e-3)
    assert luma_shift(x, x) == 0.0
    # BT.601 weights: +10 codes in green alone is +5.87
    y = x.copy()
    y[..., 1] += 10 / 255
    assert luma_shift(x, y) == pytest.approx(5.87, abs=1e-3)


def test_saturation_change_is_relative_chroma() -> None:
    x = np.zeros((4, 4, 3), np.float32)
    x[...] = (0.6, 0.4, 0.2)  # chroma 0.4
    grey = x.mean(axis=2, keepdims=True)
    less = grey + 0.9 * (x - grey)  # 10 % less saturated
    assert saturation_change(x, less) == pytest.approx(-0.1, abs=1e-6)
    assert saturation_change(x, x) == 0.0
    flat = np.full((4, 4, 3), 0.5, np.float32)
    assert math.isnan(saturation_change(flat, flat))  # no colour to keep or lose


def test_noise_gain_known_ratios() -> None:
    rng = np.random.default_rng(0)
    h, w = 128, 128
    smooth = np.repeat(np.linspace(0.3, 0.6, w, dtype=np.float32)[None, :, None], h, axis=0)
    smooth = np.repeat(smooth, 3, axis=2)
    noise = rng.normal(0, 0.01, (h, w, 1)).astype(np.float32)
    x = smooth + noise
    assert noise_gain(x, x) == pytest.approx(1.0)
    assert noise_gain(x, smooth + 2 * noise) == pytest.approx(2.0, rel=1e-3)
    assert noise_gain(x, smooth + 0.5 * noise) == pytest.approx(0.5, rel=1e-3)
    # a constant brightness change is not noise
    assert noise_gain(x, x + 0.05) == pytest.approx(1.0, rel=1e-3)
    # nothing to measure on a noise-free flat image
    flat = np.full((32, 32, 3), 0.5, np.float32)
    assert math.isnan(noise_gain(flat, flat))


def test_noise_gain_ignores_edges() -> None:
    """Sharpening an edge is not noise: only the flat quarter counts."""
    rng = np.random.default_rng(1)
    x = np.full((96, 96, 3), 0.3, np.float32)
    x[:, 48:] = 0.7
    x += rng.normal(0, 0.01, (96, 96, 1)).astype(np.float32)
    y = x.copy()
    y[:, 46:48] -= 0.1  # halo along the edge
    y[:, 48:50] += 0.1
    assert noise_gain(x, y) == pytest.approx(1.0, abs=1e-6)


def test_harm_measures_and_summary() -> None:
    x = _ramp()
    y = np.clip(x + 30 / 255, 0, 1)
    m = harm_measures(x, y)
    assert isinstance(m, HarmMeasures)
    assert m.new_clipping == pytest.approx(26 / 256)
    s = summarise([m, harm_measures(x, x)])
    assert s.photos == 2
    assert s.new_clipping == pytest.approx(13 / 256)
    assert s.max_new_clipping == pytest.approx(26 / 256)
    assert s.photos_over_clip_limit == 1
    assert s.to_dict()["photos"] == 2
    with pytest.raises(ValueError):
        summarise([])
    with pytest.raises(ValueError):
        harm_measures(x, x[:10])


def test_do_no_harm() -> None:
    x = _ramp()
    assert do_no_harm(x, x) == (100.0, pytest.approx(1.0))
    p, s = do_no_harm(x, np.clip(x + 0.1, 0, 1))
    assert 19.0 < p < 21.0 and s < 1.0


def test_grey_and_tiny_photos_give_nan_not_inf_or_errors() -> None:
    grey = _ramp(8, 40)
    tinted = grey.copy()
    tinted[..., 0] += 0.01
    assert math.isnan(saturation_change(grey, tinted))
    one_row = np.random.default_rng(0).random((1, 50, 3)).astype(np.float32)
    m = harm_measures(one_row, one_row)
    assert math.isnan(m.noise_gain)
    s = summarise([m, harm_measures(grey, tinted)])
    assert all(v is None or math.isfinite(v) for v in s.to_dict().values())
