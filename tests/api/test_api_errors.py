"""The API's errors are the project's exception types, never onnxruntime's, with a clear
one-line message; onnxruntime's are recognised by their type (issue 19, item 1)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from _apihelpers import pixels
from onnxruntime.capi.onnxruntime_pybind11_state import Fail
from PIL import Image

import photoenhance
from photoenhance.api.enhancer import _from_onnxruntime


@pytest.mark.parametrize(
    ("image", "words"),
    [
        ("photo.jpg", "enhance_file"),
        (Path("photo.jpg"), "enhance_file"),
        ([[1, 2, 3]], "got list"),
        (np.zeros((4, 4, 3), np.float64), "dtype float64"),
        (np.zeros((4, 4, 3), np.int32), "dtype int32"),
        (np.zeros((4, 4, 5), np.uint8), "shape (4, 4, 5)"),
        (np.zeros((4,), np.uint8), "shape (4,)"),
        (np.zeros((0, 4, 3), np.uint8), "empty"),
        (Image.new("F", (4, 4)), "mode F"),
        (Image.new("HSV", (4, 4)), "mode HSV"),
    ],
    ids=["str", "path", "list", "float64", "int32", "5-channels", "1-d", "empty", "mode-F", "mode-HSV"],
)
def test_unsupported_images(enhancer, image, words: str) -> None:
    with pytest.raises(photoenhance.UnsupportedImageError) as info:
        enhancer.enhance(image)
    assert words in str(info.value) and "\n" not in str(info.value)
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    ("data", "words"),
    [(b"", "empty"), (b"not a photo at all", "not a recognised image")],
)
def test_unreadable_bytes(enhancer, data: bytes, words: str) -> None:
    with pytest.raises(photoenhance.ImageReadError) as info:
        enhancer.enhance(data)
    assert str(info.value).startswith("<bytes>: ") and words in str(info.value)
    assert "photoenhance-api-" not in str(info.value)  # no temporary path in messages


def test_truncated_bytes(run_outputs, enhancer) -> None:
    data = run_outputs.inputs["pil-rgb.png"].read_bytes()
    with pytest.raises(photoenhance.ImageReadError, match=r"^<bytes>: ") as info:
        enhancer.enhance(data[: len(data) // 2])
    assert "photoenhance-api-" not in str(info.value)


@pytest.mark.parametrize("strength", [-0.1, 1.5, float("nan")])
def test_strength_out_of_range(enhancer, strength: float) -> None:
    with pytest.raises(ValueError, match=r"strength must be within 0\.\.1"):
        enhancer.enhance(pixels(), strength=strength)


@pytest.mark.parametrize("strength", ["1", True, None])
def test_strength_not_a_number(enhancer, strength) -> None:
    with pytest.raises(TypeError, match="strength must be a number"):
        enhancer.enhance(pixels(), strength=strength)


def test_missing_model_is_model_load_error(tmp_path: Path) -> None:
    with pytest.raises(photoenhance.ModelLoadError, match="model file not found"):
        photoenhance.Enhancer(tmp_path / "missing.onnx")
    with pytest.raises(photoenhance.ModelLoadError):
        photoenhance.enhance(pixels(), model=tmp_path / "missing.onnx")
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not onnx")
    with pytest.raises(photoenhance.ModelLoadError, match=r"bad\.onnx"):
        photoenhance.Enhancer(bad)


def test_unknown_or_missing_provider() -> None:
    with pytest.raises(photoenhance.ProviderUnavailableError, match="--provider must be one of"):
        photoenhance.Enhancer(provider="quantum")
    import onnxruntime

    if "TensorrtExecutionProvider" not in onnxruntime.get_available_providers():
        with pytest.raises(photoenhance.ProviderUnavailableError, match="tensorrt"):
            photoenhance.Enhancer(provider="tensorrt")


def test_bad_tile_and_threads() -> None:
    with pytest.raises(ValueError, match="tile must be at least 64"):
        photoenhance.Enhancer(tile=8)
    with pytest.raises(ValueError, match="threads must be at least 1"):
        photoenhance.Enhancer(threads=0)


class _Session:
    """Stands in for the onnxruntime session: ``run`` does ``action``."""

    def __init__(self, real, action) -> None:
        self.real, self.action = real, action

    def get_providers(self):
        return self.real.get_providers()

    def run(self, names, feeds, opts=None):
        return self.action(self.real, names, feeds, opts)


@pytest.fixture
def fresh() -> photoenhance.Enhancer:
    return photoenhance.Enhancer(provider="cpu")


def test_onnxruntime_failures_become_enhance_error(fresh) -> None:
    def fail(real, names, feeds, opts):
        raise Fail("[ONNXRuntimeError] : 1 : FAIL : boom\nsecond line")

    fresh._engine.session = _Session(fresh._engine.session, fail)
    for image in (pixels(), Image.fromarray(pixels())):
        with pytest.raises(photoenhance.EnhanceError, match=r"inference failed .*boom") as info:
            fresh.enhance(image)
        assert isinstance(info.value.__cause__, Fail)
        assert "\n" not in str(info.value)


def test_a_real_onnxruntime_error_becomes_enhance_error(fresh) -> None:
    def wrong_dtype(real, names, feeds, opts):  # onnxruntime's own InvalidArgument
        return real.run(names, {k: v.astype(np.float64) for k, v in feeds.items()}, opts)

    fresh._engine.session = _Session(fresh._engine.session, wrong_dtype)
    with pytest.raises(photoenhance.EnhanceError, match="inference failed") as info:
        fresh.enhance(pixels())
    assert _from_onnxruntime(info.value.__cause__)
    assert not _from_onnxruntime(info.value)


def test_out_of_memory_becomes_enhance_error(fresh, tmp_path: Path, run_outputs) -> None:
    def oom(real, names, feeds, opts):
        raise MemoryError

    fresh._engine.session = _Session(fresh._engine.session, oom)
    with pytest.raises(photoenhance.EnhanceError, match="out of memory while enhancing a 80x48"):
        fresh.enhance(pixels())
    with pytest.raises(photoenhance.EnhanceError):
        fresh.enhance_file(run_outputs.inputs["photo.jpg"], tmp_path / "o.jpg")
    assert not (tmp_path / "o.jpg").exists()


def test_other_errors_are_not_renamed(fresh) -> None:
    def bug(real, names, feeds, opts):
        raise KeyError("a bug of ours")

    fresh._engine.session = _Session(fresh._engine.session, bug)
    with pytest.raises(KeyError):
        fresh.enhance(pixels())


def test_error_types_are_the_projects() -> None:
    from photoenhance.infer.model_file import ModelLoadError
    from photoenhance.infer.providers import ProviderUnavailableError
    from photoenhance.infer.types import OutputConflictError
    from photoenhance.io.errors import ImageReadError, ImageWriteError

    assert photoenhance.ImageReadError is ImageReadError
    assert photoenhance.ImageWriteError is ImageWriteError
    assert photoenhance.ModelLoadError is ModelLoadError
    assert photoenhance.ProviderUnavailableError is ProviderUnavailableError
    assert photoenhance.OutputConflictError is OutputConflictError
    for name in ("EnhanceError", "OutputExistsError", "UnsupportedImageError"):
        assert getattr(photoenhance, name).__module__ == "photoenhance.api.errors"
