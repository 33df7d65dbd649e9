"""One engine seam: plan → engine → results.

:func:`~photoenhance.infer.runner.run_batch` plans the batch
(:func:`~photoenhance.infer.naming.plan_batch`), picks an engine (:func:`engine_for`) and
hands both to :func:`run_plan`, which does what every batch does around the engine — stale
temporaries removed, output folders marked, the one progress tally
(:class:`~photoenhance.infer.tally.Tally`), outputs recorded, the one
:meth:`BatchResult.build <photoenhance.infer.types.BatchResult.build>` — so the engines
only turn planned photos into results:

:class:`LocalEngine`
    this process: reader, inference and writer threads (:mod:`photoenhance.infer.local`);
:class:`RayEngine`
    a Ray cluster (:mod:`photoenhance.infer.ray_engine`);
:class:`PlanOnlyEngine`
    ``--dry-run``: each photo's fate, nothing written.

All three settle a photo with the same rule, :func:`photoenhance.infer.photo.decide`
(skip / error / process).  No torch here.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from photoenhance.infer.enhancer import Enhancer
from photoenhance.infer.local import run_pipeline
from photoenhance.infer.model_file import ModelInfo, bundled_model_path
from photoenhance.infer.ort_session import read_model_info
from photoenhance.infer.photo import decide
from photoenhance.infer.ray_engine import run_ray
from photoenhance.infer.tally import Tally
from photoenhance.infer.types import (
    BatchPlan,
    BatchResult,
    FileResult,
    ProgressCallback,
    RunConfig,
    Status,
)
from photoenhance.io import clean_stale_temps, mark_output_folder
from photoenhance.io.manifest import OutputRecord, input_key, record_key, update_manifest


class Engine(Protocol):
    """What runs a plan's photos.  ``model`` is known (loaded, or at least read and
    checked) when the engine is made, before anything is written."""

    model: ModelInfo
    writes: bool
    """False: a plan only (the dry run): no folder made, no progress events."""

    def process(self, plan: BatchPlan, config: RunConfig, tally: Tally) -> str | None:
        """Finish every photo of ``plan`` into ``tally``; returns the onnxruntime
        provider used (None when no photo reached a model)."""
        ...


class LocalEngine:
    """This process (:mod:`photoenhance.infer.local`): decode, enhance and write
    overlapped on three threads, with a model loaded once."""

    writes = True

    def __init__(self, enhancer: Enhancer) -> None:
        self.enhancer = enhancer
        self.model = enhancer.info

    def process(self, plan: BatchPlan, config: RunConfig, tally: Tally) -> str | None:
        run_pipeline(plan, config, self.enhancer, tally)
        return self.enhancer.provider


class RayEngine:
    """A Ray cluster (:mod:`photoenhance.infer.ray_engine`): its actors load the model;
    the driver only reads the model file's header (a bad model fails before Ray starts)."""

    writes = True

    def __init__(self, model: ModelInfo) -> None:
        self.model = model

    def process(self, plan: BatchPlan, config: RunConfig, tally: Tally) -> str | None:
        try:
            return run_ray(plan, config, tally)
        finally:
            clean_temps(config)  # temporaries of workers killed on this machine


class PlanOnlyEngine:
    """``--dry-run``: every photo decided (:func:`~photoenhance.infer.photo.decide`, no
    input opened), those to process marked ``planned``; nothing written."""

    writes = False

    def __init__(self, model: ModelInfo) -> None:
        self.model = model

    def process(self, plan: BatchPlan, config: RunConfig, tally: Tally) -> str | None:
        for item in plan.files:
            decided = decide(item, config, measure=False)
            if decided is None:
                decided = FileResult(item.input, item.output, Status.PLANNED, compare=item.compare)
            tally.finish(item.index, decided)
        return None


def engine_for(config: RunConfig, enhancer: Enhancer | None = None) -> Engine:
    """The engine ``config`` asks for (``dry_run``, else ``config.engine``).

    ``enhancer``: a loaded model to reuse (local engine and dry run); None loads (local)
    or reads (Ray, dry run) ``config.model`` or the bundled one.

    Raises:
        ModelLoadError: the model cannot be loaded (or read).
        ProviderUnavailableError: ``config.provider`` cannot be used here (local).
        ValueError: an ``enhancer`` given for the Ray engine.
    """
    if config.dry_run:
        return PlanOnlyEngine(enhancer.info if enhancer is not None else _model_info(config))
    if config.engine == "ray":
        if enhancer is not None:
            raise ValueError("engine 'ray' loads the model in its workers; pass no enhancer")
        return RayEngine(_model_info(config))
    return LocalEngine(enhancer if enhancer is not None else Enhancer(config.inference_config()))


def run_plan(
    plan: BatchPlan,
    config: RunConfig,
    engine: Engine,
    *,
    started: float | None = None,
    on_progress: ProgressCallback | None = None,
) -> BatchResult:
    """Run ``plan`` on ``engine``: the part every batch shares around the engine.

    Args:
        plan: the planned photos.
        config: the run's settings.
        engine: from :func:`engine_for`.
        started: ``time.perf_counter()`` when the batch began (planning included);
            None: now.
        on_progress: progress events (see :class:`~photoenhance.infer.tally.Tally`);
            none in a dry run.

    Returns:
        The batch's result: per-photo results in input order, totals, model, provider.
    """
    started = time.perf_counter() if started is None else started
    warnings: tuple[str, ...] = ()
    tally = Tally(plan, on_progress if engine.writes else None)
    if engine.writes:
        clean_temps(config)
        warnings = mark_output_folders(plan, config)
        tally.begin()
    provider = engine.process(plan, config, tally)
    files = tally.in_plan_order()
    if engine.writes:
        warnings += record_outputs(config.output_dir, files)
    return BatchResult.build(
        files,
        started=started,
        config=config,
        model=engine.model,
        provider=provider,
        dry_run=not engine.writes,
        warnings=warnings,
    )


def _model_info(config: RunConfig) -> ModelInfo:
    return read_model_info(Path(config.model) if config.model else bundled_model_path())


def clean_temps(config: RunConfig) -> None:
    """Remove temporaries of killed runs from the output (and compare) folder."""
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
