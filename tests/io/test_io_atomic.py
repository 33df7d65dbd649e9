"""atomic_write / clean_stale_temps / is_complete_image."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pytest
from PIL import Image

from photoenhance.io import (
    ImageWriteError,
    atomic_write,
    clean_stale_temps,
    is_complete_image,
    read_image,
    write_image,
)
from photoenhance.io import atomic as atomic_mod


def leftovers(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if "photoenhance-tmp" in p.name]


def test_success_replaces_and_leaves_no_temp(tmp_path: Path) -> None:
    dst = tmp_path / "out.bin"
    dst.write_bytes(b"old")
    atomic_write(dst, lambda fh: fh.write(b"new"))
    assert dst.read_bytes() == b"new"
    assert leftovers(tmp_path) == []


def test_temp_name_pattern(tmp_path: Path) -> None:
    seen: list[str] = []

    def write(fh: BinaryIO) -> None:
        seen.append(Path(fh.name).name)
        fh.write(b"x")

    atomic_write(tmp_path / "a b.jpg", write)
    assert seen[0].startswith(f".photoenhance-tmp-{atomic_mod._host_token()}-{os.getpid()}-")
    assert len(seen[0].encode()) < 64  # not derived from the destination's name


@pytest.mark.parametrize("length", [225, 247, 255])
def test_longest_names_can_be_written(tmp_path: Path, length: int) -> None:
    """Issue 11, item 5: the temporary was name + 31 bytes (ENAMETOOLONG above 224)."""
    dst = tmp_path / ("é" * ((length - 4) // 2) + "x" * ((length - 4) % 2) + ".jpg")
    assert len(dst.name.encode()) == length
    atomic_write(dst, lambda fh: fh.write(b"new"))
    assert dst.read_bytes() == b"new"
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("exc", [RuntimeError("boom"), OSError(errno.ENOSPC, "No space left on device")])
def test_failure_cleans_up_and_keeps_old(tmp_path: Path, exc: Exception) -> None:
    dst = tmp_path / "out.jpg"
    dst.write_bytes(b"old")

    def write(fh: BinaryIO) -> None:
        fh.write(b"partial")
        raise exc

    with pytest.raises(ImageWriteError) as info:
        atomic_write(dst, write)
    assert "\n" not in str(info.value) and str(dst) in str(info.value)
    if isinstance(exc, OSError):
        assert "disk full" in str(info.value)
    assert dst.read_bytes() == b"old"
    assert leftovers(tmp_path) == []


def test_keyboard_interrupt_cleans_up(tmp_path: Path) -> None:
    def write(fh: BinaryIO) -> None:
        fh.write(b"partial")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        atomic_write(tmp_path / "x.png", write)
    assert list(tmp_path.iterdir()) == []


def test_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(ImageWriteError, match="does not exist"):
        atomic_write(tmp_path / "nope" / "x.png", lambda fh: None)


@pytest.mark.skipif(os.name == "nt" or os.geteuid() == 0, reason="root ignores permissions")
def test_read_only_folder(tmp_path: Path) -> None:
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        with pytest.raises(ImageWriteError) as info:
            atomic_write(ro / "x.png", lambda fh: fh.write(b"x"))
        assert "permission denied" in str(info.value)
    finally:
        ro.chmod(0o700)


def test_write_image_failure_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    src = tmp_path / "s.png"
    Image.new("RGB", (8, 8), (1, 2, 3)).save(src)
    img = read_image(src)
    out = tmp_path / "out"
    out.mkdir()

    def full_disk(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(atomic_mod.os, "fsync", full_disk)
    with pytest.raises(ImageWriteError, match="disk full"):
        write_image(out / "s.png", img, img.rgb)
    assert list(out.iterdir()) == []


@pytest.fixture
def sleeper() -> Iterator[subprocess.Popen[bytes]]:
    """Another live process (the owner of a running run's temporaries)."""
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    yield proc
    proc.kill()
    proc.wait()


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def make_temp(folder: Path, name: str, age: float = 0.0) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"partial")
    if age:
        t = time.time() - age
        os.utime(path, (t, t))
    return path


def test_clean_stale_temps(tmp_path: Path) -> None:
    dead = dead_pid()
    a = make_temp(tmp_path, atomic_mod.temp_name_for(tmp_path / "a.jpg", pid=dead).name)
    b = make_temp(tmp_path / "sub", atomic_mod.temp_name_for(tmp_path / "b.png", pid=dead).name)
    (tmp_path / "keep.jpg").write_bytes(b"x")
    (tmp_path / ".other").write_bytes(b"x")
    assert clean_stale_temps(tmp_path) == 2
    assert not a.exists() and not b.exists()
    assert sorted(p.name for p in tmp_path.rglob("*")) == [".other", "keep.jpg", "sub"]


