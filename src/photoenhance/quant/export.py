"""ONNX export of the network: FP32, and INT8 QDQ from a QAT model.

Both graphs follow the model contract (:mod:`photoenhance.contract`, format 2): inputs
``image`` float32 ``(N, H/2, W/2, 12)`` (space-to-depth NHWC, see
:mod:`photoenhance.contract.layout`) and ``thumb`` float32 ``(N, 3, 64, 64)`` (the whole
image's context thumbnail, :mod:`photoenhance.contract.context`), dynamic height/width,
and one output ``enhanced`` in the layout of ``image``, in [0, 1]; the metadata comes
from :func:`photoenhance.contract.writer.model_metadata`. The network runs at
S/2 from its first layer, and onnxruntime's INT8 convolutions are channels-last, so this
layout leaves no SpaceToDepth, DepthToSpace or Transpose in the optimised INT8 graph
(packing is done by numpy, fused with the copy of each tile). The INT8 file is a QDQ graph:
per-tensor uint8 activations (the QAT scales), per-channel symmetric int8 weights (in
[-63, 63], see :mod:`photoenhance.model.fake_quant`) and
int32 biases as DequantizeLinear initializers, so onnxruntime's optimiser turns every
Conv into QLinearConv. The unoptimised file is what ships (optimised graphs are tied to
the machine that made them).
"""

from __future__ import annotations

import copy
import io
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
import torch
from onnx import helper, numpy_helper
from torch import nn

from photoenhance import __version__
from photoenhance.contract.spec import (
    CONTEXT_SIZE,
    DYNAMIC_AXES,
    FORMAT,
    INPUT_NAMES,
    INPUT_NAMES_STATS,
    META_MACS_PER_MP,
    OUTPUT_NAME,
)
from photoenhance.contract.statistics import STATS_CHANNELS
from photoenhance.contract.writer import model_metadata as contract_metadata
from photoenhance.model.fake_quant import INT8_MAX, QConv2d, quant_mode, set_quant_mode
from photoenhance.model.net import (
    EnhanceNet,
    count_params,
    macs_per_megapixel,
    receptive_radius,
)

OPSET = 17

__all__ = ["FORMAT", "INPUT_NAMES", "OPSET", "OUTPUT_NAME", "ExportInfo", "export_onnx", "model_metadata"]


@dataclass(frozen=True)
class ExportInfo:
    """What was written."""

    path: Path
    precision: str  # "fp32" | "int8-qat"
    num_convs: int
    macs_per_mp: float


class _Core(nn.Module):
    def __init__(self, net: EnhanceNet):
        super().__init__()
        self.net = net

    def forward(
        self, image: torch.Tensor, thumb: torch.Tensor, stats: torch.Tensor | None = None
    ) -> torch.Tensor:
        # (N, H/2, W/2, 12) channels-last in and out; the network itself is NCHW
        y = self.net.forward_s2d(image.permute(0, 3, 1, 2), thumb, stats)
        return y.permute(0, 2, 3, 1)


def _bake_weights(net: nn.Module) -> None:
    """Replace every conv weight by its (masked, fake-quantized) effective weight."""
    for m in net.modules():
        if isinstance(m, QConv2d):
            with torch.no_grad():
                m.weight.copy_(m.effective_weight())
            m.mask = None
            m.weight_quant = False


def model_metadata(net: EnhanceNet, precision: str) -> dict[str, str]:
    """The ``metadata_props`` every exported file carries (read by ``infer`` and ``info``):
    the contract's :func:`~photoenhance.contract.writer.model_metadata` of this network."""
    return contract_metadata(
        version=__version__,
        model_size=net.config.name,
        config=net.config.to_dict(),
        precision=precision,
        macs_per_mp=macs_per_megapixel(net),
        params=count_params(net),
        receptive_radius=receptive_radius(net.config),
        stats=net.config.stats,
    )


