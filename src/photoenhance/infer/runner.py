"""Batch enhancement of photo files: plan the outputs, then decode → enhance → encode.

:func:`run_batch` is the library API behind ``photoenhance run``; the CLI only renders
its :class:`BatchResult`.  No torch here.

Output naming (:func:`assign_outputs`)
    Each photo goes to ``OUT/<relative path>``: the path relative to the input folder it
    was found under (an input given as a file goes to ``OUT/<name>``).  The name is kept;
    the extension changes only when ``format`` asks for a different format than the
    input's (an input ``.jpeg`` stays ``.jpeg`` with ``--format jpeg``; ``.png`` becomes
    ``.jpg``).  Two inputs never share an output: names are compared case-insensitively
    (NFC-normalised, so results are the same on macOS/Windows), photos whose name does not
    change claim their name first, then the others in input order; a photo whose name is
    taken gets ``<name>.<old ext><new ext>`` (``a.png`` → ``a.png.jpg``) when its extension
    changed, else the first free ``<stem>-2<ext>``, ``<stem>-3<ext>``... .  The outcome
    depends only on the inputs (and their order), so a rerun maps every photo to the same file.

Skipping
    Without ``overwrite``, an output that exists *and* decodes completely
    (:func:`photoenhance.io.is_complete_image`) is skipped; a partial one is redone.
    Special files found in folders (FIFOs, devices, broken or looping symlinks) are
    skipped too, with the reason (:attr:`FileResult.reason`); they are never opened.
    Outputs are written atomically, and temporaries of a killed run are removed from the
    output (and compare) folder at start.

Pipeline
    One reader thread decodes ahead, inference runs on the calling thread (onnxruntime
    releases the GIL) in place in the decoded array, and one writer thread encodes.  A
    semaphore of ``RunConfig.max_in_flight`` slots (default 4) bounds the decoded pixels
    held in memory: a photo takes one slot per started :data:`SLOT_MEGAPIXELS` (8 MP), so
    up to four small photos, two 12 MP ones (one enhanced while the next decodes or the
    last encodes; enhancing is the slow stage, so a third buys no speed) or one 24 MP+
    photo are alive at once. Measured on 12 MP JPEGs: with three alive the process peaked
    at 1.06 GB.

Never over an input
    An output or compare image that would replace an input (or another output) of the
    batch, or a name longer than :data:`NAME_MAX` bytes, is an error for that photo.  The
    report (``RunConfig.report``) is checked while planning, before any work: it may not
    be an input, output or compare image of the batch, a folder, or an existing file that
    is not a photoenhance report (:class:`OutputConflictError`).

Errors
    Every failure (unreadable input, output folder that cannot be created, write error,
    disk full...) becomes a :class:`FileResult` with ``status == "error"`` and a one-line
    reason; the batch goes on.  Only a model that cannot be loaded
    (:class:`~photoenhance.infer.session.ModelLoadError`) or finding no inputs at all
    (:class:`NoInputsError`) aborts the batch.
"""

from __future__ import annotations

import itertools
import json
import logging
import math
import os
import queue
import threading
import time
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import onnxruntime as ort
from PIL import Image

from photoenhance import __version__
from photoenhance.infer.session import (
    Enhancer,
    InferenceConfig,
    ModelInfo,
    bundled_model_path,
    read_model_info,
)
from photoenhance.io import (
    DecodedImage,
    ImageReadError,
    ImageWriteError,
    atomic_write,
    clean_stale_temps,
    is_complete_image,
    output_suffix,
    probe_image,
    read_image,
    walk_inputs,
    write_image,
)
from photoenhance.io.formats import normalise_format

DEFAULT_TILE = 2048
"""Tile size used by the runner (larger than the session default: the 80 px halo costs less)."""
DEFAULT_MAX_MEGAPIXELS = 200.0
COMPARE_SUFFIX = ".compare.jpg"
WRITE_FORMATS: tuple[str, ...] = ("jpeg", "png", "tiff", "webp")
"""Formats ``RunConfig.format`` accepts (None keeps each input's format)."""

_IO_LOGGER = logging.getLogger("photoenhance.io")
_ORIENT_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


