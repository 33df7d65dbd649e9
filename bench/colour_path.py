"""Issue 18 study: how strong can a per-photo colour path be?  (numpy, no network)

A *conditioned* colour map: the quadratic colour map's ten per-pixel features
``[r, g, b, 1, r², g², b², rg, rb, gb]`` each multiplied by ``[1, z]``, where ``z`` are
whole-photo statistics (per-channel mean, spread and percentiles, luma and saturation
histograms, a colour covariance; standardised on the training fold), fitted by ridge
regression over pixels.  It is what a context encoder that predicts a per-photo colour
transform could at best learn linearly from those statistics.  Rows (3-fold CV over all
189 usable pairs, the folds of ``bench/recipe.py``, scored by ``recipe.measure`` like the
networks): the fixed quadratic map, the per-pair oracle (each pair's own best quadratic
map: the headroom), and conditioned maps with and without identity examples (the
training pairs' DSLR targets and crops of the training photos mapped to themselves).

    python bench/colour_path.py --out runs/colour-path
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, md_table, write_section

from photoenhance.baselines import colour_features

RESULTS = ROOT / "bench" / "results"
PIXELS_PER_IMAGE = 2000


def photo_statistics(rgb: np.ndarray) -> np.ndarray:
    """Whole-photo statistics (51 numbers) the map is conditioned on."""
    p = rgb.reshape(-1, 3).astype(np.float64)
    luma = p.mean(1)
    sat = p.max(1) - p.min(1)
    parts = [p.mean(0), p.std(0), *np.percentile(p, (2, 10, 25, 50, 75, 90, 98), axis=0)]
    parts += [[luma.mean(), luma.std(), sat.mean()], np.cov(p.T)[np.triu_indices(3)]]
    parts += [
        np.histogram(luma, 8, (0, 1))[0] / len(luma),
        np.histogram(sat, 4, (0, 1))[0] / len(luma),
    ]
    parts += [np.log(p + 1e-3).mean(0)]
    return np.concatenate([np.ravel(v) for v in parts])


HINGES = np.linspace(0.05, 0.95, 10)


def graph_statistics(rgb: np.ndarray) -> np.ndarray:
    """Whole-photo statistics (56 numbers) the INT8 graph can compute exactly as it is:
    means over the photo (GlobalAveragePool) of per-pixel 1x1-conv / ReLU / Mul terms —
    soft histograms ``mean(relu(c - t))`` of r, g, b and luma at 10 thresholds, the channel
    means, the second moments, and the six one-sided chroma differences.  No percentiles,
    sorting or max/min over the photo."""
    p = rgb.reshape(-1, 3).astype(np.float64)
    luma = p @ np.array([0.299, 0.587, 0.114])
    chans = np.concatenate([p, luma[:, None]], 1)
    r, g, b = p[:, 0], p[:, 1], p[:, 2]
    parts = [np.maximum(chans[:, :, None] - HINGES, 0).mean(0).ravel(), chans.mean(0)]
    parts += [np.array([(r * r).mean(), (g * g).mean(), (b * b).mean(),
                        (r * g).mean(), (r * b).mean(), (g * b).mean()])]  # fmt: skip
    diffs = [r - g, g - r, b - g, g - b, r - b, b - r]
    parts += [np.array([np.maximum(d, 0).mean() for d in diffs])]
    return np.concatenate(parts)


def statistics_without_percentiles(rgb: np.ndarray) -> np.ndarray:
    """:func:`photo_statistics` less its 21 percentiles (an ablation: 18 numbers)."""
    z = photo_statistics(rgb)
    return np.r_[z[:6], z[27:]]


STATISTICS = {
    "basic": photo_statistics,
    "graph": graph_statistics,
    "no-percentiles": statistics_without_percentiles,
}


@dataclass(frozen=True)
class ConditionedMap:
    """``y = Σ_j f_j(x) · (W_j0 + Σ_k z_k W_jk)``: a colour map whose 30 coefficients are
    a linear function of the photo's standardised statistics ``z``."""

    weights: np.ndarray  # (10 * (1 + n_stats), 3)
    mean: np.ndarray
    scale: np.ndarray
    kind: str = "basic"  # which STATISTICS

    def apply(self, rgb: np.ndarray) -> np.ndarray:
        z = np.r_[1.0, (STATISTICS[self.kind](rgb) - self.mean) / self.scale]
        coef = (self.weights.reshape(10, z.size, 3) * z[None, :, None]).sum(1)
        y = colour_features(rgb) @ coef
        return np.clip(y, 0.0, 1.0).reshape(rgb.shape).astype(np.float32)


