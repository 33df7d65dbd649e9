"""Where the ``--html`` page may be written, and what of ours may be replaced or removed.

``report.html`` may replace only an earlier page of ours (it begins with
:data:`HTML_MARKER`) or an empty file; the asset folder ``report.html_files/`` only one that
holds the marker file :data:`ASSETS_MARKER` (or is empty).  Anything else is refused -
:func:`check_html_path` before the run does any work, and
:func:`~photoenhance.html_report.write.write_html_report` again before writing.  The
name must end in ``.html``/``.htm`` (so it can never be a photo the run writes).  Old run
sub-folders are removed by :func:`remove_old_runs`, only files named as
:mod:`~photoenhance.html_report.assets` names them.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Sequence
from pathlib import Path

from photoenhance.display import printable
from photoenhance.io.atomic import NAME_MAX, begins_like

HTML_MARKER = b"<!DOCTYPE html>\n<!-- photoenhance html report: replaced by the next run -->\n"
"""How a page of ours begins (the only non-empty file a new page may replace)."""
ASSETS_MARKER = ".photoenhance-html"
"""Marker file in the asset folder: the folder is ours and may be reused."""
HTML_SUFFIXES = (".html", ".htm")

RUN_DIR_RE = re.compile(r"[0-9]{8}-[0-9]{6}-[0-9a-f]{6}")
"""A run's sub-folder of the asset folder (``write.py`` names it)."""
ASSET_RE = re.compile(r"p[0-9]{4,}-(?:overview\.jpg|[a-z]+-(?:before|after)\.(?:webp|png))")
"""The image files of a run (``assets.py`` names them; ``.png``: pages before 0.2)."""


class HtmlPathError(ValueError):
    """The page (or its asset folder) may not be written there; one line naming it."""


def assets_dir_for(page: Path) -> Path:
    """The asset folder of ``page``, named after its whole name: ``report.html`` →
    ``report.html_files``, so ``report.htm`` (``report.htm_files``) never shares it and a
    page never removes another page's images."""
    return page.with_name(page.name + "_files")


def _is_our_page(path: Path) -> bool:
    return begins_like(path, HTML_MARKER)


def _is_our_assets(folder: Path) -> bool:
    if folder.is_symlink() or not folder.is_dir():
        return False
    if (folder / ASSETS_MARKER).is_file():
        return True
    try:
        return next(os.scandir(folder), None) is None
    except OSError:
        return False


def _same(a: Path, b: Path) -> bool:
    try:
        return os.path.abspath(a) == os.path.abspath(b) or a.resolve() == b.resolve()
    except (OSError, RuntimeError):
        return False


def path_problem(page: Path) -> str | None:
    """Why ``page`` (or its asset folder) may not be written, or None (see the module
    docstring)."""
    if page.suffix.lower() not in HTML_SUFFIXES:
        return "give a file name ending in .html"
    if len(os.fsencode(assets_dir_for(page).name)) > NAME_MAX:
        return f"the name is longer than {NAME_MAX} bytes"
    if page.is_dir():
        return "is a folder; give a file name"
    if os.path.lexists(page) and not _is_our_page(page):
        return "exists and is not a photoenhance HTML report; refusing to overwrite it"
    assets = assets_dir_for(page)
    if os.path.lexists(assets) and not _is_our_assets(assets):
        return (
            f"its image folder {printable(assets)} exists and was not written by "
            "photoenhance; refusing to write into it"
        )
    return None


def _overlap(a: Path, b: Path) -> bool:
    """True if ``a`` and ``b`` are the same folder or one lies inside the other."""
    try:
        ra, rb = a.resolve(), b.resolve()
    except (OSError, RuntimeError):
        ra, rb = Path(os.path.abspath(a)), Path(os.path.abspath(b))
    return ra == rb or ra in rb.parents or rb in ra.parents


def check_html_path(
    page: Path, *, others: Sequence[Path] = (), folders: Sequence[tuple[Path, str]] = ()
) -> None:
    """Refuse a page path that is not ``.html``/``.htm``, is a folder, is one of ``others``
    (files the run writes, e.g. the JSON report), whose image folder is, lies inside or
    holds one of ``folders`` (``(folder, option)``: the output and compare folders), or
    that would replace a file or folder that is not ours (see the module docstring).

    Raises:
        HtmlPathError: one line naming ``page`` and why.
    """
    assets = assets_dir_for(page)
    for folder, option in folders:
        if _overlap(assets, folder):
            raise HtmlPathError(
                f"--html {printable(page)}: its image folder {printable(assets)} overlaps "
                f"the {option} folder {printable(folder)}; choose another name or place"
            )
    for other in others:
        if _same(page, other):
            raise HtmlPathError(
                f"--html {printable(page)} is also written by --report; choose another name"
            )
    problem = path_problem(page)
    if problem is not None:
        raise HtmlPathError(f"--html {printable(page)}: {problem}")


def remove_old_runs(assets: Path, keep: str) -> None:
    """Remove earlier pages' run folders: only our file names, then the empty folder."""
    try:
        entries = list(os.scandir(assets))
    except OSError:
        return
    for entry in entries:
        if entry.name == keep or not RUN_DIR_RE.fullmatch(entry.name):
            continue
        if not entry.is_dir(follow_symlinks=False):
            continue
        try:
            inner = list(os.scandir(entry.path))
        except OSError:
            continue
        for f in inner:
            if ASSET_RE.fullmatch(f.name) and f.is_file(follow_symlinks=False):
                with contextlib.suppress(OSError):
                    os.unlink(f.path)
        with contextlib.suppress(OSError):  # something else is in there: left alone
            os.rmdir(entry.path)
