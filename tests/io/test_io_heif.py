"""HEIC output: encoder settings, size matched to the source, what is kept or dropped."""

from __future__ import annotations

import dataclasses
import io
from pathlib import Path

import numpy as np
import pytest
from _iohelpers import smooth_rgb
from PIL import Image

from photoenhance.io import read_image, write_image
from photoenhance.io.heif import ENC_PARAMS, HeifSource, dropped_notes, heif_source

GAIN_MAP = "urn:com:apple:photo:2020:aux:hdrgainmap"


def _photo(h: int = 360, w: int = 480, seed: int = 0) -> np.ndarray:
    """Smooth gradients plus texture and noise: sizes that move with quality like a photo's."""
    rng = np.random.default_rng(seed)
    a = smooth_rgb(h, w, seed=seed).astype(np.float32)
    y, x = np.mgrid[0:h, 0:w]
    a += (18 * np.sin(x * 0.37 + y * 0.11) * np.cos(y * 0.23))[..., None]
    a += rng.normal(0, 4, a.shape)
    return np.clip(a + 0.5, 0, 255).astype(np.uint8)


def _heic(path: Path, a: np.ndarray, **kw: object) -> Path:
    pytest.importorskip("pillow_heif")
    from photoenhance.io import heif_available

    assert heif_available()
    Image.fromarray(a).save(path, "HEIF", **{"enc_params": {"preset": "ultrafast"}, **kw})
    return path


def _info(path: Path) -> dict:
    with Image.open(path) as im:
        return dict(im.info)


# ----------------------------------------------------------------- without pillow-heif


def test_heif_source_reads_plugin_info() -> None:
    class Fake:
        info = {  # noqa: RUF012 - what pillow-heif's plugin puts in Image.info
            "chroma": 420,
            "tiling": {"tile_width": 512, "tile_height": 512},
            "thumbnails": [320, 0],
            "depth_images": [object()],
            "aux": {GAIN_MAP: [7], "urn:com:apple:photo:2020:aux:semanticmatte": [8, 9]},
        }

    src = heif_source(Fake(), 1234)  # type: ignore[arg-type]
    assert src == HeifSource(1234, 420, 512, (320,), 1, (GAIN_MAP, *["urn:com:apple:photo:2020:aux:semanticmatte"] * 2))


def test_dropped_notes() -> None:
    src = HeifSource(1000, 420, 512, (320,), 1, (GAIN_MAP,))
    heic = dropped_notes(src, "heif")
    assert len(heic) == 2
    assert "depth image (1)" in heic[0] and GAIN_MAP in heic[1]
    assert not any("thumbnail" in n for n in heic)  # HEIF outputs get new thumbnails
    jpeg = dropped_notes(src, "jpeg")
    assert len(jpeg) == 3 and "thumbnail (1)" in jpeg[2] and "JPEG" in jpeg[2]
    assert dropped_notes(HeifSource(1000), "jpeg") == []


def test_dropped_images_are_warned_about_when_writing(tmp_path: Path) -> None:
    """The notes come back with the write's other warnings (as data); a source that is
    not HEIF gets none."""
    src = tmp_path / "x.png"
    Image.fromarray(smooth_rgb(16, 16)).save(src)
    plain = read_image(src)
    assert plain.heif is None
    assert write_image(tmp_path / "plain.jpg", plain, plain.rgb, format="jpeg").warnings == ()
    heicish = dataclasses.replace(plain, heif=HeifSource(1000, 420, 0, (64,), 1, (GAIN_MAP,)))
    text = " | ".join(write_image(tmp_path / "o.jpg", heicish, heicish.rgb, format="jpeg").warnings)
    assert "depth image" in text and GAIN_MAP in text and "thumbnail" in text, text


# ----------------------------------------------------------------- with pillow-heif


@pytest.mark.parametrize("source_quality", [35, 80])
def test_output_size_matches_the_source(tmp_path: Path, source_quality: int) -> None:
    a = _photo()
    src = _heic(tmp_path / "in.heic", a, quality=source_quality)
    img = read_image(src)
    assert img.format == "heif" and img.heif is not None
    assert img.heif.file_size == src.stat().st_size
    out = tmp_path / "out.heic"
    write_image(out, img, img.rgb)
    ratio = out.stat().st_size / src.stat().st_size
    assert 0.7 <= ratio <= 1.3, ratio
    with Image.open(out) as o:
        assert o.format == "HEIF" and o.size == (480, 360)


def test_quality_follows_the_source(tmp_path: Path) -> None:
    a = _photo(seed=1)
    sizes = []
    for q in (30, 60, 90):
        src = _heic(tmp_path / f"in{q}.heic", a, quality=q)
        img = read_image(src)
        write_image(tmp_path / f"out{q}.heic", img, img.rgb)
        sizes.append((tmp_path / f"out{q}.heic").stat().st_size)
    assert sizes[0] < sizes[1] < sizes[2], sizes
    assert sizes[2] > 3 * sizes[0]


