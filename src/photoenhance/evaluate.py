"""``photoenhance eval``: PSNR/SSIM of identity, FP32, QAT-INT8 and PTQ-INT8 on pairs,
and what each model does to photos that need no help.

Besides fidelity to the DSLR targets, every row carries the harm measures of
:mod:`photoenhance.harm`: *do-no-harm* (the model run on the DSLR targets themselves:
PSNR/SSIM of output vs input — a good enhancer leaves a good photo nearly alone) and the
target-free measures of the phone inputs (new clipping, crushed shadows, luma shift,
saturation change, noise gain). :func:`evaluate_photos` computes the target-free measures
on any folder of photos (``photoenhance eval --photos DIR``).

No torch: every model runs through onnxruntime (:class:`~photoenhance.infer.enhancer.Enhancer`).
Per pair, the model sees the phone image at its own size with its own context thumbnail
(as in training); PSNR is on RGB in [0, 1], SSIM with a Gaussian window σ=1.5 per channel
(:mod:`photoenhance.metrics`). Means are over pairs.

PTQ-INT8 is ``quantize_static`` of the FP32 model, calibrated on data that is *not* the
evaluation set: ``calib`` (a folder of photos, or a pairs root whose inputs are used), or
else a fixed 25 % of the given pairs (by name hash), in which case every model is
evaluated on the remaining 75 %.
"""

from __future__ import annotations

import csv
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from photoenhance.data.pairs import (
    PairDataError,
    find_pairs,
    list_images,
    load_pair,
    read_flags,
    split_pairs,
)
from photoenhance.harm import HarmMeasures, HarmSummary, do_no_harm, harm_measures, summarise
from photoenhance.infer.enhancer import Enhancer
from photoenhance.infer.inference_config import InferenceConfig
from photoenhance.infer.model_file import ModelLoadError, bundled_model_path
from photoenhance.io import ImageReadError, read_rgb, walk_inputs
from photoenhance.metrics import psnr, ssim

CALIB_FRACTION = 0.25
MAX_CALIB_IMAGES = 64


class EvalError(ValueError):
    """Evaluation cannot run: one-line message."""


@dataclass(frozen=True)
class EvalConfig:
    pairs: Path
    model: Path | None = None  # INT8 (QAT) model; None = bundled
    fp32: Path | None = None  # None = sibling "model-fp32.onnx" / bundled FP32
    calib: Path | None = None
    ptq: bool = True
    resize_target: bool = False
    exclude_flagged: bool = True
    threads: int | None = None


@dataclass(frozen=True)
class EvalRow:
    name: str
    psnr: float
    ssim: float
    pairs: int
    seconds: float
    model: str | None
    dnh_psnr: float = float("nan")  # do-no-harm: the model on the DSLR targets, output vs input
    dnh_ssim: float = float("nan")
    harm: HarmSummary | None = None  # target-free measures on the phone inputs


@dataclass(frozen=True)
class EvalResult:
    rows: tuple[EvalRow, ...]
    pair_names: tuple[str, ...]
    # (model, pair, psnr, ssim, do-no-harm psnr, do-no-harm ssim)
    per_pair: tuple[tuple[str, str, float, float, float, float], ...]
    calibration: str
    problems: tuple[str, ...]
    notes: tuple[str, ...]


def fp32_sibling(model: Path) -> Path | None:
    """The FP32 model that belongs to an INT8 one (``model.onnx`` → ``model-fp32.onnx``,
    ``photoenhance-int8.onnx`` → ``photoenhance-fp32.onnx``)."""
    name = model.name
    candidates = [name.replace("-int8", "-fp32"), model.stem + "-fp32" + model.suffix]
    for c in candidates:
        p = model.with_name(c)
        if c != name and p.is_file():
            return p
    return None


