"""watch's readiness rule and filters, with the clock passed in (no waiting)."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import pytest

from photoenhance.infer.types import RunConfig
from photoenhance.infer.watch import WatchConfig, _Watcher


@pytest.fixture
def state(tmp_path: Path) -> _Watcher:
    config = WatchConfig(
        (tmp_path / "in",), RunConfig(output_dir=tmp_path / "in" / "out"), settle=1.0, give_up=10.0
    )
    (tmp_path / "in").mkdir()
    return _Watcher(config, enhancer=None, stop=threading.Event(), on_event=None)  # type: ignore[arg-type]


def test_wanted_filters_names_and_the_output_folder(state: _Watcher, tmp_path: Path) -> None:
    w = tmp_path / "in"
    assert state.wanted(str(w / "a.jpg")) and state.wanted(str(w / "sub" / "B.HEIC"))
    assert not state.wanted(str(w / "notes.txt"))
    assert not state.wanted(str(w / ".photoenhance-tmp-1234abcd-1-2-ff"))
    assert not state.wanted(str(w / ".a.jpg.partial")) and not state.wanted(str(w / "._a.jpg"))
    assert not state.wanted(str(w / "out" / "a.jpg"))  # our own output folder


def test_a_complete_photo_is_taken_once_it_settles(
    state: _Watcher, tmp_path: Path, make_photo: Any
) -> None:
    photo = make_photo(tmp_path / "in" / "a.jpg")
    state.notice([str(photo)])
    assert state.settled(100.0) == []  # first look
    assert state.settled(100.9) == []  # unchanged for less than settle
    assert state.settled(101.0) == [photo.resolve()]
    assert state.waiting == {}


def test_a_change_restarts_the_settle_time(
    state: _Watcher, tmp_path: Path, make_photo: Any
) -> None:
    photo = make_photo(tmp_path / "in" / "a.jpg")
    state.notice([str(photo)])
    assert state.settled(0.0) == []
    with open(photo, "ab") as fh:
        fh.write(b"\0")  # the size changed
    assert state.settled(5.0) == []
    assert state.settled(5.5) == []
    assert state.settled(6.0) == [photo.resolve()]


def test_a_half_written_photo_waits_then_is_handed_over_after_give_up(
    state: _Watcher, tmp_path: Path, make_photo: Any
) -> None:
    full = make_photo(tmp_path / "a.jpg", w=200, h=150).read_bytes()
    half = tmp_path / "in" / "a.jpg"
    half.write_bytes(full[: len(full) // 2])
    state.notice([str(half)])
    assert state.settled(0.0) == []
    assert state.settled(1.0) == []  # stable but does not decode: waits
    assert state.waiting[half.resolve()] is not None and state.waiting[half.resolve()].incomplete
    assert state.settled(9.9) == []
    assert state.settled(10.0) == [half.resolve()]  # never completed: the decoder reports it


def test_a_half_written_photo_completed_later_is_taken(
    state: _Watcher, tmp_path: Path, make_photo: Any
) -> None:
    full = make_photo(tmp_path / "a.jpg", w=200, h=150).read_bytes()
    photo = tmp_path / "in" / "a.jpg"
    photo.write_bytes(full[: len(full) // 2])
    state.notice([str(photo)])
    assert state.settled(0.0) == [] and state.settled(2.0) == []
    photo.write_bytes(full)
    assert state.settled(3.0) == []
    assert state.settled(4.0) == [photo.resolve()]


def test_deleted_files_and_folders_moved_in(
    state: _Watcher, tmp_path: Path, make_photo: Any
) -> None:
    gone = make_photo(tmp_path / "in" / "gone.jpg")
    state.notice([str(gone)])
    os.unlink(gone)
    assert state.settled(0.0) == [] and state.waiting == {}
    moved = tmp_path / "in" / "trip"
    make_photo(moved / "x.jpg")
    make_photo(moved / "deeper" / "y.png")
    (moved / "notes.txt").write_text("no")
    state.notice([str(moved)])
    assert sorted(p.name for p in state.waiting) == ["x.jpg", "y.png"]


def test_config_validation(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="--settle"):
        WatchConfig((tmp_path,), RunConfig(), settle=-1)
    with pytest.raises(ValueError, match="folder"):
        WatchConfig((), RunConfig())
