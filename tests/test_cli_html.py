"""``photoenhance run --html``: the page, its images, and a real headless browser on it.

The browser tests use Chromium from the distribution (``apt-get install chromium``; CI
installs it).  They are skipped where it is missing, unless
``PHOTOENHANCE_REQUIRE_BROWSER=1`` (set by ``.ci/run``) makes that a failure.
Chromium is started in its own session and killed - that process group only - when it
hangs or leaves children behind.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

BROWSER_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
)
BROWSER_TIMEOUT = 60


class _Elements(HTMLParser):
    """Every start tag with its attributes, in document order."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def elements(text: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = _Elements()
    parser.feed(text)
    return parser.tags


def photo_pixels(h: int, w: int, seed: int) -> np.ndarray:
    """Smooth colour gradients with a little noise (photo-like enough to crop)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    a, b, c = rng.random((3, 3)).astype(np.float32)
    chans = [0.5 + 0.4 * np.sin(x / w * 5 * a[i] + y / h * 5 * b[i] + 6 * c[i]) for i in range(3)]
    img = np.stack(chans, -1) + rng.normal(0, 0.02, (h, w, 3)).astype(np.float32)
    return np.round(np.clip(img, 0, 1) * 255).astype(np.uint8)


@pytest.fixture(scope="module")
def enhanced(tmp_path_factory: pytest.TempPathFactory, shared_cache_dir: Path) -> Path:
    """One ``run --html`` of two photos big enough for three 512 px crops each, shared
    by the tests below (each copies it before changing anything): ``in/``, ``out/``,
    ``report.html``, ``report.html_files/``."""
    from typer.testing import CliRunner

    from photoenhance.cli import app

    root = tmp_path_factory.mktemp("html-run")
    (root / "in").mkdir()
    Image.fromarray(photo_pixels(1000, 1400, 1)).save(root / "in" / "a.jpg", quality=92)
    Image.fromarray(photo_pixels(1400, 1000, 2)).save(root / "in" / "b.png")
    with pytest.MonkeyPatch.context() as mp:  # never the user's config or cache
        mp.setenv("PHOTOENHANCE_CONFIG", str(root / "missing-config.toml"))
        mp.setenv("PHOTOENHANCE_CACHE_DIR", str(shared_cache_dir))
        mp.chdir(root)  # relative paths, as users type them
        r = CliRunner().invoke(app, ["run", "in", "-o", "out", "--html", "report.html"])
    assert r.exit_code == 0, r.output
    return root


@pytest.fixture
def copy(enhanced: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private copy of the shared run (the working directory: paths are relative)."""
    dst = tmp_path / "run"
    shutil.copytree(enhanced, dst)
    monkeypatch.chdir(dst)
    return dst


def test_html_has_before_and_after_for_each_photo(enhanced: Path) -> None:
    text = (enhanced / "report.html").read_text()
    sections = re.findall(r'<section class="photo".*?</section>', text, re.S)
    assert len(sections) == 2
    for name, section in zip(("a.jpg", "b.png"), sections, strict=True):
        assert name in section
        tags = elements(section)
        imgs = {a.get("class"): a for t, a in tags if t == "img"}
        assert {"before", "after"} <= set(imgs)
        crops = [a for t, a in tags if t == "button" and a.get("class") == "crop-btn"]
        assert [c["data-key"] for c in crops] == ["detail", "bright", "dark"]
        for c in crops:
            for side in ("data-before", "data-after"):
                with Image.open(enhanced / str(c[side])) as im:  # at 100 %: the crop's size
                    assert im.size == (int(str(c["data-w"])), int(str(c["data-h"]))) == (512, 512)
        for label in ("Luma shift", "New clipping", "Time", "Megapixels"):
            assert f"<th>{label}</th>" in section
        links = [a["href"] for t, a in tags if t == "a"]
        assert links == [f"in/{name}", f"out/{name}"]  # relative to the page: they open
    assert "2 enhanced, 0 skipped, 0 failed" in text and "MP/s" in text
    assert "<th>strength</th><td>1.0</td>" in text


def test_html_refusals_are_usage_errors_before_any_work(cli: Any, copy: Path) -> None:
    notes = copy / "notes.html"
    notes.write_text("mine")
    for page, extra, needle in [
        (notes, (), "not a photoenhance HTML report"),
        (copy / "in" / "a.jpg", (), "ending in .html"),
        (copy / "r.html", ("--report", copy / "r.html"), "also written by --report"),
    ]:
        r = cli("run", "in", "-o", "new-out", "--html", page, *extra)
        assert r.exit_code == 2 and needle in r.stderr, r.output
        assert not (copy / "new-out").exists()
    assert notes.read_text() == "mine"


def test_dry_run_writes_no_page(cli: Any, copy: Path) -> None:
    r = cli("run", "in", "-o", "new-out", "--html", "r.html", "--dry-run")
    assert r.exit_code == 0
    assert not (copy / "r.html").exists() and not (copy / "r.html_files").exists()


def test_rerun_page_lists_failed_and_skipped_photos(cli: Any, copy: Path) -> None:
    (copy / "in" / "bad.jpg").write_bytes(b"not a photo")
    r = cli("run", "in", "-o", "out", "--html", "report.html")
    assert r.exit_code == 1
    text = (copy / "report.html").read_text()
    assert "0 enhanced, 2 skipped, 1 failed" in text
    assert text.count('data-status="skipped"') == 2 and text.count('class="viewer"') == 2
    assert 'data-status="error"' in text and "bad.jpg" in text
    # two markers (ours, and the output-folder one walking honours) + this run's images
    assert len(list((copy / "report.html_files").iterdir())) == 3