#: photos up to this size take one in-flight slot; bigger ones take one per this many MP
SLOT_MEGAPIXELS = 8.0
NAME_MAX = 255
"""Longest file name (bytes) written: the limit of ext4, APFS, NTFS and most others."""
#: how a report written by :func:`write_report` begins (the file it may replace)
_REPORT_START = b'{\n  "photoenhance": '


class Status(StrEnum):
    """Outcome of one input: ``ok``, ``skipped``, ``error`` (``planned`` in dry runs)."""

    OK = "ok"
    SKIPPED = "skipped"
    ERROR = "error"
    PLANNED = "planned"


class OutputConflictError(ValueError):
    """A file the run would write (the report) would replace an input or another file the
    user owns, or cannot be written there; found while planning, before any work."""


class NoInputsError(ValueError):
    """No photos were found in the inputs; ``problems`` says what was wrong with them."""

    def __init__(self, message: str, problems: tuple[tuple[Path, str], ...] = ()) -> None:
        super().__init__(message)
        self.problems = problems


@dataclass(frozen=True)
class RunConfig:
    """Everything ``run_batch`` needs (built by the CLI from flags + config file).

    Attributes:
        output_dir: folder the outputs go to (created when needed; never walked).
        recursive: walk sub-folders of input folders.
        format: ``"jpeg"``, ``"png"``, ``"tiff"``, ``"webp"`` or None (keep each input's).
        quality: JPEG/WebP quality 1..100; None: about the original's (see io.write_image).
        model: ONNX model; None: the bundled INT8 model.
        strength: 0..1 blend between input (0) and the network's output (1).
        tile: inference tile size in pixels (the halo comes from the model).
        threads: onnxruntime intra-op threads; None: onnxruntime's default.
        overwrite: redo outputs that already exist and are complete.
        dry_run: plan only; nothing is written (not even ``output_dir``).
        compare_dir: if set, a before/after JPEG per processed photo goes there.
        compare_size: long side in pixels of each half of a compare image.
        max_megapixels: decompression-bomb limit per input.
        cache_dir: optimised-graph cache for onnxruntime; None: no cache.
        report: where the caller writes the JSON report (:func:`write_report`), checked
            while planning (see the module docstring); None: no report.
        max_in_flight: in-flight slots (>= 1): a decoded photo holds one per started
            :data:`SLOT_MEGAPIXELS`, at most all of them.
        software: EXIF ``Software`` of the outputs.
    """

    output_dir: Path = Path("enhanced")
    recursive: bool = True
    format: str | None = None
    quality: int | None = None
    model: Path | None = None
    strength: float = 1.0
    tile: int = DEFAULT_TILE
    threads: int | None = None
    overwrite: bool = False
    dry_run: bool = False
    compare_dir: Path | None = None
    compare_size: int = 800
    max_megapixels: float = DEFAULT_MAX_MEGAPIXELS
    cache_dir: Path | None = None
    report: Path | None = None
    max_in_flight: int = 4
    software: str = f"photoenhance {__version__}"

    def __post_init__(self) -> None:
        """Validate values (raises ``ValueError`` with a message naming the option)."""
        if self.format is not None and self.format not in WRITE_FORMATS:
            raise ValueError(
                f"--format must be one of same, {', '.join(WRITE_FORMATS)}; got {self.format!r}"
            )
        if self.quality is not None and not 1 <= self.quality <= 100:
            raise ValueError(f"--quality must be within 1..100, got {self.quality}")
        if not (isinstance(self.strength, int | float) and 0.0 <= self.strength <= 1.0):
            raise ValueError(f"--strength must be within 0..1, got {self.strength}")
        if self.tile < 64:
            raise ValueError(f"--tile must be at least 64 pixels, got {self.tile}")
        if self.threads is not None and self.threads < 1:
            raise ValueError(f"--threads must be at least 1, got {self.threads}")
        if not (self.max_megapixels > 0 and math.isfinite(self.max_megapixels)):
            raise ValueError(
                f"--max-megapixels must be a positive number, got {self.max_megapixels}"
            )
        if self.compare_size < 16:
            raise ValueError(f"compare_size must be at least 16, got {self.compare_size}")
        if self.max_in_flight < 1:
            raise ValueError(f"max_in_flight must be at least 1, got {self.max_in_flight}")

    def inference_config(self) -> InferenceConfig:
        """The :class:`InferenceConfig` for this run."""
        return InferenceConfig(
            model=self.model, tile=self.tile, threads=self.threads, cache_dir=self.cache_dir
        )


