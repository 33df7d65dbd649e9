"""The quality/speed frontier of model 0.3 (issue 18): one table and one plot from the
cross-validated studies, the colour maps fitted in the same folds, and ``bench/speed.py``.

    python bench/frontier.py --colour-maps runs/study4     # fit the maps per fold (numpy)
    python bench/frontier.py                               # table + plot → BENCHMARKS.md

Rows, all on the same 189 test pairs (3 folds by name hash; every pair a test pair once):
model 0.1's recipe (study 1, first row), model 0.2's recipe (study 3, id 0.3, best),
the affine and quadratic colour maps (least squares on each run's training folds), the
frontier recipes of study 4 and the lead's FP32 reference net (``bench/reference_net.py``).
Paired differences (mean ± 95 % interval) against the quadratic map and against model
0.1's recipe. Speed: 12 MP INT8 MP/s of each architecture from the last
``bench/speed.py --frontier`` run (``bench/results/speed.json``), same run for all.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, md_table, write_section

RESULTS = ROOT / "bench" / "results"


def colour_maps(out: Path, data: Path, photo_max_side: int = 1024) -> list[dict[str, Any]]:
    """Affine and quadratic colour maps fitted on each fold's training pairs, scored
    like the networks (``recipe.measure``)."""
    from recipe import _load_rgb, measure, prepare

    from photoenhance.baselines import fit_colour_map

    layout = prepare(data, out)
    photos = [_load_rgb(p, photo_max_side) for p in layout["holdout_photos"] + layout["phone_photos"]]
    rows = []
    for k, fold in enumerate(layout["folds"]):
        train = [r for j, f in enumerate(layout["folds"]) if j != k for r in f["test"]]
        xs = [_load_rgb(r[1], 10**6) for r in train]
        ys = [_load_rgb(r[2], 10**6) for r in train]
        for degree, name in ((1, "colour map, affine 3x4"), (2, "colour map, quadratic 10x3")):
            cm = fit_colour_map(xs, ys, degree=degree)
            rows.append({"name": name, "fold": k, "pairs": [r[0] for r in fold["test"]],
                         "last": measure(lambda imgs, cm=cm: [cm.apply(a) for a in imgs], fold["test"], photos)})
    return rows


def _recipe_rows(res: dict[str, Any], recipe: int, state: str = "last", name: str | None = None
                 ) -> list[dict[str, Any]]:
    """The per-fold rows of one recipe of a study's results (named as the recipe unless
    ``name`` is given), scored in ``state``."""
    name = name or res["recipes"][recipe]["name"]
    return [{"name": name, "fold": s["fold"], "pairs": s["pairs"], "last": s[state]}
            for s in res["scores"] if s["recipe"] == recipe]


def _rows_of_study(path: Path, recipe: int, state: str, name: str) -> list[dict[str, Any]]:
    return _recipe_rows(json.loads(path.read_text()), recipe, state, name)


def collect() -> tuple[list[tuple[str, dict[str, Any]]], dict[str, Any]]:
    """``[(row name, {"arch": size or None, "folds": [...]})]`` in table order."""
    groups: dict[str, dict[str, Any]] = {}

    def add(rows: list[dict[str, Any]], arch: str | None) -> None:
        for r in rows:
            groups.setdefault(r["name"], {"arch": arch, "folds": []})["folds"].append(r)

    add(_rows_of_study(RESULTS / "recipe-study-1.json", 0, "best", "model 0.1's recipe (study 1)"),
        "small, residual head")
    add(_rows_of_study(RESULTS / "recipe-study-3.json", 1, "best", "model 0.2's recipe (study 3, id 0.3)"),
        "small")
    add(json.loads((RESULTS / "recipe-study-4-colour-maps.json").read_text()), None)
    res4 = json.loads((RESULTS / "recipe-study-4.json").read_text())
    for path in (RESULTS / "recipe-study-4.json", RESULTS / "recipe-study-4-film.json"):
        res = json.loads(path.read_text())
        for ri, r in enumerate(res["recipes"]):
            add(_recipe_rows(res, ri), r["size"])
    ref = RESULTS / "recipe-study-4-reference.json"
    if ref.is_file():
        add(json.loads(ref.read_text()), None)
    # studies 5 and 6 (the statistics input), one file per study and seed
    for path in sorted(RESULTS.glob("recipe-study-[56]*.json")):
        res = json.loads(path.read_text())
        for ri, r in enumerate(res["recipes"]):
            add(_recipe_rows(res, ri, name=f"{r['name']}, seed {res['seed']}"), r["size"])
    return list(groups.items()), res4


def _cat(folds: list[dict[str, Any]], key: str) -> tuple[list[str], np.ndarray]:
    folds = sorted(folds, key=lambda f: f["fold"])
    names = [n for f in folds for n in f["pairs"]]
    return names, np.concatenate([f["last"][key] for f in folds])


def _paired(a: tuple[list[str], np.ndarray], b: tuple[list[str], np.ndarray]) -> str:
    if len(a[0]) != len(b[0]) or set(a[0]) != set(b[0]):
        return "-"
    idx = {n: i for i, n in enumerate(b[0])}
    d = a[1] - b[1][[idx[n] for n in a[0]]]
    half = 1.96 * d.std(ddof=1) / math.sqrt(len(d))
    return f"{d.mean():+.2f} ± {half:.2f}"


def speeds() -> tuple[dict[str, float], dict[str, Any]]:
    """12 MP INT8 MP/s per architecture from the last speed run."""
    path = RESULTS / "speed.json"
    if not path.is_file():
        return {}, {}
    raw = json.loads(path.read_text())
    out = {}
    for r in raw["results"]:
        if r["input"] != "12 MP":
            continue
        if r["engine"] == "ort-int8":
            out[raw["default_size"]] = r["mp_s"]
        elif r["engine"] == "ort-int8, model 0.1":
            out["small, residual head"] = r["mp_s"]
        elif r["engine"] == "ort-int8, model 0.2":
            out["small"] = r["mp_s"]
        elif r["engine"].startswith("ort-int8, ") and "model" not in r["engine"]:
            out[r["engine"].removeprefix("ort-int8, ")] = r["mp_s"]
    return out, raw


def render(plot: Path | None) -> str:
    groups, res4 = collect()
    mp_s, raw = speeds()
    by_name = dict(groups)
    quad = _cat(by_name["colour map, quadratic 10x3"]["folds"], "psnr")
    old = _cat(by_name["model 0.1's recipe (study 1)"]["folds"], "psnr")
    old2 = _cat(by_name["model 0.2's recipe (study 3, id 0.3)"]["folds"], "psnr")
    old2_dnh = _cat(by_name["model 0.2's recipe (study 3, id 0.3)"]["folds"], "dnh_psnr")
    rows, points = [], []
    for name, g in groups:
        folds = g["folds"]
        if len(folds) < 3:
            continue
        p = _cat(folds, "psnr")
        s = _cat(folds, "ssim")[1]
        dnh_named = _cat(folds, "dnh_psnr")
        dnh = dnh_named[1]
        ph = [f["last"]["photos"] for f in folds]
        clip_max = max(max(f["last"]["per_photo_clip"]) for f in folds)
        arch = g["arch"]
        macs = raw.get("macs_per_mp", {}).get(arch.split(",")[0]) if arch else None
        speed = mp_s.get(arch) if arch else None
        # model 0.2's and 0.1's recipes share the `small` architecture: one speed for both
        rows.append([
            name, arch or "-", f"{macs / 1e9:.1f}" if macs else "-", f"{speed:.1f}" if speed else "-",
            f"{p[1].mean():.2f}", _paired(p, quad), _paired(p, old), _paired(p, old2), f"{s.mean():.4f}",
            f"{dnh.mean():.1f}", _paired(dnh_named, old2_dnh),
            f"{100 * np.mean([x['new_clipping'] for x in ph]):.2f} (max {100 * clip_max:.1f})",
            f"{np.mean([x['luma_shift'] for x in ph]):+.1f}",
            f"{100 * np.mean([x['saturation_change'] for x in ph]):+.1f}",
            f"{np.mean([x['noise_gain'] for x in ph]):.2f}",
        ])
        if speed:
            points.append((name, speed, float(p[1].mean()), float(dnh.mean())))
    if plot is not None and points:
        _plot(points, float(quad[1].mean()), plot)
    return "\n".join([
        "## Model 0.3: the quality/speed frontier (`bench/frontier.py`)",
        "",
        f"3-fold cross-validation over the {len(quad[0])} unflagged DPED pairs (folds by name hash, the "
        "same test pairs for every row; FP32 networks, the last weights unless said). "
        f"Frontier runs: {res4['steps']} steps, seed {res4['seed']}, on the 2-core CPU of the speed run "
        "(2 worker processes, one torch thread each). "
        "Harm columns on the held-out good photos (20 % of photos/ never trained on + the two "
        "full-size iPhone photos). ΔPSNR: paired per-pair differences, mean ± 95 % interval. "
        + (f"Speed: 12 MP INT8 MP/s from `bench/speed.py --frontier` ({raw['date']}, {raw['machine']}; "
           "one run, every architecture in the same rounds; calibrated random weights for "
           "untrained sizes)." if raw else "No speed run yet."),
        "",
        md_table(["row", "architecture", "GMAC/MP", "12 MP INT8 MP/s", "DPED PSNR", "Δ vs quadratic map",
                  "Δ vs 0.1's recipe", "Δ vs 0.2's recipe", "SSIM", "do-no-harm (dB)",
                  "Δ do-no-harm vs 0.2's", "new clipping %", "luma shift",
                  "saturation %", "noise gain"], rows),
        "",
        "![frontier](bench/results/frontier.png)" if plot is not None and points else "",
    ])


def _plot(points: list[tuple[str, float, float, float]], quad: float, path: Path) -> None:
    """Scatter of 12 MP INT8 MP/s vs CV PSNR (Pillow, no plotting dependency), with the
    quadratic map's PSNR and the target (map + 0.8 dB) as horizontal lines."""
    from PIL import Image, ImageDraw

    w, h, m = 900, 520, 70
    img = Image.new("RGB", (w, h), "white")
    d = ImageDraw.Draw(img)
    xs = [p[1] for p in points]
    ys = [p[2] for p in points] + [quad, quad + 0.8]
    x0, x1 = min(xs) - 1.0, max(xs) + 6.0  # room for the labels
    y0, y1 = min(ys) - 0.15, max(ys) + 0.15

    def at(x: float, y: float) -> tuple[float, float]:
        return (m + (x - x0) / (x1 - x0) * (w - 2 * m), h - m - (y - y0) / (y1 - y0) * (h - 2 * m))

    d.rectangle([m, m, w - m, h - m], outline="black")
    for k in range(6):
        yv = y0 + (y1 - y0) * k / 5
        d.text((8, at(x0, yv)[1] - 6), f"{yv:.2f}", fill="black")
        xv = x0 + (x1 - x0) * k / 5
        d.text((at(xv, y0)[0] - 10, h - m + 8), f"{xv:.1f}", fill="black")
    for yv, colour, label in ((quad, "grey", "quadratic colour map (CV)"),
                              (quad + 0.8, "red", "target: map + 0.8 dB")):
        yy = at(x0, yv)[1]
        d.line([m, yy, w - m, yy], fill=colour, width=1)
        d.text((m + 6, yy - 14), label, fill=colour)
    for name, speed, psnr_, dnh in points:
        x, y = at(speed, psnr_)
        d.ellipse([x - 5, y - 5, x + 5, y + 5], fill="navy")
        label = ", ".join(p for p in name.split(", ") if not p.startswith(("lr ", "last", "(study")))
        d.text((x + 8, y - 6), f"{label} (do-no-harm {dnh:.1f} dB)", fill="navy")
    d.text((m, h - 30), "x: 12 MP INT8 throughput, MP/s (onnxruntime, one speed.py run)", fill="black")
    d.text((m, 20), "y: DPED PSNR, 3-fold CV over 189 pairs (dB)", fill="black")
    img.save(path)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--study", type=Path, default=ROOT / "runs" / "study4",
                    help="the folds laid out by bench/recipe.py (for --colour-maps)")
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--colour-maps", action="store_true", help="fit and score the colour maps per fold")
    ap.add_argument("--no-write", action="store_true")
    a = ap.parse_args()
    if a.colour_maps:
        rows = colour_maps(a.study, a.data)
        (RESULTS / "recipe-study-4-colour-maps.json").write_text(json.dumps(rows))
        for r in rows:
            print(r["name"], r["fold"], f"{np.mean(r['last']['psnr']):.2f}")
        return
    text = render(None if a.no_write else RESULTS / "frontier.png")
    print(text)
    if not a.no_write:
        write_section("frontier", text)


if __name__ == "__main__":
    main()
