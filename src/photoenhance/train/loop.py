"""Training entry points: :func:`train` (this process, or one rank of a torchrun launch)
and :func:`train_processes` (``--nproc``: DDP processes on this machine).

The run itself - FP32 phase → calibrate → QAT phase → export, resumable from
``OUT/last.pt`` - is :class:`photoenhance.train.trainer.Trainer`. Its pieces, one job
each: :mod:`.config` (``TrainConfig``, its checks, the ``--epochs`` → ``--steps`` rule),
:mod:`.data` (training and validation data), :mod:`.feed` (the batches of a step),
:mod:`.setup` (device, first network, optimiser, schedule, autocast), :mod:`.ddp`,
:mod:`.ema`, :mod:`.predict` (validation outputs and scores), :mod:`.outputs` (the files
of a finished run), :mod:`.results` and :mod:`.errors`.

At scale (``stream=True``, always on in a distributed run) the training pairs are not
decoded up front: DataLoader workers read them lazily (:mod:`photoenhance.train.stream`),
and the batch of a step is a function of the step alone. Distributed (``WORLD_SIZE`` > 1,
set by torchrun or by ``--nproc``, see :mod:`photoenhance.train.distributed`): the model
is wrapped in ``DistributedDataParallel`` (gradients averaged over the ranks; each rank
trains on its own shard of the pairs, ``batch_size`` pairs per rank and step); rank 0
alone validates, keeps the best states, checkpoints, exports and writes the report, and
broadcasts the best FP32 weights to every rank when QAT starts; calibration ranges are
all-reduced (:func:`photoenhance.quant.qat.sync_observers`). On CUDA the FP32 phase runs
under bf16 autocast (the loss in float32; QAT and its fake quantization in float32).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

import torch

from photoenhance.train import distributed
from photoenhance.train.config import TrainConfig
from photoenhance.train.errors import RankLostError, TrainError
from photoenhance.train.results import EvalPoint, StepEvent, TrainResult
from photoenhance.train.trainer import Trainer

__all__ = [
    "EvalPoint",
    "RankLostError",
    "StepEvent",
    "TrainConfig",
    "TrainError",
    "TrainResult",
    "Trainer",
    "train",
    "train_processes",
]


def train(
    cfg: TrainConfig, on_event: Callable[[StepEvent], None] | None = None
) -> TrainResult:
    """Run (or resume) a training run into ``cfg.out``: :meth:`Trainer.run`."""
    t_start = time.perf_counter()
    return Trainer(cfg, on_event, t_start=t_start).run()


def train_processes(cfg: TrainConfig, nproc: int,
                    on_event: Callable[[StepEvent], None] | None = None) -> TrainResult:
    """``train(cfg)`` in ``nproc`` DDP processes on this machine (``--nproc``): the result
    and progress events of rank 0; ``nproc == 1`` is plain :func:`train`."""
    if nproc < 1:
        raise TrainError("--nproc must be >= 1")
    if nproc == 1:
        return train(cfg, on_event)
    if distributed.env_info().distributed:
        raise TrainError("--nproc inside a distributed launch (torchrun): use one or the other")
    if cfg.device != "cpu" and torch.cuda.is_available() and nproc > torch.cuda.device_count():
        raise TrainError(f"--nproc {nproc}: only {torch.cuda.device_count()} CUDA device(s); "
                         f"one process per GPU (or --device cpu)")

    def on_message(rank: int, kind: str, payload: Any) -> None:
        if kind == "event" and on_event is not None:
            on_event(payload)

    try:
        result = distributed.launch(nproc, _train_rank, (cfg, nproc), on_message)
    except distributed.RankLostError as exc:
        raise RankLostError(f"{exc}; continue with --resume") from exc
    except distributed.LaunchError as exc:
        raise TrainError(str(exc)) from exc
    assert isinstance(result, TrainResult)
    return result


def _train_rank(cfg: TrainConfig, nproc: int, send: Callable[[str, Any], None]) -> TrainResult | None:
    """One rank of :func:`train_processes`: the CPU threads shared out, rank 0's events
    sent to the launcher."""
    if cfg.threads is None:
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // nproc))
    main = int(os.environ.get("RANK", "0")) == 0
    result = train(cfg, on_event=(lambda e: send("event", e)) if main else None)
    return result if main else None

