"""The enhancement network (torch): gated encoder, multi-scale refiners, global context.

Input/output: float32 RGB in [0, 1], NCHW. ``y = clamp(x + Δ, 0, 1)``.

Layout (``S`` = input resolution, widths ``(c1, c2, c3)``)::

    x ─ space-to-depth(2) ─ GatedDown(12→c1) ─ Refiner(c1) ─ GatedDown(c1→c2) ─ Refiner(c2)
        S/2 (12 ch)          S/2  a0,b0 skips      S/2          S/4  a1,b1 skips    S/4
      ─ GatedDown(c2→c3) ─ (+ctx) Refiner(c3) ─ Fusion(a1,b1,+ctx) ─ Refiner(c2)
        S/8                   bottleneck         S/4                  S/4
      ─ Fusion(a0,b0) ─ Refiner(c1) ─ conv1x1(c1→12) = Δ ─ (+ s2d(x), clamp) ─ depth-to-space
        S/2                S/2                                                  S

Entering with space-to-depth and leaving with depth-to-space avoids full-resolution
3-channel convs (the slowest INT8 layers); the first gated step is a stride-2 4x4-ish
conv expressed as a 3x3 conv on the space-to-depth input. The exported graph is
:meth:`EnhanceNet.forward_s2d`: it takes and returns the space-to-depth tensors, and
``photoenhance.contract.layout`` packs them (channels-last) outside the graph.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

from photoenhance.contract.spec import CONTEXT_SIZE, MULTIPLE
from photoenhance.contract.statistics import STATS_CHANNELS
from photoenhance.model.blocks import (
    ContextEncoder,
    ConvAct,
    FiLM,
    Fusion,
    GatedDown,
    HeadroomHead,
    LiteRefiner,
    QAdd,
    RefinerBlock,
    conv1x1,
    depth_to_space,
    space_to_depth,
)
from photoenhance.model.fake_quant import ActQuant
from photoenhance.model.statistics import thumbnail_statistics

HEADS = ("headroom", "residual")
LAYOUTS = ("v2", "v3")


@dataclass(frozen=True)
class ModelConfig:
    """Architecture hyper-parameters. ``widths`` = channels at S/2, S/4, S/8."""

    name: str
    widths: tuple[int, int, int]
    context_dim: int = 32
    context_width: int = 16
    #: "headroom": y = w·x + u·(1 − x), w, u in [0, 1] (:class:`HeadroomHead`: can never
    #: push past white or black); "residual": y = clamp(x + Δ, 0, 1) (models before 0.3)
    head: str = "headroom"
    #: "v2": refiners at S/2, S/4 and S/8 in the encoder and after each fusion, context as
    #: a bias at S/8 and S/4 (models 0.1, 0.2). "v3" (model 0.3): the work moved to the
    #: wide, low-resolution levels — at S/2 only the gated step, the fusion and one
    #: :class:`LiteRefiner`; full refiners at S/4 and S/8; the context rescales and shifts
    #: every bottleneck channel (:class:`FiLM`, the per-photo colour/tone path) and adds a
    #: bias at the S/8 → S/4 fusion.
    layout: str = "v2"
    #: v3: a full refiner (True) or a :class:`LiteRefiner` (False) after the S/4 fusion
    dec2_full: bool = True
    #: v3: a second :class:`FiLM` from the context on the S/2 features after the last
    #: fusion (the per-photo colour/tone map at the resolution the head works at)
    film_s2: bool = False
    #: I/O format 3: the context encoder also takes the photo's whole-photo statistics
    #: (percentiles, spreads, histograms of the thumbnail; the ``stats`` input, computed
    #: outside the graph by :mod:`photoenhance.contract.statistics`)
    stats: bool = False

    def __post_init__(self) -> None:
        if self.head not in HEADS:
            raise ValueError(f"unknown head {self.head!r}; choose from {', '.join(HEADS)}")
        if self.layout not in LAYOUTS:
            raise ValueError(f"unknown layout {self.layout!r}; choose from {', '.join(LAYOUTS)}")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> ModelConfig:
        return cls(
            name=str(d["name"]),
            widths=tuple(int(w) for w in d["widths"]),  # type: ignore[arg-type]
            context_dim=int(d.get("context_dim", 32)),
            context_width=int(d.get("context_width", 16)),
            # files written before the head was configurable have the residual head
            head=str(d.get("head", "residual")),
            # files written before model 0.3 have the v2 layout
            layout=str(d.get("layout", "v2")),
            dec2_full=bool(d.get("dec2_full", True)),
            film_s2=bool(d.get("film_s2", False)),
            stats=bool(d.get("stats", False)),
        )


SIZES: dict[str, ModelConfig] = {
    "tiny": ModelConfig("tiny", (8, 8, 16), context_dim=8, context_width=8),
    # channel counts are multiples of 16: onnxruntime's int8 conv kernels run 16-wide
    # channels 3-6x faster per MAC than 8/12/24-wide ones on AVX2 (see bench/speed.py)
    "small": ModelConfig("small", (16, 16, 32), context_dim=32, context_width=16),
    "medium": ModelConfig("medium", (16, 32, 64), context_dim=48, context_width=16),
    "base": ModelConfig("base", (32, 64, 128), context_dim=64, context_width=16),
    # model 0.3's layout (see ModelConfig.layout): 16 channels at S/2, wide at S/4 and S/8
    "v3-small": ModelConfig("v3-small", (16, 32, 64), context_dim=64, layout="v3", dec2_full=False),
    "v3-medium": ModelConfig("v3-medium", (16, 48, 96), context_dim=64, layout="v3", dec2_full=False),
    "v3-small-film": ModelConfig("v3-small-film", (16, 32, 64), context_dim=64, layout="v3",
                                 dec2_full=False, film_s2=True),
    # model 0.3 candidates: the context also sees the thumbnail's statistics (I/O format 3)
    "v3-stats": ModelConfig("v3-stats", (16, 32, 64), context_dim=64, layout="v3",
                            dec2_full=False, film_s2=True, stats=True),
    "small-stats": ModelConfig("small-stats", (16, 16, 32), context_dim=32, context_width=16,
                               stats=True),
    # tests: the statistics input (I/O format 3) at the cost of "tiny"
    "tiny-stats": ModelConfig("tiny-stats", (8, 8, 16), context_dim=8, context_width=8, stats=True),
}


class EnhanceNet(nn.Module):
    """Phone→DSLR enhancement network. See the module docstring for the layout."""

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config
        c1, c2, c3 = config.widths
        self.q_in = ActQuant((0.0, 1.0))
        self.q_out = ActQuant((0.0, 1.0))
        self.context = ContextEncoder(
            config.context_dim, config.context_width, CONTEXT_SIZE, STATS_CHANNELS if config.stats else 0
        )
        self.ctx_2 = ConvAct(conv1x1(config.context_dim, c2), relu=False)

        if config.layout == "v3":
            self._build_v3(config)
            return
        self.ctx_b = ConvAct(conv1x1(config.context_dim, c3), relu=False)
        self.down0 = GatedDown(12, c1, stride=1)  # on the space-to-depth input: S→S/2
        self.enc1 = RefinerBlock(c1)
        self.down1 = GatedDown(c1, c2)
        self.enc2 = RefinerBlock(c2)
        self.down2 = GatedDown(c2, c3)
        self.ctx_add = QAdd()
        self.bottleneck = RefinerBlock(c3)
        self.fuse2 = Fusion(c3, c2, c2)
        self.dec2 = RefinerBlock(c2)
        # no context bias at the S/4 → S/2 fusion: the bottleneck's and fuse2's reach S/2
        # through the decoder, and this broadcast add took 4 % of the INT8 graph's time
        self.fuse1 = Fusion(c2, c1, c1, context=False)
        self.dec1 = RefinerBlock(c1)
        # a 1x1 head (12 = 2x2 sub-pixels x RGB for depth-to-space): onnxruntime's int8
        # 3x3 conv with 12 output channels took 16 % of the whole network's time
        self.head: nn.Module
        if config.head == "headroom":
            self.head = HeadroomHead(c1)  # starts as the identity mapping
        else:
            self.head = ConvAct(conv1x1(c1, 12), relu=False)
            nn.init.zeros_(self.head.conv.weight)  # start as the identity mapping
            nn.init.zeros_(self.head.conv.bias)

    def _build_v3(self, config: ModelConfig) -> None:
        c1, c2, c3 = config.widths
        self.down0 = GatedDown(12, c1, stride=1)  # S/2: the gated step only
        self.down1 = GatedDown(c1, c2)
        self.enc2 = RefinerBlock(c2)
        self.down2 = GatedDown(c2, c3)
        self.film = FiLM(config.context_dim, c3)
        self.bottleneck = RefinerBlock(c3)
        self.fuse2 = Fusion(c3, c2, c2)
        self.dec2 = RefinerBlock(c2) if config.dec2_full else LiteRefiner(c2)
        self.fuse1 = Fusion(c2, c1, c1, context=False)
        self.film1 = FiLM(config.context_dim, c1) if config.film_s2 else None
        self.dec1 = LiteRefiner(c1)
        self.head = HeadroomHead(c1)
        if config.head != "headroom":
            raise ValueError("the v3 layout has the headroom head only")

    def _features_v3(self, xs: torch.Tensor, ctx: torch.Tensor) -> torch.Tensor:
        g0, a0, b0 = self.down0(xs)
        g1, a1, b1 = self.down1(g0)
        e2 = self.enc2(g1)
        g2, _, _ = self.down2(e2)
        d3 = self.bottleneck(self.film(g2, ctx))
        d2 = self.dec2(self.fuse2(d3, a1, b1, self.ctx_2(ctx)))
        f1 = self.fuse1(d2, a0, b0)
        return self.dec1(f1 if self.film1 is None else self.film1(f1, ctx))

    # ------------------------------------------------------------------------------
    def forward_s2d(
        self, xs: torch.Tensor, thumb: torch.Tensor, stats: torch.Tensor | None = None
    ) -> torch.Tensor:
        """The network in space-to-depth space (what ONNX exports):
        ``xs: (N, 12, H/2, W/2)`` = :func:`space_to_depth` of the image (H and W multiples
        of :data:`MULTIPLE`), ``thumb: (N, 3, 64, 64)`` = :func:`context_thumbnail` of the
        whole image → the enhanced image, same layout, in [0, 1]. ``stats`` (models with
        ``config.stats``): the thumbnail's statistics, computed from ``thumb`` if None."""
        if self.config.stats and stats is None:
            stats = thumbnail_statistics(thumb)
        ctx = self.context(thumb, stats)
        xs = self.q_in(xs)
        if self.config.layout == "v3":
            return self.q_out(self.head(self._features_v3(xs, ctx), xs))
        g0, a0, b0 = self.down0(xs)
        e1 = self.enc1(g0)
        g1, a1, b1 = self.down1(e1)
        e2 = self.enc2(g1)
        g2, _, _ = self.down2(e2)
        d3 = self.bottleneck(self.ctx_add(g2, self.ctx_b(ctx)))
        d2 = self.dec2(self.fuse2(d3, a1, b1, self.ctx_2(ctx)))
        d1 = self.dec1(self.fuse1(d2, a0, b0))
        if isinstance(self.head, HeadroomHead):
            return self.q_out(self.head(d1, xs))  # in [0, 1] by construction
        delta = self.head(d1)
        return self.q_out(torch.clamp(xs + delta, 0.0, 1.0))

    def forward_core(self, x: torch.Tensor, thumb: torch.Tensor) -> torch.Tensor:
        """``x: (N, 3, H, W)``, H and W multiples of :data:`MULTIPLE` → ``(N, 3, H, W)``:
        :meth:`forward_s2d` between space-to-depth and depth-to-space."""
        return self.q_out(depth_to_space(self.forward_s2d(space_to_depth(x), thumb)))

    def forward(self, x: torch.Tensor, thumb: torch.Tensor | None = None) -> torch.Tensor:
        """Any size ``(N, 3, H, W)`` in [0, 1] → same size. Pads (replicate) to a multiple
        of 8 and crops back. ``thumb`` defaults to the thumbnail of ``x`` itself."""
        if thumb is None:
            thumb = context_thumbnail(x)
        h, w = x.shape[-2:]
        ph, pw = (-h) % MULTIPLE, (-w) % MULTIPLE
        if ph or pw:
            x = F.pad(x, (0, pw, 0, ph), mode="replicate")
        return self.forward_core(x, thumb)[..., :h, :w]


