"""Global context thumbnail, numpy twin of ``torch.nn.functional.adaptive_avg_pool2d``.

The network's global-context contract: one ``(3, 64, 64)`` thumbnail per *image*,
computed here once and fed unchanged to every tile, so tiles agree with each other.
"""

from __future__ import annotations

import numpy as np

from photoenhance.contract.spec import CONTEXT_SIZE

__all__ = ["CONTEXT_SIZE", "band_on_grid", "context_thumbnail", "scan_image"]


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


def context_thumbnail(rgb: np.ndarray, size: int = CONTEXT_SIZE, *, in_range: bool = False) -> np.ndarray:
    """``(H, W, 3)`` float32 in [0, 1] → ``(1, 3, size, size)`` float32 thumbnail.

    Values are clipped to [0, 1] first (extended-range sRGB from wide-gamut photos), as
    the network sees them; ``in_range=True`` says they already are (an 8-bit photo), which
    skips the clip (a third of the cost). Row sums are float32 over one bin of rows at a
    time (a few MB of temporary memory for a 48 MP image); the division and the column
    pooling are float64.
    """
    return _thumbnail(rgb, size, check_grid=False, in_range=in_range)[0]


def band_on_grid(band: np.ndarray, scaled: np.ndarray, rounded: np.ndarray) -> bool:
    """Every value of ``band`` is ``k / 255``, ``k`` in 0..255 (``scaled`` and ``rounded``
    are scratch buffers of ``band``'s shape)."""
    np.multiply(band, np.float32(255.0), out=scaled)
    np.rint(scaled, out=rounded)
    if not (rounded.min() >= 0 and rounded.max() <= 255):  # also False for NaN
        return False
    np.subtract(scaled, rounded, out=scaled)
    np.abs(scaled, out=scaled)
    return bool(scaled.max() < 1e-3)


def scan_image(rgb: np.ndarray, size: int = CONTEXT_SIZE) -> tuple[np.ndarray, bool]:
    """One pass over the image for what inference needs before the first tile: the
    context thumbnail (as :func:`context_thumbnail`) and whether the image is on the 8-bit
    grid (every value ``k / 255``: then the network's input rounding changes nothing).

    Each thumbnail bin of rows is checked and summed while it is in the cache, with two
    reused scratch buffers; once a bin is off the grid the rest are clipped instead."""
    return _thumbnail(rgb, size, check_grid=True, in_range=False)


def _thumbnail(
    rgb: np.ndarray, size: int, *, check_grid: bool, in_range: bool
) -> tuple[np.ndarray, bool]:
    """The thumbnail, bin of rows by bin of rows, and (with ``check_grid``) whether every
    value is on the 8-bit grid. A bin is clipped unless ``in_range`` or it (and every bin
    before it) is on the grid, hence in [0, 1] already."""
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"expected an (H, W, 3) image, got shape {rgb.shape}")
    h, w = rgb.shape[:2]
    start, end = _bins(h, size)
    if check_grid:
        scaled = np.empty((int((end - start).max()), w, 3), np.float32)
        rounded = np.empty_like(scaled)
    sums = np.empty((size, w, 3), np.float32)
    on_grid = check_grid
    for i in range(size):
        band = rgb[start[i] : end[i]]
        if on_grid:
            on_grid = band_on_grid(band, scaled[: len(band)], rounded[: len(band)])
        if not (on_grid or in_range):
            band = np.clip(band, 0.0, 1.0)
        np.add.reduce(band, axis=0, dtype=np.float32, out=sums[i])
    thumb = _pool_axis(sums.astype(np.float64) / (end - start)[:, None, None], 1, size)
    return np.ascontiguousarray(thumb.transpose(2, 0, 1)[None], dtype=np.float32), on_grid
