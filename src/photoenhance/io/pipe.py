"""Photos through pipes: ``-`` as input reads stdin, ``-o -`` writes stdout.

The decoder works on files, not streams - it maps the file to check that JPEG/PNG data is
complete (:mod:`photoenhance.io.truncation`) and reads 16-bit PNG/TIFF twice - so a photo
piped in is first copied, chunk by chunk, to a private temporary file
(:func:`spool`): the pixels, metadata and the bytes written are then exactly those of the
same photo read from a file.  The way out is one ``write`` of the finished photo's bytes
(:func:`emit`), only after it was encoded completely: an error never leaves part of a
photo on stdout.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import BinaryIO

from photoenhance.io.errors import ImageReadError, ImageWriteError

STDIO = "-"
"""The name that stands for stdin (as the input) or stdout (as ``-o``)."""
_CHUNK = 1 << 20


def is_stdio(path: str | Path | None) -> bool:
    """True if ``path`` is ``-`` (stdin/stdout)."""
    return path is not None and str(path) == STDIO


def spool(stream: BinaryIO, dst: Path) -> Path:
    """Copy everything ``stream`` holds into the new file ``dst`` (its folder must exist
    and should be private); returns ``dst``.

    Raises:
        ImageReadError: nothing came (``-: empty input``), or reading failed; ``dst`` is
            removed then.
    """
    try:
        with open(dst, "xb") as fh:
            shutil.copyfileobj(stream, fh, _CHUNK)
            size = fh.tell()
    except OSError as exc:
        dst.unlink(missing_ok=True)
        raise ImageReadError(STDIO, f"cannot read stdin ({exc.strerror or exc})") from exc
    if size == 0:
        dst.unlink(missing_ok=True)
        raise ImageReadError(STDIO, "empty input (0 bytes on stdin)")
    return dst


def emit(data: bytes, stream: BinaryIO) -> None:
    """Write ``data`` (a finished photo) to ``stream`` in one go and flush; all of it or
    an error (a short write is continued, never taken for success).

    Raises:
        ImageWriteError: the stream cannot be written (a closed pipe...).
    """
    view = memoryview(data)
    try:
        # a write may take only part of the data: when the reader went away after some
        # of it, a buffered stdout returns the short count instead of raising (and a
        # raw one may); the rest is written, or the next write raises (EPIPE)
        while view:
            n = stream.write(view)
            if not n:
                raise ImageWriteError(STDIO, "cannot write stdout (nothing written)")
            view = view[n:]
        stream.flush()
    except OSError as exc:  # BrokenPipeError included
        raise ImageWriteError(STDIO, f"cannot write stdout ({exc.strerror or exc})") from exc
