"""Global context thumbnail, numpy twin of ``torch.nn.functional.adaptive_avg_pool2d``.

The network's global-context contract: one ``(3, 64, 64)`` thumbnail per *image*,
computed here once and fed unchanged to every tile, so tiles agree with each other.
"""

from __future__ import annotations

import numpy as np

CONTEXT_SIZE = 64


def _bins(n: int, out: int) -> tuple[np.ndarray, np.ndarray]:
    i = np.arange(out)
    start = (i * n) // out
    end = -((-(i + 1) * n) // out)  # ceil((i + 1) * n / out)
    return start, end


def _pool_axis(a: np.ndarray, axis: int, out: int) -> np.ndarray:
    """Adaptive average pooling of ``a`` along ``axis`` (float64 prefix sums)."""
    n = a.shape[axis]
    start, end = _bins(n, out)
    csum = np.cumsum(a, axis=axis, dtype=np.float64)
    zero = np.zeros_like(np.take(csum, [0], axis=axis))
    csum = np.concatenate([zero, csum], axis=axis)
    total = np.take(csum, end, axis=axis) - np.take(csum, start, axis=axis)
    shape = [1] * a.ndim
    shape[axis] = out
    return total / (end - start).reshape(shape)


def context_thumbnail(rgb: np.ndarray, size: int = CONTEXT_SIZE) -> np.ndarray:
    """``(H, W, 3)`` float32 in [0, 1] → ``(1, 3, size, size)`` float32 thumbnail.

    Values are clipped to [0, 1] first (extended-range sRGB from wide-gamut photos), as
    the network sees them. Works in row bands so a 48 MP image needs only a few MB of
    temporary memory.
    """
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"expected an (H, W, 3) image, got shape {rgb.shape}")
    h, _ = rgb.shape[:2]
    start, end = _bins(h, size)
    rows = np.empty((size, rgb.shape[1], 3), np.float64)
    for i in range(size):
        rows[i] = np.clip(rgb[start[i] : end[i]], 0.0, 1.0).astype(np.float64).mean(axis=0)
    thumb = _pool_axis(rows, 1, size)  # (size, size, 3)
    return np.ascontiguousarray(thumb.transpose(2, 0, 1)[None], dtype=np.float32)
