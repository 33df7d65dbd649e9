"""I/O format 3: the whole-photo statistics input. The numpy statistics (inference) and
their torch twin (training) agree; a model with statistics trained through ``train`` is
exported as format 3, read back by the contract reader and onnxruntime, enhances, and
tiles exactly; the reader refuses a file whose format and inputs disagree."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
onnx = pytest.importorskip("onnx")

from test_contract_roundtrip import _from_onnx, train_tiny  # noqa: E402

from photoenhance.contract import reader, spec  # noqa: E402
from photoenhance.contract.context import context_thumbnail  # noqa: E402
from photoenhance.contract.reader import ModelLoadError  # noqa: E402
from photoenhance.contract.statistics import STATS_CHANNELS, thumbnail_statistics  # noqa: E402
from photoenhance.infer.enhancer import Enhancer  # noqa: E402
from photoenhance.infer.inference_config import InferenceConfig  # noqa: E402
from photoenhance.infer.ort_session import read_model_info  # noqa: E402
from photoenhance.io import read_rgb  # noqa: E402
from photoenhance.model.statistics import thumbnail_statistics as torch_statistics  # noqa: E402

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "photos"


def _photo_thumbs() -> np.ndarray:
    photos = sorted(EXAMPLES.glob("*.jpg"))[:3]
    assert photos
    return np.concatenate([context_thumbnail(read_rgb(p)) for p in photos])


def test_numpy_and_torch_statistics_agree_and_stay_in_range() -> None:
    rng = np.random.default_rng(0)
    thumbs = np.concatenate([rng.random((3, 3, 64, 64), dtype=np.float32) ** 2, _photo_thumbs(),
                             np.zeros((1, 3, 64, 64), np.float32), np.ones((1, 3, 64, 64), np.float32)])  # fmt: skip
    a = thumbnail_statistics(thumbs)
    b = torch_statistics(torch.from_numpy(thumbs)).numpy()
    assert a.shape == b.shape == (len(thumbs), STATS_CHANNELS, 1, 1) and a.dtype == np.float32
    assert np.abs(a - b).max() < 1e-6
    assert a.min() >= 0.0 and a.max() <= 1.0
    # not vacuous: darkening a photo lowers its level statistics (means, percentiles)
    dark = thumbnail_statistics(thumbs[3:4] * 0.5)[0, :27, 0, 0]
    assert (dark <= a[3, :27, 0, 0] + 1e-7).all() and (dark < a[3, :27, 0, 0] - 0.02).sum() >= 20


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny model with the statistics input (format 3) trained a few steps."""
    return train_tiny(tmp_path_factory.mktemp("stats"), "tiny-stats")


@pytest.mark.parametrize("name", ["model.onnx", "model-fp32.onnx"])
def test_a_model_with_statistics_is_format_3_and_runs(trained: Path, name: str) -> None:
    path = trained / name
    meta, inputs, outputs = _from_onnx(path)
    assert meta[spec.META_FORMAT] == spec.FORMAT_STATS
    assert [p.name for p in inputs] == list(spec.INPUT_NAMES_STATS)
    assert inputs[2].shape[1:] == (STATS_CHANNELS, 1, 1)
    info = reader.model_info(path, meta, inputs, outputs)
    assert info.stats_channels == STATS_CHANNELS and read_model_info(path) == info
    img = np.rint(np.random.default_rng(1).random((61, 93, 3), dtype=np.float32) * 255) / 255
    whole = Enhancer(InferenceConfig(model=path, tile=4096)).enhance(img.astype(np.float32))
    tiled = Enhancer(InferenceConfig(model=path, tile=32)).enhance(img.astype(np.float32))
    assert whole.shape == img.shape and np.isfinite(whole).all()
    np.testing.assert_array_equal(tiled, whole)


def test_reader_refuses_format_and_inputs_that_disagree(trained: Path) -> None:
    path = trained / "model.onnx"
    meta, inputs, outputs = _from_onnx(path)
    with pytest.raises(ModelLoadError, match="unexpected inputs"):
        reader.model_info(path, {**meta, spec.META_FORMAT: spec.FORMAT}, inputs, outputs)
    with pytest.raises(ModelLoadError, match="unexpected inputs"):
        reader.model_info(path, meta, inputs[:2], outputs)
    wrong = [*inputs[:2], replace(inputs[2], shape=(1, 7, 1, 1))]
    with pytest.raises(ModelLoadError, match="not a photoenhance image model"):
        reader.model_info(path, meta, wrong, outputs)
