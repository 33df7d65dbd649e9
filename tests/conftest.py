"""Shared fixtures: isolated user config/cache dirs, a tiny-photo maker, a CLI invoker."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image


@pytest.fixture(scope="session")
def shared_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One optimised-graph cache for the whole session (never the real user cache)."""
    return tmp_path_factory.mktemp("photoenhance-cache")


@pytest.fixture(autouse=True)
def isolated_user_dirs(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path_factory: pytest.TempPathFactory,
    shared_cache_dir: Path,
) -> Iterator[Path]:
    """Point PHOTOENHANCE_CONFIG at a missing file and PHOTOENHANCE_CACHE_DIR at a tmp dir."""
    config = tmp_path_factory.mktemp("photoenhance-config") / "config.toml"
    monkeypatch.setenv("PHOTOENHANCE_CONFIG", str(config))
    monkeypatch.setenv("PHOTOENHANCE_CACHE_DIR", str(shared_cache_dir))
    yield config


def smooth_pixels(h: int, w: int, seed: int = 0) -> np.ndarray:
    """HxWx3 uint8 smooth-ish gradients with a little noise (compress well, look photo-like)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    a, b, c = rng.random((3, 3)).astype(np.float32)
    chans = [0.5 + 0.35 * np.sin(x / w * 4 * a[i] + y / h * 4 * b[i] + 6 * c[i]) for i in range(3)]
    img = np.stack(chans, -1) + rng.normal(0, 0.01, (h, w, 3)).astype(np.float32)
    return np.round(np.clip(img, 0, 1) * 255).astype(np.uint8)


MakePhoto = Callable[..., Path]


@pytest.fixture
def make_photo() -> MakePhoto:
    """``make_photo(path, w=96, h=64, mode="RGB", seed=0, **save_kwargs) -> path``.

    The format follows the suffix (Pillow); ``mode="RGBA"`` adds a gradient alpha.
    """

    def _make(
        path: Path, w: int = 96, h: int = 64, mode: str = "RGB", seed: int = 0, **kw: Any
    ) -> Path:
        px = smooth_pixels(h, w, seed)
        im = Image.fromarray(px, "RGB")
        if mode == "RGBA":
            alpha = (
                np.tile(np.linspace(0, 255, w, dtype=np.float32), (h, 1)).round().astype(np.uint8)
            )
            im.putalpha(Image.fromarray(alpha, "L"))
        elif mode != "RGB":
            im = im.convert(mode)
        path.parent.mkdir(parents=True, exist_ok=True)
        im.save(path, **kw)
        return path

    return _make


@pytest.fixture
def cli() -> Callable[..., Any]:
    """``cli(*args) -> click Result``: run the typer app in-process (stdout/stderr separate)."""
    from typer.testing import CliRunner

    from photoenhance.cli import app

    runner = CliRunner()

    def _invoke(*args: object) -> Any:
        return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)

    return _invoke
