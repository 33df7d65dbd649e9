"""Everyday use (issue 12): pipes (``run - -o -``), ``watch``, output folders never taken as
input, progress for logs, settings in the report.  Real processes where the point is the
process (stdin/stdout, signals, a stderr that is a pipe); in-process otherwise."""

from __future__ import annotations

import hashlib
import json
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import piexif
import pytest
from PIL import Image

from photoenhance.io import MARKER_NAME, MARKER_REASON, is_complete_image, is_output_folder
from photoenhance.io.manifest import MANIFEST_NAME
from test_cli_metadata import assert_exif_equal, exif_dict, read_exif

CMD = [sys.executable, "-m", "photoenhance"]

def _interrupts_as_in_a_terminal() -> None:
    """``preexec_fn``: a shell's background job (``cmd &`` in a script) starts with SIGINT
    ignored and its children inherit that, so a Ctrl-C test run from one would see the
    child ignore SIGINT; give the child the default disposition a terminal gives it."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)



def exif_photo(make_photo: Any, path: Path, seed: int = 1) -> Path:
    return make_photo(path, w=160, h=120, seed=seed, quality=90, exif=piexif.dump(exif_dict(6)))


def error_lines(stderr: str) -> list[str]:
    return [ln for ln in stderr.splitlines() if ln.startswith("error: ")]


# --------------------------------------------------------------------------- pipes


def test_pipe_round_trip_same_bytes_as_run(cli: Any, tmp_path: Path, make_photo: Any) -> None:
    """``cat a.jpg | photoenhance run - -o - > b.jpg``: b.jpg is byte for byte the file
    ``run a.jpg`` writes (so EXIF, ICC... are kept exactly as for files), and stdout
    carries nothing else."""
    src = exif_photo(make_photo, tmp_path / "a.jpg")
    piped = tmp_path / "b.jpg"
    with open(src, "rb") as stdin, open(piped, "wb") as stdout:
        r = subprocess.run([*CMD, "run", "-", "-o", "-"], stdin=stdin, stdout=stdout,
                           stderr=subprocess.PIPE, text=True, timeout=120)  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "Done:" in r.stderr and "stdout" in r.stderr
    ran = cli("run", src, "-o", tmp_path / "out")
    assert ran.exit_code == 0, ran.output
    assert piped.read_bytes() == (tmp_path / "out" / "a.jpg").read_bytes()
    assert_exif_equal(piexif.load(str(src)), read_exif(piped), exact=True)
    assert not (Path.cwd() / "-").exists()


def test_cmyk_photo_piped_and_from_a_file_same_bytes_at_any_time(
    cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 20 item 8: a CMYK photo's output embeds an sRGB profile made by LittleCMS, which
    stamped the current date into it: the pipe and the file output (made at different times,
    faked here by stamping different dates into what LittleCMS returns) must be the same."""
    import struct

    from PIL import ImageCms

    src = tmp_path / "cmyk.jpg"
    Image.new("CMYK", (48, 32), (0, 200, 255, 30)).save(src, quality=90)
    real = ImageCms.ImageCmsProfile.tobytes

    def clock(year: int) -> None:
        def stamped(self: ImageCms.ImageCmsProfile) -> bytes:
            b = bytearray(real(self))
            b[24:36] = struct.pack(">6H", year, 1, 2, 3, 4, 5)
            return bytes(b)

        monkeypatch.setattr(ImageCms.ImageCmsProfile, "tobytes", stamped)

    clock(2001)
    piped = cli_input(src.read_bytes(), "run", "-", "-o", "-", "-q")
    assert piped.exit_code == 0 and piped.stdout_bytes, piped.stderr
    clock(2029)
    ran = cli("run", src, "-o", tmp_path / "out", "-q")
    assert ran.exit_code == 0, ran.output
    assert piped.stdout_bytes == (tmp_path / "out" / "cmyk.jpg").read_bytes()


def test_pipe_format_and_file_input(cli: Any, tmp_path: Path, make_photo: Any) -> None:
    src = exif_photo(make_photo, tmp_path / "a.jpg")
    stdout = tmp_path / "b.png"
    with open(stdout, "wb") as fh:
        r = subprocess.run([*CMD, "run", str(src), "-o", "-", "--format", "png", "-q"],
                           stdout=fh, stderr=subprocess.PIPE, text=True, timeout=120)  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""  # -q: nothing at all
    with Image.open(stdout) as im:
        assert im.format == "PNG" and im.size == (160, 120)
    assert read_exif(stdout)["GPS"]  # metadata carried as for files


