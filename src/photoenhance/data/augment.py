"""Paired geometric augmentation: the same flips, rotations and crops applied to both images.

All functions take two arrays ``a`` (input) and ``b`` (target) with the same height and width,
shape :math:`(H, W)` or :math:`(H, W, C)` (channel counts may differ), and return views or copies
with identical geometry applied. Outputs are C-contiguous so that ``torch.from_numpy`` accepts
them without a copy-on-negative-stride error.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

__all__ = ["augment_pair", "random_crop_pair", "random_patch_pairs"]

_Array = NDArray[np.generic]


def _check_pair(a: _Array, b: _Array) -> None:
    if a.ndim not in (2, 3) or b.ndim not in (2, 3):
        raise ValueError(f"expected (H, W) or (H, W, C) arrays, got {a.shape} and {b.shape}")
    if a.shape[:2] != b.shape[:2]:
        raise ValueError(
            f"paired images must have the same height and width, got {a.shape} and {b.shape}"
        )


def _size_hw(size: int | tuple[int, int]) -> tuple[int, int]:
    h, w = (size, size) if isinstance(size, int) else (int(size[0]), int(size[1]))
    if h < 1 or w < 1:
        raise ValueError(f"crop size must be positive, got {size}")
    return h, w


def random_crop_pair(
    a: _Array, b: _Array, size: int | tuple[int, int], rng: np.random.Generator
) -> tuple[_Array, _Array]:
    """Cut the same random window out of both images.

    Args:
        a: input image of shape :math:`(H, W, C)` or :math:`(H, W)`.
        b: target image with the same :math:`H, W`.
        size: crop side ``s`` or ``(height, width)``; must fit inside :math:`(H, W)`.
        rng: source of the offset (uniform over all valid positions).

    Returns:
        ``(a_crop, b_crop)`` of shape :math:`(h, w, C)`: contiguous copies.

    Raises:
        ValueError: shapes differ or the crop does not fit.
    """
    _check_pair(a, b)
    h, w = _size_hw(size)
    height, width = a.shape[:2]
    if h > height or w > width:
        raise ValueError(f"crop {h}x{w} does not fit in a {height}x{width} image")
    y = int(rng.integers(0, height - h + 1))
    x = int(rng.integers(0, width - w + 1))
    return (
        np.ascontiguousarray(a[y : y + h, x : x + w]),
        np.ascontiguousarray(b[y : y + h, x : x + w]),
    )


def random_patch_pairs(
    a: _Array, b: _Array, size: int | tuple[int, int], count: int, rng: np.random.Generator
) -> tuple[tuple[_Array, _Array], ...]:
    """Cut ``count`` random aligned patches out of one pair (e.g. a full-size photo pair).

    Full-size pairs with different resolutions should first be brought to the same size, e.g.
    with ``load_pair(pair, resize_target=True)``.

    Args:
        a: input image of shape :math:`(H, W, C)` or :math:`(H, W)`.
        b: target image with the same :math:`H, W`.
        size: patch side ``s`` or ``(height, width)``.
        count: number of patches (>= 0), drawn independently (they may overlap).
        rng: source of the offsets.

    Returns:
        ``count`` pairs ``(a_patch, b_patch)`` of shape :math:`(h, w, C)`.
    """
    if count < 0:
        raise ValueError(f"count must be >= 0, got {count}")
    return tuple(random_crop_pair(a, b, size, rng) for _ in range(count))


def augment_pair(
    a: _Array,
    b: _Array,
    rng: np.random.Generator,
    flips: bool = True,
    rotations: bool = True,
) -> tuple[_Array, _Array]:
    """Apply one random element of the dihedral group (flips, 90° rotations) to both images.

    With both options on, each of the 8 symmetries of the square is equally likely:
    a horizontal flip with probability 1/2, then a rotation by ``k * 90°``, ``k`` uniform in
    ``0..3``. Rotations by 90°/270° swap height and width.

    Args:
        a: input image of shape :math:`(H, W, C)` or :math:`(H, W)`.
        b: target image with the same :math:`H, W`.
        rng: source of the choice (two draws per call, whatever the options).
        flips: allow the horizontal flip.
        rotations: allow the rotations.

    Returns:
        ``(a', b')``, contiguous, of shape :math:`(H, W, C)` or :math:`(W, H, C)`.
    """
    _check_pair(a, b)
    flip = bool(rng.integers(0, 2))
    k = int(rng.integers(0, 4))
    if flips and flip:
        a, b = a[:, ::-1], b[:, ::-1]
    if rotations and k:
        a, b = np.rot90(a, k, axes=(0, 1)), np.rot90(b, k, axes=(0, 1))
    return np.ascontiguousarray(a), np.ascontiguousarray(b)
