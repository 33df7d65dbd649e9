from __future__ import annotations

import math

import pytest

torch = pytest.importorskip("torch")

from photoenhance.train.losses import (  # noqa: E402
    cosine_loss,
    enhancement_loss,
    outlier_l1,
    psnr_loss,
    psnr_y,
)
from photoenhance.train.setup import lr_at  # noqa: E402


def test_psnr_loss_by_hand() -> None:
    t = torch.full((1, 3, 8, 8), 0.5)
    p = t + 0.1  # luma error 0.1 → MSE 0.01 → 20 dB
    assert float(psnr_y(p, t)[0]) == pytest.approx(20.0, abs=1e-3)
    assert float(psnr_loss(p, t)) == pytest.approx((50 - 20) / 100, abs=1e-4)


def test_cosine_loss_ignores_brightness_but_not_hue() -> None:
    t = torch.rand(2, 3, 8, 8) + 0.1
    assert float(cosine_loss(t * 0.5, t)) == pytest.approx(0.0, abs=1e-5)
    assert float(cosine_loss(t.flip(1), t)) > 1e-3


def test_outlier_l1_weights_are_detached_and_emphasise_outliers() -> None:
    t = torch.zeros(1, 3, 10, 10)
    p = torch.full_like(t, 0.01)
    p[0, 0, 0, 0] = 1.0  # one outlier
    p.requires_grad_(True)
    loss = outlier_l1(p, t)
    loss.backward()
    assert p.grad is not None
    g = p.grad[0, 0]
    assert float(g[0, 0]) > 10 * float(g[5, 5].abs())  # the outlier dominates
    assert loss.item() < (p - t).abs().mean().item()


def test_total_loss_is_weighted_sum() -> None:
    t = torch.rand(2, 3, 16, 16)
    p = (t + 0.05 * torch.randn_like(t)).clamp(0, 1)
    total, parts = enhancement_loss(p, t)
    expected = 2 * parts["psnr_loss"] + parts["cos_loss"] + parts["outlier_l1"]
    assert float(total) == pytest.approx(expected, rel=1e-5)


def test_lr_schedule_warmup_then_cosine() -> None:
    assert lr_at(0, 100, 1.0, 10) == pytest.approx(0.1)
    assert lr_at(9, 100, 1.0, 10) == pytest.approx(1.0)
    assert lr_at(10, 100, 1.0, 10) == pytest.approx(1.0)
    assert lr_at(55, 100, 1.0, 10) == pytest.approx(0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi / 2)))
    assert lr_at(100, 100, 1.0, 10) == pytest.approx(0.02)
