"""Regression tests for issue 11 (reliability round 2), the io items: 2, 3, 4, 8, 9."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from _iohelpers import P3_XYZ, SRGB_PARA, matrix_icc, smooth_rgb
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
    # a third of the rows missing: refused, in rows (no longer in restart markers, issue 20)
    assert "truncated JPEG: the image data ends after" in read_error(p)


# --------------------------------------------------------------------------- issue 20 item 16


def cut_scan(data: bytes, fraction: float) -> bytes:
    """``data`` cut ``fraction`` of the way through its (single) scan."""
    sos = data.find(b"\xff\xda")
    return data[: sos + int((len(data) - 2 - sos) * fraction)]


@pytest.mark.parametrize(
    ("kw", "eoi"),
    [({}, False), ({"restart_marker_rows": 1}, True), ({"restart_marker_rows": 1}, False)],
    ids=["cut", "restart-markers-reterminated", "restart-markers-cut"],
)
def test_jpeg_missing_its_last_rows_is_read_with_a_warning_naming_them(
    tmp_path: Path, kw: dict, eoi: bool
) -> None:
    """A photo whose last few % of rows are missing ("premature end of data segment"):
    enhanced with a warning naming the rows, like image viewers show it - not refused
    as truncated with restart-marker numbers."""
    data = jpeg_bytes(Image.fromarray(smooth_rgb(480, 320)), quality=90, **kw)
    whole = read_image(_write(tmp_path / "whole.jpg", data))
    p = _write(tmp_path / "cut.jpg", cut_scan(data, 0.97) + (b"\xff\xd9" if eoi else b""))
    img = read_image(p)
    [note] = [w for w in img.warnings if "damaged JPEG" in w]
    missing = int(note.split("the last ")[1].split(" of 480 rows are missing")[0])
    assert 0 < missing <= 48, note
    assert "restart" not in note and "\n" not in note
    kept = 480 - missing - 32  # rows well above the cut (chroma upsampling blends 1 row) are the intact photo's
    np.testing.assert_array_equal(img.rgb[:kept], whole.rgb[:kept])
    assert np.all(img.rgb[-1] == np.float32(128 / 255))  # libjpeg's grey where data is missing
    assert not is_complete_image(p)  # an output of ours cut short is still redone


def test_progressive_jpeg_cut_short_is_read_with_a_warning(tmp_path: Path) -> None:
    data = jpeg_bytes(Image.fromarray(smooth_rgb(240, 160)), progressive=True)
    p = _write(tmp_path / "cut.jpg", data[: len(data) * 9 // 10])
    assert any("damaged JPEG: the image data ends early" in w for w in read_image(p).warnings)


@pytest.mark.parametrize("restart", [False, True])
def test_jpeg_missing_most_rows_is_refused_in_rows(tmp_path: Path, restart: bool) -> None:
    data = jpeg_bytes(Image.fromarray(smooth_rgb(480, 320)), **({"restart_marker_rows": 1} if restart else {}))
    p = _write(tmp_path / "half.jpg", cut_scan(data, 0.5))
    msg = read_error(p)
    assert "truncated JPEG: the image data ends after" in msg and "of 480 rows" in msg
    assert "restart" not in msg


def _write(p: Path, data: bytes) -> Path:
    p.write_bytes(data)
    return p


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


# --------------------------------------------------------------------------- item 2


def entry(tag: int, typ: int, count: int, value: bytes) -> bytes:
    return struct.pack("<HHI", tag, typ, count) + value.ljust(4, b"\0")


def tiff_blob(ifd0: list[bytes], exif_ifd: list[bytes] | None = None, tail: bytes = b"") -> bytes:
    """Little-endian EXIF: IFD0 at 8 (plus an Exif sub-IFD after it), then ``tail``."""
    exif_at = 8 + 2 + 12 * (len(ifd0) + (1 if exif_ifd is not None else 0)) + 4
    entries = list(ifd0)
    if exif_ifd is not None:
        entries.append(entry(0x8769, 4, 1, struct.pack("<I", exif_at)))
    out = b"II*\0" + struct.pack("<I", 8) + struct.pack("<H", len(entries)) + b"".join(entries) + b"\0" * 4
    if exif_ifd is not None:
        out += struct.pack("<H", len(exif_ifd)) + b"".join(exif_ifd) + b"\0" * 4
    return out + tail


MAKE = entry(0x010F, 2, 4, b"Pho\0")
BOMB = entry(0x0110, 3, 0x04000000, struct.pack("<I", 8))  # SHORT x 64 Mi at offset 8
BOMB_MAX = entry(0x0132, 4, 0xFFFFFFFF, struct.pack("<I", 8))  # LONG x 4 Gi
ISO = entry(0x8827, 3, 1, struct.pack("<H", 100))
BOMB_EXIF = entry(0x9003, 9, 0x10000000, struct.pack("<I", 8))  # SLONG in the Exif IFD


def test_check_exif_drops_only_oversized_entries() -> None:
    import piexif

    from photoenhance.io.exif import check_exif

    blob = tiff_blob([MAKE, BOMB, BOMB_MAX], [ISO, BOMB_EXIF])
    checked = check_exif(blob)
    assert checked.walked and len(checked.data) == len(blob)  # repaired in place
    (warning,) = checked.warnings
    assert "0x0110 in IFD0 claims 134217728 bytes" in warning and "and 0 more" not in warning
    assert "0x9003 in Exif" in warning
    parsed = piexif.load(checked.data)  # safe now
    assert parsed["0th"][0x010F] == b"Pho" and set(parsed["0th"]) == {0x010F, 0x8769}
    assert parsed["Exif"] == {0x8827: 100}
    assert check_exif(tiff_blob([MAKE], [ISO])).warnings == ()


def test_check_exif_sees_duplicate_tags_and_repairs_beside_unreadable_ifds() -> None:
    import piexif

    from photoenhance.io.exif import check_exif

    checked = check_exif(tiff_blob([entry(0x0110, 3, 0x04000000, struct.pack("<I", 8)), MAKE, entry(0x0110, 2, 2, b"A\0")]))
    assert checked.walked and "0x0110 in IFD0" in checked.warnings[0]
    assert piexif.load(checked.data)["0th"][0x0110] == b"A"
    gps_nowhere = entry(0x8825, 4, 1, struct.pack("<I", 5000))
    checked = check_exif(tiff_blob([MAKE, BOMB, gps_nowhere]))
    assert not checked.walked and checked.data  # GPS unreadable: repaired, carried raw
    assert "0x0110 in IFD0" in checked.warnings[0] and "GPS unreadable" in checked.warnings[1]


def test_check_exif_unrepairable_is_dropped_and_loops_carried_raw() -> None:
    from photoenhance.io.exif import check_exif

    cut = tiff_blob([BOMB, MAKE, MAKE])[: 8 + 2 + 12 + 6]  # IFD0 runs past the end
    checked = check_exif(cut)
    assert checked.data == b"" and "dropped" in checked.warnings[0]
    loop = bytearray(tiff_blob([MAKE]))
    struct.pack_into("<I", loop, 8 + 2 + 12, 8)  # IFD0's next IFD is IFD0
    checked = check_exif(bytes(loop))
    assert not checked.walked and checked.data == bytes(loop) and "loops" in checked.warnings[0]


_PEAK_SCRIPT = r"""
import resource, sys
from pathlib import Path
from photoenhance.io import read_image, write_image
folder, out = Path(sys.argv[1]), Path(sys.argv[2])
def run(p):
    img = read_image(p)
    write_image(out / p.name, img, img.rgb)
    return img
