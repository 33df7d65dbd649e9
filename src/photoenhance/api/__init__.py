"""The Python API: :func:`enhance`, :func:`enhance_file`, :class:`Enhancer`.

- :mod:`~photoenhance.api.functions` — the two one-call functions (model loaded once);
- :mod:`~photoenhance.api.enhancer` — :class:`Enhancer` (a loaded model; thread-safe);
- :mod:`~photoenhance.api.kinds` — numpy arrays and Pillow images to pixels and back;
- :mod:`~photoenhance.api.encoded` — encoded photos (``bytes``) with ``run``'s rules;
- :mod:`~photoenhance.api.errors` — the API's own exception types.

``import photoenhance`` does not import this package (nor onnxruntime): its names are
reached lazily (``photoenhance.enhance``).  No torch here.
"""

from __future__ import annotations

from photoenhance.api.enhancer import EnhancedFile, Enhancer
from photoenhance.api.errors import EnhanceError, OutputExistsError, UnsupportedImageError
from photoenhance.api.functions import enhance, enhance_file

__all__ = [
    "EnhanceError",
    "EnhancedFile",
    "Enhancer",
    "OutputExistsError",
    "UnsupportedImageError",
    "enhance",
    "enhance_file",
]
