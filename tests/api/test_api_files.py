"""``enhance_file`` follows ``run``'s rules: the same bytes, atomic writes, metadata kept,
an existing output never replaced without ``overwrite=True`` (issue 19, item 1)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PIL import Image

import photoenhance
from photoenhance.api.enhancer import EnhancedFile


def test_enhance_file_writes_the_bytes_run_writes(run_outputs, enhancer, tmp_path: Path) -> None:
    for name, src in run_outputs.inputs.items():
        dst = tmp_path / "out" / name
        result = enhancer.enhance_file(src, dst)
        assert isinstance(result, EnhancedFile)
        assert result.src == src and result.dst == dst
        assert dst.read_bytes() == run_outputs.outputs[name].read_bytes(), name
        assert isinstance(result.warnings, tuple)
    assert sorted(os.listdir(tmp_path / "out")) == sorted(run_outputs.inputs)  # no temporaries


def test_module_function_uses_the_default_model(run_outputs, tmp_path: Path) -> None:
    dst = tmp_path / "a" / "b" / "photo.jpg"  # folders are created
    result = photoenhance.enhance_file(run_outputs.inputs["photo.jpg"], dst, strength=1.0)
    assert result.format == "jpeg" and result.megapixels == pytest.approx(80 * 48 / 1e6)
    assert dst.read_bytes() == run_outputs.outputs["photo.jpg"].read_bytes()


def test_existing_output_is_not_replaced_without_overwrite(run_outputs, enhancer, tmp_path: Path) -> None:
    src = run_outputs.inputs["photo.jpg"]
    dst = tmp_path / "photo.jpg"
    dst.write_bytes(b"mine")
    with pytest.raises(photoenhance.OutputExistsError, match="overwrite=True") as info:
        enhancer.enhance_file(src, dst)
    assert isinstance(info.value, FileExistsError)
    assert dst.read_bytes() == b"mine"
    enhancer.enhance_file(src, dst, overwrite=True)
    assert dst.read_bytes() == run_outputs.outputs["photo.jpg"].read_bytes()
    assert os.listdir(tmp_path) == ["photo.jpg"]


def test_the_input_and_folders_are_never_outputs(run_outputs, enhancer, tmp_path: Path) -> None:
    src = tmp_path / "photo.jpg"
    src.write_bytes(run_outputs.inputs["photo.jpg"].read_bytes())
    with pytest.raises(photoenhance.OutputConflictError, match="is the input"):
        enhancer.enhance_file(src, src, overwrite=True)
    link = tmp_path / "link.jpg"
    link.symlink_to(src)
    with pytest.raises(photoenhance.OutputConflictError, match="is the input"):
        enhancer.enhance_file(src, link, overwrite=True)
    with pytest.raises(photoenhance.OutputConflictError, match="is a folder"):
        enhancer.enhance_file(src, tmp_path, overwrite=True)
    assert src.read_bytes() == run_outputs.inputs["photo.jpg"].read_bytes()


def test_format_follows_the_output_suffix_or_the_option(run_outputs, enhancer, tmp_path: Path) -> None:
    src = run_outputs.inputs["photo.jpg"]
    assert enhancer.enhance_file(src, tmp_path / "x.png").format == "png"
    assert Image.open(tmp_path / "x.png").format == "PNG"
    assert enhancer.enhance_file(src, tmp_path / "x.out", format="webp").format == "webp"
    assert Image.open(tmp_path / "x.out").format == "WEBP"
    assert enhancer.enhance_file(src, tmp_path / "noext").format == "jpeg"  # the input's
    with pytest.raises(ValueError, match="unsupported image format"):
        enhancer.enhance_file(src, tmp_path / "y.jpg", format="bmp")


def test_metadata_is_kept(run_outputs, enhancer, tmp_path: Path) -> None:
    src = run_outputs.inputs["photo.jpg"]
    enhancer.enhance_file(src, tmp_path / "o.jpg", quality=80)
    out, before = Image.open(tmp_path / "o.jpg"), Image.open(src)
    assert out.getexif()[0x0112] == 6
    assert out.info["icc_profile"] == before.info["icc_profile"]
    assert b"photoenhance" in out.info.get("xmp", b"")


def test_a_failed_write_leaves_nothing(run_outputs, enhancer, tmp_path: Path, monkeypatch) -> None:
    import photoenhance.io.encode as encode

    def broken(*args, **kwargs):
        raise RuntimeError("encoder broke")

    monkeypatch.setattr(encode, "encode_bytes", broken)
    with pytest.raises(photoenhance.ImageWriteError, match="encoder broke"):
        enhancer.enhance_file(run_outputs.inputs["photo.jpg"], tmp_path / "o.jpg")
    assert os.listdir(tmp_path) == []


def test_unreadable_inputs_are_image_read_errors(enhancer, tmp_path: Path) -> None:
    with pytest.raises(photoenhance.ImageReadError, match=r"not found|no such|does not exist"):
        enhancer.enhance_file(tmp_path / "missing.jpg", tmp_path / "o.jpg")
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"not a photo")
    with pytest.raises(photoenhance.ImageReadError, match=r"bad\.jpg"):
        enhancer.enhance_file(bad, tmp_path / "o.jpg")
    assert not (tmp_path / "o.jpg").exists()
