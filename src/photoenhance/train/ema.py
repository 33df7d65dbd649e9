"""The exponential moving average of the weights (what validation and export use)."""

from __future__ import annotations

import torch

from photoenhance.model.net import EnhanceNet


def state_copy(net: EnhanceNet) -> dict[str, torch.Tensor]:
    """A detached CPU copy of ``net``'s state dict (a best state, a checkpoint's weights)."""
    return {k: v.detach().cpu().clone() for k, v in net.state_dict().items()}


class WeightEMA:
    """Exponential moving average of every floating-point tensor of the state dict
    (weights, biases, learned quantizer scales); integer/bool buffers are copied.
    The decay warms up as ``min(decay, (1 + n) / (10 + n))``."""

    def __init__(self, net: EnhanceNet, decay: float, state: dict[str, torch.Tensor] | None = None,
                 updates: int = 0):
        self.decay = decay
        self.updates = updates
        src = state if state is not None else net.state_dict()
        self.state = {k: v.detach().clone().to(net_device(net)) for k, v in src.items()}

    @torch.no_grad()
    def update(self, net: EnhanceNet) -> None:
        self.updates += 1
        d = min(self.decay, (1 + self.updates) / (10 + self.updates))
        for k, v in net.state_dict().items():
            e = self.state[k]
            if e.dtype.is_floating_point:
                e.mul_(d).add_(v.detach(), alpha=1.0 - d)
            else:
                e.copy_(v)

    def cpu_state(self) -> dict[str, torch.Tensor]:
        return {k: v.detach().cpu().clone() for k, v in self.state.items()}


def net_device(net: EnhanceNet) -> torch.device:
    return next(net.parameters()).device

