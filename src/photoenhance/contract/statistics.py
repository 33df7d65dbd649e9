"""Whole-photo statistics of the context thumbnail: the network's second global input
(I/O format 3), numpy; the torch twin is :mod:`photoenhance.model.statistics`.

A per-photo colour/tone transform is only as good as what it is conditioned on
(``bench/colour_path.py``: robust levels and spreads carry two thirds of the gain, and a
learned encoder on ~130 pairs does not find them by itself). Percentiles need a sort,
which an INT8 graph cannot do, so they are computed here, once per photo, from the same
``(3, 64, 64)`` thumbnail every tile gets (tile-exact), and fed to the graph as a uint8
input. Every statistic is mapped into [0, 1] (the input quantizer's fixed range):

====================  ==  ===========================================================
per-channel mean       3
per-channel std        3  × 2
per-channel pctiles   21  2, 10, 25, 50, 75, 90, 98 % (linear interpolation)
luma mean, std, sat    3  luma = mean of R, G, B; std × 2; sat = mean of max − min
luma histogram         8  share of pixels in 8 equal bins of [0, 1]
sat histogram          4  share of pixels in 4 equal bins of [0, 1]
covariance             6  upper triangle of the 3x3 RGB covariance, × 2 + 0.5
log mean               3  mean of ln(x + 0.001) / ln(0.001) (0: white, 1: black)
====================  ==  ===========================================================
"""

from __future__ import annotations

import numpy as np

#: number of statistics (channels of the ``stats`` input)
STATS_CHANNELS = 51
PERCENTILES = (2.0, 10.0, 25.0, 50.0, 75.0, 90.0, 98.0)
LUMA_BINS = 8
SAT_BINS = 4
LOG_EPS = 1e-3

__all__ = ["PERCENTILES", "STATS_CHANNELS", "thumbnail_statistics"]


def _histogram(v: np.ndarray, bins: int) -> np.ndarray:
    """Share of values per bin of [0, 1] (``(N, P)`` → ``(N, bins)``); bin ``i`` holds
    ``i/bins <= v < (i+1)/bins``, the last one also ``v == 1``."""
    idx = np.clip(np.floor(v * bins), 0, bins - 1).astype(np.int64)
    out = np.zeros((v.shape[0], bins), np.float64)
    for i in range(bins):
        out[:, i] = (idx == i).mean(axis=1)
    return out


def thumbnail_statistics(thumb: np.ndarray) -> np.ndarray:
    """``(N, 3, T, T)`` thumbnails in [0, 1] → ``(N, STATS_CHANNELS, 1, 1)`` float32 in [0, 1]."""
    if thumb.ndim != 4 or thumb.shape[1] != 3:
        raise ValueError(f"expected (N, 3, T, T) thumbnails, got shape {thumb.shape}")
    p = np.clip(thumb.reshape(thumb.shape[0], 3, -1).astype(np.float64), 0.0, 1.0)  # (N, 3, P)
    luma = p.mean(axis=1)
    sat = p.max(axis=1) - p.min(axis=1)
    mean = p.mean(axis=2)
    centred = p - mean[:, :, None]
    cov = np.einsum("ncp,ndp->ncd", centred, centred) / p.shape[2]
    iu = np.triu_indices(3)
    pct = np.percentile(p, PERCENTILES, axis=2)  # (7, N, 3)
    parts = [
        mean,
        2.0 * p.std(axis=2),
        pct.transpose(1, 0, 2).reshape(p.shape[0], -1),
        np.stack([luma.mean(axis=1), 2.0 * luma.std(axis=1), sat.mean(axis=1)], axis=1),
        _histogram(luma, LUMA_BINS),
        _histogram(sat, SAT_BINS),
        2.0 * cov[:, iu[0], iu[1]] + 0.5,
        np.log(p + LOG_EPS).mean(axis=2) / np.log(LOG_EPS),
    ]
    z = np.clip(np.concatenate(parts, axis=1), 0.0, 1.0)
    return z.astype(np.float32)[:, :, None, None]
