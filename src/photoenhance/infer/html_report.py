"""The ``--html`` report: a before/after page for judging a run at 100 % (no torch).

:func:`write_html_report` takes what a finished run already produced - the JSON report
dict (:meth:`BatchResult.to_dict`, so this module does not depend on the runner's
types) and the input/output photos on disk - and writes one HTML page plus a folder of
image assets next to it (``report.html`` → ``report_files/``).  The page has inline CSS
and JavaScript only: no network, no fonts, no CDN; it works from ``file://``.

What the page shows
    The run summary (counts, wall time, megapixels, MP/s, model, provider, settings),
    an index table, and per photo: a labelled before/after viewer (split slider, or
    before / after toggle) on automatically chosen crops - the **most detailed** (shown
    first), **brightest** and **darkest** 512 × 512 regions of the photo, at 100 % (one
    image pixel is one CSS pixel; 200 % and 400 % use ``image-rendering: pixelated``;
    drag or scroll to pan) - a small overview with the crops marked (click one to choose it), and the
    numbers: time, megapixels, warnings, **luma shift** and **new clipping**.

Why crops, and why PNG
    Embedding a 12 MP photo twice as base64 would make a page of ~50 MB per photo that
    a browser has to parse before it shows anything.  Crops are what a reviewer looks
    at at 100 % anyway; the full-size files are a click away (linked from the page).
    Crops are lossless PNG because the changes to judge (noise, sharpening halos, a
    few codes of tone) are of the size a JPEG re-encode would add: the page must show
    the decoded pixels exactly.  Measured on 3 MP phone photos: 0.28-0.47 MiB per
    512 × 512 crop (JPEG q95 4:4:4 would be ~0.11 MiB), 2.4 MiB per photo for three
    crops before and after plus a ~20 KB JPEG overview (orientation only, never for
    judging); see ``bench/html_report.py``.  Crops are sRGB, clipped to [0, 1] (wide-gamut colours outside sRGB
    are clipped in the page, not in the photo) and shown in display orientation (EXIF
    Orientation applied).

Luma shift and new clipping
    Computed here with the definitions of :mod:`photoenhance.harm` (its luma, its
    thresholds) on the *full* photos as re-read from disk: the input, and the output
    file as written (after encoding - what the user gets).  One photo is decoded at a
    time: the input is read, measured and cropped, then released before the output is
    read, and the measures run in bands of ~2 MP, so the peak is the decoder's plus a
    one-byte-per-pixel mask (``bench/html_report.py``, 48 MP: 967 MiB, of which a bare
    ``read_image`` is 908 MiB; the run itself peaks higher).

Never over a file the user owns
    ``report.html`` may replace only an earlier page of ours (it begins with
    :data:`HTML_MARKER`) or an empty file; the asset folder only one that holds the
    marker file :data:`ASSETS_MARKER` (or is empty).  Anything else is refused -
    :func:`check_html_path` before the run does any work, and :func:`write_html_report`
    again before writing.  The name must end in ``.html``/``.htm`` (so it can never be
    a photo the run writes).  Each write goes to a fresh sub-folder
    ``report_files/<run id>/`` (every file written atomically), then the page is
    replaced atomically, then the sub-folders of earlier pages are removed - only
    files named as this module names them; a reader sees the old page with its images
    or the new one with its images, never a mix.
"""

from __future__ import annotations

import contextlib
import html
import math
import os
import re
import secrets
import time
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
from PIL import Image

from photoenhance import harm
from photoenhance.display import printable
from photoenhance.io import (
    ImageReadError,
    ImageWriteError,
    atomic_write,
    mark_output_folder,
    read_image,
)

HTML_MARKER = b"<!DOCTYPE html>\n<!-- photoenhance html report: replaced by the next run -->\n"
"""How a page written by :func:`write_html_report` begins (the file it may replace)."""
ASSETS_MARKER = ".photoenhance-html"
"""Marker file in the asset folder: the folder is ours and may be reused."""
HTML_SUFFIXES = (".html", ".htm")
CROP_SIZE = 512
OVERVIEW_SIZE = 320
BLOCK = 16
"""Crops are chosen on a grid of BLOCK × BLOCK pixel blocks (statistics per block)."""
BAND_PIXELS = 1 << 21
"""Pixels measured at once (whole rows, a multiple of BLOCK): bounds the temporaries."""
NAME_MAX = 255

_RUN_DIR_RE = re.compile(r"[0-9]{8}-[0-9]{6}-[0-9a-f]{6}")
_ASSET_RE = re.compile(r"p[0-9]{4,}-(?:overview\.jpg|[a-z]+-(?:before|after)\.png)")
_CROP_LABELS = {
    "bright": "Brightest",
    "dark": "Darkest",
    "detail": "Most detailed",
    "whole": "Whole photo",
}


class HtmlPathError(ValueError):
    """The page (or its asset folder) may not be written there; one line naming it."""


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


# --------------------------------------------------------------------------- paths


