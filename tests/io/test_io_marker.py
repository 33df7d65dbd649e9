"""The output-folder marker: written once, never over a user's file, and walking skips
marked folders (given or found) with a reason."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from photoenhance.io import (
    MARKER_NAME,
    MARKER_REASON,
    is_output_folder,
    mark_output_folder,
    walk_inputs,
)


def touch(path: Path, data: bytes = b"x") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_mark_writes_small_json_once(tmp_path: Path) -> None:
    assert not is_output_folder(tmp_path)
    assert mark_output_folder(tmp_path, "9.9") is None
    marker = tmp_path / MARKER_NAME
    body = json.loads(marker.read_bytes())
    assert body["photoenhance_output"] == 1 and body["version"] == "9.9" and "T" in body["created"]
    assert is_output_folder(tmp_path)
    before = marker.read_bytes()
    os.utime(marker, ns=(1, 1))
    assert mark_output_folder(tmp_path, "10.0") is None  # already marked: left as it is
    assert marker.read_bytes() == before and marker.stat().st_mtime_ns == 1
    assert [p.name for p in tmp_path.iterdir()] == [MARKER_NAME]  # no temporary left


@pytest.mark.parametrize("data", [b"my notes\n", b"", b'{"other": 1}', b"[1, 2]", b"\xff\xfe"])
def test_user_file_named_like_marker_is_kept_and_not_trusted(tmp_path: Path, data: bytes) -> None:
    mine = touch(tmp_path / MARKER_NAME, data)
    why = mark_output_folder(tmp_path)
    assert why is not None and "not photoenhance's" in why
    assert mine.read_bytes() == data
    assert not is_output_folder(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [MARKER_NAME]


def test_marker_that_is_a_folder_or_link_or_big_is_not_trusted(tmp_path: Path) -> None:
    (tmp_path / "a" / MARKER_NAME).mkdir(parents=True)
    assert not is_output_folder(tmp_path / "a") and mark_output_folder(tmp_path / "a") is not None
    real = touch(tmp_path / "real.json", b'{"photoenhance_output": 1}')
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / MARKER_NAME).symlink_to(real)
    assert not is_output_folder(tmp_path / "b")
    assert (
        tmp_path / "b" / MARKER_NAME
    ).is_symlink() and real.read_bytes() == b'{"photoenhance_output": 1}'
    touch(
        tmp_path / "c" / MARKER_NAME, b'{"photoenhance_output": 1, "pad": "' + b"x" * 5000 + b'"}'
    )
    assert not is_output_folder(tmp_path / "c")


def test_mark_creates_the_folder_and_reports_an_impossible_one(tmp_path: Path) -> None:
    assert mark_output_folder(tmp_path / "new" / "out") is None
    assert is_output_folder(tmp_path / "new" / "out")
    touch(tmp_path / "file")
    why = mark_output_folder(tmp_path / "file" / "out")
    assert why is not None and why.startswith("not marked as an output folder")


def test_walk_skips_marked_folders_found_and_given(tmp_path: Path) -> None:
    photos = tmp_path / "photos"
    touch(photos / "a.jpg")
    touch(photos / "sub" / "b.jpg")
    assert mark_output_folder(photos / "enhanced") is None  # marked first, then written
    touch(photos / "enhanced" / "a.jpg")
    touch(photos / "enhanced" / "deep" / "c.jpg")
    res = walk_inputs([photos], output_dir=tmp_path / "elsewhere")
    assert [f.relative.as_posix() for f in res.files] == ["a.jpg", "sub/b.jpg"]
    assert res.skipped == ((photos / "enhanced", MARKER_REASON),)
    given = walk_inputs([photos / "enhanced"], output_dir=tmp_path / "x")
    assert given.files == () and given.skipped == ((photos / "enhanced", MARKER_REASON),)
    # a photo named explicitly is still read
    explicit = walk_inputs([photos / "enhanced" / "a.jpg"], output_dir=tmp_path / "x")
    assert [f.path for f in explicit.files] == [photos / "enhanced" / "a.jpg"]
    # deleting the marker makes it an ordinary folder again
    (photos / "enhanced" / MARKER_NAME).unlink()
    again = walk_inputs([photos], output_dir=tmp_path / "elsewhere")
    assert len(again.files) == 4 and again.skipped == ()


def test_walk_ignores_foreign_marker_named_file(tmp_path: Path) -> None:
    touch(tmp_path / "in" / "a.jpg")
    touch(tmp_path / "in" / MARKER_NAME, b"not ours")
    res = walk_inputs([tmp_path / "in"], output_dir=None)
    assert [f.relative.as_posix() for f in res.files] == ["a.jpg"] and res.skipped == ()


def test_a_folder_holding_the_users_photos_is_never_marked(tmp_path: Path) -> None:
    pictures = tmp_path / "Pictures"
    (pictures / "2024" / "trip").mkdir(parents=True)
    (pictures / "notes.txt").write_text("mine")
    (pictures / ".hidden.jpg").write_bytes(b"a temporary")
    (pictures / "2024" / "trip" / "IMG_1.JPG").write_bytes(b"a photo of the user's")
    why = mark_output_folder(pictures)
    assert why is not None and "already holds photos of yours (IMG_1.JPG" in why
    assert not (pictures / MARKER_NAME).exists() and not is_output_folder(pictures)
    # without photos (only other files, hidden temporaries) it is marked
    (pictures / "2024" / "trip" / "IMG_1.JPG").unlink()
    assert mark_output_folder(pictures) is None and is_output_folder(pictures)
    # once marked, photos written there later do not unmark it
    (pictures / "out.jpg").write_bytes(b"an enhanced photo")
    assert mark_output_folder(pictures) is None and is_output_folder(pictures)
