"""The tile planner and executor of :mod:`photoenhance.infer.tiling`, without a model:
an identity "network" must give the input back, tiled or not, in place or not."""

from __future__ import annotations

import numpy as np
import pytest

from photoenhance.infer.tiling import (
    CPU_TILE,
    LARGE_PHOTO_PIXELS,
    LARGE_PHOTO_TILE,
    photo_tile,
    plan_tiles,
    run_tiles,
)


def test_photo_tile_bounds_huge_photos_only() -> None:
    assert photo_tile(CPU_TILE, LARGE_PHOTO_PIXELS) == CPU_TILE
    assert photo_tile(CPU_TILE, LARGE_PHOTO_PIXELS + 1) == LARGE_PHOTO_TILE
    assert photo_tile(512, LARGE_PHOTO_PIXELS + 1) == 512


def test_plan_covers_every_pixel_once() -> None:
    plans = plan_tiles(200, 336, 64, 16)
    cover = np.zeros((200, 336), int)
    for p in plans:
        cover[p.cy : p.cy + p.ch, p.cx : p.cx + p.cw] += 1
        assert p.wy <= p.cy and p.wy + p.wh >= p.cy + p.ch
    assert (cover == 1).all() and len(plans) > 1


@pytest.mark.parametrize("tile", [64, 4096])
@pytest.mark.parametrize("in_place", [False, True])
@pytest.mark.parametrize("exact8", [False, True])
def test_identity_network_gives_the_input_back(tile: int, in_place: bool, exact8: bool) -> None:
    rng = np.random.default_rng(0)
    img = (rng.integers(0, 256, (203, 341, 3)) / 255).astype(np.float32)
    calls: list[bool] = []

    def identity(packed: np.ndarray, last: bool) -> np.ndarray:
        calls.append(last)
        return packed.copy()

    src = img.copy()
    out = src if in_place else np.empty_like(src)
    seen: list[tuple[int, int]] = []
    got = run_tiles(
        src, out, identity, tile=tile, halo=16, multiple=8, strength=1.0, exact8=exact8,
        progress=lambda done, total: seen.append((done, total)),
    )  # fmt: skip
    assert got is out
    np.testing.assert_array_equal(got, img)
    assert calls[-1] and not any(calls[:-1])  # only the last tile shrinks the arena
    assert seen[-1][0] == seen[-1][1] == len(calls)
