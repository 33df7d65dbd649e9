"""The headroom head: identity at start, never past white or black, INT8 export exact."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from photoenhance.model import ModelConfig, create_model  # noqa: E402
from photoenhance.model.blocks import HeadroomHead, inward_clamp  # noqa: E402
from photoenhance.model.fake_quant import set_quant_mode  # noqa: E402


def test_new_models_start_as_the_identity() -> None:
    net = create_model("tiny").eval()
    assert net.config.head == "headroom"
    x = torch.rand(2, 3, 40, 56)
    with torch.no_grad():
        assert torch.equal(net(x), x)


@pytest.mark.parametrize("seed", range(5))
def test_output_stays_in_range_whatever_the_weights(seed: int) -> None:
    """y = w·x + u·(1 − x) with w, u in [0, 1] is a convex combination: even wild head
    weights give outputs in [0, 1] — no clamp needed, no pixel pushed past white."""
    torch.manual_seed(seed)
    head = HeadroomHead(8)
    for conv in (head.gain, head.lift):
        torch.nn.init.normal_(conv.weight, std=5.0)
        torch.nn.init.normal_(conv.bias, std=5.0)
    d = torch.randn(3, 8, 16, 16) * 3
    x = torch.rand(3, 12, 16, 16)
    x[0] = 1.0  # white stays white unless the head darkens it
    with torch.no_grad():
        y = head(d, x)
    assert float(y.min()) >= 0.0 and float(y.max()) <= 1.0 + 1e-6
    # the change of a pixel is bounded by its headroom: y − x <= 1 − x and x − y <= x
    assert bool(((y - x) <= (1 - x) + 1e-6).all()) and bool(((x - y) <= x + 1e-6).all())


def test_a_pure_lift_fades_towards_white() -> None:
    head = HeadroomHead(4)
    with torch.no_grad():
        head.lift.bias.fill_(0.3)  # u = 0.3 everywhere, w = 1
    x = torch.tensor([0.0, 0.5, 0.9, 1.0]).view(1, 1, 1, 4).expand(1, 12, 1, 4)
    with torch.no_grad():
        y = head(torch.zeros(1, 4, 1, 4), x)[0, 0, 0]
    assert torch.allclose(y, torch.tensor([0.3, 0.65, 0.93, 1.0]), atol=1e-6)


def test_inward_clamp_gradient() -> None:
    x = torch.tensor([-0.5, 0.5, 1.5, -0.5, 1.5], requires_grad=True)
    y = inward_clamp(x, 0.0, 1.0)
    assert torch.equal(y.detach(), torch.tensor([0.0, 0.5, 1.0, 0.0, 1.0]))
    # descent moves x by −g: g < 0 below range (moves up), g > 0 above range (moves down) pass
    g = torch.tensor([-1.0, 1.0, 1.0, 1.0, -1.0])
    y.backward(g)
    assert torch.equal(x.grad, torch.tensor([-1.0, 1.0, 1.0, 0.0, 0.0]))


def test_old_configs_load_with_the_residual_head() -> None:
    cfg = ModelConfig.from_dict({"name": "small", "widths": [16, 16, 32], "context_dim": 32})
    assert cfg.head == "residual"
    assert ModelConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ValueError, match="unknown head"):
        ModelConfig("x", (8, 8, 16), head="tanh")


def test_export_mode_matches_quant_mode() -> None:
    """In export mode the clamps are left to the uint8 saturation: same numbers."""
    from photoenhance.quant.qat import calibrate

    torch.manual_seed(0)
    net = create_model("tiny").eval()
    for conv in (net.head.gain, net.head.lift):
        torch.nn.init.normal_(conv.weight, std=0.5)
    calibrate(net, [(torch.rand(2, 3, 32, 32),)])
    x = torch.rand(1, 3, 32, 32)
    with torch.no_grad():
        set_quant_mode(net, "quant")
        a = net(x)
        set_quant_mode(net, "export")
        b = net(x)
    assert torch.allclose(a, b, atol=1e-6)
