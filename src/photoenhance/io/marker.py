"""The output-folder marker: folders photoenhance writes are never taken as input.

When photoenhance writes into an output folder (``run -o``, ``watch -o``, ``--compare``),
it puts a small file :data:`MARKER_NAME` at the folder's root::

    {"photoenhance_output": 1, "version": "1.3.0", "created": "2026-11-27T21:30:00+00:00"}

:func:`photoenhance.io.walk_inputs` skips every folder holding a valid marker - given
on the command line or found while walking - and reports it as skipped with the reason
:data:`MARKER_REASON`, whatever the next command line looks like (``run photos -o
photos/enhanced`` then ``run photos -o elsewhere`` does not enhance the enhanced
copies).  A photo named explicitly is still read, even inside a marked folder.

Only a marker photoenhance wrote counts (a regular file of at most
:data:`MARKER_MAX_BYTES` whose JSON object has ``"photoenhance_output"``): a user's file
that happens to have the marker's name is neither trusted nor ever overwritten (the
folder is then simply not marked, and :func:`mark_output_folder` says so).  The marker is
written complete or not at all and never over an existing file (temporary + hard link,
see :func:`_create_exclusive`); an existing marker is left as it is.  A folder that
already holds photos and no marker (``run a.jpg -o ~/Pictures``) is not marked: marking
it would make later runs skip the user's own photos there; :func:`mark_output_folder`
says so (the enhanced copies written there may then be taken as input by a later run
over that folder: the lesser harm).  Deleting the marker makes the folder an
ordinary input folder again.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
from datetime import UTC, datetime
from pathlib import Path

from photoenhance import __version__
from photoenhance.io.atomic import temp_name_for
from photoenhance.io.formats import is_supported_suffix

MARKER_NAME = ".photoenhance-output"
MARKER_KEY = "photoenhance_output"
MARKER_MAX_BYTES = 4096
MARKER_REASON = "photoenhance output folder"
"""The reason a marked folder is reported as skipped (walk results, reports)."""


def _read_marker(path: Path) -> bytes | None:
    """The bytes of ``path`` if it is a small regular file (symlinks not followed)."""
    try:
        st = os.lstat(path)
    except OSError:
        return None
    if not stat.S_ISREG(st.st_mode) or st.st_size > MARKER_MAX_BYTES:
        return None
    try:
        fd = os.open(
            path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
        )
    except OSError:
        return None
    with os.fdopen(fd, "rb") as fh:
        return fh.read(MARKER_MAX_BYTES + 1)


def _is_marker_data(data: bytes | None) -> bool:
    if data is None or len(data) > MARKER_MAX_BYTES:
        return False
    try:
        value = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        return False
    return isinstance(value, dict) and MARKER_KEY in value


def is_output_folder(folder: Path) -> bool:
    """True if ``folder`` holds a marker written by photoenhance (see the module docstring)."""
    path = Path(folder) / MARKER_NAME
    if not os.path.lexists(path):  # the common case: one lstat per folder walked
        return False
    return _is_marker_data(_read_marker(path))


def marker_bytes(version: str, now: datetime | None = None) -> bytes:
    """The marker's content: ``{"photoenhance_output": 1, "version": ..., "created": ...}``."""
    created = (now or datetime.now(UTC)).isoformat(timespec="seconds")
    body = {MARKER_KEY: 1, "version": version, "created": created}
    return json.dumps(body).encode("utf-8") + b"\n"


def mark_output_folder(folder: Path, version: str | None = None) -> str | None:
    """Create ``folder`` (and its parents) if needed and put the marker there unless it is
    there already; ``version``: the photoenhance version it names (default: this one).

    Returns:
        None when the folder is marked (now or before), else a one-line reason it could
        not be marked (a file of the user's has the marker's name; the folder is
        read-only...).  Never raises for I/O problems and never replaces a file that is
        not a marker.
    """
    path = Path(folder) / MARKER_NAME
    try:
        if not os.path.lexists(path) and (photo := _photo_in(Path(folder))) is not None:
            return (
                "not marked as an output folder: it already holds photos of yours "
                f"({photo.name}...); marking it would hide them from later runs"
            )
        Path(folder).mkdir(parents=True, exist_ok=True)
        if not os.path.lexists(path):
            _create_exclusive(path, marker_bytes(version or __version__))
            return None
    except FileExistsError:  # appeared meanwhile (a concurrent run's, or someone else's)
        pass
    except OSError as exc:
        return f"not marked as an output folder: {exc.strerror or exc}"
    if _is_marker_data(_read_marker(path)):
        return None
    return (
        f"not marked as an output folder: {MARKER_NAME} there is not photoenhance's; left as it is"
    )


def _photo_in(folder: Path) -> Path | None:
    """The first photo (a file with a supported extension, not hidden: temporaries are)
    found anywhere under an existing, unmarked ``folder``, else None.  Stops at the first
    one, so a big photo folder costs one directory listing or so."""
    stack = [folder]
    while stack:
        try:
            with os.scandir(stack.pop()) as entries:
                for e in entries:
                    if e.name.startswith("."):
                        continue
                    if e.is_dir(follow_symlinks=False):
                        stack.append(Path(e.path))
                    elif is_supported_suffix(e.name) and e.is_file():
                        return Path(e.path)
        except OSError:
            continue  # missing or unreadable: nothing of the user's found there
    return None


def _create_exclusive(path: Path, data: bytes) -> None:
    """Create ``path`` with ``data``, complete or not at all, never replacing a file:
    written to a temporary next to it, then hard-linked to its name (``link`` fails if
    the name exists) - or, where the file system has no hard links, created with
    ``O_EXCL`` (the marker is one small write).

    Raises:
        FileExistsError: ``path`` exists.
        OSError: it cannot be written.
    """
    tmp = temp_name_for(path)
    try:
        with open(tmp, "xb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            raise
        except OSError:  # no hard links here (FAT, some network shares)
            with open(path, "xb") as fh:
                fh.write(data)
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
