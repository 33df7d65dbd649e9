"""``--provider``: names → onnxruntime providers, clear errors for unavailable ones."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import onnxruntime as ort
import pytest

from photoenhance.infer.enhancer import Enhancer
from photoenhance.infer.inference_config import InferenceConfig
from photoenhance.infer.providers import (
    ProviderUnavailableError,
    needs_gpu,
    resolve_provider,
)
from photoenhance.infer.runner import RunConfig

CPU_ONLY = ["CPUExecutionProvider"]
GPU = ["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"]


def test_auto_picks_cuda_when_present_never_tensorrt() -> None:
    assert resolve_provider("auto", CPU_ONLY) == "cpu"
    assert resolve_provider("auto", GPU) == "cuda"
    assert resolve_provider("tensorrt", GPU) == "tensorrt"
    assert needs_gpu("cuda") and needs_gpu("tensorrt") and not needs_gpu("cpu")


@pytest.mark.parametrize("name", ["cuda", "tensorrt"])
def test_unavailable_provider_is_one_line_error(name: str) -> None:
    with pytest.raises(ProviderUnavailableError) as err:
        resolve_provider(name, CPU_ONLY)
    assert "\n" not in str(err.value) and f"--provider {name}" in str(err.value)
    with pytest.raises(ProviderUnavailableError, match="must be one of"):
        resolve_provider("gpu", GPU)
    with pytest.raises(ValueError, match="--provider"):
        RunConfig(provider="gpu")


def test_graph_cache_key_includes_a_gpu_provider(tmp_path: Path) -> None:
    Enhancer(InferenceConfig(cache_dir=tmp_path, provider="cpu"))
    (entry,) = tmp_path.glob("*.ort.onnx")
    assert entry.name.count("-") == 1  # <model digest>-<machine key>: CPU names unchanged
    if "CUDAExecutionProvider" in ort.get_available_providers():  # pragma: no cover - GPU box
        Enhancer(InferenceConfig(cache_dir=tmp_path, provider="cuda"))
        assert any(p.name.endswith("-cuda.ort.onnx") for p in tmp_path.glob("*.ort.onnx"))


@pytest.mark.skipif(
    "CUDAExecutionProvider" in ort.get_available_providers(), reason="CUDA is available here"
)
def test_cli_cuda_without_cuda_exits_2(cli: Any, make_photo: Any, tmp_path: Path) -> None:
    src = make_photo(tmp_path / "in" / "a.jpg")
    r = cli("run", src, "-o", tmp_path / "out", "--provider", "cuda")
    assert r.exit_code == 2
    assert "CUDAExecutionProvider" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()
    r = cli("info", "--provider", "cuda")
    assert r.exit_code == 2


def test_report_and_info_name_the_provider(cli: Any, make_photo: Any, tmp_path: Path) -> None:
    src = make_photo(tmp_path / "in" / "a.jpg")
    r = cli("run", src, "-o", tmp_path / "out", "--provider", "cpu", "--report", tmp_path / "r.json")
    assert r.exit_code == 0
    assert json.loads((tmp_path / "r.json").read_text())["provider"] == "CPUExecutionProvider"
    r = cli("info", "--provider", "cpu")
    assert "CPUExecutionProvider" in r.stdout


def test_default_tile_is_larger_on_a_gpu_provider() -> None:
    from photoenhance.infer.tiling import CPU_TILE, GPU_TILE, default_tile

    gpu = ["CUDAExecutionProvider", "CPUExecutionProvider"]
    cpu = ["CPUExecutionProvider"]
    assert (CPU_TILE, GPU_TILE) == (2048, 4096)
    assert default_tile("auto", gpu) == GPU_TILE
    assert default_tile("cuda", gpu) == GPU_TILE
    assert default_tile("tensorrt", ["TensorrtExecutionProvider", *gpu]) == GPU_TILE
    assert default_tile("auto", cpu) == CPU_TILE
    assert default_tile("cpu", gpu) == CPU_TILE
    assert default_tile("cuda", cpu) == CPU_TILE  # unusable: its error comes later
    assert default_tile("nonsense", gpu) == CPU_TILE


@pytest.mark.parametrize("provider", ["auto", "cpu", "cuda", "tensorrt"])
@pytest.mark.parametrize("available", [CPU_ONLY, GPU], ids=["cpu-build", "gpu-build"])
def test_info_run_watch_eval_resolve_the_same_tile(
    provider: str, available: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """One rule (infer.tiling.default_tile): with no --tile and no config-file tile,
    ``info`` (its InferenceConfig), ``run`` and ``watch`` (the CLI's RunConfig, which
    makes the session's InferenceConfig) and ``eval`` (InferenceConfig, CPU provider)
    agree, per provider, on a CPU-only and on a GPU build of onnxruntime."""
    from photoenhance.cli.runconfig import _build_run_config
    from photoenhance.infer.tiling import CPU_TILE, GPU_TILE, default_tile

    monkeypatch.setattr(ort, "get_available_providers", lambda: list(available))
    gpu = provider in ("cuda", "tensorrt", "auto") and available == GPU
    want = GPU_TILE if gpu else CPU_TILE
    assert default_tile(provider) == want
    info_tile = InferenceConfig(provider=provider).tile  # as `info --provider` builds it
    flags = dict(
        output=None, recursive=True, format=None, quality=None, model=None, strength=None,
        tile=None, threads=None, overwrite=False, dry_run=True, compare=None, max_megapixels=200.0,
    )  # fmt: skip
    run_config = _build_run_config(**flags, provider=provider)  # `run --provider`
    assert info_tile == run_config.tile == run_config.inference_config().tile == want
    if provider == "auto":  # `watch` has no --provider: RunConfig's default, auto
        assert _build_run_config(**flags).tile == want
    # `eval` loads its models with InferenceConfig's defaults: the CPU provider
    assert InferenceConfig(model=None, threads=None).tile == default_tile("cpu") == CPU_TILE


@pytest.mark.parametrize("provider", ["auto", "cpu"])
def test_info_shows_the_tile_run_uses(
    provider: str, cli: Any, make_photo: Any, tmp_path: Path
) -> None:
    """End to end on this machine: `info` prints the tile that `run` records."""
    from photoenhance.infer.tiling import default_tile

    r = cli("info", "--provider", provider)
    assert r.exit_code == 0
    assert "tile:" in r.stdout and f"{default_tile(provider)} px" in r.stdout
    src = make_photo(tmp_path / "in" / "a.jpg")
    report = tmp_path / "r.json"
    r = cli("run", src, "-o", tmp_path / "out", "--provider", provider, "--report", report)
    assert r.exit_code == 0
    assert json.loads(report.read_text())["settings"]["tile"] == default_tile(provider)
