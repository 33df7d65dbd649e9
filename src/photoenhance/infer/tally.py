"""The batch's one progress tally: results by plan position, and the progress events.

Every engine (:mod:`photoenhance.infer.engine`: local threads, Ray, the dry run) hands
each photo's :class:`~photoenhance.infer.types.FileResult` to :meth:`Tally.finish`, from
any thread; the tally keeps it under its plan index and tells ``on_progress``
(:class:`~photoenhance.infer.types.BatchProgress`) how many of the batch's *photos* are
done: a folder passed over while walking (a photoenhance output folder,
:attr:`FileResult.is_folder`) still comes as an event, for its note, but is neither a
photo done nor one of the total.  No torch here.
"""

from __future__ import annotations

import threading
from pathlib import Path

from photoenhance.infer.types import (
    BatchPlan,
    BatchProgress,
    FileResult,
    ProgressCallback,
    Status,
)
from photoenhance.io import MARKER_REASON


class Tally:
    """Results of one plan's photos as they finish, and the progress they make.

    Thread-safe: the local engine's writer thread and its inference thread both report
    here; ``on_progress`` is called under the tally's lock, so events come one at a time
    and in order.
    """

    def __init__(self, plan: BatchPlan, on_progress: ProgressCallback | None = None) -> None:
        self.plan = plan
        self.on_progress = on_progress
        self.results: dict[int, FileResult] = {}
        self.total = sum(1 for p in plan.files if p.skip != MARKER_REASON)
        self.megapixels = 0.0
        self._folders = 0
        self._lock = threading.Lock()

    @property
    def done(self) -> int:
        """Photos finished so far (folders passed over not counted)."""
        return len(self.results) - self._folders

    def begin(self) -> None:
        """The first event (``done == 0``), once the model is loaded and before any photo."""
        self._emit(BatchProgress(0, self.total, 0.0))

    def started(self, path: Path) -> None:
        """``path`` is being enhanced now (an event with ``current`` set, no result)."""
        if self.on_progress is None:
            return
        with self._lock:
            self._emit(BatchProgress(self.done, self.total, self.megapixels, None, path))

    def finish(self, index: int, result: FileResult) -> None:
        """The photo at plan position ``index`` is finished with ``result``."""
        with self._lock:
            self.results[index] = result
            if result.is_folder:
                self._folders += 1
            elif result.status == Status.OK:
                self.megapixels += result.megapixels or 0.0
            self._emit(BatchProgress(self.done, self.total, self.megapixels, result))

    def missing(self) -> list[int]:
        """Plan positions without a result yet."""
        return [p.index for p in self.plan.files if p.index not in self.results]

    def in_plan_order(self) -> tuple[FileResult, ...]:
        """Every result, in the plan's (input) order (all must be finished)."""
        return tuple(self.results[p.index] for p in self.plan.files)

    def _emit(self, event: BatchProgress) -> None:
        if self.on_progress is not None:
            self.on_progress(event)
