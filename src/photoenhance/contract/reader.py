"""Checking a model against the contract and reading its metadata (the reader side).

The runtime that loaded the model (onnxruntime in :mod:`photoenhance.infer.ort_session`,
or ``onnx`` in a test) describes its inputs and outputs as :class:`Port` values and hands
over its ``metadata_props``; :func:`model_info` checks them against
:mod:`photoenhance.contract.spec` and returns a :class:`ModelInfo`, or raises one
:class:`ModelLoadError` naming the file. No torch, no onnxruntime here.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from photoenhance.contract.spec import (
    CONTEXT_SIZE,
    FORMAT_STATS,
    FORMATS,
    INPUT_NAMES,
    INPUT_NAMES_STATS,
    META_CONFIG,
    META_CONTEXT,
    META_FORMAT,
    META_HALO,
    META_MACS_PER_MP,
    META_MODEL_SIZE,
    META_MULTIPLE,
    META_PARAMS,
    META_PRECISION,
    META_VERSION,
    MIN_HALO,
    MULTIPLE,
    PACKED_CHANNELS,
)
from photoenhance.contract.statistics import STATS_CHANNELS
from photoenhance.display import one_line


class ModelLoadError(RuntimeError):
    """The model file is missing or is not a photoenhance ONNX model."""


@dataclass(frozen=True)
class ModelInfo:
    """What the ONNX metadata says about a model."""

    path: Path
    model_size: str
    precision: str
    version: str
    macs_per_mp: float
    multiple: int
    context_size: int
    halo: int
    params: int
    #: channels of the ``stats`` input (format 3: :mod:`photoenhance.contract.statistics`);
    #: 0 for a model that takes the thumbnail only (format 2)
    stats_channels: int = 0


@dataclass(frozen=True)
class Port:
    """One declared input or output: name, type (``tensor(float)``) and shape (ints for
    fixed sizes, anything else for a symbolic one)."""

    name: str
    type: str
    shape: tuple[Any, ...]


def _shape_problem(arg: Port, expected: tuple[int | None, ...]) -> str | None:
    """Why ``arg``'s declared type/shape cannot be ``expected`` (None: any size), or None."""
    if arg.type != "tensor(float)":
        return f"{arg.name!r} is {arg.type}, expected tensor(float)"
    shape = arg.shape
    fixed = [d if isinstance(d, int) else None for d in shape]
    if len(shape) != len(expected) or any(
        e is not None and f is not None and e != f for f, e in zip(fixed, expected, strict=True)
    ):
        want = ", ".join("?" if e is None else str(e) for e in expected)
        return f"{arg.name!r} has shape {list(shape)}, expected ({want})"
    return None


def _meta_int(meta: Mapping[str, str], key: str, default: str, *, minimum: int) -> int:
    raw = meta.get(key, default)
    try:
        value = int(raw)
    except ValueError:
        value = None
    if value is None or value < minimum:
        raise ValueError(f"{key} must be an integer >= {minimum}, got {raw!r}")
    return value


def _meta_json(meta: Mapping[str, str], key: str) -> dict[str, Any]:
    try:
        value = json.loads(meta.get(key, "{}"))
    except ValueError as exc:
        raise ValueError(f"{key} is not valid JSON ({one_line(exc, 200) or type(exc).__name__})") from exc
    if not isinstance(value, dict):
        raise ValueError(f"{key} must be a JSON object, got {type(value).__name__}")
    return value


def model_info(
    path: Path, meta: Mapping[str, str], inputs: Sequence[Port], outputs: Sequence[Port]
) -> ModelInfo:
    """The model's :class:`ModelInfo`, after checking its metadata and declared I/O.

    Raises:
        ModelLoadError: one line naming ``path``: not a photoenhance model, another
            format, unusable metadata, or inputs/outputs of the wrong name, type or shape.
    """
    if META_FORMAT not in meta:
        raise ModelLoadError(f"{path}: not a photoenhance model (no photoenhance metadata)")
    if meta[META_FORMAT] not in FORMATS:
        raise ModelLoadError(
            f"{path}: model format {meta[META_FORMAT]} is not supported (this "
            f"version reads formats {', '.join(FORMATS)}); train it again with this version "
            "(`photoenhance train`)"
        )
    with_stats = meta[META_FORMAT] == FORMAT_STATS
    expected = list(INPUT_NAMES_STATS if with_stats else INPUT_NAMES)
    names = [i.name for i in inputs]
    if names != expected:
        raise ModelLoadError(f"{path}: unexpected inputs {names}, expected {expected}")
    try:
        ctx = _meta_json(meta, META_CONTEXT)
        config = _meta_json(meta, META_CONFIG)
        multiple = _meta_int(meta, META_MULTIPLE, str(MULTIPLE), minimum=2)
        if multiple % 2:
            raise ValueError(f"{META_MULTIPLE} must be even, got {multiple}")
        context_size = int(ctx.get("size", CONTEXT_SIZE))
        if context_size < 1:
            raise ValueError(f"{META_CONTEXT} size must be positive, got {context_size}")
        info = ModelInfo(
            path=path,
            model_size=str(meta.get(META_MODEL_SIZE, config.get("name", "?"))),
            precision=meta.get(META_PRECISION, "?"),
            version=meta.get(META_VERSION, "?"),
            macs_per_mp=float(meta.get(META_MACS_PER_MP, "nan")),
            multiple=multiple,
            context_size=context_size,
            halo=_meta_int(meta, META_HALO, str(MIN_HALO), minimum=0),
            params=_meta_int(meta, META_PARAMS, "0", minimum=0),
            stats_channels=STATS_CHANNELS if with_stats else 0,
        )
    except (ValueError, TypeError) as exc:
        raise ModelLoadError(f"{path}: bad photoenhance metadata: {one_line(exc, 200) or type(exc).__name__}") from exc
    image, thumb = inputs[:2]
    problems = [
        _shape_problem(image, (None, None, None, PACKED_CHANNELS)),
        _shape_problem(thumb, (None, 3, info.context_size, info.context_size)),
        _shape_problem(inputs[2], (None, STATS_CHANNELS, 1, 1)) if with_stats else None,
        _shape_problem(outputs[0], (None, None, None, PACKED_CHANNELS)) if outputs else "no output",
    ]
    problem = next((p for p in problems if p is not None), None)
    if problem is not None:
        raise ModelLoadError(
            f"{path}: not a photoenhance image model: {problem} "
            f"(inputs: image (N, H/2, W/2, {PACKED_CHANNELS}), thumb (N, 3, S, S))"
        )
    return info
