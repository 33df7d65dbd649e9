"""Before/after images for looking at the model's output (not a test, no numbers).

    python bench/visual.py [--data ../shared/data] [--model PATH] [--out bench/out/visual]
                           [--previous bench/results/model-0.1/photoenhance-small-int8.onnx]

For the real iPhone photos in ``phone-photos/`` and a few clean photos degraded with the
synthetic phone model, writes ``<name>-overview.png`` (whole photo, before | after,
downscaled) and ``<name>-crop-<k>.png`` (100 % crops, before | after) that straddle tile
borders (``--tile`` 512 by default, so seams would show). Also prints per-image colour
statistics: mean RGB before/after, the shift of the grey-world balance.

With ``--previous`` (default: the 0.1 model) it also writes, for the real iPhone photos and
for good photos never trained on (held-out 20 % of ``photos/``), ``<name>-<region>.png``
100 % crops *before | previous model | this model* of the brightest region (sky,
highlights), the darkest textured region (shadows) and the most saturated region (colour,
foliage, skin), chosen automatically on a 256 px grid.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image

from photoenhance.data.degrade import degrade
from photoenhance.infer.enhancer import Enhancer
from photoenhance.infer.inference_config import InferenceConfig
from photoenhance.io import read_rgb

REGION = 256
GOOD = ["skimage_astronaut_eileen_collins.jpg", "kodak_kodim06_sailboat_shore.jpg",
        "mate_green_meadow_timothy_schellhase.jpg", "lomiri_picos_de_europa_aitzol_berasategi.jpg",
        "mcmaster_04_palm_lamp.jpg"]
SYNTHETIC = ["lomiri_forest_stream_aitzol_berasategi.jpg", "kodak_kodim05_motocross.jpg",
             "mate_garden_marigold_charles_barbin.jpg"]


def _u8(x: np.ndarray) -> Image.Image:
    return Image.fromarray(np.uint8(np.clip(x, 0, 1) * 255 + 0.5))


def side_by_side(a: np.ndarray, b: np.ndarray) -> Image.Image:
    h, w = a.shape[:2]
    canvas = Image.new("RGB", (2 * w + 8, h), "white")
    canvas.paste(_u8(a), (0, 0))
    canvas.paste(_u8(b), (w + 8, 0))
    return canvas


def regions(x: np.ndarray) -> dict[str, tuple[int, int]]:
    """Top-left corners of the brightest, darkest-textured and most saturated 256 px
    blocks of ``x`` (HWC in [0, 1])."""
    h, w = x.shape[:2]
    blocks = [(y, xx) for y in range(0, max(1, h - REGION + 1), REGION // 2)
              for xx in range(0, max(1, w - REGION + 1), REGION // 2)]
    stats = []
    for y, xx in blocks:
        b = x[y : y + REGION, xx : xx + REGION]
        lum = b @ np.array([0.299, 0.587, 0.114], np.float32)
        stats.append((float(lum.mean()), float(lum.std()), float((b.max(2) - b.min(2)).mean())))
    bright = max(range(len(blocks)), key=lambda i: stats[i][0])
    textured = [i for i in range(len(blocks)) if stats[i][1] > 0.02] or list(range(len(blocks)))
    dark = min(textured, key=lambda i: stats[i][0])
    colour = max(range(len(blocks)), key=lambda i: stats[i][2])
    return {"highlights": blocks[bright], "shadows": blocks[dark], "colour": blocks[colour]}


def triptych(parts: list[np.ndarray]) -> Image.Image:
    h, w = parts[0].shape[:2]
    canvas = Image.new("RGB", (len(parts) * w + 8 * (len(parts) - 1), h), "white")
    for i, p in enumerate(parts):
        canvas.paste(_u8(p), (i * (w + 8), 0))
    return canvas


def compare_previous(a: argparse.Namespace, enh: Enhancer) -> None:
    """before | previous | this model at 100 % on automatically chosen regions."""
    prev = Enhancer(InferenceConfig(model=a.previous, tile=a.tile))
    photos = sorted((a.data / "phone-photos").glob("*.jpg")) + [a.data / "photos" / n for n in GOOD]
    for p in photos:
        if not p.is_file():
            continue
        x = read_rgb(p)
        y0, y1 = np.clip(prev.enhance(x), 0, 1), np.clip(enh.enhance(x), 0, 1)
        stem = p.stem if p.parent.name == "phone-photos" else p.stem.split("_")[1]
        for region, (cy, cx) in regions(x).items():
            sl = (slice(cy, cy + REGION), slice(cx, cx + REGION))
            triptych([x[sl], y0[sl], y1[sl]]).save(a.out / f"compare-{stem}-{region}.png")
        print(f"compare {p.name}: mean luma {x.mean():.3f} -> previous {y0.mean():.3f}, new {y1.mean():.3f}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data")
    ap.add_argument("--model", type=Path, default=None)
    ap.add_argument("--tile", type=int, default=512)
    ap.add_argument("--previous", type=Path, default=Path(__file__).resolve().parent / "results"
                    / "model-0.1" / "photoenhance-small-int8.onnx")
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "out" / "visual")
    a = ap.parse_args()
    a.out.mkdir(parents=True, exist_ok=True)
    enh = Enhancer(InferenceConfig(model=a.model, tile=a.tile))
    images: list[tuple[str, np.ndarray]] = []
    for p in sorted((a.data / "phone-photos").glob("*.jpg")):
        images.append((f"phone-{p.stem}", read_rgb(p)))
    rng = np.random.default_rng(7)
    for name in SYNTHETIC:
        p = a.data / "photos" / name
        if p.is_file():
            images.append((f"synthetic-{p.stem.split('_')[1]}", degrade(read_rgb(p), rng)))
    for name, x in images:
        y = np.clip(enh.enhance(x), 0, 1)
        h, w = x.shape[:2]
        scale = 1024 / max(h, w)
        small = (int(w * scale), int(h * scale))
        ov = side_by_side(np.asarray(_u8(x).resize(small, Image.LANCZOS)) / 255.0,
                          np.asarray(_u8(y).resize(small, Image.LANCZOS)) / 255.0)
        ov.save(a.out / f"{name}-overview.png")
        t = a.tile
        for k, (cy, cx) in enumerate([(t - 128, t - 128), (h // 2 - 128, w // 2 - 128)]):
            cy, cx = max(0, min(cy, h - 256)), max(0, min(cx, w - 256))
            side_by_side(x[cy : cy + 256, cx : cx + 256], y[cy : cy + 256, cx : cx + 256]).save(
                a.out / f"{name}-crop-{k}.png")
        m0, m1 = x.reshape(-1, 3).mean(0), y.reshape(-1, 3).mean(0)
        print(f"{name:28s} {w}x{h}  mean RGB {np.round(m0, 3)} -> {np.round(m1, 3)}  "
              f"R/G {m0[0] / m0[1]:.3f}->{m1[0] / m1[1]:.3f}  B/G {m0[2] / m0[1]:.3f}->{m1[2] / m1[1]:.3f}")
    if a.previous is not None and a.previous.is_file():
        compare_previous(a, enh)
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