def test_pipe_keeps_stdin_in_memory_and_removes_older_spools(
    tmp_path: Path, make_photo: Any
) -> None:
    """Issue 20 item 15: ``kill -9`` during ``run - -o -`` left the copy of stdin (once
    287 MB) in the temp folder forever.  Since issue 19 a piped photo is decoded from memory
    and encoded to bytes: a pipe run (killed or not) makes no folder in the temp folder, and
    removes the folders older versions' killed runs left (their process is gone), keeping
    those it cannot check (an older version's name) until they are a day old."""
    import os

    from photoenhance.io.atomic import owner_token

    tmp = tmp_path / "tmp"
    tmp.mkdir()
    env = {**os.environ, "TMPDIR": str(tmp)}
    photo = make_photo(tmp_path / "a.jpg", w=64, h=48)
    unknown = tmp / "photoenhance-pipe-k3j_x9"  # tempfile's name (older versions): kept
    unknown.mkdir()
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    left = tmp / f"photoenhance-pipe-{owner_token(gone.pid)}-abc"  # an older killed run's
    left.mkdir()
    (left / "stdin").write_bytes(b"x" * 10)
    proc = subprocess.Popen([*CMD, "run", "-", "-o", "-", "-q"], env=env, stdin=subprocess.PIPE,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    assert proc.stdin is not None
    proc.stdin.write(photo.read_bytes()[:100])  # stdin stays open: the run keeps reading
    proc.stdin.flush()
    time.sleep(1.0)
    proc.kill()
    proc.wait(timeout=30)
    proc.stdin.close()
    r = subprocess.run([*CMD, "run", "-", "-o", "-", "-q"], env=env, input=photo.read_bytes(),
                       capture_output=True, timeout=120)  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert not left.exists()
    assert [p.name for p in tmp.glob("photoenhance-pipe-*")] == [unknown.name]  # none of its own


def test_pipe_not_a_photo_is_one_line_and_nothing_on_stdout(tmp_path: Path) -> None:
    r = subprocess.run([*CMD, "run", "-", "-o", "-"], input=b"hello, not a photo\n",
                       capture_output=True, timeout=120)  # fmt: skip
    assert r.returncode == 1
    assert r.stdout == b""
    lines = r.stderr.decode().strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: -: not a recognised image"), lines


def test_pipe_empty_stdin() -> None:
    r = cli_input(b"", "run", "-", "-o", "-")
    assert r.exit_code == 1 and r.stdout_bytes == b""
    assert error_lines(r.stderr) == ["error: -: empty input (0 bytes on stdin)"]


def cli_input(data: bytes, *args: object) -> Any:
    """The CLI in-process with ``data`` on stdin."""
    from typer.testing import CliRunner

    from photoenhance.cli import app

    return CliRunner().invoke(app, [str(a) for a in args], input=data, catch_exceptions=False)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["a.jpg", "b.jpg", "-o", "-"], "-o - (stdout) takes one photo; got 2 inputs"),
        (["photos", "-o", "-"], "is a folder"),
        (["-", "-o", "out"], "add -o -"),
        (["-", "a.jpg", "-o", "-"], "must be the only input"),
        (["a.jpg", "-o", "-", "--dry-run"], "--dry-run cannot be combined"),
        (["missing.jpg", "-o", "-"], "does not exist"),
        (["a.jpg", "-o", "-", "--html", "r.html"], "--html cannot be combined"),
    ],
)
def test_pipe_usage_errors(
    tmp_path: Path, make_photo: Any, monkeypatch: pytest.MonkeyPatch, args: list[str], message: str
) -> None:
    monkeypatch.chdir(tmp_path)
    make_photo(tmp_path / "a.jpg")
    make_photo(tmp_path / "b.jpg")
    make_photo(tmp_path / "photos" / "c.jpg")
    r = cli_input(b"", "run", *args)
    assert r.exit_code == 2, r.output
    assert r.stdout_bytes == b""
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], lines
    assert not (tmp_path / "-").exists() and not (tmp_path / "out").exists()


# --------------------------------------------------------------------------- marker


