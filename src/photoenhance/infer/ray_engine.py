"""The Ray engine (``run --engine ray``): the photos of a plan on a Ray cluster.

Built on Ray Data (:class:`~photoenhance.infer.engine.RayEngine` is its seam): the driver
plans exactly as the local engine does (:func:`~photoenhance.infer.naming.plan_batch`:
naming, report checks), settles the entries the plan alone decides (a skip, an error:
:func:`~photoenhance.infer.photo.decide`, no file opened), then turns the photos to
process into a dataset with one photo per block
(``ray.data.from_items(..., override_num_blocks=n)``) and maps it with
``Dataset.map_batches`` over a pool of actors (a callable class, ``concurrency`` actors,
each asking Ray for ``num_cpus``/``num_gpus``).  Each actor loads the model once
(:class:`PhotoActor`) and runs :func:`~photoenhance.infer.photo.process_photo` per photo:
decode → enhance → encode → atomic write on a filesystem every worker sees (local or
shared).  Results stream back to the driver (``Dataset.iter_rows``, rows in completion
order) as they finish, into the batch's one tally
(:class:`~photoenhance.infer.tally.Tally`), so the caller's progress bar, summary, report
and exit codes are the same as with the local engine.

Guarantees (as local)
    Outputs are byte-identical (same function, same model, same settings); the skip
    check of complete outputs runs in the actor, just before decoding; every write is
    atomic, so a killed worker leaves at most a hidden temporary, never a partial file
    under a final name; a photo's own problem is a ``FileResult`` with status ``error``
    and the others go on.  Ray Data's actor pool restarts a dead actor and retries its
    task (``max_restarts=-1``, ``max_task_retries=-1`` are its defaults for callable
    classes), so a worker killed mid-photo only redoes that photo.  On Ctrl-C or
    SIGTERM (or any failure) the driver stops the job within 0.1 s
    (:func:`_interruptible`): a private Ray instance is shut down (its workers with
    it), a joined cluster drops this driver's job; an interrupt during Ray's start-up
    or shut-down waits for it to finish (:func:`_signals_deferred`), so no Ray process
    outlives the run.  Temporaries of killed
    workers on this machine are removed at the end (and at the next run's start); on
    other nodes by the next run whose output folder they are in
    (:func:`photoenhance.io.clean_stale_temps`).

Cluster
    ``RunConfig.ray_address`` None starts a private Ray instance on this machine for the
    run (``ray.init(address="local")``: never a cluster named by ``RAY_ADDRESS`` or
    started with ``ray start``), listening on the loopback interface only (see
    :func:`import_ray`), and shuts it down afterwards; ``"auto"``
    (or ``host:port``) joins a running cluster (``ray start --head`` ...) and leaves it
    running.  When Ray is already initialised in this process (tests, notebooks) that
    instance is used and left alone.

Actors
    ``ray_cpus_per_actor`` (default 1) CPUs each; onnxruntime gets as many threads unless
    ``threads`` is set.  ``ray_gpus_per_actor`` defaults to 1 for ``cuda``/``tensorrt``,
    and for ``auto`` when the cluster has GPUs (each actor then picks CUDA if its
    onnxruntime has it), else 0.  ``ray_actors`` defaults to as many as the cluster's
    CPUs (or GPUs) hold, at most one per photo.

Ray is optional (``pip install "photoenhance[ray]"``); without it this engine is a
one-line usage error.  Ray APIs used (Ray 2.60): ``ray.init(address=..., num_cpus=...,
include_dashboard=...)``, ``ray.is_initialized``, ``ray.cluster_resources``,
``ray.shutdown``, ``ray.data.from_items(override_num_blocks=...)``,
``Dataset.map_batches(fn=<callable class>, batch_size=..., batch_format="numpy",
compute=ray.data.ActorPoolStrategy(size=..., max_tasks_in_flight_per_actor=...),
num_cpus=..., num_gpus=...)`` (``concurrency=`` is deprecated since Ray 2.51),
``Dataset.iter_rows``, ``DataContext.enable_progress_bars``.  No torch here.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import pickle
import queue
import re
import signal
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from photoenhance.display import one_line
from photoenhance.infer.enhancer import Enhancer
from photoenhance.infer.model_file import ModelLoadError
from photoenhance.infer.photo import decide, process_photo
from photoenhance.infer.providers import ProviderUnavailableError, needs_gpu
from photoenhance.infer.tally import Tally
from photoenhance.infer.types import BatchPlan, PlannedFile, RunConfig

RAY_INSTALL_HINT = "--engine ray needs Ray: pip install 'photoenhance[ray]'"


class EngineUnavailableError(ValueError):
    """The engine cannot run here (Ray not installed, no GPUs for a GPU provider...)."""


class EngineError(RuntimeError):
    """The Ray job failed as a whole (cluster lost...); one-line message."""


def import_ray(*, loopback: bool = False) -> Any:
    """The ``ray`` module (with Ray Data), or :class:`EngineUnavailableError`.

    ``loopback``: a Ray instance this process starts will listen on the loopback
    interface only.  Ray does that when its node address is the loopback one, which it
    picks when "clusters are disabled" (``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0``, read
    when Ray is first imported into ``ray._private.ray_constants.ENABLE_RAY_CLUSTER``;
    the default on macOS/Windows) — right for a private instance that only this machine
    uses.  Checked by the tests (the node is ``node:127.0.0.1``).
    """
    if loopback:
        os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
    try:
        import ray
        import ray.data
    except ImportError as exc:
        raise EngineUnavailableError(RAY_INSTALL_HINT) from exc
    constants = sys.modules.get("ray._private.ray_constants")
    if loopback and constants is not None and hasattr(constants, "ENABLE_RAY_CLUSTER"):
        constants.ENABLE_RAY_CLUSTER = False  # Ray was imported before the variable was set
    return ray


class PhotoActor:
    """A Ray Data callable class: loads the model once, then enhances one photo per row.

    The run's settings are a class attribute (:func:`actor_class` makes a subclass per
    run), so the actor has no constructor arguments for Ray to keep in its object store.
    Rows in: ``index`` (plan position) and ``job`` (a pickled :class:`PlannedFile`).
    Rows out: ``index``, ``result`` (a pickled :class:`FileResult`), ``provider`` (the
    onnxruntime provider the actor runs on) and ``pid`` (the actor's process).
    """

    config: RunConfig

    def __init__(self) -> None:
        self.enhancer = Enhancer(self.config.inference_config())

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        results = []
        for job in batch["job"]:
            item: PlannedFile = pickle.loads(job)
            results.append(pickle.dumps(process_photo(item, self.enhancer, self.config)))
        n = len(results)
        return {
            "index": np.asarray(batch["index"], dtype=np.int64),
            "result": np.array(results, dtype=object),
            "provider": np.array([self.enhancer.provider] * n, dtype=object),
            "pid": np.full(n, os.getpid(), dtype=np.int64),
        }


def actor_class(config: RunConfig) -> type[PhotoActor]:
    """A :class:`PhotoActor` subclass that carries ``config`` (shipped with the class)."""
    return type("PhotoActor", (PhotoActor,), {"config": config, "__module__": __name__})


def _cause(exc: BaseException, kinds: tuple[type[BaseException], ...]) -> BaseException | None:
    """The first exception of ``kinds`` in ``exc``'s chain (Ray wraps worker errors)."""
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        e = todo.pop()
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        if isinstance(e, kinds):
            return e
        todo.extend([e.__cause__, e.__context__, getattr(e, "cause", None)])
    return None



@dataclass(frozen=True)
class _Sizing:
    actors: int
    cpus: float
    gpus: float
    config: RunConfig  # what the actors get (threads set)


def _sizing(ray: Any, config: RunConfig, photos: int) -> _Sizing:
    resources = ray.cluster_resources()
    cluster_cpus = float(resources.get("CPU", 0.0))
    cluster_gpus = float(resources.get("GPU", 0.0))
    gpu = needs_gpu(config.provider) or (config.provider == "auto" and cluster_gpus > 0)
    cpus = config.ray_cpus_per_actor if config.ray_cpus_per_actor is not None else 1.0
    gpus = config.ray_gpus_per_actor
    if gpus is None:
        gpus = 1.0 if gpu else 0.0
    if needs_gpu(config.provider) and cluster_gpus <= 0 and config.ray_actors is None:
        raise EngineUnavailableError(
            f"--provider {config.provider}: the Ray cluster has no GPUs"
        )
    actors = config.ray_actors
    if actors is None:
        fits = [cluster_cpus / cpus if cpus > 0 else math.inf]
        if gpus > 0:
            fits.append(cluster_gpus / gpus)
        limit = min(fits)
        actors = int(limit) if math.isfinite(limit) else (os.cpu_count() or 1)
    actors = max(1, min(actors, photos))
    threads = config.threads if config.threads is not None else max(1, math.ceil(cpus))
    return _Sizing(actors, cpus, gpus, replace(config, threads=threads))


@contextmanager
def _signals_deferred() -> Iterator[None]:
    """Hold Ctrl-C (SIGINT) and SIGTERM until the block ends, then deliver them.

    Starting and stopping a Ray instance must not be cut in half: a KeyboardInterrupt
    inside ``ray.init`` left its GCS and raylet running after the driver exited, and one
    inside its connect phase made the driver crash (SIGSEGV) at exit.  The handlers in
    place before the block are put back at its end, which also undoes the SIGTERM handler
    ``ray.init`` installs (``sys.exit(15)``, plus the C++ core's crash-report handler),
    so SIGTERM keeps the caller's meaning (the CLI: exit 143 as after Ctrl-C).  Python
    handlers, not a blocked signal mask: processes Ray starts meanwhile must not inherit
    blocked signals.  Outside the main thread (no signal handlers there) a no-op.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    pending: list[int] = []

    def defer(signum: int, frame: object) -> None:
        pending.append(signum)

    kinds = (signal.SIGINT, signal.SIGTERM)
    previous = {kind: signal.getsignal(kind) for kind in kinds}
    for kind in kinds:
        signal.signal(kind, defer)
    try:
        yield
    finally:
        for kind, handler in previous.items():
            signal.signal(kind, handler if handler is not None else signal.SIG_DFL)
        if pending:
            signal.raise_signal(pending[0])  # to the handler it was meant for


def _no_auto_init() -> None:
    """Stop Ray from starting an instance by itself (``RAY_ENABLE_AUTO_CONNECT=0``).

    Ray calls ``ray.init()`` on its own when one of its APIs is used while it is not
    initialised.  After an interrupt, the thread still reading Ray Data's results did
    that right after :func:`_stop`: a second, default instance (its dashboard and
    runtime-env agents outlived the run by a minute, its SIGTERM handler crashed the exit
    with 134 or 1, and its workers' lines reached stderr).  With this, the thread fails
    instead.  Read by Ray when ``ray._private.auto_init_hook`` is imported: set both.
    """
    os.environ["RAY_ENABLE_AUTO_CONNECT"] = "0"
    hook = sys.modules.get("ray._private.auto_init_hook")
    if hook is not None and hasattr(hook, "enable_auto_connect"):
        hook.enable_auto_connect = False


_RAY_NOTE = re.compile(
    rb"\[\d{4}-\d\d-\d\d [\d:,.]+ I \d+ \d+\] "  # an INFO line of Ray's C++ core
    rb"|\*\*\* SIG[A-Z]+ received at time=|PC: @ |\s+@\s+0x"  # its signal handler's report
)
"""What Ray's C++ core writes on stderr while it starts that is not for the user: INFO
notes ("[date time I pid tid] file.cc:N: ..."), and the report of its failure-signal
handler (``*** SIGTERM received at time=... PC: @ ...``), installed by ``ray.init`` until
:func:`_signals_deferred` puts ours back: a SIGTERM in between is reported, then handed
to the deferred handler, which exits 143 as usual."""


@contextmanager
def _ray_notes_dropped() -> Iterator[None]:
    """Hold what is written to file descriptor 2 while Ray starts, then pass it on
    without the INFO notes of Ray's C++ core.

    Ray's core reads ``RAY_BACKEND_LOG_LEVEL`` when it starts in this process and says so
    on stderr at INFO level (``logging.cc: Set ray log level from environment variable
    ...``), whatever the level: on every run, ``-q`` included.  Everything else written
    meanwhile (an error) still reaches stderr, after ``ray.init`` returns.
    """
    try:
        if sys.stderr is not None:
            sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no stderr to hold
        yield
        return
    with tempfile.TemporaryFile() as held:
        os.dup2(held.fileno(), 2)
        try:
            yield
        finally:
            with contextlib.suppress(OSError, ValueError):
                if sys.stderr is not None:
                    sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            held.seek(0)
            kept = b"".join(ln for ln in held.read().splitlines(keepends=True) if not _RAY_NOTE.match(ln))
            with contextlib.suppress(OSError):
                if kept:
                    os.write(2, kept)


def _start(ray: Any, config: RunConfig) -> threading.Event | None:
    """Connect to (or start) Ray.

    Returns None when Ray was already initialised in this process (left alone), else the
    event that ends the thread that started it (:func:`_stop` sets it).

    ``ray.init`` runs on a thread of its own that lives until :func:`_stop`:

    * on the main thread it would replace this process's SIGTERM handler with its own
      (``sys.exit(15)``): SIGTERM would cut start-up in half, exit 15 and leave Ray's
      agents running; on another thread it leaves signal handling to its caller (and
      says so in a log line, silenced here);
    * Ray ties the processes it starts to the *thread* that starts them (Linux
      ``PR_SET_PDEATHSIG``: its GCS and raylet get SIGKILL when that thread ends), so
      that thread must outlive the run — and the processes still die with this one.

    Ctrl-C and SIGTERM wait until ``ray.init`` returns (:func:`_signals_deferred`), then
    the instance is stopped and the interrupt goes on.
    """
    if ray.is_initialized():
        return None
    _BEFORE_RAY.clear()
    _BEFORE_RAY.update(threading.enumerate())
    _no_auto_init()
    quiet = {"log_to_driver": False, "logging_level": logging.ERROR}
    # Ray's C++ core logs notes about its own actors on this process's stderr; they stay
    # in the session's log files (RAY_BACKEND_LOG_LEVEL=info brings them back here)
    os.environ.setdefault("RAY_BACKEND_LOG_LEVEL", "fatal")
    if not (sys.stderr is not None and sys.stderr.isatty()):
        os.environ.setdefault("RAY_COLOR_PREFIX", "0")  # no ANSI colours in logs and pipes
    if config.ray_address is None:
        # "local": a new instance even where RAY_ADDRESS is set or a `ray start`
        # cluster runs on this machine (address=None would join those)
        options: dict[str, Any] = {"address": "local", "include_dashboard": False, **quiet}
    else:
        options = {"address": config.ray_address, **quiet}
    failed: list[BaseException] = []
    ready, done = threading.Event(), threading.Event()

    def owner() -> None:
        try:
            ray.init(**options)
        except BaseException as exc:  # handed to the calling thread
            failed.append(exc)
        ready.set()
        if not failed:
            done.wait()

    thread = threading.Thread(target=owner, name="photoenhance-ray", daemon=True)
    worker_log = logging.getLogger("ray._private.worker")
    level = worker_log.level
    worker_log.setLevel(logging.ERROR)
    try:
        with _signals_deferred(), _ray_notes_dropped():
            thread.start()
            ready.wait()
    except BaseException:  # a deferred Ctrl-C/SIGTERM, delivered once ray.init returned
        if ready.is_set() and not failed:
            _stop(ray, done)
        raise
    finally:
        worker_log.setLevel(level)
    if failed:
        raise failed[0]
    return done


_BEFORE_RAY: set[threading.Thread] = set()
"""The threads of this process before :func:`_start` started Ray."""


def _drop_thread_errors(before: frozenset[threading.Thread]) -> None:
    """Uncaught exceptions of threads that were not running ``before`` Ray started are
    not printed from now on: Ray Data's threads (``ray-data-metadata-prefetch``...) and
    ours fail with tracebacks when the instance is shut down under them after an
    interrupt; the run is over, they are not news."""
    previous = threading.excepthook

    def hook(args: threading.ExceptHookArgs) -> None:
        if args.thread is not None and args.thread not in before:
            return
        previous(args)

    threading.excepthook = hook


def _stop(ray: Any, done: threading.Event) -> None:
    """Shut down what :func:`_start` started (Ctrl-C and SIGTERM wait for it).

    Ray's own Python log lines are silenced first: after an interrupt, Ray Data's
    executor thread still runs and logs tracebacks ("Ray has not been started yet") when
    the instance goes away under it; the run is over, nothing of Ray's is news then.
    """
    for name in ("ray", "ray.data"):
        logging.getLogger(name).setLevel(logging.CRITICAL + 1)
    _drop_thread_errors(frozenset(_BEFORE_RAY))
    with _signals_deferred():
        try:
            ray.shutdown()
        finally:
            done.set()


def _stream(ray: Any, todo: list[PlannedFile], sizing: _Sizing) -> Iterator[dict[str, Any]]:
    logging.getLogger("ray.data").setLevel(logging.ERROR)  # no per-run INFO lines
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False
    context.enable_auto_log_stats = False
    rows = [{"index": item.index, "job": pickle.dumps(item)} for item in todo]
    ds = ray.data.from_items(rows, override_num_blocks=len(rows))
    ds = ds.map_batches(
        actor_class(sizing.config),
        batch_size=1,
        batch_format="numpy",
        # one running + one queued photo per actor: no idle gap, little imbalance at the end
        compute=ray.data.ActorPoolStrategy(size=sizing.actors, max_tasks_in_flight_per_actor=2),
        num_cpus=sizing.cpus,
        num_gpus=sizing.gpus,
    )
    yield from ds.iter_rows()


def _interruptible(rows: Iterator[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """``rows``, consumed on a helper thread and handed over with timed waits.

    Ctrl-C and SIGTERM are handled on the main thread, but the kernel may deliver them to
    any of Ray's threads; a main thread blocked in Ray Data's untimed ``queue.get`` then
    sleeps on until the next photo finishes (never, if a worker hangs).  Waiting here
    in 0.1 s steps, the interrupt is raised within 0.1 s.
    """
    handover: queue.Queue[tuple[str, Any]] = queue.Queue()

    def pump() -> None:
        try:
            for row in rows:
                handover.put(("row", row))
            handover.put(("end", None))
        except BaseException as exc:  # handed to the consuming thread
            handover.put(("error", exc))

    threading.Thread(target=pump, name="photoenhance-ray-results", daemon=True).start()
    while True:
        try:
            kind, value = handover.get(timeout=0.1)
        except queue.Empty:
            continue
        if kind == "end":
            return
        if kind == "error":
            raise value
        yield value


def run_ray(plan: BatchPlan, config: RunConfig, tally: Tally) -> str | None:
    """Process every photo of ``plan`` on a Ray cluster, each result into ``tally``
    (on this thread, as they finish).  Returns the provider(s) the actors ran on (None
    when no photo reached an actor).

    Entries :func:`~photoenhance.infer.photo.decide` settles from the plan alone (a
    skip, an error) are finished here, without I/O; the others go to the actors, which
    run the whole rule (the output check too) just before decoding.

    Raises:
        EngineUnavailableError: Ray is not installed, or the cluster cannot run the
            provider.
        ModelLoadError: the actors cannot load the model.
        ProviderUnavailableError: the actors' onnxruntime cannot use the provider.
        EngineError: the Ray job failed as a whole.
    """
    ray = import_ray(loopback=config.ray_address is None)
    todo: list[PlannedFile] = []
    for item in plan.files:
        if (decided := decide(item, config, check_output=False)) is not None:
            tally.finish(item.index, decided)
        else:
            todo.append(item)
    if not todo:
        return None
    providers: set[str] = set()
    started = _start(ray, config)  # None: Ray was running in this process already
    try:
        sizing = _sizing(ray, config, len(todo))
        for row in _interruptible(_stream(ray, todo, sizing)):
            providers.add(str(row["provider"]))
            tally.finish(int(row["index"]), pickle.loads(row["result"]))
    except (KeyboardInterrupt, EngineUnavailableError):
        raise
    except Exception as exc:
        known = _cause(exc, (ModelLoadError, ProviderUnavailableError))
        if known is not None:
            raise type(known)(str(known)) from exc
        raise EngineError(f"the Ray job failed: {one_line(exc, 300)}") from exc
    finally:
        if started is not None:
            _stop(ray, started)
    missing = tally.missing()
    if missing:  # pragma: no cover - Ray Data returns every row or raises
        raise EngineError(f"the Ray job returned no result for {len(missing)} photo(s)")
    return ", ".join(sorted(providers)) or None
