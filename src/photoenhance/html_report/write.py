"""Writing the ``--html`` page: the images of every photo, then the page, atomically.

Each write goes to a fresh sub-folder ``report.html_files/<run id>/`` (every file written
atomically), then the page is replaced atomically, then the sub-folders of earlier pages
are removed (:func:`~photoenhance.html_report.paths.remove_old_runs`); a reader sees
the old page with its images or the new one with its images, never a mix.  A photo whose
before/after cannot be shown (moved away since the run, not the same size...) is named on
the page and in :attr:`HtmlReport.problems`; the others go on.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from photoenhance.display import printable
from photoenhance.html_report import records
from photoenhance.html_report.assets import photo_assets
from photoenhance.html_report.crops import CROP_SIZE
from photoenhance.html_report.page import page_html
from photoenhance.html_report.paths import (
    ASSETS_MARKER,
    assets_dir_for,
    path_problem,
    remove_old_runs,
)
from photoenhance.html_report.records import HtmlReport, PhotoView
from photoenhance.io import ImageReadError, ImageWriteError, atomic_write, mark_output_folder


def write_html_report(
    report: Mapping[str, Any],
    page: Path,
    *,
    settings: Mapping[str, object] | None = None,
    crop: int = CROP_SIZE,
    max_megapixels: float = 200.0,
    on_photo: Callable[[int, int], None] | None = None,
) -> HtmlReport:
    """Write the before/after page for a finished run (see the module docstring).

    Args:
        report: the run's JSON report dict (``BatchResult.to_dict()``).
        page: the ``.html`` file to write; images go to :func:`assets_dir_for` ``(page)``.
        settings: name → value shown in the summary (default: ``report["settings"]``).
        crop: crop size in pixels.
        max_megapixels: decompression-bomb limit when re-reading photos.
        on_photo: called with ``(done, total)`` after each photo.

    Returns:
        What was written; photos whose before/after could not be shown (a file moved
        away since the run...) are listed in ``problems`` and named on the page.

    Raises:
        ImageWriteError: the page or its images cannot be written there (one line).
    """
    page = Path(page)
    problem = path_problem(page)
    if problem is not None:
        raise ImageWriteError(page, problem)
    if settings is None:
        settings = dict(report.get("settings") or {})
    assets = assets_dir_for(page)
    run_id = time.strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(3)
    folder = assets / run_id
    try:
        folder.mkdir(parents=True)
    except OSError as exc:
        raise ImageWriteError(folder, f"cannot create folder: {exc.strerror or exc}") from exc
    marker = assets / ASSETS_MARKER
    if not marker.is_file():
        atomic_write(marker, lambda fh: fh.write(b"images of a photoenhance HTML report\n"))
    # also an output-folder marker, so that walking never takes the crops for photos
    # (a page written inside an input folder); a user's file of that name is kept
    mark_output_folder(assets)
    rel = f"{assets.name}/{run_id}"
    entries = records.entries(report)
    photos: list[PhotoView] = []
    problems: list[tuple[Path, str]] = []
    written = 0
    for i, p in enumerate(entries):
        if p.output is not None and p.status in ("ok", "skipped"):
            try:
                c = photo_assets(
                    p.input, p.output, folder, f"p{i + 1:04d}", rel, crop, max_megapixels
                )
            except ImageWriteError:
                raise
            except (ImageReadError, ValueError, OSError, MemoryError) as exc:
                reason = exc.reason if isinstance(exc, ImageReadError) else str(exc)
                if isinstance(exc, ImageReadError) and exc.path == p.output:
                    reason = f"output {printable(p.output)}: {reason}"
                problems.append((p.input, reason))
                p = replace(p, problem=reason)
            else:
                written += c.size
                p = replace(
                    p, width=c.width, height=c.height, luma_shift=c.luma_shift,
                    new_clipping=c.new_clipping, crops=c.crops, overview=c.overview,
                )  # fmt: skip
        photos.append(p)
        if on_photo is not None:
            on_photo(i + 1, len(entries))
    text = page_html(report, settings, photos, page.parent).encode("utf-8")
    atomic_write(page, lambda fh: fh.write(text))
    remove_old_runs(assets, run_id)
    return HtmlReport(page, folder, tuple(photos), tuple(problems), written)
