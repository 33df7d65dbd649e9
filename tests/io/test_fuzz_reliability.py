"""Seeded fuzz of the io read/write path (issue 11 acceptance).

A few hundred small JPEG/PNG/TIFF/WebP files, mutated with a fixed seed: byte flips,
truncation (plain, and JPEG re-terminated with EOI), and inserted EXIF, ICC and XMP
blocks with bad counts, offsets and curves.  Each goes through ``read_image`` and,
when it reads, ``write_image`` (same format, and JPEG).  Allowed outcomes: success,
or an ImageReadError that is one line naming the file.  Anything else - another
exception, a Python warning reaching the caller, memory growing by hundreds of MB -
fails.
"""

from __future__ import annotations

import io
import resource
import struct
import warnings
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
from _iohelpers import P3_XYZ, exif_bytes, full_exif_dict, matrix_icc, smooth_rgb
from PIL import Image

from photoenhance.io import ImageReadError, read_image, write_image

SEED = 20240611
CASES = 320
_TYPES = (1, 2, 3, 4, 5, 7, 9, 10, 13, 0, 14, 0xFFFF)


def _exif_with_bad_entries(rng: np.random.Generator) -> bytes:
    """A real EXIF blob (sub-IFDs, thumbnail) whose entries get random types/counts/offsets."""
    data = bytearray(exif_bytes(full_exif_dict(thumbnail=bool(rng.integers(2)))))
    ifd = struct.unpack_from(">I", data, 4)[0]  # piexif writes big-endian
    n = struct.unpack_from(">H", data, ifd)[0]
    for _ in range(int(rng.integers(1, 4))):
        e = ifd + 2 + 12 * int(rng.integers(n))
        what = int(rng.integers(3))
        if what == 0:
            count = int(rng.choice([0, 0x04000000, 0xFFFFFFFF, int(rng.integers(1, 1 << 31))]))
            struct.pack_into(">I", data, e + 4, count)
        elif what == 1:
            struct.pack_into(">H", data, e + 2, int(rng.choice(_TYPES)))
        else:
            struct.pack_into(">I", data, e + 8, int(rng.integers(0, 1 << 32)))
    return bytes(data)


def _damaged_icc(rng: np.random.Generator) -> bytes:
    choice = int(rng.integers(4))
    if choice == 0:
        return matrix_icc(P3_XYZ, para=(float(rng.uniform(-1, 3)), 0.0, 0.1))
    if choice == 1:
        return matrix_icc(P3_XYZ, gamma=float(rng.choice([0.0, 0.004, 200.0])))
    icc = bytearray(matrix_icc(P3_XYZ, extra=((b"A2B0", b"mAB \0\0\0\0" + bytes(24)),) if choice == 2 else ()))
    for _ in range(6):
        icc[int(rng.integers(128, len(icc)))] = int(rng.integers(256))
    return bytes(icc)


def _bad_xmp(rng: np.random.Generator) -> bytes:
    return b"<x:xmpmeta>" + rng.integers(0, 256, int(rng.integers(0, 3000)), dtype=np.uint8).tobytes()


def _ext_xmp_segments(rng: np.random.Generator) -> bytes:
    """JPEG extended-XMP APP1 segments with random GUID/length/offset fields."""
    out = b""
    for _ in range(int(rng.integers(1, 4))):
        body = rng.integers(0, 256, int(rng.integers(0, 200)), dtype=np.uint8).tobytes()
        head = b"http://ns.adobe.com/xmp/extension/\0" + b"0" * 32
        payload = head + struct.pack(">II", int(rng.integers(1 << 32)), int(rng.integers(1 << 32))) + body
        out += b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload
    return out


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _seed_file(rng: np.random.Generator, fmt: str) -> bytes:
    """A small valid file of ``fmt``, sometimes carrying damaged EXIF/ICC/XMP."""
    h, w = int(rng.integers(1, 24)), int(rng.integers(1, 24))
    im = Image.fromarray(smooth_rgb(h, w, seed=int(rng.integers(1000))))
    mode = str(rng.choice(["RGB", "RGB", "L", "RGBA", "P"]))
    if fmt == "JPEG" and mode in ("RGBA", "P"):
        mode = "RGB"
    im = im.convert(mode)
    kw: dict[str, object] = {}
    if rng.random() < 0.5:
        kw["exif"] = _exif_with_bad_entries(rng) if fmt != "JPEG" else b"Exif\0\0" + _exif_with_bad_entries(rng)
    if rng.random() < 0.4 and mode != "L":
        kw["icc_profile"] = _damaged_icc(rng)
    if rng.random() < 0.3 and fmt in ("JPEG", "WEBP", "PNG"):
        kw["xmp"] = _bad_xmp(rng)
    if fmt == "JPEG" and rng.random() < 0.3:
        kw["progressive"] = True
    if fmt == "TIFF":
        kw.pop("xmp", None)
        kw["compression"] = str(rng.choice(["raw", "tiff_deflate", "tiff_lzw"]))
    buf = io.BytesIO()
    try:
        im.save(buf, fmt, **kw)
    except (ValueError, OSError, RuntimeError, struct.error):  # Pillow refused the metadata
        buf = io.BytesIO()
        im.save(buf, fmt)
    data = buf.getvalue()
    if fmt == "JPEG" and rng.random() < 0.3:
        data = data[:2] + _ext_xmp_segments(rng) + data[2:]
    if fmt == "PNG" and rng.random() < 0.2:  # an eXIf chunk with a bomb entry before IEND
        bomb = b"II*\0\x08\0\0\0\x01\0\x10\x01\x03\0\0\0\0\x04\x08\0\0\0\0\0\0\0"
        data = data[:-12] + _png_chunk(b"eXIf", bomb) + data[-12:]
    return data


