"""Benchmark: model-only throughput vs the end-to-end ``run_batch`` pipeline.

Makes ``--count`` synthetic photos of ``--megapixels`` MP (JPEG, 4:3) in a temp dir, or
uses the photos in ``--input DIR``, then measures in two fresh processes (so their peak
RSS can be compared):

- **model only**: each photo is decoded (not timed) and ``Enhancer.enhance(rgb, out=rgb)``
  is timed; MP/s = megapixels / time in ``enhance``.
- **end to end**: ``run_batch`` over the folder (decode + enhance + encode + write, with
  the reader/writer threads overlapping), timed from call to return; the model is loaded
  before the clock starts in both phases.

Prints a table; ``--write-md BENCHMARKS.md`` replaces (or appends) the section between
``<!-- pipeline:start -->`` and ``<!-- pipeline:end -->``.

``--mode heic``: makes ``--count`` 12 MP HEICs (4032x3024, 512 px grid like a phone's;
each a mosaic of four photos from ``--data``/photos with a little noise, encoded at
qualities from ``--heic-qualities``), enhances each (not timed) and times
``write_image`` to HEIC as ``run`` calls it: encode MP/s (wall and CPU seconds) and the
output/original size ratio.  ``--heic-baseline`` adds the previous settings (quality 95,
libheif's default x265 preset) for the first photo.  Section ``heic``.

``--mode rss``: ``photoenhance run`` on one synthetic ``--megapixels`` photo in a child
process; its peak RSS from ``wait4`` (as GNU ``time -v`` reports it).  Section ``memory48``.

``--engine ray`` compares the engines instead, each in a fresh process, start-up
included: **local** (model load + ``run_batch``) vs **ray** (start a private Ray
instance with this machine's CPUs + ``run_batch(engine="ray")``: actors start, load the
model, enhance + write; + shutdown), with the parts of the Ray time shown; written
between ``<!-- ray:start -->`` and ``<!-- ray:end -->``.

Usage::

    python bench/pipeline.py --count 4 --megapixels 12 [--tile 2048] [--threads N]
                             [--input DIR] [--engine local|ray] [--write-md BENCHMARKS.md]
    python bench/pipeline.py --mode heic --count 3 [--heic-baseline] [--write-md BENCHMARKS.md]
    python bench/pipeline.py --mode rss --megapixels 48 [--write-md BENCHMARKS.md]
"""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing as mp
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

START = "<!-- pipeline:start -->"
END = "<!-- pipeline:end -->"
RAY_START = "<!-- ray:start -->"
RAY_END = "<!-- ray:end -->"


@dataclass(frozen=True)
class PhaseResult:
    """One measured phase."""

    name: str
    photos: int
    megapixels: float
    seconds: float
    load_seconds: float
    peak_rss_mb: float

    @property
    def mp_per_s(self) -> float:
        return self.megapixels / self.seconds if self.seconds > 0 else 0.0


