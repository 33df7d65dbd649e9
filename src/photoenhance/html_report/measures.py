"""Luma shift, new clipping and the block statistics the crops are chosen on.

Computed with the definitions of :mod:`photoenhance.harm` (its luma, its thresholds) on
the *full* displayed photos, in bands of about :data:`BAND_PIXELS` pixels so that the
temporaries stay small: the peak is the decoded photo plus a one-byte-per-pixel mask.
:func:`measure_before` runs on the input (its luma sum, the mask of pixels not yet
clipped, luma mean and variance per :data:`BLOCK` × :data:`BLOCK` block); once the input
is released, :func:`measure_after` runs on the output as written.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from photoenhance import harm

BLOCK = 16
"""Crops are chosen on a grid of BLOCK × BLOCK pixel blocks (statistics per block)."""
BAND_PIXELS = 1 << 21
"""Pixels measured at once (whole rows, a multiple of BLOCK): bounds the temporaries."""


def codes(x: np.ndarray) -> np.ndarray:
    """8-bit codes of [0, 1] values (as :mod:`photoenhance.harm` counts them)."""
    return np.rint(np.clip(x, 0.0, 1.0) * 255.0).astype(np.uint8)


def _band_rows(width: int) -> int:
    """Rows per band: about :data:`BAND_PIXELS` pixels, a multiple of :data:`BLOCK`."""
    return max(BLOCK, BAND_PIXELS // max(width, 1) // BLOCK * BLOCK)


def _brightest(x: np.ndarray) -> np.ndarray:
    """Brightest channel per pixel (``x.max(axis=2)``, several times faster)."""
    return np.maximum(np.maximum(x[..., 0], x[..., 1]), x[..., 2])


def _block_mean(y: np.ndarray, nb: int, wb: int, block: int) -> np.ndarray:
    """Means of the ``block × block`` blocks of ``y`` (``nb·block × wb·block``), float64:
    rows first (contiguous, fast), then the short runs along each row."""
    rows = y.reshape(nb, block, wb * block).sum(axis=1, dtype=np.float64)
    return rows.reshape(nb, wb, block).sum(axis=2) / (block * block)


@dataclass(frozen=True)
class BeforeStats:
    luma_sum: float
    below_clip: np.ndarray  # (H, W) bool: brightest channel < CLIP_HIGH_IN
    block_mean: np.ndarray  # (Hb, Wb) mean luma per block
    block_var: np.ndarray  # (Hb, Wb) luma variance per block (detail)
    block: int


def measure_before(view: np.ndarray) -> BeforeStats:
    """Luma sum, the not-yet-clipped mask and block statistics of the displayed input."""
    h, w = view.shape[:2]
    block = BLOCK if min(h, w) >= 4 * BLOCK else 1
    wb = w // block
    below = np.empty((h, w), bool)
    means: list[np.ndarray] = []
    variances: list[np.ndarray] = []
    total = 0.0
    rows = _band_rows(w)
    for r0 in range(0, h, rows):
        x = view[r0 : r0 + rows]
        y = harm.luma(x)
        total += float(y.sum(dtype=np.float64))
        # the code of the brightest channel is the brightest code (clip and rint are monotonic)
        below[r0 : r0 + len(x)] = codes(_brightest(x)) < harm.CLIP_HIGH_IN
        nb = len(y) // block
        if nb and wb:
            yy = y[: nb * block, : wb * block]
            m = _block_mean(yy, nb, wb, block)
            means.append(m)
            variances.append(np.maximum(_block_mean(np.square(yy), nb, wb, block) - m * m, 0.0))
    empty = np.zeros((0, wb))
    return BeforeStats(
        total,
        below,
        np.concatenate(means) if means else empty,
        np.concatenate(variances) if variances else empty,
        block,
    )


def measure_after(view: np.ndarray, below: np.ndarray) -> tuple[float, int]:
    """Luma sum of the displayed output and how many pixels it newly clips."""
    total, clipped = 0.0, 0
    rows = _band_rows(view.shape[1])
    for r0 in range(0, view.shape[0], rows):
        x = view[r0 : r0 + rows]
        total += float(harm.luma(x).sum(dtype=np.float64))
        high = codes(_brightest(x)) >= harm.CLIP_HIGH_OUT
        clipped += int(np.count_nonzero(high & below[r0 : r0 + len(x)]))
    return total, clipped
