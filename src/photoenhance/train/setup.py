"""The pieces a run trains with: its device, its first network, the optimiser and its
learning-rate schedule, bf16 autocast."""

from __future__ import annotations

import contextlib
import math
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch

from photoenhance.bundled import bundled_file
from photoenhance.model.fake_quant import set_quant_mode
from photoenhance.model.net import SIZES, EnhanceNet, create_model
from photoenhance.train.checkpoint import CheckpointError, load_checkpoint, model_from_checkpoint
from photoenhance.train.config import TrainConfig
from photoenhance.train.errors import TrainError

BUNDLED_CHECKPOINT = "photoenhance.pt"


def pick_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise TrainError("--device cuda: no CUDA device available")
    if name not in ("cpu", "cuda"):
        raise TrainError(f"--device must be cpu, cuda or auto, not {name!r}")
    return torch.device(name)


def lr_at(step: int, total: int, base: float, warmup: int) -> float:
    """Linear warm-up then cosine decay to 2 % of ``base`` over ``total`` steps."""
    if total <= 0:
        return base
    if warmup > 0 and step < warmup:
        return base * (step + 1) / warmup
    t = min(max((step - warmup) / max(total - warmup, 1), 0.0), 1.0)
    return base * (0.02 + 0.98 * 0.5 * (1.0 + math.cos(math.pi * t)))


def make_optimizer(net: EnhanceNet, cfg: TrainConfig) -> torch.optim.Optimizer:
    decay, no_decay = [], []
    for name, p in net.named_parameters():
        if not p.requires_grad:
            continue
        (decay if name.endswith("weight") and p.ndim == 4 else no_decay).append(p)
    return torch.optim.AdamW(
        [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=cfg.lr,
    )


def initial_model(cfg: TrainConfig) -> EnhanceNet:
    if cfg.init == "scratch":
        try:
            if cfg.size not in SIZES:
                raise ValueError(f"unknown model size {cfg.size!r}; choose from {', '.join(SIZES)}")
            base = SIZES[cfg.size]
            return create_model(replace(base, head=cfg.head) if cfg.head else base)
        except ValueError as exc:
            raise TrainError(str(exc)) from exc
    path = bundled_file(BUNDLED_CHECKPOINT) if cfg.init == "bundled" else Path(cfg.init)
    try:
        net = model_from_checkpoint(load_checkpoint(path), path=path)
    except CheckpointError as exc:
        raise TrainError(str(exc)) from exc
    set_quant_mode(net, "float")
    return net



def autocast(device: torch.device, bf16: bool) -> Any:
    """bf16 autocast on CUDA (convolutions in bf16, the loss outside it in float32)."""
    if bf16 and device.type == "cuda":
        return torch.autocast(device_type="cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()