def test_explicit_quality_skips_the_search(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from photoenhance.io import heif

    src = _heic(tmp_path / "in.heic", _photo(seed=2), quality=50)
    img = read_image(src)

    def boom(*_a: object, **_k: object) -> int:
        raise AssertionError("searched although a quality was given")

    monkeypatch.setattr(heif, "match_quality", boom)
    write_image(tmp_path / "lo.heic", img, img.rgb, quality=10)
    write_image(tmp_path / "hi.heic", img, img.rgb, quality=95)
    assert (tmp_path / "hi.heic").stat().st_size > 3 * (tmp_path / "lo.heic").stat().st_size


def test_chroma_grid_and_thumbnails_kept(tmp_path: Path) -> None:
    src = _heic(tmp_path / "in.heic", _photo(300, 400, seed=3), quality=60, chroma=444, thumbnails=[64], tile_size=256)
    info = _info(src)
    assert info["chroma"] == 444 and info["thumbnails"] == [64] and info["tiling"]["tile_width"] == 256
    img = read_image(src)
    assert img.heif == HeifSource(src.stat().st_size, 444, 256, (64,), 0, ())
    out = tmp_path / "out.heic"
    write_image(out, img, img.rgb)
    got = _info(out)
    assert got["chroma"] == 444 and got["thumbnails"] == [64] and got["tiling"]["tile_width"] == 256
    plain = tmp_path / "plain.heic"
    _heic(plain, _photo(300, 400, seed=3), quality=60)
    img = read_image(plain)
    write_image(tmp_path / "out2.heic", img, img.rgb)
    got = _info(tmp_path / "out2.heic")
    assert got["chroma"] == 420 and got["thumbnails"] == [] and not got.get("tiling")


def test_fast_preset_is_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The x265 options reach pillow-heif's encoder."""
    pytest.importorskip("pillow_heif")
    from pillow_heif import misc

    src = _heic(tmp_path / "in.heic", _photo(64, 64), quality=50)
    img = read_image(src)
    seen: list[dict] = []
    real = misc.CtxEncode.__init__

    def spy(self: object, compression_format: object, **kwargs: object) -> None:
        seen.append(dict(kwargs))
        real(self, compression_format, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(misc.CtxEncode, "__init__", spy)
    write_image(tmp_path / "out.heic", img, img.rgb)
    final = seen[-1]  # the earlier ones are the size search's sample encodes
    assert final["enc_params"]["preset"] == "ultrafast" and final["chroma"] == 420
    assert isinstance(final["quality"], int)
    assert all(k["enc_params"]["preset"] == "ultrafast" for k in seen)
    assert ENC_PARAMS == {"preset": "ultrafast"}  # pillow-heif adds to the dict it gets: a copy


@pytest.mark.slow
def test_sample_prediction_on_a_large_photo(tmp_path: Path) -> None:
    """Above 2 MP the size is predicted from a 1 MP sample: still within ±30 %."""
    pytest.importorskip("pillow_heif")
    from photoenhance.io.heif import _encoded_size, _sample, match_quality

    big = Image.fromarray(_photo(1100, 2000, seed=4))
    sample, scale = _sample(big)
    assert sample.size == (1024, 1024) and scale == pytest.approx(1100 * 2000 / 1024**2)
    full = io.BytesIO()
    big.save(full, "HEIF", quality=55, chroma=420, enc_params=dict(ENC_PARAMS), tile_size=0)
    q = match_quality(big, len(full.getvalue()), 420)
    assert abs(q - 55) <= 6, q
    assert 0.7 <= _encoded_size(big, q, 420) / len(full.getvalue()) <= 1.3


def test_runner_reports_dropped_depth_image(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """pillow-heif cannot create a depth image, so the decoder is told there is one: the
    note must reach the photo's warnings in the batch result."""
    from photoenhance.infer.runner import RunConfig, run_batch
    from photoenhance.io import decode

    (tmp_path / "in").mkdir()
    _heic(tmp_path / "in" / "a.heic", _photo(64, 80), quality=50)
    real = decode.heif_source
    monkeypatch.setattr(decode, "heif_source", lambda im, size: dataclasses.replace(real(im, size), depth_images=1))
    result = run_batch([tmp_path / "in"], RunConfig(output_dir=tmp_path / "out"))
    (f,) = result.files
    assert f.status == "ok" and f.output is not None and f.output.suffix == ".heic", f.error
    assert any("depth image (1) not carried over" in w for w in f.warnings), f.warnings
