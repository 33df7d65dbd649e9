"""ONNX export: FP32 parity, INT8-native optimised graph, INT8 vs fake-quant parity."""

from __future__ import annotations

import collections
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
onnx = pytest.importorskip("onnx")
import onnxruntime as ort  # noqa: E402

from photoenhance.contract.context import context_thumbnail  # noqa: E402
from photoenhance.contract.feeds import photo_feeds  # noqa: E402
from photoenhance.contract.layout import pack, unpack  # noqa: E402
from photoenhance.metrics import psnr  # noqa: E402
from photoenhance.model.fake_quant import set_quant_mode  # noqa: E402
from photoenhance.quant.export import export_onnx  # noqa: E402


def _feeds(photo: np.ndarray, stats: bool = False) -> dict[str, np.ndarray]:
    return {"image": pack(photo), **photo_feeds(context_thumbnail(photo), stats=stats)}


def _torch_run(net, feeds) -> np.ndarray:  # type: ignore[no-untyped-def]
    """The torch model on the same image, NCHW through forward_core → HWC."""
    x = torch.from_numpy(unpack(feeds["image"]).transpose(2, 0, 1)[None].copy())
    with torch.no_grad():
        y = net.forward_core(x, torch.from_numpy(feeds["thumb"]))
    return y.numpy()[0].transpose(1, 2, 0)


def _ort_run(sess, feeds) -> np.ndarray:  # type: ignore[no-untyped-def]
    return unpack(sess.run(None, feeds)[0])


@pytest.fixture(scope="module")
def exported(tmp_path_factory, qat_model):  # type: ignore[no-untyped-def]
    d = tmp_path_factory.mktemp("export")
    int8 = export_onnx(qat_model, d / "m8.onnx", int8=True)
    fp32 = export_onnx(qat_model, d / "m32.onnx", int8=False)
    return int8.path, fp32.path, qat_model.config.name, qat_model.config.stats


def test_fp32_export_matches_torch(exported, qat_model, photo) -> None:  # type: ignore[no-untyped-def]
    net = __import__("copy").deepcopy(qat_model)
    set_quant_mode(net, "float")
    feeds = _feeds(photo, net.config.stats)
    ref = _torch_run(net, feeds)
    sess = ort.InferenceSession(str(exported[1]), providers=["CPUExecutionProvider"])
    out = _ort_run(sess, feeds)
    assert out.shape == ref.shape == photo.shape
    assert np.abs(out - ref).max() <= 1e-4


def test_int8_onnxruntime_matches_torch_fake_quant(exported, qat_model, photo) -> None:  # type: ignore[no-untyped-def]
    feeds = _feeds(np.rint(photo * 255) / 255, qat_model.config.stats)
    ref = _torch_run(qat_model, feeds)
    sess = ort.InferenceSession(str(exported[0]), providers=["CPUExecutionProvider"])
    value = psnr(_ort_run(sess, feeds), ref)
    assert value >= 45.0, f"ORT INT8 vs torch fake-quant PSNR {value:.2f} dB"


