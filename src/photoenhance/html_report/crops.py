"""Which regions of a photo the page shows: the most detailed, brightest and darkest.

:func:`choose_crops` works on the per-block statistics of
:func:`~photoenhance.html_report.measures.measure_before` (one value per block, not
per pixel), so choosing is cheap at any photo size.
"""

from __future__ import annotations

import numpy as np

CROP_SIZE = 512
CROP_LABELS = {
    "bright": "Brightest",
    "dark": "Darkest",
    "detail": "Most detailed",
    "whole": "Whole photo",
}
"""What the page calls each crop key."""


def _window_sums(grid: np.ndarray, kh: int, kw: int) -> np.ndarray:
    """Sum of every ``kh × kw`` window of ``grid`` (valid positions only)."""
    c = np.zeros((grid.shape[0] + 1, grid.shape[1] + 1))
    c[1:, 1:] = grid.cumsum(0).cumsum(1)
    return c[kh:, kw:] - c[:-kh, kw:] - c[kh:, :-kw] + c[:-kh, :-kw]


def choose_crops(
    block_mean: np.ndarray, block_var: np.ndarray, block: int, width: int, height: int,
    size: int = CROP_SIZE,
) -> list[tuple[str, int, int, int, int]]:  # fmt: skip
    """Pick up to three crops ``(key, x, y, w, h)`` of at most ``size`` px: the most
    detailed region (largest luma variance within blocks; the page shows it first), the
    brightest and the darkest, each overlapping an earlier pick by less than half its
    width or height.  A photo no larger than ``size`` either way, or one that three crops
    would cover more than once over (``3·w·h`` ≥ its pixels: 741 × 500 with 512 px crops),
    is one crop, ``whole``: no more pixels than needed."""
    cw, ch = min(size, width), min(size, height)
    if (width <= size and height <= size) or 3 * cw * ch >= width * height:
        return [("whole", 0, 0, width, height)]
    kh, kw = max(1, ch // block), max(1, cw // block)
    if block_mean.shape[0] < kh or block_mean.shape[1] < kw:
        return [("whole", 0, 0, width, height)]  # pragma: no cover - grid covers ≥ a crop
    mean = _window_sums(block_mean, kh, kw)
    detail = _window_sums(block_var, kh, kw)
    taken = np.zeros(mean.shape, bool)
    picks: list[tuple[str, int, int, int, int]] = []
    for key, score in (("detail", detail), ("bright", mean), ("dark", -mean)):
        masked = np.where(taken, -np.inf, score)
        if not np.isfinite(masked).any():
            break
        i, j = np.unravel_index(int(np.argmax(masked)), masked.shape)
        x, y = min(int(j) * block, width - cw), min(int(i) * block, height - ch)
        picks.append((key, x, y, cw, ch))
        taken[max(0, i - kh // 2 + 1) : i + kh // 2, max(0, j - kw // 2 + 1) : j + kw // 2] = True
        taken[i, j] = True
    return picks
