"""``photoenhance run`` as a real process: works without torch; survives SIGKILL + rerun."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from photoenhance.io import MARKER_NAME, is_complete_image

BLOCK_TORCH = '''
import sys


class _BlockTorch:
    """Meta-path finder that makes any torch import fail."""

    def find_spec(self, name, path=None, target=None):
        if name == "torch" or name.startswith("torch."):
            raise ImportError(f"{name} is blocked: inference must not import torch")
        return None


sys.meta_path.insert(0, _BlockTorch())
'''

RUN_AND_CHECK = """
import sys
from photoenhance.cli import main
sys.argv = ["photoenhance", *sys.argv[1:]]
try:
    main()
    code = 0
except SystemExit as exc:
    code = exc.code
loaded = sorted(m for m in sys.modules if m == "torch" or m.startswith("torch."))
if loaded:
    print("torch modules loaded:", loaded, file=sys.stderr)
    sys.exit(3)
sys.exit(code)
"""


def _env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(extra)
    return env


def test_inference_without_torch(tmp_path: Path, make_photo: Any) -> None:
    blocker = tmp_path / "block"
    blocker.mkdir()
    (blocker / "sitecustomize.py").write_text(BLOCK_TORCH)
    env = _env(PYTHONPATH=os.pathsep.join([str(blocker), os.environ.get("PYTHONPATH", "")]))
    probe = subprocess.run(
        [sys.executable, "-c", "import torch"], env=env, capture_output=True, text=True
    )
    assert probe.returncode != 0 and "blocked" in probe.stderr  # the blocker is active
    src = make_photo(tmp_path / "in" / "photo.jpg", w=128, h=96)
    out = tmp_path / "out"
    r = subprocess.run(
        [sys.executable, "-c", RUN_AND_CHECK, "run", str(src), "-o", str(out), "--tile", "64"],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert is_complete_image(out / "photo.jpg")


def _temps(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if "photoenhance-tmp" in p.name]


@pytest.mark.slow
def test_sigkill_then_rerun(tmp_path: Path, make_photo: Any) -> None:
    src = tmp_path / "in"
    names = [f"sub{i % 2}/p{i:02d}.jpg" for i in range(12)]
    for i, name in enumerate(names):
        make_photo(src / name, w=384, h=288, seed=i, quality=92)
    before = {n: (src / n).read_bytes() for n in names}
    rng = random.Random(20240506)
    interrupted = 0
    for it in range(3):
        out = tmp_path / f"out{it}"
        cmd = [
            sys.executable,
            "-m",
            "photoenhance.cli",
            "run",
            str(src),
            "-o",
            str(out),
            "-q",
            "--format",
            "png",
        ]
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        time.sleep(rng.uniform(0.4, 1.6))  # a whole run takes ~2 s: mostly mid-batch
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        visible = (
            [p for p in out.rglob("*.png") if not p.name.startswith(".")] if out.exists() else []
        )
        for p in visible:
            assert is_complete_image(p), f"iteration {it}: {p} is visible but incomplete"
        interrupted += len(visible) < len(names)
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stderr
        assert not _temps(out), _temps(out)
        for n in names:
            assert is_complete_image(out / Path(n).with_suffix(".png")), n
    assert interrupted >= 1, "no kill landed before the batch finished"
    assert {n: (src / n).read_bytes() for n in names} == before


PAUSE_WRITES = '''
import os
import stat
import time
from pathlib import Path

_real_fsync = os.fsync


def _paused_fsync(fd):
    """Before the first photo is moved into place: say so, then wait for the go-ahead
    (photos only: the output-folder marker, under 1 KB, is written before them)."""
    st = os.fstat(fd)
    if stat.S_ISREG(st.st_mode) and st.st_size > 1024 and not Path(os.environ["PE_GO"]).exists():
        Path(os.environ["PE_WRITING"]).touch()
        deadline = time.monotonic() + 60
        while not Path(os.environ["PE_GO"]).exists() and time.monotonic() < deadline:
            time.sleep(0.05)
    _real_fsync(fd)


os.fsync = _paused_fsync
'''


def test_second_run_keeps_a_running_runs_temporary(
    tmp_path: Path, make_photo: Any, cli: Any
) -> None:
    """Issue 11, item 7: run B's start-up clean-up deleted the temporary run A was writing
    (run A then failed: "write failed: No such file or directory")."""
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(PAUSE_WRITES)
    writing, go = tmp_path / "writing", tmp_path / "go"
    env = _env(
        PYTHONPATH=os.pathsep.join([str(hook), os.environ.get("PYTHONPATH", "")]),
        PE_WRITING=str(writing),
        PE_GO=str(go),
    )
    a = make_photo(tmp_path / "in" / "a.png", seed=1)
    b = make_photo(tmp_path / "in" / "b.png", seed=2)
    out = tmp_path / "out"
    run_a = subprocess.Popen(
        [sys.executable, "-m", "photoenhance.cli", "run", str(a), "-o", str(out)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while not writing.exists() and run_a.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert writing.exists(), run_a.stderr.read() if run_a.stderr else ""
        assert len(_temps(out)) == 1  # run A's photo, half written
        r = cli("run", b, "-o", out)  # run B, same output folder
        assert r.exit_code == 0, r.output
        assert len(_temps(out)) == 1
    finally:
        go.touch()
        _, err = run_a.communicate(timeout=120)
    assert run_a.returncode == 0, err
    assert is_complete_image(out / "a.png") and is_complete_image(out / "b.png")
    assert not _temps(out)


def test_sigterm_is_handled_like_ctrl_c(tmp_path: Path, make_photo: Any) -> None:
    """Issue 12, item 5: SIGTERM (systemd, docker stop, kill) stops a batch as Ctrl-C does:
    exit 143, the photo being written finishes atomically, no temporary or partial file."""
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(PAUSE_WRITES)
    writing, go = tmp_path / "writing", tmp_path / "go"
    env = _env(
        PYTHONPATH=os.pathsep.join([str(hook), os.environ.get("PYTHONPATH", "")]),
        PE_WRITING=str(writing),
        PE_GO=str(go),
    )
    src = tmp_path / "in"
    names = [f"p{i:02d}.jpg" for i in range(8)]
    for i, name in enumerate(names):
        make_photo(src / name, w=160, h=120, seed=i)
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "photoenhance.cli", "run", str(src), "-o", str(out),
           "--format", "png"]  # fmt: skip
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while not writing.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert writing.exists(), proc.stderr.read() if proc.stderr else ""
        assert len(_temps(out)) == 1  # the first photo, half written, paused before fsync
        proc.send_signal(signal.SIGTERM)
        # the signal lands in the main thread (inference); the writer is still paused
        time.sleep(0.5)
        assert proc.poll() is None  # still waiting for the photo being written
    finally:
        go.touch()
        _, err = proc.communicate(timeout=120)
    assert proc.returncode == 143, err
    assert "Terminated." in err and "Traceback" not in err, err
    assert not _temps(out), _temps(out)
    written = sorted(p for p in out.rglob("*") if p.name != MARKER_NAME)
    assert 1 <= len(written) < len(names), written  # stopped mid-batch, first photo kept
    for p in written:
        assert is_complete_image(p), p


def test_dry_run_into_a_closed_reader_is_exit_0(tmp_path: Path, make_photo: Any) -> None:
    """``run --dry-run | head -1``: the reader went away (its end of the pipe is closed
    before anything is written, the worst case of ``head``); like ``ls | head`` that is
    exit 0, with no traceback and no message (issue 21, item 5).  The run's own lines on
    stderr still come."""
    for i in range(3):
        make_photo(tmp_path / "in" / f"{i}.jpg", w=32, h=24)
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        r = subprocess.run(
            [sys.executable, "-m", "photoenhance", "run", str(tmp_path / "in"),
             "-o", str(tmp_path / "out"), "--dry-run"],
            stdout=write_end, stderr=subprocess.PIPE, text=True, timeout=120,
        )  # fmt: skip
    finally:
        os.close(write_end)
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr and "Exception" not in r.stderr, r.stderr
    assert r.stderr.startswith("Dry run: 3 to enhance"), r.stderr