@dataclass(frozen=True)
class PlannedFile:
    """One input and where its output goes.

    Attributes:
        index: position in input order.
        input: the photo (as found by the walk).
        output: output path, or None when ``error`` is set.
        compare: before/after image path, or None.
        error: a reason this input cannot be processed (found while planning), or None.
        skip: a reason this entry is skipped (a special file found in a folder), or None.
        warnings: notes found while planning (a compare image that cannot be written).
    """

    index: int
    input: Path
    output: Path | None
    compare: Path | None = None
    error: str | None = None
    skip: str | None = None
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class FileResult:
    """What happened to one input.

    Attributes:
        input: the photo.
        output: its output path (None when it could not even be planned).
        status: ok, skipped (output existed and was complete), error, or planned (dry run).
        error: one-line reason when ``status == "error"``.
        seconds: time spent on this photo (decode + enhance + encode, not queue waits).
        megapixels: size of the photo, when known.
        warnings: notes from decoding/encoding (colour, metadata, frames...).
        compare: the before/after image written, if any.
        reason: why it was skipped, when that is not an existing output (a FIFO...).
    """

    input: Path
    output: Path | None
    status: Status
    error: str | None = None
    seconds: float = 0.0
    megapixels: float | None = None
    warnings: tuple[str, ...] = ()
    compare: Path | None = None
    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (paths as strings)."""
        return {
            "input": str(self.input),
            "output": None if self.output is None else str(self.output),
            "status": str(self.status),
            "error": self.error,
            "seconds": round(self.seconds, 4),
            "megapixels": None if self.megapixels is None else round(self.megapixels, 6),
            "warnings": list(self.warnings),
            "compare": None if self.compare is None else str(self.compare),
            "reason": self.reason,
        }


@dataclass(frozen=True)
class BatchResult:
    """Outcome of :func:`run_batch`; ``files`` are in input order."""

    files: tuple[FileResult, ...]
    seconds: float
    output_dir: Path
    dry_run: bool = False
    model: ModelInfo | None = None
    provider: str | None = None

    def _count(self, status: Status) -> int:
        return sum(1 for f in self.files if f.status == status)

    @property
    def ok(self) -> int:
        """Photos enhanced and written."""
        return self._count(Status.OK)

    @property
    def skipped(self) -> int:
        """Photos whose complete output already existed, and skipped special files."""
        return self._count(Status.SKIPPED)

    @property
    def failed(self) -> int:
        """Inputs that failed (read, plan or write errors)."""
        return self._count(Status.ERROR)

    @property
    def planned(self) -> int:
        """Photos a dry run would process."""
        return self._count(Status.PLANNED)

    @property
    def megapixels(self) -> float:
        """Megapixels enhanced (``ok`` photos only)."""
        return sum(f.megapixels or 0.0 for f in self.files if f.status == Status.OK)

    @property
    def megapixels_per_second(self) -> float:
        """End-to-end throughput: enhanced megapixels over the batch's wall time."""
        return self.megapixels / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        """The JSON report: per-file entries plus a summary."""
        model = None
        if self.model is not None:
            model = {
                "path": str(self.model.path),
                "size": self.model.model_size,
                "precision": self.model.precision,
                "version": self.model.version,
            }
        return {
            "photoenhance": __version__,
            "dry_run": self.dry_run,
            "output_dir": str(self.output_dir),
            "model": model,
            "provider": self.provider,
            "files": [f.to_dict() for f in self.files],
            "summary": {
                "total": len(self.files),
                "ok": self.ok,
                "skipped": self.skipped,
                "failed": self.failed,
                "planned": self.planned,
                "megapixels": round(self.megapixels, 6),
                "seconds": round(self.seconds, 4),
                "megapixels_per_second": round(self.megapixels_per_second, 4),
            },
        }


