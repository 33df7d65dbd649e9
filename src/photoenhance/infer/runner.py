"""Batch enhancement of photo files: the library API behind ``photoenhance run``.

:func:`run_batch` plans the outputs (:mod:`photoenhance.infer.naming`), then runs every
planned photo through :func:`~photoenhance.infer.photo.process_photo` (or its stages) on
the engine ``RunConfig.engine`` names: ``local`` (:mod:`photoenhance.infer.local`) or
``ray`` (:mod:`photoenhance.infer.ray_engine`); the CLI only renders its
:class:`BatchResult`, the same for both.  No torch here.

The batch is split by job:

- :mod:`~photoenhance.infer.types` — settings, plan entries, results, errors;
- :mod:`~photoenhance.infer.naming` — which photos, output names, collision and report checks;
- :mod:`~photoenhance.infer.photo` — the per-photo function (decode → enhance → write);
- :mod:`~photoenhance.infer.compare` — before/after images;
- :mod:`~photoenhance.infer.local` — the threaded local pipeline;
- :mod:`~photoenhance.infer.ray_engine` — the Ray Data engine;
- :mod:`~photoenhance.infer.providers` — onnxruntime execution providers;
- :mod:`~photoenhance.infer.report` — the JSON report and runtime versions.

Their public names are re-exported here (``from photoenhance.infer.runner import ...``).

Errors
    Every failure (unreadable input, output folder that cannot be created, write error,
    disk full...) becomes a :class:`FileResult` with ``status == "error"`` and a one-line
    reason; the batch goes on.  Only a model that cannot be loaded
    (:class:`~photoenhance.infer.model_file.ModelLoadError`) or finding no inputs at all
    (:class:`NoInputsError`) aborts the batch; temporaries of a killed run are removed
    from the output (and compare) folder at start.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from photoenhance.infer.enhancer import Enhancer
from photoenhance.infer.local import SLOT_MEGAPIXELS, run_local
from photoenhance.infer.model_file import ModelInfo, bundled_model_path, file_sha256
from photoenhance.infer.naming import (
    COMPARE_SUFFIX,
    NAME_MAX,
    assign_outputs,
    check_report_path,
    plan_batch,
)
from photoenhance.infer.ort_session import read_model_info
from photoenhance.infer.photo import process_photo
from photoenhance.infer.providers import ProviderUnavailableError
from photoenhance.infer.ray_engine import EngineError, EngineUnavailableError, run_ray
from photoenhance.infer.report import runtime_versions, write_report
from photoenhance.infer.types import (
    DEFAULT_MAX_MEGAPIXELS,
    ENGINES,
    WRITE_FORMATS,
    BatchPlan,
    BatchProgress,
    BatchResult,
    FileResult,
    NoInputsError,
    OutputConflictError,
    PlannedFile,
    ProgressCallback,
    RunConfig,
    Status,
)
from photoenhance.io import (
    MARKER_REASON,
    clean_stale_temps,
    is_complete_image,
    mark_output_folder,
)
from photoenhance.io.manifest import OutputRecord, input_key, record_key, update_manifest

__all__ = [
    "COMPARE_SUFFIX",
    "DEFAULT_MAX_MEGAPIXELS",
    "ENGINES",
    "NAME_MAX",
    "SLOT_MEGAPIXELS",
    "WRITE_FORMATS",
    "BatchPlan",
    "BatchProgress",
    "BatchResult",
    "EngineError",
    "EngineUnavailableError",
    "FileResult",
    "NoInputsError",
    "OutputConflictError",
    "PlannedFile",
    "ProgressCallback",
    "ProviderUnavailableError",
    "RunConfig",
    "Status",
    "assign_outputs",
    "check_report_path",
    "mark_output_folders",
    "plan_batch",
    "process_photo",
    "record_outputs",
    "run_batch",
    "runtime_versions",
    "write_report",
]


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
        enhancer: a loaded model to reuse (local engine only); None loads
            ``config.model`` (or the bundled one).
        on_progress: called after each input finishes (from a worker thread with the
            local engine), and once with ``done == 0`` before the first.

    Returns:
        The per-file results (input order) and totals.  In a dry run nothing is written
        and photos to process have status ``planned``.

    Raises:
        NoInputsError: no photos found.
        ModelLoadError: the model cannot be loaded.
        ProviderUnavailableError: ``config.provider`` cannot be used here.
        EngineUnavailableError: ``engine == "ray"`` without Ray (or without the GPUs the
            provider needs).
        EngineError: the Ray job failed as a whole.
    """
    start = time.perf_counter()
    plan = plan_batch(inputs, config)
    on_progress = _counting_photos(plan, on_progress)
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
                reason = f"output {item.output} exists; not replaced without --overwrite"
                results.append(FileResult(item.input, item.output, Status.SKIPPED, reason=reason))
            else:
                results.append(
                    FileResult(item.input, item.output, Status.PLANNED, compare=item.compare)
                )
        return BatchResult(
            tuple(results), time.perf_counter() - start, config.output_dir, True, info, None,
            config, file_sha256(info.path),
        )  # fmt: skip
    if config.engine == "ray":
        if enhancer is not None:
            raise ValueError("engine 'ray' loads the model in its workers; pass no enhancer")
        info = _model_info_for_dry_run(config)  # a bad model fails here, before Ray starts
        _clean_temps(config)
        warnings = mark_output_folders(plan, config)
        if on_progress is not None:
            on_progress(BatchProgress(0, len(plan.files), 0.0))
        try:
            run = run_ray(plan, config, on_progress)
        finally:
            _clean_temps(config)  # temporaries of workers killed on this machine
        files = tuple(run.results[p.index] for p in plan.files)
        warnings += record_outputs(config.output_dir, files)
        seconds = time.perf_counter() - start
        return BatchResult(
            files, seconds, config.output_dir, False, info, run.provider,
            config, file_sha256(info.path), warnings,
        )  # fmt: skip
    if enhancer is None:
        enhancer = Enhancer(config.inference_config())
    _clean_temps(config)
    warnings = mark_output_folders(plan, config)
    if on_progress is not None:
        on_progress(BatchProgress(0, len(plan.files), 0.0))
    done = run_local(plan, config, enhancer, on_progress)
    files = tuple(done[p.index] for p in plan.files)
    warnings += record_outputs(config.output_dir, files)
    return BatchResult(
        files,
        time.perf_counter() - start,
        config.output_dir,
        False,
        enhancer.info,
        enhancer.provider,
        config,
        file_sha256(enhancer.info.path),
        warnings,
    )