def _calibration_images(cfg: EvalConfig, calib_pairs: list) -> tuple[list[np.ndarray], str]:
    if cfg.calib is not None:
        root = Path(cfg.calib)
        try:
            pairset = find_pairs(root)
            paths = [p.input_path for p in pairset.pairs]
            desc = f"inputs of {len(paths)} pairs in {root}"
        except PairDataError:
            paths = list(list_images(root)) if root.is_dir() else []
            desc = f"{len(paths)} images in {root}"
        if not paths:
            raise EvalError(f"{root}: no calibration images")
        images = []
        for p in paths[:MAX_CALIB_IMAGES]:
            try:
                images.append(read_rgb(p))
            except ImageReadError:
                continue
        return images, desc
    images = [load_pair(p, cfg.resize_target)[0] for p in calib_pairs[:MAX_CALIB_IMAGES]]
    return images, f"{len(images)} pairs held out of the evaluation ({CALIB_FRACTION:.0%} by name hash)"


def evaluate(
    cfg: EvalConfig, progress: Callable[[str, int, int], None] | None = None
) -> EvalResult:
    """Run the comparison; see the module docstring."""
    root = Path(cfg.pairs)
    flags = root / "flags.csv"
    exclude = read_flags(flags) if cfg.exclude_flagged and flags.is_file() else frozenset()
    try:
        pairset = find_pairs(root, exclude=exclude)
    except PairDataError as exc:
        raise EvalError(str(exc)) from exc
    problems = list(pairset.problems)
    pairs = list(pairset.pairs)
    calib_pairs: list = []
    if cfg.ptq and cfg.calib is None:
        if len(pairs) < 4:
            raise EvalError(f"{root}: too few pairs to hold out a PTQ calibration set; give --calib")
        rest, held = split_pairs(pairs, CALIB_FRACTION, seed=7)
        pairs, calib_pairs = list(rest), list(held)

    data: list[tuple[str, np.ndarray, np.ndarray]] = []
    for p in pairs:
        try:
            a, b = load_pair(p, cfg.resize_target)
        except PairDataError as exc:
            problems.append(str(exc))
            continue
        data.append((p.name, a, b))
    if not data:
        raise EvalError(f"{root}: no usable pair ({len(problems)} problems)")

    int8 = Path(cfg.model) if cfg.model else bundled_model_path()
    fp32 = Path(cfg.fp32) if cfg.fp32 else fp32_sibling(int8)
    notes: list[str] = []
    models: list[tuple[str, Path | None]] = [("identity", None)]
    if fp32 is not None:
        models.append(("FP32", fp32))
    else:
        notes.append(f"no FP32 model next to {int8.name}: FP32 and PTQ rows skipped (use --fp32)")
    models.append(("QAT-INT8", int8))

    calibration = "-"
    with tempfile.TemporaryDirectory(prefix="photoenhance-eval-") as tmp:
        if cfg.ptq and fp32 is not None:
            from photoenhance.quant.ptq import PTQUnavailable, calibration_feeds, quantize_ptq

            images, calibration = _calibration_images(cfg, calib_pairs)
            try:
                ptq = quantize_ptq(fp32, Path(tmp) / "ptq.onnx", calibration_feeds(images))
                models.append(("PTQ-INT8", ptq))
            except PTQUnavailable as exc:
                notes.append(str(exc))
                calibration = f"PTQ skipped (the same pairs stay held out: {calibration})"
        rows, per_pair = [], []
        for name, path in models:
            t0 = time.perf_counter()
            enh = None
            if path is not None:
                try:
                    enh = Enhancer(InferenceConfig(model=path, threads=cfg.threads))
                except ModelLoadError as exc:
                    raise EvalError(str(exc)) from exc
            ps, ss, dp, ds, hm = [], [], [], [], []
            for i, (pname, a, b) in enumerate(data):
                y = a if enh is None else enh.enhance(a)
                p_, s_ = min(psnr(y, b), 100.0), ssim(y, b)
                d_p, d_s = do_no_harm(b, b if enh is None else enh.enhance(b))
                ps.append(p_)
                ss.append(s_)
                dp.append(d_p)
                ds.append(d_s)
                hm.append(harm_measures(a, y))
                per_pair.append((name, pname, p_, s_, d_p, d_s))
                if progress is not None:
                    progress(name, i + 1, len(data))
            shown = None if path is None else (str(path) if name != "PTQ-INT8" else "quantize_static(FP32)")
            rows.append(EvalRow(name, float(np.mean(ps)), float(np.mean(ss)), len(data),
                                time.perf_counter() - t0, shown, float(np.mean(dp)),
                                float(np.mean(ds)), summarise(hm)))
    return EvalResult(tuple(rows), tuple(n for n, _, _ in data), tuple(per_pair), calibration,
                      tuple(problems), tuple(notes))