def fit_conditioned(
    pairs: Sequence[tuple[np.ndarray, np.ndarray]], ridge: float, seed: int = 0, kind: str = "basic"
) -> ConditionedMap:
    """Ridge fit over ``PIXELS_PER_IMAGE`` random pixels of each (input, target) pair; the
    unconditioned part (``W_j0``) is not penalised."""
    rng = np.random.default_rng(seed)
    stats = np.array([STATISTICS[kind](a) for a, _ in pairs])
    mean, scale = stats.mean(0), stats.std(0) + 1e-9
    n = 10 * (1 + stats.shape[1])
    ata, atb = np.zeros((n, n)), np.zeros((n, 3))
    for (a, b), s in zip(pairs, stats, strict=True):
        z = np.r_[1.0, (s - mean) / scale]
        pick = rng.choice(
            a.shape[0] * a.shape[1], min(PIXELS_PER_IMAGE, a.shape[0] * a.shape[1]), replace=False
        )
        f = colour_features(a)[pick]
        rows = (f[:, :, None] * z[None, None, :]).reshape(len(f), -1)
        ata += rows.T @ rows
        atb += rows.T @ b.reshape(-1, 3)[pick].astype(np.float64)
    penalty = np.full(n, ridge)
    penalty[:: 1 + stats.shape[1]] = 1e-6
    return ConditionedMap(np.linalg.solve(ata + np.diag(penalty), atb), mean, scale, kind)


def _oracle(images: list[np.ndarray], targets: list[np.ndarray] | None) -> list[np.ndarray]:
    out = []
    for i, a in enumerate(images):
        b = targets[i] if targets is not None else a
        f = colour_features(a)
        coef = np.linalg.lstsq(f, b.reshape(-1, 3).astype(np.float64), rcond=None)[0]
        out.append(np.clip(f @ coef, 0, 1).reshape(a.shape).astype(np.float32))
    return out


