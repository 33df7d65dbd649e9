"""Benchmark: what ``run --html`` adds after a run - seconds and peak RSS per photo, MiB of
images per photo.

Only the page generator is measured (:func:`photoenhance.html_report.write_html_report`),
not the enhancement: each "output" is the input brightened by 8 % and written in the
input's format, so it is a real before/after pair of the same size.  Inputs: ``--count``
synthetic photos of ``--megapixels`` MP (JPEG q92, 4:3, gradients + texture + noise), or
the photos in ``--input DIR`` (for realistic PNG sizes: synthetic texture compresses
differently).  Each case runs in a fresh process so its peak RSS is its own.

Prints a table; ``--write-md BENCHMARKS.md`` replaces (or appends) the section between
``<!-- html:start -->`` and ``<!-- html:end -->`` with the rows of this invocation.

Usage::

    python bench/html_report.py --case 12:2 --case 48:1 --input ../shared/data/phone-photos \\
                                [--write-md BENCHMARKS.md]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import multiprocessing as mp
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine, md_table, write_section


def _synthetic(path: Path, megapixels: float, seed: int) -> None:
    w = round((megapixels * 1e6 * 4 / 3) ** 0.5)
    h = round(w * 3 / 4)
    rng = np.random.default_rng(seed)
    out = np.empty((h, w, 3), np.uint8)
    x = np.linspace(0, 6, w, dtype=np.float32)
    for r0 in range(0, h, 512):  # in bands: a 48 MP float image would dominate the bench
        y = np.linspace(0, 4, h, dtype=np.float32)[r0 : r0 + 512, None]
        base = [0.5 + 0.35 * np.sin(x * (1 + c) + y * (2 - c / 2) + seed) for c in range(3)]
        band = np.stack(base, -1) + 0.1 * np.sin(x * 90)[None, :, None] * np.cos(y * 70)[..., None]
        band += rng.normal(0, 0.02, band.shape).astype(np.float32)
        out[r0 : r0 + 512] = np.round(np.clip(band, 0, 1) * 255)
    Image.fromarray(out).save(path, quality=92)


def _brightened(src: Path, dst: Path) -> None:
    with Image.open(src) as im:
        exif = im.info.get("exif")
        px = np.asarray(im.convert("RGB"), np.float32)
    out = Image.fromarray(np.round(np.clip(px * 1.08, 0, 255)).astype(np.uint8))
    out.save(dst, quality=92, **({"exif": exif} if exif else {}))


def _peak_rss_mib() -> float:
    """VmHWM of this process (unlike ru_maxrss, not inherited from the parent over exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # pragma: no cover


def _child(report: dict, page: str, queue: mp.Queue) -> None:  # type: ignore[type-arg]
    from photoenhance.html_report import write_html_report

    t0 = time.perf_counter()
    result = write_html_report(report, Path(page))
    seconds = time.perf_counter() - t0
    rss = _peak_rss_mib()
    queue.put((seconds, result.asset_bytes, rss))


def _decode_child(path: str, queue: mp.Queue) -> None:  # type: ignore[type-arg]
    from photoenhance.io import read_image

    read_image(Path(path))
    queue.put(_peak_rss_mib())


def _in_child(target, *args):  # type: ignore[no-untyped-def]
    ctx = mp.get_context("spawn")
    queue: mp.Queue = ctx.Queue()  # type: ignore[type-arg]
    proc = ctx.Process(target=target, args=(*args, queue))
    proc.start()
    value = queue.get()
    proc.join()
    return value


def measure(label: str, inputs: list[Path], work: Path) -> list[str]:
    files = []
    for i, src in enumerate(inputs):
        dst = work / f"out-{i}{src.suffix}"
        _brightened(src, dst)
        with Image.open(src) as im:
            mp_ = im.width * im.height / 1e6
        files.append({"input": str(src), "output": str(dst), "status": "ok", "seconds": 1.0,
                      "megapixels": mp_, "warnings": []})  # fmt: skip
    report = {"files": files, "summary": {"total": len(files), "ok": len(files)}}
    seconds, size, rss = _in_child(_child, report, str(work / "page.html"))
    decode_rss = _in_child(_decode_child, str(inputs[0]))
    mp_total = sum(f["megapixels"] for f in files)
    n = len(files)
    row = [label, str(n), f"{mp_total / n:.1f}", f"{seconds / n:.2f}", f"{size / n / 2**20:.2f}",
           f"{rss:.0f}", f"{decode_rss:.0f}"]  # fmt: skip
    print(json.dumps({"case": label, "photos": n, "seconds": seconds, "bytes": size, "rss": rss}))
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--case", action="append", default=[], help="MP:COUNT synthetic photos")
    ap.add_argument("--input", type=Path, help="a folder of real photos (one more row)")
    ap.add_argument("--write-md", type=Path)
    args = ap.parse_args()
    rows = []
    for case in args.case or ["12:2"]:
        mpx, count = case.split(":")
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            inputs = []
            for i in range(int(count)):
                inputs.append(work / f"in-{i}.jpg")
                _synthetic(inputs[-1], float(mpx), i)
            rows.append(measure(f"synthetic {mpx} MP JPEG", inputs, work))
    if args.input is not None:
        photos = sorted(p for p in args.input.iterdir() if p.suffix.lower() in (".jpg", ".jpeg"))
        with tempfile.TemporaryDirectory() as tmp:
            rows.append(measure(f"real photos ({args.input.name}/)", photos, Path(tmp)))
    header = ["photos", "n", "MP each", "s per photo", "MiB of images per photo", "peak RSS (MiB)",
              "one read_image alone (MiB)"]
    table = md_table(header, rows)
    print(table)
    if args.write_md is not None:
        text = (
            "## HTML report (`bench/html_report.py`)\n\n"
            f"{dt.date.today()} - {machine()}. The page generator alone (re-read input and "
            "output, measure, three 512 px PNG crops each + a JPEG overview), one process per "
            "row. Memory: one decoded photo at a time (its peak is the decoder's), plus a "
            "1-byte-per-pixel mask and bands of ~2 MP; the run before it peaks higher "
            "(see the pipeline sections). Machine shared with other jobs while measured "
            "(load average ~7 on 2 cores): times are upper bounds.\n\n" + table + "\n"
        )
        write_section("html", text, args.write_md)


if __name__ == "__main__":
    main()
