"""Tiling: the default tile size (THE one rule), the tile planner and the tile executor.

No onnxruntime and no torch here: the executor gets the network as a callable
(:meth:`photoenhance.infer.enhancer.Enhancer.run_tile`).

The default tile is :func:`default_tile`: ``info``, ``run``, ``watch`` and ``eval`` all
resolve an unset tile through it (via :class:`~photoenhance.infer.inference_config.InferenceConfig`
and :class:`~photoenhance.infer.types.RunConfig`), so they agree for every provider.

Each axis is split into near-equal cores of at most ``tile`` pixels; a tile's input
window is its core plus ``halo`` pixels on each side (multiples of 8, so every window is
aligned with the network's stride-8 grid), clipped at the image border, where whole-image
inference zero-pads too. With ``halo`` at least the network's receptive radius, tiled
output equals whole-image output (bit-exact in INT8). Memory is bounded by the tile size;
bigger tiles waste less on halos (12 MP with 2048 px tiles: ~10 % extra pixels, with
1024 px tiles: ~25 %), onnxruntime's speed per pixel is the same from 512 to 2048 px.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from photoenhance.contract.layout import copy_unpacked, pack, unpack
from photoenhance.infer.providers import ProviderUnavailableError, needs_gpu, resolve_provider

#: the tile on the CPU when none is given (larger tiles waste less on the 80 px halo)
CPU_TILE = 2048
#: the tile on a GPU provider when none is given: 12 MP in one tile. Measured on an H200
#: (BENCHMARKS.md "INT8 model per execution provider on a GPU"): 12.2 MP/s at 2048 px,
#: 48.4 MP/s at 4096 px - per-tile overhead (copies, tiling on the host) starves the GPU.
#: Outputs do not depend on the tile size (tiling is exact).
GPU_TILE = 4096
#: photos above this many pixels use tiles of at most LARGE_PHOTO_TILE: a 2048 px tile
#: needs ~450 MB of onnxruntime working memory, a 1024 px one ~150 MB, and a 48 MP photo
#: must stay within 1 GB (measured: 1.2 GB with 2048 px tiles, 1.0 GB with 1024 px ones)
LARGE_PHOTO_PIXELS = 24_000_000
LARGE_PHOTO_TILE = 1024

#: ``run(packed_window, last) -> packed_output``: the network on one tile
RunTile = Callable[[np.ndarray, bool], np.ndarray]


def default_tile(provider: str, available: Sequence[str] | None = None) -> int:
    """THE default tile size: :data:`GPU_TILE` when ``provider`` (``auto`` resolved against
    ``available``, default this onnxruntime's providers) runs on a GPU, else
    :data:`CPU_TILE`. An unusable provider gives :data:`CPU_TILE` (its error comes later,
    where the session is made)."""
    if provider == "cpu":
        return CPU_TILE
    try:
        resolved = resolve_provider(provider, available)
    except ProviderUnavailableError:
        return CPU_TILE
    return GPU_TILE if needs_gpu(resolved) else CPU_TILE


def photo_tile(tile: int, pixels: int) -> int:
    """The tile used for a photo of ``pixels`` pixels: ``tile``, at most
    :data:`LARGE_PHOTO_TILE` above :data:`LARGE_PHOTO_PIXELS` (bounds onnxruntime's
    working memory for huge photos)."""
    return min(tile, LARGE_PHOTO_TILE) if pixels > LARGE_PHOTO_PIXELS else tile


def round_up(v: int, m: int) -> int:
    """``v`` rounded up to a multiple of ``m``."""
    return -(-v // m) * m


@dataclass(frozen=True)
class _Stripe:
    """Original pixels of image region ``[y, y+h) x [x, x+w)`` saved before overwriting."""

    y: int
    x: int
    pixels: np.ndarray


def _extend_stripe(
    stripe: _Stripe | None, rgb: np.ndarray, cy: int, ch: int, need: int, cx: int, cw: int
) -> _Stripe:
    """Original columns ``[need, cx + cw)`` of band rows ``[cy, cy + ch)``, before core
    ``[cx, cx + cw)`` is overwritten: the kept part of the previous stripe (which ends at
    ``cx``) plus the core's own columns from ``need`` on."""
    parts = []
    start = max(need, cx)
    if stripe is not None and stripe.x + stripe.pixels.shape[1] > need:
        parts.append(stripe.pixels[:, max(0, need - stripe.x) :])
        start = max(need, stripe.x)
    parts.append(rgb[cy : cy + ch, max(need, cx) : cx + cw].copy())
    return _Stripe(cy, start, np.concatenate(parts, axis=1) if len(parts) > 1 else parts[0])


@dataclass(frozen=True)
class TilePlan:
    """One tile: the input window ``[wy, wy+wh) x [wx, wx+ww)`` and the output core
    ``[cy, cy+ch) x [cx, cx+cw)`` it is responsible for (image coordinates)."""

    wy: int
    wx: int
    wh: int
    ww: int
    cy: int
    cx: int
    ch: int
    cw: int


def plan_tiles(height: int, width: int, tile: int, halo: int, multiple: int = 8) -> list[TilePlan]:
    """Tiles covering a ``height x width`` image (both multiples of ``multiple``).

    Each axis is split into ``ceil(n / tile)`` near-equal cores (multiples of 8); a window
    is its core plus ``halo`` on each side, clipped at the image border (where whole-image
    inference zero-pads too, so no halo is needed there). An axis no longer than
    ``tile + 2 * halo`` is not split.
    """
    tile = round_up(max(tile, multiple), multiple)
    halo = round_up(max(halo, 0), multiple)

    def axis(n: int) -> list[tuple[int, int, int, int]]:
        if n <= tile + 2 * halo:
            return [(0, n, 0, n)]
        core = round_up(-(-n // -(-n // tile)), multiple)
        out = []
        for c0 in range(0, n, core):
            c1 = min(c0 + core, n)
            w0, w1 = max(c0 - halo, 0), min(c1 + halo, n)
            out.append((w0, w1 - w0, c0, c1 - c0))
        return out

    return [
        TilePlan(wy, wx, wh, ww, cy, cx, ch, cw)
        for (wy, wh, cy, ch) in axis(height)
        for (wx, ww, cx, cw) in axis(width)
    ]


def run_tiles(
    rgb: np.ndarray,
    out: np.ndarray,
    run: RunTile,
    *,
    tile: int,
    halo: int,
    multiple: int,
    strength: float,
    exact8: bool,
    progress: Callable[[int, int], None] | None = None,
) -> np.ndarray:
    """Enhance ``rgb`` ``(H, W, 3)`` into ``out`` tile by tile with ``run`` (the network on
    one packed window) and return ``out``.

    ``tile`` is the configured tile (:func:`photo_tile` shrinks it for huge photos);
    ``exact8``: ``rgb`` is on the 8-bit grid (from
    :func:`~photoenhance.contract.context.scan_image`). ``out`` may be ``rgb`` itself:
    tiles are then written back in place, keeping only halo-sized stripes of original
    pixels (bounded memory for huge photos).
    """
    h, w = rgb.shape[:2]
    plans = plan_tiles(round_up(h, multiple), round_up(w, multiple), photo_tile(tile, h * w), halo, multiple)
    bands: dict[int, list[TilePlan]] = {}
    for p in plans:
        bands.setdefault(p.cy, []).append(p)
    band_starts = sorted(bands)
    in_place = out is rgb
    # in-place writing overwrites originals that later windows still read: rows needed
    # by later bands are saved (full width) before a band is written, and the last
    # `halo` columns of a core are saved (band rows) before it is written, for the next
    # tile of the band. No full-band buffer: extra memory is a few halo stripes.
    saved: dict[int, np.ndarray] = {}
    done = 0
    for b, cy in enumerate(band_starts):
        ch = min(bands[cy][0].ch, h - cy)
        if ch <= 0:
            continue
        if in_place:
            still_read = min(q.wy for c in band_starts[b:] for q in bands[c])
            for r in [r for r in saved if r < still_read]:
                del saved[r]
            later = [q.wy for c in band_starts[b + 1 :] for q in bands[c]]
            for r in range(max(min(later, default=h), cy), cy + ch):
                saved[r] = rgb[r].copy()
        stripe: _Stripe | None = None
        tiles = bands[cy]
        for j, p in enumerate(tiles):
            cw = min(p.cw, w - p.cx)
            if cw > 0:
                window = _window(rgb, saved, p, h, w, stripe)
                if in_place and j + 1 < len(tiles):
                    stripe = _extend_stripe(stripe, rgb, cy, ch, tiles[j + 1].wx, p.cx, cw)
                _tile(
                    run, window, p, out[cy : cy + ch, p.cx : p.cx + cw], strength, exact8,
                    last=p is plans[-1],
                )
            done += 1
            if progress is not None:
                progress(done, len(plans))
    return out


def _tile(
    run: RunTile,
    window: np.ndarray,
    p: TilePlan,
    dest: np.ndarray,
    strength: float,
    exact8: bool,
    *,
    last: bool = False,
) -> None:
    """Run one window and write its output core into ``dest`` ``(ch, cw, 3)``.

    The window goes to the network as it is: the graph's input QuantizeLinear
    (scale 1/255, uint8) *is* the rounding and clipping to ``x8``. ``x8`` is only
    computed here (on the core) when the image is not already on the 8-bit grid.
    ``window`` is fully packed before ``dest`` is written, so ``dest`` may overlap it.
    """
    ch, cw = dest.shape[:2]
    y = run(pack(window), last)
    oy, ox = p.cy - p.wy, p.cx - p.wx
    if exact8 and strength == 1.0 and ch % 2 == 0 and cw % 2 == 0:
        copy_unpacked(y, oy, ox, dest)  # the common case: one pass, no temporaries
        return
    core = unpack(y)[oy : oy + ch, ox : ox + cw]
    x_core = window[oy : oy + ch, ox : ox + cw]
    if exact8:  # x == x8: y = x + s (net - x)
        dest[...] = core if strength == 1.0 else x_core + strength * (core - x_core)
        return
    x8 = np.clip(np.rint(x_core * 255.0) / 255.0, 0.0, 1.0)
    dest[...] = x_core + strength * (core - x8)


def _window(
    rgb: np.ndarray,
    saved: dict[int, np.ndarray],
    p: TilePlan,
    h: int,
    w: int,
    stripe: _Stripe | None = None,
) -> np.ndarray:
    """The window's original pixels, edge-replicated beyond the image (to the multiple
    of 8); rows from ``saved`` and columns from ``stripe`` where those were overwritten.
    A view of ``rgb`` when nothing needs patching, else a new array (built with slices:
    one copy of the window plus the patched rows)."""
    y0, y1 = p.wy, min(p.wy + p.wh, h)
    x0, x1 = p.wx, min(p.wx + p.ww, w)
    rows = sorted(r for r in saved if y0 <= r < y1)
    patch = None
    if stripe is not None:
        r0, r1 = max(stripe.y, y0), min(stripe.y + stripe.pixels.shape[0], y1)
        c0, c1 = max(stripe.x, x0), min(stripe.x + stripe.pixels.shape[1], x1)
        if r0 < r1 and c0 < c1:
            patch = (r0, r1, c0, c1)
    inside = y1 - y0 == p.wh and x1 - x0 == p.ww
    if inside and not rows and patch is None:
        return rgb[y0:y1, x0:x1]
    win = np.empty((p.wh, p.ww, 3), np.float32)
    win[: y1 - y0, : x1 - x0] = rgb[y0:y1, x0:x1]
    for r in rows:  # saved rows and stripe pixels are both originals: order is free
        win[r - y0, : x1 - x0] = saved[r][x0:x1]
    if patch is not None and stripe is not None:
        r0, r1, c0, c1 = patch
        win[r0 - y0 : r1 - y0, c0 - x0 : c1 - x0] = stripe.pixels[
            r0 - stripe.y : r1 - stripe.y, c0 - stripe.x : c1 - stripe.x
        ]
    if y1 - y0 < p.wh:  # replicate the last row / column (the network's padding)
        win[y1 - y0 :, : x1 - x0] = win[y1 - y0 - 1, : x1 - x0]
    if x1 - x0 < p.ww:
        win[:, x1 - x0 :] = win[:, x1 - x0 - 1 : x1 - x0]
    return win
