"""onnxruntime execution providers: the ``--provider cpu|cuda|tensorrt|auto`` names.

Each name maps to onnxruntime's provider list, best first, always ending with the CPU
(onnxruntime places nodes a provider cannot run on the next one):

=========  =====================================================================
cpu        ``CPUExecutionProvider``
cuda       ``CUDAExecutionProvider``, then CPU (``pip install "photoenhance[gpu]"``)
tensorrt   ``TensorrtExecutionProvider``, then CUDA, then CPU (also needs the TensorRT
           libraries)
auto       ``cuda`` when this onnxruntime build has it, else ``cpu`` (TensorRT only on
           request: it builds an engine per input shape, minutes on first use)
=========  =====================================================================

A requested provider this onnxruntime build lacks is a usage error
(:class:`ProviderUnavailableError`), and so is one that the build lists but cannot start
(no GPU, missing CUDA or TensorRT libraries): :class:`~photoenhance.infer.session.Enhancer`
checks that the session really runs on the requested provider.  No torch here.
"""

from __future__ import annotations

from collections.abc import Sequence

import onnxruntime as ort

PROVIDER_NAMES: tuple[str, ...] = ("auto", "cpu", "cuda", "tensorrt")
# Tiles on a GPU provider when --tile is not given: 12 MP in one tile. Measured on an H200
# (BENCHMARKS.md "INT8 model per execution provider on a GPU"): 12.2 MP/s at 2048 px,
# 48.4 MP/s at 4096 px — per-tile overhead (copies, tiling on the host) starves the GPU.
# Outputs do not depend on the tile size (tiling is exact).
GPU_DEFAULT_TILE = 4096
_CPU = "CPUExecutionProvider"
_CUDA = "CUDAExecutionProvider"
_TRT = "TensorrtExecutionProvider"
ORT_PROVIDERS: dict[str, tuple[str, ...]] = {
    "cpu": (_CPU,),
    "cuda": (_CUDA, _CPU),
    "tensorrt": (_TRT, _CUDA, _CPU),
}
_INSTALL = {
    "cuda": "pip install 'photoenhance[gpu]' (onnxruntime-gpu) on a machine with an NVIDIA GPU",
    "tensorrt": "pip install 'photoenhance[gpu]' and the TensorRT libraries",
}


class ProviderUnavailableError(ValueError):
    """The requested execution provider cannot be used here (one-line message)."""


def needs_gpu(provider: str) -> bool:
    """True for providers that run on a GPU (``cuda``, ``tensorrt``)."""
    return provider in ("cuda", "tensorrt")


def resolve_provider(name: str, available: Sequence[str] | None = None) -> str:
    """``cpu``, ``cuda`` or ``tensorrt`` for ``name`` (``auto`` picks the best available).

    Args:
        name: one of :data:`PROVIDER_NAMES`.
        available: onnxruntime's available providers (default: this process's
            ``onnxruntime.get_available_providers()``).

    Raises:
        ProviderUnavailableError: unknown name, or a provider this build lacks.
    """
    have = list(ort.get_available_providers() if available is None else available)
    if name == "auto":
        return "cuda" if _CUDA in have else "cpu"
    if name not in ORT_PROVIDERS:
        raise ProviderUnavailableError(
            f"--provider must be one of {', '.join(PROVIDER_NAMES)}; got {name!r}"
        )
    first = ORT_PROVIDERS[name][0]
    if first not in have:
        raise ProviderUnavailableError(
            f"--provider {name}: onnxruntime {ort.__version__} here has no {first} "
            f"(available: {', '.join(have) or 'none'}); {_INSTALL.get(name, '')}".rstrip("; ")
        )
    return name


def provider_name(ort_provider: str) -> str:
    """``cpu``/``cuda``/``tensorrt`` for an onnxruntime provider name (else itself)."""
    for name, providers in ORT_PROVIDERS.items():
        if providers[0] == ort_provider:
            return name
    return ort_provider


def default_tile(provider: str, cpu_tile: int, available: Sequence[str] | None = None) -> int:
    """The tile size to use when none is given: :data:`GPU_DEFAULT_TILE` when ``provider``
    (``auto`` resolved against ``available``, default this onnxruntime's providers) runs
    on a GPU, else ``cpu_tile``.  An unusable provider gives ``cpu_tile`` (its error comes
    later, where the session is made)."""
    try:
        resolved = resolve_provider(provider, available)
    except ProviderUnavailableError:
        return cpu_tile
    return GPU_DEFAULT_TILE if needs_gpu(resolved) else cpu_tile
