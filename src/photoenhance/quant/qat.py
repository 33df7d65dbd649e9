"""QAT workflow helpers: calibrate → train with fake-quant → freeze/export.

``calibrate`` runs a few batches with EMA observers, then initialises every learned
activation scale from the observed ranges and switches the model to ``"quant"`` mode,
after which ordinary training (low learning rate) fine-tunes weights *and* scales.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import nn

from photoenhance.model.fake_quant import init_quantizers, set_quant_mode


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
    init_quantizers(model)
    set_quant_mode(model, "quant")
    model.train(was_training)
    return n
