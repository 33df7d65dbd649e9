"""The network in ``DistributedDataParallel`` for one phase of a distributed run."""

from __future__ import annotations

import inspect

import torch

from photoenhance.model.fake_quant import ActQuant
from photoenhance.model.net import EnhanceNet
from photoenhance.train import distributed


def wrap_ddp(net: EnhanceNet, info: distributed.DistInfo, device: torch.device,
             phase: str) -> torch.nn.Module:
    """``net`` in ``DistributedDataParallel`` for ``phase`` (``net`` itself for one
    process). DDP expects a gradient for every parameter that requires one, and the learned
    activation scales take no part in the FP32 phase: they are frozen for it (rather than
    ``find_unused_parameters=True``, which searches the autograd graph every step).
    Buffers (observer ranges, zero points, masks) are equal on every rank and do not change
    while training, so they are not re-broadcast each step."""
    if not info.distributed:
        return net
    from torch.nn.parallel import DistributedDataParallel

    for m in net.modules():
        if isinstance(m, ActQuant) and not m.fixed:
            m.scale.requires_grad_(phase == "qat")
    # Gradients live in DDP's buckets (``gradient_as_bucket_view``, kept from step to step:
    # the loop zeroes them rather than dropping them).  Otherwise autograd makes a new
    # gradient each step with strides of its own choosing in size-1 dimensions - a 1x1
    # kernel's gradient in channels-last came as (16, 1, 16, 16) for a (16, 1, 1, 1)
    # parameter, or the other way round, depending on the kernel that computed it - and DDP
    # copied it into its bucket and warned "Grad strides do not match bucket view strides"
    # on every rank.  Accumulated into the bucket view, a gradient has the parameter's
    # strides by construction (and one copy per step is saved).
    with torch.no_grad():
        for p_ in net.parameters():
            if p_.requires_grad and p_.grad is None:
                p_.grad = torch.zeros_like(p_)  # same strides; DDP swaps in its bucket view
    # torch >= 2.13 renamed the per-step buffer broadcast (the old name still works, warning)
    no_sync = ("forward_sync_buffers" if "forward_sync_buffers"
               in inspect.signature(DistributedDataParallel.__init__).parameters else "broadcast_buffers")
    return DistributedDataParallel(
        net, device_ids=[device.index] if device.type == "cuda" else None,
        gradient_as_bucket_view=True, **{no_sync: False},
    )
