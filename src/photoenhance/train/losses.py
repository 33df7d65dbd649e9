"""Training losses (torch). Inputs ``pred``, ``target``: ``(N, 3, H, W)`` RGB in [0, 1].

The paper's objective ``L = 2·L_PSNR + L_cos + L_outlier``:

* ``L_PSNR = (50 − PSNR_Y) / 100`` on the BT.601 luma, per image then averaged;
* ``L_cos  = 1 − cos(pred_rgb, target_rgb)`` per pixel (colour direction);
* outlier-aware L1: ``mean(w · |δ|)`` with detached weights
  ``w = tanh(|δ − mean(δ)| / (std(δ) / √2))`` — pixels far from the typical error
  (the outliers: halos, colour blotches) get weight ~1, typical ones less.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from photoenhance.train.config import LOSSES  # the loss names (``train --loss``)

_LUMA = (0.299, 0.587, 0.114)


def luma(x: torch.Tensor) -> torch.Tensor:
    """BT.601 luma ``(N, 3, H, W) → (N, 1, H, W)``."""
    w = x.new_tensor(_LUMA).view(1, 3, 1, 1)
    return (x * w).sum(dim=1, keepdim=True)


def psnr_y(pred: torch.Tensor, target: torch.Tensor, eps: float = 1e-10) -> torch.Tensor:
    """Per-image PSNR of the luma, ``(N,)`` in dB."""
    mse = (luma(pred) - luma(target)).pow(2).flatten(1).mean(dim=1)
    return 10.0 * torch.log10(1.0 / (mse + eps))


def psnr_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return ((50.0 - psnr_y(pred, target)) / 100.0).mean()


def cosine_loss(pred: torch.Tensor, target: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    dot = (pred * target).sum(dim=1)
    norms = pred.pow(2).sum(dim=1).add(eps).sqrt() * target.pow(2).sum(dim=1).add(eps).sqrt()
    return (1.0 - dot / norms).mean()


def outlier_l1(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    delta = (pred - target).abs()
    with torch.no_grad():
        flat = delta.flatten(1)
        mean = flat.mean(dim=1).view(-1, 1, 1, 1)
        std = flat.std(dim=1).view(-1, 1, 1, 1).clamp_min(1e-6)
        w = torch.tanh((delta - mean).abs() / (std / math.sqrt(2.0)))
    return (w * delta).mean()


@dataclass(frozen=True)
class LossWeights:
    psnr: float = 2.0
    cosine: float = 1.0
    outlier: float = 1.0


def enhancement_loss(
    pred: torch.Tensor, target: torch.Tensor, weights: LossWeights = LossWeights()
) -> tuple[torch.Tensor, dict[str, float]]:
    """The paper's loss; returns ``(loss, parts)`` with parts for logging."""
    lp, lc, lo = psnr_loss(pred, target), cosine_loss(pred, target), outlier_l1(pred, target)
    loss = weights.psnr * lp + weights.cosine * lc + weights.outlier * lo
    return loss, {"psnr_loss": lp.item(), "cos_loss": lc.item(), "outlier_l1": lo.item()}


def l1_mse_loss(pred: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
    """Plain fidelity loss ``L1 + MSE`` on RGB; returns ``(loss, parts)``."""
    d = pred - target
    l1, l2 = d.abs().mean(), d.pow(2).mean()
    return l1 + l2, {"l1": l1.item(), "mse": l2.item()}


def chroma(x: torch.Tensor) -> torch.Tensor:
    """Per-pixel max − min channel ``(N, 1, H, W)`` (the saturation measure of
    :mod:`photoenhance.harm`)."""
    return x.amax(dim=1, keepdim=True) - x.amin(dim=1, keepdim=True)


def chroma_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """L1 between the chroma of ``pred`` and of ``target``: a head that lifts all channels
    towards white compresses their differences (desaturates) unless told otherwise."""
    return (chroma(pred) - chroma(target)).abs().mean()



def training_loss(
    name: str, pred: torch.Tensor, target: torch.Tensor, chroma_weight: float = 0.0
) -> tuple[torch.Tensor, dict[str, float]]:
    """The loss called ``name`` (see :data:`LOSSES`): ``"paper"`` is
    :func:`enhancement_loss`, ``"l1mse"`` is :func:`l1_mse_loss`; plus
    ``chroma_weight`` × :func:`chroma_loss`."""
    if name == "paper":
        loss, parts = enhancement_loss(pred, target)
    elif name == "l1mse":
        loss, parts = l1_mse_loss(pred, target)
    else:
        raise ValueError(f"unknown loss {name!r}; choose from {', '.join(LOSSES)}")
    if chroma_weight > 0:
        lc = chroma_loss(pred, target)
        loss = loss + chroma_weight * lc
        parts["chroma"] = lc.item()
    return loss, parts