def _mutate(rng: np.random.Generator, data: bytes, fmt: str) -> bytes:
    kind = int(rng.integers(5))
    if kind == 0:  # byte flips
        out = bytearray(data)
        for _ in range(int(rng.integers(1, 9))):
            out[int(rng.integers(len(out)))] = int(rng.integers(256))
        return bytes(out)
    if kind == 1:  # truncation
        return data[: int(rng.integers(1, len(data)))]
    if kind == 2 and fmt == "JPEG":  # cut and re-terminated
        return data[: int(rng.integers(2, len(data)))] + b"\xff\xd9"
    if kind == 3:  # a block of random bytes inserted
        at = int(rng.integers(len(data)))
        return data[:at] + rng.integers(0, 256, int(rng.integers(1, 64)), dtype=np.uint8).tobytes() + data[at:]
    return data  # the seed as is (its metadata may be damaged)


def _cases() -> list[tuple[str, bytes]]:
    rng = np.random.default_rng(SEED)
    fmts = ("JPEG", "PNG", "TIFF", "WEBP")
    out = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Pillow's, while *making* the damaged seeds
        for i in range(CASES):
            fmt = fmts[i % len(fmts)]
            out.append((fmt, _mutate(rng, _seed_file(rng, fmt), fmt)))
    return out


_SUFFIX = {"JPEG": ".jpg", "PNG": ".png", "TIFF": ".tif", "WEBP": ".webp"}


def test_fuzz_read_write_only_clean_errors(tmp_path: Path) -> None:
    cases = _cases()
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    outcomes = {"read": 0, "error": 0}
    check: Callable[[Path, str], None]

    def check(p: Path, suffix: str) -> None:
        try:
            img = read_image(p)
        except ImageReadError as exc:
            msg = str(exc)
            assert "\n" not in msg and msg.startswith(f"{p}: "), msg
            outcomes["error"] += 1
            return
        outcomes["read"] += 1
        assert all("\n" not in w for w in img.warnings)
        for fmt in {suffix, ".jpg"}:
            write_image(p.with_name(p.stem + "-out" + fmt), img, img.rgb)

    with warnings.catch_warnings(record=True) as leaked:
        warnings.simplefilter("always")
        for i, (fmt, data) in enumerate(cases):
            p = tmp_path / f"case{i:03d}{_SUFFIX[fmt]}"
            p.write_bytes(data)
            check(p, _SUFFIX[fmt])
    assert [str(w.message) for w in leaked] == []
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base) / 1024
    assert grown_mb < 300, f"peak memory grew by {grown_mb:.0f} MB"
    assert outcomes["read"] > CASES // 4 and outcomes["error"] > CASES // 10, outcomes


def test_fuzz_cli_run_exit_codes_no_traceback_bounded_memory(tmp_path: Path) -> None:
    """The same mutated files through `photoenhance run` in a subprocess: exit code 0 or 1,
    no traceback, one line per failed file, bounded peak RSS, inputs untouched."""
    import os
    import subprocess
    import sys

    src = tmp_path / "in"
    src.mkdir()
    for i, (fmt, data) in enumerate(_cases()[:120]):
        (src / f"case{i:03d}{_SUFFIX[fmt]}").write_bytes(data)
    before = {p.name: p.read_bytes() for p in src.iterdir()}
    code = (
        "import resource, sys\n"
        "from photoenhance.cli import main\n"
        "try:\n    main()\n"
        "finally:\n"
        "    print('PEAK_KB', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)\n"
    )
    env = {**os.environ, "PHOTOENHANCE_CACHE_DIR": str(tmp_path / "cache")}
    res = subprocess.run([sys.executable, "-c", code, "run", str(src), "-o", str(tmp_path / "out"), "-q"],
                         capture_output=True, text=True, env=env, timeout=600)
    assert res.returncode in (0, 1), res.stderr[-2000:]
    assert "Traceback" not in res.stderr and "Traceback" not in res.stdout, res.stderr[-2000:]
    peak_mb = int(res.stderr.rsplit("PEAK_KB", 1)[1].split()[0]) / 1024
    assert peak_mb < 1500, f"peak RSS {peak_mb:.0f} MB"
    errors = [ln for ln in res.stderr.splitlines() if ln.startswith("error:")]
    assert all("case" in ln for ln in errors)
    assert {p.name: p.read_bytes() for p in src.iterdir()} == before
