""":func:`enhance` and :func:`enhance_file`: one call, with a model loaded once per process.

The first call loads the model (the bundled one, or ``model``) into an
:class:`~photoenhance.api.enhancer.Enhancer` that later calls with the same model reuse;
loading is done under a lock, so threads calling at once load it once.  To choose the
provider, tile or threads, make an :class:`Enhancer` and pass it as ``model``.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

from photoenhance.api.enhancer import EnhancedFile, Enhancer, Image_T

ModelArg = str | os.PathLike[str] | Enhancer | None

_loaded: dict[str | None, Enhancer] = {}
_lock = threading.Lock()


def enhancer_for(model: ModelArg) -> Enhancer:
    """``model`` itself if it is an :class:`Enhancer`, else the process's Enhancer for that
    model file (None: the bundled model), loaded on first use."""
    if isinstance(model, Enhancer):
        return model
    key = None if model is None else str(Path(model).resolve())
    with _lock:
        found = _loaded.get(key)
        if found is None:
            found = _loaded[key] = Enhancer(model)
        return found


def enhance(image: Image_T, *, strength: float = 1.0, model: ModelArg = None) -> Image_T:
    """The enhanced ``image``, of the kind given (``PIL.Image``, numpy array or ``bytes``).

    See :meth:`photoenhance.Enhancer.enhance`; ``model`` is an ONNX model file, an
    :class:`Enhancer`, or None for the bundled model.
    """
    return enhancer_for(model).enhance(image, strength=strength)


def enhance_file(
    src: str | os.PathLike[str],
    dst: str | os.PathLike[str],
    *,
    model: ModelArg = None,
    **options: Any,
) -> EnhancedFile:
    """Enhance the photo file ``src`` into ``dst`` with ``run``'s rules.

    ``options``: ``strength``, ``format``, ``quality``, ``overwrite``, ``max_megapixels``,
    ``software`` (see :meth:`photoenhance.Enhancer.enhance_file`).
    """
    return enhancer_for(model).enhance_file(src, dst, **options)
