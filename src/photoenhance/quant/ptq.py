"""Post-training quantization baseline: onnxruntime's ``quantize_static`` (QDQ,
per-channel int8 weights with ``reduce_range`` — 7-bit, as onnxruntime recommends for x86
CPUs without VNNI and as the QAT model uses — uint8 activations, MinMax calibration) of
the FP32 export.

No torch; needs the ``onnx`` package (in the ``train`` and ``dev`` extras), which
``onnxruntime.quantization`` imports.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np

from photoenhance.contract.context import context_thumbnail
from photoenhance.contract.feeds import photo_feeds
from photoenhance.contract.layout import pack
from photoenhance.contract.spec import IMAGE_INPUT, META_PRECISION, STATS_INPUT, THUMB_INPUT


class PTQUnavailable(RuntimeError):
    """onnxruntime.quantization (or the onnx package it needs) is not installed."""


def calibration_feeds(images: Iterable[np.ndarray], multiple: int = 8) -> list[dict[str, np.ndarray]]:
    """Model feeds for calibration: each HWC float32 [0,1] image cropped to a multiple
    of 8, quantized to 8 bits like real inputs, with its own context thumbnail
    (:func:`quantize_ptq` adds the thumbnail's statistics for a format-3 model)."""
    feeds = []
    for img in images:
        h, w = (img.shape[0] // multiple) * multiple, (img.shape[1] // multiple) * multiple
        if h == 0 or w == 0:
            continue
        x = np.rint(img[:h, :w] * 255.0) / 255.0
        feeds.append(
            {
                IMAGE_INPUT: pack(x.astype(np.float32)),
                **photo_feeds(context_thumbnail(x.astype(np.float32)), stats=False),
            }
        )
    return feeds


def quantize_ptq(fp32_model: Path, out: Path, feeds: list[dict[str, np.ndarray]]) -> Path:
    """Write the PTQ-INT8 QDQ model of ``fp32_model`` to ``out`` and return ``out``."""
    try:
        from onnxruntime.quantization import (
            CalibrationDataReader,
            CalibrationMethod,
            QuantFormat,
            QuantType,
            quantize_static,
        )
        from onnxruntime.quantization.shape_inference import quant_pre_process
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise PTQUnavailable(f"PTQ needs the onnx package: pip install onnx ({exc})") from exc
    if not feeds:
        raise ValueError("PTQ calibration needs at least one image")
    import onnx

    if STATS_INPUT in {i.name for i in onnx.load(str(fp32_model)).graph.input}:
        feeds = [{**f, **photo_feeds(f[THUMB_INPUT], stats=True)} for f in feeds]

    class _Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self._it: Iterator[dict[str, np.ndarray]] = iter(feeds)

        def get_next(self) -> dict[str, np.ndarray] | None:
            return next(self._it, None)

        def rewind(self) -> None:
            self._it = iter(feeds)

    with tempfile.TemporaryDirectory(prefix="photoenhance-ptq-") as tmp:
        pre = Path(tmp) / "pre.onnx"
        # symbolic shape inference cannot handle the dynamic H/W: skip it
        quant_pre_process(str(fp32_model), str(pre), skip_symbolic_shape=True)
        out.parent.mkdir(parents=True, exist_ok=True)
        quantize_static(
            str(pre),
            str(out),
            _Reader(),
            quant_format=QuantFormat.QDQ,
            per_channel=True,
            reduce_range=True,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            calibrate_method=CalibrationMethod.MinMax,
        )
    _copy_metadata(fp32_model, out)
    return out


def _copy_metadata(src: Path, dst: Path) -> None:
    import onnx

    s, d = onnx.load(str(src)), onnx.load(str(dst))
    del d.metadata_props[:]
    for p in s.metadata_props:
        value = "int8-ptq" if p.key == META_PRECISION else p.value
        d.metadata_props.add(key=p.key, value=value)
    onnx.save(d, str(dst))