@dataclass(frozen=True)
class BatchProgress:
    """Progress report: ``done`` of ``total`` inputs finished; ``result`` is the latest."""

    done: int
    total: int
    megapixels: float
    result: FileResult | None = None


ProgressCallback = Callable[[BatchProgress], None]


# --------------------------------------------------------------------------- planning


def _key(path: Path) -> str:
    """Collision key: case-insensitive, NFC-normalised (portable across file systems)."""
    return unicodedata.normalize("NFC", path.as_posix()).casefold()


def _natural_output(relative: Path, fmt: str | None) -> Path:
    """``relative`` with the extension of ``fmt`` if that differs from the input's format."""
    if fmt is None:
        return relative
    try:
        same = normalise_format(relative.suffix) == fmt
    except ValueError:
        same = False
    return relative if same else relative.with_suffix(output_suffix(fmt))


def assign_outputs(relatives: Sequence[Path], fmt: str | None) -> list[Path]:
    """Collision-free output paths (relative to the output folder), one per input.

    See the module docstring for the rule; the result depends only on ``relatives``
    (in order) and ``fmt``.
    """
    natural = [_natural_output(r, fmt) for r in relatives]
    taken: set[str] = set()
    for n in natural:  # a file may not take the name of another output's folder
        taken.update(_key(p) for p in n.parents if p != Path())
    result: list[Path | None] = [None] * len(relatives)
    order = sorted(range(len(relatives)), key=lambda i: (natural[i] != relatives[i], i))
    losers: list[int] = []
    for i in order:
        k = _key(natural[i])
        if k in taken:
            losers.append(i)
        else:
            taken.add(k)
            result[i] = natural[i]
    for i in sorted(losers):
        n = natural[i]
        first = [n.with_name(relatives[i].name + n.suffix)] if n != relatives[i] else []
        counted = (n.with_name(f"{n.stem}-{j}{n.suffix}") for j in itertools.count(2))
        chosen = next(c for c in itertools.chain(first, counted) if _key(c) not in taken)
        taken.add(_key(chosen))
        result[i] = chosen
    return [r for r in result if r is not None]


def _resolve(path: Path) -> Path | None:
    try:
        return path.resolve()
    except (OSError, RuntimeError):
        return None


