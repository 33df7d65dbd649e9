"""Benchmark: model-only MP/s of the INT8 model per onnxruntime execution provider.

For each of ``--providers`` (default ``cpu cuda tensorrt``) it loads the bundled model
(or ``--model``) with ``--provider`` semantics (:mod:`photoenhance.infer.providers`),
enhances one warm-up photo (TensorRT builds its engines here: timed separately), then
``--count`` synthetic photos of ``--megapixels`` MP in memory (no files, no decode or
encode), and reports MP/s, which providers the session really runs on, and how far its
output is from the CPU's (max |difference| in 8-bit steps, PSNR): the check that the INT8
QDQ graph runs on that provider.  A provider that cannot be used here is reported as
``unavailable`` with the reason, never a crash.  Results are printed as a table and, with
``--json PATH``, written as JSON after each provider (a run cut short keeps what it had).

Needs only numpy, onnxruntime (or onnxruntime-gpu) and this source tree::

    PYTHONPATH=src python bench/provider.py --json /tmp/providers.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

import onnxruntime as ort

from photoenhance.infer.enhancer import Enhancer
from photoenhance.infer.inference_config import InferenceConfig


def _photo(megapixels: float, seed: int) -> np.ndarray:
    """A smooth 4:3 float32 RGB scene with noise (what a phone photo looks like to the net)."""
    w = round((megapixels * 1e6 * 4 / 3) ** 0.5 / 8) * 8
    h = round(w * 3 / 4 / 8) * 8
    rng = np.random.default_rng(seed)
    x = np.linspace(0, 1, w, dtype=np.float32)[None, :]
    y = np.linspace(0, 1, h, dtype=np.float32)[:, None]
    img = np.empty((h, w, 3), np.float32)
    for ch in range(3):
        a, b, c = rng.random(3, dtype=np.float32)
        img[..., ch] = 0.5 + 0.3 * np.sin(x * 9 * a + y * 7 * b + 6 * c) + 0.1 * np.sin(40 * x * y + ch)
    img += rng.normal(0, 0.02, img.shape).astype(np.float32)
    return np.clip(np.round(img * 255) / 255, 0, 1).astype(np.float32)


def _gpu_name() -> str | None:
    try:
        out = subprocess.run(
            ["nvidia-smi", "--query-gpu=name,driver_version", "--format=csv,noheader"],
            capture_output=True, text=True, timeout=20, check=True,
        )  # fmt: skip
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def measure(
    provider: str, photos: list[np.ndarray], reference: np.ndarray | None, args: argparse.Namespace
) -> dict[str, Any]:
    row: dict[str, Any] = {"provider": provider}
    t0 = time.perf_counter()
    try:
        config = InferenceConfig(model=args.model, tile=args.tile, threads=args.threads, provider=provider)
        enhancer = Enhancer(config)
    except Exception as exc:  # ProviderUnavailableError, ModelLoadError, onnxruntime errors
        row["status"] = "unavailable"
        row["reason"] = " ".join(f"{type(exc).__name__}: {exc}".split())[:500]
        return row
    row["load_seconds"] = round(time.perf_counter() - t0, 3)
    row["session_providers"] = enhancer.session.get_providers()
    try:
        warm = photos[0].copy()
        t = time.perf_counter()
        enhancer.enhance(warm, out=warm)
        row["first_photo_seconds"] = round(time.perf_counter() - t, 3)
        if reference is not None:
            diff = np.abs(np.clip(warm, 0, 1) - np.clip(reference, 0, 1)) * 255
            mse = float(np.mean(diff.astype(np.float64) ** 2))
            row["max_diff_vs_cpu_8bit_steps"] = round(float(diff.max()), 3)
            row["psnr_vs_cpu_db"] = round(10 * np.log10(255**2 / mse), 2) if mse > 0 else float("inf")
        seconds = 0.0
        mp = 0.0
        for _ in range(args.rounds):
            for p in photos:
                buf = p.copy()
                t = time.perf_counter()
                enhancer.enhance(buf, out=buf)
                seconds += time.perf_counter() - t
                mp += p.shape[0] * p.shape[1] / 1e6
        row.update(status="ok", megapixels=round(mp, 3), seconds=round(seconds, 3),
                   mp_per_s=round(mp / seconds, 3))  # fmt: skip
        row["_output"] = warm
    except Exception as exc:
        row["status"] = "failed"
        row["reason"] = " ".join(f"{type(exc).__name__}: {exc}".split())[:500]
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--providers", nargs="+", default=["cpu", "cuda", "tensorrt"])
    parser.add_argument("--count", type=int, default=4, help="photos per round (default 4)")
    parser.add_argument("--rounds", type=int, default=2, help="timed rounds (default 2)")
    parser.add_argument("--megapixels", type=float, default=12.0)
    parser.add_argument("--tile", type=int, default=2048)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--json", type=Path, help="write the results here (JSON)")
    args = parser.parse_args(argv)
    photos = [_photo(args.megapixels, seed) for seed in range(args.count)]
    report: dict[str, Any] = {
        "python": platform.python_version(),
        "onnxruntime": ort.__version__,
        "available_providers": ort.get_available_providers(),
        "cpu_count": os.cpu_count(),
        "gpu": _gpu_name(),
        "photo_megapixels": round(photos[0].shape[0] * photos[0].shape[1] / 1e6, 3),
        "tile": args.tile,
        "results": [],
    }
    reference = None
    for provider in args.providers:
        row = measure(provider, photos, reference, args)
        output = row.pop("_output", None)
        if provider == "cpu" and output is not None:
            reference = output
        report["results"].append(row)
        print(json.dumps(row), flush=True)
        if args.json is not None:
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print("| provider | status | MP/s | first photo (s) | max diff vs CPU | PSNR vs CPU |")
    print("|---|---|---:|---:|---:|---:|")
    for r in report["results"]:
        print(
            f"| {r['provider']} | {r['status']} | {r.get('mp_per_s', '')} | "
            f"{r.get('first_photo_seconds', '')} | {r.get('max_diff_vs_cpu_8bit_steps', '')} | "
            f"{r.get('psnr_vs_cpu_db', '')} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
