"""Unit tests of :mod:`photoenhance.infer.runner`: naming, config, pipeline behaviour."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
import unicodedata
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import photoenhance.infer.local as local
import photoenhance.infer.photo as photo_mod
from photoenhance.infer.enhancer import Enhancer
from photoenhance.infer.inference_config import InferenceConfig
from photoenhance.infer.runner import (
    BatchProgress,
    NoInputsError,
    RunConfig,
    Status,
    assign_outputs,
    plan_batch,
    run_batch,
)
from photoenhance.io import is_complete_image
from photoenhance.io.atomic import temp_name_for

# --------------------------------------------------------------------------- naming


def P(*parts: str) -> list[Path]:
    return [Path(p) for p in parts]


def test_names_kept_when_format_same() -> None:
    assert assign_outputs(P("a.jpg", "a.png", "sub/a.JPG"), None) == P(
        "a.jpg", "a.png", "sub/a.JPG"
    )


def test_format_changes_extension_only_when_needed() -> None:
    assert assign_outputs(P("a.jpeg", "b.png", "c.TIF"), "jpeg") == P("a.jpeg", "b.jpg", "c.jpg")
    assert assign_outputs(P("c.TIF"), "tiff") == P("c.TIF")


def test_unchanged_name_wins_then_old_extension_then_counter() -> None:
    # b.png sorts first but x.jpg keeps its own name, so x.png yields
    got = assign_outputs(P("x.png", "x.jpg", "x.tif"), "jpeg")
    assert got == P("x.png.jpg", "x.jpg", "x.tif.jpg")
    assert assign_outputs(P("x.jpg", "x.jpg", "x.jpg"), None) == P("x.jpg", "x-2.jpg", "x-3.jpg")


def test_case_insensitive_and_unicode_normalised() -> None:
    nfd = unicodedata.normalize("NFD", "é.jpg")
    nfc = unicodedata.normalize("NFC", "é.jpg")
    assert assign_outputs(P("A.jpg", "a.jpg", nfc, nfd), None) == P(
        "A.jpg", "a-2.jpg", nfc, unicodedata.normalize("NFD", "é-2.jpg")
    )


def test_file_may_not_take_a_folders_name() -> None:
    got = assign_outputs(P("x.jpg/inner.jpg", "x.png"), "jpeg")
    assert got == P("x.jpg/inner.jpg", "x.png.jpg")


def test_counter_skips_names_that_other_inputs_own() -> None:
    assert assign_outputs(P("a.png", "a.jpg", "a-2.jpg"), "jpeg") == P(
        "a.png.jpg", "a.jpg", "a-2.jpg"
    )
    got = assign_outputs(P("d1/a.jpg", "d2/a.jpg", "a-2.jpg"), None)
    assert got == P("d1/a.jpg", "d2/a.jpg", "a-2.jpg")


names = st.lists(
    st.tuples(
        st.sampled_from(["", "sub/", "SUB/"]),
        st.sampled_from(["a", "A", "a-2", "a.png", "b"]),
        st.sampled_from([".jpg", ".JPG", ".png", ".jpeg", ".tif", ".webp"]),
    ).map(lambda t: Path(t[0] + t[1] + t[2])),
    max_size=12,
)


@settings(max_examples=150, deadline=None)
@given(names, st.sampled_from([None, "jpeg", "png", "tiff", "webp"]))
def test_outputs_never_collide(rels: list[Path], fmt: str | None) -> None:
    out = assign_outputs(rels, fmt)
    assert len(out) == len(rels)
    keys = [p.as_posix().casefold() for p in out]
    assert len(set(keys)) == len(keys)
    assert assign_outputs(rels, fmt) == out  # deterministic
    for rel, o in zip(rels, out, strict=True):
        assert o.parent == rel.parent


# --------------------------------------------------------------------------- config / planning


@pytest.mark.parametrize(
    "kwargs",
    [
        {"format": "gif"},
        {"quality": 0},
        {"strength": -0.1},
        {"tile": 32},
        {"threads": 0},
        {"max_megapixels": 0.0},
        {"max_megapixels": float("nan")},
        {"max_in_flight": 0},
    ],
)
def test_run_config_rejects_bad_values(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        RunConfig(**kwargs)


def test_run_config_inference_config() -> None:
    cfg = RunConfig(tile=2048, threads=2, cache_dir=Path("/c"), model=Path("/m.onnx"))
    assert cfg.inference_config() == InferenceConfig(
        model=Path("/m.onnx"), tile=2048, threads=2, cache_dir=Path("/c"), provider="auto"
    )
    assert RunConfig().tile == 2048


def test_no_inputs(tmp_path: Path) -> None:
    with pytest.raises(NoInputsError) as info:
        plan_batch([tmp_path / "nope.jpg"], RunConfig(output_dir=tmp_path / "o"))
    assert info.value.problems and "does not exist" in info.value.problems[0][1]


def test_compare_folder_is_not_an_input(tmp_path: Path, make_photo: Any) -> None:
    make_photo(tmp_path / "in" / "a.jpg")
    make_photo(tmp_path / "in" / "cmp" / "a.jpg.compare.jpg")
    plan = plan_batch(
        [tmp_path / "in"], RunConfig(output_dir=tmp_path / "o", compare_dir=tmp_path / "in" / "cmp")
    )
    assert [p.input.name for p in plan.files] == ["a.jpg"]


# --------------------------------------------------------------------------- pipeline


@pytest.fixture(scope="module")
def enhancer(shared_cache_dir: Path) -> Enhancer:
    return Enhancer(InferenceConfig(tile=1024, cache_dir=shared_cache_dir))


@pytest.fixture
def photos(tmp_path: Path, make_photo: Any) -> Path:
    for i in range(6):
        make_photo(tmp_path / "in" / f"p{i}.png", w=64, h=48, seed=i)
    return tmp_path / "in"


def test_run_batch_results_and_progress(photos: Path, tmp_path: Path, enhancer: Enhancer) -> None:
    events: list[BatchProgress] = []
    killed = subprocess.Popen([sys.executable, "-c", "pass"])
    killed.wait()
    stale = temp_name_for(tmp_path / "out" / "p0.png", pid=killed.pid)
    stale.parent.mkdir()
    stale.write_bytes(b"partial")
    res = run_batch(
        [photos],
        RunConfig(output_dir=tmp_path / "out"),
        enhancer=enhancer,
        on_progress=events.append,
    )
    assert not stale.exists()  # leftovers of a killed run are removed at start
    assert [f.input.name for f in res.files] == [f"p{i}.png" for i in range(6)]
    assert (res.ok, res.skipped, res.failed) == (6, 0, 0)
    assert res.megapixels == pytest.approx(6 * 64 * 48 / 1e6)
    assert res.megapixels_per_second > 0
    finished = [e for e in events if e.current is None]
    assert [e.done for e in finished] == list(range(7))
    assert {e.total for e in events} == {6}
    # and before each photo is enhanced, an event names it (the bar's current file)
    current = [e for e in events if e.current is not None]
    assert sorted(e.current.name for e in current) == [f"p{i}.png" for i in range(6)]
    assert all(e.result is None for e in current)
    assert events[-1].megapixels == pytest.approx(res.megapixels)
    assert res.to_dict()["summary"]["ok"] == 6


def test_a_running_runs_temporaries_are_kept(
    photos: Path, tmp_path: Path, enhancer: Enhancer
) -> None:
    """Issue 11, item 7: run B's start-up clean-up deleted the temporary run A was writing
    (A then failed "write failed: No such file or directory")."""
    run_a = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        out, cmp = tmp_path / "out", tmp_path / "cmp"
        writing = [temp_name_for(d / "sub" / "p9.png", pid=run_a.pid) for d in (out, cmp)]
        for t in writing:
            t.parent.mkdir(parents=True)
            t.write_bytes(b"half of run A's photo")
        res = run_batch(
            [photos], RunConfig(output_dir=out, compare_dir=cmp), enhancer=enhancer
        )
        assert res.ok == 6
        assert all(t.read_bytes() == b"half of run A's photo" for t in writing)
    finally:
        run_a.kill()
        run_a.wait()


def test_dry_run_needs_no_session_and_writes_nothing(photos: Path, tmp_path: Path) -> None:
    res = run_batch(
        [photos], RunConfig(output_dir=tmp_path / "out", dry_run=True, compare_dir=tmp_path / "c")
    )
    assert res.dry_run and res.planned == 6
    assert not (tmp_path / "out").exists() and not (tmp_path / "c").exists()
    assert res.model is not None


@dataclass
class SlowEnhancer:
    """Duck-typed Enhancer: sleeps instead of computing; can fail on request."""

    real: Enhancer
    delay: float = 0.0
    fail_width: int | None = None

    @property
    def info(self) -> Any:
        return self.real.info

    @property
    def provider(self) -> str:
        return self.real.provider

    def enhance(
        self, rgb: np.ndarray, *, strength: float = 1.0, out: np.ndarray | None = None, **_: Any
    ) -> np.ndarray:
        if rgb.shape[1] == self.fail_width:
            raise RuntimeError("onnxruntime exploded")
        time.sleep(self.delay)
        assert out is rgb  # the runner enhances in place
        return rgb


def test_inference_failure_affects_only_that_photo(
    tmp_path: Path, make_photo: Any, enhancer: Enhancer
) -> None:
    make_photo(tmp_path / "in" / "a.png", w=64, h=48)
    make_photo(tmp_path / "in" / "b.png", w=72, h=48)
    make_photo(tmp_path / "in" / "c.png", w=64, h=48)
    fake: Any = SlowEnhancer(enhancer, fail_width=72)
    res = run_batch([tmp_path / "in"], RunConfig(output_dir=tmp_path / "out"), enhancer=fake)
    status = {f.input.name: (f.status, f.error) for f in res.files}
    assert status["b.png"][0] == Status.ERROR and "onnxruntime exploded" in (
        status["b.png"][1] or ""
    )
    assert status["a.png"] == (Status.OK, None) and status["c.png"] == (Status.OK, None)
    assert not (tmp_path / "out" / "b.png").exists()


def test_pipeline_overlaps_and_bounds_memory(
    photos: Path, tmp_path: Path, enhancer: Enhancer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Decode, inference and encode run concurrently; at most max_in_flight photos live."""
    alive = 0
    peak = 0
    lock = threading.Lock()
    real_read, real_write = photo_mod.read_image, photo_mod.write_image

    def read(path: Path, **kw: Any) -> Any:
        nonlocal alive, peak
        time.sleep(0.1)
        image = real_read(path, **kw)
        with lock:
            alive += 1
            peak = max(peak, alive)
        return image

    def write(*args: Any, **kw: Any) -> Any:
        nonlocal alive
        time.sleep(0.1)
        written = real_write(*args, **kw)
        with lock:
            alive -= 1
        return written

    monkeypatch.setattr(photo_mod, "read_image", read)
    monkeypatch.setattr(photo_mod, "write_image", write)
    fake: Any = SlowEnhancer(enhancer, delay=0.1)
    t0 = time.perf_counter()
    res = run_batch([photos], RunConfig(output_dir=tmp_path / "out"), enhancer=fake)
    elapsed = time.perf_counter() - t0
    assert res.ok == 6
    assert peak <= RunConfig(output_dir=tmp_path).max_in_flight
    assert elapsed < 6 * 0.3 * 0.75, f"no overlap: {elapsed:.2f}s for 6 x (3 x 0.1 s)"

    alive = peak = 0
    res = run_batch(
        [photos], RunConfig(output_dir=tmp_path / "out1", max_in_flight=1), enhancer=fake
    )
    assert res.ok == 6 and peak == 1