def write_per_pair_csv(result: EvalResult, path: Path) -> None:
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["model", "pair", "psnr", "ssim", "dnh_psnr", "dnh_ssim"])
        for m, p, ps, ss, dp, ds in result.per_pair:
            w.writerow([m, p, f"{ps:.4f}", f"{ss:.5f}", f"{dp:.4f}", f"{ds:.5f}"])


@dataclass(frozen=True)
class PhotoEvalConfig:
    """``eval --photos``: the target-free measures of a model on any photos."""

    photos: tuple[Path, ...]  # files and/or folders (walked like ``run``'s inputs)
    model: Path | None = None  # None = bundled INT8
    recursive: bool = True
    threads: int | None = None


@dataclass(frozen=True)
class PhotoEvalRow:
    path: Path
    measures: HarmMeasures
    megapixels: float
    seconds: float


@dataclass(frozen=True)
class PhotoEvalResult:
    model: str
    rows: tuple[PhotoEvalRow, ...]
    summary: HarmSummary | None  # None when no photo could be measured
    errors: tuple[tuple[Path, str], ...]  # (file, one-line reason): unreadable, not found…


def evaluate_photos(
    cfg: PhotoEvalConfig,
    progress: Callable[[Path | None, int, int, float], None] | None = None,
) -> PhotoEvalResult:
    """Enhance each photo (not written anywhere) and measure what the model did to it:
    new clipping, crushed shadows, luma shift, saturation change, noise gain. A file that
    cannot be read is reported and skipped; the rest go on.

    ``progress(path, done, total, megapixels)`` is called before each photo (``path``
    the photo about to be measured, ``done`` those finished) and once at the end (``path``
    None); ``megapixels``: those measured so far."""
    model = Path(cfg.model) if cfg.model else bundled_model_path()
    try:
        enh = Enhancer(InferenceConfig(model=model, threads=cfg.threads))
    except ModelLoadError as exc:
        raise EvalError(str(exc)) from exc
    found = walk_inputs(list(cfg.photos), output_dir=None, recursive=cfg.recursive)
    errors: list[tuple[Path, str]] = [(p, why) for p, why in found.problems]
    if not found.files and not found.problems:
        raise EvalError(f"no photos found in {', '.join(str(p) for p in cfg.photos)}")
    rows: list[PhotoEvalRow] = []
    total = len(found.files)
    for i, f in enumerate(found.files):
        if progress is not None:
            progress(f.path, i, total, sum(r.megapixels for r in rows))
        t0 = time.perf_counter()
        try:
            x = read_rgb(f.path)
        except ImageReadError as exc:
            errors.append((f.path, exc.reason))
            continue
        y = enh.enhance(x)
        rows.append(PhotoEvalRow(f.path, harm_measures(x, y), x.shape[0] * x.shape[1] / 1e6,
                                 time.perf_counter() - t0))
    if progress is not None:
        progress(None, total, total, sum(r.megapixels for r in rows))
    summary = summarise([r.measures for r in rows]) if rows else None
    return PhotoEvalResult(str(model), tuple(rows), summary, tuple(errors))