run(folder / "clean.jpg")
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
notes = []
for p in sorted(folder.glob("bomb*")):
    img = run(p)
    assert img.metadata.exif is None or len(img.metadata.exif) < 4096
    notes.append(" | ".join(img.warnings))
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print((peak - base) // 1024)
print("\n".join(notes))
"""


def test_exif_huge_counts_keep_memory_bounded(tmp_path: Path) -> None:
    """Issue 11 item 2: SHORT x 0x04000000 made piexif take 2.3 GB (8.5 GB for 0xFFFFFFFF)."""
    import subprocess
    import sys

    folder = tmp_path / "in"
    out = tmp_path / "out"
    folder.mkdir()
    out.mkdir()
    px = Image.fromarray(smooth_rgb(24, 32))
    px.save(folder / "clean.jpg")
    blobs = [tiff_blob([BOMB]), tiff_blob([MAKE, BOMB_MAX]), tiff_blob([MAKE], [ISO, BOMB_EXIF])]
    for i, blob in enumerate(blobs):
        px.save(folder / f"bomb{i}.jpg", exif=b"Exif\0\0" + blob)
    px.save(folder / "bomb_png.png", exif=blobs[1])
    px.save(folder / "bomb_webp.webp", exif=blobs[0])
    env = {"PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src"), "PATH": "/usr/bin:/bin"}
    res = subprocess.run(
        [sys.executable, "-c", _PEAK_SCRIPT, str(folder), str(out)],
        capture_output=True, text=True, timeout=120, env=env,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert int(lines[0]) < 300, f"peak grew by {lines[0]} MB"
    assert len(lines) == 6 and all("larger than the" in line for line in lines[1:]), lines
    assert res.stderr == ""
    kept = read_image(out / "bomb1.jpg").metadata.exif
    import piexif

    assert kept is not None and piexif.load(kept)["0th"][0x010F] == b"Pho"


# --------------------------------------------------------------------------- item 8


def tiff_with_oversized_tag(path: Path) -> Path:
    """A valid 8x6 TIFF plus an ImageDescription claiming 1 MB at offset 8."""
    buf = io.BytesIO()
    Image.fromarray(smooth_rgb(6, 8)).save(buf, "TIFF")
    data = bytearray(buf.getvalue())
    ifd = struct.unpack_from("<I", data, 4)[0]
    n = struct.unpack_from("<H", data, ifd)[0]
    entries = [bytes(data[ifd + 2 + 12 * i : ifd + 14 + 12 * i]) for i in range(n)]
    entries.append(entry(0x010E, 2, 1_000_000, struct.pack("<I", 8)))
    entries.sort(key=lambda e: struct.unpack_from("<H", e)[0])
    new_ifd = len(data) + len(data) % 2
    data += b"\0" * (new_ifd - len(data))
    data += struct.pack("<H", len(entries)) + b"".join(entries) + b"\0" * 4
    struct.pack_into("<I", data, 4, new_ifd)
    path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize("kind", ["jpeg-exif", "tiff-tag"])
def test_library_warnings_become_photo_warnings(tmp_path: Path, kind: str) -> None:
    import warnings

    if kind == "jpeg-exif":
        p = tmp_path / "w.jpg"
        Image.fromarray(smooth_rgb(6, 8)).save(p, exif=b"Exif\0\0" + tiff_blob([MAKE, BOMB]))
    else:
        p = tiff_with_oversized_tag(tmp_path / "w.tif")
    for _ in range(2):  # the second photo with the same warning records it too
        with warnings.catch_warnings(record=True) as leaked:
            warnings.simplefilter("default")
            img = read_image(p)
            write_image(tmp_path / f"out{p.suffix}", img, img.rgb)
        assert leaked == []
        assert any("TiffImagePlugin.py: UserWarning: Tag data larger than file" in w for w in img.warnings), img.warnings
        assert all("\n" not in w for w in img.warnings)


def test_encode_warnings_are_returned_not_printed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    import warnings

    from photoenhance.io import encode

    p = tmp_path / "a.png"
    Image.fromarray(smooth_rgb(6, 8)).save(p)
    img = read_image(p)
    real = encode.encode_bytes

    def noisy(*a: object, **k: object) -> encode.EncodedImage:
        warnings.warn("Corrupt EXIF data", UserWarning, stacklevel=1)
        return real(*a, **k)

    monkeypatch.setattr(encode, "encode_bytes", noisy)
    with warnings.catch_warnings(record=True) as leaked:
        warnings.simplefilter("always")
        written = write_image(tmp_path / "b.png", img, img.rgb)
    assert leaked == []
    assert any("UserWarning: Corrupt EXIF data" in w for w in written.warnings), written.warnings
    assert caplog.records == []  # data, not a logging side channel


def test_capture_is_per_thread_and_restores_the_handler() -> None:
    import threading
    import warnings

    from photoenhance.io import libwarnings

    before = warnings.showwarning
    inside, release = threading.Barrier(3), threading.Event()
    got: dict[str, list[str]] = {}

    def worker(name: str) -> None:
        with libwarnings.capture() as caught:
            inside.wait()
            warnings.warn(f"from {name}", UserWarning, stacklevel=1)
            release.wait()
        got[name] = caught

    threads = [threading.Thread(target=worker, args=(n,)) for n in ("a", "b")]
    with warnings.catch_warnings(record=True) as main_thread:
        warnings.simplefilter("always")
        recorder = warnings.showwarning
        for t in threads:
            t.start()
        inside.wait()
        warnings.warn("from main", UserWarning, stacklevel=1)
        release.set()
        for t in threads:
            t.join()
        assert warnings.showwarning is recorder
    assert [str(w.message) for w in main_thread] == ["from main"]
    assert [len(got[n]) for n in "ab"] == [1, 1]
    assert "from a" in got["a"][0] and "from b" in got["b"][0]
    assert warnings.showwarning is before


# --------------------------------------------------------------------------- item 4

_BAD_PROFILES = {
    "para-a0": lambda: matrix_icc(P3_XYZ, para=(2.2, 0.0, 0.1), desc="Broken para"),
    "curv-gamma0": lambda: matrix_icc(P3_XYZ, gamma=0.0, desc="Broken curv"),
    "bad-a2b0": lambda: matrix_icc(P3_XYZ, desc="Broken LUT", extra=((b"A2B0", b"mAB \0\0\0\0" + bytes(24)),)),
    "bad-tag-table": lambda: matrix_icc(P3_XYZ)[:150],
}


@pytest.mark.parametrize("fmt", ["jpeg", "png", "tiff", "webp"])
@pytest.mark.parametrize("kind", list(_BAD_PROFILES))
def test_damaged_profile_never_loses_the_photo(tmp_path: Path, kind: str, fmt: str) -> None:
    icc = _BAD_PROFILES[kind]()
    codes = smooth_rgb(12, 16)
    src = tmp_path / "src.png"
    Image.fromarray(codes).save(src, icc_profile=icc)
    img = read_image(src)
    assert any("colour profile unusable" in w for w in img.warnings), img.warnings
    np.testing.assert_allclose(img.rgb, codes / 255.0, atol=1e-6)  # treated as sRGB
    out = tmp_path / f"out.{fmt}"
    write_image(out, img, img.rgb, format=fmt)
    back = read_image(out)
    assert back.metadata.icc_profile == icc  # the original bytes, unchanged
    if fmt in ("png", "tiff"):
        np.testing.assert_array_equal(np.round(back.rgb * 255), codes)


def test_usable_profiles_have_no_problem() -> None:
    from photoenhance.io import colour

    for icc in (matrix_icc(P3_XYZ), matrix_icc(P3_XYZ, para=SRGB_PARA), colour.srgb_icc_bytes()):
        assert colour.profile_problem(icc) is None
    assert colour.needs_conversion(matrix_icc(P3_XYZ))


# --------------------------------------------------------------------------- item 9

XMP_EXT = b"http://ns.adobe.com/xmp/extension/\0"


def app1_segments(data: bytes, header: bytes) -> list[bytes]:
    """Payloads of the APP1 segments starting with ``header``, before the first SOS."""
    out, pos = [], 2
    while data[pos] == 0xFF and data[pos + 1] != 0xDA:
        length = struct.unpack_from(">H", data, pos + 2)[0]
        payload = data[pos + 4 : pos + 2 + length]
        if data[pos + 1] == 0xE1 and payload.startswith(header):
            out.append(payload)
        pos += 2 + length
    return out


def reassemble(segments: list[bytes]) -> bytes:
    full = bytearray(struct.unpack_from(">I", segments[0], len(XMP_EXT) + 32)[0])
    for seg in segments:
        offset = struct.unpack_from(">I", seg, len(XMP_EXT) + 36)[0]
        chunk = seg[len(XMP_EXT) + 40 :]
        full[offset : offset + len(chunk)] = chunk
    return bytes(full)


def jpeg_with_extended_xmp(path: Path, size: int = 1_000_000) -> tuple[bytes, bytes]:
    """A JPEG whose XMP is split over a main packet and ~17 extended-XMP APP1 segments."""
    import hashlib

    rng = np.random.default_rng(9)
    ext = b"<x:xmpmeta xmlns:x='adobe:ns:meta/'><rdf:RDF>" + rng.integers(65, 91, size, dtype=np.uint8).tobytes() + b"</rdf:RDF></x:xmpmeta>"
    guid = hashlib.md5(ext).hexdigest().upper().encode()
    main = b"<x:xmpmeta xmlns:x='adobe:ns:meta/'><xmpNote:HasExtendedXMP>" + guid + b"</xmpNote:HasExtendedXMP></x:xmpmeta>"
    segs = b""
    step = 65000
    for off in range(0, len(ext), step):
        payload = XMP_EXT + guid + struct.pack(">II", len(ext), off) + ext[off : off + step]
        segs += b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload
    buf = io.BytesIO()
    Image.fromarray(smooth_rgb(24, 32)).save(buf, "JPEG", xmp=main)
    data = buf.getvalue()
    path.write_bytes(data[:2] + segs + data[2:])
    return main, ext


def test_extended_xmp_carried_to_jpeg(tmp_path: Path) -> None:
    src = tmp_path / "ext.jpg"
    main, ext = jpeg_with_extended_xmp(src)
    src_segments = app1_segments(src.read_bytes(), XMP_EXT)
    assert len(src_segments) == 16 and reassemble(src_segments) == ext
    img = read_image(src)
    out = tmp_path / "out.jpg"
    write_image(out, img, img.rgb)
    data = out.read_bytes()
    assert app1_segments(data, XMP_EXT) == src_segments  # byte for byte, in order
    assert read_image(out).metadata.xmp == main


@pytest.mark.parametrize("fmt", ["png", "tiff", "webp"])
def test_extended_xmp_warned_for_other_formats(tmp_path: Path, fmt: str) -> None:
    src = tmp_path / "ext.jpg"
    main, _ext = jpeg_with_extended_xmp(src, size=200_000)
    img = read_image(src)
    notes = write_image(tmp_path / f"out.{fmt}", img, img.rgb, format=fmt).warnings
    assert any("extended XMP (" in n and "4 JPEG segments) not written" in n for n in notes), notes
    assert read_image(tmp_path / f"out.{fmt}").metadata.xmp == main