def test_optimised_int8_graph_is_int8_native(exported, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.optimized_model_filepath = str(tmp_path / "opt.onnx")
    so.log_severity_level = 3
    ort.InferenceSession(str(exported[0]), so, providers=["CPUExecutionProvider"])
    graph = onnx.load(str(tmp_path / "opt.onnx")).graph
    ops = collections.Counter(n.op_type for n in graph.node)
    n_convs = sum(1 for n in onnx.load(str(exported[0])).graph.node if n.op_type == "Conv")
    assert n_convs > 30
    assert ops["QLinearConv"] == n_convs, ops
    assert ops["Conv"] == 0 and ops["FusedConv"] == 0, ops
    # no float islands: the only (de)quantize nodes are at the graph's edges
    assert ops["QuantizeLinear"] == (3 if exported[3] else 2), ops  # image, thumb (, stats)
    assert ops["DequantizeLinear"] == 1, ops  # enhanced
    float_ops = {"Add", "Mul", "Relu", "Clip", "Tanh", "InstanceNormalization", "PRelu", "Concat"}
    assert not float_ops & set(ops), ops
    # the packed NHWC image layout leaves no layout op on the image path: the one
    # SpaceToDepth (float) and the Transposes (uint8) left belong to the 64x64 context
    # thumbnail and the (1x1) statistics input
    assert "DepthToSpace" not in ops and ops["SpaceToDepth"] <= 1, ops
    assert ops["Transpose"] <= (2 if exported[3] else 1), ops
    producer = {o: n for n in graph.node for o in n.output}
    for node in (n for n in graph.node if n.op_type == "Transpose"):
        root = node.input[0]
        while root in producer:
            root = producer[root].input[0]
        assert root in ("thumb", "stats"), f"a Transpose on the {root} path"
    # the graph input is quantized directly (the rewrite of Transpose → Quantize)
    assert any(n.op_type == "QuantizeLinear" and "image" in n.input for n in graph.node), ops
    dq = next(n for n in graph.node if n.op_type == "DequantizeLinear")
    assert list(dq.output) == ["enhanced"]


def test_exports_have_dynamic_size_and_metadata(exported) -> None:  # type: ignore[no-untyped-def]
    for path in exported[:2]:
        model = onnx.load(str(path))
        meta = {p.key: p.value for p in model.metadata_props}
        assert meta["photoenhance.model_size"] == exported[2]
        assert int(meta["photoenhance.halo"]) % 8 == 0
        assert "adaptive_avg_pool2d" in meta["photoenhance.context"]
        assert float(meta["photoenhance.macs_per_mp"]) > 1e9
        assert meta["photoenhance.format"] == ("3" if exported[3] else "2")
        assert ("stats" in meta["photoenhance.context"]) == exported[3]
        dims = model.graph.input[0].type.tensor_type.shape.dim
        assert dims[1].dim_param and dims[2].dim_param and dims[3].dim_value == 12
    sess = ort.InferenceSession(str(exported[0]), providers=["CPUExecutionProvider"])
    for h, w in [(8, 8), (24, 136), (200, 64)]:
        x = np.random.default_rng(0).random((1, h // 2, w // 2, 12), dtype=np.float32)
        glob = photo_feeds(np.zeros((1, 3, 64, 64), np.float32), stats=exported[3])
        out = sess.run(None, {"image": x, **glob})[0]
        assert out.shape == (1, h // 2, w // 2, 12)


def test_int8_export_refuses_an_uncalibrated_model(tmp_path: Path) -> None:
    from photoenhance.model import create_model

    with pytest.raises(ValueError, match="QAT"):
        export_onnx(create_model("tiny"), tmp_path / "x.onnx", int8=True)


def test_bundled_int8_model_matches_its_checkpoint(photo) -> None:  # type: ignore[no-untyped-def]
    """The shipped INT8 ONNX is the export of the shipped QAT checkpoint: onnxruntime
    and the torch fake-quant model agree on a real photo (worst 96 px crop too)."""
    from photoenhance.infer.model_file import bundled_model_path
    from photoenhance.train.checkpoint import load_checkpoint, model_from_checkpoint

    weights = bundled_model_path().parent
    net = model_from_checkpoint(load_checkpoint(weights / "photoenhance.pt")).eval()
    feeds = _feeds(np.rint(photo * 255) / 255, net.config.stats)
    ref = _torch_run(net, feeds)
    sess = ort.InferenceSession(str(bundled_model_path()), providers=["CPUExecutionProvider"])
    out = _ort_run(sess, feeds)
    assert psnr(out, ref) >= 45.0
    worst = min(
        psnr(out[i : i + 96, j : j + 96], ref[i : i + 96, j : j + 96])
        for i in range(0, out.shape[0] - 95, 96)
        for j in range(0, out.shape[1] - 95, 96)
    )
    assert worst >= 40.0, worst


def test_exported_int8_model_tiles_bit_exactly(exported, photo) -> None:  # type: ignore[no-untyped-def]
    """Every layout tiles exactly: tiled INT8 output equals the whole-image output (the
    halo in the metadata covers the receptive field; the context is per photo)."""
    from photoenhance.infer.enhancer import Enhancer
    from photoenhance.infer.inference_config import InferenceConfig
    from photoenhance.infer.tiling import plan_tiles

    img = np.ascontiguousarray(np.rint(photo[:301, :459] * 255) / 255, dtype=np.float32)
    whole = Enhancer(InferenceConfig(model=exported[0], tile=4096)).enhance(img)
    for tile in (64, 120):
        enh = Enhancer(InferenceConfig(model=exported[0], tile=tile))
        assert len(plan_tiles(img.shape[0], img.shape[1], tile, enh.halo)) > 1
        np.testing.assert_array_equal(enh.enhance(img), whole)
    seams = Enhancer(InferenceConfig(model=exported[0], tile=64, halo=0)).enhance(img)
    assert np.abs(seams - whole).max() > 0  # not vacuous: without the halo, tiles differ