def _crops(photos: list[np.ndarray], n: int, size: int, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        p = photos[rng.integers(len(photos))]
        y, x = rng.integers(p.shape[0] - size + 1), rng.integers(p.shape[1] - size + 1)
        out.append(p[y : y + size, x : x + size])
    return out


def study(
    out: Path, data: Path, ridge: float, identity_share: float, graph_only: bool = False
) -> list[dict[str, Any]]:
    """All rows; ``graph_only``: only the rows of maps conditioned on
    :func:`graph_statistics` (to add them to an earlier run's rows)."""
    from recipe import _load_rgb, measure, prepare

    from photoenhance.baselines import fit_colour_map

    layout = prepare(data, out)
    photos = [_load_rgb(p, 1024) for p in layout["holdout_photos"] + layout["phone_photos"]]
    train_photos = [_load_rgb(str(p), 1024) for p in sorted((out / "photos-train").iterdir())]
    rows = []
    for k, fold in enumerate(layout["folds"]):
        train = [r for j, f in enumerate(layout["folds"]) if j != k for r in f["test"]]
        xs = [_load_rgb(r[1], 10**6) for r in train]
        ys = [_load_rgb(r[2], 10**6) for r in train]
        n_id = round(len(xs) * identity_share / (1 - identity_share))
        ident = ys[: n_id // 2] + _crops(train_photos, n_id - n_id // 2, 100, seed=k)
        if graph_only:
            pairs = list(zip(xs, ys, strict=True))
            ab = fit_conditioned(pairs, ridge, kind="no-percentiles")
            rows.append({"name": "conditioned colour map (51 statistics less the 21 percentiles; ablation)",
                         "fold": k, "pairs": [r[0] for r in fold["test"]],
                         "last": measure(lambda imgs, m=ab: [m.apply(a) for a in imgs], fold["test"], photos)})  # fmt: skip
            g = fit_conditioned(pairs, ridge, kind="graph")
            g_id = fit_conditioned(pairs + [(a, a) for a in ident], ridge, kind="graph")
            n = graph_statistics(xs[0]).size
            for name, m in ((f"conditioned colour map ({n} graph-computable statistics)", g),
                            (f"conditioned colour map ({n} graph-computable statistics), "
                             f"identity share {identity_share}", g_id)):  # fmt: skip
                rows.append({"name": name, "fold": k, "pairs": [r[0] for r in fold["test"]],
                             "last": measure(lambda imgs, m=m: [m.apply(a) for a in imgs],
                                             fold["test"], photos)})  # fmt: skip
            print(f"fold {k} done", flush=True)
            continue
        quad = fit_colour_map(xs, ys, degree=2)
        cond = fit_conditioned(list(zip(xs, ys, strict=True)), ridge)
        # identity examples: share p of all examples, half DSLR targets, half photo crops
        cond_id = fit_conditioned(list(zip(xs, ys, strict=True)) + [(a, a) for a in ident], ridge)
        test_targets = {r[1]: _load_rgb(r[2], 10**6) for r in fold["test"]}
        runs: list[tuple[str, Callable[[list[np.ndarray]], list[np.ndarray]]]] = [
            ("colour map, quadratic 10x3", lambda imgs, m=quad: [m.apply(a) for a in imgs]),
            ("conditioned colour map (51 statistics)", lambda imgs, m=cond: [m.apply(a) for a in imgs]),
            (f"conditioned colour map, identity share {identity_share}",
             lambda imgs, m=cond_id: [m.apply(a) for a in imgs]),
        ]  # fmt: skip
        for name, run in runs:
            rows.append({"name": name, "fold": k, "pairs": [r[0] for r in fold["test"]],
                         "last": measure(run, fold["test"], photos)})  # fmt: skip
        oracle_in = [_load_rgb(r[1], 10**6) for r in fold["test"]]
        oracle = _oracle(oracle_in, [test_targets[r[1]] for r in fold["test"]])
        from photoenhance.metrics import psnr

        rows.append({"name": "per-pair oracle quadratic map (headroom, not a model)", "fold": k,
                     "pairs": [r[0] for r in fold["test"]],
                     "last": {"psnr": [psnr(o, test_targets[r[1]]) for o, r in zip(oracle, fold["test"], strict=True)]}})  # fmt: skip
        print(f"fold {k} done", flush=True)
    return rows


def render(rows: list[dict[str, Any]], ridge: float) -> str:
    names = sorted(dict.fromkeys(r["name"] for r in rows), key=lambda n: n.startswith("per-pair"))

    def cat(name: str, key: str) -> tuple[list[str], np.ndarray]:
        sel = sorted((r for r in rows if r["name"] == name), key=lambda r: r["fold"])
        return [p for r in sel for p in r["pairs"]], np.array(
            [v for r in sel for v in r["last"].get(key, [])]
        )

    quad = cat("colour map, quadratic 10x3", "psnr")
    table = []
    for name in names:
        pairs, ps = cat(name, "psnr")
        assert pairs == quad[0]
        d = ps - quad[1]
        half = 1.96 * d.std(ddof=1) / np.sqrt(len(d))
        sel = [r for r in rows if r["name"] == name]
        last = sel[0]["last"]
        if "dnh_psnr" in last:
            dnh = np.mean([v for r in sel for v in r["last"]["dnh_psnr"]])
            photo = [r["last"]["photos"] for r in sel]
            clip = 100 * np.mean([p["new_clipping"] for p in photo])
            luma = np.mean([p["luma_shift"] for p in photo])
            sat = 100 * np.mean([p["saturation_change"] for p in photo])
            extra = [f"{dnh:.1f}", f"{clip:.2f}", f"{luma:+.1f}", f"{sat:+.1f}"]
        else:
            extra = ["–"] * 4
        table.append([name, f"{ps.mean():.2f}", f"{d.mean():+.2f} ± {half:.2f}", *extra])
    head = ["row", "DPED PSNR", "Δ vs quadratic map", "do-no-harm (dB)", "new clipping %",
            "luma shift (photos)", "saturation % (photos)"]  # fmt: skip
    return (
        f"3-fold CV over the 189 usable pairs (folds of `bench/recipe.py`), ridge {ridge:g}; "
        "do-no-harm: the map applied to the held-out DSLR targets (output vs input); clipping, "
        "luma and saturation columns: the 18 held-out good photos. "
        "Δ: paired per-pair differences, mean ± 95 % interval. numpy only, no network.\n\n"
        + md_table(head, table)
        + "\n\nReading: a colour transform chosen per photo from whole-photo statistics "
        "(what a context encoder could predict, here fitted linearly) beats the fixed map by "
        "about the issue's +0.8 dB target on its own, and quarters the new clipping; identity "
        "examples buy do-no-harm at half of that gain. Which statistics matter: without its "
        "percentiles the map keeps +0.59; conditioned only on what the INT8 graph computes "
        "as it is (means of 1x1-conv/ReLU/Mul terms: hinge histograms, moments, chroma "
        "differences) it keeps +0.31, about what a learned encoder reaches "
        "(`colour_encoder`). The rest sits in robust levels (percentiles), spreads, "
        "saturation (max - min) and log statistics. Every map, fixed or conditioned, still "
        "changes good photos far too much (do-no-harm about 20 dB, the target is 32): the "
        "colour path must be paired with a network that learns when to leave a photo alone. "
        "The per-pair oracle bounds what any per-photo quadratic transform could give.\n"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "runs" / "colour-path")
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--ridge", type=float, default=1e5)
    ap.add_argument("--identity-share", type=float, default=0.2)
    ap.add_argument("--render-only", action="store_true")
    ap.add_argument("--add-graph", action="store_true",
                    help="only compute the graph-statistics rows and add them to the saved ones")  # fmt: skip
    a = ap.parse_args()
    path = RESULTS / "colour-path.json"
    if a.add_graph:
        old = [r for r in json.loads(path.read_text())
               if "graph-computable" not in r["name"] and "ablation" not in r["name"]]  # fmt: skip
        path.write_text(json.dumps(old + study(a.out, a.data, a.ridge, a.identity_share, True)))
    elif not a.render_only:
        rows = study(a.out, a.data, a.ridge, a.identity_share)
        path.write_text(json.dumps(rows))
    text = render(json.loads(path.read_text()), a.ridge)
    print(text)
    heading = "## Model 0.3: how strong can a per-photo colour path be? (`bench/colour_path.py`)"
    write_section("colour-path", f"{heading}\n\n{text}")


if __name__ == "__main__":
    main()