def test_temps_of_running_processes_are_kept(
    tmp_path: Path, sleeper: subprocess.Popen[bytes]
) -> None:
    """Issue 11, item 7: a second run's start-up clean-up deleted a running run's temporary."""
    live = make_temp(tmp_path, atomic_mod.temp_name_for(tmp_path / "a.jpg", pid=sleeper.pid).name)
    mine = make_temp(tmp_path, atomic_mod.temp_name_for(tmp_path / "b.jpg").name)
    old_but_live = make_temp(
        tmp_path, atomic_mod.temp_name_for(tmp_path / "c.jpg", pid=sleeper.pid).name, age=2e5
    )
    assert clean_stale_temps(tmp_path) == 0
    assert live.exists() and mine.exists() and old_but_live.exists()
    sleeper.kill()
    sleeper.wait()
    assert clean_stale_temps(tmp_path) == 2  # its owner is gone now
    assert [p.name for p in tmp_path.iterdir()] == [mine.name]


def test_reused_pid_is_not_its_owner(tmp_path: Path, sleeper: subprocess.Popen[bytes]) -> None:
    if atomic_mod._start_time(sleeper.pid) is None:
        pytest.skip("no /proc: start times unknown")
    host = atomic_mod._host_token()
    reused = make_temp(tmp_path, f".photoenhance-tmp-{host}-{sleeper.pid}-1-abcd")
    assert clean_stale_temps(tmp_path) == 1
    assert not reused.exists()


def test_unverifiable_temps_are_removed_only_when_old(tmp_path: Path) -> None:
    """Another machine's (or an older version's) temporaries: the owner cannot be checked."""
    names = [".photoenhance-tmp-00000000-123-456-abcd", ".a.jpg.photoenhance-tmp-0123456789ab"]
    fresh = [make_temp(tmp_path / "fresh", n) for n in names]
    old = [make_temp(tmp_path / "old", n, age=atomic_mod.STALE_AFTER_SECONDS + 60) for n in names]
    assert clean_stale_temps(tmp_path) == 2
    assert all(p.exists() for p in fresh) and not any(p.exists() for p in old)


@pytest.mark.parametrize("suffix", [".jpg", ".png"])
def test_is_complete_image(tmp_path: Path, suffix: str) -> None:
    p = tmp_path / f"a{suffix}"
    rng = np.random.default_rng(0)
    Image.fromarray((rng.random((64, 64, 3)) * 255).astype(np.uint8)).save(p)
    assert is_complete_image(p)
    data = p.read_bytes()
    p.write_bytes(data[: len(data) // 2])
    assert not is_complete_image(p)
    p.write_bytes(b"")
    assert not is_complete_image(p)
    assert not is_complete_image(tmp_path / "missing.png")


def test_read_only_folder_simulated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Same as above but also runs as root: creating the temp file is refused."""
    def deny(*a: object, **k: object) -> None:
        raise PermissionError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(atomic_mod, "open", deny, raising=False)
    with pytest.raises(ImageWriteError, match="permission denied") as info:
        atomic_write(tmp_path / "x.png", lambda fh: fh.write(b"x"))
    assert "\n" not in str(info.value)
    assert list(tmp_path.iterdir()) == []


def test_clean_stale_spools_removes_only_folders_of_gone_processes(tmp_path: Path) -> None:
    """Issue 20 item 15: pipe folders (stdin's copy) of killed runs are removed; those of
    live processes are kept, and those that cannot be checked until they are a day old.
    (Since issue 19 pipe runs make no such folder; older versions' leftovers still go.)"""
    from photoenhance.io.atomic import owner_token
    from photoenhance.io.pipe import SPOOL_PREFIX, clean_stale_spools

    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    mine = tmp_path / f"{SPOOL_PREFIX}{owner_token()}-k3j_x9"  # this process: alive
    mine.mkdir()
    (mine / "stdin").write_bytes(b"x" * 10)
    dead = tmp_path / f"photoenhance-pipe-{owner_token(gone.pid).rsplit('-', 1)[0]}-1-abc"
    (dead / "out").mkdir(parents=True)
    (dead / "stdin").write_bytes(b"x" * 10)
    old, young = tmp_path / "photoenhance-pipe-old_x1", tmp_path / "photoenhance-pipe-new_x2"
    old.mkdir(), young.mkdir()
    os.utime(old, (time.time() - 2 * 86400,) * 2)
    other = tmp_path / "photoenhance-pipe-file"  # not a folder: not ours to remove
    other.write_bytes(b"")
    assert clean_stale_spools(tmp_path) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([mine.name, young.name, other.name])
