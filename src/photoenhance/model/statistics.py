"""Torch twin of :func:`photoenhance.contract.statistics.thumbnail_statistics` (the
``stats`` input of I/O format 3): the same 51 whole-photo statistics of the context
thumbnail, computed in training from each crop's own thumbnail. Not differentiated
(statistics of the input, no parameters)."""

from __future__ import annotations

import math

import torch

from photoenhance.contract.statistics import LOG_EPS, LUMA_BINS, PERCENTILES, SAT_BINS

__all__ = ["thumbnail_statistics"]


def _histogram(v: torch.Tensor, bins: int) -> torch.Tensor:
    idx = torch.clamp(torch.floor(v * bins), 0, bins - 1)
    return torch.stack([(idx == i).to(v.dtype).mean(dim=1) for i in range(bins)], dim=1)


@torch.no_grad()
def thumbnail_statistics(thumb: torch.Tensor) -> torch.Tensor:
    """``(N, 3, T, T)`` in [0, 1] → ``(N, 51, 1, 1)`` in [0, 1] (float64 inside, like numpy)."""
    n = thumb.shape[0]
    p = thumb.detach().reshape(n, 3, -1).to(torch.float64).clamp(0.0, 1.0)
    luma = p.mean(dim=1)
    sat = p.amax(dim=1) - p.amin(dim=1)
    mean = p.mean(dim=2)
    centred = p - mean[:, :, None]
    cov = torch.einsum("ncp,ndp->ncd", centred, centred) / p.shape[2]
    iu = torch.triu_indices(3, 3)
    q = torch.tensor(PERCENTILES, dtype=torch.float64) / 100.0
    pct = torch.quantile(p, q, dim=2)  # (7, N, 3), linear interpolation as numpy
    parts = [
        mean,
        2.0 * p.std(dim=2, unbiased=False),
        pct.permute(1, 0, 2).reshape(n, -1),
        torch.stack([luma.mean(dim=1), 2.0 * luma.std(dim=1, unbiased=False), sat.mean(dim=1)], dim=1),
        _histogram(luma, LUMA_BINS),
        _histogram(sat, SAT_BINS),
        2.0 * cov[:, iu[0], iu[1]] + 0.5,
        torch.log(p + LOG_EPS).mean(dim=2) / math.log(LOG_EPS),
    ]
    z = torch.cat(parts, dim=1).clamp(0.0, 1.0)
    return z.to(thumb.dtype)[:, :, None, None]