def _is_within(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


@dataclass(frozen=True)
class BatchPlan:
    """The planned inputs (input order; walk problems included as errors)."""

    files: tuple[PlannedFile, ...]


def _name_problem(rel: Path) -> str | None:
    """Why output path ``rel`` cannot be created (a name over :data:`NAME_MAX`), or None."""
    for part in rel.parts:
        size = len(os.fsencode(part))
        if size > NAME_MAX:
            return f"its name would be {size} bytes long (file systems allow {NAME_MAX})"
    return None


def _is_report(path: Path) -> bool:
    """True if ``path`` is empty or begins like a report written by :func:`write_report`."""
    try:
        with open(path, "rb") as fh:
            start = fh.read(len(_REPORT_START))
    except OSError:
        return False
    return start in (b"", _REPORT_START)


def check_report_path(
    report: Path, inputs: set[Path], targets: Sequence[tuple[Path | None, set[str], str]]
) -> None:
    """Refuse a report path that would replace an input, a file the batch writes
    (``targets``: ``(folder, collision keys of the paths under it, what they are)``), a
    folder, or an existing file that is not a photoenhance report.

    Raises:
        OutputConflictError: one line naming ``report`` and why.
    """
    shown = str(report)
    if len(os.fsencode(report.name)) > NAME_MAX:
        raise OutputConflictError(f"--report {shown}: the name is longer than {NAME_MAX} bytes")
    real = _resolve(report)
    if os.path.lexists(report) and real in inputs:
        raise OutputConflictError(f"--report {shown} is an input photo; refusing to overwrite it")
    for folder, keys, what in targets:
        real_folder = _resolve(folder) if folder is not None else None
        if real is None or real_folder is None or not _is_within(real, real_folder):
            continue
        if _key(real.relative_to(real_folder)) in keys:
            raise OutputConflictError(
                f"--report {shown} is {what} of this run; choose another name"
            )
    if report.is_dir():
        raise OutputConflictError(f"--report {shown} is a folder; give a file name")
    if os.path.lexists(report) and not _is_report(report):
        raise OutputConflictError(
            f"--report {shown} exists and is not a photoenhance report; refusing to overwrite it"
        )


def plan_batch(inputs: Sequence[Path], config: RunConfig) -> BatchPlan:
    """Find the photos in ``inputs`` and decide their output (and compare) paths.

    Raises:
        NoInputsError: nothing to process was found (``problems`` lists the reasons).
        OutputConflictError: ``config.report`` may not be written (see the module docstring).
    """
    walk = walk_inputs(
        [Path(p) for p in inputs], output_dir=config.output_dir, recursive=config.recursive
    )
    files = list(walk.files)
    compare_real = _resolve(config.compare_dir) if config.compare_dir is not None else None
    if compare_real is not None:  # never treat earlier compare images as inputs
        files = [f for f in files if not _is_within(_resolve(f.path) or f.path, compare_real)]
    if not files:
        where = ", ".join(str(p) for p in inputs) or "(none given)"
        raise NoInputsError(f"no photos found in {where}", walk.problems + walk.skipped)
    outputs = assign_outputs([f.relative for f in files], config.format)
    real_inputs = {r for r in (_resolve(f.path) for f in files) if r is not None}
    compares = [
        rel.with_name(rel.name + COMPARE_SUFFIX) if config.compare_dir else None for rel in outputs
    ]
    # the files this run writes, by collision key of their path under their folder
    output_keys = {_key(rel) for rel in outputs}
    compare_keys: set[str] = set()
    same_folder = config.compare_dir is not None and _resolve(config.compare_dir) == _resolve(
        config.output_dir
    )
    planned: list[PlannedFile] = []
    for f, rel, cmp_rel in zip(files, outputs, compares, strict=True):
        dst = config.output_dir / rel
        error = _name_problem(rel)
        if error is not None:
            error = f"output not written: {error}; rename the photo"
        warnings: list[str] = []
        cmp = None
        if cmp_rel is not None and config.compare_dir is not None:
            cmp = config.compare_dir / cmp_rel
            why = _name_problem(cmp_rel)
            if why is None and same_folder and _key(cmp_rel) in output_keys:
                why = "its name is an output of this run"
            if why is not None:
                warnings.append(f"compare image not written: {why}")
                cmp = None
            else:
                compare_keys.add(_key(cmp_rel))
        for target in (dst, cmp):
            if target is not None and os.path.lexists(target) and _resolve(target) in real_inputs:
                error = f"output {target} is an input file; refusing to overwrite an input"
        planned.append(
            PlannedFile(
                0, f.path, None if error else dst, None if error else cmp, error,
                warnings=tuple(warnings),
            )
        )  # fmt: skip
    planned.extend(PlannedFile(0, p, None, None, reason) for p, reason in walk.problems)
    planned.extend(PlannedFile(0, p, None, None, skip=reason) for p, reason in walk.skipped)
    if config.report is not None:
        targets = [
            (config.output_dir, output_keys, "an output"),
            (config.compare_dir, compare_keys, "a compare image"),
        ]
        check_report_path(config.report, real_inputs, targets)
    return BatchPlan(tuple(replace(p, index=i) for i, p in enumerate(planned)))


# --------------------------------------------------------------------------- compare images


def _orientation(image: DecodedImage) -> int:
    exif = image.metadata.exif
    if not exif:
        return 1
    try:
        tags = Image.Exif()
        tags.load(b"Exif\x00\x00" + exif)
        value = tags.get(274, 1)
    except Exception:
        return 1
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def _small(rgb: np.ndarray, size: int) -> Image.Image:
    """A reduced 8-bit copy of ``rgb`` whose long side is at most ``size``."""
    h, w = rgb.shape[:2]
    step = max(1, max(h, w) // (2 * size))
    sub = rgb[::step, ::step]
    im = Image.fromarray(np.round(np.clip(sub, 0.0, 1.0) * 255.0).astype(np.uint8), "RGB")
    im.thumbnail((size, size), Image.Resampling.LANCZOS)
    return im


def _write_compare(path: Path, before: Image.Image, after: Image.Image, orientation: int) -> None:
    if orientation in _ORIENT_TRANSPOSE:
        before = before.transpose(_ORIENT_TRANSPOSE[orientation])
        after = after.transpose(_ORIENT_TRANSPOSE[orientation])
    gap = 8
    canvas = Image.new(
        "RGB", (before.width + gap + after.width, max(before.height, after.height)), (255, 255, 255)
    )
    canvas.paste(before, (0, 0))
    canvas.paste(after, (before.width + gap, 0))
    path.parent.mkdir(parents=True, exist_ok=True)

    def _save(fh: BinaryIO) -> None:
        canvas.save(fh, "JPEG", quality=85)

    atomic_write(path, _save)


# --------------------------------------------------------------------------- pipeline


@dataclass
class _Loaded:
    """A decoded photo travelling through the pipeline (mutable, internal)."""

    item: PlannedFile
    image: DecodedImage
    seconds: float
    before: Image.Image | None = None
    warnings: list[str] = field(default_factory=list)


class _WarningCapture(logging.Handler):
    """Collects ``photoenhance.io`` log records emitted by the current thread's write."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.local = threading.local()

    def emit(self, record: logging.LogRecord) -> None:
        sink: list[str] | None = getattr(self.local, "sink", None)
        if sink is None:
            return
        args = record.args if isinstance(record.args, tuple) else ()
        sink.append(
            str(args[1]) if len(args) == 2 and isinstance(args[0], Path) else record.getMessage()
        )


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _describe(exc: BaseException) -> str:
    if isinstance(exc, ImageReadError):
        return exc.reason
    if isinstance(exc, ImageWriteError):
        return f"cannot write {exc.path}: {exc.reason}"
    if isinstance(exc, MemoryError):
        return "out of memory"
    if isinstance(exc, OSError) and exc.strerror:
        return _one_line(exc.strerror)
    text = _one_line(str(exc))
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class _Pipeline:
    """Reader thread → inference (calling thread) → writer thread, with bounded memory."""

    _DONE = object()

    def __init__(
        self,
        plan: BatchPlan,
        config: RunConfig,
        enhancer: Enhancer,
        on_progress: ProgressCallback | None,
    ) -> None:
        self.plan = plan
        self.config = config
        self.enhancer = enhancer
        self.on_progress = on_progress
        self.results: dict[int, FileResult] = {}
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.slots = threading.Semaphore(config.max_in_flight)
        # a photo takes one slot per started SLOT_MEGAPIXELS (at most all of them), so a
        # batch of 48 MP photos holds one at a time: memory is bounded by pixels, not count
        self.weights: dict[int, int] = {}
        self.read_q: queue.Queue[object] = queue.Queue()
        self.write_q: queue.Queue[object] = queue.Queue()
        self.capture = _WarningCapture()
        self.megapixels = 0.0

    # -- bookkeeping
    def finish(self, result: FileResult, index: int, release: bool) -> None:
        with self.lock:
            self.results[index] = result
            if result.status == Status.OK:
                self.megapixels += result.megapixels or 0.0
            event = BatchProgress(len(self.results), len(self.plan.files), self.megapixels, result)
            if self.on_progress is not None:
                self.on_progress(event)
        if release:
            for _ in range(self.weights.pop(index, 1)):
                self.slots.release()

    def error(
        self, item: PlannedFile, reason: str, seconds: float = 0.0, mp: float | None = None
    ) -> FileResult:
        return FileResult(item.input, item.output, Status.ERROR, reason, seconds, mp)

    # -- stage 1: skip check + decode (reader thread)
    def load(self, item: PlannedFile) -> _Loaded | FileResult:
        t0 = time.perf_counter()
        if item.skip is not None:
            return FileResult(item.input, None, Status.SKIPPED, reason=item.skip)
        if item.error is not None or item.output is None:
            return self.error(item, item.error or "no output path")
        dst = item.output
        if not self.config.overwrite and os.path.lexists(dst) and is_complete_image(dst):
            try:
                w, h = probe_image(item.input, max_megapixels=self.config.max_megapixels)
                mp: float | None = w * h / 1e6
            except ImageReadError:
                mp = None
            return FileResult(item.input, dst, Status.SKIPPED, None, time.perf_counter() - t0, mp)
        try:
            dst.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            reason = f"cannot create output folder {dst.parent}: {_describe(exc)}"
            return self.error(item, reason, time.perf_counter() - t0)
        image = read_image(item.input, max_megapixels=self.config.max_megapixels)
        warnings = [*item.warnings, *image.warnings]
        return _Loaded(item, image, time.perf_counter() - t0, warnings=warnings)

    def _weight(self, item: PlannedFile) -> int:
        if item.skip is not None or item.error is not None:
            return 1  # never opened (a FIFO would block)
        try:
            w, h = probe_image(item.input, max_megapixels=self.config.max_megapixels)
        except Exception:  # the decode reports the problem
            return 1
        return min(self.config.max_in_flight, max(1, math.ceil(w * h / 1e6 / SLOT_MEGAPIXELS)))

    def reader(self) -> None:
        for item in self.plan.files:
            weight = self._weight(item)
            for taken in range(weight):
                while not self.slots.acquire(timeout=0.1):
                    if self.stop.is_set():
                        for _ in range(taken):
                            self.slots.release()
                        return
            self.weights[item.index] = weight
            if self.stop.is_set():
                for _ in range(self.weights.pop(item.index)):
                    self.slots.release()
                return
            try:
                loaded: _Loaded | FileResult = self.load(item)
            except Exception as exc:
                loaded = self.error(item, _describe(exc))
            self.read_q.put((item.index, loaded))
        self.read_q.put(self._DONE)

    # -- stage 2: inference (calling thread)
    def enhance(self, loaded: _Loaded) -> None:
        t0 = time.perf_counter()
        rgb = loaded.image.rgb
        if self.config.compare_dir is not None:
            loaded.before = _small(rgb, self.config.compare_size)
        if not rgb.flags.writeable:  # pragma: no cover - io hands out writable arrays
            raise ValueError("decoded pixels are read-only")
        self.enhancer.enhance(rgb, strength=self.config.strength, out=rgb)
        loaded.seconds += time.perf_counter() - t0

    # -- stage 3: encode + write (writer thread)
    def write(self, loaded: _Loaded) -> FileResult:
        t0 = time.perf_counter()
        item, image = loaded.item, loaded.image
        assert item.output is not None
        self.capture.local.sink = loaded.warnings
        try:
            write_image(
                item.output,
                image,
                image.rgb,
                format=self.config.format,
                quality=self.config.quality,
                software=self.config.software,
            )
        finally:
            self.capture.local.sink = None
        compare = None
        if item.compare is not None and loaded.before is not None:
            try:
                after = _small(image.rgb, self.config.compare_size)
                _write_compare(item.compare, loaded.before, after, _orientation(image))
                compare = item.compare
            except Exception as exc:
                loaded.warnings.append(f"compare image not written: {_describe(exc)}")
        seconds = loaded.seconds + time.perf_counter() - t0
        return FileResult(
            item.input,
            item.output,
            Status.OK,
            None,
            seconds,
            image.megapixels,
            tuple(loaded.warnings),
            compare,
        )

    def writer(self) -> None:
        while True:
            loaded = self.write_q.get()
            if loaded is self._DONE:
                return
            assert isinstance(loaded, _Loaded)
            try:
                result = self.write(loaded)
            except Exception as exc:
                result = self.error(
                    loaded.item, _describe(exc), loaded.seconds, loaded.image.megapixels
                )
            self.finish(result, loaded.item.index, release=True)

    def run(self) -> dict[int, FileResult]:
        reader = threading.Thread(target=self.reader, name="photoenhance-reader", daemon=True)
        writer = threading.Thread(target=self.writer, name="photoenhance-writer", daemon=True)
        _IO_LOGGER.addHandler(self.capture)
        reader.start()
        writer.start()
        try:
            while True:
                entry = self.read_q.get()
                if entry is self._DONE:
                    break
                assert isinstance(entry, tuple)
                index, loaded = entry
                if isinstance(loaded, FileResult):
                    self.finish(loaded, index, release=True)
                    continue
                try:
                    self.enhance(loaded)
                except Exception as exc:
                    reason = f"inference failed: {_describe(exc)}"
                    mp = loaded.image.megapixels
                    self.finish(
                        self.error(loaded.item, reason, loaded.seconds, mp), index, release=True
                    )
                    continue
                self.write_q.put(loaded)
        finally:
            self.stop.set()
            self.write_q.put(self._DONE)
            writer.join()  # let the photo being written finish (writes are atomic anyway)
            reader.join(timeout=5)
            _IO_LOGGER.removeHandler(self.capture)
        return self.results


def _model_info_for_dry_run(config: RunConfig) -> ModelInfo:
    return read_model_info(Path(config.model) if config.model else bundled_model_path())


def run_batch(
    inputs: Sequence[Path],
    config: RunConfig,
    *,
    enhancer: Enhancer | None = None,
    on_progress: ProgressCallback | None = None,
) -> BatchResult:
    """Enhance every photo found in ``inputs`` into ``config.output_dir``.

    Args:
        inputs: files and/or folders.
        config: the run's settings.
        enhancer: a loaded model to reuse; None loads ``config.model`` (or the bundled one).
        on_progress: called after each input finishes (from a worker thread), and once
            with ``done == 0`` before the first.

    Returns:
        The per-file results (input order) and totals.  In a dry run nothing is written
        and photos to process have status ``planned``.

    Raises:
        NoInputsError: no photos found.
        ModelLoadError: the model cannot be loaded.
    """
    start = time.perf_counter()
    plan = plan_batch(inputs, config)
    if config.dry_run:
        info = enhancer.info if enhancer is not None else _model_info_for_dry_run(config)
        results: list[FileResult] = []
        for item in plan.files:
            if item.skip is not None:
                results.append(FileResult(item.input, None, Status.SKIPPED, reason=item.skip))
            elif item.error is not None or item.output is None:
                results.append(FileResult(item.input, item.output, Status.ERROR, item.error))
            elif (
                not config.overwrite
                and os.path.lexists(item.output)
                and is_complete_image(item.output)
            ):
                results.append(FileResult(item.input, item.output, Status.SKIPPED))
            else:
                results.append(
                    FileResult(item.input, item.output, Status.PLANNED, compare=item.compare)
                )
        return BatchResult(
            tuple(results), time.perf_counter() - start, config.output_dir, True, info, None
        )
    if enhancer is None:
        enhancer = Enhancer(config.inference_config())
    for folder in (config.output_dir, config.compare_dir):
        if folder is not None and folder.is_dir():
            clean_stale_temps(folder)
    if on_progress is not None:
        on_progress(BatchProgress(0, len(plan.files), 0.0))
    done = _Pipeline(plan, config, enhancer, on_progress).run()
    files = tuple(done[p.index] for p in plan.files)
    return BatchResult(
        files,
        time.perf_counter() - start,
        config.output_dir,
        False,
        enhancer.info,
        enhancer.provider,
    )


def write_report(result: BatchResult, path: Path) -> None:
    """Write ``result.to_dict()`` as JSON to ``path`` atomically (temporary file, fsync,
    rename; creating its folder).  Only an earlier report (or an empty file) is replaced:
    :func:`plan_batch` refuses other paths before any work (``RunConfig.report``), and
    this checks again.

    Raises:
        ImageWriteError: the report cannot be written (one-line message).
    """
    data = json.dumps(result.to_dict(), indent=2).encode("utf-8") + b"\n"
    if os.path.lexists(path) and not path.is_dir() and not _is_report(path):
        raise ImageWriteError(path, "exists and is not a photoenhance report; not overwritten")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ImageWriteError(path, f"cannot create folder: {_describe(exc)}") from exc

    def _write(fh: BinaryIO) -> None:
        fh.write(data)

    atomic_write(path, _write)


def runtime_versions() -> dict[str, str]:
    """Versions relevant to inference (for ``photoenhance info``)."""
    return {"photoenhance": __version__, "onnxruntime": ort.__version__, "numpy": np.__version__}
