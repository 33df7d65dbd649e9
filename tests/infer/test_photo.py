"""The per-photo function (:func:`photoenhance.infer.photo.process_photo`): same bytes as
the threaded pipeline, problems as data, and encode warnings reaching the FileResult."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from photoenhance.infer.enhancer import Enhancer
from photoenhance.infer.inference_config import InferenceConfig
from photoenhance.infer.naming import plan_batch
from photoenhance.infer.photo import process_photo
from photoenhance.infer.runner import RunConfig, Status, run_batch


@pytest.fixture(scope="module")
def enhancer(shared_cache_dir: Path) -> Enhancer:
    return Enhancer(InferenceConfig(tile=1024, cache_dir=shared_cache_dir))


def test_process_photo_writes_what_the_pipeline_writes(
    tmp_path: Path, make_photo: Any, enhancer: Enhancer
) -> None:
    for i in range(3):
        make_photo(tmp_path / "in" / f"p{i}.png", w=64, h=48, seed=i)
    (tmp_path / "in" / "broken.png").write_bytes(b"not a PNG at all")
    local = run_batch([tmp_path / "in"], RunConfig(output_dir=tmp_path / "local"), enhancer=enhancer)
    config = RunConfig(output_dir=tmp_path / "one")
    plan = plan_batch([tmp_path / "in"], config)
    results = [process_photo(item, enhancer, config) for item in plan.files]
    assert [r.status for r in results] == [f.status for f in local.files]
    assert [r.error for r in results] == [f.error for f in local.files]
    broken = next(r for r in results if r.input.name == "broken.png")
    assert broken.status == Status.ERROR and broken.error and "\n" not in broken.error
    for i in range(3):
        name = f"p{i}.png"
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "local" / name).read_bytes()
    # a rerun skips the complete outputs
    again = [process_photo(item, enhancer, config) for item in plan.files]
    assert [r.status for r in again if r.input.name != "broken.png"] == [Status.SKIPPED] * 3


def test_tiff_exif_warning_reaches_the_file_result(tmp_path: Path, enhancer: Enhancer) -> None:
    """EXIF that cannot become TIFF tags: the whole note (not just the exception text)."""
    src = tmp_path / "in" / "odd.png"
    src.parent.mkdir()
    Image.new("RGB", (32, 24), (100, 120, 140)).save(src, exif=b"II*\x00\xff\x00\x00\x00")
    res = run_batch(
        [src], RunConfig(output_dir=tmp_path / "out", format="tiff"), enhancer=enhancer
    )
    (f,) = res.files
    assert f.status == Status.OK
    assert any(
        w.startswith("EXIF could not be written as TIFF tags (") and w.endswith("only Software kept")
        for w in f.warnings
    ), f.warnings
