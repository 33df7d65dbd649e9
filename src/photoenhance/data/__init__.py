"""Training and evaluation data, numpy only (no torch import).

- :mod:`~photoenhance.data.pairs`: paired phone/DSLR folders (DPED and generic layouts),
  validation, deterministic train/val split, loading.
- :mod:`~photoenhance.data.augment`: paired flips, rotations, aligned crops.
- :mod:`~photoenhance.data.degrade`: synthetic small-sensor degradation of clean photos.
- :mod:`~photoenhance.data.synthetic`: random degraded/clean patch pairs from a photo folder.

Images are float32 RGB in ``[0, 1]``, shape :math:`(H, W, 3)`.

The function ``degrade`` is deliberately not re-exported here (it would shadow the submodule
``photoenhance.data.degrade``): use ``from photoenhance.data.degrade import degrade``.
"""

from __future__ import annotations

from photoenhance.data.augment import augment_pair, random_crop_pair, random_patch_pairs
from photoenhance.data.degrade import DegradeConfig, DegradeParams, sample_params
from photoenhance.data.imageops import resize_image
from photoenhance.data.pairs import (
    LAYOUTS,
    Pair,
    PairDataError,
    PairSet,
    find_pairs,
    load_pair,
    read_flags,
    split_pairs,
    validate_pairs,
)
from photoenhance.data.synthetic import SyntheticPairSource, list_photos, sample_patch_pair

__all__ = [
    "LAYOUTS",
    "DegradeConfig",
    "DegradeParams",
    "Pair",
    "PairDataError",
    "PairSet",
    "SyntheticPairSource",
    "augment_pair",
    "find_pairs",
    "list_photos",
    "load_pair",
    "random_crop_pair",
    "random_patch_pairs",
    "read_flags",
    "resize_image",
    "sample_params",
    "sample_patch_pair",
    "split_pairs",
    "validate_pairs",
]
