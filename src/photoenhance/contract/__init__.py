"""The model's ONNX I/O contract in one place (torch-free, onnxruntime-free).

- :mod:`~photoenhance.contract.spec` — format version, input/output names, context size,
  metadata keys;
- :mod:`~photoenhance.contract.layout` — the packed space-to-depth NHWC image layout;
- :mod:`~photoenhance.contract.context` — the context thumbnail (numpy twin of the
  network's ``adaptive_avg_pool2d``);
- :mod:`~photoenhance.contract.writer` — the metadata an export writes (``quant/export.py``);
- :mod:`~photoenhance.contract.reader` — checking a loaded model against the contract
  (the inference session).
"""

from __future__ import annotations

from photoenhance.contract.reader import ModelInfo, ModelLoadError, Port, model_info
from photoenhance.contract.spec import (
    CONTEXT_SIZE,
    FORMAT,
    INPUT_NAMES,
    MULTIPLE,
    OUTPUT_NAME,
    PACKED_CHANNELS,
)
from photoenhance.contract.writer import model_metadata

__all__ = [
    "CONTEXT_SIZE",
    "FORMAT",
    "INPUT_NAMES",
    "MULTIPLE",
    "OUTPUT_NAME",
    "PACKED_CHANNELS",
    "ModelInfo",
    "ModelLoadError",
    "Port",
    "model_info",
    "model_metadata",
]
