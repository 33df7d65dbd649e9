"""The local engine: the photos of a plan through one process, three stages overlapped.

One reader thread decodes ahead (:func:`~photoenhance.infer.photo.decode_photo`),
inference runs on the calling thread (onnxruntime releases the GIL) in place in the
decoded array (:func:`~photoenhance.infer.photo.enhance_photo`), and one writer thread
encodes and writes (:func:`~photoenhance.infer.photo.write_photo`) — the stages of
:func:`~photoenhance.infer.photo.process_photo`, run on different threads.

Memory: a semaphore of ``RunConfig.max_in_flight`` slots (default 4) bounds the decoded
pixels held in memory: a photo takes one slot per started :data:`SLOT_MEGAPIXELS` (8 MP),
so up to four small photos, two 12 MP ones (one enhanced while the next decodes or the
last encodes; enhancing is the slow stage, so a third buys no speed) or one 24 MP+ photo
are alive at once. Measured on 12 MP JPEGs: with three alive the process peaked at 1.06 GB.

No torch here.
"""

from __future__ import annotations

import math
import queue
import threading

from photoenhance.infer.enhancer import Enhancer
from photoenhance.infer.photo import (
    PhotoInFlight,
    decode_photo,
    enhance_photo,
    open_photo,
    write_photo,
)
from photoenhance.infer.tally import Tally
from photoenhance.infer.types import (
    BatchPlan,
    FileResult,
    ProgressCallback,
    RunConfig,
)
from photoenhance.io import OpenedImage

#: photos up to this size take one in-flight slot; bigger ones take one per this many MP
SLOT_MEGAPIXELS = 8.0


class _Pipeline:
    """Reader thread → inference (calling thread) → writer thread, with bounded memory."""

    _DONE = object()

    def __init__(
        self,
        plan: BatchPlan,
        config: RunConfig,
        enhancer: Enhancer,
        tally: Tally,
    ) -> None:
        self.plan = plan
        self.config = config
        self.enhancer = enhancer
        self.tally = tally
        self.stop = threading.Event()
        self.slots = threading.Semaphore(config.max_in_flight)
        # a photo takes one slot per started SLOT_MEGAPIXELS (at most all of them), so a
        # batch of 48 MP photos holds one at a time: memory is bounded by pixels, not count
        self.weights: dict[int, int] = {}
        self.read_q: queue.Queue[object] = queue.Queue()
        self.write_q: queue.Queue[object] = queue.Queue()

    # -- bookkeeping
    def finish(self, result: FileResult, index: int, release: bool) -> None:
        self.tally.finish(index, result)
        if release:
            for _ in range(self.weights.pop(index, 1)):
                self.slots.release()

    def _weight(self, size: tuple[int, int] | None) -> int:
        if size is None:
            return 1  # never opened (a FIFO would block), or the decode reports the problem
        w, h = size
        return min(self.config.max_in_flight, max(1, math.ceil(w * h / 1e6 / SLOT_MEGAPIXELS)))

    # -- stage 1: skip check + decode (reader thread)
    def reader(self) -> None:
        for item in self.plan.files:
            opened = open_photo(item, self.config)  # the input's one open (size, then decode)
            weight = self._weight(opened.size if isinstance(opened, OpenedImage) else None)
            for taken in range(weight):
                while not self.slots.acquire(timeout=0.1):
                    if self.stop.is_set():
                        for _ in range(taken):
                            self.slots.release()
                        if isinstance(opened, OpenedImage):
                            opened.close()
                        return
            self.weights[item.index] = weight
            if self.stop.is_set():
                for _ in range(self.weights.pop(item.index)):
                    self.slots.release()
                if isinstance(opened, OpenedImage):
                    opened.close()
                return
            self.read_q.put((item.index, decode_photo(item, self.config, opened)))
        self.read_q.put(self._DONE)

    # -- stage 3: encode + write (writer thread)
    def writer(self) -> None:
        while True:
            photo = self.write_q.get()
            if photo is self._DONE:
                return
            assert isinstance(photo, PhotoInFlight)
            self.finish(write_photo(photo, self.config), photo.item.index, release=True)

    # -- stage 2: inference (calling thread)
    def run(self) -> None:
        reader = threading.Thread(target=self.reader, name="photoenhance-reader", daemon=True)
        writer = threading.Thread(target=self.writer, name="photoenhance-writer", daemon=True)
        reader.start()
        writer.start()
        try:
            while True:
                entry = self.read_q.get()
                if entry is self._DONE:
                    break
                assert isinstance(entry, tuple)
                index, photo = entry
                if isinstance(photo, FileResult):
                    self.finish(photo, index, release=True)
                    continue
                self.tally.started(photo.item.input)
                failed = enhance_photo(photo, self.enhancer, self.config)
                if failed is not None:
                    self.finish(failed, index, release=True)
                    continue
                self.write_q.put(photo)
        finally:
            self.stop.set()
            self.write_q.put(self._DONE)
            writer.join()  # let the photo being written finish (writes are atomic anyway)
            reader.join(timeout=5)


def run_local(
    plan: BatchPlan,
    config: RunConfig,
    enhancer: Enhancer,
    on_progress: ProgressCallback | None = None,
) -> dict[int, FileResult]:
    """Process every photo of ``plan`` in this process; results by ``PlannedFile.index``.

    ``on_progress`` is called (from a worker thread) after each photo finishes, and
    (from the calling thread, with ``result=None``) when a photo's enhancing starts:
    ``current`` names it.  (``watch`` calls this; a batch goes through
    :class:`~photoenhance.infer.engine.LocalEngine`, which shares the batch's tally.)
    """
    tally = Tally(plan, on_progress)
    run_pipeline(plan, config, enhancer, tally)
    return tally.results


def run_pipeline(plan: BatchPlan, config: RunConfig, enhancer: Enhancer, tally: Tally) -> None:
    """Process every photo of ``plan`` in this process, each result into ``tally``."""
    _Pipeline(plan, config, enhancer, tally).run()
