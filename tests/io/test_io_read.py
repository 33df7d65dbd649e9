"""read_image / probe_image / read_rgb: clean failures and every supported mode."""

from __future__ import annotations

import io
import os
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from _iohelpers import smooth_rgb, to_u8
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageFile

from photoenhance.io import (
    DecodedImage,
    ImageReadError,
    probe_image,
    read_image,
    read_rgb,
)


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def one_line_error(path: Path, match: str, **kw: float) -> ImageReadError:
    with pytest.raises(ImageReadError) as info:
        read_image(path, **kw)
    msg = str(info.value)
    assert "\n" not in msg and msg.startswith(f"{path}: "), msg
    assert match in msg, msg
    assert isinstance(info.value, ValueError)
    return info.value


def test_loader_is_strict() -> None:
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False


def test_zero_byte(tmp_path: Path) -> None:
    p = tmp_path / "empty.jpg"
    p.write_bytes(b"")
    one_line_error(p, "empty file")
    with pytest.raises(ImageReadError):
        probe_image(p)


def test_missing_and_directory(tmp_path: Path) -> None:
    one_line_error(tmp_path / "nope.png", "does not exist")
    d = tmp_path / "dir.jpg"
    d.mkdir()
    one_line_error(d, "is a directory")
    with pytest.raises(ImageReadError):
        probe_image(d)


@pytest.mark.parametrize("payload", [b"hello world, not a photo\n" * 10, bytes(range(256)) * 8])
@pytest.mark.parametrize("suffix", [".jpg", ".png", ".tif", ".webp"])
def test_not_an_image(tmp_path: Path, payload: bytes, suffix: str) -> None:
    p = tmp_path / f"fake{suffix}"
    p.write_bytes(payload)
    one_line_error(p, "not a recognised image")


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
@pytest.mark.parametrize("fraction", [0.3, 0.6, 0.9])
def test_truncated(tmp_path: Path, fmt: str, fraction: float) -> None:
    rng = np.random.default_rng(1)
    buf = io.BytesIO()
    Image.fromarray((rng.random((96, 128, 3)) * 255).astype(np.uint8)).save(buf, fmt)
    data = buf.getvalue()
    p = tmp_path / f"cut.{fmt.lower()}"
    p.write_bytes(data[: int(len(data) * fraction)])
    with pytest.raises(ImageReadError) as info:
        read_image(p)
    assert "\n" not in str(info.value)