def _peak_rss_mb() -> float:
    """Peak resident set size of this process in MiB (Linux reports KiB, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def make_photos(folder: Path, count: int, megapixels: float, seed: int = 0) -> list[Path]:
    """``count`` synthetic 4:3 JPEGs of about ``megapixels`` MP (smooth scene + noise)."""
    w = round((megapixels * 1e6 * 4 / 3) ** 0.5 / 8) * 8
    h = round(w * 3 / 4 / 8) * 8
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    x = np.linspace(0, 1, w, dtype=np.float32)[None, :]
    y = np.linspace(0, 1, h, dtype=np.float32)[:, None]
    paths = []
    for i in range(count):
        a, b, c = rng.random((3, 3), dtype=np.float32)
        img = np.empty((h, w, 3), np.uint8)
        for ch in range(3):
            v = (
                0.5
                + 0.3 * np.sin(x * 9 * a[ch] + y * 7 * b[ch] + 6 * c[ch])
                + 0.1 * np.sin(40 * x * y + ch)
            )
            v += rng.normal(0, 0.02, (h, w)).astype(np.float32)
            img[..., ch] = np.clip(v * 255, 0, 255).astype(np.uint8)
        path = folder / f"synthetic_{i:03d}.jpg"
        Image.fromarray(img, "RGB").save(path, "JPEG", quality=92)
        paths.append(path)
    return paths


def _model_only(folder: str, tile: int, threads: int | None, max_mp: float) -> PhaseResult:
    from photoenhance.infer.enhancer import Enhancer
    from photoenhance.infer.inference_config import InferenceConfig
    from photoenhance.io import read_image, walk_inputs

    t0 = time.perf_counter()
    enhancer = Enhancer(InferenceConfig(tile=tile, threads=threads))
    load = time.perf_counter() - t0
    files = walk_inputs([Path(folder)], output_dir=None).files
    total_mp = seconds = 0.0
    for f in files:
        image = read_image(f.path, max_megapixels=max_mp)
        t = time.perf_counter()
        enhancer.enhance(image.rgb, out=image.rgb)
        seconds += time.perf_counter() - t
        total_mp += image.megapixels
        del image
    return PhaseResult("model only", len(files), total_mp, seconds, load, _peak_rss_mb())


def _end_to_end(
    folder: str, out: str, tile: int, threads: int | None, max_mp: float
) -> PhaseResult:
    from photoenhance.infer.enhancer import Enhancer
    from photoenhance.infer.runner import RunConfig, run_batch

    config = RunConfig(
        output_dir=Path(out), tile=tile, threads=threads, overwrite=True, max_megapixels=max_mp
    )
    t0 = time.perf_counter()
    enhancer = Enhancer(config.inference_config())
    load = time.perf_counter() - t0
    t = time.perf_counter()
    result = run_batch([Path(folder)], config, enhancer=enhancer)
    seconds = time.perf_counter() - t
    if result.failed:
        errors = "; ".join(f"{f.input}: {f.error}" for f in result.files if f.error)
        raise RuntimeError(f"end-to-end run had failures: {errors}")
    return PhaseResult("end to end", result.ok, result.megapixels, seconds, load, _peak_rss_mb())


@dataclass(frozen=True)
class EngineResult:
    """One engine's run, start-up included (``parts``: named sub-timings in seconds)."""

    name: str
    photos: int
    megapixels: float
    seconds: float
    parts: tuple[tuple[str, float], ...]

    @property
    def mp_per_s(self) -> float:
        return self.megapixels / self.seconds if self.seconds > 0 else 0.0


def _local_engine(folder: str, out: str, tile: int, threads: int | None, max_mp: float) -> EngineResult:
    from photoenhance.infer.runner import RunConfig, run_batch

    config = RunConfig(
        output_dir=Path(out), tile=tile, threads=threads, overwrite=True, max_megapixels=max_mp
    )
    t0 = time.perf_counter()
    result = run_batch([Path(folder)], config)  # loads the model itself
    seconds = time.perf_counter() - t0
    if result.failed:
        raise RuntimeError("local run had failures")
    return EngineResult("local", result.ok, result.megapixels, seconds, ())


def _ray_engine(folder: str, out: str, tile: int, threads: int | None, max_mp: float) -> EngineResult:
    from photoenhance.infer.ray_engine import import_ray
    from photoenhance.infer.runner import RunConfig, run_batch

    config = RunConfig(
        output_dir=Path(out), tile=tile, threads=threads, overwrite=True, max_megapixels=max_mp,
        engine="ray",
    )  # fmt: skip
    t0 = time.perf_counter()
    ray = import_ray(loopback=True)
    t_import = time.perf_counter()
    # "local": a fresh instance, as run_ray starts one (never a RAY_ADDRESS cluster)
    ray.init(address="local", include_dashboard=False, log_to_driver=False, logging_level="ERROR")
    t_init = time.perf_counter()
    first: list[float] = []

    def on_progress(event: object) -> None:
        if not first and getattr(event, "result", None) is not None:
            first.append(time.perf_counter())

    result = run_batch([Path(folder)], config, on_progress=on_progress)
    t_run = time.perf_counter()
    ray.shutdown()
    t_end = time.perf_counter()
    if result.failed:
        raise RuntimeError("ray run had failures")
    parts = (
        ("import ray", t_import - t0),
        ("ray.init", t_init - t_import),
        ("to first photo", (first[0] if first else t_run) - t_init),
        ("run_batch", t_run - t_init),
        ("shutdown", t_end - t_run),
    )
    return EngineResult("ray", result.ok, result.megapixels, t_end - t0, parts)


