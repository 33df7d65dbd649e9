"""Non-neural baselines (numpy): a least-squares global colour map.

On DPED patches, most of the phone→DSLR change is a global tone/colour mapping, so a
colour map fitted on the training pairs is a strong baseline (it has matched the
paper's own INT8 model, ~21 dB). Features per pixel: ``[r, g, b, 1]`` (affine) or, with
``degree=2``, also ``r², g², b², rg, rb, gb`` (quadratic).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


def colour_features(rgb: np.ndarray, degree: int = 2) -> np.ndarray:
    """``(N, 4)`` (affine) or ``(N, 10)`` (quadratic) per-pixel features of ``(..., 3)``
    pixels, in the order ``[r, g, b, 1, r², g², b², rg, rb, gb]``."""
    x = rgb.reshape(-1, 3).astype(np.float64)
    cols = [x, np.ones((x.shape[0], 1))]
    if degree >= 2:
        r, g, b = x[:, 0:1], x[:, 1:2], x[:, 2:3]
        cols += [x * x, r * g, r * b, g * b]
    return np.concatenate(cols, axis=1)


@dataclass(frozen=True)
class ColourMap:
    """``y = features(x) @ coef``; ``coef`` is ``(n_features, 3)``."""

    coef: np.ndarray
    degree: int

    def apply(self, rgb: np.ndarray) -> np.ndarray:
        """``(H, W, 3)`` float32 [0, 1] → mapped, clipped to [0, 1]."""
        y = colour_features(rgb, self.degree) @ self.coef
        return np.clip(y, 0.0, 1.0).reshape(rgb.shape).astype(np.float32)


def fit_colour_map(
    inputs: Sequence[np.ndarray], targets: Sequence[np.ndarray], degree: int = 1, ridge: float = 1e-6
) -> ColourMap:
    """Least-squares fit over all pixels of all pairs (ridge-regularised normal equations)."""
    if not inputs:
        raise ValueError("fit_colour_map needs at least one pair")
    n_feat = colour_features(np.zeros((1, 1, 3)), degree).shape[1]
    ata = np.zeros((n_feat, n_feat))
    atb = np.zeros((n_feat, 3))
    for a, b in zip(inputs, targets, strict=True):
        f = colour_features(a, degree)
        ata += f.T @ f
        atb += f.T @ b.reshape(-1, 3).astype(np.float64)
    coef = np.linalg.solve(ata + ridge * np.eye(n_feat) * np.trace(ata) / n_feat, atb)
    return ColourMap(coef, degree)