def _torch_export(core: nn.Module, example: tuple[torch.Tensor, ...]) -> onnx.ModelProto:
    names = list(INPUT_NAMES_STATS if len(example) == 3 else INPUT_NAMES)
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            core,
            example,
            buf,
            dynamo=False,
            opset_version=OPSET,
            input_names=names,
            output_names=[OUTPUT_NAME],
            dynamic_axes={k: dict(v) for k, v in DYNAMIC_AXES.items() if k in (*names, OUTPUT_NAME)},
            do_constant_folding=True,
        )
    return onnx.load_from_string(buf.getvalue())


def _quantize_conv_params(model: onnx.ModelProto) -> int:
    """Turn float conv weights/biases into int8/int32 DequantizeLinear initializers.

    Weights were baked on the int8 grid by QAT, so ``scale = max|w| / INT8_MAX`` per output
    channel recovers the training scale exactly. Returns the number of convs rewritten.
    """
    graph = model.graph
    inits = {i.name: i for i in graph.initializer}
    producers = {o: n for n in graph.node for o in n.output}
    consts = {
        n.output[0]: numpy_helper.to_array(n.attribute[0].t)
        for n in graph.node
        if n.op_type == "Constant" and n.attribute and n.attribute[0].name == "value"
    }

    def value(name: str) -> np.ndarray:
        if name in inits:
            return numpy_helper.to_array(inits[name])
        if name in consts:
            return consts[name]
        # torch's exporter de-duplicates equal parameters: the copy is an Identity node
        src = producers.get(name)
        if src is not None and src.op_type == "Identity":
            return value(src.input[0])
        raise RuntimeError(f"export: conv parameter {name!r} is not a constant")

    new_nodes: list[onnx.NodeProto] = []
    count = 0
    for node in graph.node:
        if node.op_type != "Conv":
            continue
        dq = producers.get(node.input[0])
        if dq is None or dq.op_type != "DequantizeLinear":
            raise RuntimeError(f"Conv {node.name} input is not dequantized: QAT export broken")
        x_scale = float(value(dq.input[1]))
        w = value(node.input[1]).astype(np.float32)
        amax = np.abs(w).reshape(w.shape[0], -1).max(axis=1)
        w_scale = np.where(amax > 0, amax / INT8_MAX, 1.0 / INT8_MAX).astype(np.float32)
        w_q = np.clip(np.rint(w / w_scale[:, None, None, None]), -INT8_MAX, INT8_MAX)
        base = node.name or f"conv{count}"
        new_nodes.append(_dq_constant(graph, f"{base}.w", w_q.astype(np.int8), w_scale))
        node.input[1] = new_nodes[-1].output[0]
        if len(node.input) > 2 and node.input[2]:
            b = value(node.input[2]).astype(np.float64)
            b_scale = (x_scale * w_scale.astype(np.float64)).astype(np.float32)
            b_q = np.clip(np.rint(b / b_scale), -(2**31) + 1, 2**31 - 1).astype(np.int32)
            new_nodes.append(_dq_constant(graph, f"{base}.b", b_q, b_scale))
            node.input[2] = new_nodes[-1].output[0]
        count += 1
    # DequantizeLinear nodes of constants first: the graph stays topologically sorted
    _replace_nodes(graph, new_nodes + list(graph.node))
    _drop_unused_initializers(model)
    return count


def _dq_constant(
    graph: onnx.GraphProto, name: str, q: np.ndarray, scale: np.ndarray
) -> onnx.NodeProto:
    """Add integer initializer ``q`` with per-channel ``scale`` (axis 0, zero point 0) and
    return the DequantizeLinear node that reads it (output ``<name>_dq``)."""
    graph.initializer.extend(
        [
            numpy_helper.from_array(q, f"{name}_q"),
            numpy_helper.from_array(scale, f"{name}_s"),
            numpy_helper.from_array(np.zeros(q.shape[0], q.dtype), f"{name}_z"),
        ]
    )
    return helper.make_node(
        "DequantizeLinear",
        [f"{name}_q", f"{name}_s", f"{name}_z"],
        [f"{name}_dq"],
        axis=0,
        name=f"{name}_dq",
    )


