"""Batch enhancement of photo files: the library API behind ``photoenhance run``.

:func:`run_batch` is plan → engine → results: it plans the outputs
(:mod:`photoenhance.infer.naming`), picks the engine (:mod:`photoenhance.infer.engine`:
``local`` threads, ``ray``, or the plan-only engine of a dry run) and runs the plan on it;
each photo is settled by one rule (:func:`~photoenhance.infer.photo.decide`) and goes
through :func:`~photoenhance.infer.photo.process_photo` (or its stages); the CLI only
renders the :class:`BatchResult`, the same for every engine.  No torch here.

The batch is split by job:

- :mod:`~photoenhance.infer.types` — settings, plan entries, results, errors;
- :mod:`~photoenhance.infer.naming` — which photos, output names, collision and report checks;
- :mod:`~photoenhance.infer.photo` — the per-photo rule and function (decide, decode →
  enhance → write);
- :mod:`~photoenhance.infer.engine` — the engine seam: local, Ray, plan-only; the batch's
  shared steps and its one :class:`BatchResult` builder;
- :mod:`~photoenhance.infer.tally` — the one progress tally;
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

import time
from collections.abc import Sequence
from pathlib import Path

from photoenhance.infer.engine import engine_for, mark_output_folders, record_outputs, run_plan
from photoenhance.infer.enhancer import Enhancer
from photoenhance.infer.local import SLOT_MEGAPIXELS
from photoenhance.infer.naming import (
    COMPARE_SUFFIX,
    NAME_MAX,
    assign_outputs,
    check_report_path,
    plan_batch,
)
from photoenhance.infer.photo import decide, process_photo
from photoenhance.infer.providers import ProviderUnavailableError
from photoenhance.infer.ray_engine import EngineError, EngineUnavailableError
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
    "decide",
    "mark_output_folders",
    "plan_batch",
    "process_photo",
    "record_outputs",
    "run_batch",
    "runtime_versions",
    "write_report",
]


def run_batch(
    inputs: Sequence[Path],
    config: RunConfig,
    *,
    enhancer: Enhancer | None = None,
    on_progress: ProgressCallback | None = None,
) -> BatchResult:
    """Enhance every photo found in ``inputs`` into ``config.output_dir``.

    Plan (:func:`plan_batch`) → engine (:func:`~photoenhance.infer.engine.engine_for`) →
    results (:func:`~photoenhance.infer.engine.run_plan`).

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
    started = time.perf_counter()
    plan = plan_batch(inputs, config)
    engine = engine_for(config, enhancer)
    return run_plan(plan, config, engine, started=started, on_progress=on_progress)
