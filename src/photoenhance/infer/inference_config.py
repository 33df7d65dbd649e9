"""How to run the network (:class:`InferenceConfig`). No onnxruntime and no torch here
(it is pickled to Ray workers inside :class:`~photoenhance.infer.types.RunConfig`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from photoenhance.infer.tiling import default_tile


@dataclass(frozen=True)
class InferenceConfig:
    """How to run the network. ``model=None`` uses the bundled INT8 model.

    ``tile=None`` is :func:`~photoenhance.infer.tiling.default_tile` of ``provider``,
    resolved when the config is made (so ``config.tile`` is always a number)."""

    model: Path | None = None
    tile: int | None = None  # None: default_tile(provider)
    halo: int | None = None  # None: the model's receptive radius (from its metadata)
    threads: int | None = None  # None: onnxruntime's default (all physical cores)
    cache_dir: Path | None = None  # None: no optimised-graph cache
    optimize: bool = True
    #: ``cpu``, ``cuda``, ``tensorrt`` or ``auto`` (see :mod:`photoenhance.infer.providers`)
    provider: str = "cpu"

    def __post_init__(self) -> None:
        if self.tile is None:
            object.__setattr__(self, "tile", default_tile(self.provider))
