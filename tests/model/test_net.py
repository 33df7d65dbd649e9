"""Network architecture: shapes, identity start, factories, tile-safety building blocks."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from photoenhance.model import (  # noqa: E402
    MULTIPLE,
    SIZES,
    count_params,
    create_model,
    head_convs,
    macs_per_megapixel,
    receptive_radius,
)
from photoenhance.model.blocks import (  # noqa: E402
    RefinerBlock,
    depth_to_space,
    merged_3x3_1x1,
    space_to_depth,
)


@pytest.mark.parametrize("h,w", [(1, 1), (7, 13), (37, 53), (64, 64), (100, 100), (9, 250)])
def test_any_size_round_trips_shape(h: int, w: int) -> None:
    net = create_model("tiny").eval()
    for c in head_convs(net):
        torch.nn.init.normal_(c.weight, std=0.1)
    x = torch.rand(2, 3, h, w)
    with torch.no_grad():
        y = net(x)
    assert y.shape == x.shape
    assert float(y.min()) >= 0.0 and float(y.max()) <= 1.0
    assert not torch.allclose(y, x)  # the randomised head changes the image


def test_fresh_network_is_the_identity() -> None:
    net = create_model("tiny").eval()
    x = torch.rand(1, 3, 40, 56)
    with torch.no_grad():
        assert torch.equal(net(x), x)


def test_factories_and_sizes() -> None:
    params = {name: count_params(create_model(name)) for name in SIZES}
    assert params["tiny"] < params["small"] < params["medium"] < params["base"]
    assert 0.7e6 < params["base"] < 1.3e6  # ≈ the paper's c=32 network
    with pytest.raises(ValueError, match="unknown model size"):
        create_model("huge")
    macs = macs_per_megapixel(create_model("small"))
    assert 3e9 < macs < 10e9


def test_space_to_depth_matches_onnx_order_and_inverts() -> None:
    x = torch.arange(2 * 3 * 4 * 6, dtype=torch.float32).reshape(2, 3, 4, 6)
    s = space_to_depth(x)
    assert s.shape == (2, 12, 2, 3)
    # ONNX SpaceToDepth: channel (dy*2 + dx)*C + c holds x[c, 2i+dy, 2j+dx]
    for dy in range(2):
        for dx in range(2):
            for c in range(3):
                assert torch.equal(s[:, (dy * 2 + dx) * 3 + c], x[:, c, dy::2, dx::2])
    assert torch.equal(depth_to_space(s), x)


def test_merged_conv_keeps_one_by_one_path_after_training() -> None:
    conv = merged_3x3_1x1(8, 4, 4)
    opt = torch.optim.SGD(conv.parameters(), lr=1.0)
    conv(torch.rand(1, 8, 10, 10)).pow(2).sum().backward()
    opt.step()
    w = conv.effective_weight()
    off_centre = w[4:].clone()
    off_centre[:, :, 1, 1] = 0
    assert torch.count_nonzero(off_centre) == 0
    assert torch.count_nonzero(w[:4, :, 0, 0]) > 0


def test_no_normalisation_layers() -> None:
    """Per-image statistics break tiled inference: none anywhere in the network."""
    net = create_model("small")
    norms = (torch.nn.modules.batchnorm._NormBase, torch.nn.GroupNorm, torch.nn.LayerNorm)
    assert not any(isinstance(m, norms) for m in net.modules())
    assert any(isinstance(m, RefinerBlock) for m in net.modules())


def test_receptive_radius_is_finite_and_multiple_padding() -> None:
    r = receptive_radius(SIZES["tiny"])
    assert 16 < r < 160
    assert MULTIPLE == 8


@pytest.mark.parametrize("hw", [(64, 64), (100, 70), (333, 517)])
def test_numpy_thumbnail_is_the_torch_thumbnail(hw: tuple[int, int]) -> None:
    """Training (torch) and inference (numpy) compute the global-context input alike."""
    import numpy as np

    from photoenhance.contract.context import context_thumbnail as np_thumb
    from photoenhance.model import context_thumbnail as torch_thumb

    img = np.random.default_rng(hw[0]).random((*hw, 3), dtype=np.float32)
    ref = torch_thumb(torch.from_numpy(img.transpose(2, 0, 1)[None].copy())).numpy()
    np.testing.assert_allclose(np_thumb(img, in_range=True), ref, rtol=1e-5, atol=1e-7)


def test_fusion_context_is_optional() -> None:
    from photoenhance.model.blocks import Fusion

    d, a = torch.rand(1, 16, 4, 4), torch.rand(1, 8, 8, 8)
    assert Fusion(16, 8, 8, context=False)(d, a, a).shape == (1, 8, 8, 8)
    with pytest.raises(ValueError, match="ctx"):
        Fusion(16, 8, 8)(d, a, a)
    net = create_model("small")
    assert net.fuse1.ctx_add is None and net.fuse2.ctx_add is not None
