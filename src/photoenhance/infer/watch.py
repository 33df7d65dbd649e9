"""Watch folders and enhance each photo that appears or changes (``photoenhance watch``).

:func:`watch_folders` loads the model once, arms a file-system watcher (watchfiles:
inotify/FSEvents/ReadDirectoryChangesW through the Rust ``notify`` crate, polling where
those are missing), enhances what is already there, then each photo that is added,
changed or moved in, until its ``stop`` event is set or a ``KeyboardInterrupt`` arrives
(the CLI turns SIGTERM into one).  It is a loop around the batch machinery, not a second
one: outputs are named by :func:`~photoenhance.infer.naming.plan_batch` over the whole of
the watched folders (so a photo gets the name ``photoenhance run DIR -o OUT`` would give
it) and written by the local engine (:func:`~photoenhance.infer.local.run_local`):
atomically, with the same metadata, compare images and one-line errors.

Complete files only
    A photo being copied or saved must not be enhanced half-way.  A candidate is taken
    when its size and modification time have not changed for ``settle`` seconds *and* it
    decodes completely (:func:`photoenhance.io.is_complete_image`, which also catches
    JPEG/PNG data that ends early but properly).  A file that stays unchanged but never
    decodes is handed over after ``give_up`` seconds, so its error is reported once.
    Files already there at start whose modification time is older than ``settle`` are
    taken at once.

Skip rule (run's rule, plus time)
    ``run`` skips a photo whose output exists and decodes completely.  ``watch`` must
    also redo a photo that changed after it was enhanced, so an output counts as done
    only if it decodes completely *and* is not older than its input (modification
    times); otherwise the photo is enhanced again and the output replaced atomically.
    With ``overwrite``, the photos already there at start are all redone; photos that
    appear or change later are always enhanced.

A folder moved or copied in is looked through at once (the photos created in it before
the watcher watched it raise no event of their own).

Ignored
    Hidden names (our own temporaries ``.photoenhance-tmp-*``, editors' and sync tools'
    dot-files), files that are not photos, the output and compare folders when they lie
    inside a watched folder, and folders marked as photoenhance output
    (:mod:`photoenhance.io.marker`).  The output folder gets the marker at start.

No torch here.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from photoenhance.infer.local import run_local
from photoenhance.infer.naming import plan_batch
from photoenhance.infer.session import Enhancer
from photoenhance.infer.types import (
    BatchPlan,
    BatchProgress,
    FileResult,
    NoInputsError,
    PlannedFile,
    RunConfig,
    Status,
)
from photoenhance.io import (
    clean_stale_temps,
    is_complete_image,
    mark_output_folder,
)
from photoenhance.io.formats import is_supported_suffix
from photoenhance.io.walk import is_ignored_name


@dataclass(frozen=True)
class WatchConfig:
    """What :func:`watch_folders` watches and how.

    Attributes:
        folders: the folders to watch (they must exist).
        run: the batch settings (output folder, format, quality, model...); ``dry_run``
            and ``report`` are not used.
        settle: seconds a file's size and modification time must stay unchanged before
            it is taken (it must also decode completely).
        give_up: seconds after which an unchanged file that still does not decode is
            handed over anyway (its error is reported once).
        tick: seconds between checks of the files waiting to settle.
        force_polling: poll the folders instead of using OS notifications (network
            shares); None: watchfiles decides (``WATCHFILES_FORCE_POLLING``, WSL).
    """

    folders: tuple[Path, ...]
    run: RunConfig
    settle: float = 1.0
    give_up: float = 30.0
    tick: float = 0.25
    force_polling: bool | None = None

    def __post_init__(self) -> None:
        if not self.folders:
            raise ValueError("give at least one folder to watch")
        if not self.settle >= 0:
            raise ValueError(f"--settle must be 0 or more seconds, got {self.settle}")
        if not self.tick > 0 or not self.give_up >= self.settle:
            raise ValueError("tick must be positive and give_up at least settle")


@dataclass(frozen=True)
class WatchEvent:
    """What :func:`watch_folders` reports while it runs.

    ``kind``: ``"ready"`` (the watcher is armed and the photos already there were
    handled: ``files`` is how many were looked at), ``"result"`` (one photo finished:
    ``result``), ``"started"`` (a photo is being enhanced now: ``path``).
    """

    kind: str
    result: FileResult | None = None
    path: Path | None = None
    files: int = 0


@dataclass(frozen=True)
class WatchResult:
    """Everything :func:`watch_folders` did, in order, when it stopped."""

    files: tuple[FileResult, ...]
    seconds: float

    def count(self, status: Status) -> int:
        return sum(1 for f in self.files if f.status == status)


WatchCallback = Callable[[WatchEvent], None]


def _real(path: Path) -> Path:
    try:
        return path.resolve()
    except (OSError, RuntimeError):
        return path.absolute()


def _within(path: Path, folder: Path | None) -> bool:
    return folder is not None and (path == folder or folder in path.parents)


@dataclass
class _Waiting:
    """A file seen changing: its last (size, mtime) and since when it has been so."""

    signature: tuple[int, int]
    since: float
    incomplete: bool = False


class _Watcher:
    def __init__(
        self,
        config: WatchConfig,
        enhancer: Enhancer,
        stop: threading.Event,
        on_event: WatchCallback | None,
    ) -> None:
        self.config = config
        self.enhancer = enhancer
        self.stop = stop
        self.on_event = on_event
        run = config.run
        self.output = _real(run.output_dir)
        self.compare = _real(run.compare_dir) if run.compare_dir is not None else None
        self.waiting: dict[Path, _Waiting | None] = {}
        self.done: list[FileResult] = []

    # -- events from the watcher
    def wanted(self, path: str) -> bool:
        """Could ``path`` (absolute, from the watcher) be a photo to enhance?"""
        p = Path(path)
        if is_ignored_name(p.name) or not is_supported_suffix(p.name):
            return False
        real = _real(p)
        return not (_within(real, self.output) or _within(real, self.compare))

    def notice(self, paths: Sequence[str]) -> None:
        for path in paths:
            if self.wanted(path):
                self.waiting[_real(Path(path))] = None  # (re)start its settle time
            elif os.path.isdir(path) and not is_ignored_name(Path(path).name):
                self.notice_folder(path)

    def notice_folder(self, folder: str) -> None:
        """A folder appeared (moved or copied in): the photos created in it before the
        watcher could watch it raised no event of their own, so look."""
        real = _real(Path(folder))
        if _within(real, self.output) or _within(real, self.compare):
            return
        for root, dirs, files in os.walk(folder):
            dirs[:] = (
                [d for d in dirs if not is_ignored_name(d)] if self.config.run.recursive else []
            )
            for name in files:
                path = os.path.join(root, name)
                if self.wanted(path):
                    self.waiting.setdefault(_real(Path(path)), None)

    # -- readiness
    def settled(self, now: float) -> list[Path]:
        """The waiting files that are complete now (removed from ``waiting``)."""
        ready: list[Path] = []
        for path, seen in list(self.waiting.items()):
            try:
                st = os.stat(path)
            except OSError:  # gone (moved away, deleted): nothing to do
                del self.waiting[path]
                continue
            signature = (st.st_size, st.st_mtime_ns)
            if seen is None or seen.signature != signature:
                self.waiting[path] = _Waiting(signature, now)
                continue
            quiet = now - seen.since
            if quiet < self.config.settle:
                continue
            if not seen.incomplete:
                if is_complete_image(path):
                    ready.append(path)
                    del self.waiting[path]
                    continue
                seen.incomplete = True  # checked again only when it changes
            if quiet >= self.config.give_up:
                ready.append(path)  # never became complete: let the decoder say why
                del self.waiting[path]
        return ready

    # -- work
    def plan(self) -> BatchPlan | None:
        try:
            return plan_batch(list(self.config.folders), self.config.run)
        except NoInputsError:
            return None

    def needs_work(self, item: PlannedFile) -> bool:
        """Output missing, incomplete, or older than the input (see the module docstring)."""
        if item.output is None:
            return True  # an error found while planning: reported by the engine
        try:
            out_mtime = os.stat(item.output).st_mtime_ns
            in_mtime = os.stat(item.input).st_mtime_ns
        except OSError:
            return True
        return out_mtime < in_mtime or not is_complete_image(item.output)

    def process(self, items: list[PlannedFile]) -> None:
        if not items:
            return
        for folder in (self.config.run.output_dir, self.config.run.compare_dir):
            if folder is not None:  # again: the folder may have been deleted meanwhile
                mark_output_folder(folder)
        plan = BatchPlan(tuple(replace(p, index=i) for i, p in enumerate(items)))
        # watch decided itself which outputs to redo: the engine must not skip them
        config = replace(self.config.run, overwrite=True)

        def progress(event: BatchProgress) -> None:
            if event.result is not None:
                self.done.append(event.result)
                self.emit(WatchEvent("result", result=event.result))
            elif event.current is not None:
                self.emit(WatchEvent("started", path=event.current))

        run_local(plan, config, self.enhancer, progress)

    def emit(self, event: WatchEvent) -> None:
        if self.on_event is not None:
            self.on_event(event)

    def initial(self) -> int:
        """Handle the photos already there; returns how many were looked at."""
        plan = self.plan()
        if plan is None:
            return 0
        now = time.time()
        todo: list[PlannedFile] = []
        for item in plan.files:
            if item.skip is not None or item.error is not None or item.output is None:
                todo.append(item)  # reported once, as run does
                continue
            if not self.config.run.overwrite and not self.needs_work(item):
                continue
            try:
                recent = now - os.stat(item.input).st_mtime < self.config.settle
            except OSError:
                recent = False
            if recent:
                self.waiting[_real(item.input)] = None  # still being written, maybe
            else:
                todo.append(item)
        self.process(todo)
        return len(plan.files)

    def ready(self, paths: list[Path]) -> None:
        plan = self.plan()
        if plan is None or not paths:
            return
        wanted = set(paths)
        items = [
            p
            for p in plan.files
            if p.skip is None and _real(p.input) in wanted and self.needs_work(p)
        ]
        self.process(items)


def watch_folders(
    config: WatchConfig,
    *,
    enhancer: Enhancer | None = None,
    stop: threading.Event | None = None,
    on_event: WatchCallback | None = None,
) -> WatchResult:
    """Enhance what is in ``config.folders``, then every photo that appears or changes,
    until ``stop`` is set (or KeyboardInterrupt, which propagates; a photo being written
    is finished first, atomically).

    Raises:
        ModelLoadError: the model cannot be loaded.
        ValueError: a folder does not exist or is not a folder, or it is the output or
            compare folder or lies inside one.
    """
    import watchfiles  # imported here: the CLI's other commands do not need it

    start = time.perf_counter()
    run = config.run
    written = [
        (what, f, _real(f))
        for what, f in (("output", run.output_dir), ("compare", run.compare_dir))
        if f is not None
    ]
    for folder in config.folders:
        if not Path(folder).is_dir():
            raise ValueError(f"{folder}: not a folder (watch takes folders)")
        for what, out, real_out in written:  # all there would be ignored, and the
            if _within(_real(Path(folder)), real_out):  # folder marked as output
                raise ValueError(
                    f"{folder}: is the {what} folder {out} or inside it; nothing there "
                    "would be enhanced"
                )
    if enhancer is None:
        enhancer = Enhancer(config.run.inference_config())
    stop = stop if stop is not None else threading.Event()
    for folder in (run.output_dir, run.compare_dir):
        if folder is not None:
            mark_output_folder(folder)  # creates it; a failure shows on each photo's write
            if folder.is_dir():
                clean_stale_temps(folder)
    state = _Watcher(config, enhancer, stop, on_event)
    tick_ms = max(1, round(config.tick * 1000))

    def keep(change: watchfiles.Change, path: str) -> bool:
        if change == watchfiles.Change.deleted:
            return False
        return state.wanted(path) or (change == watchfiles.Change.added and os.path.isdir(path))

    # watchfiles.watch (documented in its docstring, 1.x): the Rust watcher keeps collecting
    # while we process (changes are buffered between calls); rust_timeout +
    # yield_on_timeout give an empty set every tick, so files waiting to settle are
    # re-checked without events; stop_event ends the generator; raise_interrupt re-raises
    # Ctrl-C (and our SIGTERM) as KeyboardInterrupt; force_polling for network shares.
    changes_iter = watchfiles.watch(
        *config.folders,
        watch_filter=keep,
        debounce=max(tick_ms, 50),
        step=min(50, tick_ms),
        stop_event=stop,
        rust_timeout=tick_ms,
        yield_on_timeout=True,
        raise_interrupt=True,
        force_polling=config.force_polling,
        recursive=run.recursive,
    )
    try:
        armed = False
        for changes in changes_iter:
            state.notice([path for _change, path in changes])
            if not armed:  # the first yield comes once the watcher is armed
                armed = True
                looked_at = state.initial()
                state.emit(WatchEvent("ready", files=looked_at))
            if stop.is_set():
                break
            state.ready(state.settled(time.monotonic()))
    finally:
        changes_iter.close()
    return WatchResult(tuple(state.done), time.perf_counter() - start)
