"""The engine seam (:mod:`photoenhance.infer.engine`): plan → engine → results.

One per-photo rule (:func:`photoenhance.infer.photo.decide`) for the local engine, the Ray
driver and the dry run; one progress tally; one :class:`BatchResult` builder.
"""

from __future__ import annotations

import os
import re
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import photoenhance.infer.photo as photo_mod
from photoenhance.infer import ray_engine
from photoenhance.infer.engine import (
    LocalEngine,
    PlanOnlyEngine,
    RayEngine,
    engine_for,
    run_plan,
)
from photoenhance.infer.model_file import bundled_model_path, file_sha256
from photoenhance.infer.naming import plan_batch
from photoenhance.infer.ort_session import read_model_info
from photoenhance.infer.photo import decide
from photoenhance.infer.tally import Tally
from photoenhance.infer.types import (
    BatchPlan,
    BatchProgress,
    BatchResult,
    FileResult,
    PlannedFile,
    RunConfig,
    Status,
)
from photoenhance.io import MARKER_REASON

SRC = Path(photo_mod.__file__).resolve().parents[1]


class InvertingEnhancer:
    """Duck-typed Enhancer: inverts the (float 0..1) pixels; no model run."""

    provider = "fake"

    @property
    def info(self) -> Any:
        return read_model_info(bundled_model_path())

    def enhance(self, rgb: np.ndarray, *, strength: float = 1.0, out: Any = None, **_: Any) -> Any:
        return np.subtract(1.0, rgb, out=out)


@pytest.fixture
def folder(tmp_path: Path, make_photo: Any) -> Path:
    """Inputs for every outcome: new photos, a complete existing output, a partial one,
    and (where the system has them) a FIFO, which is never opened."""
    src = tmp_path / "in"
    for name in ("new.png", "done.png", "partial.png"):
        make_photo(src / name, w=40, h=30)
    if hasattr(os, "mkfifo"):
        os.mkfifo(src / "pipe.jpg")
    out = tmp_path / "out"
    make_photo(out / "done.png", w=40, h=30)
    (out / "partial.png").write_bytes((src / "partial.png").read_bytes()[:60])
    return src


# --------------------------------------------------------------------------- decide


def test_decide_each_outcome(folder: Path, tmp_path: Path) -> None:
    config = RunConfig(output_dir=tmp_path / "out")
    out = config.output_dir
    skip = PlannedFile(0, folder / "pipe.jpg", None, skip="not a regular file")
    got = decide(skip, config)
    assert got is not None and (got.status, got.reason, got.output) == (
        Status.SKIPPED, "not a regular file", None,
    )  # fmt: skip
    error = PlannedFile(1, folder / "x.png", None, error="name clash")
    got = decide(error, config)
    assert got is not None and (got.status, got.error) == (Status.ERROR, "name clash")
    done = PlannedFile(2, folder / "done.png", out / "done.png")
    got = decide(done, config)
    assert got is not None and got.status == Status.SKIPPED
    assert got.reason == f"output {out / 'done.png'} exists; not replaced without --overwrite"
    assert got.megapixels == pytest.approx(40 * 30 / 1e6)
    quick = decide(done, config, measure=False)  # the dry run: the input is not probed
    assert quick == FileResult(done.input, done.output, Status.SKIPPED, reason=got.reason)
    assert decide(done, RunConfig(output_dir=out, overwrite=True)) is None
    assert decide(PlannedFile(3, folder / "partial.png", out / "partial.png"), config) is None
    assert decide(PlannedFile(4, folder / "new.png", out / "new.png"), config) is None


