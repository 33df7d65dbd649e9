"""``run --engine ray`` against a real local Ray instance (2 CPUs, loopback only): same
bytes, report and exit codes as the local engine; a broken photo is reported while the
others finish; a worker killed mid-job is replaced and every photo still completes."""

from __future__ import annotations

import contextlib
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from photoenhance.infer import ray_engine
from photoenhance.infer.model_file import ModelLoadError
from photoenhance.infer.runner import BatchProgress, RunConfig, Status, run_batch
from photoenhance.io import MARKER_NAME, is_complete_image
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

def _interrupts_as_in_a_terminal() -> None:
    """``preexec_fn``: a shell's background job (``cmd &`` in a script) starts with SIGINT
    ignored and its children inherit that, so a Ctrl-C test run from one would see the
    child ignore SIGINT; give the child the default disposition a terminal gives it."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)



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


HOLD_SECOND_WRITE = '''
import os
import stat
import time
from pathlib import Path

_real_fsync = os.fsync


def _held_fsync(fd):
    """In every process (driver and Ray workers): the first photo written goes through;
    every later one stops half-way (temporary written, not yet moved into place) until
    PE_GO exists — so the interrupt lands with exactly one photo done and others being
    written. Photos only: files in PE_OUT over 1 KB (the output-folder marker is smaller;
    the model's graph cache is elsewhere)."""
    try:
        name = os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        name = ""
    st = os.fstat(fd)
    if stat.S_ISREG(st.st_mode) and st.st_size > 1024 and name.startswith(os.environ["PE_OUT"]):
        try:
            os.close(os.open(os.environ["PE_FIRST"], os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        except FileExistsError:
            Path(os.environ["PE_WRITING"]).touch()
            deadline = time.monotonic() + 60
            while not Path(os.environ["PE_GO"]).exists() and time.monotonic() < deadline:
                time.sleep(0.05)
    _real_fsync(fd)


os.fsync = _held_fsync
'''


def _session_pids(sid: int) -> list[int]:
    """Processes of session ``sid`` (the CLI run started with start_new_session=True, and
    every process its Ray instance started)."""
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", encoding="utf-8") as fh:
                    fields = fh.read().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            if int(fields[3]) == sid and fields[0] != "Z":
                pids.append(int(entry))
    return sorted(pids)


def _listening_addresses(pids: list[int]) -> list[str]:
    """Local addresses (hex, as in /proc/net/tcp*) of the TCP sockets ``pids`` listen on."""
    inodes = set()
    for pid in pids:
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table, encoding="ascii") as fh:
            for line in fh.readlines()[1:]:
                fields = line.split()
                if fields[3] == "0A" and fields[9] in inodes:  # 0A: LISTEN
                    found.append(fields[1].rsplit(":", 1)[0])
    return found


LOOPBACK = {"0100007F", "00000000000000000000000001000000", "0000000000000000FFFF00000100007F"}


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize(("signum", "code", "word"), [
    (signal.SIGINT, 130, "Interrupted."),
    (signal.SIGTERM, 143, "Terminated."),
])  # fmt: skip
def test_interrupting_a_ray_run_leaves_no_partial_photo_and_no_ray_process(
    tmp_path: Path, make_photo: Any, signum: int, code: int, word: str
) -> None:
    """Issue 13, item 3: Ctrl-C (and SIGTERM, handled alike) cancels a ``--engine ray``
    job: exit 130 (143), every file in the output folder decodes completely, no
    temporary is left, and no process of the run's private Ray instance survives it.
    The interrupt lands while a worker is half-way through writing a photo.

    Also: the private instance listens on loopback only, and is private even where
    ``RAY_ADDRESS`` names a cluster (``ray.init()`` without an address would join it)."""
    try:  # the run starts Ray itself: skip like the other Ray tests where it is missing
        ray_engine.import_ray()
    except ray_engine.EngineUnavailableError:
        pytest.skip("Ray is not installed (pip install 'photoenhance[ray]')")
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(HOLD_SECOND_WRITE)
    first, writing, go = tmp_path / "first", tmp_path / "writing", tmp_path / "go"
    out = tmp_path / "out"
    env = dict(os.environ)
    env.update(
        PYTHONPATH=os.pathsep.join([str(hook), os.environ.get("PYTHONPATH", "")]),
        PE_FIRST=str(first), PE_WRITING=str(writing), PE_GO=str(go), PE_OUT=str(out) + os.sep,
        RAY_ADDRESS="127.0.0.1:9",  # nothing listens there: joining it would fail
    )  # fmt: skip
    src = _photos(tmp_path / "in", make_photo, 8, w=160, h=120)
    cmd = [sys.executable, "-m", "photoenhance.cli", "run", str(src), "-o", str(out),
           "--engine", "ray", "--ray-actors", "2"]  # fmt: skip
    proc = subprocess.Popen(
        cmd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE, text=True, start_new_session=True,
        preexec_fn=_interrupts_as_in_a_terminal,
    )  # fmt: skip
    lines: queue.Queue[str | None] = queue.Queue()

    def read() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            lines.put(line)
        lines.put(None)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    survivors: list[int] = []

    def photos() -> list[Path]:
        return sorted(p for p in out.rglob("*.jpg") if not is_temp_name(p.name))

    try:
        deadline = time.monotonic() + 120
        # one photo done (under its final name), the next ones half-way (held by the hook)
        while not (photos() and writing.exists()) and proc.poll() is None:
            assert time.monotonic() < deadline, "no photo written in time"
            time.sleep(0.05)
        assert proc.poll() is None
        ray_pids = [p for p in _session_pids(proc.pid) if p != proc.pid]
        assert len(ray_pids) >= 3, ray_pids  # GCS, raylet, workers...
        listening = _listening_addresses([proc.pid, *ray_pids])
        assert listening and set(listening) <= LOOPBACK, listening
        assert [p for p in out.rglob("*") if is_temp_name(p.name)]  # being written
        proc.send_signal(signum)
        proc.wait(timeout=60)
        reader.join(timeout=10)
        end = time.monotonic() + 5  # Ray's processes may take a moment to go
        while (survivors := _session_pids(proc.pid)) and time.monotonic() < end:
            time.sleep(0.1)
    finally:
        go.touch()
        if proc.poll() is None:
            proc.kill()  # the process this test started
            proc.wait()
        for pid in _session_pids(proc.pid):  # started by that run: never leave them
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
    seen = []
    while not lines.empty():
        line = lines.get()
        if line is not None:
            seen.append(line)
    err = "".join(seen)
    assert proc.returncode == code, err
    assert word in err and "Traceback" not in err, err
    # issue 20 items 6 and 13: nothing of Ray's on stderr - no C++ notes, no signal-handler
    # report, no log lines of a second instance (ray.init off the main thread), no colours
    for ray_text in ("logging.cc", "*** SIG", "PC: @", "WARNING", "ERROR", "(raylet)",
                     "main thread", "\x1b["):  # fmt: skip
        assert ray_text not in err, err
    assert survivors == [], f"Ray processes left running: {survivors}"
    assert [p for p in out.rglob("*") if is_temp_name(p.name)] == []
    written = sorted(p for p in out.rglob("*") if p.is_file() and p.name != MARKER_NAME)
    assert len(written) == 1, written  # the first photo; the others were cut off
    assert all(is_complete_image(p) for p in written), written


def test_quiet_ray_run_writes_nothing_on_stderr(tmp_path: Path, make_photo: Any) -> None:
    """Issue 20 item 13: ``--engine ray -q`` printed ``logging.cc:303: Set ray log level
    from environment variable RAY_BACKEND_LOG_LEVEL`` (set by us) on every run, and Ray's
    lines carried ANSI colours into a stderr that is not a terminal.  A quiet run says
    nothing at all."""
    try:  # the run starts Ray itself: skip like the other Ray tests where it is missing
        ray_engine.import_ray()
    except ray_engine.EngineUnavailableError:
        pytest.skip("Ray is not installed (pip install 'photoenhance[ray]')")
    src = _photos(tmp_path / "in", make_photo, 2)
    r = subprocess.run([sys.executable, "-m", "photoenhance.cli", "run", str(src), "-o",
                        str(tmp_path / "out"), "--engine", "ray", "-q"],
                       stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=300)  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""
    assert len(list((tmp_path / "out").rglob("*.jpg"))) == 2

