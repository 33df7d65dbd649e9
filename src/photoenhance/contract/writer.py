"""The metadata every exported model carries (the writer side of the contract).

``quant/export.py`` measures the network (torch) and hands the plain numbers here; the
keys, their order and their encoding are the contract's (:mod:`photoenhance.contract.spec`),
read back by :mod:`photoenhance.contract.reader`. No torch here.
"""

from __future__ import annotations

import json
from typing import Any

from photoenhance.contract.spec import (
    CONTEXT_METHOD,
    CONTEXT_SIZE,
    FORMAT,
    FORMAT_STATS,
    IO_DESCRIPTION,
    META_CONFIG,
    META_CONTEXT,
    META_FORMAT,
    META_HALO,
    META_IO,
    META_MACS_PER_MP,
    META_MODEL_SIZE,
    META_MULTIPLE,
    META_PARAMS,
    META_PRECISION,
    META_VERSION,
    MULTIPLE,
    STATS_INPUT,
    STATS_METHOD,
    THUMB_INPUT,
)
from photoenhance.contract.statistics import STATS_CHANNELS


def halo_for(receptive_radius: int, multiple: int = MULTIPLE) -> int:
    """The halo tiles need to match whole-image inference: the receptive radius rounded
    up to ``multiple``."""
    return -(-receptive_radius // multiple) * multiple


def model_metadata(
    *,
    version: str,
    model_size: str,
    config: dict[str, Any],
    precision: str,
    macs_per_mp: float,
    params: int,
    receptive_radius: int,
    multiple: int = MULTIPLE,
    stats: bool = False,
) -> dict[str, str]:
    """The ``metadata_props`` of an exported model (key → value, in the written order).
    ``stats``: the model takes the ``stats`` input (format 3)."""
    context: dict[str, Any] = {"input": THUMB_INPUT, "size": CONTEXT_SIZE, "method": CONTEXT_METHOD}
    if stats:
        context["stats"] = {"input": STATS_INPUT, "channels": STATS_CHANNELS, "method": STATS_METHOD}
    return {
        META_VERSION: version,
        META_FORMAT: FORMAT_STATS if stats else FORMAT,
        META_MODEL_SIZE: model_size,
        META_CONFIG: json.dumps(config),
        META_PRECISION: precision,
        META_MACS_PER_MP: f"{macs_per_mp:.0f}",
        META_MULTIPLE: str(multiple),
        META_PARAMS: str(params),
        # tiles need this much halo to match whole-image inference (rounded up to 8)
        META_HALO: str(halo_for(receptive_radius, multiple)),
        META_CONTEXT: json.dumps(context),
        META_IO: IO_DESCRIPTION,
    }
