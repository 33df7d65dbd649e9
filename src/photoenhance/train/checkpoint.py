"""Checkpoints: everything needed to continue a run exactly, loadable with
``torch.load(..., weights_only=True)`` (tensors, numbers, strings, lists, dicts only)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch

from photoenhance.model.fake_quant import set_quant_mode
from photoenhance.model.net import EnhanceNet, ModelConfig, create_model

CHECKPOINT_FORMAT = 1


class CheckpointError(ValueError):
    """A checkpoint cannot be used (missing, corrupt, or from another architecture)."""


def rng_state(rng: np.random.Generator) -> str:
    return json.dumps(rng.bit_generator.state)


def set_rng_state(rng: np.random.Generator, state: str) -> None:
    rng.bit_generator.state = json.loads(state)


def save_checkpoint(path: Path, payload: dict[str, Any]) -> None:
    """Atomic save (temp file + rename): a kill mid-save leaves the old checkpoint."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    torch.save({"format": CHECKPOINT_FORMAT, **payload}, tmp)
    with open(tmp, "rb") as f:
        os.fsync(f.fileno())
    os.replace(tmp, path)


def load_checkpoint(path: Path) -> dict[str, Any]:
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError as exc:
        raise CheckpointError(f"{path}: checkpoint not found") from exc
    except Exception as exc:
        raise CheckpointError(f"{path}: not a readable checkpoint ({exc})") from exc
    if not isinstance(ckpt, dict) or ckpt.get("format") != CHECKPOINT_FORMAT or "model" not in ckpt:
        raise CheckpointError(f"{path}: not a photoenhance checkpoint")
    return ckpt


def model_from_checkpoint(ckpt: dict[str, Any], *, path: Path | str = "checkpoint") -> EnhanceNet:
    """Rebuild the network of a checkpoint (architecture from its stored config)."""
    try:
        config = ModelConfig.from_dict(ckpt["config"])
        net = create_model(config)
        net.load_state_dict(ckpt["model"])
    except (KeyError, RuntimeError, TypeError, ValueError) as exc:
        raise CheckpointError(f"{path}: does not match the network ({exc})") from exc
    set_quant_mode(net, ckpt.get("quant_mode", "float"))
    return net


def save_model_checkpoint(path: Path, net: EnhanceNet, quant_mode: str, extra: dict | None = None) -> None:
    """The deployable checkpoint (``--from PATH``): architecture + weights + quantizers."""
    save_checkpoint(
        path,
        {
            "config": net.config.to_dict(),
            "model": {k: v.detach().cpu() for k, v in net.state_dict().items()},
            "quant_mode": quant_mode,
            **(extra or {}),
        },
    )
