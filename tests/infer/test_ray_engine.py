"""``run --engine ray`` against a real local Ray instance (2 CPUs, loopback only): same
bytes, report and exit codes as the local engine; a broken photo is reported while the
others finish; a worker killed mid-job is replaced and every photo still completes."""

from __future__ import annotations

import json
import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from photoenhance.infer import ray_engine
from photoenhance.infer.runner import BatchProgress, RunConfig, Status, run_batch
from photoenhance.infer.session import ModelLoadError
from photoenhance.io import is_complete_image
from photoenhance.io.atomic import is_temp_name

pytestmark = pytest.mark.ray


@pytest.fixture(scope="module")
def ray_instance() -> Iterator[Any]:
    try:
        ray = ray_engine.import_ray(loopback=True)
    except ray_engine.EngineUnavailableError:
        pytest.skip("Ray is not installed (pip install 'photoenhance[ray]')")
    if ray.is_initialized():  # pragma: no cover - another module left one running
        ray.shutdown()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
    try:
        nodes = [k for k in ray.cluster_resources() if k.startswith("node:") and "internal" not in k]
        assert nodes == ["node:127.0.0.1"], nodes  # listens on loopback only
        yield ray
    finally:
        ray.shutdown()


def _photos(folder: Path, make_photo: Any, n: int, w: int = 96, h: int = 64) -> Path:
    for i in range(n):
        make_photo(folder / ("sub" if i % 2 else "") / f"p{i}.jpg", w=w, h=h, seed=i)
    return folder


def _normalised(report: Path, out: Path) -> dict[str, Any]:
    """The report without timings, throughput and its own output folder."""
    data = json.loads(report.read_text().replace(str(out), "OUT"))
    for f in data["files"]:
        f.pop("seconds")
    for key in ("seconds", "megapixels_per_second"):
        data["summary"].pop(key)
    return data


def test_ray_matches_local_bytes_report_and_exit_codes(
    ray_instance: Any, tmp_path: Path, make_photo: Any, cli: Any
) -> None:
    src = _photos(tmp_path / "in", make_photo, 4)
    (src / "broken.jpg").write_bytes(b"\xff\xd8 not really a JPEG")
    runs = {}
    for engine in ("local", "ray"):
        out, rep = tmp_path / f"out-{engine}", tmp_path / f"{engine}.json"
        r = cli("run", src, "-o", out, "--report", rep, "--engine", engine, "-q")
        runs[engine] = (r.exit_code, _normalised(rep, out), r.stderr)
    assert runs["ray"][0] == runs["local"][0] == 1  # one photo failed
    assert runs["ray"][1] == runs["local"][1]
    assert runs["ray"][2] == runs["local"][2]  # the same error line for broken.jpg
    report = runs["ray"][1]
    assert report["summary"]["ok"] == 4 and report["summary"]["failed"] == 1
    assert report["provider"] == "CPUExecutionProvider"
    local_files = sorted(p.relative_to(tmp_path / "out-local") for p in (tmp_path / "out-local").rglob("*.jpg"))
    assert len(local_files) == 4
    for rel in local_files:
        assert (tmp_path / "out-ray" / rel).read_bytes() == (tmp_path / "out-local" / rel).read_bytes()
    # a rerun skips the complete outputs (planning and skip checks as local)
    r = cli("run", src, "-o", tmp_path / "out-ray", "--engine", "ray", "--report", tmp_path / "again.json", "-q")
    again = json.loads((tmp_path / "again.json").read_text())
    assert r.exit_code == 1
    assert sorted(f["status"] for f in again["files"]) == ["error"] + ["skipped"] * 4


def _descendants(root: int) -> set[int]:
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", encoding="utf-8") as fh:
                    parents[int(entry)] = int(fh.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    found, todo = set(), [root]
    while todo:
        pid = todo.pop()
        for child, parent in parents.items():
            if parent == pid and child not in found:
                found.add(child)
                todo.append(child)
    return found


def _photo_actor_pids() -> list[int]:
    """Processes of this test's Ray instance that run a PhotoActor (started by us)."""
    pids = []
    for pid in _descendants(os.getpid()):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as fh:
                cmdline = fh.read().decode("utf-8", "replace")
        except OSError:
            continue
        if cmdline.startswith("ray::") and "PhotoActor" in cmdline:
            pids.append(pid)
    return sorted(pids)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_a_worker_killed_mid_job_is_replaced_and_every_photo_completes(
    ray_instance: Any, tmp_path: Path, make_photo: Any
) -> None:
    src = _photos(tmp_path / "in", make_photo, 10, w=640, h=480)
    killed: list[int] = []

    def on_progress(event: BatchProgress) -> None:
        if killed or event.result is None:
            return
        actors = _photo_actor_pids()
        assert actors, "no PhotoActor process found"
        os.kill(actors[0], signal.SIGKILL)  # a process this test started (via ray.init)
        killed.append(actors[0])

    config = RunConfig(output_dir=tmp_path / "out-ray", engine="ray")
    res = run_batch([src], config, on_progress=on_progress)
    assert killed and killed[0] not in _photo_actor_pids()
    assert [f.status for f in res.files] == [Status.OK] * 10, [f.error for f in res.files]
    local = run_batch([src], RunConfig(output_dir=tmp_path / "out-local"))
    assert local.ok == 10
    for f in local.files:
        assert f.output is not None
        twin = tmp_path / "out-ray" / f.output.relative_to(tmp_path / "out-local")
        assert is_complete_image(twin) and twin.read_bytes() == f.output.read_bytes()
    leftovers = [p for p in (tmp_path / "out-ray").rglob("*") if is_temp_name(p.name)]
    assert leftovers == []  # the killed worker's temporary (if any) was cleaned up


def test_ray_engine_checks_the_model_before_starting(tmp_path: Path, make_photo: Any) -> None:
    src = _photos(tmp_path / "in", make_photo, 1)
    bad = tmp_path / "model.onnx"
    bad.write_bytes(b"not a model")
    with pytest.raises(ModelLoadError):
        run_batch([src], RunConfig(output_dir=tmp_path / "out", engine="ray", model=bad))
    assert not (tmp_path / "out").exists()


def test_without_ray_the_engine_is_a_one_line_usage_error(
    tmp_path: Path, make_photo: Any, cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # as if Ray were not installed
    src = _photos(tmp_path / "in", make_photo, 1)
    r = cli("run", src, "-o", tmp_path / "out", "--engine", "ray")
    assert r.exit_code == 2
    assert r.stderr.strip().splitlines()[-1].endswith("pip install 'photoenhance[ray]'"), r.stderr