def _counting_photos(
    plan: BatchPlan, on_progress: ProgressCallback | None
) -> ProgressCallback | None:
    """``on_progress`` with ``done``/``total`` counting photos only: a folder passed over
    (a marked output folder met while walking) still comes as an event, for its note, but
    is not a photo done."""
    folders = sum(1 for p in plan.files if p.skip == MARKER_REASON)
    if on_progress is None or not folders:
        return on_progress
    lock = threading.Lock()
    seen = 0

    def relay(event: BatchProgress) -> None:
        nonlocal seen
        with lock:
            if event.result is not None and event.result.is_folder:
                seen += 1
            done = seen
        on_progress(replace(event, done=event.done - done, total=event.total - folders))

    return relay


def _clean_temps(config: RunConfig) -> None:
    for folder in (config.output_dir, config.compare_dir):
        if folder is not None and folder.is_dir():
            clean_stale_temps(folder)


def mark_output_folders(plan: BatchPlan, config: RunConfig) -> tuple[str, ...]:
    """Create the output (and compare) folder and mark it as photoenhance output
    (:mod:`photoenhance.io.marker`) when the batch has a photo to write.  Returns the
    run's warnings: ``"FOLDER: why it is not marked"`` for a folder that could not be
    marked (a folder that cannot be created is each photo's error, later)."""
    if not any(p.output is not None and p.error is None for p in plan.files):
        return ()
    notes: list[str] = []
    for folder in (config.output_dir, config.compare_dir):
        if folder is not None and (why := mark_output_folder(folder)) is not None:
            notes.append(f"{folder}: {why}")
    return tuple(notes)


def record_outputs(output_dir: Path, files: Sequence[FileResult]) -> tuple[str, ...]:
    """Add the photos written (``ok`` results) to the output folder's record of its
    outputs (:mod:`photoenhance.io.manifest`: what ``watch`` may later replace).
    Returns the run's warnings (the record could not be written)."""
    changes: dict[str, OutputRecord | None] = {}
    for f in files:
        if f.status != Status.OK or f.output is None or f.source is None or f.written is None:
            continue
        if (key := record_key(output_dir, f.output)) is not None:
            changes[key] = OutputRecord(input_key(f.input), f.source, f.written)
    if not changes:
        return ()
    problem = update_manifest(output_dir, changes).problem
    return () if problem is None else (problem,)