def render_engines(results: list[EngineResult]) -> str:
    """Markdown table: local vs ray, start-up included, with Ray's parts."""
    lines = [
        "| engine | photos | MP | seconds (start-up included) | MP/s | vs local | parts (s) |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    base = results[0].mp_per_s
    for r in results:
        parts = ", ".join(f"{k} {v:.2f}" for k, v in r.parts) or "model load + run"
        ratio = f"{r.mp_per_s / base:.0%}" if base > 0 else "-"
        lines.append(
            f"| {r.name} | {r.photos} | {r.megapixels:.1f} | {r.seconds:.2f} | {r.mp_per_s:.2f} "
            f"| {ratio} | {parts} |"
        )
    return "\n".join(lines)


def _in_child(func: object, *args: object) -> PhaseResult:
    """Run ``func(*args)`` in a fresh spawned process (own peak RSS)."""
    ctx = mp.get_context("spawn")
    with ctx.Pool(1) as pool:
        return pool.apply(func, args)  # type: ignore[arg-type]


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def render_table(results: list[PhaseResult]) -> str:
    """Markdown table of the phases plus the end-to-end / model-only ratio."""
    lines = [
        "| phase | photos | MP | seconds | MP/s | model load (s) | peak RSS (MiB) |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r.name} | {r.photos} | {r.megapixels:.1f} | {r.seconds:.2f} | {r.mp_per_s:.2f} "
            f"| {r.load_seconds:.2f} | {r.peak_rss_mb:.0f} |"
        )
    if len(results) == 2 and results[0].mp_per_s > 0:
        lines.append("")
        lines.append(
            f"End-to-end throughput is {results[1].mp_per_s / results[0].mp_per_s:.0%} of model-only."
        )
    return "\n".join(lines)


def markdown_section(table: str, args: argparse.Namespace, source: str) -> str:
    import onnxruntime as ort

    threads = args.threads or "auto"
    return "\n".join(
        [
            START,
            "## Pipeline throughput (`bench/pipeline.py`)",
            "",
            f"{dt.date.today().isoformat()} - {_cpu_name()}, {os.cpu_count()} CPUs, "
            f"onnxruntime {ort.__version__}, tile {args.tile}, threads {threads}; {source}.",
            "",
            table,
            END,
        ]
    )


def ray_section(table: str, args: argparse.Namespace, source: str) -> str:
    import onnxruntime as ort
    import ray

    return "\n".join(
        [
            RAY_START,
            "## Engines: local vs Ray (`bench/pipeline.py --engine ray`)",
            "",
            f"{dt.date.today().isoformat()} - {_cpu_name()}, {os.cpu_count()} CPUs, "
            f"onnxruntime {ort.__version__}, Ray {ray.__version__}, tile {args.tile}; {source}; "
            "each engine in a fresh process, start-up included (Ray: a private instance "
            "with this machine's CPUs, 1 CPU and 1 onnxruntime thread per actor).",
            "",
            table,
            RAY_END,
        ]
    )


def update_markdown(path: Path, section: str, *, start: str = START, end: str = END) -> None:
    """Replace the marked section of ``path`` (or append it; create the file if needed)."""
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    if start in text and end in text and text.index(start) < text.index(end):
        head, rest = text.split(start, 1)
        _, tail = rest.split(end, 1)
        text = head + section + tail
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    path.write_text(text, encoding="utf-8")


# --------------------------------------------------------------------------- HEIC


@dataclass(frozen=True)
class HeicResult:
    """One HEIC written by ``write_image`` (or by the previous settings)."""

    name: str
    settings: str
    megapixels: float
    original_bytes: int
    output_bytes: int
    seconds: float
    cpu_seconds: float
    quality: int | None

    @property
    def mp_per_s(self) -> float:
        return self.megapixels / self.seconds

    @property
    def cpu_mp_per_s(self) -> float:
        """MP/s if the encode's CPU time were spread over all cores (an idle machine)."""
        return self.megapixels / (self.cpu_seconds / (os.cpu_count() or 1))


def _cpu_seconds() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)  # all threads: x265 runs a thread pool
    return r.ru_utime + r.ru_stime


