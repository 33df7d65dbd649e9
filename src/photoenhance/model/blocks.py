"""Network blocks (torch). Every block is INT8-friendly: convs are :class:`QConv2d`,
every tensor that ONNX must see quantized passes through an :class:`ActQuant`, and no
block uses per-image statistics (no normalisation layers), so the network is
translation-equivariant up to its stride and tiled inference is exact.

Shapes are NCHW; ``c`` is the channel width of the level the block runs at.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from photoenhance.model.fake_quant import ActQuant, QConv2d

GATE_RANGE = (-1.0, 1.0)


def conv3x3(cin: int, cout: int, stride: int = 1) -> QConv2d:
    return QConv2d(cin, cout, 3, stride=stride, padding=1)


def conv1x1(cin: int, cout: int) -> QConv2d:
    return QConv2d(cin, cout, 1)


def merged_3x3_1x1(cin: int, c3: int, c1: int) -> QConv2d:
    """One 3x3 conv whose first ``c3`` output channels are a 3x3 path and whose last
    ``c1`` are a 1x1 path (centre tap only, enforced by a fixed mask).

    Mathematically ``concat(conv3x3(x), conv1x1(x))`` — the refiner's two parallel
    paths — computed as a single conv, so INT8 inference needs no Concat node.
    """
    mask = torch.ones(c3 + c1, cin, 3, 3)
    mask[c3:] = 0.0
    mask[c3:, :, 1, 1] = 1.0
    return QConv2d(cin, c3 + c1, 3, padding=1, mask=mask)


class _SpaceToDepth(torch.autograd.Function):
    """ONNX ``SpaceToDepth`` channel order: output channel ``(dy * 2 + dx) * C + c``."""

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        n, c, h, w = x.shape
        y = x.reshape(n, c, h // 2, 2, w // 2, 2).permute(0, 3, 5, 1, 2, 4)
        return y.reshape(n, 4 * c, h // 2, w // 2)

    @staticmethod
    def backward(ctx, g: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        return _DepthToSpace.apply(g)

    @staticmethod
    def symbolic(g, x):  # type: ignore[no-untyped-def]
        return g.op("SpaceToDepth", x, blocksize_i=2)


class _DepthToSpace(torch.autograd.Function):
    """ONNX ``DepthToSpace`` (DCR mode), the inverse of :class:`_SpaceToDepth`."""

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        n, c4, h, w = x.shape
        c = c4 // 4
        y = x.reshape(n, 2, 2, c, h, w).permute(0, 3, 4, 1, 5, 2)
        return y.reshape(n, c, 2 * h, 2 * w)

    @staticmethod
    def backward(ctx, g: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        return _SpaceToDepth.apply(g)

    @staticmethod
    def symbolic(g, x):  # type: ignore[no-untyped-def]
        return g.op("DepthToSpace", x, blocksize_i=2, mode_s="DCR")


def space_to_depth(x: torch.Tensor) -> torch.Tensor:
    """``(N, C, H, W) → (N, 4C, H/2, W/2)``, exported as ONNX SpaceToDepth."""
    return _SpaceToDepth.apply(x)


def depth_to_space(x: torch.Tensor) -> torch.Tensor:
    """``(N, 4C, H, W) → (N, C, 2H, 2W)``, exported as ONNX DepthToSpace (DCR)."""
    return _DepthToSpace.apply(x)


class ConvAct(nn.Module):
    """conv → (ReLU) → quantize. Output ``(N, cout, H/stride, W/stride)``."""

    def __init__(self, conv: QConv2d, relu: bool = True):
        super().__init__()
        self.conv = conv
        self.relu = relu
        self.q = ActQuant()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x)
        return self.q(F.relu(y) if self.relu else y)


class QAdd(nn.Module):
    """Quantized sum of tensors (broadcasting), optionally followed by ReLU."""

    def __init__(self, relu: bool = False, n: int = 2):
        super().__init__()
        self.relu = relu
        self.q = nn.ModuleList(ActQuant() for _ in range(n - 1))

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        y = xs[0]
        for i, x in enumerate(xs[1:]):
            y = y + x
            last = i == len(xs) - 2
            if last and self.relu:
                y = F.relu(y)
            y = self.q[i](y)
        return y


class RefinerBlock(nn.Module):
    """Multi-scale refiner: (3x3 path ‖ 1x1 path) → 3x3 → 3x3, plus a 1x1 residual.

    ``(N, c, H, W) → (N, c, H, W)``. No normalisation (tile-safe).
    """

    def __init__(self, c: int):
        super().__init__()
        half = c // 2
        self.paths = ConvAct(merged_3x3_1x1(c, c - half, half))
        self.conv1 = ConvAct(conv3x3(c, c))
        self.conv2 = ConvAct(conv3x3(c, c), relu=False)
        self.residual = ConvAct(conv1x1(c, c), relu=False)
        self.add = QAdd(relu=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.conv2(self.conv1(self.paths(x)))
        return self.add(h, self.residual(x))


class LiteRefiner(nn.Module):
    """The refiner at a fraction of the cost, for the high-resolution level:
    ``relu(3x3(relu(3x3 path ‖ 1x1 path)) + x)`` — the parallel 3x3/1x1 paths (one merged
    conv) and one 3x3, with an identity residual instead of a 1x1 conv (18·c² MACs per
    pixel of its level instead of :class:`RefinerBlock`'s 28·c²). ``(N, c, H, W) → same``.
    """

    def __init__(self, c: int):
        super().__init__()
        half = c // 2
        self.paths = ConvAct(merged_3x3_1x1(c, c - half, half))
        self.conv = ConvAct(conv3x3(c, c), relu=False)
        self.add = QAdd(relu=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.add(self.conv(self.paths(x)), x)


class FiLM(nn.Module):
    """Per-photo, per-channel affine map of a feature map from the global context:
    ``x · s + t`` with ``s, t: (N, c, 1, 1)`` two 1x1 convs of the context vector
    (``s`` starts at 1, ``t`` at 0: the identity). The network's per-photo colour/tone
    path: the context encoder sees the whole photo's thumbnail and rescales every channel
    of the coarse features, the same for every tile (tile-exact). INT8: one broadcasting
    QLinearMul and one QLinearAdd at the (coarse) level it is applied at.
    """

    def __init__(self, ctx_dim: int, c: int):
        super().__init__()
        self.scale = conv1x1(ctx_dim, c)
        self.shift = conv1x1(ctx_dim, c)
        nn.init.zeros_(self.scale.weight)
        nn.init.ones_(self.scale.bias)
        nn.init.zeros_(self.shift.weight)
        nn.init.zeros_(self.shift.bias)
        self.q_scale = ActQuant()
        self.q_shift = ActQuant()
        self.q_mul = ActQuant()
        self.add = QAdd()

    def forward(self, x: torch.Tensor, ctx: torch.Tensor) -> torch.Tensor:
        s, t = self.q_scale(self.scale(ctx)), self.q_shift(self.shift(ctx))
        return self.add(self.q_mul(x * s), t)


class GatedDown(nn.Module):
    """Gated encoder step: two parallel 3x3 convs ``a``, ``b`` (stride 2, or stride 1 on
    an already space-to-depth'ed input); main path ``hardtanh(a) * hardtanh(b)``.

    Hard-tanh is the INT8-native form of the paper's tanh gate: with the quantizer range
    fixed to [-1, 1] the uint8 clamp *is* the hard-tanh, so no lookup table or float op
    is needed. Returns ``(gate, a, b)``; ``a`` and ``b`` (pre-gate, clamped) are the
    decoder's directional skip features.
    """

    def __init__(self, cin: int, cout: int, stride: int = 2):
        super().__init__()
        self.conv_a = conv3x3(cin, cout, stride)
        self.conv_b = conv3x3(cin, cout, stride)
        self.q_a = ActQuant(GATE_RANGE)
        self.q_b = ActQuant(GATE_RANGE)
        self.q_gate = ActQuant(GATE_RANGE)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        a, b = self.conv_a(x), self.conv_b(x)
        if self.q_a.mode != "export":  # on export the uint8 saturation *is* the clamp
            a, b = torch.clamp(a, *GATE_RANGE), torch.clamp(b, *GATE_RANGE)
        a, b = self.q_a(a), self.q_b(b)
        return self.q_gate(a * b), a, b


class Fusion(nn.Module):
    """Decoder fusion: ``relu(up(conv1x1(d) [+ ctx]) + conv1x1(a) + conv1x1(b))``.

    The 1x1 conv (and the global-context bias, where given) are applied at the coarse
    level *before* nearest upsampling (they commute with it), which is 4x cheaper. No
    Concat node. ``d: (N, cd, H/2, W/2)``, ``a, b: (N, cs, H, W)``, ``ctx: (N, cout, 1, 1)``
    or None → ``(N, cout, H, W)``. ``context=False`` builds a fusion without the
    context bias (onnxruntime's broadcasting uint8 add is slow at large sizes).
    """

    def __init__(self, cd: int, cs: int, cout: int, context: bool = True):
        super().__init__()
        self.up_conv = ConvAct(conv1x1(cd, cout), relu=False)
        self.ctx_add = QAdd() if context else None
        self.skip_a = ConvAct(conv1x1(cs, cout), relu=False)
        self.skip_b = ConvAct(conv1x1(cs, cout), relu=False)
        self.add = QAdd(relu=True, n=3)

    def forward(
        self, d: torch.Tensor, a: torch.Tensor, b: torch.Tensor, ctx: torch.Tensor | None = None
    ) -> torch.Tensor:
        u = self.up_conv(d)
        q_up = self.up_conv.q
        if self.ctx_add is not None:
            if ctx is None:
                raise ValueError("this fusion adds global context: pass ctx")
            u = self.ctx_add(u, ctx)
            q_up = self.ctx_add.q[-1]
        # nearest upsampling keeps values on the quantization grid: requantizing with the
        # same quantizer is exact and gives ONNX the Q/DQ pair that keeps Resize in uint8
        u = q_up(F.interpolate(u, scale_factor=2.0, mode="nearest"))
        return self.add(u, self.skip_a(a), self.skip_b(b))


class ContextEncoder(nn.Module):
    """Global context from a fixed-size thumbnail of the *whole* image.

    ``(N, 3, T, T)`` in [0, 1] with ``T = 64`` → ``(N, dim, 1, 1)``. Computed from the
    same thumbnail for every tile, so tiles agree: this is how the network sees global
    tone/colour without per-tile statistics. The final 4x4 "valid" conv is a learned
    global pooling (an INT8 conv instead of a float GlobalAveragePool).

    With ``stats > 0`` (I/O format 3) the encoder also takes the photo's whole-photo
    statistics ``(N, stats, 1, 1)`` in [0, 1]
    (:func:`photoenhance.contract.statistics.thumbnail_statistics`: percentiles, spreads,
    histograms — what a sort-free INT8 graph cannot compute): a 1x1 conv of them is added
    to the pooled features before the ReLU, so the context vector is a one-hidden-layer
    network of both (INT8: two QLinearConv on 1x1 maps and a QLinearAdd).
    """

    def __init__(self, dim: int, width: int = 16, size: int = 64, stats: int = 0):
        super().__init__()
        if size != 64:
            raise ValueError("the context encoder is built for 64x64 thumbnails")
        self.size = size
        self.stats = stats
        self.q_in = ActQuant((0.0, 1.0))
        self.c1 = ConvAct(conv3x3(12, width, 2))
        self.c2 = ConvAct(conv3x3(width, 2 * width, 2))
        self.c3 = ConvAct(conv3x3(2 * width, 2 * width, 2))
        # without statistics: the module layout of models 0.1 and 0.2 (their checkpoints load)
        self.pool = ConvAct(QConv2d(2 * width, dim, 4), relu=stats == 0)
        if stats:
            self.q_stats = ActQuant((0.0, 1.0))
            self.stats_proj = ConvAct(conv1x1(stats, dim), relu=False)
            self.join = QAdd(relu=True)

    def forward(self, thumb: torch.Tensor, stats: torch.Tensor | None = None) -> torch.Tensor:
        t = self.q_in(space_to_depth(thumb))
        pooled = self.pool(self.c3(self.c2(self.c1(t))))
        if not self.stats:
            return pooled
        if stats is None:
            raise ValueError("this context encoder takes whole-photo statistics: pass stats")
        return self.join(pooled, self.stats_proj(self.q_stats(stats)))


class _InwardClamp(torch.autograd.Function):
    """``clamp(x, lo, hi)`` whose gradient also passes where ``x`` is outside the range
    but the step would move it back in (a plain clamp would leave such outputs stuck)."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, lo: float, hi: float) -> torch.Tensor:  # type: ignore[override]
        ctx.save_for_backward(x)
        ctx.lo, ctx.hi = lo, hi
        return torch.clamp(x, lo, hi)

    @staticmethod
    def backward(ctx, g: torch.Tensor) -> tuple[torch.Tensor, None, None]:  # type: ignore[override]
        (x,) = ctx.saved_tensors
        # gradient descent moves x by −g: keep g where that does not push further out
        keep = ((x <= ctx.hi) | (g > 0)) & ((x >= ctx.lo) | (g < 0))
        return g * keep.to(g.dtype), None, None


def inward_clamp(x: torch.Tensor, lo: float, hi: float) -> torch.Tensor:
    return _InwardClamp.apply(x, lo, hi)


UNIT_RANGE = (0.0, 1.0)


class HeadroomHead(nn.Module):
    """Output head whose change fades towards white and black:
    ``y = w·x + u·(1 − x)`` with per-pixel, per-channel ``w, u ∈ [0, 1]`` from two 1x1
    convs of the decoder features.

    ``w = 1, u = 0`` is the identity (the initial state); ``u > 0`` lifts a pixel by a
    share of its *headroom* (``x + u·(1 − x)``), ``w < 1`` darkens by a share of its
    value (``w·x``). ``y`` is a convex combination of values in [0, 1], so the head can
    never push a pixel past white or below black: no hard clamp, and the change of a
    pixel near white (or black) shrinks with its distance to it — a soft shoulder.

    INT8: ``w`` and ``u`` are uint8 with the range fixed to [0, 1] (the saturation *is*
    the clamp), ``1 − x`` is a fixed depthwise 1x1 conv (weight −1, bias 1: exact on the
    uint8 grid), the products are QLinearMul and the sum QLinearAdd; every quantizer has
    the fixed range [0, 1]. ``d: (N, cin, H, W)`` features, ``x: (N, 12, H, W)`` the
    (quantized) space-to-depth input → ``(N, 12, H, W)`` (not yet quantized: the
    network's output quantizer follows).
    """

    def __init__(self, cin: int, channels: int = 12):
        super().__init__()
        self.gain = conv1x1(cin, channels)
        self.lift = conv1x1(cin, channels)
        nn.init.zeros_(self.gain.weight)
        nn.init.ones_(self.gain.bias)  # w = 1
        nn.init.zeros_(self.lift.weight)
        nn.init.zeros_(self.lift.bias)  # u = 0
        self.invert = QConv2d(channels, channels, 1, groups=channels)
        with torch.no_grad():
            self.invert.weight.fill_(-1.0)
            self.invert.bias.fill_(1.0)
        self.invert.weight.requires_grad_(False)
        self.invert.bias.requires_grad_(False)
        self.q_gain = ActQuant(UNIT_RANGE)
        self.q_lift = ActQuant(UNIT_RANGE)
        self.q_inv = ActQuant(UNIT_RANGE)
        self.q_wx = ActQuant(UNIT_RANGE)
        self.q_ux = ActQuant(UNIT_RANGE)

    def forward(self, d: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        w, u = self.gain(d), self.lift(d)
        if self.q_gain.mode != "export":  # on export the uint8 saturation *is* the clamp
            w, u = inward_clamp(w, *UNIT_RANGE), inward_clamp(u, *UNIT_RANGE)
        w, u = self.q_gain(w), self.q_lift(u)
        x_bar = self.q_inv(self.invert(x))
        return self.q_wx(w * x) + self.q_ux(u * x_bar)
