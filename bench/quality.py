"""Quality benchmark (not a test): PSNR/SSIM on the fixed DPED validation split of
identity, least-squares colour maps, FP32, QAT-INT8 and PTQ-INT8 (all through
onnxruntime), plus PSNR on fixed synthetic validation pairs — and the harm measures
(:mod:`photoenhance.harm`): do-no-harm on the DSLR targets, new clipping, luma shift,
saturation and noise on the phone inputs, and the same target-free measures on good
photos never trained on (the held-out 20 % of ``photos/``) and the two full-size iPhone
photos. The previous bundled model (``bench/results/model-0.1/``) runs beside the new
one, with paired intervals.

    python bench/quality.py [--data ../shared/data] [--model weights/…-int8.onnx]

The split is the one training uses (``split_pairs(unflagged, 0.15, seed=0)``); the colour
maps and the PTQ calibration use the training split only.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, machine, md_table, photo_split, write_section

from photoenhance.baselines import fit_colour_map
from photoenhance.data.pairs import find_pairs, load_pair, read_flags, split_pairs
from photoenhance.data.synthetic import SyntheticPairSource
from photoenhance.evaluate import fp32_sibling
from photoenhance.harm import do_no_harm, harm_measures, summarise
from photoenhance.infer.enhancer import Enhancer
from photoenhance.infer.inference_config import InferenceConfig
from photoenhance.infer.model_file import bundled_model_path
from photoenhance.io import read_rgb
from photoenhance.metrics import psnr, ssim
from photoenhance.quant.ptq import calibration_feeds, quantize_ptq

VAL_FRACTION, SPLIT_SEED = 0.15, 0
N_SYNTHETIC = 64
PREVIOUS = ROOT / "bench" / "results" / "model-0.1" / "photoenhance-small-int8.onnx"
OLD = "0.1 QAT-INT8 (model 0.1)"
PREVIOUS_02 = ROOT / "bench" / "results" / "model-0.2" / "photoenhance-small-int8.onnx"
OLD2 = "0.2 QAT-INT8 (model 0.2)"
NEW = "QAT-INT8 (onnxruntime)"


def _per_pair(outputs, targets) -> tuple[np.ndarray, np.ndarray]:  # type: ignore[no-untyped-def]
    """Per-pair PSNR (capped at 100 dB) and SSIM of ``outputs`` against ``targets``."""
    pairs = list(zip(outputs, targets, strict=True))
    return (np.array([min(psnr(y, b), 100.0) for y, b in pairs]),
            np.array([ssim(y, b) for y, b in pairs]))


def _scores(outputs, targets) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """Mean PSNR (capped at 100 dB) and SSIM of ``outputs`` against ``targets``."""
    ps, ss = _per_pair(outputs, targets)
    return float(np.mean(ps)), float(np.mean(ss))


def _paired(a: np.ndarray, b: np.ndarray, digits: int) -> str:
    """Mean of the per-pair differences ``a - b`` ± the half-width of its 95 % interval
    (1.96 standard errors): a difference inside it is noise for this split."""
    d = a - b
    half = 1.96 * d.std(ddof=1) / np.sqrt(len(d))
    return f"{d.mean():+.{digits}f} ± {half:.{digits}f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--model", type=Path, default=None, help="INT8 model (default: bundled)")
    ap.add_argument("--fp32", type=Path, default=None)
    ap.add_argument("--previous", type=Path, default=PREVIOUS, help="model to compare with")
    ap.add_argument("--previous-02", type=Path, default=PREVIOUS_02, help="a second model to compare with")
    ap.add_argument("--trained-on-split", action="store_true",
                    help="the model was trained on all pairs, the split included (model 0.3): say so")
    ap.add_argument("--no-write", action="store_true")
    a = ap.parse_args()
    dped = a.data / "dped-iphone"
    pairset = find_pairs(dped, exclude=read_flags(dped / "flags.csv"))
    train, val = split_pairs(pairset.pairs, VAL_FRACTION, SPLIT_SEED)
    tr = [load_pair(p) for p in train]
    va = [load_pair(p) for p in val]
    int8 = a.model or bundled_model_path()
    fp32 = a.fp32 or fp32_sibling(int8)
    assert fp32 is not None, "no FP32 model next to the INT8 one"

    src = SyntheticPairSource(a.data / "photos", 96, np.random.default_rng(2024))
    syn = [src.sample() for _ in range(N_SYNTHETIC)]  # full (tone + detail) degradation model

    rows = []
    per_pair: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        ptq = quantize_ptq(fp32, Path(tmp) / "ptq.onnx", calibration_feeds([x for x, _ in tr[:64]]))
        engines = {
            "FP32 (onnxruntime)": Enhancer(InferenceConfig(model=fp32, tile=4096)),
            "QAT-INT8 (onnxruntime)": Enhancer(InferenceConfig(model=int8, tile=4096)),
            "PTQ-INT8 (quantize_static)": Enhancer(InferenceConfig(model=ptq, tile=4096)),
            OLD: Enhancer(InferenceConfig(model=a.previous, tile=4096)),
            **({OLD2: Enhancer(InferenceConfig(model=a.previous_02, tile=4096))}
               if a.previous_02 is not None and a.previous_02.is_file() else {}),
        }
        cm1 = fit_colour_map([x for x, _ in tr], [y for _, y in tr], degree=1)
        cm2 = fit_colour_map([x for x, _ in tr], [y for _, y in tr], degree=2)
        methods = [
            ("identity", lambda x: x),
            ("colour map, affine 3x4 (LSQ on train split)", cm1.apply),
            ("colour map, quadratic 10x3 (LSQ on train split)", cm2.apply),
            *[(k, e.enhance) for k, e in engines.items()],
        ]
        fp32_out = [engines["FP32 (onnxruntime)"].enhance(x) for x, _ in va]
        _, held = photo_split(a.data / "photos")
        good = [(p.name, read_rgb(p)) for p in held]
        good += [(p.name, read_rgb(p)) for p in sorted((a.data / "phone-photos").glob("*.jpg"))]
        harm_rows, dnh, clip = [], {}, {}
        for name, fn in methods:
            out = [fn(x) for x, _ in va]  # each method runs once per pair
            per_pair[name] = _per_pair(out, [y for _, y in va])
            p, s = float(np.mean(per_pair[name][0])), float(np.mean(per_pair[name][1]))
            sp, _ = _scores([fn(x) for x, _ in syn], [y for _, y in syn])
            # fidelity of the deployment: PSNR of this method's output against the FP32 output
            fid = float(np.mean([min(psnr(y, f), 100.0) for y, f in zip(out, fp32_out, strict=True)]))
            keep = [do_no_harm(y, fn(y)) for _, y in va]
            dnh[name] = np.array([k[0] for k in keep])
            ph = summarise([harm_measures(x, o) for (x, _), o in zip(va, out, strict=True)])
            rows.append([name, f"{p:.3f}", f"{s:.4f}", f"{sp:.2f}", f"{fid:.1f}",
                         f"{dnh[name].mean():.1f} / {np.mean([k[1] for k in keep]):.3f}",
                         f"{100 * ph.new_clipping:.2f}", f"{ph.luma_shift:+.1f}",
                         f"{100 * ph.saturation_change:+.1f}", f"{ph.noise_gain:.2f}"])
            print(f"{name:48s} DPED val PSNR {p:6.3f} SSIM {s:.4f} | synthetic PSNR {sp:6.2f} | "
                  f"vs FP32 {fid:5.1f} dB | do-no-harm {dnh[name].mean():.1f} dB", flush=True)
            if name == "identity":
                continue
            gm = [harm_measures(x, np.clip(fn(x), 0, 1)) for _, x in good]
            clip[name] = np.array([m.new_clipping for m in gm])
            g = summarise(gm)
            harm_rows.append([name, f"{100 * g.new_clipping:.2f}", f"{100 * g.max_new_clipping:.1f}",
                              str(g.photos_over_clip_limit), f"{100 * g.crushed_shadows:.2f}",
                              f"{g.luma_shift:+.1f}", f"{100 * g.saturation_change:+.1f}",
                              f"{g.noise_gain:.2f}"])
    fp, qp = float(rows[3][1]), float(rows[4][1])
    text = "\n".join([
        "## Quality (`bench/quality.py`)",
        "",
        f"Command: `python bench/quality.py` — {time.strftime('%Y-%m-%d')}, "
        f"{time.perf_counter() - t0:.0f} s. Machine: {machine()}.",
        "",
        f"DPED iPhone→Canon validation split: {len(va)} of the {len(pairset.pairs)} unflagged pairs "
        f"(`split_pairs(…, {VAL_FRACTION}, seed={SPLIT_SEED})`: {', '.join(p.name for p in val)}); "
        + ("**never used in training by models 0.1 and 0.2; model 0.3 (the QAT/FP32/PTQ rows) was "
           "trained on all 189 usable pairs, these 28 included, so its DPED columns here are "
           "training-set numbers** — its held-out DPED fidelity is the cross-validation of "
           "'Model 0.3: the quality/speed frontier'. "
           if a.trained_on_split else "never used in training. ")
        + f"Mean per-pair PSNR (RGB, [0,1]) and SSIM (Gaussian σ=1.5). "
        f"Synthetic: {N_SYNTHETIC} fixed 96 px pairs from `photos/` with the full degradation model "
        f"(seed 2024). Model: `{Path(int8).name}`.",
        "",
        md_table(["method", "DPED val PSNR (dB)", "DPED val SSIM", "synthetic PSNR (dB)",
                  "PSNR vs FP32 output (dB)", "do-no-harm PSNR / SSIM", "new clipping %",
                  "luma shift", "saturation %", "noise gain"], rows),
        "",
        "Do-no-harm: each method run on the DSLR targets of the validation pairs, output vs "
        "input (a good enhancer leaves a good photo nearly alone: ≥ 30 dB). The last four columns "
        "are the target-free measures on the iPhone inputs of the validation pairs: new clipping "
        "(brightest channel ≥ 254 after, < 250 before; % of pixels), mean luma shift (8-bit units), "
        "saturation change (mean max−min channel, %), noise gain (high-pass RMS in flat regions, "
        "after / before).",
        "",
        f"Good photos never trained on by the new model ({len(good)}: the held-out 20 % of `photos/` (model 0.1 saw them as clean targets of its synthetic pre-training) — "
        f"{', '.join(n for n, _ in good[:-2])} — and the two full-size iPhone 3GS photos), full "
        "resolution, target-free measures (max: the worst photo; > 2 %: photos with more than 2 % "
        "of their pixels newly clipped):",
        "",
        md_table(["method", "new clipping %", "max %", "photos > 2 %", "crushed %", "luma shift",
                  "saturation %", "noise gain"], harm_rows),
        "",
        f"QAT-INT8 − FP32 on DPED val: **{qp - fp:+.3f} dB** (the paper's INT8 model loses 1.1 dB); "
        f"QAT-INT8 − PTQ-INT8: {qp - float(rows[5][1]):+.3f} dB, SSIM "
        f"{float(rows[4][2]) - float(rows[5][2]):+.4f}. The 'PSNR vs FP32 output' column is the deployment "
        "fidelity: how close each INT8 model's output is to the FP32 model's.",
        "",
        "Paired per-pair differences on the validation split (mean ± 95 % interval half-width):",
        "",
        md_table(["comparison", "PSNR (dB)", "SSIM"], [
            [f"{a_} − {b_}", _paired(per_pair[a_][0], per_pair[b_][0], 3),
             _paired(per_pair[a_][1], per_pair[b_][1], 4)]
            for a_, b_ in (
                (NEW, OLD),
                *(((NEW, OLD2),) if OLD2 in per_pair else ()),
                ("QAT-INT8 (onnxruntime)", "PTQ-INT8 (quantize_static)"),
                ("QAT-INT8 (onnxruntime)", "FP32 (onnxruntime)"),
                ("QAT-INT8 (onnxruntime)", "colour map, quadratic 10x3 (LSQ on train split)"),
                ("QAT-INT8 (onnxruntime)", "identity"),
            )
        ]),
        "",
        f"New − previous model, paired: do-no-harm {_paired(dnh[NEW], dnh[OLD], 2)} dB (per DSLR "
        f"target); new clipping on the good photos {_paired(100 * clip[NEW], 100 * clip[OLD], 2)} "
        "percentage points (per photo).",
    ])
    print()
    print(text)
    if not a.no_write:
        write_section("quality", text)


if __name__ == "__main__":
    main()