def test_output_folder_inside_input_is_never_input_again(
    cli: Any, tmp_path: Path, make_photo: Any
) -> None:
    photos = tmp_path / "photos"
    make_photo(photos / "a.jpg", seed=1)
    make_photo(photos / "sub" / "b.png", seed=2)
    r = cli("run", photos, "-o", photos / "enhanced")
    assert r.exit_code == 0, r.output
    assert is_output_folder(photos / "enhanced")
    marker = json.loads((photos / "enhanced" / MARKER_NAME).read_text())
    assert marker["photoenhance_output"] == 1 and "created" in marker and "version" in marker
    # a different command line: the enhanced copies are not enhanced again
    rep = tmp_path / "r.json"
    r2 = cli("run", photos, "-o", tmp_path / "x", "--report", rep)
    assert r2.exit_code == 0, r2.output
    written = sorted(str(p.relative_to(tmp_path / "x")) for p in (tmp_path / "x").rglob("*.*"))
    assert written == [MARKER_NAME, MANIFEST_NAME, "a.jpg", "sub/b.png"]
    assert f"note: {photos / 'enhanced'}: {MARKER_REASON}" in r2.stderr
    files = {Path(f["input"]).name: f for f in json.loads(rep.read_text())["files"]}
    assert files["enhanced"]["status"] == "skipped" and files["enhanced"]["reason"] == MARKER_REASON
    # given explicitly, a marked folder is skipped too
    r3 = cli("run", photos / "enhanced", "-o", tmp_path / "y")
    assert r3.exit_code == 2 and MARKER_REASON in r3.stderr
    assert not (tmp_path / "y").exists()


def test_explicit_output_folder_with_user_files(cli: Any, tmp_path: Path, make_photo: Any) -> None:
    src = make_photo(tmp_path / "in" / "a.jpg")
    out = tmp_path / "mine"
    mine = out / "notes.txt"
    mine.parent.mkdir()
    mine.write_text("my notes")
    r = cli("run", src, "-o", out)
    assert r.exit_code == 0, r.output
    assert sorted(p.name for p in out.iterdir()) == [
        MARKER_NAME, MANIFEST_NAME, "a.jpg", "notes.txt"
    ]  # fmt: skip
    assert mine.read_text() == "my notes"


def test_output_folder_holding_the_users_photos_is_not_marked(
    cli: Any, tmp_path: Path, make_photo: Any
) -> None:
    src = make_photo(tmp_path / "in" / "a.jpg", seed=1)
    pictures = tmp_path / "Pictures"
    mine = make_photo(pictures / "holiday.jpg", seed=2)
    before = mine.read_bytes()
    r = cli("run", src, "-o", pictures)
    assert r.exit_code == 0, r.output
    assert "already holds photos of yours" in r.stderr and not is_output_folder(pictures)
    assert mine.read_bytes() == before
    # a later run over the folder still finds the user's photo
    r2 = cli("run", pictures, "-o", tmp_path / "x")
    assert r2.exit_code == 0, r2.output
    assert is_complete_image(tmp_path / "x" / "holiday.jpg")


def test_foreign_file_with_the_marker_name_is_kept(
    cli: Any, tmp_path: Path, make_photo: Any
) -> None:
    src = make_photo(tmp_path / "in" / "a.jpg")
    out = tmp_path / "out"
    out.mkdir()
    (out / MARKER_NAME).write_bytes(b"mine, not a marker")
    r = cli("run", src, "-o", out)
    assert r.exit_code == 0, r.output
    assert (out / MARKER_NAME).read_bytes() == b"mine, not a marker"
    assert "not marked as an output folder" in r.stderr and "warning:" in r.stderr
    assert is_complete_image(out / "a.jpg")


def test_dry_run_and_compare_folder_marking(cli: Any, tmp_path: Path, make_photo: Any) -> None:
    src = make_photo(tmp_path / "in" / "a.jpg")
    r = cli("run", src, "-o", tmp_path / "dry", "--dry-run")
    assert r.exit_code == 0 and not (tmp_path / "dry").exists()
    r = cli("run", src, "-o", tmp_path / "out", "--compare", tmp_path / "cmp")
    assert r.exit_code == 0, r.output
    assert is_output_folder(tmp_path / "out") and is_output_folder(tmp_path / "cmp")


# --------------------------------------------------------------------------- progress and report


def test_plain_progress_lines_when_stderr_is_a_pipe(tmp_path: Path, make_photo: Any) -> None:
    for i in range(3):
        make_photo(tmp_path / "in" / f"p{i}.jpg", seed=i)
    r = subprocess.run([*CMD, "run", str(tmp_path / "in"), "-o", str(tmp_path / "out")],
                       capture_output=True, text=True, timeout=120)  # fmt: skip
    assert r.returncode == 0, r.stderr
    lines = [ln for ln in r.stderr.splitlines() if " photos, " in ln]
    assert [ln.split(" ")[0] for ln in lines] == ["1/3", "2/3", "3/3"], r.stderr
    assert lines[-1].endswith("ETA 0s") and "MP/s" in lines[-1]
    assert "\x1b" not in r.stderr and "\r" not in r.stderr  # no bar, no terminal codes
    assert r.stdout == ""