def assets_dir_for(page: Path) -> Path:
    """The asset folder of ``page``: ``report.html`` → ``report_files`` (as browsers save)."""
    return page.with_name(page.stem + "_files")


def _is_our_page(path: Path) -> bool:
    try:
        with open(path, "rb") as fh:
            start = fh.read(len(HTML_MARKER))
    except OSError:
        return False
    return start in (b"", HTML_MARKER)


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


def _path_problem(page: Path) -> str | None:
    """Why ``page`` (or its asset folder) may not be written, or None (see the module
    docstring)."""
    if page.suffix.lower() not in HTML_SUFFIXES:
        return "give a file name ending in .html"
    if len(os.fsencode(page.name)) > NAME_MAX or len(os.fsencode(page.stem + "_files")) > NAME_MAX:
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


def check_html_path(page: Path, *, others: Sequence[Path] = ()) -> None:
    """Refuse a page path that is not ``.html``/``.htm``, is a folder, is one of ``others``
    (files the run writes, e.g. the JSON report), or would replace a file or folder that
    is not ours (see the module docstring).

    Raises:
        HtmlPathError: one line naming ``page`` and why.
    """
    for other in others:
        if _same(page, other):
            raise HtmlPathError(
                f"--html {printable(page)} is also written by --report; choose another name"
            )
    problem = _path_problem(page)
    if problem is not None:
        raise HtmlPathError(f"--html {printable(page)}: {problem}")


# --------------------------------------------------------------------------- pixels


def _orientation(exif: bytes | None) -> int:
    """EXIF Orientation (1..8) of a raw EXIF blob; 1 when absent or unreadable."""
    if not exif:
        return 1
    try:
        tags = Image.Exif()
        tags.load(b"Exif\x00\x00" + exif)
        value = tags.get(274, 1)
    except Exception:
        return 1
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def display_view(a: np.ndarray, orientation: int) -> np.ndarray:
    """A view of stored-orientation ``a`` (HxW[xC]) as a viewer shows it (EXIF
    ``orientation`` applied, like Pillow's ``ImageOps.exif_transpose``); no copy."""
    if orientation == 2:
        return a[:, ::-1]
    if orientation == 3:
        return a[::-1, ::-1]
    if orientation == 4:
        return a[::-1]
    if orientation == 5:
        return a.swapaxes(0, 1)
    if orientation == 6:
        return np.rot90(a, -1)
    if orientation == 7:
        return a.swapaxes(0, 1)[::-1, ::-1]
    if orientation == 8:
        return np.rot90(a, 1)
    return a


def _codes(x: np.ndarray) -> np.ndarray:
    """8-bit codes of [0, 1] values (as :mod:`photoenhance.harm` counts them)."""
    return np.rint(np.clip(x, 0.0, 1.0) * 255.0).astype(np.uint8)


