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

What may be written (the output folder's record, :mod:`photoenhance.io.manifest`)
    An existing output is replaced only when we know we wrote it: the output folder's
    record names it, from which photo, and the file is still as we wrote it.  Anything
    else there (the user's own ``IMG_0001.jpg`` in ``-o ~/Pictures``, or our output the
    user replaced) is never replaced: the photo is skipped, with the reason (``run``
    skips it too).  ``overwrite`` replaces, as ``run --overwrite`` does, the outputs of
    the photos already there at start.

Up to date (the photo's identity, not times)
    An output of ours is up to date while its record names the same photo with the same
    identity (size, modification and status-change times, inode) read before it was
    decoded; otherwise the photo is enhanced again.  So a photo replaced by a version
    with an *older* modification time (``cp -p``, ``rsync -t``, sync tools) is redone,
    and so is a photo replaced while it was being enhanced (its identity changed under
    it: it waits to settle again).

Names (run's names, always)
    Every photo gets the output ``run`` gives it for the folders as they are now
    (:func:`~photoenhance.infer.naming.plan_batch`), so a name taken by a newcomer
    (``--format jpeg``: ``a.png`` had ``a.jpg``; a new ``a.jpg`` claims it) moves the
    other photo's output to its new name (``a.png.jpg``) rather than overwriting it.
    The outputs we wrote for photos of the watched folders that are gone (deleted,
    moved away) or now named otherwise are removed, if unchanged since we wrote them:
    the output folder holds what ``run`` would write for the watched folders (plus
    whatever else was there).

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

from photoenhance.infer.enhancer import Enhancer
from photoenhance.infer.local import run_local
from photoenhance.infer.naming import name_key, plan_batch
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
from photoenhance.io.manifest import (
    FileIdentity,
    OutputRecord,
    file_identity,
    input_key,
    owned_record,
    read_manifest,
    record_key,
    remove_owned,
    update_manifest,
)
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
    handled: ``files`` is how many were looked at), ``"result"`` (one photo finished or
    was skipped: ``result``), ``"started"`` (a photo is being enhanced now: ``path``),
    ``"warning"`` (about the watch as a whole, said once: ``message``; an output folder
    that could not be marked...).
    """

    kind: str
    result: FileResult | None = None
    path: Path | None = None
    files: int = 0
    message: str | None = None


@dataclass(frozen=True)
class WatchResult:
    """Everything :func:`watch_folders` did, in order, when it stopped."""

    files: tuple[FileResult, ...]
    seconds: float
    warnings: tuple[str, ...] = ()

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
        self.roots = tuple(_real(Path(f)) for f in config.folders)
        self.waiting: dict[Path, _Waiting | None] = {}
        self.done: list[FileResult] = []
        self.warnings: list[str] = []
        # what the output folder holds of ours (io.manifest), kept in step with the disk
        self.records: dict[str, OutputRecord] = dict(read_manifest(run.output_dir))
        # identity of each photo seen settled (a photo not seen settled is not taken
        # before its own event settles: it may still be being copied)
        self.known: dict[Path, FileIdentity | None] = {}
        # the last outcome that stands per photo (identity, output key): a photo that
        # failed or was skipped is tried again only when it or its output name changes
        self.tried: dict[Path, tuple[FileIdentity | None, str | None]] = {}
        self.dirty = False  # something was deleted or moved away: reconcile

    # -- events from the watcher
    def wanted(self, path: str) -> bool:
        """Could ``path`` (absolute, from the watcher) be a photo to enhance?"""
        p = Path(path)
        if is_ignored_name(p.name) or not is_supported_suffix(p.name):
            return False
        real = _real(p)
        return not (_within(real, self.output) or _within(real, self.compare))

    def relevant_deletion(self, path: str) -> bool:
        """Could the deletion of ``path`` (a photo, a folder) leave an output of ours stale?"""
        p = Path(path)
        if is_ignored_name(p.name):
            return False
        real = _real(p)
        return not (_within(real, self.output) or _within(real, self.compare))

    def notice(self, paths: Sequence[str]) -> None:
        for path in paths:
            if self.wanted(path):
                self.waiting[_real(Path(path))] = None  # (re)start its settle time
            elif os.path.isdir(path) and not is_ignored_name(Path(path).name):
                self.notice_folder(path)

    def forget(self, paths: Sequence[str]) -> None:
        """Paths deleted or moved away: their outputs may be stale now."""
        for path in paths:
            self.waiting.pop(_real(Path(path)), None)
            self.dirty = True

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

    def step(self, now: float) -> None:
        """Take the files that settled and bring the output folder up to date."""
        ready = self.settled(now)
        if ready or self.dirty:
            self.reconcile(ready)

    # -- work
    def plan(self) -> BatchPlan | None:
        try:
            return plan_batch(list(self.config.folders), self.config.run)
        except NoInputsError:
            return None

    def verdict(self, item: PlannedFile, overwrite: bool = False) -> tuple[str, str | None]:
        """``("done", None)``, ``("work", None)`` or ``("skip", reason)`` for a photo with
        an output path (see the module docstring)."""
        assert item.output is not None
        if not os.path.lexists(item.output):
            return "work", None
        key = record_key(self.config.run.output_dir, item.output)
        record = (
            owned_record(self.config.run.output_dir, key, self.records) if key is not None else None
        )
        if overwrite:
            return "work", None
        if record is None:
            return "skip", (
                f"output {item.output} exists and is not one photoenhance wrote (or it "
                "changed since); not replaced without --overwrite"
            )
        # the file is still as we wrote it (atomically, complete): no need to decode it,
        # which keeps a look over a big folder to a few stats per photo
        if record.input == input_key(item.input) and record.source == file_identity(item.input):
            return "done", None
        return "work", None

    def reconcile(self, ready: Sequence[Path], *, overwrite: bool = False) -> None:
        """Enhance what needs it among the photos of the watched folders (those in
        ``ready``, just settled, and those seen settled before whose output is missing,
        stale or now has another name), report skips once, remove outputs of ours whose
        photo is gone."""
        self.dirty = False
        plan = self.plan()
        files = plan.files if plan is not None else ()
        ready_set = set(ready)
        for path in ready:
            self.known[path] = file_identity(path)
        todo: list[PlannedFile] = []
        for item in files:
            real = _real(item.input)
            if item.skip is not None:  # a FIFO, a device...: reported once
                if self.tried.get(real) != (None, item.skip):
                    self.tried[real] = (None, item.skip)
                    todo.append(item)
                continue
            identity = file_identity(item.input)
            if real not in ready_set and (real in self.waiting or self.known.get(real) != identity):
                continue  # still changing, or not seen settled yet: its own event will come
            key = (
                None if item.output is None else record_key(self.config.run.output_dir, item.output)
            )
            memo = (identity, key)
            if item.error is not None or item.output is None:
                if real in ready_set or self.tried.get(real) != memo:
                    self.tried[real] = memo
                    todo.append(item)  # the engine reports it
                continue
            verdict, reason = self.verdict(item, overwrite)
            if verdict == "done":
                self.tried.pop(real, None)
            elif verdict == "skip":
                if real in ready_set or self.tried.get(real) != memo:
                    self.tried[real] = memo
                    self.finished(
                        FileResult(item.input, item.output, Status.SKIPPED, reason=reason)
                    )
            elif real in ready_set or self.tried.get(real) != memo:
                self.tried[real] = memo
                todo.append(item)
        self.process(todo)
        self.remove_stale(files)

    def remove_stale(self, files: Sequence[PlannedFile]) -> None:
        """Remove the outputs we wrote for photos of the watched folders that are gone
        (deleted, moved away) or whose output now has another name; only files still as
        we wrote them (:func:`~photoenhance.io.manifest.remove_owned`)."""
        planned: dict[str, str] = {}  # output name key -> photo
        by_input: dict[str, str] = {}  # photo -> output key
        for item in files:
            if item.output is None:
                continue
            key = record_key(self.config.run.output_dir, item.output)
            if key is not None:
                planned[name_key(Path(key))] = input_key(item.input)
                by_input[input_key(item.input)] = key
        changes: dict[str, OutputRecord | None] = {}
        for key, record in list(self.records.items()):
            if name_key(Path(key)) in planned:
                continue
            photo = Path(record.input)
            if not any(_within(photo, root) for root in self.roots):
                continue  # another folder's output (an earlier run): not ours to judge
            if os.path.lexists(photo) and record.input not in by_input:
                continue  # still there, just not watched now (--no-recursive...)
            if remove_owned(self.config.run.output_dir, key, self.records):
                changes[key] = None
        self.save(changes)

    def save(self, changes: dict[str, OutputRecord | None]) -> None:
        if not changes:
            return
        update = update_manifest(self.config.run.output_dir, changes)
        self.records = dict(update.records)
        if update.problem is not None:
            self.warn(update.problem)

    def warn(self, message: str) -> None:
        """A warning of the watch as a whole (said once)."""
        if message not in self.warnings:
            self.warnings.append(message)
            self.emit(WatchEvent("warning", message=message))

    def finished(self, result: FileResult) -> None:
        self.done.append(result)
        self.emit(WatchEvent("result", result=result))

    def process(self, items: list[PlannedFile]) -> None:
        if not items:
            return
        for folder in (self.config.run.output_dir, self.config.run.compare_dir):
            if folder is not None:  # again: the folder may have been deleted meanwhile
                why = mark_output_folder(folder)
                if why is not None:
                    self.warn(f"{folder}: {why}")
        plan = BatchPlan(tuple(replace(p, index=i) for i, p in enumerate(items)))
        # watch decided itself which outputs to redo: the engine must not skip them
        config = replace(self.config.run, overwrite=True)
        results: list[FileResult] = []

        def progress(event: BatchProgress) -> None:
            if event.result is not None:
                results.append(event.result)
                self.finished(event.result)
            elif event.current is not None:
                self.emit(WatchEvent("started", path=event.current))

        run_local(plan, config, self.enhancer, progress)
        changes: dict[str, OutputRecord | None] = {}
        for f in results:
            if f.status != Status.OK or f.output is None or f.source is None:
                continue
            key = record_key(self.config.run.output_dir, f.output)
            if key is not None and f.written is not None:
                changes[key] = OutputRecord(input_key(f.input), f.source, f.written)
            if file_identity(f.input) != f.source:  # replaced while it was enhanced
                self.waiting[_real(f.input)] = None
        self.save(changes)

    def emit(self, event: WatchEvent) -> None:
        if self.on_event is not None:
            self.on_event(event)

    def prepare(self) -> None:
        """Create and mark the output (and compare) folder (a folder that cannot be
        marked is a warning of the watch), remove temporaries of killed runs there."""
        for folder in (self.config.run.output_dir, self.config.run.compare_dir):
            if folder is not None:
                why = mark_output_folder(folder)  # a folder not created: each write says so
                if why is not None:
                    self.warn(f"{folder}: {why}")
                if folder.is_dir():
                    clean_stale_temps(folder)

    def initial(self) -> int:
        """Handle the photos already there; returns how many were looked at."""
        plan = self.plan()
        if plan is None:
            self.reconcile([])
            return 0
        now = time.time()
        ready: list[Path] = []
        for item in plan.files:
            if item.skip is not None:
                continue
            try:
                recent = now - os.stat(item.input).st_mtime < self.config.settle
            except OSError:
                recent = False
            if recent:
                self.waiting[_real(item.input)] = None  # still being written, maybe
            else:
                ready.append(_real(item.input))
        self.reconcile(ready, overwrite=self.config.run.overwrite)
        return len(plan.files)


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
    state = _Watcher(config, enhancer, stop, on_event)
    state.prepare()
    tick_ms = max(1, round(config.tick * 1000))

    def keep(change: watchfiles.Change, path: str) -> bool:
        if change == watchfiles.Change.deleted:
            return state.relevant_deletion(path)
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
            deleted = watchfiles.Change.deleted
            state.forget([path for change, path in changes if change == deleted])
            state.notice([path for change, path in changes if change != deleted])
            if not armed:  # the first yield comes once the watcher is armed
                armed = True
                looked_at = state.initial()
                state.emit(WatchEvent("ready", files=looked_at))
            if stop.is_set():
                break
            state.step(time.monotonic())
    finally:
        changes_iter.close()
    return WatchResult(tuple(state.done), time.perf_counter() - start, tuple(state.warnings))
