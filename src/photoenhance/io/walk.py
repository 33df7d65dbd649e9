"""Finding input photos in files and folders given on the command line."""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from photoenhance.io.formats import is_supported_suffix
from photoenhance.io.marker import MARKER_REASON, is_output_folder

SYSTEM_FILE_NAMES: frozenset[str] = frozenset({".ds_store", "thumbs.db", "desktop.ini"})
"""Lower-cased names of OS bookkeeping files that are never photos."""


@dataclass(frozen=True)
class InputFile:
    """One photo to process.

    Attributes:
        path: the file as found (under ``root``; not symlink-resolved).
        root: the input folder it was found under (its parent for explicit files).
        relative: ``path`` relative to ``root`` - mirror this under the output folder.
    """

    path: Path
    root: Path
    relative: Path


@dataclass(frozen=True)
class WalkResult:
    """Photos found (deterministic order), ``(path, reason)`` problems to report, and
    ``(path, reason)`` entries found inside folders that were skipped: special files
    (FIFOs, devices, sockets) named like photos and symlinks that cannot be followed."""

    files: tuple[InputFile, ...]
    problems: tuple[tuple[Path, str], ...]
    skipped: tuple[tuple[Path, str], ...] = ()


def is_ignored_name(name: str) -> bool:
    """True for hidden names (leading dot, incl. AppleDouble ``._*``) and system files."""
    return name.startswith(".") or name.lower() in SYSTEM_FILE_NAMES


def _resolve(path: Path) -> Path | None:
    """``path.resolve()`` or None when it cannot be resolved (loops, permissions)."""
    try:
        return path.resolve(strict=True)
    except (OSError, RuntimeError):
        return None


_KINDS = (
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def _special_reason(path: Path) -> str | None:
    """Why ``path`` (neither a folder nor a regular file) is skipped, or None to ignore it
    silently: an unfollowable symlink (it may stand for photos or a folder of them) or a
    special file with a photo's name."""
    link = False
    try:
        link = stat.S_ISLNK(path.lstat().st_mode)
        mode = path.stat().st_mode
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "symlink loop; skipped"
        if exc.errno in (errno.ENOENT, errno.ENOTDIR) and link:
            return "broken symlink (its target does not exist); skipped"
        return f"cannot be read ({exc.strerror or exc}); skipped"
    if not is_supported_suffix(path.name):
        return None
    kind = next((name for test, name in _KINDS if test(mode)), "not a regular file")
    what = f"links to {kind}" if link else f"is {kind}"
    return f"{what}, not a photo; skipped"


def _is_within(path: Path, folder: Path | None) -> bool:
    """True if resolved ``path`` is ``folder`` or below it."""
    return folder is not None and (path == folder or folder in path.parents)


class _Walker:
    """Accumulates files/problems while walking; tracks visited dirs and files."""

    def __init__(self, output_dir: Path | None, recursive: bool) -> None:
        self.output_dir = _resolve(Path(output_dir)) if output_dir is not None else None
        self.recursive = recursive
        self.files: list[InputFile] = []
        self.problems: list[tuple[Path, str]] = []
        self.skipped: list[tuple[Path, str]] = []
        self.seen_dirs: set[Path] = set()
        self.seen_files: set[Path] = set()

    def add_file(self, path: Path, root: Path, relative: Path) -> None:
        real = _resolve(path)
        if real is None or real in self.seen_files or _is_within(real, self.output_dir):
            return
        self.seen_files.add(real)
        self.files.append(InputFile(path=path, root=root, relative=relative))

    def explicit(self, path: Path) -> None:
        if not os.path.lexists(path):
            self.problems.append((path, "does not exist"))
            return
        real = _resolve(path)
        if real is None:
            self.problems.append((path, "cannot be resolved (broken link or link loop)"))
            return
        if real == self.output_dir:
            self.problems.append((path, "the output folder is the input folder"))
            return
        if _is_within(real, self.output_dir):
            self.problems.append((path, "is inside the output folder; skipped"))
            return
        if real.is_dir():
            if is_supported_suffix(path.name):
                self.problems.append((path, "is a directory, not a photo"))
            self.walk_dir(path, root=path, relative=Path())
        elif not real.is_file():
            self.problems.append((path, "is not a regular file"))
        elif path.name.startswith("._"):
            self.problems.append((path, "is a macOS resource file (._*), not a photo"))
        elif not is_supported_suffix(path.name):
            self.problems.append((path, f"unsupported file type {path.suffix or '(none)'!r}"))
        else:
            self.add_file(path, root=path.parent, relative=Path(path.name))

    def walk_dir(self, folder: Path, root: Path, relative: Path) -> None:
        real = _resolve(folder)
        if real is None or real in self.seen_dirs or _is_within(real, self.output_dir):
            return
        self.seen_dirs.add(real)
        if is_output_folder(folder):
            self.skipped.append((folder, MARKER_REASON))
            return
        try:
            with os.scandir(folder) as it:
                names = sorted(entry.name for entry in it)
        except OSError as exc:
            self.problems.append((folder, f"cannot list folder: {exc.strerror or exc}"))
            return
        for name in names:
            if is_ignored_name(name):
                continue
            self.entry(folder / name, root, relative / name)

    def entry(self, path: Path, root: Path, relative: Path) -> None:
        try:
            is_dir = path.is_dir()
            is_file = path.is_file()
        except OSError:
            is_dir = is_file = False
        if is_dir:
            if is_supported_suffix(path.name):
                self.problems.append((path, "is a directory, not a photo"))
            if self.recursive:
                self.walk_dir(path, root, relative)
        elif is_file:
            if is_supported_suffix(path.name):
                self.add_file(path, root, relative)
        elif (reason := _special_reason(path)) is not None:
            self.skipped.append((path, reason))


def walk_inputs(
    inputs: Sequence[Path], *, output_dir: Path | None, recursive: bool = True
) -> WalkResult:
    """Collect the photos to process from ``inputs`` (files and/or folders).

    - Folders are walked (sub-folders only when ``recursive``) in sorted name order;
      hidden entries (dot-names, ``._*``) and ``.DS_Store``/``Thumbs.db``/``desktop.ini``
      are ignored; files with unsupported suffixes inside folders are skipped silently.
    - Inside folders, special files (FIFOs, devices, sockets) named like photos and
      symlinks that cannot be followed (broken, loops) are never opened: they are
      returned in ``skipped`` with the reason.
    - Symlinks are followed, but each real folder/file is visited once (no loops).
    - ``output_dir`` and everything below it is never walked.
    - Folders photoenhance wrote (holding its marker, :mod:`photoenhance.io.marker`) are
      never walked, given or found: they are returned in ``skipped`` with the reason
      :data:`~photoenhance.io.marker.MARKER_REASON`.  Photos named explicitly are read
      wherever they are.
    - Problems (missing paths, explicit files with unsupported suffixes, folders named
      like photos, unreadable folders) are returned, not raised.

    Inputs are processed in the order given; each file appears at most once.
    """
    walker = _Walker(output_dir, recursive)
    for raw in inputs:
        walker.explicit(Path(raw))
    return WalkResult(
        files=tuple(walker.files),
        problems=tuple(walker.problems),
        skipped=tuple(walker.skipped),
    )
