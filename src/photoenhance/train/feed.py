"""Where a run's batches come from: the in-memory :class:`BatchSampler`, or (stream mode)
a DataLoader over the steps of the current phase - the batch of a step is a function of
the step alone, so a resumed run reads what an unbroken one would have."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import torch

from photoenhance.train import distributed
from photoenhance.train.config import TrainConfig
from photoenhance.train.data import TrainData
from photoenhance.train.stream import (
    CALIB_STREAM,
    TRAIN_STREAM,
    PatchStream,
    StreamBatches,
    make_loader,
)


class BatchFeed:
    """The training and calibration batches of one rank."""

    def __init__(self, cfg: TrainConfig, data: TrainData, info: distributed.DistInfo, pin: bool):
        self.cfg, self.data, self.info, self.pin = cfg, data, info, pin
        self.problems: list[str] = []  # stream mode: pairs the workers could not read
        self._batches: Iterator[Any] | None = None  # stream mode: the current phase's loader

    def next(self, step: int, stop: int) -> tuple[torch.Tensor, torch.Tensor]:
        """The (input, target) batch of global ``step``; ``stop``: the end of its phase."""
        if self.data.sampler is not None:
            return self.data.sampler.sample(self.cfg.batch_size)
        if self._batches is None:
            self._batches = iter(self._loader(step, stop, TRAIN_STREAM))
        x, y, problems = next(self._batches)
        self.problems.extend(problems)
        return x, y

    def calibration(self, device: torch.device) -> Iterator[tuple[torch.Tensor]]:
        """``calib_batches`` input batches for the quantizer ranges, on ``device``."""
        cfg = self.cfg
        if self.data.sampler is not None:
            sampler = self.data.sampler
            return (
                (sampler.calibration(cfg.batch_size).to(device, memory_format=torch.channels_last),)
                for _ in range(cfg.calib_batches)
            )
        return ((x.to(device, memory_format=torch.channels_last),)
                for x, _, _ in self._loader(0, cfg.calib_batches, CALIB_STREAM))

    def close(self) -> None:
        """End the current phase's loader (its DataLoader workers shut down)."""
        self._batches = None

    def _loader(self, start: int, stop: int, kind: int) -> Any:
        spec = self.data.spec
        assert spec is not None
        sampler = StreamBatches(spec.size, self.cfg.batch_size, start, stop, seed=self.cfg.seed,
                                rank=self.info.rank, world_size=self.info.world_size, stream=kind)
        return make_loader(PatchStream(spec), sampler, self.cfg.workers, pin_memory=self.pin)
