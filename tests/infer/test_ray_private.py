"""The private Ray instance of ``run --engine ray`` (no instance in this process before):
once the run is over, nothing in this process may start another one (issue 20 item 6).
A module of its own: the other Ray tests share a module-scoped instance."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from photoenhance.infer import ray_engine
from photoenhance.infer.runner import RunConfig, run_batch

pytestmark = pytest.mark.ray


def test_after_a_private_ray_run_no_second_instance_starts_by_itself(
    tmp_path: Path, make_photo: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After an interrupt, Ray Data's result thread went on after the private instance was
    shut down, and Ray's auto-init (``ray.init()`` on first use) started a second,
    default instance from it: its dashboard and runtime-env agents outlived the run by a
    minute, its SIGTERM handler turned exits into 134 or a silent 1, and its log lines
    reached stderr.  Any Ray call after the run must fail instead of starting one."""
    try:
        ray = ray_engine.import_ray(loopback=True)
    except ray_engine.EngineUnavailableError:
        pytest.skip("Ray is not installed (pip install 'photoenhance[ray]')")
    if ray.is_initialized():  # pragma: no cover - another module left one running
        ray.shutdown()
    import ray._private.auto_init_hook as hook

    monkeypatch.delenv("RAY_ENABLE_AUTO_CONNECT", raising=False)  # restored afterwards
    monkeypatch.setattr(hook, "enable_auto_connect", hook.enable_auto_connect)
    monkeypatch.setenv("RAY_BACKEND_LOG_LEVEL", os.environ.get("RAY_BACKEND_LOG_LEVEL", "fatal"))
    for i in range(2):
        make_photo(tmp_path / "in" / f"p{i}.jpg", w=64, h=48, seed=i)
    res = run_batch([tmp_path / "in"], RunConfig(output_dir=tmp_path / "out", engine="ray"))
    assert res.ok == 2
    assert not ray.is_initialized()
    try:
        with pytest.raises(Exception, match=r"(?i)ray\.init|not been started|not initialized"):
            ray.put(1)  # what Ray Data's thread does: no auto-init now
        assert not ray.is_initialized()
    finally:
        if ray.is_initialized():  # before the fix: the instance auto-init started
            ray.shutdown()
