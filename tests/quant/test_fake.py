"""Fake quantization: straight-through gradients, grids, fixed ranges, modes."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from photoenhance.model.fake_quant import (  # noqa: E402
    INT8_MAX,
    ActQuant,
    QConv2d,
    fake_quant_weight,
    set_quant_mode,
    weight_scale_per_channel,
)


def test_gradients_flow_through_activation_fake_quant() -> None:
    q = ActQuant()
    q.mode = "observe"
    q(torch.linspace(-1, 3, 100))
    q.init_from_observers()
    q.mode = "quant"
    x = torch.linspace(-0.5, 2.5, 50, requires_grad=True)
    y = q(x)
    y.sum().backward()
    assert x.grad is not None and torch.all(x.grad[1:-1] == 1.0)  # straight-through inside
    assert q.scale.grad is not None and q.scale.grad != 0  # learned scale (LSQ)
    # values sit on the uint8 grid
    s, z = q.qparams()
    codes = y.detach() / s + z
    assert torch.allclose(codes, codes.round(), atol=1e-3)
    assert codes.min() >= 0 and codes.max() <= 255


def test_clamped_values_get_no_gradient() -> None:
    q = ActQuant((0.0, 1.0))
    q.mode = "quant"
    x = torch.tensor([-0.5, 0.5, 1.5], requires_grad=True)
    q(x).sum().backward()
    assert x.grad is not None
    assert x.grad.tolist() == [0.0, 1.0, 0.0]


def test_fixed_symmetric_range_saturation_is_the_clamp() -> None:
    q = ActQuant((-1.0, 1.0))
    q.mode = "quant"
    x = torch.linspace(-3, 3, 1001)
    y = q(x)
    assert float(y.min()) == -1.0
    assert float(y.max()) <= 1.0
    clamped = q(torch.clamp(x, -1, 1))
    assert torch.equal(y, clamped)  # quantizing implies the hard-tanh
    assert not q.scale.requires_grad


def test_weight_fake_quant_per_channel_symmetric() -> None:
    w = torch.randn(6, 4, 3, 3) * torch.tensor([1e-3, 0.1, 1, 10, 100, 0.5]).view(-1, 1, 1, 1)
    w.requires_grad_(True)
    wq = fake_quant_weight(w)
    s = weight_scale_per_channel(w).view(-1, 1, 1, 1)
    codes = wq.detach() / s
    assert torch.allclose(codes, codes.round(), atol=1e-4)
    assert INT8_MAX == 63  # 7-bit magnitude: no int16 saturation in AVX2 u8s8 kernels
    assert codes.abs().amax() <= INT8_MAX + 1e-4
    assert torch.allclose(codes.abs().flatten(1).amax(1), torch.full((6,), float(INT8_MAX)))
    wq.sum().backward()
    assert w.grad is not None and torch.all(w.grad == 1.0)


def test_set_quant_mode_switches_convs_and_rejects_unknown_modes() -> None:
    net = torch.nn.Sequential(QConv2d(3, 4, 3, padding=1), ActQuant())
    set_quant_mode(net, "quant")
    assert net[0].weight_quant and net[1].mode == "quant"
    set_quant_mode(net, "float")
    assert not net[0].weight_quant
    with pytest.raises(ValueError):
        set_quant_mode(net, "int4")  # type: ignore[arg-type]


def test_uncalibrated_quantizer_refuses_to_initialise() -> None:
    with pytest.raises(RuntimeError, match="calibration"):
        ActQuant().init_from_observers()