def context_thumbnail(x: torch.Tensor) -> torch.Tensor:
    """``(N, 3, H, W) → (N, 3, 64, 64)`` adaptive average pooling; the numpy twin is
    :func:`photoenhance.contract.context.context_thumbnail` (identical bins)."""
    return F.adaptive_avg_pool2d(x, CONTEXT_SIZE)


def head_convs(net: EnhanceNet) -> list[nn.Conv2d]:
    """The trainable convs of the output head."""
    if isinstance(net.head, HeadroomHead):
        return [net.head.gain, net.head.lift]
    return [net.head.conv]


def create_model(size: str | ModelConfig = "small") -> EnhanceNet:
    """Model factory: ``"tiny"`` (tests), ``"small"`` (default), ``"medium"``, ``"base"``."""
    if isinstance(size, ModelConfig):
        return EnhanceNet(size)
    if size not in SIZES:
        raise ValueError(f"unknown model size {size!r}; choose from {', '.join(SIZES)}")
    return EnhanceNet(SIZES[size])


def count_params(model: nn.Module) -> int:
    return sum(p.numel() for n, p in model.named_parameters() if not n.endswith(".scale"))


@torch.no_grad()
def macs_per_megapixel(model: EnhanceNet, size: int = 256) -> float:
    """Multiply-accumulates per input megapixel of the per-pixel network (the context
    encoder runs once per image on a 64x64 thumbnail and is excluded)."""
    total = 0

    def hook(mod: nn.Conv2d, _inp: tuple, out: torch.Tensor) -> None:
        nonlocal total
        k = mod.kernel_size[0] * mod.kernel_size[1] * mod.in_channels // mod.groups
        total += out.numel() * k

    hooks = [
        m.register_forward_hook(hook)
        for name, m in model.named_modules()
        if isinstance(m, nn.Conv2d) and not name.startswith(("context", "ctx_"))
    ]
    try:
        model.forward_core(torch.zeros(1, 3, size, size), torch.zeros(1, 3, 64, 64))
    finally:
        for h in hooks:
            h.remove()
    return total / (size * size) * 1e6


def receptive_radius(config: ModelConfig, size: int = 320, seed: int = 0) -> int:
    """How far (pixels) an output pixel sees into the input, measured by back-propagating
    from an 8x8 block of outputs through a randomly initialised network of ``config``.
    Tiles need at least this much halo to match whole-image inference."""
    gen = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = EnhanceNet(config).eval()
        for conv in head_convs(net):  # the head starts at the identity
            nn.init.normal_(conv.weight, std=0.1)
    x = torch.rand(1, 3, size, size, generator=gen).requires_grad_(True)
    thumb = torch.rand(1, 3, CONTEXT_SIZE, CONTEXT_SIZE, generator=gen)
    c = size // 2
    net.forward_core(x, thumb)[..., c : c + 8, c : c + 8].sum().backward()
    assert x.grad is not None
    ys, xs = torch.nonzero(x.grad.abs().sum(dim=(0, 1)) > 0, as_tuple=True)
    radius = max(c - int(ys.min()), int(ys.max()) - (c + 7), c - int(xs.min()), int(xs.max()) - (c + 7))
    if radius >= c - 8:
        raise RuntimeError("receptive field larger than the probe image")
    return radius