def test_plain_progress_rule() -> None:
    from photoenhance.display import PlainProgress, duration

    assert [duration(s) for s in (0, 59.4, 80, 3600 + 5 * 60)] == ["0s", "59s", "1m20s", "1h05m"]
    p = PlainProgress(start=0.0, every=10.0)
    printed = [n for n in range(1, 41) if p.line(n, 40, n * 1.0, now=n * 0.1)]
    assert printed == [1, 4, 8, 12, 16, 20, 24, 28, 32, 36, 40]  # every tenth, and the end
    p = PlainProgress(start=0.0, every=10.0)
    assert p.line(1, 1000, 2.0, now=1.0) == "1/1000 photos, 2.0 MP/s, ETA 16m39s"
    assert p.line(2, 1000, 4.0, now=5.0) is None
    assert p.line(3, 1000, 6.0, now=11.5) is not None  # 10 s since the last line


def test_report_records_every_setting(cli: Any, tmp_path: Path, make_photo: Any) -> None:
    src = make_photo(tmp_path / "in" / "a.jpg")
    rep = tmp_path / "r.json"
    r = cli("run", src, "-o", tmp_path / "out", "--report", rep, "--strength", "0.7",
            "--format", "png", "--quality", "80", "--tile", "512", "--threads", "1",
            "--overwrite", "--no-recursive", "--max-megapixels", "50")  # fmt: skip
    assert r.exit_code == 0, r.output
    report = json.loads(rep.read_text())
    s = report["settings"]
    model_path = Path(s["model"])
    assert model_path.name == "photoenhance-int8.onnx"
    assert s["model_sha256"] == hashlib.sha256(model_path.read_bytes()).hexdigest()
    assert report["model"]["sha256"] == s["model_sha256"]
    assert s["provider"] == "CPUExecutionProvider"
    expected = {"strength": 0.7, "format": "png", "quality": 80, "tile": 512, "threads": 1,
                "overwrite": True, "recursive": False, "max_megapixels": 50.0,
                "output_dir": str(tmp_path / "out"), "compare_dir": None}  # fmt: skip
    assert {k: s[k] for k in expected} == expected
    assert s["tile_above_megapixels"] == {"megapixels": 24.0, "tile": 512}
    defaults = cli("run", src, "-o", tmp_path / "out2", "--report", tmp_path / "r2.json")
    assert defaults.exit_code == 0
    s2 = json.loads((tmp_path / "r2.json").read_text())["settings"]
    assert (s2["format"], s2["quality"], s2["threads"], s2["strength"], s2["tile"]) == (
        "same", "auto", "auto", 1.0, 2048,
    )  # fmt: skip


# --------------------------------------------------------------------------- watch


