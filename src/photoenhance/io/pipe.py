"""Photos through pipes: ``-`` as input reads stdin, ``-o -`` writes stdout.

A photo piped in is read into memory (:func:`read_stream`) and decoded from its bytes
(:func:`photoenhance.io.open_bytes`: the same decoder as for files, so the pixels,
metadata and the bytes written are exactly those of the same photo read from a file).
The way out is one ``write`` of the finished photo's bytes (:func:`emit`), only after it
was encoded completely (in memory): an error never leaves part of a photo on stdout.
Nothing goes through a temporary folder; the folders older versions spooled stdin to,
left by killed runs (``kill -9``), are removed by the next pipe run
(:func:`clean_stale_spools`, the rule used for temporaries).
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import BinaryIO

from photoenhance.io.atomic import (
    OWNER_PATTERN,
    STALE_AFTER_SECONDS,
    owner_alive,
    stale_by_owner_or_age,
)
from photoenhance.io.errors import ImageReadError, ImageWriteError

STDIO = "-"
"""The name that stands for stdin (as the input) or stdout (as ``-o``)."""
_CHUNK = 1 << 20


def is_stdio(path: str | Path | None) -> bool:
    """True if ``path`` is ``-`` (stdin/stdout)."""
    return path is not None and str(path) == STDIO


SPOOL_PREFIX = "photoenhance-pipe-"
"""Folders older versions copied stdin into (``<prefix><owner>-<random>``)."""
_SPOOL_RE = re.compile(re.escape(SPOOL_PREFIX) + OWNER_PATTERN + r"-.+")


def is_stale_spool(path: Path, *, max_age: float = STALE_AFTER_SECONDS) -> bool:
    """True if the pipe folder ``path`` was left by a process that is gone (the same rule
    as for temporaries: :func:`photoenhance.io.atomic.is_stale_temp`): its owner is
    provably gone, or cannot be checked (another machine, an older version's name) and
    the folder was last modified more than ``max_age`` seconds ago."""
    m = _SPOOL_RE.fullmatch(path.name)
    return stale_by_owner_or_age(path, None if m is None else owner_alive(m), max_age)


def clean_stale_spools(parent: Path | None = None) -> int:
    """Remove the pipe folders under ``parent`` (default: the temporary folder) that
    killed runs left (``kill -9`` leaves the copy of stdin: hundreds of MB); those of
    running processes are kept.  Returns how many were removed; errors are ignored."""
    parent = Path(tempfile.gettempdir()) if parent is None else parent
    removed = 0
    try:
        entries = list(os.scandir(parent))
    except OSError:
        return 0
    for entry in entries:
        if not entry.name.startswith(SPOOL_PREFIX):
            continue
        path = Path(entry.path)
        if not entry.is_dir(follow_symlinks=False) or not is_stale_spool(path):
            continue
        shutil.rmtree(path, ignore_errors=True)
        removed += not path.exists()
    return removed


def read_stream(stream: BinaryIO) -> bytes:
    """Everything ``stream`` (stdin) holds, read chunk by chunk.

    Raises:
        ImageReadError: nothing came (``-: empty input``), or reading failed.
    """
    chunks: list[bytes] = []
    try:
        while chunk := stream.read(_CHUNK):
            chunks.append(chunk)
    except OSError as exc:
        raise ImageReadError(STDIO, f"cannot read stdin ({exc.strerror or exc})") from exc
    data = b"".join(chunks)
    if not data:
        raise ImageReadError(STDIO, "empty input (0 bytes on stdin)")
    return data


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
