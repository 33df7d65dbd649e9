"""``--provider``: names → onnxruntime providers, clear errors for unavailable ones."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import onnxruntime as ort
import pytest

from photoenhance.infer.providers import (
    ProviderUnavailableError,
    needs_gpu,
    provider_name,
    resolve_provider,
)
from photoenhance.infer.runner import RunConfig
from photoenhance.infer.session import Enhancer, InferenceConfig

CPU_ONLY = ["CPUExecutionProvider"]
GPU = ["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"]


def test_auto_picks_cuda_when_present_never_tensorrt() -> None:
    assert resolve_provider("auto", CPU_ONLY) == "cpu"
    assert resolve_provider("auto", GPU) == "cuda"
    assert resolve_provider("tensorrt", GPU) == "tensorrt"
    assert needs_gpu("cuda") and needs_gpu("tensorrt") and not needs_gpu("cpu")
    assert provider_name("CUDAExecutionProvider") == "cuda"


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
    from photoenhance.infer.providers import GPU_DEFAULT_TILE, default_tile

    gpu = ["CUDAExecutionProvider", "CPUExecutionProvider"]
    cpu = ["CPUExecutionProvider"]
    assert default_tile("auto", 2048, gpu) == GPU_DEFAULT_TILE == 4096
    assert default_tile("cuda", 2048, gpu) == 4096
    assert default_tile("auto", 2048, cpu) == 2048
    assert default_tile("cpu", 2048, gpu) == 2048
    assert default_tile("cuda", 2048, cpu) == 2048  # unusable: its error comes later
    assert default_tile("nonsense", 1024, gpu) == 1024