class Watch:
    """``photoenhance watch`` as a process; stderr read line by line on a thread."""

    def __init__(self, *args: str | Path) -> None:
        self.proc = subprocess.Popen(
            [*CMD, "watch", *map(str, args)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            preexec_fn=_interrupts_as_in_a_terminal,
        )  # fmt: skip
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        assert self.proc.stderr is not None
        self.reader = threading.Thread(target=self._read, args=(self.proc.stderr,), daemon=True)
        self.reader.start()

    def _read(self, stream: IO[str]) -> None:
        for line in stream:
            self.lines.put(line.rstrip("\n"))

    def wait_line(self, start: str, timeout: float = 60.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.1)
            except queue.Empty:
                assert self.proc.poll() is None, f"watch ended early: {self.seen}"
                continue
            self.seen.append(line)
            if line.startswith(start):
                return line
        raise AssertionError(f"no line starting {start!r} within {timeout} s: {self.seen}")

    def wait_count(self, start: str, n: int, timeout: float = 60.0) -> None:
        """Wait until ``n`` lines starting with ``start`` were printed (an event the test
        can wait on, not a time: under load a file can be in place before its line)."""
        deadline = time.monotonic() + timeout
        while sum(ln.startswith(start) for ln in self.seen) < n:
            left = deadline - time.monotonic()
            assert left > 0, f"not {n} lines starting {start!r} within {timeout} s: {self.seen}"
            self.wait_line(start, timeout=left)

    def stop(self, sig: int) -> tuple[int, list[str]]:
        self.proc.send_signal(sig)
        code = self.proc.wait(timeout=30)
        self.reader.join(timeout=30)  # read to the end of stderr (no fixed sleep: flaky)
        while not self.lines.empty():
            self.seen.append(self.lines.get())
        return code, self.seen


@pytest.fixture
def watch_proc() -> Iterator[list[Watch]]:
    started: list[Watch] = []
    yield started
    for w in started:  # a failed test must not leave its process behind
        if w.proc.poll() is None:
            w.proc.kill()
            w.proc.wait()


def wait_for(path: Path, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not (path.exists() and is_complete_image(path)):
        assert time.monotonic() < deadline, f"{path} not written within {timeout} s"
        time.sleep(0.05)


def write_slowly(src: Path, dst: Path, out: Path, pause_after: int, settle: float) -> None:
    """Copy ``src`` to ``dst`` in chunks; after chunk ``pause_after`` wait longer than the
    settle time (the half-written file is stable then, but does not decode).  The output
    ``out`` must not appear while the file is incomplete."""
    data = src.read_bytes()
    chunks = [data[i : i + len(data) // 8 + 1] for i in range(0, len(data), len(data) // 8 + 1)]
    with open(dst, "wb") as fh:
        for i, chunk in enumerate(chunks):
            fh.write(chunk)
            fh.flush()
            time.sleep(3 * settle if i == pause_after else 0.05)
            assert not out.exists(), f"half-written {dst.name} was processed (after chunk {i})"


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_watch_picks_up_new_photos_and_stops_cleanly(
    tmp_path: Path, make_photo: Any, watch_proc: list[Watch], sig: int
) -> None:
    settle = 0.3
    watched = tmp_path / "in"
    exif_photo(make_photo, watched / "before.jpg", seed=1)
    staging = tmp_path / "staging"
    first = exif_photo(make_photo, staging / "first.jpg", seed=2)
    second = exif_photo(make_photo, staging / "sub" / "second.jpg", seed=3)
    # SIGTERM run: the output folder lies inside the watched folder (it must be ignored)
    out = watched / "enhanced" if sig == signal.SIGTERM else tmp_path / "out"
    w = Watch(watched, "-o", out, "--settle", settle)
    watch_proc.append(w)
    ready = w.wait_line("Watching ")
    assert "1 photo there" in ready
    assert is_complete_image(out / "before.jpg")  # what was there is done before "ready"
    shutil.copy(first, watched / "first.jpg")
    (watched / "sub").mkdir()
    write_slowly(second, watched / "sub" / "second.jpg", out / "sub" / "second.jpg",
                 pause_after=3, settle=settle)  # fmt: skip
    w.wait_count("enhanced ", 3)  # before, first, sub/second: lines printed, files written
    if sig == signal.SIGINT:  # a photo changed after it was enhanced is enhanced again
        old = (out / "first.jpg").read_bytes()
        exif_photo(make_photo, staging / "first-v2.jpg", seed=7)
        shutil.copy(staging / "first-v2.jpg", watched / "first.jpg")
        w.wait_count(f"enhanced {watched / 'first.jpg'} ", 2)
        assert (out / "first.jpg").read_bytes() != old, "changed photo not redone"
    code, lines = w.stop(sig)
    assert code == 0, lines
    assert lines[-1].startswith("Stopped: "), lines
    assert not error_lines("\n".join(lines)), lines
    for name in ("before.jpg", "first.jpg", "sub/second.jpg"):
        assert is_complete_image(out / name)
        assert_exif_equal(piexif.load(str(watched / name)), read_exif(out / name), exact=True)
    names = sorted(str(p.relative_to(out)) for p in out.rglob("*"))
    assert names == [MARKER_NAME, MANIFEST_NAME, "before.jpg", "first.jpg", "sub", "sub/second.jpg"]
    assert is_output_folder(out)
    enhanced = [ln for ln in lines if ln.startswith("enhanced ")]
    assert len(enhanced) == (4 if sig == signal.SIGINT else 3), lines


def test_watch_usage_errors(cli: Any, tmp_path: Path, make_photo: Any) -> None:
    photo = make_photo(tmp_path / "a.jpg")
    for args, message in (
        ([tmp_path / "missing"], "does not exist"),
        ([photo], "not a folder"),
        ([tmp_path, "--settle", "-1"], "--settle"),
    ):
        r = cli("watch", *args, "-o", tmp_path / "out")
        assert r.exit_code == 2, r.output
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1 and message in lines[0], lines
    assert not (tmp_path / "out").exists()
