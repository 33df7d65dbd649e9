"""The ``--html`` page generator: measures, crops, escaping, files it may replace."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image, ImageOps

from photoenhance import harm
from photoenhance.html_report import (
    ASSETS_MARKER,
    HTML_MARKER,
    HtmlPathError,
    assets_dir_for,
    check_html_path,
    choose_crops,
    display_view,
    write_html_report,
)
from photoenhance.html_report import measures as hr
from photoenhance.io import ImageWriteError


def save_png(path: Path, rgb: np.ndarray, exif: Image.Exif | None = None) -> Path:
    """Write float [0, 1] ``rgb`` as an 8-bit PNG (lossless: decoding gives the codes back)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    im = Image.fromarray(np.rint(np.clip(rgb, 0, 1) * 255).astype(np.uint8), "RGB")
    im.save(path, exif=exif) if exif is not None else im.save(path)
    return path


def report_for(*pairs: tuple[Path, Path | None], status: str = "ok", **extra: Any) -> dict[str, Any]:
    files = [
        {"input": str(i), "output": None if o is None else str(o), "status": status,
         "error": None, "seconds": 0.5, "megapixels": 1.0, "warnings": [], "compare": None,
         "reason": None, **extra}
        for i, o in pairs
    ]  # fmt: skip
    return {
        "photoenhance": "0.1.0",
        "dry_run": False,
        "output_dir": "out",
        "model": {"path": "m.onnx", "size": "small", "precision": "int8", "version": "1"},
        "provider": "CPUExecutionProvider",
        "files": files,
        "summary": {"total": len(files), "ok": len(files), "skipped": 0, "failed": 0,
                    "planned": 0, "megapixels": 1.0, "seconds": 1.0, "megapixels_per_second": 1.0},
    }  # fmt: skip


def codes(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))


# --------------------------------------------------------------------------- pixels


@pytest.mark.parametrize("orientation", range(1, 9))
def test_display_view_is_exif_transpose(orientation: int) -> None:
    a = np.random.default_rng(orientation).integers(0, 255, (5, 7, 3), dtype=np.uint8)
    im = Image.fromarray(a, "RGB")
    exif = im.getexif()
    exif[274] = orientation
    im.info["exif"] = exif.tobytes()
    expected = np.asarray(ImageOps.exif_transpose(im))
    np.testing.assert_array_equal(display_view(a, orientation), expected)


def test_measures_equal_harm_on_the_full_photos(tmp_path: Path, monkeypatch: Any) -> None:
    """Luma shift and new clipping, computed one photo at a time in bands of rows (and
    in display orientation), are harm's values on the full before/after pixels."""
    monkeypatch.setattr(hr, "BAND_PIXELS", 150 * 32)
    assert hr._band_rows(150) == 32  # 210 displayed rows: 7 bands, the last one partial
    rng = np.random.default_rng(0)
    before = rng.random((150, 210, 3)).astype(np.float32) * 0.97
    before[:40, :50] = 252 / 255  # near white already: clipping there is not new
    after = np.clip(before * 1.15 + 0.03, 0, 1)
    exif = Image.Exif()
    exif[274] = 6
    b = save_png(tmp_path / "in.png", before, exif)
    a = save_png(tmp_path / "out.png", after, exif)
    bq, aq = codes(b) / 255.0, codes(a) / 255.0  # what the files hold
    page = write_html_report(report_for((b, a)), tmp_path / "r.html", crop=64)
    p = page.photos[0]
    assert p.luma_shift == pytest.approx(harm.luma_shift(bq, aq), abs=1e-6)
    assert p.new_clipping == pytest.approx(harm.new_clipping(bq, aq), abs=1e-12)
    assert 0.05 < p.new_clipping < 0.5 and p.luma_shift > 5  # not a trivial case
    assert (p.width, p.height) == (150, 210)  # orientation 6: displayed portrait