def _quantize_before_transpose(model: onnx.ModelProto, name: str) -> None:
    """Rewrite ``name → Transpose → QuantizeLinear`` as ``name → QuantizeLinear →
    Transpose``: the same values (per-tensor quantization commutes with a transpose), but
    the transpose is then on uint8 data, which onnxruntime's layout optimiser cancels
    against the channels-last convolution. (Left as exported, the optimiser pushes the
    float transpose through the quantize by inserting a Q/DQ pair: two wasted passes.)"""
    graph = model.graph
    nodes = list(graph.node)
    ti = next((i for i, n in enumerate(nodes) if n.op_type == "Transpose" and n.input[0] == name), None)
    if ti is None:
        raise RuntimeError(f"export: input {name!r} does not go through a Transpose")
    tr = nodes[ti]
    qi = [i for i, n in enumerate(nodes) if tr.output[0] in n.input]
    if len(qi) != 1 or nodes[qi[0]].op_type != "QuantizeLinear":
        raise RuntimeError(f"export: input {name!r} is not quantized right after its Transpose")
    q = nodes[qi[0]]
    q_out = q.output[0]
    q.input[0], q.output[0] = name, f"{name}_u8"
    tr.input[0], tr.output[0] = f"{name}_u8", q_out
    order = [i for i in range(len(nodes)) if i != ti]
    order.insert(order.index(qi[0]) + 1, ti)
    _replace_nodes(graph, [nodes[i] for i in order])


def _replace_nodes(graph: onnx.GraphProto, nodes: list[onnx.NodeProto]) -> None:
    """Make ``nodes`` (in this order; copies, so they may be messages of ``graph`` itself)
    the graph's node list."""
    copies = []
    for n in nodes:
        copies.append(onnx.NodeProto())
        copies[-1].CopyFrom(n)
    del graph.node[:]
    graph.node.extend(copies)


def _drop_unused_initializers(model: onnx.ModelProto) -> None:
    used = {i for n in model.graph.node for i in n.input}
    keep = [i for i in model.graph.initializer if i.name in used]
    del model.graph.initializer[:]
    model.graph.initializer.extend(keep)


def export_onnx(net: EnhanceNet, path: str | Path, *, int8: bool) -> ExportInfo:
    """Export ``net`` to ``path``.

    ``int8=True`` needs a QAT model (quantizers calibrated / trained, mode ``"quant"``)
    and writes the QDQ graph; ``int8=False`` writes the plain FP32 graph.
    """
    path = Path(path)
    net = copy.deepcopy(net).cpu().eval()
    if int8:
        if quant_mode(net) not in ("quant", "export"):
            raise ValueError("INT8 export needs a QAT model (calibrate and train with fake-quant)")
        set_quant_mode(net, "export")
        _bake_weights(net)
        # the baked weights are already on the grid; keep export-mode activations only
        for m in net.modules():
            if isinstance(m, QConv2d):
                m.weight_quant = False
    else:
        set_quant_mode(net, "float")
        _bake_weights(net)
    example: tuple[torch.Tensor, ...] = (torch.rand(1, 32, 32, 12), torch.rand(1, 3, CONTEXT_SIZE, CONTEXT_SIZE))
    if net.config.stats:
        example += (torch.rand(1, STATS_CHANNELS, 1, 1),)
    model = _torch_export(_Core(net), example)
    n_convs = sum(1 for n in model.graph.node if n.op_type == "Conv")
    if int8:
        _quantize_conv_params(model)
        _quantize_before_transpose(model, INPUT_NAMES[0])
    precision = "int8-qat" if int8 else "fp32"
    meta = model_metadata(net, precision)
    del model.metadata_props[:]
    for k, v in meta.items():
        model.metadata_props.add(key=k, value=v)
    model.producer_name = "photoenhance"
    model.producer_version = __version__
    onnx.checker.check_model(model)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))
    return ExportInfo(path, precision, n_convs, float(meta[META_MACS_PER_MP]))
