"""A network's outputs on validation images, and their mean PSNR / SSIM."""

from __future__ import annotations

import numpy as np
import torch

from photoenhance.metrics import psnr, ssim
from photoenhance.model.net import EnhanceNet


@torch.no_grad()
def predict(net: EnhanceNet, images: list[np.ndarray], device: torch.device) -> list[np.ndarray]:
    """``net`` (in its current quant mode, eval mode) on each HWC image in [0, 1] → its
    HWC outputs, clamped to [0, 1]."""
    was = net.training
    net.eval()
    try:
        return [
            net(torch.from_numpy(np.ascontiguousarray(a.transpose(2, 0, 1)))[None].to(device))[0]
            .clamp(0, 1).cpu().numpy().transpose(1, 2, 0)
            for a in images
        ]
    finally:
        net.train(was)


def mean_psnr(outputs: list[np.ndarray], targets: list[np.ndarray]) -> float:
    """Mean per-pair PSNR, each capped at 100 dB (identical pairs)."""
    return float(np.mean([min(psnr(y, t), 100.0) for y, t in zip(outputs, targets, strict=True)]))


def mean_ssim(outputs: list[np.ndarray], targets: list[np.ndarray]) -> float:
    return float(np.mean([ssim(y, t) for y, t in zip(outputs, targets, strict=True)]))

