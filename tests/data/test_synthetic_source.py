"""Tests for photoenhance.data.synthetic: listing, caching, patch pairs from clean photos."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from photoenhance.data.degrade import DegradeConfig
from photoenhance.data.synthetic import SyntheticPairSource, list_photos, sample_patch_pair


def _save(path: Path, h: int, w: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (h // 4 + 1, w // 4 + 1, 3), dtype=np.uint8)
    arr = np.kron(small, np.ones((4, 4, 1), np.uint8))[:h, :w]
    Image.fromarray(arr).save(path)
    return arr


@pytest.fixture
def photo_dir(tmp_path: Path) -> Path:
    for i, name in enumerate(["b10.png", "b2.png", "a.PNG", "c.tif"]):
        _save(tmp_path / name, 40 + 4 * i, 48, seed=i)
    (tmp_path / "notes.txt").write_text("x")
    (tmp_path / "sub").mkdir()
    return tmp_path


def test_list_photos(photo_dir: Path) -> None:
    names = [p.name for p in list_photos(photo_dir)]
    assert names == ["a.PNG", "b2.png", "b10.png", "c.tif"]
    with pytest.raises(FileNotFoundError):
        list_photos(photo_dir / "missing")


def test_sample_patch_pair_full_resolution_is_a_crop() -> None:
    photo = np.random.default_rng(0).random((30, 40, 3), dtype=np.float32)
    deg, clean = sample_patch_pair(
        photo, 12, np.random.default_rng(1), DegradeConfig.identity(), scale_range=(1.0, 1.0)
    )
    assert clean.shape == deg.shape == (12, 12, 3)
    np.testing.assert_array_equal(deg, clean)  # identity degradation
    hits = [
        (y, x)
        for y in range(30 - 11)
        for x in range(40 - 11)
        if np.array_equal(photo[y : y + 12, x : x + 12], clean)
    ]
    assert len(hits) == 1


def test_sample_patch_pair_downscaled_and_errors() -> None:
    photo = (np.random.default_rng(0).random((64, 64, 3)) * 255).astype(np.uint8)
    deg, clean = sample_patch_pair(photo, 16, np.random.default_rng(1), scale_range=(2.0, 2.0))
    assert deg.shape == clean.shape == (16, 16, 3)
    assert deg.dtype == clean.dtype == np.float32
    assert clean.min() >= 0.0 and clean.max() <= 1.0
    # A 2x area downscale of random pixels averages them: less variance than the source.
    assert clean.std() < (photo / 255.0).std() * 0.8
    with pytest.raises(ValueError, match="smaller than"):
        sample_patch_pair(photo, 65, np.random.default_rng(1))
    with pytest.raises(ValueError, match="scale_range"):
        sample_patch_pair(photo, 8, np.random.default_rng(1), scale_range=(0.5, 1.0))


def test_source_deterministic_and_cached(photo_dir: Path) -> None:
    s1 = SyntheticPairSource(photo_dir, 16, np.random.default_rng(7))
    s2 = SyntheticPairSource(photo_dir, 16, np.random.default_rng(7))
    d1, c1 = s1.batch(6)
    d2, c2 = s2.batch(6)
    assert d1.shape == c1.shape == (6, 16, 16, 3)
    np.testing.assert_array_equal(d1, d2)
    np.testing.assert_array_equal(c1, c2)
    assert len(s1) == 4 and s1.problems == ()
    path = s1.photos[0]
    assert s1.load(path) is s1.load(path)  # cached


def test_source_skips_bad_photos(tmp_path: Path) -> None:
    _save(tmp_path / "good.png", 40, 40, 0)
    _save(tmp_path / "tiny.png", 8, 8, 1)
    (tmp_path / "broken.jpg").write_bytes(b"not a jpeg")
    src = SyntheticPairSource(tmp_path, 16, np.random.default_rng(0), cache_bytes=0)
    for _ in range(10):
        _deg, clean = src.sample()
        assert clean.shape == (16, 16, 3)
    assert len(src) == 1
    assert len(src.problems) == 2
    assert any("broken.jpg" in p for p in src.problems)
    assert any("tiny.png" in p and "smaller" in p for p in src.problems)


def test_source_all_unusable_and_empty(tmp_path: Path) -> None:
    (tmp_path / "broken.jpg").write_bytes(b"not a jpeg")
    src = SyntheticPairSource([tmp_path / "broken.jpg"], 16, np.random.default_rng(0))
    with pytest.raises(ValueError, match="no usable photo"):
        src.sample()
    (tmp_path / "broken.jpg").unlink()
    with pytest.raises(ValueError, match="no photos"):
        SyntheticPairSource(tmp_path, 16, np.random.default_rng(0))
