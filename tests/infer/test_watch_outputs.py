"""What watch may write and replace (issue 20): never a file it did not write, redo a
photo whose identity changed (older mtimes, replaced while enhanced), give every photo the
name ``run`` gives it, remove its outputs of photos that are gone.  Driven through
:class:`~photoenhance.infer.watch._Watcher` with a clock passed in and a fake network
(deterministic, fast), no file-system notifications."""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from photoenhance.infer.local import run_local
from photoenhance.infer.model_file import bundled_model_path
from photoenhance.infer.naming import plan_batch
from photoenhance.infer.ort_session import read_model_info
from photoenhance.infer.types import RunConfig, Status
from photoenhance.infer.watch import WatchConfig, WatchEvent, _Watcher
from photoenhance.io import MARKER_NAME, is_output_folder
from photoenhance.io.manifest import MANIFEST_NAME


class FakeEnhancer:
    """Inverts the pixels; ``during`` (if set) runs once, inside the next enhance."""

    provider = "fake"

    def __init__(self) -> None:
        self.during: Callable[[], None] | None = None
        self.calls = 0

    @property
    def info(self) -> Any:  # what run_batch reports about the model
        return read_model_info(bundled_model_path())

    def enhance(self, rgb: np.ndarray, *, strength: float = 1.0, out: Any = None, **_: Any) -> Any:
        self.calls += 1
        if self.during is not None:
            hook, self.during = self.during, None
            hook()
        return np.subtract(1.0, rgb, out=out)


class Driver:
    """A watcher over ``inp`` -> ``out`` whose events the test delivers itself."""

    def __init__(self, inp: Path, out: Path, fmt: str | None = None, overwrite: bool = False):
        self.enhancer = FakeEnhancer()
        self.events: list[WatchEvent] = []
        run = RunConfig(output_dir=out, format=fmt, overwrite=overwrite)
        config = WatchConfig((inp,), run, settle=0.0, give_up=0.0)
        self.state = _Watcher(config, self.enhancer, threading.Event(), self.events.append)  # type: ignore[arg-type]
        self.clock = 0.0

    def start(self) -> None:
        self.state.prepare()
        self.state.initial()
        self.settle()

    def settle(self, touched: Sequence[Path] = (), deleted: Sequence[Path] = ()) -> None:
        """Deliver the events, then tick until nothing waits."""
        self.state.forget([str(p) for p in deleted])
        self.state.notice([str(p) for p in touched])
        for _ in range(20):
            self.clock += 1.0
            self.state.step(self.clock)
            if not self.state.waiting and not self.state.dirty:
                return
        raise AssertionError(f"still waiting: {self.state.waiting}")

    def results(self, status: str) -> list[Any]:
        return [e.result for e in self.events if e.result is not None and e.result.status == status]

    def warnings(self) -> list[str]:
        return [e.message or "" for e in self.events if e.kind == "warning"]


def photos_of(folder: Path) -> dict[str, bytes]:
    """The files under ``folder`` (not hidden), by relative path."""
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not p.name.startswith(".")
    }


def run_outputs(inp: Path, tmp: Path, fmt: str | None = None) -> dict[str, bytes]:
    """What ``run INP -o FRESH`` writes (same fake network): file names and bytes."""
    fresh = tmp / f"run-{len(list(tmp.glob('run-*')))}"
    config = RunConfig(output_dir=fresh, format=fmt)
    try:
        plan = plan_batch([inp], config)
    except ValueError:
        return {}
    results = run_local(plan, config, FakeEnhancer())  # type: ignore[arg-type]
    assert all(r.status == Status.OK for r in results.values()), results
    return photos_of(fresh) if fresh.exists() else {}


def set_mtime(path: Path, seconds_ago: float) -> None:
    t = os.stat(path).st_mtime - seconds_ago
    os.utime(path, (t, t))


# --------------------------------------------------------------------------- item 1


def test_a_users_photo_in_the_output_folder_is_never_replaced(
    tmp_path: Path, make_photo: Any
) -> None:
    """``watch in -o Pictures``: Pictures/IMG_0001.jpg (the user's, older) stays as it
    is, whether in/IMG_0001.jpg is there at start or arrives later; the skip says why and
    the unmarked folder is a warning of the watch."""
    inp, pictures = tmp_path / "in", tmp_path / "Pictures"
    mine = make_photo(pictures / "IMG_0001.jpg", seed=1)
    mine2 = make_photo(pictures / "IMG_0002.jpg", seed=2)
    set_mtime(mine, 3600)
    set_mtime(mine2, 3600)
    before = photos_of(pictures)
    make_photo(inp / "IMG_0001.jpg", seed=3)
    d = Driver(inp, pictures)
    d.start()
    arriving = make_photo(inp / "IMG_0002.jpg", seed=4)
    d.settle([arriving])
    make_photo(inp / "IMG_0001.jpg", seed=5)  # changed: still not ours to replace
    d.settle([inp / "IMG_0001.jpg"])
    assert photos_of(pictures) == before
    skipped = d.results("skipped")
    assert {r.input.name for r in skipped} == {"IMG_0001.jpg", "IMG_0002.jpg"}
    assert all("not one photoenhance wrote" in (r.reason or "") for r in skipped)
    assert not d.results("ok") and d.enhancer.calls == 0
    assert any("already holds photos of yours" in w for w in d.warnings())
    assert not is_output_folder(pictures)


