"""Crafted ONNX models for load-time checks (the bundled model, altered with ``onnx``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pytest import importorskip

from photoenhance.infer.model_file import bundled_model_path


def model_with_metadata(tmp_path: Path, name: str, **changes: str) -> Path:
    """The bundled model with some ``photoenhance.*`` metadata values replaced."""
    onnx = importorskip("onnx")
    model = onnx.load(str(bundled_model_path()))
    for prop in model.metadata_props:
        key = prop.key.removeprefix("photoenhance.")
        if key in changes:
            prop.value = changes[key]
    path = tmp_path / name
    onnx.save(model, str(path))
    return path


def tiny_model(tmp_path: Path, name: str, image_shape: list[Any], *, crop: bool = False) -> Path:
    """A graph with the right input names and the bundled model's metadata, but that
    returns ``image`` itself (or only its first row: a shape no declaration reveals)."""
    onnx = importorskip("onnx")
    from onnx import TensorProto, helper

    meta = {p.key: p.value for p in onnx.load(str(bundled_model_path())).metadata_props}
    image = helper.make_tensor_value_info("image", TensorProto.FLOAT, image_shape)
    thumb = helper.make_tensor_value_info("thumb", TensorProto.FLOAT, [1, 3, 64, 64])
    # the inputs the bundled model's format declares (format 3: the statistics too)
    extra = ([helper.make_tensor_value_info("stats", TensorProto.FLOAT, [1, 51, 1, 1])]
             if meta.get("photoenhance.format") == "3" else [])
    out = helper.make_tensor_value_info("enhanced", TensorProto.FLOAT, None)
    node = (
        helper.make_node("Slice", ["image", "zero", "one", "one"], ["enhanced"])
        if crop
        else helper.make_node("Identity", ["image"], ["enhanced"])
    )
    consts = [helper.make_tensor(n, TensorProto.INT64, [1], [v]) for n, v in (("zero", 0), ("one", 1))]
    model = helper.make_model(
        helper.make_graph([node], "g", [image, thumb, *extra], [out], initializer=consts),
        opset_imports=[helper.make_opsetid("", 17)],
    )
    model.ir_version = 8
    for key, value in meta.items():
        model.metadata_props.add(key=key, value=value)
    path = tmp_path / name
    onnx.save(model, str(path))
    return path
