"""Edge cases of issue 12's pipes and watch found in review: HEIC on stdin, a stdout that
takes only part of the photo or is closed, ``--report`` checked before a piped photo is
enhanced, a watched folder that is (inside) the output folder."""

from __future__ import annotations

import io
import os
import subprocess
import threading
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from photoenhance.infer.types import RunConfig
from photoenhance.infer.watch import WatchConfig, watch_folders
from photoenhance.io import MARKER_NAME, ImageWriteError, heif_available
from photoenhance.io.pipe import emit
from test_cli_everyday import CMD, cli_input, error_lines

# --------------------------------------------------------------------------- pipes


@pytest.mark.skipif(not heif_available(), reason="pillow-heif is not installed")
def test_pipe_heic_on_stdin(tmp_path: Path, make_photo: Any) -> None:
    """A HEIC photo piped in has no ``.heic`` name to tell the decoder; it must still be
    read (in a fresh process: Pillow's HEIF opener was registered only for ``.heic``
    names, so stdin failed with "not a recognised image")."""
    heic = tmp_path / "a.heic"
    with Image.open(make_photo(tmp_path / "a.png", w=64, h=48)) as im:
        im.save(heic)
    with open(heic, "rb") as stdin:
        r = subprocess.run([*CMD, "run", "-", "-o", "-", "-q"], stdin=stdin,
                           capture_output=True, timeout=120)  # fmt: skip
    assert r.returncode == 0, r.stderr
    out = tmp_path / "out.heic"
    out.write_bytes(r.stdout)
    with Image.open(out) as im:
        assert im.format == "HEIF" and im.size == (64, 48)


class _ShortWrites(io.RawIOBase):
    """A stream that takes at most ``chunk`` bytes per write and, after ``limit`` bytes,
    raises BrokenPipeError (the reader went away) - or accepts everything."""

    def __init__(self, chunk: int, limit: int | None = None) -> None:
        self.data = bytearray()
        self.chunk, self.limit = chunk, limit

    def writable(self) -> bool:
        return True

    def write(self, b: Any) -> int:
        if self.limit is not None and len(self.data) >= self.limit:
            raise BrokenPipeError(32, "Broken pipe")
        n = min(self.chunk, len(b))
        self.data += bytes(b[:n])
        return n


def test_emit_continues_short_writes() -> None:
    data = bytes(range(256)) * 40
    stream = _ShortWrites(chunk=1000)
    emit(data, stream)  # type: ignore[arg-type]
    assert bytes(stream.data) == data


def test_emit_reader_gone_after_part_of_the_photo_is_an_error() -> None:
    """``photoenhance run - -o - | head -c 10``: stdout takes 64 KiB, then the reader is
    gone; that is a failed write (exit 1), not success with a cut photo."""
    stream = _ShortWrites(chunk=1000, limit=3000)
    with pytest.raises(ImageWriteError, match="cannot write stdout"):
        emit(b"x" * 10_000, stream)  # type: ignore[arg-type]


@pytest.mark.parametrize("closed", [0, 1], ids=["stdin", "stdout"])
def test_pipe_closed_stdin_or_stdout_is_a_usage_error(
    tmp_path: Path, make_photo: Any, closed: int
) -> None:
    """``photoenhance run - -o - >&-``: one line, exit 2 (was a traceback)."""
    src = make_photo(tmp_path / "a.jpg")
    with open(src, "rb") as stdin:
        r = subprocess.run([*CMD, "run", "-", "-o", "-"], stdin=stdin, stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE, text=True, timeout=120,
                           preexec_fn=lambda: os.close(closed))  # fmt: skip
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "closed" in lines[0], lines


