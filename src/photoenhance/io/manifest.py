"""The output record: which files of an output folder photoenhance wrote, from which photo.

An existing file in an output folder may be the user's own photo (``watch in -o
~/Pictures``) or an output of ours that has gone stale (its photo was edited, replaced,
renamed).  Neither its age nor its name can tell these apart, so photoenhance keeps a
record next to its outputs, :data:`MANIFEST_NAME` at the output folder's root::

    {"photoenhance_outputs": 1, "files": {"sub/a.jpg": {
        "input": "/abs/in/sub/a.png",
        "source": [size, mtime_ns, ctime_ns, inode],     # the photo, read before decoding
        "written": [size, mtime_ns, ctime_ns, inode]}}}   # the output, right after writing

A file counts as ours only while its identity (:func:`file_identity`) is still the one
recorded when it was written (:func:`owned_record`): a file the user put there, or
replaced ours with, is never ours.  ``source`` tells whether the photo is still the one
the output was made from: size, modification time, inode and status-change time
(``ctime``, which no copy tool can set back: ``cp -p``, ``rsync -t`` and sync tools keep
the modification time, not the ctime), so a replacement with an older modification time
is told apart.

The record is hidden (walks never take it as input), written atomically
(:func:`photoenhance.io.atomic_write`), merged with what is on disk at each update (two
processes sharing a folder lose at most an entry, which only makes photoenhance more
careful: an unrecorded file is never replaced), and never written over a file of the
user's with that name (:func:`update_manifest` then says so).
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from photoenhance.io.atomic import atomic_write
from photoenhance.io.errors import ImageWriteError

MANIFEST_NAME = ".photoenhance-outputs.json"
MANIFEST_KEY = "photoenhance_outputs"


@dataclass(frozen=True)
class FileIdentity:
    """What tells one version of a file from another: size, modification time, status
    change time (ns) and inode."""

    size: int
    mtime_ns: int
    ctime_ns: int
    inode: int

    def to_list(self) -> list[int]:
        return [self.size, self.mtime_ns, self.ctime_ns, self.inode]

    @classmethod
    def from_list(cls, value: object) -> FileIdentity | None:
        if (
            not isinstance(value, list)
            or len(value) != 4
            or not all(isinstance(v, int) and not isinstance(v, bool) for v in value)
        ):
            return None
        return cls(*value)


def file_identity(path: Path) -> FileIdentity | None:
    """The identity of the regular file at ``path`` (symlinks followed), or None when
    there is none."""
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return None
    return identity_of(st)


def identity_of(st: os.stat_result) -> FileIdentity | None:
    """The identity a ``stat``/``fstat`` result gives (None when not a regular file): an
    open file's ``fstat`` names exactly the version that is read through it."""
    if not stat.S_ISREG(st.st_mode):
        return None
    return FileIdentity(st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)


@dataclass(frozen=True)
class OutputRecord:
    """One output we wrote: the photo it was made from (``input``: an absolute path),
    that photo's identity when it was read (``source``) and the output's right after it
    was written (``written``)."""

    input: str
    source: FileIdentity
    written: FileIdentity

    def to_dict(self) -> dict[str, Any]:
        return {
            "input": self.input,
            "source": self.source.to_list(),
            "written": self.written.to_list(),
        }

    @classmethod
    def from_dict(cls, value: object) -> OutputRecord | None:
        if not isinstance(value, dict) or not isinstance(value.get("input"), str):
            return None
        source = FileIdentity.from_list(value.get("source"))
        written = FileIdentity.from_list(value.get("written"))
        if source is None or written is None:
            return None
        return cls(value["input"], source, written)


@dataclass(frozen=True)
class ManifestUpdate:
    """What :func:`update_manifest` left on disk (``records``, by output path relative to
    the folder, POSIX form) and why it could not write, if it could not (``problem``)."""

    records: Mapping[str, OutputRecord]
    problem: str | None = None


def _read(path: Path) -> tuple[bool, dict[str, OutputRecord]]:
    """(is it ours or absent, its records)."""
    if not os.path.lexists(path):
        return True, {}
    try:
        if not stat.S_ISREG(os.lstat(path).st_mode):
            return False, {}
        with open(path, "rb") as fh:
            value = json.loads(fh.read())
    except (OSError, ValueError, UnicodeDecodeError):
        return False, {}
    if not isinstance(value, dict) or MANIFEST_KEY not in value:
        return False, {}
    files = value.get("files")
    records: dict[str, OutputRecord] = {}
    if isinstance(files, dict):
        for rel, entry in files.items():
            record = OutputRecord.from_dict(entry)
            if isinstance(rel, str) and record is not None:
                records[rel] = record
    return True, records


def read_manifest(folder: Path) -> dict[str, OutputRecord]:
    """The records of ``folder`` (empty when there are none or the file is not ours)."""
    return _read(Path(folder) / MANIFEST_NAME)[1]


def owned_record(
    folder: Path, relative: str, records: Mapping[str, OutputRecord]
) -> OutputRecord | None:
    """The record of ``folder/relative`` if that file is still the one we wrote there."""
    record = records.get(relative)
    if record is None:
        return None
    if file_identity(Path(folder) / relative) != record.written:
        return None
    return record


def update_manifest(folder: Path, changes: Mapping[str, OutputRecord | None]) -> ManifestUpdate:
    """Apply ``changes`` (None removes an entry) to the record on disk and write it back
    atomically.  Never raises for I/O problems and never replaces a file that is not a
    record of ours: the records are then what is known in memory, and ``problem`` says
    why they were not written."""
    path = Path(folder) / MANIFEST_NAME
    ours, records = _read(path)
    for rel, record in changes.items():
        if record is None:
            records.pop(rel, None)
        else:
            records[rel] = record
    if not ours:
        return ManifestUpdate(
            records, f"{path}: not photoenhance's record of its outputs; left as it is"
        )
    if not changes:
        return ManifestUpdate(records)
    body = {
        MANIFEST_KEY: 1,
        "files": {rel: records[rel].to_dict() for rel in sorted(records)},
    }
    data = json.dumps(body, indent=0).encode("utf-8") + b"\n"

    def write(fh: BinaryIO) -> None:
        fh.write(data)

    try:
        atomic_write(path, write)
    except ImageWriteError as exc:
        return ManifestUpdate(records, f"{path}: record of outputs not written: {exc.reason}")
    return ManifestUpdate(records)


def _real(path: Path) -> Path:
    try:
        return Path(path).resolve()
    except (OSError, RuntimeError):
        return Path(path).absolute()


def record_key(folder: Path, output: Path) -> str | None:
    """The key of ``output`` in the record of ``folder``: its path relative to the folder
    (POSIX form, symlinks of the folders resolved), or None when it lies outside."""
    try:
        return (
            (_real(Path(output).parent) / Path(output).name).relative_to(_real(folder)).as_posix()
        )
    except ValueError:
        return None


def input_key(photo: Path) -> str:
    """How a record names the photo an output was made from: its absolute path."""
    return str(_real(photo))


def remove_owned(folder: Path, relative: str, records: Mapping[str, OutputRecord]) -> bool:
    """Delete ``folder/relative`` if it is still the file we wrote there; True if it is
    gone now."""
    if owned_record(folder, relative, records) is None:
        return not os.path.lexists(Path(folder) / relative)
    try:
        os.unlink(Path(folder) / relative)
    except FileNotFoundError:
        pass
    except OSError:
        return False
    return True
