"""The contract end to end: a tiny model trained through the ``train`` code path is
exported by ``quant/export.py`` (the contract writer) and loaded back through the contract
reader — from the file with ``onnx`` (no onnxruntime) and through the onnxruntime session."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
onnx = pytest.importorskip("onnx")

from photoenhance.contract import reader, spec, writer  # noqa: E402
from photoenhance.contract.reader import ModelLoadError, Port  # noqa: E402
from photoenhance.infer.enhancer import Enhancer  # noqa: E402
from photoenhance.infer.inference_config import InferenceConfig  # noqa: E402
from photoenhance.infer.ort_session import read_model_info  # noqa: E402
from photoenhance.model.net import create_model, receptive_radius  # noqa: E402
from photoenhance.train.loop import TrainConfig, train  # noqa: E402


def _make_pairs(root: Path, n: int = 6, size: int = 40) -> Path:
    from PIL import Image

    rng = np.random.default_rng(0)
    (root / "iphone").mkdir(parents=True)
    (root / "canon").mkdir()
    for i in range(n):
        x = np.kron(rng.random((size // 8, size // 8, 3)), np.ones((8, 8, 1))) * 0.6
        y = np.clip(x * 1.1 + 0.05, 0, 1)
        Image.fromarray(np.uint8(x * 255 + 0.5)).save(root / "iphone" / f"{i}.png")
        Image.fromarray(np.uint8(y * 255 + 0.5)).save(root / "canon" / f"{i}.png")
    return root


def train_tiny(root: Path, size: str) -> Path:
    """``root/run`` with ``model.onnx`` (INT8) and ``model-fp32.onnx`` of a ``size`` model
    trained a few steps through the ``train`` code path."""
    config = TrainConfig(
        out=root / "run", pairs=_make_pairs(root / "pairs"), init="scratch", size=size,
        steps=3, qat_steps=3, batch_size=2, patch_size=32, eval_every=3, checkpoint_every=3,
        calib_batches=1, warmup=1, val_fraction=0.34, threads=1,
    )  # fmt: skip
    assert train(config).finished
    return root / "run"


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny model (format 2) trained a few steps."""
    return train_tiny(tmp_path_factory.mktemp("contract"), "tiny")


def _from_onnx(path: Path) -> tuple[dict[str, str], list[Port], list[Port]]:
    """What the file declares, read with ``onnx`` (no onnxruntime)."""
    model = onnx.load(str(path))
    meta = {p.key: p.value for p in model.metadata_props}

    def ports(values) -> list[Port]:  # type: ignore[no-untyped-def]
        out = []
        for v in values:
            t = v.type.tensor_type
            shape = tuple(d.dim_value if d.HasField("dim_value") else d.dim_param for d in t.shape.dim)
            dtype = "tensor(float)" if t.elem_type == onnx.TensorProto.FLOAT else f"elem {t.elem_type}"
            out.append(Port(v.name, dtype, shape))
        return out

    inits = {i.name for i in model.graph.initializer}
    inputs = [v for v in model.graph.input if v.name not in inits]
    return meta, ports(inputs), ports(model.graph.output)


@pytest.mark.parametrize(("name", "precision"), [("model.onnx", "int8-qat"), ("model-fp32.onnx", "fp32")])
def test_trained_export_loads_through_the_contract_reader(trained: Path, name: str, precision: str) -> None:
    path = trained / name
    meta, inputs, outputs = _from_onnx(path)
    # the writer's keys, in the writer's order, and the contract's names
    net = create_model("tiny")
    expected = writer.model_metadata(
        version=meta[spec.META_VERSION], model_size="tiny", config=net.config.to_dict(),
        precision=precision, macs_per_mp=float(meta[spec.META_MACS_PER_MP]),
        params=int(meta[spec.META_PARAMS]), receptive_radius=receptive_radius(net.config),
    )  # fmt: skip
    assert meta == expected and list(meta) == list(expected)
    assert [p.name for p in inputs] == list(spec.INPUT_NAMES)
    assert [p.name for p in outputs] == [spec.OUTPUT_NAME]
    info = reader.model_info(path, meta, inputs, outputs)
    assert info.precision == precision and info.model_size == "tiny"
    assert (info.context_size, info.multiple) == (spec.CONTEXT_SIZE, spec.MULTIPLE)
    assert info.halo == writer.halo_for(receptive_radius(net.config)) and info.halo % spec.MULTIPLE == 0
    # the inference session reads the same through onnxruntime, and the model runs
    assert read_model_info(path) == info
    enhancer = Enhancer(InferenceConfig(model=path))
    assert enhancer.info == info
    img = np.random.default_rng(1).random((37, 53, 3), dtype=np.float32)
    y = enhancer.enhance(img)
    assert y.shape == img.shape and np.isfinite(y).all()


def test_reader_refuses_what_the_contract_does_not_allow(trained: Path) -> None:
    path = trained / "model.onnx"
    meta, inputs, outputs = _from_onnx(path)
    with pytest.raises(ModelLoadError, match="model format 1 is not supported"):
        reader.model_info(path, {**meta, spec.META_FORMAT: "1"}, inputs, outputs)
    with pytest.raises(ModelLoadError, match="no photoenhance metadata"):
        reader.model_info(path, {}, inputs, outputs)
    with pytest.raises(ModelLoadError, match="unexpected inputs"):
        reader.model_info(path, meta, inputs[::-1], outputs)
    with pytest.raises(ModelLoadError, match="bad photoenhance metadata"):
        reader.model_info(path, {**meta, spec.META_MULTIPLE: "3"}, inputs, outputs)
    wrong = [inputs[0], replace(inputs[1], shape=(1, 3, 32, 32))]
    with pytest.raises(ModelLoadError, match="not a photoenhance image model"):
        reader.model_info(path, meta, wrong, outputs)
    with pytest.raises(ModelLoadError, match="no output"):
        reader.model_info(path, meta, inputs, [])