def test_an_output_of_ours_the_user_replaced_is_theirs(tmp_path: Path, make_photo: Any) -> None:
    inp, out = tmp_path / "in", tmp_path / "out"
    photo = make_photo(inp / "a.jpg", seed=1)
    d = Driver(inp, out)
    d.start()
    assert (out / "a.jpg").exists() and is_output_folder(out)
    mine = make_photo(tmp_path / "mine.jpg", seed=9)
    shutil.copy(mine, out / "a.jpg")  # the user's own version now
    make_photo(photo, seed=2)
    d.settle([photo])
    assert (out / "a.jpg").read_bytes() == mine.read_bytes()
    assert d.results("skipped")[-1].reason is not None


# --------------------------------------------------------------------------- item 2


@pytest.mark.parametrize("restart", [False, True], ids=["while-watching", "after-restart"])
def test_a_photo_replaced_by_one_with_an_older_mtime_is_redone(
    tmp_path: Path, make_photo: Any, restart: bool
) -> None:
    """cp -p / rsync -t / Syncthing keep the (older) modification time."""
    inp, out = tmp_path / "in", tmp_path / "out"
    photo = make_photo(inp / "a.jpg", seed=1)
    d = Driver(inp, out)
    d.start()
    first = (out / "a.jpg").read_bytes()
    older = make_photo(tmp_path / "older.jpg", seed=2)
    set_mtime(older, 7200)
    shutil.copy2(older, photo)  # keeps the older mtime
    if restart:
        d = Driver(inp, out)
        d.start()
    else:
        d.settle([photo])
    assert (out / "a.jpg").read_bytes() != first
    assert photos_of(out) == run_outputs(inp, tmp_path)


