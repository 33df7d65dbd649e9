"""The per-photo inputs of a model (the reader side of the contract): what is computed
once per photo and fed unchanged with every tile — the context thumbnail and, for a
format-3 model, the thumbnail's statistics. No torch, no onnxruntime here."""

from __future__ import annotations

import numpy as np

from photoenhance.contract.spec import STATS_INPUT, THUMB_INPUT
from photoenhance.contract.statistics import thumbnail_statistics

__all__ = ["photo_feeds"]


def photo_feeds(thumb: np.ndarray, *, stats: bool) -> dict[str, np.ndarray]:
    """``thumb: (N, 3, 64, 64)`` (:func:`~photoenhance.contract.context.context_thumbnail`)
    → the model's per-photo feeds: ``{"thumb": thumb}``, plus ``{"stats": …}`` when the
    model takes statistics (``ModelInfo.stats_channels > 0``)."""
    feeds = {THUMB_INPUT: thumb}
    if stats:
        feeds[STATS_INPUT] = thumbnail_statistics(thumb)
    return feeds
