"""Old home of the fake-quant layers, now :mod:`photoenhance.model.fake_quant` (the network
is built from them, and ``model`` may not import ``quant``).  Kept so that older imports
still work; new code imports from ``photoenhance.model.fake_quant``."""

from __future__ import annotations

from photoenhance.model.fake_quant import (
    INT8_MAX,
    ActQuant,
    QConv2d,
    QuantMode,
    fake_quant_affine,
    fake_quant_weight,
    grad_scale,
    init_quantizers,
    quant_mode,
    round_ste,
    set_quant_mode,
    weight_scale_per_channel,
)

__all__ = [
    "INT8_MAX",
    "ActQuant",
    "QConv2d",
    "QuantMode",
    "fake_quant_affine",
    "fake_quant_weight",
    "grad_scale",
    "init_quantizers",
    "quant_mode",
    "round_ste",
    "set_quant_mode",
    "weight_scale_per_channel",
]
