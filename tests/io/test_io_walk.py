"""walk_inputs: recursion, ignores, symlink loops, output folder, problems, order."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from photoenhance.io import SUPPORTED_SUFFIXES, InputFile, walk_inputs


def touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x")
    return path


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "in"
    for rel in ["b.JPG", "a.png", "sub/c.TiFf", "sub/deep/d.webp", "sub/e.heic", "f.jpeg",
                "notes.txt", ".hidden.jpg", ".hid/g.jpg", "._a.jpg", ".DS_Store", "Thumbs.db",
                "desktop.ini", "sub/Thumbs.db"]:  # fmt: skip
        touch(root / rel)
    return root


def rels(files: tuple[InputFile, ...]) -> list[str]:
    return [f.relative.as_posix() for f in files]


def test_recursive_sorted_and_ignores(tree: Path) -> None:
    res = walk_inputs([tree], output_dir=None)
    assert rels(res.files) == ["a.png", "b.JPG", "f.jpeg", "sub/c.TiFf", "sub/deep/d.webp", "sub/e.heic"]
    assert all(f.root == tree and f.path == tree / f.relative for f in res.files)
    assert res.problems == ()


def test_non_recursive(tree: Path) -> None:
    res = walk_inputs([tree], output_dir=None, recursive=False)
    assert rels(res.files) == ["a.png", "b.JPG", "f.jpeg"]


def test_deterministic(tree: Path) -> None:
    assert walk_inputs([tree], output_dir=None) == walk_inputs([tree], output_dir=None)


def test_output_dir_inside_input_never_walked(tree: Path) -> None:
    out = tree / "enhanced"
    touch(out / "a.png")
    touch(out / "nested" / "z.jpg")
    res = walk_inputs([tree], output_dir=out)
    assert not any("enhanced" in f.relative.parts for f in res.files)
    res2 = walk_inputs([out / "a.png"], output_dir=out)
    assert res2.files == () and "output folder" in res2.problems[0][1]


def test_explicit_files_and_problems(tree: Path, tmp_path: Path) -> None:
    res = walk_inputs([tree / "a.png", tree / "notes.txt", tmp_path / "missing.jpg"], output_dir=None)
    assert [f.path for f in res.files] == [tree / "a.png"]
    assert res.files[0].relative == Path("a.png") and res.files[0].root == tree
    reasons = dict(res.problems)
    assert "unsupported" in reasons[tree / "notes.txt"]
    assert "does not exist" in reasons[tmp_path / "missing.jpg"]


def test_directory_named_like_photo(tmp_path: Path) -> None:
    touch(tmp_path / "in" / "x.jpg" / "inner.png")
    res = walk_inputs([tmp_path / "in"], output_dir=None)
    assert rels(res.files) == ["x.jpg/inner.png"]
    assert res.problems == ((tmp_path / "in" / "x.jpg", "is a directory, not a photo"),)
    res2 = walk_inputs([tmp_path / "in" / "x.jpg"], output_dir=None)
    assert res2.problems[0][1] == "is a directory, not a photo"
    assert rels(res2.files) == ["inner.png"]
    res3 = walk_inputs([tmp_path / "in"], output_dir=None, recursive=False)
    assert res3.files == () and len(res3.problems) == 1


@pytest.mark.skipif(os.name == "nt", reason="symlinks")
def test_symlink_loop_not_followed(tmp_path: Path) -> None:
    root = tmp_path / "in"
    touch(root / "sub" / "a.jpg")
    (root / "sub" / "loop").symlink_to(root, target_is_directory=True)
    (root / "self").symlink_to(root / "sub", target_is_directory=True)
    res = walk_inputs([root], output_dir=None)
    assert len(res.files) == 1


def test_case_insensitive_suffixes() -> None:
    assert {".jpg", ".jpeg", ".png", ".tif", ".tiff", ".webp", ".heic", ".heif"} <= SUPPORTED_SUFFIXES


def test_duplicates_once(tree: Path) -> None:
    res = walk_inputs([tree / "a.png", tree, tree / "a.png"], output_dir=None)
    assert [f.path.name for f in res.files].count("a.png") == 1


def test_unicode_and_spaces(tmp_path: Path) -> None:
    p = touch(tmp_path / "Ürlaub 2024" / "straße café.JPEG")
    res = walk_inputs([tmp_path / "Ürlaub 2024"], output_dir=None)
    assert [f.path for f in res.files] == [p]


@pytest.mark.skipif(os.name == "nt", reason="FIFOs and symlinks")
def test_special_files_are_reported_as_skipped(tmp_path: Path) -> None:
    """Issue 11, item 12: special entries inside folders were skipped without a word."""
    root = tmp_path / "in"
    touch(root / "good.jpg")
    os.mkfifo(root / "fifo.jpg")
    os.mkfifo(root / "pipe.txt")  # not named like a photo: ignored like any other non-photo
    (root / "dangling.jpg").symlink_to(root / "gone.jpg")
    (root / "album").symlink_to(tmp_path / "unmounted")  # may have been a folder of photos
    (root / "loop1.png").symlink_to(root / "loop2.png")
    (root / "loop2.png").symlink_to(root / "loop1.png")
    (root / "to-fifo.webp").symlink_to(root / "fifo.jpg")
    res = walk_inputs([root], output_dir=None)
    assert rels(res.files) == ["good.jpg"]
    assert res.problems == ()
    reasons = {p.name: r for p, r in res.skipped}
    assert set(reasons) == {"fifo.jpg", "dangling.jpg", "album", "loop1.png", "loop2.png", "to-fifo.webp"}
    assert reasons["fifo.jpg"] == "is a named pipe (FIFO), not a photo; skipped"
    assert reasons["to-fifo.webp"] == "links to a named pipe (FIFO), not a photo; skipped"
    assert reasons["dangling.jpg"].startswith("broken symlink")
    assert reasons["album"].startswith("broken symlink")
    assert reasons["loop1.png"] == "symlink loop; skipped"
    if Path("/dev/null").exists():
        null = root / "null.jpg"
        null.symlink_to("/dev/null")
        reasons = {p.name: r for p, r in walk_inputs([root], output_dir=None).skipped}
        assert reasons["null.jpg"] == "links to a character device, not a photo; skipped"