def test_crops_are_the_exact_pixels_of_the_displayed_photo(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    before = rng.random((300, 400, 3)).astype(np.float32)
    after = before[:, :, ::-1].copy()
    exif = Image.Exif()
    exif[274] = 3  # rotated 180°
    b = save_png(tmp_path / "in.png", before, exif)
    a = save_png(tmp_path / "out.png", after, exif)
    page = write_html_report(report_for((b, a)), tmp_path / "r.html", crop=128)
    p = page.photos[0]
    assert [c.key for c in p.crops] == ["detail", "bright", "dark"]
    for c in p.crops:
        for src, url in ((b, c.before), (a, c.after)):
            shown = display_view(codes(src), 3)[c.y : c.y + c.height, c.x : c.x + c.width]
            np.testing.assert_array_equal(codes(tmp_path / url), shown)
            assert (c.width, c.height) == (128, 128)


def test_choose_crops_finds_bright_dark_and_detailed_regions() -> None:
    h, w, block = 640, 960, 16
    y = np.full((h, w), 0.5, np.float32)
    y[32:160, 640:768] = 0.95  # bright
    y[480:608, 96:224] = 0.05  # dark
    y[304:432, 400:528] += np.random.default_rng(2).normal(0, 0.2, (128, 128)).astype(np.float32)
    blocks = y.reshape(h // block, block, w // block, block)
    mean, var = blocks.mean(axis=(1, 3)), blocks.var(axis=(1, 3))
    picks = {k: (x, yy) for k, x, yy, cw, ch in choose_crops(mean, var, block, w, h, 128)}
    assert picks == {"bright": (640, 32), "dark": (96, 480), "detail": (400, 304)}


def test_crops_do_not_repeat_a_region_and_small_photos_are_one_crop() -> None:
    flat = np.full((4, 40), 0.5)
    # crops no larger than needed (issue 21, item 6): where three crops would hold more
    # pixels than the photo, the photo is shown whole, once (640 x 64; 741 x 500)
    assert choose_crops(flat, flat, 16, 640, 64, 512) == [("whole", 0, 0, 640, 64)]
    grid = np.full((32, 47), 0.5)
    assert choose_crops(grid, grid, 16, 741, 500, 512) == [("whole", 0, 0, 741, 500)]
    assert choose_crops(flat, flat, 16, 300, 200, 512) == [("whole", 0, 0, 300, 200)]
    big = np.random.default_rng(0).random((64, 96))
    picks = choose_crops(big, big, 16, 1536, 1024, 512)  # 1.5 MP: three 512 px crops
    assert len(picks) == 3 and all(p[3:] == (512, 512) for p in picks)


def test_module_does_not_import_torch() -> None:
    code = "import sys, photoenhance.html_report; print(any(m.startswith('torch') for m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_package_uses_nothing_of_infer() -> None:
    """The page generator reads the run's report dict and the photos on disk: it sits
    beside ``infer`` (photoenhance.html_report), not in it, and imports none of it."""
    import ast

    import photoenhance.html_report as pkg

    folder = Path(pkg.__file__).parent
    for path in sorted(folder.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            assert not any(n.startswith("photoenhance.infer") for n in names), (path.name, names)


# --------------------------------------------------------------------------- page


def test_user_strings_are_escaped(tmp_path: Path) -> None:
    evil = "a&b \"q\" 'x' <img src=x onerror=alert(1)>"
    rng = np.random.default_rng(3)
    b = save_png(tmp_path / "in" / f"{evil}.png", rng.random((40, 60, 3)))
    a = save_png(tmp_path / "out" / f"{evil}.png", rng.random((40, 60, 3)))
    rep = report_for((b, a), warnings=["<script>alert(2)</script> & more"])
    write_html_report(rep, tmp_path / "r.html")
    text = (tmp_path / "r.html").read_text()
    assert "<img src=x" not in text and "<script>alert" not in text
    assert "&lt;img src=x onerror=alert(1)&gt;" in text and "&quot;q&quot;" in text
    assert "&lt;script&gt;alert(2)&lt;/script&gt; &amp; more" in text
    # the file links percent-encode the name
    assert "%3Cimg%20src%3Dx%20onerror%3Dalert%281%29%3E.png" in text


def test_nothing_external_and_marker_first(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    b = save_png(tmp_path / "in.png", rng.random((40, 60, 3)))
    a = save_png(tmp_path / "out.png", rng.random((40, 60, 3)))
    write_html_report(report_for((b, a)), tmp_path / "r.html")
    raw = (tmp_path / "r.html").read_bytes()
    assert raw.startswith(HTML_MARKER)
    text = raw.decode()
    for needle in ("http://", "https://", "//cdn", "@import", "<link", "url("):
        assert needle not in text, needle
    assert 'src="r.html_files/' in text


def test_a_photo_that_cannot_be_reread_is_named_and_the_page_written(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    b1 = save_png(tmp_path / "one.png", rng.random((40, 60, 3)))
    a1 = save_png(tmp_path / "out" / "one.png", rng.random((40, 60, 3)))
    b2 = save_png(tmp_path / "two.png", rng.random((40, 60, 3)))
    gone = tmp_path / "out" / "two.png"  # moved away since the run
    small = save_png(tmp_path / "out" / "three.png", rng.random((20, 60, 3)))  # another size
    rep = report_for((b1, a1), (b2, gone), (b1, small))
    rep["files"].append({"input": "bad.jpg", "output": None, "status": "error",
                         "error": "not an image", "seconds": 0, "megapixels": None,
                         "warnings": [], "compare": None, "reason": None})  # fmt: skip
    page = write_html_report(rep, tmp_path / "r.html")
    assert [bool(p.crops) for p in page.photos] == [True, False, False, False]
    problems = dict(page.problems)
    assert "file does not exist" in problems[b2] and "not the same photo" in problems[b1]
    text = (tmp_path / "r.html").read_text()
    assert text.count("before/after not shown") == 2 and "error: not an image" in text


# --------------------------------------------------------------------------- what it may replace


def two_photos(tmp_path: Path) -> dict[str, Any]:
    rng = np.random.default_rng(6)
    b = save_png(tmp_path / "in.png", rng.random((40, 60, 3)))
    a = save_png(tmp_path / "out.png", rng.random((40, 60, 3)))
    return report_for((b, a))


def test_refuses_files_and_folders_that_are_not_ours(tmp_path: Path) -> None:
    rep = two_photos(tmp_path)
    mine = tmp_path / "notes.html"
    mine.write_text("<p>my notes</p>")
    taken = tmp_path / "taken.html"
    (tmp_path / "taken.html_files").mkdir()
    (tmp_path / "taken.html_files" / "holiday.jpg").write_bytes(b"mine")
    folder = tmp_path / "dir.html"
    folder.mkdir()
    cases = [
        (mine, "not a photoenhance HTML report"),
        (taken, "was not written by photoenhance"),
        (folder, "is a folder"),
        (tmp_path / "in.png", "ending in .html"),
    ]
    for page, needle in cases:
        with pytest.raises(HtmlPathError, match=needle):
            check_html_path(page)
        with pytest.raises(ImageWriteError, match=needle):
            write_html_report(rep, page)
    assert mine.read_text() == "<p>my notes</p>"
    assert sorted(os.listdir(tmp_path / "taken.html_files")) == ["holiday.jpg"]
    assert not (tmp_path / "notes.html_files").exists() and not (tmp_path / "in.png_files").exists()
    with pytest.raises(HtmlPathError, match="also written by --report"):
        check_html_path(tmp_path / "r.html", others=[tmp_path / "." / "r.html"])


def test_rerun_replaces_our_page_and_only_our_images(tmp_path: Path) -> None:
    rep = two_photos(tmp_path)
    page = tmp_path / "r.html"
    page.write_bytes(b"")  # an empty file may be replaced
    first = write_html_report(rep, page)
    assets = assets_dir_for(page)
    assert (assets / ASSETS_MARKER).is_file() and first.assets.parent == assets
    old_images = sorted(p.name for p in first.assets.iterdir())
    assert len(old_images) == 3  # whole photo before/after + overview
    (first.assets / "keep-me.txt").write_text("user file")
    (assets / "mine.jpg").write_bytes(b"user file")
    second = write_html_report(rep, page)
    assert second.assets != first.assets and second.assets.is_dir()
    assert sorted(os.listdir(first.assets)) == ["keep-me.txt"]  # only our names removed
    assert (assets / "mine.jpg").read_bytes() == b"user file"
    text = page.read_text()
    assert second.assets.name in text and first.assets.name not in text
    os.remove(first.assets / "keep-me.txt")
    write_html_report(rep, page)
    assert not first.assets.exists() and not second.assets.exists()


def test_pages_named_alike_keep_their_own_images(tmp_path: Path) -> None:
    """``x.html`` then ``x.htm``: each page has its own image folder (named after the whole
    page name) and the second never removes the first's images (issue 20, item 9)."""
    rep = two_photos(tmp_path)
    first = write_html_report(rep, tmp_path / "x.html")
    second = write_html_report(rep, tmp_path / "x.htm")
    assert first.assets.parent != second.assets.parent
    assert first.assets.is_dir() and any(first.assets.iterdir())
    text = (tmp_path / "x.html").read_text()
    for src in re.findall(r'(?:src|data-after|data-before)="([^"]+\.(?:webp|jpg))"', text):
        assert (tmp_path / src).is_file(), src


def test_image_folder_overlapping_the_output_folder_is_refused(tmp_path: Path) -> None:
    """Issue 20, item 14: refused by the check the CLI runs before any work."""
    out = tmp_path / "out"
    x = tmp_path / "x.html"
    for page, folder in [
        (x, tmp_path / "x.html_files"),  # the image folder is the output folder
        (out / "r.html", out),  # inside it
        (out / "deep" / "r.html", out),
        (x, tmp_path / "x.html_files" / "inner"),  # the output folder inside it
    ]:
        with pytest.raises(HtmlPathError, match="overlaps the output folder"):
            check_html_path(page, folders=[(folder, "output")])
    check_html_path(tmp_path / "r.html", folders=[(out, "output")])  # apart: fine