def make_heics(folder: Path, photos: Path, count: int, qualities: list[int], seed: int = 0) -> list[Path]:
    """``count`` 12 MP HEICs (4032x3024, 512 px grid): each a 2x2 mosaic of photos from
    ``photos`` cropped to 4:3 at 2016x1512 (about their own resolution), plus Gaussian
    noise (sigma 1.5 codes, a phone sensor's), encoded at ``qualities[i % len]``."""
    from photoenhance.io import heif_available

    if not heif_available():
        raise SystemExit("--mode heic needs pillow-heif: pip install 'photoenhance[heic]'")
    names = sorted(p for p in photos.glob("*.jpg") if min(Image.open(p).size) >= 1000)
    if len(names) < 4:
        raise SystemExit(f"need at least 4 photos of 1000 px or more in {photos}")
    rng = np.random.default_rng(seed)
    w, h = 4032, 3024
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for k in range(count):
        canvas = Image.new("RGB", (w, h))
        for i in range(4):
            with Image.open(names[(k * 4 + i * 5) % len(names)]) as src:
                im = src.convert("RGB")
            cw = min(im.width, im.height * 4 // 3)
            ch = cw * 3 // 4
            x0, y0 = (im.width - cw) // 2, (im.height - ch) // 2
            im = im.crop((x0, y0, x0 + cw, y0 + ch)).resize((w // 2, h // 2), Image.Resampling.LANCZOS)
            canvas.paste(im, ((i % 2) * w // 2, (i // 2) * h // 2))
        a = np.asarray(canvas).astype(np.float32) + rng.normal(0, 1.5, (h, w, 3)).astype(np.float32)
        q = qualities[k % len(qualities)]
        path = folder / f"mosaic_{k:02d}_q{q}.heic"
        Image.fromarray(np.clip(a + 0.5, 0, 255).astype(np.uint8)).save(
            path, "HEIF", quality=q, tile_size=512, enc_params={"preset": "ultrafast"}
        )
        out.append(path)
    return out


def _heic_encode(paths: list[str], out: str, threads: int | None, baseline: bool) -> list[HeicResult]:
    """Enhance each HEIC (not timed), then time ``write_image`` as ``run`` calls it."""
    from photoenhance.infer.enhancer import Enhancer
    from photoenhance.infer.inference_config import InferenceConfig
    from photoenhance.io import heif, read_image, write_image
    from photoenhance.io.encode import _pil_image_banded, plan_output

    chosen: list[int] = []
    search = heif.match_quality

    def spy(*a: object, **k: object) -> int:
        q = search(*a, **k)  # type: ignore[arg-type]
        chosen.append(q)
        return q

    heif.match_quality = spy  # type: ignore[assignment]
    enhancer = Enhancer(InferenceConfig(tile=2048, threads=threads))
    results = []
    for i, p in enumerate(map(Path, paths)):
        image = read_image(p)
        enhancer.enhance(image.rgb, out=image.rgb)
        dst = Path(out) / p.name
        chosen.clear()
        t, c = time.perf_counter(), _cpu_seconds()
        write_image(dst, image, image.rgb)
        seconds, cpu = time.perf_counter() - t, _cpu_seconds() - c
        results.append(HeicResult(p.name, "new", image.megapixels, p.stat().st_size,
                                  dst.stat().st_size, seconds, cpu, chosen[-1] if chosen else None))
        if baseline and i == 0:  # what write_image did before: quality 95, libheif's preset
            import io

            im = _pil_image_banded(image.rgb, None, plan_output(image, "heif"))
            buf = io.BytesIO()
            t, c = time.perf_counter(), _cpu_seconds()
            im.save(buf, "HEIF", quality=95)
            seconds, cpu = time.perf_counter() - t, _cpu_seconds() - c
            results.append(HeicResult(p.name, "previous", image.megapixels, p.stat().st_size,
                                      len(buf.getvalue()), seconds, cpu, 95))
        del image
    return results


def render_heic(results: list[HeicResult]) -> str:
    lines = [
        "| photo | settings | x265 quality | encode s | encode MP/s | CPU s | MP/s at full CPU | original (MB) | output (MB) | output / original |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r.name} | {r.settings} | {r.quality if r.quality is not None else '-'} "
            f"| {r.seconds:.2f} | {r.mp_per_s:.2f} | {r.cpu_seconds:.2f} | {r.cpu_mp_per_s:.2f} "
            f"| {r.original_bytes / 1e6:.2f} | {r.output_bytes / 1e6:.2f} "
            f"| {r.output_bytes / r.original_bytes:.2f} |"
        )
    return "\n".join(lines)


# --------------------------------------------------------------------------- peak RSS


def cli_peak_rss(
    folder: Path, out: Path, src: Path | None = None, stdin: Path | None = None
) -> tuple[float, float]:
    """``photoenhance run folder -o out`` in a child process: (seconds, peak RSS MiB).

    ``src``: the ``src`` folder of the checkout to run (default: this one); ``stdin``: run
    as a pipe instead (``run - -o -`` with that photo on stdin, stdout discarded)."""
    env = dict(os.environ)
    src = src or Path(__file__).resolve().parents[1] / "src"
    env["PYTHONPATH"] = str(src) + os.pathsep + env.get("PYTHONPATH", "")
    cmd = [sys.executable, "-m", "photoenhance", "run", str(folder), "-o", str(out), "-q", "--overwrite"]
    if stdin is not None:
        cmd = [sys.executable, "-m", "photoenhance", "run", "-", "-o", "-", "-q"]
    t = time.perf_counter()
    with open(stdin or os.devnull, "rb") as fh:
        proc = subprocess.Popen(cmd, env=env, stdin=fh, stdout=subprocess.DEVNULL)
        _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - t
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"photoenhance run exited {proc.returncode}")
    peak = usage.ru_maxrss / (1024 * 1024) if sys.platform == "darwin" else usage.ru_maxrss / 1024
    return seconds, peak


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=4, help="synthetic photos to make (default 4)")
    parser.add_argument(
        "--megapixels", type=float, default=12.0, help="size of each synthetic photo (default 12)"
    )
    parser.add_argument("--input", type=Path, help="use the photos in this folder instead")
    parser.add_argument("--tile", type=int, default=2048, help="inference tile size (default 2048, as run)")
    parser.add_argument(
        "--threads", type=int, default=None, help="onnxruntime threads (default: auto)"
    )
    parser.add_argument(
        "--write-md", type=Path, help="replace/append the pipeline section of this Markdown file"
    )
    parser.add_argument(
        "--engine", choices=["local", "ray"], default="local",
        help="ray: compare the local and Ray engines, start-up included",
    )  # fmt: skip
    parser.add_argument(
        "--mode", choices=("pipeline", "heic", "rss", "versions"), default="pipeline",
        help="pipeline: model only vs end to end (default); heic: HEIC encoding; rss: CLI peak RSS; "
        "versions: this checkout's `run` against --against's, alternating, same photos",
    )
    parser.add_argument("--against", type=Path, help="versions: another checkout's root")
    parser.add_argument("--section", default="versions", help="versions: BENCHMARKS.md section name")
    parser.add_argument("--title", default="Before/after a refactor", help="versions: the section's title")
    parser.add_argument("--rounds", type=int, default=3, help="versions: runs of each (default 3)")
    parser.add_argument(
        "--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data",
        help="data folder with photos/ (--mode heic)",
    )
    parser.add_argument(
        "--heic-qualities", default="45,60,75", help="qualities of the HEIC originals (--mode heic)"
    )
    parser.add_argument(
        "--heic-baseline", action="store_true", help="also time the previous HEIC settings once"
    )
    args = parser.parse_args(argv)
    if args.mode == "heic":
        return _main_heic(args)
    if args.mode == "rss":
        return _main_rss(args)
    if args.mode == "versions":
        return _main_versions(args)
    max_mp = max(200.0, args.megapixels * 2)
    with tempfile.TemporaryDirectory(prefix="photoenhance-bench-") as tmp:
        if args.input is not None:
            folder = args.input
            source = f"photos from {args.input}"
        else:
            folder = Path(tmp) / "in"
            t = time.perf_counter()
            make_photos(folder, args.count, args.megapixels)
            print(
                f"made {args.count} synthetic {args.megapixels:g} MP JPEGs in {time.perf_counter() - t:.1f} s"
            )
            source = f"{args.count} synthetic {args.megapixels:g} MP JPEGs, output JPEG"
        if args.engine == "ray":
            out = str(Path(tmp) / "out")
            engines = [
                _in_child(_local_engine, str(folder), out, args.tile, args.threads, max_mp),
                _in_child(_ray_engine, str(folder), out, args.tile, args.threads, max_mp),
            ]
            table = render_engines(engines)
            print(table)
            if args.write_md is not None:
                update_markdown(
                    args.write_md, ray_section(table, args, source), start=RAY_START, end=RAY_END
                )
                print(f"updated {args.write_md}")
            return 0
        results = [
            _in_child(_model_only, str(folder), args.tile, args.threads, max_mp),
            _in_child(
                _end_to_end, str(folder), str(Path(tmp) / "out"), args.tile, args.threads, max_mp
            ),
        ]
    table = render_table(results)
    print(table)
    if args.write_md is not None:
        update_markdown(args.write_md, markdown_section(table, args, source))
        print(f"updated {args.write_md}")
    return 0


def _main_heic(args: argparse.Namespace) -> int:
    from _common import machine, write_section

    qualities = [int(q) for q in args.heic_qualities.split(",")]
    with tempfile.TemporaryDirectory(prefix="photoenhance-bench-") as tmp:
        t = time.perf_counter()
        paths = make_heics(Path(tmp) / "in", args.data / "photos", args.count, qualities)
        print(f"made {len(paths)} 12 MP HEICs in {time.perf_counter() - t:.1f} s")
        (Path(tmp) / "out").mkdir()
        ctx = mp.get_context("spawn")
        with ctx.Pool(1) as pool:
            results = pool.apply(
                _heic_encode, ([str(p) for p in paths], str(Path(tmp) / "out"), args.threads, args.heic_baseline)
            )
    table = render_heic(results)
    print(table)
    if args.write_md is not None:
        load = os.getloadavg()[0]
        text = "\n".join([
            "## HEIC output (`bench/pipeline.py --mode heic`)",
            "",
            f"Command: `python bench/pipeline.py --mode heic --count {args.count}"
            f"{' --heic-baseline' if args.heic_baseline else ''}` — {dt.date.today().isoformat()}. "
            f"Machine: {machine()}; load average {load:.1f} when written (a shared VM: wall times "
            "vary with the neighbours, the CPU column does not).",
            "",
            f"Originals: {args.count} 12 MP HEICs (4032x3024, 512 px grid, 4:2:0) made from "
            f"`photos/` (2x2 mosaics at about their own resolution plus sigma 1.5 noise), "
            f"encoded at x265 quality {args.heic_qualities}. Each is enhanced, then "
            "`write_image` (colour conversion, quantisation, quality search, encode, EXIF) "
            "is timed. 'MP/s at full CPU' = MP / (CPU seconds / cores): an upper bound for "
            "an idle machine (it assumes the encoder's threads keep every core busy).",
            "",
            table,
        ])
        write_section("heic", text, args.write_md)
        print(f"updated {args.write_md}")
    return 0


def _main_rss(args: argparse.Namespace) -> int:
    from _common import machine, write_section

    with tempfile.TemporaryDirectory(prefix="photoenhance-bench-") as tmp:
        make_photos(Path(tmp) / "in", 1, args.megapixels)
        seconds, peak = cli_peak_rss(Path(tmp) / "in", Path(tmp) / "out")
    row = f"| {args.megapixels:g} | {seconds:.1f} | {peak:.0f} |"
    table = "| MP | seconds | peak RSS (MiB) |\n|---:|---:|---:|\n" + row
    print(table)
    if args.write_md is not None:
        text = "\n".join([
            f"## {args.megapixels:g} MP photo end to end (`bench/pipeline.py --mode rss --megapixels {args.megapixels:g}`)",
            "",
            f"{dt.date.today().isoformat()} — {machine()}. `photoenhance run` on one synthetic "
            f"{args.megapixels:g} MP JPEG (output JPEG) in a child process; peak RSS from "
            "`wait4` (what GNU `time -v` reports).",
            "",
            table,
        ])
        write_section("memory48", text, args.write_md)
        print(f"updated {args.write_md}")
    return 0


def _main_versions(args: argparse.Namespace) -> int:
    """``photoenhance run`` of this checkout and of ``--against``, alternating, on the same
    photos: median wall seconds (process start, model load, decode, enhance, encode,
    write), end-to-end MP/s and peak RSS of each; and the same for one photo through a
    pipe.  Section ``versions``."""
    import statistics

    from _common import machine, write_section

    if args.against is None:
        raise SystemExit("--mode versions needs --against CHECKOUT")
    here = Path(__file__).resolve().parents[1]
    trees = {"this checkout": here / "src", f"{args.against}": args.against / "src"}
    times: dict[tuple[str, str], list[tuple[float, float]]] = {}
    with tempfile.TemporaryDirectory(prefix="photoenhance-bench-") as tmp:
        folder = Path(tmp) / "in"
        photos = make_photos(folder, args.count, args.megapixels)
        for _ in range(args.rounds):
            for name, src in trees.items():
                out = Path(tmp) / f"out-{abs(hash(name))}"
                times.setdefault((name, "folder"), []).append(cli_peak_rss(folder, out, src))
                times.setdefault((name, "pipe"), []).append(cli_peak_rss(folder, out, src, stdin=photos[0]))
    rows = []
    for (name, kind), runs in times.items():
        sec = statistics.median(r[0] for r in runs)
        mp = args.megapixels * (args.count if kind == "folder" else 1)
        rows.append(f"| {name} | {kind} | {sec:.2f} | {mp / sec:.2f} | {max(r[1] for r in runs):.0f} | "
                    + " / ".join(f"{r[0]:.2f}" for r in runs) + " |")
    table = "\n".join([
        "| code | run | median s | MP/s end to end | peak RSS (MiB) | each run (s) |",
        "|---|---|---:|---:|---:|---|",
        *rows,
    ])
    print(table)
    if args.write_md is not None:
        load = os.getloadavg()[0]
        text = "\n".join([
            f"## {args.title}, same run (`bench/pipeline.py --mode versions`)",
            "",
            f"`python bench/pipeline.py --mode versions --against {args.against} --count {args.count} "
            f"--megapixels {args.megapixels:g} --rounds {args.rounds}` — {dt.date.today().isoformat()}. "
            f"Machine: {machine()}; load average {load:.1f} when written. `photoenhance run` of each "
            f"checkout, alternating, {args.rounds} times: a folder of {args.count} synthetic "
            f"{args.megapixels:g} MP JPEGs (`--overwrite`), and the first of them through a pipe "
            "(`run - -o -`). Wall time includes process start and model load.",
            "",
            table,
        ])
        write_section(args.section, text, args.write_md)
        print(f"updated {args.write_md}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
