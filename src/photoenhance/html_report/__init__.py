"""The ``--html`` report: a before/after page for judging a run at 100 % (no torch).

:func:`write_html_report` takes what a finished run already produced - the JSON report
dict (:meth:`BatchResult.to_dict`, so this package does not depend on the runner's
types) and the input/output photos on disk - and writes one HTML page plus a folder of
image assets next to it (``report.html`` → ``report.html_files/``).  The page has inline CSS
and JavaScript only: no network, no fonts, no CDN; it works from ``file://``.

What the page shows
    The run summary (counts, wall time, megapixels, MP/s, model, provider, settings),
    an index table, and per photo: a labelled before/after viewer (split slider, or
    before / after toggle) on automatically chosen crops - the **most detailed** (shown
    first), **brightest** and **darkest** 512 × 512 regions of the photo, at 100 % (one
    image pixel is one CSS pixel; 200 % and 400 % use ``image-rendering: pixelated``;
    drag or scroll to pan) - a small overview with the crops marked (click one to choose it), and the
    numbers: time, megapixels, warnings, **luma shift** and **new clipping**.

Why crops, and why lossless WebP
    Embedding a 12 MP photo twice as base64 would make a page of ~50 MB per photo that
    a browser has to parse before it shows anything.  Crops are what a reviewer looks
    at at 100 % anyway; the full-size files are a click away (linked from the page).
    Crops are lossless (WebP, about 28 % smaller than PNG and faster to write) because
    the changes to judge (noise, sharpening halos, a few codes of tone) are of the size
    a JPEG re-encode would add: the page must show the decoded pixels exactly.  A photo
    that three 512 × 512 crops would cover more than once over is shown whole, once.
    Plus a ~20 KB JPEG overview (orientation only, never for judging); sizes in
    BENCHMARKS.md ("HTML report") and ``bench/html_report.py``.  Crops are sRGB, clipped to [0, 1] (wide-gamut colours outside sRGB
    are clipped in the page, not in the photo) and shown in display orientation (EXIF
    Orientation applied).

Luma shift and new clipping
    Computed with the definitions of :mod:`photoenhance.harm` (its luma, its
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
    ``report.html_files/<run id>/`` (every file written atomically), then the page is
    replaced atomically, then the sub-folders of earlier pages are removed - only
    files named as this package names them; a reader sees the old page with its images
    or the new one with its images, never a mix.

One job per module
    :mod:`.paths` (where the page may go, what of ours may be replaced or removed),
    :mod:`.records` (the report dict read into per-photo records; the result types),
    :mod:`.measures` (luma shift, new clipping, block statistics, in bands), :mod:`.crops`
    (choosing the crops),
    :mod:`.assets` (writing one photo's lossless WebP crops and JPEG overview), :mod:`.page` (the
    HTML; its CSS and JavaScript are ``page.css`` and ``page.js``, inlined), and
    :mod:`.write` (:func:`write_html_report`, putting it together).  Tunables live in
    their module (e.g. ``measures.BAND_PIXELS``); the copies here are for reading.  Display
    orientation is :func:`photoenhance.io.orientation.display_view` (shared with ``run``).
"""

from __future__ import annotations

from photoenhance.html_report.assets import OVERVIEW_SIZE
from photoenhance.html_report.crops import CROP_SIZE, choose_crops
from photoenhance.html_report.measures import BAND_PIXELS, BLOCK
from photoenhance.html_report.paths import (
    ASSETS_MARKER,
    HTML_MARKER,
    HTML_SUFFIXES,
    NAME_MAX,
    HtmlPathError,
    assets_dir_for,
    check_html_path,
)
from photoenhance.html_report.records import CropView, HtmlReport, PhotoView
from photoenhance.html_report.write import write_html_report
from photoenhance.io.orientation import display_view

__all__ = [
    "ASSETS_MARKER",
    "BAND_PIXELS",
    "BLOCK",
    "CROP_SIZE",
    "HTML_MARKER",
    "HTML_SUFFIXES",
    "NAME_MAX",
    "OVERVIEW_SIZE",
    "CropView",
    "HtmlPathError",
    "HtmlReport",
    "PhotoView",
    "assets_dir_for",
    "check_html_path",
    "choose_crops",
    "display_view",
    "write_html_report",
]
