"""The Python API: :func:`enhance`, :func:`enhance_file`, :class:`Enhancer`.

- :mod:`~photoenhance.api.functions` — the two one-call functions (model loaded once);
- :mod:`~photoenhance.api.enhancer` — :class:`Enhancer` (a loaded model; thread-safe);
- :mod:`~photoenhance.api.kinds` — numpy arrays and Pillow images to pixels and back;
- :mod:`~photoenhance.api.encoded` — encoded photos (``bytes``) with ``run``'s rules;
- :mod:`~photoenhance.api.errors` — the API's own exception types (light: no imports).

``import photoenhance`` does not import this package; its names are reached lazily
(``photoenhance.enhance``), and this package's ``__init__`` imports nothing either, so
that ``photoenhance.EnhanceError`` (:mod:`~photoenhance.api.errors`) stays cheap.
No torch here.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_LAZY: dict[str, str] = {
    "EnhanceError": "photoenhance.api.errors",
    "EnhancedBytes": "photoenhance.api.enhancer",
    "EnhancedFile": "photoenhance.api.enhancer",
    "Enhancer": "photoenhance.api.enhancer",
    "OutputExistsError": "photoenhance.api.errors",
    "UnsupportedImageError": "photoenhance.api.errors",
    "enhance": "photoenhance.api.functions",
    "enhance_file": "photoenhance.api.functions",
}

__all__ = [
    "EnhanceError",
    "EnhancedBytes",
    "EnhancedFile",
    "Enhancer",
    "OutputExistsError",
    "UnsupportedImageError",
    "enhance",
    "enhance_file",
]

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from photoenhance.api.enhancer import EnhancedBytes, EnhancedFile, Enhancer
    from photoenhance.api.errors import EnhanceError, OutputExistsError, UnsupportedImageError
    from photoenhance.api.functions import enhance, enhance_file


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'photoenhance.api' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