def test_decide_from_the_plan_alone_does_no_io(
    folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_io(*a: Any, **k: Any) -> Any:
        raise AssertionError("opened a file")

    for name in ("is_complete_image", "probe_image", "read_image"):
        monkeypatch.setattr(photo_mod, name, no_io)
    config = RunConfig(output_dir=tmp_path / "out")
    done = PlannedFile(0, folder / "done.png", tmp_path / "out" / "done.png")
    assert decide(done, config, check_output=False) is None
    # and a check that fails is an error result, never an exception
    got = decide(done, config)
    assert got is not None and got.status == Status.ERROR and "opened a file" in (got.error or "")


# --------------------------------------------------------------------------- engines


def _statuses(res: BatchResult) -> dict[str, tuple[str, str | None]]:
    return {f.input.name: (str(f.status), f.reason or f.error) for f in res.files}


def test_local_and_dry_run_settle_every_photo_alike(folder: Path, tmp_path: Path) -> None:
    config = RunConfig(output_dir=tmp_path / "out")
    enhancer = InvertingEnhancer()
    planned = run_plan(
        plan_batch([folder], config),
        config,
        engine_for(RunConfig(output_dir=config.output_dir, dry_run=True), enhancer),  # type: ignore[arg-type]
    )
    done = run_plan(plan_batch([folder], config), config, LocalEngine(enhancer))  # type: ignore[arg-type]
    assert planned.dry_run and not done.dry_run
    dry, local = _statuses(planned), _statuses(done)
    # the same rule: what the dry run plans, the local engine writes; the rest is the same
    assert {k for k, v in dry.items() if v[0] == "planned"} == {"new.png", "partial.png"}
    assert {k for k, v in local.items() if v[0] == "ok"} == {"new.png", "partial.png"}
    assert {k: v for k, v in dry.items() if v[0] != "planned"} == {
        k: v for k, v in local.items() if v[0] != "ok"
    }
    assert dry["done.png"][0] == "skipped"
    if hasattr(os, "mkfifo"):
        assert dry["pipe.jpg"][0] == "skipped"
    assert done.provider == "fake" and planned.provider is None


def test_engine_for_picks_by_config(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert isinstance(engine_for(RunConfig(output_dir=out, dry_run=True)), PlanOnlyEngine)
    ray = engine_for(RunConfig(output_dir=out, engine="ray"))
    assert isinstance(ray, RayEngine) and ray.model.path == bundled_model_path()
    with pytest.raises(ValueError, match="pass no enhancer"):
        engine_for(RunConfig(output_dir=out, engine="ray"), InvertingEnhancer())  # type: ignore[arg-type]
    local = engine_for(RunConfig(output_dir=out), InvertingEnhancer())  # type: ignore[arg-type]
    assert isinstance(local, LocalEngine)
    assert not out.exists()  # choosing an engine writes nothing


def test_ray_driver_settles_plan_entries_without_opening_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The Ray driver classifies skips and plan errors with ``decide`` alone: no decode,
    no output check, and no Ray started when nothing is left for the actors."""

    def no_io(*a: Any, **k: Any) -> Any:
        raise AssertionError("the driver opened a file")

    for name in ("is_complete_image", "probe_image", "read_image", "decode_photo"):
        monkeypatch.setattr(photo_mod, name, no_io)
    monkeypatch.setattr(ray_engine, "import_ray", lambda **_: object())
    monkeypatch.setattr(ray_engine, "_start", no_io)
    plan = BatchPlan((
        PlannedFile(0, tmp_path / "fifo.jpg", None, skip="not a regular file"),
        PlannedFile(1, tmp_path / "a.jpg", None, error="name clash"),
    ))  # fmt: skip
    tally = Tally(plan)
    assert ray_engine.run_ray(plan, RunConfig(output_dir=tmp_path / "out"), tally) is None
    got = tally.in_plan_order()
    assert [(f.status, f.reason or f.error) for f in got] == [
        (Status.SKIPPED, "not a regular file"), (Status.ERROR, "name clash"),
    ]  # fmt: skip
    assert not hasattr(ray_engine, "decode_photo")


class ListingEngine:
    """The seam: any object with ``model``, ``writes`` and ``process`` runs a plan."""

    writes = True

    def __init__(self) -> None:
        self.model = read_model_info(bundled_model_path())

    def process(self, plan: BatchPlan, config: RunConfig, tally: Tally) -> str | None:
        for item in reversed(plan.files):  # any order: results come back in plan order
            tally.finish(item.index, FileResult(item.input, item.output, Status.ERROR, "nope"))
        return "listing"


def test_run_plan_takes_any_engine(folder: Path, tmp_path: Path) -> None:
    config = RunConfig(output_dir=tmp_path / "out")
    plan = plan_batch([folder], config)
    events: list[BatchProgress] = []
    res = run_plan(plan, config, ListingEngine(), on_progress=events.append)
    assert [f.input for f in res.files] == [p.input for p in plan.files]
    assert res.provider == "listing" and res.failed == len(plan.files)
    assert res.model_sha256 == file_sha256(bundled_model_path())
    assert [e.done for e in events] == list(range(len(plan.files) + 1))


# --------------------------------------------------------------------------- tally


def test_tally_counts_photos_not_folders(tmp_path: Path) -> None:
    plan = BatchPlan((
        PlannedFile(0, tmp_path / "a.png", tmp_path / "o" / "a.png"),
        PlannedFile(1, tmp_path / "enhanced", None, skip=MARKER_REASON),
        PlannedFile(2, tmp_path / "b.png", tmp_path / "o" / "b.png"),
    ))  # fmt: skip
    events: list[BatchProgress] = []
    tally = Tally(plan, events.append)
    tally.begin()
    tally.finish(1, FileResult(plan.files[1].input, None, Status.SKIPPED, reason=MARKER_REASON))
    tally.started(plan.files[0].input)
    tally.finish(0, FileResult(plan.files[0].input, None, Status.OK, megapixels=2.0))
    tally.finish(2, FileResult(plan.files[2].input, None, Status.ERROR, "bad"))
    assert [(e.done, e.total) for e in events] == [(0, 2), (0, 2), (0, 2), (1, 2), (2, 2)]
    assert events[1].result is not None and events[1].result.is_folder
    assert events[2].current == plan.files[0].input and events[2].result is None
    assert events[-1].megapixels == 2.0
    assert [f.input.name for f in tally.in_plan_order()] == ["a.png", "enhanced", "b.png"]


def test_tally_is_thread_safe(tmp_path: Path) -> None:
    n = 400
    plan = BatchPlan(tuple(PlannedFile(i, tmp_path / f"{i}.png", None) for i in range(n)))
    seen: list[int] = []
    tally = Tally(plan, lambda e: seen.append(e.done))

    def work(start: int) -> None:
        for i in range(start, n, 4):
            tally.finish(i, FileResult(plan.files[i].input, None, Status.OK, megapixels=1.0))

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert seen == list(range(1, n + 1)) and tally.megapixels == n and not tally.missing()


# --------------------------------------------------------------------------- BatchResult


def test_batch_result_built_in_one_place(tmp_path: Path) -> None:
    config = RunConfig(output_dir=tmp_path / "out")
    model = read_model_info(bundled_model_path())
    res = BatchResult.build((), started=time.perf_counter() - 2, config=config, model=model,
                            provider=None)  # fmt: skip
    assert res.seconds >= 2 and res.output_dir == config.output_dir and not res.dry_run
    assert res.model_sha256 == file_sha256(model.path) and res.config is config
    # no other module calls the constructor, nor makes progress events itself
    calls = {
        str(p.relative_to(SRC)): len(re.findall(r"\bBatchResult\(|\bBatchProgress\(", p.read_text()))
        for p in SRC.rglob("*.py")
    }
    assert {k: v for k, v in calls.items() if v} == {"infer/tally.py": 3}
