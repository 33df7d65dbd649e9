"""Python warnings raised by libraries (Pillow, piexif...) while a photo is read or written.

Pillow reports damaged metadata with :func:`warnings.warn` ("Tag data larger than
file", "Corrupt EXIF data"...), which would reach stderr even with ``-q``.  Inside
:func:`capture`, such warnings become one-line strings in a list that the caller
adds to the photo's warnings.

:func:`warnings.catch_warnings` is not usable here: it swaps process-wide state, and
photos are read and written on different threads at the same time (one thread's
exit would restore the other's handler, or leave a recorder installed for good).
Instead one hook on :data:`warnings.showwarning` is installed while any thread
captures; it routes a warning to the list of the thread that raised it, and every
other thread's warnings to the handler that was there before, unchanged.  Warning
filters are left alone (an ``"ignore"`` filter still ignores; ``"error"`` still
raises), except that the "already shown" registries are reset when a capture
starts, so each photo records its own warnings even when an earlier photo had the
same ones.  Pillow's ``DecompressionBombWarning`` is dropped: io applies its own
``max_megapixels`` limit.
"""

from __future__ import annotations

import os
import threading
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from PIL import Image

_MAX_CHARS = 240
# Pillow's size warning: io applies its own ``max_megapixels`` limit instead
_DROPPED: tuple[type[Warning], ...] = (Image.DecompressionBombWarning,)

_local = threading.local()
_lock = threading.Lock()
_users = 0
_previous: Callable[..., Any] | None = None


def _describe(message: Warning | str, category: type[Warning], filename: str) -> str:
    where = "/".join(os.path.normpath(filename).split(os.sep)[-2:])
    text = " ".join(f"{where}: {category.__name__}: {message}".split())
    return text if len(text) <= _MAX_CHARS else text[: _MAX_CHARS - 3] + "..."


def _show(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: Any = None,
    line: str | None = None,
) -> None:
    sink: list[str] | None = getattr(_local, "sink", None)
    if sink is not None:
        if issubclass(category, _DROPPED):
            return
        text = _describe(message, category, filename)
        if text not in sink:
            sink.append(text)
        return
    previous = _previous or warnings._showwarning_orig  # type: ignore[attr-defined]
    previous(message, category, filename, lineno, file, line)


def _reset_registries() -> None:
    """Forget which warnings were shown already (as a change of filters does)."""
    mutated = getattr(warnings, "_filters_mutated", None)
    if mutated is not None:
        mutated()


@contextmanager
def capture() -> Iterator[list[str]]:
    """Collect the Python warnings this thread raises inside the block, as one-line strings.

    Nested use on one thread adds to the outer list.
    """
    global _users, _previous
    outer: list[str] | None = getattr(_local, "sink", None)
    if outer is not None:
        yield outer
        return
    sink: list[str] = []
    with _lock:
        if _users == 0:
            _previous = warnings.showwarning
            warnings.showwarning = _show
        _users += 1
        _reset_registries()
    _local.sink = sink
    try:
        yield sink
    finally:
        _local.sink = None
        with _lock:
            _users -= 1
            if _users == 0:
                if warnings.showwarning is _show:  # someone else may have replaced it since
                    warnings.showwarning = _previous
                _previous = None
