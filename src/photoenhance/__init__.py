"""photoenhance: phone-to-DSLR photo enhancement with a small INT8 network.

Image convention (stated once, used everywhere): images are float32 RGB in [0, 1];
the network sees NCHW batches, the I/O edge hands out HWC arrays. Only
:mod:`photoenhance.io` deals with file modes, bit depths, orientation and metadata.

The Python API (:mod:`photoenhance.api`)::

    import photoenhance
    out = photoenhance.enhance(image)          # PIL.Image, numpy array or bytes -> same kind
    photoenhance.enhance_file("in.jpg", "out.jpg")
    enhancer = photoenhance.Enhancer()         # one loaded model for many calls

Its names are imported on first use (module ``__getattr__``), so ``import photoenhance``
stays cheap: no onnxruntime, numpy or Pillow until the API is used (the error types of
:mod:`photoenhance.io` bring numpy and Pillow, never onnxruntime), and never torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

#: public name -> the module that defines it, imported on first access
_LAZY: dict[str, str] = {
    "enhance": "photoenhance.api.functions",
    "enhance_file": "photoenhance.api.functions",
    "Enhancer": "photoenhance.api.enhancer",
    "EnhancedBytes": "photoenhance.api.enhancer",
    "EnhancedFile": "photoenhance.api.enhancer",
    "EnhanceError": "photoenhance.api.errors",
    "OutputExistsError": "photoenhance.api.errors",
    "UnsupportedImageError": "photoenhance.api.errors",
    "ImageReadError": "photoenhance.io.errors",
    "ImageWriteError": "photoenhance.io.errors",
    "ModelLoadError": "photoenhance.infer.model_file",
    "ProviderUnavailableError": "photoenhance.infer.providers",
    "OutputConflictError": "photoenhance.infer.types",
}

__all__ = [
    "EnhanceError",
    "EnhancedBytes",
    "EnhancedFile",
    "Enhancer",
    "ImageReadError",
    "ImageWriteError",
    "ModelLoadError",
    "OutputConflictError",
    "OutputExistsError",
    "ProviderUnavailableError",
    "UnsupportedImageError",
    "__version__",
    "enhance",
    "enhance_file",
]


if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from photoenhance.api.enhancer import EnhancedBytes, EnhancedFile, Enhancer
    from photoenhance.api.errors import EnhanceError, OutputExistsError, UnsupportedImageError
    from photoenhance.api.functions import enhance, enhance_file
    from photoenhance.infer.model_file import ModelLoadError
    from photoenhance.infer.providers import ProviderUnavailableError
    from photoenhance.infer.types import OutputConflictError
    from photoenhance.io.errors import ImageReadError, ImageWriteError


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'photoenhance' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
