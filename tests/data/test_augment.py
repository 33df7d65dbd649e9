"""Tests for photoenhance.data.augment: identical geometry on both images of a pair."""

from __future__ import annotations

import numpy as np
import pytest

from photoenhance.data.augment import augment_pair, random_crop_pair, random_patch_pairs


def _coords(h: int, w: int) -> np.ndarray:
    """(H, W, 2) float32 image whose pixels hold their own (row, col)."""
    y, x = np.mgrid[0:h, 0:w]
    return np.stack([y, x], axis=-1).astype(np.float32)


def test_augment_same_image_stays_equal_and_covers_dihedral_group() -> None:
    x = np.random.default_rng(0).random((6, 9, 3), dtype=np.float32)
    rng = np.random.default_rng(1)
    seen = set()
    for _ in range(200):
        a, b = augment_pair(x, x.copy(), rng)
        np.testing.assert_array_equal(a, b)
        assert a.flags.c_contiguous and b.flags.c_contiguous
        assert a.shape in ((6, 9, 3), (9, 6, 3))
        seen.add(a.tobytes())
    assert len(seen) == 8  # all flips x rotations reached


def test_augment_pairs_with_different_channels_stay_aligned() -> None:
    a0 = _coords(5, 7)
    b0 = a0[..., :1] * 2 + 1  # (H, W, 1), a function of the same pixel
    rng = np.random.default_rng(2)
    for _ in range(20):
        a, b = augment_pair(a0, b0, rng)
        np.testing.assert_array_equal(b[..., 0], a[..., 0] * 2 + 1)


def test_augment_options_and_mismatch() -> None:
    x = np.arange(12, dtype=np.float32).reshape(3, 4)
    rng = np.random.default_rng(0)
    for _ in range(10):
        a, _ = augment_pair(x, x, rng, flips=False, rotations=False)
        np.testing.assert_array_equal(a, x)
    with pytest.raises(ValueError, match="same height and width"):
        augment_pair(x, x.T, rng)


def test_random_crop_pair_aligned() -> None:
    a0 = _coords(20, 30)
    b0 = a0 + 100.0
    rng = np.random.default_rng(3)
    offsets = set()
    for _ in range(30):
        a, b = random_crop_pair(a0, b0, (8, 5), rng)
        assert a.shape == (8, 5, 2) and b.shape == (8, 5, 2)
        np.testing.assert_array_equal(b - a, 100.0)
        y, x = int(a[0, 0, 0]), int(a[0, 0, 1])
        np.testing.assert_array_equal(a, a0[y : y + 8, x : x + 5])
        offsets.add((y, x))
    assert len(offsets) > 10
    full_a, _full_b = random_crop_pair(a0, b0, (20, 30), rng)
    np.testing.assert_array_equal(full_a, a0)
    with pytest.raises(ValueError, match="does not fit"):
        random_crop_pair(a0, b0, 21, rng)
    with pytest.raises(ValueError, match="same height"):
        random_crop_pair(a0, b0[:-1], 4, rng)


def test_random_patch_pairs() -> None:
    a0 = _coords(16, 16)
    patches = random_patch_pairs(a0, a0 * 3, 4, 5, np.random.default_rng(4))
    assert len(patches) == 5
    for a, b in patches:
        np.testing.assert_array_equal(b, a * 3)
    assert random_patch_pairs(a0, a0, 4, 0, np.random.default_rng(4)) == ()
