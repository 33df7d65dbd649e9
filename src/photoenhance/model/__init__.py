"""Network blocks and architecture (torch)."""

from photoenhance.model.net import (
    CONTEXT_SIZE,
    MULTIPLE,
    SIZES,
    EnhanceNet,
    ModelConfig,
    context_thumbnail,
    count_params,
    create_model,
    head_convs,
    macs_per_megapixel,
    receptive_radius,
)

__all__ = [
    "CONTEXT_SIZE",
    "MULTIPLE",
    "SIZES",
    "EnhanceNet",
    "ModelConfig",
    "context_thumbnail",
    "count_params",
    "create_model",
    "head_convs",
    "macs_per_megapixel",
    "receptive_radius",
]