def test_an_unchanged_photo_is_not_redone(
    tmp_path: Path, make_photo: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    inp, out = tmp_path / "in", tmp_path / "out"
    make_photo(inp / "a.jpg", seed=1)
    Driver(inp, out).start()
    import photoenhance.infer.watch as watch_module

    decoded: list[Path] = []
    complete = watch_module.is_complete_image

    def counting(path: Path) -> bool:
        decoded.append(Path(path))
        return complete(path)

    monkeypatch.setattr(watch_module, "is_complete_image", counting)
    d = Driver(inp, out)  # a restart: the record says it is up to date
    d.start()
    d.settle([inp / "a.jpg"])  # an event without a change (a touch of the folder...)
    assert d.enhancer.calls == 0 and not d.events
    assert not [p for p in decoded if out in p.parents]  # outputs are not decoded to judge


# --------------------------------------------------------------------------- item 3


def test_a_photo_replaced_while_it_is_enhanced_is_redone(tmp_path: Path, make_photo: Any) -> None:
    inp, out = tmp_path / "in", tmp_path / "out"
    photo = make_photo(inp / "a.jpg", seed=1)
    d = Driver(inp, out)
    newer = make_photo(tmp_path / "newer.jpg", seed=2)
    d.enhancer.during = lambda: shutil.copy(newer, photo)
    d.start()
    # the watcher's event for the copy arrives after the photo was written
    d.settle([photo])
    assert d.enhancer.calls == 2
    assert photos_of(out) == run_outputs(inp, tmp_path)


# --------------------------------------------------------------------------- item 4


def test_names_under_watch_are_runs_names(tmp_path: Path, make_photo: Any) -> None:
    """--format jpeg: a.png -> a.jpg; a different a.jpg arriving later takes a.jpg
    (as run gives it) and a.png's output moves to a.png.jpg, never lost or overwritten
    by another photo's."""
    inp, out = tmp_path / "in", tmp_path / "out"
    make_photo(inp / "a.png", seed=1)
    d = Driver(inp, out, fmt="jpeg")
    d.start()
    assert sorted(photos_of(out)) == ["a.jpg"]
    jpg = make_photo(inp / "a.jpg", seed=2)
    d.settle([jpg])
    assert photos_of(out) == run_outputs(inp, tmp_path, "jpeg")
    assert sorted(photos_of(out)) == ["a.jpg", "a.png.jpg"]
    os.unlink(jpg)  # and back: a.png's output is a.jpg again, a.png.jpg goes
    d.settle(deleted=[jpg])
    assert photos_of(out) == run_outputs(inp, tmp_path, "jpeg")


def test_outputs_of_photos_gone_are_removed_only_if_ours(tmp_path: Path, make_photo: Any) -> None:
    inp, out = tmp_path / "in", tmp_path / "out"
    a = make_photo(inp / "a.jpg", seed=1)
    b = make_photo(inp / "b.jpg", seed=2)
    other = make_photo(tmp_path / "elsewhere" / "c.jpg", seed=3)
    (out / "notes").mkdir(parents=True)
    (out / "notes" / "x.txt").write_text("mine")
    d = Driver(inp, out)
    d.start()
    # an output of another folder's run in the same output folder
    config = RunConfig(output_dir=out)
    from photoenhance.infer.runner import run_batch

    run_batch([other], config, enhancer=d.enhancer)  # type: ignore[arg-type]
    assert (out / "c.jpg").exists()
    mine = make_photo(tmp_path / "mine.jpg", seed=8)
    shutil.copy(mine, out / "b.jpg")  # the user replaced our b.jpg with their own
    os.unlink(a)
    os.unlink(b)
    d.settle(deleted=[a, b])
    assert not (out / "a.jpg").exists()
    assert (out / "b.jpg").read_bytes() == mine.read_bytes()
    assert (out / "c.jpg").exists() and (out / "notes" / "x.txt").read_text() == "mine"
    assert (out / MARKER_NAME).exists() and (out / MANIFEST_NAME).exists()


# --------------------------------------------------------------------------- acceptance property

NAMES = ("a.jpg", "a.png", "b.jpg", "b.png")
_file = st.sampled_from(NAMES)
_seed = st.integers(0, 50)
OPS = st.one_of(
    st.tuples(st.just("add"), _file, _seed),
    st.tuples(st.just("replace"), _file, _seed, st.sampled_from(["newer", "older", "same"])),
    st.tuples(st.just("during"), _file, _seed, _seed),
    st.tuples(st.just("rename"), _file, _file),
    st.tuples(st.just("delete"), _file),
    st.tuples(st.just("restart")),
)


def _replace_file(make_photo: Any, path: Path, seed: int, mtime: str = "newer") -> None:
    """A new version of ``path`` (written aside, renamed over it: a new inode), with a
    newer, older or the same modification time as the version it replaces."""
    old = os.stat(path).st_mtime_ns
    tmp = make_photo(path.with_name(f".new-{path.name}"), w=48, h=32, seed=seed)
    if mtime != "newer":
        t = old - (3_600_000_000_000 if mtime == "older" else 0)
        os.utime(tmp, ns=(t, t))
    os.replace(tmp, path)


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    fmt=st.sampled_from([None, "jpeg"]),
    before=st.lists(st.tuples(_file, _seed), max_size=3),
    users=st.lists(st.sampled_from(["a.jpg", "b.jpg", "b.png"]), max_size=1),
    ops=st.lists(OPS, min_size=1, max_size=7),
)
def test_watch_ends_where_run_ends_and_never_touches_what_is_not_ours(
    make_photo: Any, fmt: str | None, before: list[Any], users: list[str], ops: list[Any]
) -> None:
    """Random add / replace (newer, older, same mtime; during enhancement) / rename /
    delete / restart over a few names and formats: at the end the output folder holds
    what ``run`` on the final input folder writes (names and bytes: the fake network and
    the encoders are deterministic), and the files of the user's that were there before
    watch started are unchanged."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        inp, out = root / "in", root / "out"
        inp.mkdir()
        for name, seed in before:
            make_photo(inp / name, w=48, h=32, seed=seed)
        theirs = {n: make_photo(out / n, w=48, h=32, seed=99).read_bytes() for n in users}
        d = Driver(inp, out, fmt=fmt)
        d.start()
        pending: list[Path] = []

        def settle(touched: Sequence[Path] = (), deleted: Sequence[Path] = ()) -> None:
            d.settle(touched, deleted)
            while pending:  # the event of a replacement made during an enhancement
                d.settle([pending.pop()])

        for op in ops:
            kind, path = op[0], inp / op[1] if len(op) > 1 else None
            if kind == "add" and path is not None and not path.exists():
                make_photo(path, w=48, h=32, seed=op[2])
                settle([path])
            elif kind == "replace" and path is not None and path.exists():
                _replace_file(make_photo, path, op[2], op[3])
                settle([path])
            elif kind == "during" and path is not None:
                if not path.exists():
                    make_photo(path, w=48, h=32, seed=op[2])
                target, seed2 = path, op[3]

                def hook(target: Path = target, seed2: int = seed2) -> None:
                    if target.exists():
                        _replace_file(make_photo, target, seed2)
                        pending.append(target)

                d.enhancer.during = hook
                _replace_file(make_photo, path, op[2])
                settle([path])
                d.enhancer.during = None  # did not fire: no enhancement happened
            elif kind == "rename" and path is not None:
                dst = inp / op[2]
                if path.exists() and not dst.exists():
                    os.rename(path, dst)
                    settle([dst], deleted=[path])
            elif kind == "delete" and path is not None and path.exists():
                os.unlink(path)
                settle(deleted=[path])
            elif kind == "restart":
                d = Driver(inp, out, fmt=fmt)
                d.start()
        expected = run_outputs(inp, root, fmt)
        actual = photos_of(out)
        assert set(actual) == set(expected) | set(theirs)
        for name, data in theirs.items():
            assert actual[name] == data, f"{name} of the user's changed"
        for name, data in expected.items():
            if name not in theirs:
                assert actual[name] == data, f"{name} is not what run writes"
