"""The ``--html`` page itself: one self-contained HTML document (no torch).

The summary of the run, an index table and one section per photo (a before/after viewer
on its crops, an overview with the crops marked, the numbers and notes).  The page's CSS
and JavaScript live beside this module as ``page.css`` and ``page.js`` and are inlined:
no network, no fonts, no CDN; the page works from ``file://``.  Every text from the run
(file names, errors, settings) goes through :func:`_t` (control characters and HTML
escaped); links to photos are relative to the page's folder.
"""

from __future__ import annotations

import functools
import html
import math
import os
import time
import urllib.parse
from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

from photoenhance import harm
from photoenhance.display import printable
from photoenhance.html_report.paths import HTML_MARKER
from photoenhance.html_report.records import PhotoView


@functools.cache
def _resource(name: str) -> str:
    """``page.css`` or ``page.js`` of this package (inlined into the page)."""
    return resources.files(__package__).joinpath(name).read_text(encoding="utf-8")


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


def page_html(
    report: Mapping[str, Any],
    settings: Mapping[str, object],
    photos: Sequence[PhotoView],
    page_dir: Path,
) -> str:
    """The whole page for ``photos`` (links relative to ``page_dir``), CSS and JS inline."""
    n = len(photos)
    title = f"photoenhance: {n} photo{'s' if n != 1 else ''}"
    created = time.strftime("%Y-%m-%d %H:%M")
    sections = "\n".join(_photo_section(i, p, page_dir) for i, p in enumerate(photos))
    css, js = _resource("page.css"), _resource("page.js")
    return (
        HTML_MARKER.decode() + '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; img-src 'self' "
        "data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'\">"
        f"<title>{_t(title)}</title><style>\n{css}</style></head>\n<body>\n"
        f'<h1>{_t(title)} <small class="num">({_t(created)})</small></h1>\n'
        f"{_summary(report, settings, photos)}\n{sections}\n<script>\n{js}</script>\n</body></html>\n"
    )
