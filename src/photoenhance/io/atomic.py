"""Atomic file writing and clean-up of temporaries left by killed runs.

A photo is written to a temporary file in the destination folder, flushed and
fsync'ed, then moved over the destination with :func:`os.replace`.  Readers
therefore see either the old file, no file, or the complete new file - never a
partial one.  Temporaries are named ``.<name>.photoenhance-tmp-<random>`` so that
:func:`clean_stale_temps` can find the ones a killed run left behind (they are
hidden files, so :func:`photoenhance.io.walk_inputs` never picks them up).
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from photoenhance.io.errors import ImageWriteError

TEMP_MARKER = ".photoenhance-tmp-"


def temp_name_for(dst: Path) -> Path:
    """Return a fresh temporary path next to ``dst`` (``.<name>.photoenhance-tmp-<hex>``)."""
    return dst.with_name(f".{dst.name}{TEMP_MARKER}{secrets.token_hex(6)}")


def is_temp_name(name: str) -> bool:
    """True if ``name`` looks like a temporary created by :func:`atomic_write`."""
    return name.startswith(".") and TEMP_MARKER in name


def _reason(exc: BaseException) -> str:
    """A short human reason for ``exc`` (strerror for OS errors, else the message)."""
    if isinstance(exc, OSError):
        if exc.errno == errno.ENOSPC:
            return "disk full (no space left on device)"
        if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
            return f"permission denied ({exc.strerror or 'read-only'})"
        return exc.strerror or str(exc) or type(exc).__name__
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _fsync_dir(folder: Path) -> None:
    """Best-effort fsync of a directory so the rename itself is durable."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write(dst: Path, write: Callable[[BinaryIO], None]) -> None:
    """Write ``dst`` atomically by calling ``write(fileobj)`` on a temporary file.

    The temporary lives in ``dst``'s folder; it is flushed, fsync'ed and moved over
    ``dst`` with :func:`os.replace`.  On any failure (including KeyboardInterrupt)
    the temporary is removed and ``dst`` is left untouched.

    Raises:
        ImageWriteError: one line naming ``dst``, for a missing/read-only output
            folder, a full disk, or any exception raised by ``write``.
            ``KeyboardInterrupt``/``SystemExit`` are re-raised unchanged after cleanup.
    """
    dst = Path(dst)
    folder = dst.parent
    if not folder.is_dir():
        raise ImageWriteError(dst, "output folder does not exist")
    if dst.is_dir():
        raise ImageWriteError(dst, "is a directory")
    tmp = temp_name_for(dst)
    try:
        fh = open(tmp, "xb")  # noqa: SIM115 - closed by the `with` below
    except OSError as exc:
        raise ImageWriteError(dst, f"cannot create file: {_reason(exc)}") from exc
    try:
        with fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, dst)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, ImageWriteError):
            raise
        if isinstance(exc, Exception):
            raise ImageWriteError(dst, f"write failed: {_reason(exc)}") from exc
        raise
    _fsync_dir(folder)


def clean_stale_temps(folder: Path) -> int:
    """Remove temporaries (``.*.photoenhance-tmp-*``) left under ``folder`` by killed runs.

    Walks ``folder`` recursively without following symlinks; returns how many files
    were removed.  Files that cannot be removed are skipped silently.
    """
    removed = 0
    for dirpath, _dirnames, filenames in os.walk(folder, followlinks=False):
        for name in filenames:
            if not is_temp_name(name):
                continue
            path = Path(dirpath, name)
            if path.is_symlink() or not path.is_file():
                continue
            try:
                path.unlink()
            except OSError:
                continue
            removed += 1
    return removed
