"""The batch's data types: settings (:class:`RunConfig`), plan entries, per-photo and
batch results, progress events, and the errors that abort a batch.

Everything here is a frozen dataclass (picklable: engines ship plan entries and settings
to workers and get :class:`FileResult` back).  No torch here.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from photoenhance import __version__
from photoenhance.display import one_line
from photoenhance.infer.inference_config import InferenceConfig
from photoenhance.infer.model_file import ModelInfo, file_sha256
from photoenhance.infer.providers import PROVIDER_NAMES
from photoenhance.infer.tiling import LARGE_PHOTO_PIXELS, LARGE_PHOTO_TILE, default_tile
from photoenhance.io import MARKER_REASON, ImageReadError, ImageWriteError
from photoenhance.io.manifest import FileIdentity

DEFAULT_MAX_MEGAPIXELS = 200.0
SOFTWARE = f"photoenhance {__version__}"
"""What the XMP history names as the program by default (``RunConfig.software``)."""
WRITE_FORMATS: tuple[str, ...] = ("jpeg", "png", "tiff", "webp")
"""Formats ``RunConfig.format`` accepts (None keeps each input's format)."""
ENGINES: tuple[str, ...] = ("local", "ray")
"""Engines ``RunConfig.engine`` accepts: this process, or a Ray cluster."""


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
        tile: inference tile size in pixels (the halo comes from the model); None:
            :func:`~photoenhance.infer.tiling.default_tile` of ``provider``, resolved
            when the config is made.
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
        software: the program recorded in the outputs' XMP history (EXIF ``Software``
            stays the camera's; only a photo without EXIF gets one naming this).
        provider: execution provider: ``auto``, ``cpu``, ``cuda`` or ``tensorrt``
            (:mod:`photoenhance.infer.providers`).
        engine: ``local`` (this process, :mod:`photoenhance.infer.local`) or ``ray``
            (a Ray cluster, :mod:`photoenhance.infer.ray_engine`).
        ray_address: Ray cluster to join (``auto``: the running one); None starts a
            private local Ray instance for the run.
        ray_actors: model-holding Ray actors; None: as many as the cluster's CPUs (or
            GPUs, for a GPU provider) allow.
        ray_cpus_per_actor: CPUs each actor asks Ray for (and onnxruntime threads,
            unless ``threads`` is set); None: 1.
        ray_gpus_per_actor: GPUs each actor asks Ray for; None: 1 for a GPU provider,
            else 0.
    """

    output_dir: Path = Path("enhanced")
    recursive: bool = True
    format: str | None = None
    quality: int | None = None
    model: Path | None = None
    strength: float = 1.0
    tile: int | None = None
    threads: int | None = None
    overwrite: bool = False
    dry_run: bool = False
    compare_dir: Path | None = None
    compare_size: int = 800
    max_megapixels: float = DEFAULT_MAX_MEGAPIXELS
    cache_dir: Path | None = None
    report: Path | None = None
    max_in_flight: int = 4
    software: str = SOFTWARE
    provider: str = "auto"
    engine: str = "local"
    ray_address: str | None = None
    ray_actors: int | None = None
    ray_cpus_per_actor: float | None = None
    ray_gpus_per_actor: float | None = None

    def __post_init__(self) -> None:
        """Validate values (raises ``ValueError`` with a message naming the option) and
        resolve an unset ``tile`` (:func:`~photoenhance.infer.tiling.default_tile`)."""
        if self.tile is None:
            object.__setattr__(self, "tile", default_tile(self.provider))
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
        if self.provider not in PROVIDER_NAMES:
            raise ValueError(
                f"--provider must be one of {', '.join(PROVIDER_NAMES)}; got {self.provider!r}"
            )
        if self.engine not in ENGINES:
            raise ValueError(f"--engine must be one of {', '.join(ENGINES)}; got {self.engine!r}")
        if self.ray_actors is not None and self.ray_actors < 1:
            raise ValueError(f"--ray-actors must be at least 1, got {self.ray_actors}")
        for flag, value in (
            ("--ray-cpus-per-actor", self.ray_cpus_per_actor),
            ("--ray-gpus-per-actor", self.ray_gpus_per_actor),
        ):
            if value is not None and not (value >= 0 and math.isfinite(value)):
                raise ValueError(f"{flag} must be a number >= 0, got {value}")

    def settings(self) -> dict[str, Any]:
        """The settings a user chose (flags and config file), for the report: JSON-ready."""
        return {
            "output_dir": str(self.output_dir),
            "format": self.format or "same",
            "quality": self.quality if self.quality is not None else "auto",
            "strength": self.strength,
            "tile": self.tile,
            "tile_above_megapixels": {
                "megapixels": LARGE_PHOTO_PIXELS / 1e6,
                "tile": min(self.tile, LARGE_PHOTO_TILE),
            },
            "threads": self.threads if self.threads is not None else "auto",
            "overwrite": self.overwrite,
            "recursive": self.recursive,
            "max_megapixels": self.max_megapixels,
            "compare_dir": None if self.compare_dir is None else str(self.compare_dir),
            "software": self.software,
        }

    def inference_config(self) -> InferenceConfig:
        """The :class:`InferenceConfig` for this run."""
        return InferenceConfig(
            model=self.model,
            tile=self.tile,
            threads=self.threads,
            cache_dir=self.cache_dir,
            provider=self.provider,
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
class BatchPlan:
    """The planned inputs (input order; walk problems included as errors)."""

    files: tuple[PlannedFile, ...]


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
        reason: why it was skipped (every skipped result has one: an existing output, a
            FIFO...).
        source: the photo's identity read before it was decoded (written photos only).
        written: the output's identity right after it was written (written photos only).
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
    source: FileIdentity | None = None
    written: FileIdentity | None = None

    @property
    def is_folder(self) -> bool:
        """A folder passed over (a photoenhance output folder met while walking), not a
        photo: counted apart from photos in progress and summaries."""
        return self.status == Status.SKIPPED and self.reason == MARKER_REASON

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
    config: RunConfig | None = None
    model_sha256: str | None = None
    warnings: tuple[str, ...] = ()
    """Notes about the run as a whole (an output folder that could not be marked...),
    not about one photo."""

    @classmethod
    def build(
        cls,
        files: Sequence[FileResult],
        *,
        started: float,
        config: RunConfig,
        model: ModelInfo,
        provider: str | None,
        dry_run: bool = False,
        warnings: tuple[str, ...] = (),
        output_dir: Path | None = None,
    ) -> BatchResult:
        """The one way a batch's result is made (every engine, and pipe mode).

        Args:
            files: per-photo results, in input order.
            started: ``time.perf_counter()`` when the batch started (``seconds`` is taken
                now, before the model file is hashed).
            config: the run's settings.
            model: the model the photos went (or would go) through; its file's SHA-256
                goes in the report.
            provider: the onnxruntime provider used (None: no photo reached a model).
            dry_run: a plan only, nothing written.
            warnings: notes about the run as a whole.
            output_dir: where the outputs went; None: ``config.output_dir``.
        """
        seconds = time.perf_counter() - started
        return cls(
            files=tuple(files),
            seconds=seconds,
            output_dir=config.output_dir if output_dir is None else output_dir,
            dry_run=dry_run,
            model=model,
            provider=provider,
            config=config,
            model_sha256=file_sha256(model.path),
            warnings=warnings,
        )

    def _count(self, status: Status) -> int:
        return sum(1 for f in self.files if f.status == status and not f.is_folder)

    @property
    def ok(self) -> int:
        """Photos enhanced and written."""
        return self._count(Status.OK)

    @property
    def skipped(self) -> int:
        """Photos whose complete output already existed, and skipped special files
        (folders passed over are :attr:`skipped_folders`)."""
        return self._count(Status.SKIPPED)

    @property
    def skipped_folders(self) -> int:
        """Folders passed over while walking (photoenhance output folders)."""
        return sum(1 for f in self.files if f.is_folder)

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
                "sha256": self.model_sha256,
            }
        settings = None
        if self.config is not None:
            settings = {
                **self.config.settings(),
                "model": None if self.model is None else str(self.model.path),
                "model_sha256": self.model_sha256,
                "provider": self.provider,
            }
        return {
            "photoenhance": __version__,
            "dry_run": self.dry_run,
            "output_dir": str(self.output_dir),
            "model": model,
            "provider": self.provider,
            "settings": settings,
            "warnings": list(self.warnings),
            "files": [f.to_dict() for f in self.files],
            "summary": {
                "total": len(self.files),
                "ok": self.ok,
                "skipped": self.skipped,
                "skipped_folders": self.skipped_folders,
                "failed": self.failed,
                "planned": self.planned,
                "megapixels": round(self.megapixels, 6),
                "seconds": round(self.seconds, 4),
                "megapixels_per_second": round(self.megapixels_per_second, 4),
            },
        }


@dataclass(frozen=True)
class BatchProgress:
    """Progress report: ``done`` of ``total`` inputs finished; ``result`` is the latest
    (None in an event that only says which photo is being enhanced now: ``current``)."""

    done: int
    total: int
    megapixels: float
    result: FileResult | None = None
    current: Path | None = None


ProgressCallback = Callable[[BatchProgress], None]



def describe_error(exc: BaseException) -> str:
    """One line saying what went wrong, for a :class:`FileResult`'s ``error``."""
    if isinstance(exc, ImageReadError):
        return exc.reason
    if isinstance(exc, ImageWriteError):
        return f"cannot write {exc.path}: {exc.reason}"
    if isinstance(exc, MemoryError):
        return "out of memory"
    if isinstance(exc, OSError) and exc.strerror:
        return one_line(exc.strerror)
    text = one_line(str(exc))
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
