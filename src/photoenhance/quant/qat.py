"""QAT workflow helpers: calibrate → train with fake-quant → freeze/export.

``calibrate`` runs a few batches with min/max observers, then initialises every learned
activation scale from the observed ranges and switches the model to ``"quant"`` mode,
after which ordinary training (low learning rate) fine-tunes weights *and* scales.

In a distributed run (``torch.distributed`` initialised) every rank observes its own
batches; :func:`sync_observers` then takes the minimum of the ranks' ``running_min`` and
the maximum of their ``running_max`` (``all_reduce`` MIN/MAX), so every rank initialises
the same scales and zero points and any rank would export the same INT8 model. (After
calibration the learned scales are parameters: DDP averages their gradients.)
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
import torch.distributed as dist
from torch import nn

from photoenhance.model.fake_quant import ActQuant, init_quantizers, set_quant_mode


@torch.no_grad()
def calibrate(model: nn.Module, batches: Iterable[tuple[torch.Tensor, ...]]) -> int:
    """Observe activation ranges on ``batches`` (each ``(x, ...)``, x NCHW in [0, 1]),
    initialise the quantizers and leave ``model`` in ``"quant"`` mode.

    Returns the number of batches seen. The model's train/eval state is restored.
    """
    was_training = model.training
    model.eval()
    set_quant_mode(model, "observe")
    n = 0
    for batch in batches:
        model(batch[0])
        n += 1
    if n == 0:
        raise ValueError("calibration needs at least one batch")
    sync_observers(model)
    init_quantizers(model)
    set_quant_mode(model, "quant")
    model.train(was_training)
    return n


@torch.no_grad()
def sync_observers(model: nn.Module) -> None:
    """All-reduce the observed ranges over the ranks of a distributed run: MIN of
    ``running_min``, MAX of ``running_max`` (a no-op without an initialised process
    group or with one rank)."""
    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() < 2:
        return
    for m in model.modules():
        if isinstance(m, ActQuant) and not m.fixed:
            dist.all_reduce(m.running_min, op=dist.ReduceOp.MIN)
            dist.all_reduce(m.running_max, op=dist.ReduceOp.MAX)
