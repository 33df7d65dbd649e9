"""The onnxruntime session: building it (with the machine-specific optimised-graph cache)
and reading a model's contract from it. The only module of the session split that
imports onnxruntime; no torch here."""

from __future__ import annotations

import hashlib
import os
import platform
from pathlib import Path

import onnxruntime as ort

from photoenhance.contract.reader import ModelInfo, ModelLoadError, Port, model_info
from photoenhance.display import one_line
from photoenhance.infer.inference_config import InferenceConfig
from photoenhance.infer.model_file import check_model_path, sha256_hex
from photoenhance.infer.providers import ORT_PROVIDERS, resolve_provider


def read_model_info(path: Path) -> ModelInfo:
    """Read the photoenhance metadata of an ONNX model without building a session."""
    check_model_path(path)
    try:
        so = ort.SessionOptions()
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
        sess = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises several exception types
        raise ModelLoadError(f"{path}: not a loadable ONNX model ({one_line(exc, 200) or type(exc).__name__})") from exc
    return info_from_session(path, sess)


def info_from_session(path: Path, sess: ort.InferenceSession) -> ModelInfo:
    """The model's :class:`ModelInfo`, checked against the contract
    (:func:`photoenhance.contract.reader.model_info`: raises :class:`ModelLoadError`)."""

    def ports(args: list[ort.NodeArg]) -> list[Port]:
        return [Port(a.name, a.type, tuple(a.shape)) for a in args]

    meta = sess.get_modelmeta().custom_metadata_map
    return model_info(path, meta, ports(sess.get_inputs()), ports(sess.get_outputs()))


def _machine_key() -> str:
    """Identifies what an optimised graph is tied to: onnxruntime build and CPU."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            flags = next((ln for ln in f if ln.startswith("flags")), "")
    except OSError:
        flags = ""
    raw = f"{ort.__version__}|{platform.system()}|{platform.machine()}|{cpu}|{flags}"
    return hashlib.sha256(raw.encode()).hexdigest()[:12]


def _session_options(config: InferenceConfig) -> ort.SessionOptions:
    so = ort.SessionOptions()
    if config.threads:
        so.intra_op_num_threads = config.threads
    so.inter_op_num_threads = 1
    so.log_severity_level = 3
    return so


def create_session(model: Path, config: InferenceConfig) -> tuple[ort.InferenceSession, bool]:
    """Build the onnxruntime session; returns ``(session, used_cache)``.

    With a ``cache_dir``, the graph optimised for *this* machine is saved there on first
    use and loaded (without re-optimising) afterwards; the cache key covers the model
    bytes, the onnxruntime version, the CPU and the execution provider (an optimised
    graph may hold provider-specific fused nodes), so a stale entry is never used.

    Raises:
        ProviderUnavailableError: ``config.provider`` is not in this onnxruntime build.
    """
    so = _session_options(config)
    provider = resolve_provider(config.provider)
    providers = list(ORT_PROVIDERS[provider])
    if not config.optimize:
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
        return ort.InferenceSession(str(model), so, providers=providers), False
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    if config.cache_dir is None:
        return ort.InferenceSession(str(model), so, providers=providers), False
    key = f"{sha256_hex(model)[:16]}-{_machine_key()}"
    if provider != "cpu":  # CPU entries keep their old names
        key += f"-{provider}"
    cached = Path(config.cache_dir) / f"{key}.ort.onnx"
    if cached.is_file():
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
        try:
            return ort.InferenceSession(str(cached), so, providers=providers), True
        except Exception:  # corrupt cache entry: rebuild it below
            cached.unlink(missing_ok=True)
            so = _session_options(config)
            so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        tmp = cached.with_name(f".{cached.name}.{os.getpid()}.tmp")
        so.optimized_model_filepath = str(tmp)
        sess = ort.InferenceSession(str(model), so, providers=providers)
        if tmp.is_file():
            os.replace(tmp, cached)
        return sess, False
    except OSError:  # read-only cache: run without it
        so = _session_options(config)
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        return ort.InferenceSession(str(model), so, providers=providers), False