def test_page_inside_an_input_folder_is_never_taken_as_photos(cli: Any, copy: Path) -> None:
    r = cli("run", "in", "-o", "out", "--html", "in/page.html")
    assert r.exit_code == 0, r.output
    assert any((copy / "in" / "page.html_files").rglob("*.webp"))  # the crops are there
    r = cli("run", "in", "-o", "out2", "--report", "r.json")
    assert r.exit_code == 0, r.output
    written = sorted(p.name for p in (copy / "out2").iterdir() if not p.name.startswith("."))
    assert written == ["a.jpg", "b.png"]  # no crop of the page enhanced as a photo
    assert "photoenhance output folder" in (copy / "r.json").read_text()


# --------------------------------------------------------------------------- headless browser


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        exe = shutil.which(name)
        if exe:
            return exe
    if os.environ.get("PHOTOENHANCE_REQUIRE_BROWSER") == "1":
        pytest.fail("Chromium is required (PHOTOENHANCE_REQUIRE_BROWSER=1) but not installed")
    pytest.skip("Chromium is not installed (apt-get install chromium)")


def browse(tmp_path: Path, *args: str) -> str:
    """Run headless Chromium with ``args``; its stdout.  Killed (its own process group
    only) if it runs past BROWSER_TIMEOUT or leaves processes behind."""
    profile = tmp_path / "chromium-profile"
    cmd = [chromium(), *BROWSER_FLAGS, f"--user-data-dir={profile}", *args]
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True
    )
    try:
        out, err = proc.communicate(timeout=BROWSER_TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        pytest.fail(f"Chromium did not finish within {BROWSER_TIMEOUT} s: {' '.join(cmd)}")
    finally:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)  # helpers it may have left (same group)
    assert proc.returncode == 0, err.decode(errors="replace")[-2000:]
    return out.decode()


def body_attributes(dom: str) -> dict[str, str | None]:
    tags = [a for t, a in elements(dom) if t == "body"]
    assert tags, dom[:2000]
    return tags[0]


def test_page_works_in_headless_chromium(enhanced: Path, tmp_path: Path) -> None:
    """The page's own self-test (``#selftest``) clicks through every crop of both
    photos, moves the split slider, toggles before/after and zooms, checking what is
    shown; every image must have loaded with its size; no script errors.  Then a
    screenshot, which must show the page (not a blank or error page)."""
    url = (enhanced / "report.html").as_uri()
    dom = browse(tmp_path, "--virtual-time-budget=10000", "--dump-dom", url + "#selftest")
    body = body_attributes(dom)
    assert body.get("data-ready") == "1"
    assert body.get("data-selftest") == "pass", body
    assert "data-js-errors" not in body
    assert body.get("data-viewers") == "2"
    assert body.get("data-images-failed") == "0" and body.get("data-images-pending") == "0"
    assert body.get("data-images-ok") == "6"  # before + after + overview, two photos

    shot = tmp_path / "screenshot.png"
    browse(
        tmp_path, "--window-size=1400,1100", "--virtual-time-budget=5000",
        f"--screenshot={shot}", url,
    )  # fmt: skip
    with Image.open(shot) as im:
        px = np.asarray(im.convert("RGB"), np.float32)
    assert px.shape[:2] == (1100, 1400)
    viewer = px[560:1000, 30:530]  # where the first photo's crops are drawn
    assert viewer.std() > 10 and (px[:40] == px[0, 0]).all(axis=-1).mean() < 0.999
    if target := os.environ.get("PHOTOENHANCE_SCREENSHOT"):
        shutil.copyfile(shot, target)


def test_headless_check_catches_a_broken_page(copy: Path, tmp_path: Path) -> None:
    """A missing image must fail the self-test (so the test above can fail)."""
    text = (copy / "report.html").read_text()
    crop = re.search(r'data-after="(report\.html_files/[^"]+-dark-after\.webp)"', text)
    assert crop is not None
    (copy / crop.group(1)).unlink()
    url = (copy / "report.html").as_uri() + "#selftest"
    body = body_attributes(browse(tmp_path, "--virtual-time-budget=10000", "--dump-dom", url))
    assert body.get("data-ready") == "1"
    assert str(body.get("data-selftest")).startswith("fail: photo 1 crop dark: after image 0x0")
    assert body.get("data-images-failed") == "1"


def test_image_folder_in_the_output_folder_is_refused_before_any_work(cli: Any, copy: Path) -> None:
    """Issue 20, item 14: exit 2 before the batch, nothing written."""
    for out, page in (("x.html_files", "x.html"), ("new-out", "new-out/r.html")):
        r = cli("run", "in", "-o", out, "--html", page)
        assert r.exit_code == 2, r.output
        assert "overlaps the output folder" in r.stderr, r.stderr
        assert not (copy / out).exists()


def test_html_phase_reports_progress_and_ends_with_the_page(cli: Any, copy: Path) -> None:
    """Issue 21, item 6: off a terminal the HTML phase prints plain progress lines like the
    run's, and the last line says where the page (and its images) are."""
    r = cli("run", "in", "-o", "out2", "--html", "p.html")
    assert r.exit_code == 0, r.output
    lines = r.stderr.strip().splitlines()
    progress = [ln for ln in lines if ln.startswith("HTML report: ") and " photos, ETA " in ln]
    assert progress and progress[-1].startswith("HTML report: 2/2 photos"), lines
    assert lines[-1].startswith("HTML report: p.html (images in p.html_files, "), lines
    assert lines[-1].endswith(" MiB)"), lines
    crops = list((copy / "p.html_files").rglob("*-before.webp"))
    assert crops and not list((copy / "p.html_files").rglob("*.png"))  # lossless WebP
    with Image.open(crops[0]) as im:
        assert im.format == "WEBP" and im.info.get("lossless", True)
