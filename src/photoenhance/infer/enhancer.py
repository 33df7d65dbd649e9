"""A loaded model ready to enhance images (:class:`Enhancer`): load and check the model,
run one tile, enhance a whole image through :mod:`photoenhance.infer.tiling`.

No torch here. Images are HWC float32 RGB in [0, 1] at this level; tiles go to the
network packed in its space-to-depth NHWC layout (:mod:`photoenhance.contract.layout`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import onnxruntime as ort

from photoenhance.contract.context import scan_image
from photoenhance.contract.feeds import photo_feeds
from photoenhance.contract.layout import PACKED_CHANNELS
from photoenhance.contract.spec import IMAGE_INPUT
from photoenhance.display import one_line
from photoenhance.infer.inference_config import InferenceConfig
from photoenhance.infer.model_file import ModelLoadError, bundled_model_path, check_model_path
from photoenhance.infer.ort_session import create_session, info_from_session
from photoenhance.infer.providers import ORT_PROVIDERS, ProviderUnavailableError, resolve_provider
from photoenhance.infer.tiling import run_tiles


@dataclass
class Enhancer:
    """A loaded model ready to enhance images (HWC float32 RGB in [0, 1])."""

    config: InferenceConfig = field(default_factory=InferenceConfig)

    def __post_init__(self) -> None:
        path = Path(self.config.model) if self.config.model else bundled_model_path()
        check_model_path(path)
        try:
            self.session, self.used_cache = create_session(path, self.config)
        except ProviderUnavailableError:
            raise
        except Exception as exc:
            raise ModelLoadError(f"{path}: cannot load model ({one_line(exc, 200) or type(exc).__name__})") from exc
        wanted = resolve_provider(self.config.provider)
        if self.config.provider != "auto" and self.provider != ORT_PROVIDERS[wanted][0]:
            # onnxruntime falls back to the CPU (with a log line) when CUDA/TensorRT fail
            raise ProviderUnavailableError(
                f"--provider {wanted}: onnxruntime could not start "
                f"{ORT_PROVIDERS[wanted][0]} here (no GPU, or its libraries are missing); "
                f"running on {self.provider}"
            )
        self.info = info_from_session(path, self.session)
        self.halo = self.config.halo if self.config.halo is not None else self.info.halo
        self._smoke_test(path)

    def _smoke_test(self, path: Path) -> None:
        """Run one small tile at load time, so a model that cannot enhance fails here
        (one :class:`ModelLoadError`), not on every photo of a batch."""
        side = 2 * self.info.multiple
        tile = np.zeros((1, side // 2, side // 2, PACKED_CHANNELS), np.float32)
        size = self.info.context_size
        thumb = np.zeros((1, 3, size, size), np.float32)
        try:
            y = self.run_tile(tile, self.photo_feeds(thumb))
        except Exception as exc:  # onnxruntime raises several exception types
            raise ModelLoadError(
                f"{path}: the model fails on a test tile ({one_line(exc, 200) or type(exc).__name__})"
            ) from exc
        if not isinstance(y, np.ndarray) or y.shape != tile.shape or y.dtype != np.float32:
            got = getattr(y, "shape", type(y).__name__)
            raise ModelLoadError(
                f"{path}: the model returns {got} for a {tile.shape} tile; expected the same shape"
            )

    @property
    def provider(self) -> str:
        return self.session.get_providers()[0]

    def photo_feeds(self, thumb: np.ndarray) -> dict[str, np.ndarray]:
        """The model's per-photo inputs from the photo's thumbnail ``(1, 3, 64, 64)``:
        the thumbnail, and its statistics for a model that takes them (format 3)."""
        return photo_feeds(thumb, stats=self.info.stats_channels > 0)

    def run_tile(self, tile: np.ndarray, feeds: dict[str, np.ndarray], *, last: bool = False) -> np.ndarray:
        """``tile: (1, h/2, w/2, 12)`` = :func:`~photoenhance.contract.layout.pack` of an
        ``(h, w, 3)`` window (multiples of 8), ``feeds``: the photo's :meth:`photo_feeds`
        → same layout.

        ``last=True`` (the last tile of a photo) shrinks onnxruntime's memory arena after
        the run, so the tiles' working memory is not held while the photo is encoded."""
        opts = None
        if last:
            opts = ort.RunOptions()
            opts.add_run_config_entry("memory.enable_memory_arena_shrinkage", "cpu:0")
        return self.session.run(None, {IMAGE_INPUT: tile, **feeds}, opts)[0]

    def enhance(
        self,
        rgb: np.ndarray,
        *,
        strength: float = 1.0,
        out: np.ndarray | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> np.ndarray:
        """Enhance ``rgb`` ``(H, W, 3)`` float32, sRGB in [0, 1] (extended range allowed).

        The network sees ``x8 = clip(round(255 x) / 255, 0, 1)``; its change is applied to
        the full-precision input: ``y = x + strength * (net(x8) - x8)``. So 16-bit inputs
        keep their precision, ``strength`` blends with the original, and extended-range
        input (a wide-gamut photo converted to sRGB: values may lie outside [0, 1]) keeps
        its out-of-gamut colours — the output is *not* clipped here; the encoder clips
        after converting back to the photo's own profile.
        ``out`` may be ``rgb`` itself: tiles are then written back in place, keeping
        only halo-sized stripes of original pixels (bounded memory for huge photos; see
        :func:`~photoenhance.infer.tiling.run_tiles`).
        """
        if rgb.ndim != 3 or rgb.shape[2] != 3:
            raise ValueError(f"expected an (H, W, 3) image, got shape {rgb.shape}")
        if not 0.0 <= strength <= 1.0:
            raise ValueError("strength must be within 0..1")
        thumb, exact8 = scan_image(rgb, self.info.context_size)
        feeds = self.photo_feeds(thumb)
        if out is None:
            out = np.empty_like(rgb, dtype=np.float32)
        return run_tiles(
            rgb,
            out,
            lambda packed, last: self.run_tile(packed, feeds, last=last),
            tile=self.config.tile,
            halo=self.halo,
            multiple=self.info.multiple,
            strength=strength,
            exact8=exact8,
            progress=progress,
        )
