"""Fixtures of the API tests: one loaded model, and a folder of photos of every kind with
what ``run`` (:func:`photoenhance.infer.runner.run_batch`) wrote for each."""

from __future__ import annotations

import pytest
from _apihelpers import RunOutputs, write_inputs


@pytest.fixture(scope="session")
def run_outputs(tmp_path_factory: pytest.TempPathFactory) -> RunOutputs:
    """Every photo of :func:`_write_inputs` through ``run`` (the CPU, default settings)."""
    from photoenhance.infer.runner import RunConfig, Status, run_batch

    root = tmp_path_factory.mktemp("api-run")
    inputs = write_inputs(root / "in")
    batch = run_batch([root / "in"], RunConfig(output_dir=root / "out", provider="cpu"))
    outputs = {}
    for r in batch.files:
        assert r.status == Status.OK, (r.input, r.error)
        assert r.output is not None
        outputs[r.input.name] = r.output
    assert set(outputs) == set(inputs)
    return RunOutputs(inputs, outputs)


@pytest.fixture(scope="session")
def enhancer():
    """One CPU :class:`photoenhance.Enhancer` for the session."""
    import photoenhance

    return photoenhance.Enhancer(provider="cpu")

