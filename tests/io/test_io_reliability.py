"""Regression tests for issue 11 (reliability round 2), the io items: 2, 3, 4, 8, 9."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from _iohelpers import smooth_rgb
from PIL import Image

from photoenhance.io import ImageReadError, is_complete_image, read_image, write_image


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def read_error(path: Path) -> str:
    with pytest.raises(ImageReadError) as info:
        read_image(path)
    msg = str(info.value)
    assert "\n" not in msg and msg.startswith(f"{path}: "), msg
    return msg


def jpeg_bytes(im: Image.Image, **kw: object) -> bytes:
    buf = io.BytesIO()
    im.save(buf, "JPEG", **kw)
    return buf.getvalue()


# --------------------------------------------------------------------------- item 3


def test_tiny_jpeg_claiming_huge_size_is_truncated(tmp_path: Path) -> None:
    """A ~700-byte JPEG whose SOF declares 14000x14000: libjpeg would grey-fill 196 MP."""
    data = bytearray(jpeg_bytes(Image.new("RGB", (16, 16), (120, 130, 140)), quality=50))
    sof = data.find(b"\xff\xc0")
    struct.pack_into(">HH", data, sof + 5, 14000, 14000)
    p = tmp_path / "huge.jpg"
    p.write_bytes(bytes(data))
    assert len(data) < 1000
    assert "truncated" in read_error(p)
    assert not is_complete_image(p)


@pytest.mark.parametrize("finished", [True, False], ids=["stream-end", "sync-flush"])
def test_png_holding_20_of_14100_rows_is_truncated(tmp_path: Path, finished: bool) -> None:
    w, h = 64, 14100
    rows = b"".join(b"\0" + bytes(range(w)) for _ in range(20))
    co = zlib.compressobj()
    stream = co.compress(rows) + co.flush(zlib.Z_FINISH if finished else zlib.Z_SYNC_FLUSH)
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0)
    p = tmp_path / "short.png"
    p.write_bytes(b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", stream) + png_chunk(b"IEND", b""))
    assert "truncated" in read_error(p)
    assert not is_complete_image(p)


def test_jpeg_cut_and_reterminated_with_restart_markers_is_truncated(tmp_path: Path) -> None:
    data = jpeg_bytes(Image.fromarray(smooth_rgb(256, 320)), restart_marker_rows=1)
    p = tmp_path / "cut.jpg"
    p.write_bytes(data[: len(data) * 2 // 3] + b"\xff\xd9")
    assert "truncated JPEG: a scan ends after" in read_error(p)


@pytest.mark.parametrize(
    "kw",
    [{}, {"progressive": True}, {"subsampling": 2}, {"restart_marker_blocks": 3}, {"progressive": True, "restart_marker_rows": 1}],
)
@pytest.mark.parametrize("size", [(1, 1), (17, 9), (200, 120)])
@pytest.mark.parametrize("mode", ["RGB", "L", "CMYK"])
def test_complete_jpeg_not_flagged(tmp_path: Path, kw: dict, size: tuple[int, int], mode: str) -> None:
    """Flat (best-compressing) images of every kind still pass the lower bound."""
    p = tmp_path / "flat.jpg"
    p.write_bytes(jpeg_bytes(Image.new("RGB", size, (90, 90, 90)).convert(mode), **kw))
    assert read_image(p).width == size[0]


@pytest.mark.parametrize("interlace", [0, 1])
@pytest.mark.parametrize("mode", ["1", "L", "P", "RGB", "RGBA", "I;16"])
def test_complete_png_not_flagged(tmp_path: Path, interlace: int, mode: str) -> None:
    p = tmp_path / "ok.png"
    im = Image.fromarray(smooth_rgb(13, 21)).convert(mode if mode != "I;16" else "L")
    if mode == "I;16":
        im = Image.fromarray(smooth_rgb(13, 21)[..., 0].astype(np.uint16) * 257)
    im.save(p, interlace=interlace)
    assert read_image(p).rgb.shape == (13, 21, 3)
    assert is_complete_image(p)


def test_16bit_rgb_png_written_by_us_not_flagged(tmp_path: Path) -> None:
    src = tmp_path / "src.png"
    Image.fromarray(smooth_rgb(9, 11)).save(src)
    img = read_image(src)
    deep = type(img)(**{**img.__dict__, "bit_depth": 16})
    out = tmp_path / "deep.png"
    write_image(out, deep, img.rgb)
    assert read_image(out).bit_depth == 16