def test_bomb_refused_from_header(tmp_path: Path) -> None:
    """A 40000x40000 PNG header with no real pixel data: refused before decoding."""
    p = tmp_path / "bomb.png"
    ihdr = struct.pack(">IIBBBBB", 40000, 40000, 8, 2, 0, 0, 0)
    p.write_bytes(b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", zlib.compress(b"\0" * 100)) + png_chunk(b"IEND", b""))
    err = one_line_error(p, "exceeds the limit of 200 MP")
    assert "1600.0 MP" in str(err)
    with pytest.raises(ImageReadError, match="decompression bomb"):
        probe_image(p)
    with pytest.raises(ImageReadError, match="limit of 1000 MP"):
        probe_image(p, max_megapixels=1000)


def test_custom_limit_and_above_pillow_limit(tmp_path: Path) -> None:
    p = tmp_path / "small.png"
    Image.new("RGB", (100, 100)).save(p)
    one_line_error(p, "exceeds the limit", max_megapixels=0.005)
    # 190 MP header: above Pillow's own hard limit (2 x 89.5 MP) but under ours.
    big = tmp_path / "big.png"
    ihdr = struct.pack(">IIBBBBB", 19000, 10000, 8, 0, 0, 0, 0)
    big.write_bytes(b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IEND", b""))
    assert probe_image(big) == (19000, 10000)


@pytest.mark.skipif(os.name == "nt" or os.geteuid() == 0, reason="root ignores permissions")
def test_permission_denied(tmp_path: Path) -> None:
    p = tmp_path / "locked.png"
    Image.new("RGB", (4, 4)).save(p)
    p.chmod(0)
    try:
        one_line_error(p, "permission denied")
    finally:
        p.chmod(0o600)


def test_permission_denied_simulated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    p = tmp_path / "locked.png"
    Image.new("RGB", (4, 4)).save(p)

    def deny(*a: object, **k: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Image, "open", deny)
    one_line_error(p, "permission denied")


def test_input_never_modified(tmp_path: Path) -> None:
    p = tmp_path / "a.jpg"
    Image.fromarray(smooth_rgb(20, 30)).save(p)
    before = (p.read_bytes(), p.stat().st_mtime_ns)
    read_image(p)
    assert (p.read_bytes(), p.stat().st_mtime_ns) == before


def check_contract(img: DecodedImage, h: int, w: int) -> None:
    assert img.rgb.shape == (h, w, 3) and img.rgb.dtype == np.float32
    assert float(img.rgb.min()) >= 0.0 and float(img.rgb.max()) <= 1.0
    assert img.megapixels == pytest.approx(h * w / 1e6)
    if img.alpha is not None:
        assert img.alpha.shape == (h, w) and img.alpha.dtype == np.float32


def test_rgb_jpeg_and_read_rgb(tmp_path: Path) -> None:
    p = tmp_path / "Ürlaub straße café.JPG"
    Image.fromarray(smooth_rgb(30, 40)).save(p, "JPEG", quality=88)
    img = read_image(p)
    check_contract(img, 30, 40)
    assert (img.format, img.mode, img.bit_depth, img.quality, img.alpha) == ("jpeg", "RGB", 8, 88, None)
    np.testing.assert_array_equal(read_rgb(p), img.rgb)
    assert probe_image(p) == (40, 30)


@pytest.mark.parametrize("q", [50, 75, 90, 95, 100])
def test_quality_estimate(tmp_path: Path, q: int) -> None:
    p = tmp_path / "q.jpg"
    Image.fromarray(smooth_rgb(16, 16)).save(p, quality=q)
    assert read_image(p).quality == q


@pytest.mark.parametrize("size", [(1, 1), (3000, 7), (7, 3000)])
def test_tiny_and_thin(tmp_path: Path, size: tuple[int, int]) -> None:
    w, h = size
    for ext in ("png", "jpg", "webp", "tif"):
        p = tmp_path / f"t.{ext}"
        Image.fromarray(smooth_rgb(h, w)).save(p)
        check_contract(read_image(p), h, w)


def test_grey_l(tmp_path: Path) -> None:
    g = smooth_rgb(10, 12)[..., 0]
    p = tmp_path / "g.png"
    Image.fromarray(g, "L").save(p)
    img = read_image(p)
    assert (img.mode, img.bit_depth) == ("L", 8)
    np.testing.assert_array_equal(to_u8(img.rgb), np.repeat(g[..., None], 3, 2))


@pytest.mark.parametrize("ext", ["png", "tif"])
def test_grey_16bit_full_precision(tmp_path: Path, ext: str) -> None:
    g = (np.random.default_rng(2).random((9, 11)) * 65535).astype(np.uint16)
    p = tmp_path / f"g16.{ext}"
    Image.fromarray(g).save(p)
    img = read_image(p)
    assert img.bit_depth == 16 and img.mode.startswith("I")
    np.testing.assert_array_equal(np.round(img.rgb[..., 1] * 65535).astype(np.uint16), g)


def test_rgb_16bit_png_full_precision(tmp_path: Path) -> None:
    """A hand-written 48-bit PNG using Sub/Up/Avg/Paeth filters is read exactly."""
    h, w = 6, 5
    px = (np.random.default_rng(3).random((h, w, 3)) * 65535).astype(">u2")
    rows = px.view(np.uint8).reshape(h, w * 6).astype(np.int32)
    raw = b""
    prev = np.zeros(w * 6, np.int32)
    for y in range(h):
        ftype = y % 5
        cur = rows[y]
        left = np.concatenate([np.zeros(6, np.int32), cur[:-6]])
        upleft = np.concatenate([np.zeros(6, np.int32), prev[:-6]])
        if ftype == 0:
            f = cur
        elif ftype == 1:
            f = cur - left
        elif ftype == 2:
            f = cur - prev
        elif ftype == 3:
            f = cur - (left + prev) // 2
        else:
            p_ = left + prev - upleft
            pa, pb, pc = abs(p_ - left), abs(p_ - prev), abs(p_ - upleft)
            pred = np.where((pa <= pb) & (pa <= pc), left, np.where(pb <= pc, prev, upleft))
            f = cur - pred
        raw += bytes([ftype]) + (f % 256).astype(np.uint8).tobytes()
        prev = cur
    data = b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 16, 2, 0, 0, 0))
    data += png_chunk(b"IDAT", zlib.compress(raw)) + png_chunk(b"IEND", b"")
    p = tmp_path / "rgb48.png"
    p.write_bytes(data)
    img = read_image(p)
    assert (img.mode, img.bit_depth) == ("RGB", 16)
    np.testing.assert_array_equal(np.round(img.rgb * 65535).astype(np.uint16), px.astype(np.uint16))


