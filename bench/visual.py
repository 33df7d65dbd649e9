"""Before/after images for looking at the model's output (not a test, no numbers).

    python bench/visual.py [--data ../shared/data] [--model PATH] [--out bench/out/visual]

For the real iPhone photos in ``phone-photos/`` and a few clean photos degraded with the
synthetic phone model, writes ``<name>-overview.png`` (whole photo, before | after,
downscaled) and ``<name>-crop-<k>.png`` (100 % crops, before | after) that straddle tile
borders (``--tile`` 512 by default, so seams would show). Also prints per-image colour
statistics: mean RGB before/after, the shift of the grey-world balance.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image

from photoenhance.data.degrade import degrade
from photoenhance.infer.session import Enhancer, InferenceConfig
from photoenhance.io import read_rgb

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


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data")
    ap.add_argument("--model", type=Path, default=None)
    ap.add_argument("--tile", type=int, default=512)
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
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