def test_pipe_report_checked_before_the_photo_is_enhanced(
    tmp_path: Path, make_photo: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As for ``run``: a --report that would replace a file of the user's is a usage error
    before any work (exit 2, stdout empty), not a photo on stdout and exit 1 after."""
    monkeypatch.chdir(tmp_path)
    photo = make_photo(tmp_path / "a.jpg")
    mine = make_photo(tmp_path / "mine.png")
    before = mine.read_bytes()
    for args in (
        ["-", "-o", "-", "--report", "mine.png"],
        ["a.jpg", "-o", "-", "--report", "a.jpg"],
    ):
        r = cli_input(photo.read_bytes(), "run", *args)
        assert r.exit_code == 2, r.output
        assert r.stdout_bytes == b""
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1 and "--report" in lines[0] and "refusing" in lines[0], lines
    assert mine.read_bytes() == before and photo.exists()
    ok = cli_input(photo.read_bytes(), "run", "-", "-o", "-", "--report", "r.json")
    assert ok.exit_code == 0 and ok.stdout_bytes and not error_lines(ok.stderr)


# --------------------------------------------------------------------------- watch


@pytest.mark.parametrize("where", ["output", "inside-output", "compare"])
def test_watch_refuses_a_folder_that_is_or_lies_in_the_output(tmp_path: Path, where: str) -> None:
    """``watch photos -o photos``: everything there would be ignored (so nothing is ever
    enhanced, silently) and the user's folder would be marked as photoenhance output -
    later ``run photos`` would skip it.  Refused before anything is written."""
    photos = tmp_path / "photos"
    (photos / "sub").mkdir(parents=True)
    watched = photos / "sub" if where == "inside-output" else photos
    run = (
        RunConfig(output_dir=tmp_path / "out", compare_dir=photos)
        if where == "compare"
        else RunConfig(output_dir=photos)
    )
    stop = threading.Event()
    stop.set()  # before the fix it started, marked the folder, and returned at once
    with pytest.raises(ValueError, match="inside it; nothing there would be enhanced"):
        watch_folders(WatchConfig((watched,), run), stop=stop)
    assert not (photos / MARKER_NAME).exists()
    assert not (tmp_path / "out").exists()


def test_watch_cli_output_is_the_watched_folder(tmp_path: Path) -> None:
    photos = tmp_path / "photos"
    photos.mkdir()
    # a process with a time limit: before the fix, watch ran (doing nothing) until stopped
    r = subprocess.run([*CMD, "watch", str(photos), "-o", str(photos)], capture_output=True,
                       text=True, timeout=60)  # fmt: skip
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "is the output folder" in lines[0], lines
    assert sorted(os.listdir(photos)) == []


def test_pipe_compare_folder_holding_the_input_is_refused(
    tmp_path: Path, make_photo: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``run photos/a.jpg -o - --compare photos`` marked the user's photo folder as
    photoenhance output (a later ``run photos`` found nothing); ``run`` refuses it too."""
    monkeypatch.chdir(tmp_path)
    photo = make_photo(tmp_path / "photos" / "a.jpg")
    r = cli_input(b"", "run", photo, "-o", "-", "--compare", tmp_path / "photos")
    assert r.exit_code == 2, r.output
    assert r.stdout_bytes == b""
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "--compare" in lines[0] and "holds the input" in lines[0], lines
    assert sorted(os.listdir(tmp_path / "photos")) == ["a.jpg"]


def test_run_enhances_a_jpeg_missing_its_last_rows_with_a_warning(cli: Any, tmp_path: Path) -> None:
    """Issue 20 item 16: a photo whose last rows are missing is enhanced, exit 0, with one
    warning line naming the rows (it was refused as truncated, in restart markers)."""
    import numpy as np

    src = tmp_path / "in"
    src.mkdir()
    buf = io.BytesIO()
    rng = np.random.default_rng(3)
    base = np.kron(rng.random((40, 15, 3)), np.ones((16, 16, 1)))
    Image.fromarray(np.uint8(base * 255)).save(buf, "JPEG", quality=90, restart_marker_rows=1)
    data = buf.getvalue()
    sos = data.find(b"\xff\xda")
    (src / "cut.jpg").write_bytes(data[: sos + (len(data) - sos) * 95 // 100] + b"\xff\xd9")
    r = cli("run", src, "-o", tmp_path / "out")
    assert r.exit_code == 0, r.output
    text = " ".join(r.stderr.split())  # the console wraps long lines at its width
    assert text.count("damaged JPEG") == 1 and "rows are missing" in text and "of 640 rows" in text
    with Image.open(tmp_path / "out" / "cut.jpg") as im:
        assert im.size == (240, 640)