def _band_rows(width: int) -> int:
    """Rows per band: about :data:`BAND_PIXELS` pixels, a multiple of :data:`BLOCK`."""
    return max(BLOCK, BAND_PIXELS // max(width, 1) // BLOCK * BLOCK)


def _brightest(x: np.ndarray) -> np.ndarray:
    """Brightest channel per pixel (``x.max(axis=2)``, several times faster)."""
    return np.maximum(np.maximum(x[..., 0], x[..., 1]), x[..., 2])


def _block_mean(y: np.ndarray, nb: int, wb: int, block: int) -> np.ndarray:
    """Means of the ``block × block`` blocks of ``y`` (``nb·block × wb·block``), float64:
    rows first (contiguous, fast), then the short runs along each row."""
    rows = y.reshape(nb, block, wb * block).sum(axis=1, dtype=np.float64)
    return rows.reshape(nb, wb, block).sum(axis=2) / (block * block)


@dataclass(frozen=True)
class _BeforeStats:
    luma_sum: float
    below_clip: np.ndarray  # (H, W) bool: brightest channel < CLIP_HIGH_IN
    block_mean: np.ndarray  # (Hb, Wb) mean luma per block
    block_var: np.ndarray  # (Hb, Wb) luma variance per block (detail)
    block: int


def _measure_before(view: np.ndarray) -> _BeforeStats:
    """Luma sum, the not-yet-clipped mask and block statistics of the displayed input."""
    h, w = view.shape[:2]
    block = BLOCK if min(h, w) >= 4 * BLOCK else 1
    wb = w // block
    below = np.empty((h, w), bool)
    means: list[np.ndarray] = []
    variances: list[np.ndarray] = []
    total = 0.0
    rows = _band_rows(w)
    for r0 in range(0, h, rows):
        x = view[r0 : r0 + rows]
        y = harm.luma(x)
        total += float(y.sum(dtype=np.float64))
        # the code of the brightest channel is the brightest code (clip and rint are monotonic)
        below[r0 : r0 + len(x)] = _codes(_brightest(x)) < harm.CLIP_HIGH_IN
        nb = len(y) // block
        if nb and wb:
            yy = y[: nb * block, : wb * block]
            m = _block_mean(yy, nb, wb, block)
            means.append(m)
            variances.append(np.maximum(_block_mean(np.square(yy), nb, wb, block) - m * m, 0.0))
    empty = np.zeros((0, wb))
    return _BeforeStats(
        total,
        below,
        np.concatenate(means) if means else empty,
        np.concatenate(variances) if variances else empty,
        block,
    )


def _measure_after(view: np.ndarray, below: np.ndarray) -> tuple[float, int]:
    """Luma sum of the displayed output and how many pixels it newly clips."""
    total, clipped = 0.0, 0
    rows = _band_rows(view.shape[1])
    for r0 in range(0, view.shape[0], rows):
        x = view[r0 : r0 + rows]
        total += float(harm.luma(x).sum(dtype=np.float64))
        high = _codes(_brightest(x)) >= harm.CLIP_HIGH_OUT
        clipped += int(np.count_nonzero(high & below[r0 : r0 + len(x)]))
    return total, clipped


def _window_sums(grid: np.ndarray, kh: int, kw: int) -> np.ndarray:
    """Sum of every ``kh × kw`` window of ``grid`` (valid positions only)."""
    c = np.zeros((grid.shape[0] + 1, grid.shape[1] + 1))
    c[1:, 1:] = grid.cumsum(0).cumsum(1)
    return c[kh:, kw:] - c[:-kh, kw:] - c[kh:, :-kw] + c[:-kh, :-kw]


def choose_crops(
    block_mean: np.ndarray, block_var: np.ndarray, block: int, width: int, height: int,
    size: int = CROP_SIZE,
) -> list[tuple[str, int, int, int, int]]:  # fmt: skip
    """Pick up to three crops ``(key, x, y, w, h)`` of at most ``size`` px: the most
    detailed region (largest luma variance within blocks; the page shows it first), the
    brightest and the darkest, each overlapping an earlier pick by less than half its
    width or height.  A photo no
    larger than ``size`` either way is one crop, ``whole``."""
    if width <= size and height <= size:
        return [("whole", 0, 0, width, height)]
    cw, ch = min(size, width), min(size, height)
    kh, kw = max(1, ch // block), max(1, cw // block)
    if block_mean.shape[0] < kh or block_mean.shape[1] < kw:
        return [("whole", 0, 0, width, height)]  # pragma: no cover - grid covers ≥ a crop
    mean = _window_sums(block_mean, kh, kw)
    detail = _window_sums(block_var, kh, kw)
    taken = np.zeros(mean.shape, bool)
    picks: list[tuple[str, int, int, int, int]] = []
    for key, score in (("detail", detail), ("bright", mean), ("dark", -mean)):
        masked = np.where(taken, -np.inf, score)
        if not np.isfinite(masked).any():
            break
        i, j = np.unravel_index(int(np.argmax(masked)), masked.shape)
        x, y = min(int(j) * block, width - cw), min(int(i) * block, height - ch)
        picks.append((key, x, y, cw, ch))
        taken[max(0, i - kh // 2 + 1) : i + kh // 2, max(0, j - kw // 2 + 1) : j + kw // 2] = True
        taken[i, j] = True
    return picks


def _to_image(x: np.ndarray) -> Image.Image:
    return Image.fromarray(_codes(np.ascontiguousarray(x)), "RGB")


def _overview(view: np.ndarray) -> Image.Image:
    h, w = view.shape[:2]
    step = max(1, max(h, w) // (2 * OVERVIEW_SIZE))
    im = _to_image(view[::step, ::step])
    im.thumbnail((OVERVIEW_SIZE, OVERVIEW_SIZE), Image.Resampling.LANCZOS)
    return im


def _save(path: Path, image: Image.Image, fmt: str) -> int:
    def _write(fh: BinaryIO) -> None:
        if fmt == "PNG":
            image.save(fh, "PNG", compress_level=1)  # 5 % larger than level 6, 5x faster
        else:
            image.save(fh, "JPEG", quality=85)

    atomic_write(path, _write)
    return path.stat().st_size


@dataclass(frozen=True)
class _Crops:
    width: int
    height: int
    luma_shift: float
    new_clipping: float
    crops: tuple[CropView, ...]
    overview: str
    size: int


def _photo_assets(
    before_path: Path, after_path: Path, folder: Path, prefix: str, rel: str, crop: int,
    max_megapixels: float,
) -> _Crops:  # fmt: skip
    """Read the input, measure and crop it, release it; then the same for the output."""
    written = 0
    before = read_image(before_path, max_megapixels=max_megapixels)
    orientation = _orientation(before.metadata.exif)
    stored_shape = before.rgb.shape
    view = display_view(before.rgb, orientation)
    height, width = view.shape[:2]
    stats = _measure_before(view)
    boxes = choose_crops(stats.block_mean, stats.block_var, stats.block, width, height, crop)
    for key, x, y, w, h in boxes:
        written += _save(
            folder / f"{prefix}-{key}-before.png", _to_image(view[y : y + h, x : x + w]), "PNG"
        )
    written += _save(folder / f"{prefix}-overview.jpg", _overview(view), "JPEG")
    del before, view
    after = read_image(after_path, max_megapixels=max_megapixels)
    if after.rgb.shape[:2] != stored_shape[:2]:
        raise ValueError(
            f"the output is {after.width}x{after.height}, the input "
            f"{stored_shape[1]}x{stored_shape[0]}: not the same photo"
        )
    view = display_view(after.rgb, orientation)  # outputs carry the input's EXIF
    luma_after, clipped = _measure_after(view, stats.below_clip)
    for key, x, y, w, h in boxes:
        written += _save(
            folder / f"{prefix}-{key}-after.png", _to_image(view[y : y + h, x : x + w]), "PNG"
        )
    del after, view
    n = width * height
    crops = tuple(
        CropView(key, _CROP_LABELS[key], x, y, w, h,
                 f"{rel}/{prefix}-{key}-before.png", f"{rel}/{prefix}-{key}-after.png")
        for key, x, y, w, h in boxes
    )  # fmt: skip
    return _Crops(
        width,
        height,
        (luma_after - stats.luma_sum) / n * 255.0,
        clipped / n,
        crops,
        f"{rel}/{prefix}-overview.jpg",
        written,
    )


# --------------------------------------------------------------------------- page


def _t(value: object) -> str:
    """Text for HTML content or a quoted attribute: control characters escaped
    (:func:`printable`), then ``& < > " '`` escaped."""
    return html.escape(printable(str(value)), quote=True)


def _href(target: Path, page_dir: Path) -> str:
    """A relative URL from the page's folder to ``target`` (bytes of odd names kept)."""
    try:
        rel = os.path.relpath(os.path.abspath(target), os.path.abspath(page_dir))
    except ValueError:  # another drive (Windows)
        return html.escape(Path(os.path.abspath(target)).as_uri(), quote=True)
    return html.escape(urllib.parse.quote(os.fsencode(Path(rel).as_posix()), safe="/"), quote=True)


def _asset_url(rel: str) -> str:
    return html.escape(urllib.parse.quote(rel, safe="/"), quote=True)


def _num(value: float | None, fmt: str, none: str = "–") -> str:
    return none if value is None or not math.isfinite(value) else format(value, fmt)


def _clip_cell(value: float | None) -> str:
    if value is None:
        return "–"
    cls = ' class="warn"' if value > harm.CLIP_LIMIT else ""
    return f"<span{cls}>{100 * value:.2f} %</span>"


def _overview_html(p: PhotoView) -> str:
    assert p.width and p.height
    boxes = "".join(
        f'<button type="button" class="box" data-crop="{k}" title="{_t(c.label)}" '
        f'style="left:{100 * c.x / p.width:.3f}%;top:{100 * c.y / p.height:.3f}%;'
        f'width:{100 * c.width / p.width:.3f}%;height:{100 * c.height / p.height:.3f}%">'
        f"<span>{k + 1}</span></button>"
        for k, c in enumerate(p.crops)
    )
    return f'<div class="overview"><img src="{_asset_url(p.overview or "")}" alt="overview">{boxes}</div>'


def _viewer(p: PhotoView) -> str:
    first = p.crops[0]
    buttons = "".join(
        f'<button type="button" class="crop-btn" data-crop="{k}" data-key="{_t(c.key)}" '
        f'data-before="{_asset_url(c.before)}" data-after="{_asset_url(c.after)}" '
        f'data-w="{c.width}" data-h="{c.height}" data-x="{c.x}" data-y="{c.y}" '
        f'title="x {c.x}–{c.x + c.width}, y {c.y}–{c.y + c.height}">{_t(c.label)}</button>'
        for k, c in enumerate(p.crops)
    )
    return f"""<div class="viewer">
<div class="controls">
<span class="group" role="group" aria-label="crop">{buttons}</span>
<span class="group" role="group" aria-label="zoom"><button type="button" class="zoom-btn" data-zoom="1">100 %</button><button type="button" class="zoom-btn" data-zoom="2">200 %</button><button type="button" class="zoom-btn" data-zoom="4">400 %</button><button type="button" class="zoom-btn device" data-zoom="device" hidden>1:1 screen</button></span>
<span class="group" role="group" aria-label="view"><button type="button" class="mode-btn" data-mode="split">Split</button><button type="button" class="mode-btn" data-mode="before">Before</button><button type="button" class="mode-btn" data-mode="after">After</button></span>
</div>
<div class="frame">
<div class="viewport" tabindex="0" aria-label="before/after at 100 %, drag to pan">
<div class="stage">
<img class="before" alt="before" src="{_asset_url(first.before)}" width="{first.width}" height="{first.height}" draggable="false">
<img class="after" alt="after" src="{_asset_url(first.after)}" width="{first.width}" height="{first.height}" draggable="false">
<div class="divider"></div>
</div>
</div>
<span class="label label-before">Before</span><span class="label label-after">After</span>
</div>
<label class="split-label">Split <input class="split" type="range" min="0" max="100" value="50"></label>
<div class="where"></div>
</div>"""


def _photo_section(index: int, p: PhotoView, page_dir: Path) -> str:
    rows = [
        ("Status", _t(p.status + (" (output already existed)" if p.status == "skipped" and p.output else ""))),
        ("Input", f'<a href="{_href(p.input, page_dir)}">{_t(p.input)}</a>'),
    ]  # fmt: skip
    if p.output is not None:
        rows.append(("Output", f'<a href="{_href(p.output, page_dir)}">{_t(p.output)}</a>'))
    rows += [
        ("Time", _num(p.seconds, ".2f") + " s"),
        ("Size", f"{p.width} × {p.height} px" if p.width else "–"),
        ("Megapixels", _num(p.megapixels, ".2f")),
        ("Luma shift", _num(p.luma_shift, "+.1f") + (" / 255" if p.luma_shift is not None else "")),
        ("New clipping", _clip_cell(p.new_clipping)),
    ]
    table = "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in rows)
    notes = []
    if p.error:
        notes.append(f'<li class="error">error: {_t(p.error)}</li>')
    if p.reason:
        notes.append(f"<li>skipped: {_t(p.reason)}</li>")
    if p.problem:
        notes.append(f'<li class="error">before/after not shown: {_t(p.problem)}</li>')
    notes += [f'<li class="warning">warning: {_t(w)}</li>' for w in p.warnings]
    notes_html = f'<ul class="notes">{"".join(notes)}</ul>' if notes else ""
    viewer, overview = (_viewer(p), _overview_html(p)) if p.crops else ("", "")
    return f"""<section class="photo" id="p{index + 1}" data-status="{_t(p.status)}">
<h2><span class="num">{index + 1}</span> {_t(p.input.name)}</h2>
<div class="cols">{viewer}<div class="facts"><table class="numbers">{table}</table>{notes_html}{overview}</div></div>
</section>"""


def _summary(
    report: Mapping[str, Any], settings: Mapping[str, object], photos: Sequence[PhotoView]
) -> str:
    s = report.get("summary", {}) or {}
    model = report.get("model") or {}
    rows = [
        ("Photos", f"{s.get('ok', 0)} enhanced, {s.get('skipped', 0)} skipped, "
                   f"{s.get('failed', 0)} failed ({s.get('total', len(photos))} in all)"),
        ("Time", f"{_num(s.get('seconds'), '.1f')} s for {_num(s.get('megapixels'), '.1f')} MP "
                 f"({_num(s.get('megapixels_per_second'), '.2f')} MP/s end to end)"),
        ("Output folder", _t(report.get("output_dir", ""))),
        ("Model", _t(" ".join(str(v) for v in (
            Path(str(model.get("path", ""))).name, model.get("size"), model.get("precision"),
            f"v{model.get('version')}" if model.get("version") else None) if v))),
        ("Provider", _t(report.get("provider") or "–")),
        ("photoenhance", _t(report.get("photoenhance", ""))),
    ]  # fmt: skip
    if model.get("sha256"):
        rows.insert(4, ("Model SHA-256", _t(model["sha256"])))
    rows += [(_t(k), _t(v)) for k, v in settings.items()]
    table = "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in rows)
    index_rows = "".join(
        f'<tr class="{_t(p.status)}"><td>{i + 1}</td><td><a href="#p{i + 1}">{_t(p.input.name)}</a></td>'
        f"<td>{_t(p.status)}</td><td>{_num(p.seconds, '.2f')}</td><td>{_num(p.megapixels, '.2f')}</td>"
        f"<td>{_num(p.luma_shift, '+.1f')}</td><td>{_clip_cell(p.new_clipping)}</td>"
        f"<td>{len(p.warnings) or ''}</td></tr>"
        for i, p in enumerate(photos)
    )
    return f"""<table class="summary">{table}</table>
<table class="index"><thead><tr><th>#</th><th>photo</th><th>status</th><th>s</th><th>MP</th>
<th>luma shift</th><th>new clipping</th><th>warnings</th></tr></thead><tbody>{index_rows}</tbody></table>
<p class="legend"><b>Luma shift</b>: mean brightness after − before, in 8-bit units (+10 = brighter by
10/255). <b>New clipping</b>: share of pixels whose brightest channel reaches 254 that were below
250 before (highlights the enhancement blew out; over {100 * harm.CLIP_LIMIT:.0f} % is marked). Both on the
full photos, the output as written. <b>Time</b>: decode + enhance + encode of that photo.
Crops: the most detailed, brightest and darkest regions at 100 % (1 image pixel = 1 CSS pixel; on a
high-density screen "1:1 screen" shows one image pixel per screen pixel). Drag or scroll to pan.</p>"""


_CSS = """
:root{color-scheme:dark;--bg:#1e1e1e;--fg:#e6e6e6;--dim:#9a9a9a;--acc:#6cb6ff;--warn:#ffb454;--err:#ff6b6b}
*{box-sizing:border-box}
body{margin:0;padding:16px 24px 48px;background:var(--bg);color:var(--fg);font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif}
h1{font-size:20px;margin:0 0 12px}h2{font-size:16px;margin:0 0 8px;word-break:break-all}
a{color:var(--acc)}table{border-collapse:collapse}th,td{padding:2px 10px 2px 0;text-align:left;vertical-align:top}
th{color:var(--dim);font-weight:normal;white-space:nowrap}
table.index{margin:16px 0}table.index td,table.index th{border-bottom:1px solid #333;padding:3px 10px}
table.index tr.error td{color:var(--err)}.legend{color:var(--dim);max-width:900px}
.warn,.warning{color:var(--warn)}.error{color:var(--err)}
.photo{border-top:1px solid #444;padding:16px 0}.num{color:var(--dim);margin-right:6px}
.cols{display:flex;flex-wrap:wrap;gap:24px;align-items:flex-start}
.facts{min-width:260px;max-width:520px;word-break:break-all}.notes{padding-left:18px;margin:8px 0}
.controls{display:flex;flex-wrap:wrap;gap:8px;margin-bottom:6px}
.group{display:inline-flex}.group button{background:#2d2d2d;color:var(--fg);border:1px solid #555;padding:3px 9px;cursor:pointer;font:inherit}
.group button+button{border-left:none}.group button.on{background:#3d5a80;border-color:#6c8ebf}
.frame{position:relative;display:inline-block;max-width:100%}
.viewport{position:relative;overflow:auto;max-width:min(100%,calc(100vw - 48px));max-height:80vh;background:#000;cursor:grab;outline:none}
.viewport.dragging{cursor:grabbing}.stage{position:relative}
.stage img{position:absolute;left:0;top:0;display:block;max-width:none;user-select:none}
.stage.pixelated img{image-rendering:pixelated}
.divider{position:absolute;top:0;bottom:0;width:0;border-left:1px solid rgba(255,255,255,.85);box-shadow:0 0 0 1px rgba(0,0,0,.4);pointer-events:none}
.label{position:absolute;top:6px;padding:1px 6px;background:rgba(0,0,0,.65);color:#fff;font-size:12px;pointer-events:none}
.label-before{left:6px}.label-after{right:6px}
.split-label{display:block;margin-top:6px;color:var(--dim)}.split{vertical-align:middle;width:220px}
.where{color:var(--dim);font-size:12px;margin-top:2px}
.overview{position:relative;display:inline-block;margin-top:8px;line-height:0}
.overview img{max-width:320px;max-height:320px}
.overview .box{position:absolute;border:2px solid rgba(255,255,255,.7);background:transparent;padding:0;cursor:pointer}
.overview .box span{position:absolute;left:2px;top:2px;font-size:11px;line-height:1;color:#fff;text-shadow:0 0 2px #000}
.overview .box.on{border-color:var(--acc)}
"""

_JS = r"""
(function () {
  'use strict';
  var body = document.body, errors = [];
  window.addEventListener('error', function (e) {
    errors.push(String(e.message || e));
    body.setAttribute('data-js-errors', String(errors.length));
    body.setAttribute('data-js-error', errors[0]);
  });
  var images = [], failed = [];
  function counts() {
    var ok = 0, broken = 0, pending = 0;
    images.forEach(function (img) {
      var s = img.getAttribute('data-state');
      if (s === 'ok') ok++; else if (s === 'broken') broken++; else pending++;
    });
    body.setAttribute('data-images-ok', String(ok));
    body.setAttribute('data-images-broken', String(broken));
    body.setAttribute('data-images-pending', String(pending));
    body.setAttribute('data-images-failed', String(failed.length));  // ever, any crop
  }
  function track(img) {
    if (images.indexOf(img) < 0) images.push(img);
    function settle() {
      img.setAttribute('data-state', img.naturalWidth > 0 ? 'ok' : 'broken');
      if (!img.naturalWidth && failed.indexOf(img.src) < 0) failed.push(img.src);
      counts();
    }
    img.setAttribute('data-state', 'pending');
    if (img.complete) settle();
    img.onload = settle;
    img.onerror = settle;
    counts();
  }
  function loaded(img) {  // a promise that settles once img has loaded or failed
    return new Promise(function (resolve) {
      if (img.getAttribute('data-state') !== 'pending') { resolve(); return; }
      img.addEventListener('load', function () { resolve(); }, {once: true});
      img.addEventListener('error', function () { resolve(); }, {once: true});
    });
  }

  function Viewer(root) {
    var vp = root.querySelector('.viewport'), stage = root.querySelector('.stage');
    var before = root.querySelector('img.before'), after = root.querySelector('img.after');
    var divider = root.querySelector('.divider'), slider = root.querySelector('input.split');
    var labelB = root.querySelector('.label-before'), labelA = root.querySelector('.label-after');
    var where = root.querySelector('.where');
    var cropBtns = root.querySelectorAll('.crop-btn'), boxes = root.querySelectorAll('.overview .box');
    var zoomBtns = root.querySelectorAll('.zoom-btn'), modeBtns = root.querySelectorAll('.mode-btn');
    var dpr = window.devicePixelRatio || 1;
    var st = {crop: 0, zoom: 1, zoomKey: '1', split: 0.5, mode: 'split'};
    if (dpr !== 1) root.querySelector('.zoom-btn.device').hidden = false;
    var self = this;
    this.root = root; this.before = before; this.after = after; this.stage = stage; this.vp = vp;
    this.state = st;

    function mark(list, attr, value) {
      list.forEach(function (b) { b.classList.toggle('on', b.getAttribute(attr) === String(value)); });
    }
    function crop() { return cropBtns[st.crop]; }
    function size() {
      var c = crop();
      return [Number(c.getAttribute('data-w')), Number(c.getAttribute('data-h'))];
    }
    function layout() {
      var wh = size(), w = wh[0] * st.zoom, h = wh[1] * st.zoom;
      stage.style.width = w + 'px'; stage.style.height = h + 'px';
      [before, after].forEach(function (img) { img.style.width = w + 'px'; img.style.height = h + 'px'; });
      vp.style.width = w + 'px'; vp.style.height = h + 'px';
      stage.classList.toggle('pixelated', st.zoom > 1);
      mark(zoomBtns, 'data-zoom', st.zoomKey);
      split();
    }
    function split() {
      var w = size()[0] * st.zoom, x;
      if (st.mode === 'before') x = w;
      else if (st.mode === 'after') x = 0;
      else x = Math.round(vp.scrollLeft + st.split * Math.min(vp.clientWidth, w));
      after.style.clipPath = 'inset(0 0 0 ' + x + 'px)';
      divider.style.left = x + 'px';
      divider.hidden = st.mode !== 'split';
      labelB.hidden = st.mode === 'after';
      labelA.hidden = st.mode === 'before';
      mark(modeBtns, 'data-mode', st.mode);
      self.splitX = x;
    }
    this.setCrop = function (k) {
      st.crop = k;
      var c = crop();
      before.src = c.getAttribute('data-before');
      after.src = c.getAttribute('data-after');
      track(before); track(after);
      mark(cropBtns, 'data-crop', k); mark(boxes, 'data-crop', k);
      where.textContent = c.textContent + ': ' + c.title + ' of the photo';
      layout();
      vp.scrollLeft = 0; vp.scrollTop = 0;
      return Promise.all([loaded(before), loaded(after)]);
    };
    this.setZoom = function (key) {
      var cx = (vp.scrollLeft + vp.clientWidth / 2) / st.zoom, cy = (vp.scrollTop + vp.clientHeight / 2) / st.zoom;
      st.zoomKey = String(key);
      st.zoom = key === 'device' ? 1 / dpr : Number(key);
      layout();
      vp.scrollLeft = cx * st.zoom - vp.clientWidth / 2;
      vp.scrollTop = cy * st.zoom - vp.clientHeight / 2;
      split();
    };
    this.setMode = function (m) { st.mode = m; split(); };
    this.setSplit = function (f) { st.split = f; slider.value = String(Math.round(f * 100)); st.mode = 'split'; split(); };

    cropBtns.forEach(function (b) { b.addEventListener('click', function () { self.setCrop(Number(b.getAttribute('data-crop'))); }); });
    boxes.forEach(function (b) { b.addEventListener('click', function () { self.setCrop(Number(b.getAttribute('data-crop'))); }); });
    zoomBtns.forEach(function (b) { b.addEventListener('click', function () { self.setZoom(b.getAttribute('data-zoom')); }); });
    modeBtns.forEach(function (b) { b.addEventListener('click', function () { self.setMode(b.getAttribute('data-mode')); }); });
    slider.addEventListener('input', function () { self.setSplit(Number(slider.value) / 100); });
    vp.addEventListener('scroll', split);
    window.addEventListener('resize', split);
    var drag = null;
    vp.addEventListener('pointerdown', function (e) {
      drag = {x: e.clientX, y: e.clientY, l: vp.scrollLeft, t: vp.scrollTop};
      vp.classList.add('dragging');
      if (vp.setPointerCapture) vp.setPointerCapture(e.pointerId);
    });
    vp.addEventListener('pointermove', function (e) {
      if (!drag) return;
      vp.scrollLeft = drag.l - (e.clientX - drag.x);
      vp.scrollTop = drag.t - (e.clientY - drag.y);
    });
    function stop() { drag = null; vp.classList.remove('dragging'); }
    vp.addEventListener('pointerup', stop);
    vp.addEventListener('pointercancel', stop);
    vp.addEventListener('keydown', function (e) {  // b / a / s: before, after, split
      var m = {b: 'before', a: 'after', s: 'split'}[e.key];
      if (m) { self.setMode(m); e.preventDefault(); }
    });
    track(before); track(after);
    this.setCrop(0);
  }

  document.querySelectorAll('.overview img').forEach(track);
  var viewers = [];
  document.querySelectorAll('section.photo').forEach(function (root) {
    if (root.querySelector('.viewer')) viewers.push(new Viewer(root));
  });
  counts();
  body.setAttribute('data-viewers', String(viewers.length));
  body.setAttribute('data-ready', '1');

  // "#selftest": click through every crop, zoom and view of every photo and check what
  // the page shows; the result goes to body[data-selftest] ("pass" or the first failure)
  if (location.hash !== '#selftest') return;
  var failures = [];
  function check(ok, what) { if (!ok) failures.push(what); }
  function close(a, b) { return Math.abs(a - b) <= 1; }
  function clipLeft(img) {  // x of inset(top right bottom LEFT)
    var m = /(-?[0-9.]+)px\)\s*$/.exec(img.style.clipPath);
    return m ? Number(m[1]) : NaN;
  }
  var chain = Promise.resolve();
  viewers.forEach(function (v, n) {
    v.root.querySelectorAll('.crop-btn').forEach(function (btn, k) {
      chain = chain.then(function () {
        btn.click();
        return Promise.all([loaded(v.before), loaded(v.after)]);
      }).then(function () {
        var w = Number(btn.getAttribute('data-w')), h = Number(btn.getAttribute('data-h'));
        var id = 'photo ' + (n + 1) + ' crop ' + btn.getAttribute('data-key') + ': ';
        check(v.before.naturalWidth === w && v.before.naturalHeight === h, id + 'before image ' + v.before.naturalWidth + 'x' + v.before.naturalHeight + ', expected ' + w + 'x' + h);
        check(v.after.naturalWidth === w && v.after.naturalHeight === h, id + 'after image ' + v.after.naturalWidth + 'x' + v.after.naturalHeight);
        check(close(v.before.getBoundingClientRect().width, w), id + 'not shown at 100 %');
        v.setSplit(0.25);
        check(v.splitX === Math.round(0.25 * Math.min(v.vp.clientWidth, w)), id + 'split slider');
        check(clipLeft(v.after) === v.splitX && v.splitX > 0 && v.splitX < w, id + 'after image not clipped at the split');
        v.setMode('before');
        check(clipLeft(v.after) === w, id + 'before view still shows the after image');
        v.setMode('after');
        check(clipLeft(v.after) === 0, id + 'after view hides the after image');
        v.setZoom('2');
        check(close(v.after.getBoundingClientRect().width, 2 * w) && v.stage.classList.contains('pixelated'), id + '200 % zoom');
        v.setZoom('1'); v.setMode('split'); v.setSplit(0.5);
      });
    });
    chain = chain.then(function () { return v.setCrop(0); });
  });
  chain.then(function () {
    check(errors.length === 0, 'script errors: ' + errors.join('; '));
    body.setAttribute('data-selftest', failures.length ? 'fail: ' + failures.join(' | ') : 'pass');
  }, function (e) { body.setAttribute('data-selftest', 'fail: ' + e); });
})();
"""


def _page(
    report: Mapping[str, Any],
    settings: Mapping[str, object],
    photos: Sequence[PhotoView],
    page_dir: Path,
) -> str:
    n = len(photos)
    title = f"photoenhance: {n} photo{'s' if n != 1 else ''}"
    created = time.strftime("%Y-%m-%d %H:%M")
    sections = "\n".join(_photo_section(i, p, page_dir) for i, p in enumerate(photos))
    return (
        HTML_MARKER.decode() + '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; img-src 'self' "
        "data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'\">"
        f"<title>{_t(title)}</title><style>{_CSS}</style></head>\n<body>\n"
        f'<h1>{_t(title)} <small class="num">({_t(created)})</small></h1>\n'
        f"{_summary(report, settings, photos)}\n{sections}\n<script>{_JS}</script>\n</body></html>\n"
    )


# --------------------------------------------------------------------------- writing


def _remove_old_runs(assets: Path, keep: str) -> None:
    """Remove earlier pages' run folders: only our file names, then the empty folder."""
    try:
        entries = list(os.scandir(assets))
    except OSError:
        return
    for entry in entries:
        if entry.name == keep or not _RUN_DIR_RE.fullmatch(entry.name):
            continue
        if not entry.is_dir(follow_symlinks=False):
            continue
        try:
            inner = list(os.scandir(entry.path))
        except OSError:
            continue
        for f in inner:
            if _ASSET_RE.fullmatch(f.name) and f.is_file(follow_symlinks=False):
                with contextlib.suppress(OSError):
                    os.unlink(f.path)
        with contextlib.suppress(OSError):  # something else is in there: left alone
            os.rmdir(entry.path)


def _float(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) else None


def _entries(report: Mapping[str, Any]) -> list[PhotoView]:
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
    problem = _path_problem(page)
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
    entries = _entries(report)
    photos: list[PhotoView] = []
    problems: list[tuple[Path, str]] = []
    written = 0
    for i, p in enumerate(entries):
        if p.output is not None and p.status in ("ok", "skipped"):
            try:
                c = _photo_assets(
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
    text = _page(report, settings, photos, page.parent).encode("utf-8")
    atomic_write(page, lambda fh: fh.write(text))
    _remove_old_runs(assets, run_id)
    return HtmlReport(page, folder, tuple(photos), tuple(problems), written)
