"""What the ``--html`` page is made of: one record per photo of the run's JSON report.

:func:`entries` reads the report dict (:meth:`BatchResult.to_dict`, so the page does not
depend on the runner's types) into :class:`PhotoView` records; the writer fills in the
measures and crops (:class:`CropView`) of each photo it could read.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class CropView:
    """One crop of a photo, in display orientation.

    Attributes:
        key: ``bright``, ``dark``, ``detail`` or ``whole``.
        label: what the page calls it.
        x, y, width, height: the region of the displayed photo (pixels).
        before, after: asset paths relative to the page's folder (POSIX).
    """

    key: str
    label: str
    x: int
    y: int
    width: int
    height: int
    before: str
    after: str


@dataclass(frozen=True)
class PhotoView:
    """One entry of the page.

    Attributes:
        input, output: the photo and its output (None when there is none).
        status: the run's status (``ok``, ``skipped``, ``error``...).
        seconds, megapixels, warnings, error, reason: from the run.
        width, height: displayed size, when the photos could be read.
        luma_shift: mean luma after − before (8-bit units), or None.
        new_clipping: share of newly clipped pixels (0..1), or None.
        crops: the crops shown; empty when there is no before/after.
        overview: asset path of the overview thumbnail, or None.
        problem: why no before/after is shown for a photo that has an output, or None.
    """

    input: Path
    output: Path | None
    status: str
    seconds: float
    megapixels: float | None
    warnings: tuple[str, ...]
    error: str | None = None
    reason: str | None = None
    width: int | None = None
    height: int | None = None
    luma_shift: float | None = None
    new_clipping: float | None = None
    crops: tuple[CropView, ...] = ()
    overview: str | None = None
    problem: str | None = None


@dataclass(frozen=True)
class HtmlReport:
    """What :func:`write_html_report` wrote.

    Attributes:
        path: the page.
        assets: the run's asset folder (``<page>_files/<run id>``).
        photos: every entry, in report order.
        problems: ``(photo, reason)`` for photos whose before/after could not be shown.
        asset_bytes: total size of the images written.
    """

    path: Path
    assets: Path
    photos: tuple[PhotoView, ...]
    problems: tuple[tuple[Path, str], ...]
    asset_bytes: int


def _float(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) else None


def entries(report: Mapping[str, Any]) -> list[PhotoView]:
    """One :class:`PhotoView` per entry of ``report["files"]``, in report order (no
    measures or crops yet)."""
    photos = []
    for f in report.get("files", []):
        out = f.get("output")
        photos.append(
            PhotoView(
                input=Path(f["input"]),
                output=None if out is None else Path(out),
                status=str(f.get("status", "")),
                seconds=_float(f.get("seconds")) or 0.0,
                megapixels=_float(f.get("megapixels")),
                warnings=tuple(str(w) for w in f.get("warnings") or ()),
                error=f.get("error"),
                reason=f.get("reason"),
            )
        )
    return photos
