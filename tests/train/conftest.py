from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image


def make_pairs(root: Path, n: int = 8, size: int = 40, seed: int = 0) -> Path:
    """Tiny DPED-style pairs: target = a fixed tone/colour change of the input."""
    rng = np.random.default_rng(seed)
    (root / "iphone").mkdir(parents=True)
    (root / "canon").mkdir()
    for i in range(n):
        base = rng.random((size // 8, size // 8, 3))
        x = np.kron(base, np.ones((8, 8, 1))) * 0.6 + 0.1 * rng.random((size, size, 3))
        y = np.clip(x * np.array([1.2, 1.1, 0.9]) + 0.05, 0, 1)
        Image.fromarray(np.uint8(x * 255 + 0.5)).save(root / "iphone" / f"{i}.png")
        Image.fromarray(np.uint8(y * 255 + 0.5)).save(root / "canon" / f"{i}.png")
    return root


@pytest.fixture
def pairs_dir(tmp_path: Path) -> Path:
    return make_pairs(tmp_path / "pairs")


@pytest.fixture
def pairs_factory():  # type: ignore[no-untyped-def]
    return make_pairs
