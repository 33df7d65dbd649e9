"""Atomic file writing and clean-up of temporaries left by killed runs.

A photo is written to a temporary file in the destination folder, flushed and
fsync'ed, then moved over the destination with :func:`os.replace`.  Readers
therefore see either the old file, no file, or the complete new file - never a
partial one.

Temporaries are named ``.photoenhance-tmp-<host>-<pid>-<start>-<random>``: short
(about 50 bytes whatever the destination's name, so a 255-byte name can be written)
and hidden (:func:`photoenhance.io.walk_inputs` never picks them up).  ``<host>``
identifies this machine, boot and PID namespace, ``<pid>`` and ``<start>`` the
writing process (its start time, so a reused PID is told apart).
:func:`clean_stale_temps` removes only temporaries that are provably stale: their
process is gone (or its PID now belongs to another process) on this machine, or -
for temporaries of another machine, boot or older version, whose owner cannot be
checked - they were last modified more than :data:`STALE_AFTER_SECONDS` ago.  So a
second run never deletes the temporary of a run that is still writing.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import hashlib
import os
import re
import secrets
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from photoenhance.io.errors import ImageWriteError

TEMP_MARKER = ".photoenhance-tmp-"
#: temporaries whose owner cannot be checked (another machine, boot or PID namespace,
#: or the name of an older version: ``.<name>.photoenhance-tmp-<hex>``) are removed
#: only when they were last modified longer ago than this
STALE_AFTER_SECONDS = 24 * 3600
NAME_MAX = 255
"""Longest file name (bytes) written: the limit of ext4, APFS, NTFS and most others."""
OWNER_PATTERN = r"(?P<host>[0-9a-f]{8})-(?P<pid>[0-9]+)-(?P<start>[0-9]+)"
"""What :func:`owner_token` writes into a name: ``<host>-<pid>-<start>``."""
_TEMP_RE = re.compile(re.escape(TEMP_MARKER) + OWNER_PATTERN + r"-[0-9a-f]+")


@functools.cache
def _host_token() -> str:
    """8 hex digits naming this machine, boot and PID namespace (where PIDs mean something)."""
    parts = [socket.gethostname()]
    for read in (
        lambda: Path("/proc/sys/kernel/random/boot_id").read_text().strip(),
        lambda: os.readlink("/proc/self/ns/pid"),
    ):
        with contextlib.suppress(OSError):
            parts.append(read())
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:8]


def _start_time(pid: int) -> str | None:
    """Start time of process ``pid`` (clock ticks after boot, from /proc), or None."""
    try:
        data = Path(f"/proc/{pid}/stat").read_bytes()
        return data[data.rindex(b")") + 2 :].split()[19].decode()
    except (OSError, ValueError, IndexError):
        return None


def owner_token(pid: int | None = None) -> str:
    """``<host>-<pid>-<start>`` naming process ``pid`` (default: this one; start 0:
    unknown), for names whose owner :func:`owner_alive` can check later."""
    pid = os.getpid() if pid is None else pid
    return f"{_host_token()}-{pid}-{_start_time(pid) or '0'}"


def temp_name_for(dst: Path, pid: int | None = None) -> Path:
    """A fresh temporary path next to ``dst`` owned by process ``pid`` (default: this one):
    ``.photoenhance-tmp-<host>-<pid>-<start>-<random>`` (start 0: unknown)."""
    return dst.with_name(f"{TEMP_MARKER}{owner_token(pid)}-{secrets.token_hex(4)}")


def is_temp_name(name: str) -> bool:
    """True if ``name`` looks like a temporary created by :func:`atomic_write` (any version)."""
    return name.startswith(".") and TEMP_MARKER in name


def _owner_state(name: str) -> bool | None:
    """Is the process that owns temporary ``name`` alive?  True: alive (and it is the same
    process, where the start time can be checked); False: provably gone; None: cannot
    be told (another machine/boot/namespace, an old-style name, a reused PID without a
    known start time)."""
    m = _TEMP_RE.fullmatch(name)
    return None if m is None else owner_alive(m)


def owner_alive(m: re.Match[str]) -> bool | None:
    """Is the process named by ``m`` (a match of :data:`OWNER_PATTERN`) alive?  True,
    False (provably gone) or None (cannot be told), as for temporaries."""
    if m["host"] != _host_token():
        return None
    pid, start = int(m["pid"]), m["start"]
    if pid <= 0:
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: it exists
        pass
    except OSError:
        return None
    now = _start_time(pid)
    if now is None or start == "0":
        return None  # alive, but it may be a reused PID
    return now == start


def is_stale_temp(path: Path, *, max_age: float = STALE_AFTER_SECONDS) -> bool:
    """True if temporary ``path`` can be removed: its owner is provably gone, or it cannot
    be checked and ``path`` was last modified more than ``max_age`` seconds ago."""
    return stale_by_owner_or_age(path, _owner_state(path.name), max_age)


def stale_by_owner_or_age(path: Path, owner_alive: bool | None, max_age: float) -> bool:
    """The staleness rule of temporaries and spools: gone when its owner is known to be
    gone (``owner_alive`` False), kept while it lives (True); when the owner cannot be
    checked (None), stale once ``path`` was last modified more than ``max_age`` s ago."""
    if owner_alive is not None:
        return not owner_alive
    try:
        return time.time() - path.lstat().st_mtime > max_age
    except OSError:
        return False


def begins_like(path: Path, start: bytes) -> bool:
    """True if ``path`` is empty or its first bytes are ``start``: a file this program
    wrote (a report, an ``eval --json`` file, an HTML page) that it may replace."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(len(start))
    except OSError:
        return False
    return head in (b"", start)


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


def clean_stale_temps(folder: Path, *, max_age: float = STALE_AFTER_SECONDS) -> int:
    """Remove temporaries left under ``folder`` by killed runs (see :func:`is_stale_temp`;
    the temporaries of running processes are kept).

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
            if not is_stale_temp(path, max_age=max_age):
                continue
            try:
                path.unlink()
            except OSError:
                continue
            removed += 1
    return removed
