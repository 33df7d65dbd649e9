"""atomic_write / clean_stale_temps / is_complete_image."""

from __future__ import annotations

import errno
import os
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
    assert seen[0].startswith(".a b.jpg.photoenhance-tmp-")


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

    import photoenhance.io.atomic as atomic_mod

    def full_disk(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(atomic_mod.os, "fsync", full_disk)
    with pytest.raises(ImageWriteError, match="disk full"):
        write_image(out / "s.png", img, img.rgb)
    assert list(out.iterdir()) == []


def test_clean_stale_temps(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / ".a.jpg.photoenhance-tmp-abc123").write_bytes(b"x")
    (tmp_path / "sub" / ".b.png.photoenhance-tmp-ffff").write_bytes(b"x")
    (tmp_path / "keep.jpg").write_bytes(b"x")
    (tmp_path / ".other").write_bytes(b"x")
    assert clean_stale_temps(tmp_path) == 2
    assert sorted(p.name for p in tmp_path.rglob("*")) == [".other", "keep.jpg", "sub"]


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
    import photoenhance.io.atomic as atomic_mod

    def deny(*a: object, **k: object) -> None:
        raise PermissionError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(atomic_mod, "open", deny, raising=False)
    with pytest.raises(ImageWriteError, match="permission denied") as info:
        atomic_write(tmp_path / "x.png", lambda fh: fh.write(b"x"))
    assert "\n" not in str(info.value)
    assert list(tmp_path.iterdir()) == []
