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
(no GPU, missing CUDA or TensorRT libraries): :class:`~photoenhance.infer.enhancer.Enhancer`
checks that the session really runs on the requested provider. The default tile per
provider is :func:`photoenhance.infer.tiling.default_tile`. No torch here, and onnxruntime
is imported only when a provider is resolved (``infer/types.py`` stays free of it).
"""

from __future__ import annotations

from collections.abc import Sequence

PROVIDER_NAMES: tuple[str, ...] = ("auto", "cpu", "cuda", "tensorrt")
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
    import onnxruntime as ort  # here, not at the top: see the module docstring

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