def test_palette_with_and_without_transparency(tmp_path: Path) -> None:
    im = Image.fromarray(np.array([[0, 1, 2], [2, 1, 0]], np.uint8), "P")
    im.putpalette([255, 0, 0, 0, 255, 0, 0, 0, 255])
    p = tmp_path / "p.png"
    im.save(p)
    img = read_image(p)
    assert img.mode == "P" and img.alpha is None
    np.testing.assert_array_equal(to_u8(img.rgb[0, 1]), [0, 255, 0])
    im.save(p, transparency=0)
    img = read_image(p)
    assert img.mode == "P" and img.alpha is not None
    np.testing.assert_array_equal(img.alpha, [[0, 1, 1], [1, 1, 0]])


def test_rgba_and_la(tmp_path: Path) -> None:
    a = np.random.default_rng(4).integers(0, 256, (5, 6), dtype=np.uint8)
    rgba = np.dstack([smooth_rgb(5, 6), a])
    p = tmp_path / "a.png"
    Image.fromarray(rgba, "RGBA").save(p)
    img = read_image(p)
    np.testing.assert_array_equal(to_u8(img.alpha), a)
    np.testing.assert_array_equal(to_u8(img.rgb), rgba[..., :3])
    Image.fromarray(np.dstack([rgba[..., 0], a]), "LA").save(p)
    img = read_image(p)
    assert img.mode == "LA"
    np.testing.assert_array_equal(to_u8(img.alpha), a)


def test_cmyk_jpeg(tmp_path: Path) -> None:
    p = tmp_path / "cmyk.jpg"
    Image.new("CMYK", (8, 6), (0, 255, 255, 0)).save(p)
    img = read_image(p)
    assert img.mode == "CMYK" and img.rgb.shape == (6, 8, 3)
    r, g, b = img.rgb.reshape(-1, 3).mean(0)
    assert r > 0.8 and g < 0.2 and b < 0.2  # pure red
    assert any("CMYK" in w for w in img.warnings)


def test_multi_frame_first_only(tmp_path: Path) -> None:
    p = tmp_path / "pages.tif"
    frames = [Image.new("RGB", (4, 4), c) for c in [(255, 0, 0), (0, 255, 0)]]
    frames[0].save(p, save_all=True, append_images=frames[1:])
    img = read_image(p)
    assert np.allclose(img.rgb[0, 0], [1, 0, 0])
    assert any("first" in w for w in img.warnings)
    apng = tmp_path / "anim.png"
    frames[0].save(apng, save_all=True, append_images=frames[1:])
    assert any("first" in w for w in read_image(apng).warnings)


def test_unsupported_format(tmp_path: Path) -> None:
    p = tmp_path / "x.jpg"
    Image.new("RGB", (4, 4)).save(p, "GIF")
    one_line_error(p, "unsupported image format GIF")


def test_heic_without_plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from photoenhance.io import decode

    monkeypatch.setattr(decode, "heif_available", lambda: False)  # as without pillow-heif
    p = tmp_path / "IMG_0001.HEIC"
    p.write_bytes(b"\0\0\0\x18ftypheic\0\0\0\0mif1heic" + b"\0" * 64)
    one_line_error(p, "pip install 'photoenhance[heic]'")
    q = tmp_path / "renamed.jpg"
    q.write_bytes(p.read_bytes())
    one_line_error(q, "pip install 'photoenhance[heic]'")


def _valid_files() -> list[bytes]:
    out = []
    for fmt in ("JPEG", "PNG", "TIFF", "WEBP"):
        buf = io.BytesIO()
        Image.fromarray(smooth_rgb(12, 10)).save(buf, fmt)
        out.append(buf.getvalue())
    return out


_VALID = _valid_files()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    data=st.one_of(
        st.binary(max_size=600),
        st.tuples(st.sampled_from(_VALID), st.integers(0, 10_000), st.binary(min_size=1, max_size=8)).map(
            lambda t: t[0][: t[1] % len(t[0])] + t[2] + t[0][t[1] % len(t[0]) + len(t[2]) :]
        ),
        st.tuples(st.sampled_from(_VALID), st.floats(0, 1)).map(lambda t: t[0][: int(len(t[0]) * t[1])]),
    ),
    suffix=st.sampled_from([".jpg", ".png", ".tif", ".webp", ".heic"]),
)
def test_fuzz_only_image_read_error(tmp_path: Path, data: bytes, suffix: str) -> None:
    p = tmp_path / f"fuzz{suffix}"
    p.write_bytes(data)
    try:
        img = read_image(p)
    except ImageReadError as exc:
        assert "\n" not in str(exc)
    else:
        assert img.rgb.ndim == 3 and img.rgb.dtype == np.float32