def test_write_warnings_are_reported_per_file(
    photos: Path, tmp_path: Path, enhancer: Enhancer, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_write = photo_mod.write_image

    def write(dst: Path, source: Any, rgb: Any, **kw: Any) -> Any:
        written = real_write(dst, source, rgb, **kw)
        return replace(written, warnings=(*written.warnings, f"note for {source.path.name}"))

    monkeypatch.setattr(photo_mod, "write_image", write)
    res = run_batch([photos], RunConfig(output_dir=tmp_path / "out"), enhancer=enhancer)
    for f in res.files:
        assert f.warnings == (f"note for {f.input.name}",)


def test_in_place_output_is_complete(photos: Path, tmp_path: Path, enhancer: Enhancer) -> None:
    res = run_batch(
        [photos / "p0.png"],
        RunConfig(output_dir=tmp_path / "o", compare_dir=tmp_path / "c"),
        enhancer=enhancer,
    )
    assert res.files[0].compare is not None and is_complete_image(res.files[0].compare)
    assert is_complete_image(tmp_path / "o" / "p0.png")


def test_in_flight_slots_scale_with_megapixels(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Slots per photo: 1 up to 8 MP, 2 for 12 MP (two alive of the default 4), all for 48 MP."""
    from types import SimpleNamespace

    sizes = {"small.jpg": (3000, 2000), "12mp.jpg": (4000, 3000), "48mp.jpg": (8000, 6000)}
    batch = SimpleNamespace(config=RunConfig(output_dir=tmp_path))
    weight = {n: local._Pipeline._weight(batch, sizes[n]) for n in sizes}  # type: ignore[arg-type]
    assert weight == {"small.jpg": 1, "12mp.jpg": 2, "48mp.jpg": 4}
    assert batch.config.max_in_flight // weight["12mp.jpg"] == 2
