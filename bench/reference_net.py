"""The lead's throwaway FP32 reference net (issue 18), rebuilt as a *reference row* of the
recipe studies — never shipped, never exported to INT8.

FP32, ReLU, no normalisation. Global branch: the 64x64 thumbnail → three stride-2 3x3
convs (3→w/2→w→w) → spatial mean → linear → per-channel (1 + γ, β) at S/2. Main path:
space-to-depth(2) → 3x3 12→w → 3x3 w→w → FiLM → stride-2 3x3 w→2w → 3x3 2w→2w → nearest
×2 → 3x3 2w→w → concat with the FiLM output → 3x3 2w→w → 3x3 w→12 → depth-to-space → Δ;
head d = tanh(Δ), y = x + d·(1 − x) where d > 0, else x + d·x. ``w = 32``: 125k
parameters, ~16.7 GMAC/MP; ``w = 16`` ("quarter width"): ~33k, ~4 GMAC/MP.
Recipe: L1 + MSE, Adam, OneCycle (max lr 2e-3, 5 % warm-up), 2000 steps, batch 16, 96 px
crops with flips/rotations, identity share p (half DSLR targets, half crops of photos),
the last weights. Batches come from the project's own sampler (the same crops,
augmentation and identity examples as ``photoenhance train``).

    python bench/reference_net.py --width 16 --out runs/study4   # CV rows beside study 4

Trains on the folds that ``bench/recipe.py`` laid out in ``--out`` (run that first, or
it lays them out) and appends its scores to ``OUT/reference.json``, which
``bench/recipe.py --render`` merges as extra rows.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT


def build(width: int) -> Any:
    import torch
    import torch.nn.functional as F
    from torch import nn

    w = width

    def conv(cin: int, cout: int, stride: int = 1) -> nn.Conv2d:
        return nn.Conv2d(cin, cout, 3, stride=stride, padding=1)

    class ReferenceNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.g = nn.ModuleList([conv(3, w // 2, 2), conv(w // 2, w, 2), conv(w, w, 2)])
            self.film = nn.Linear(w, 2 * w)
            nn.init.zeros_(self.film.weight)
            nn.init.zeros_(self.film.bias)
            self.e1, self.e2 = conv(12, w), conv(w, w)
            self.d1, self.d2 = conv(w, 2 * w, 2), conv(2 * w, 2 * w)
            self.u1, self.u2, self.out = conv(2 * w, w), conv(2 * w, w), conv(w, 12)
            nn.init.zeros_(self.out.weight)
            nn.init.zeros_(self.out.bias)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            h, wd = x.shape[-2:]
            ph, pw = (-h) % 4, (-wd) % 4
            xp = F.pad(x, (0, pw, 0, ph), mode="replicate") if ph or pw else x
            t = F.interpolate(x, size=(64, 64), mode="area")
            for c in self.g:
                t = F.relu(c(t))
            gamma, beta = self.film(t.mean(dim=(2, 3))).chunk(2, dim=1)
            s = F.relu(self.e2(F.relu(self.e1(F.pixel_unshuffle(xp, 2)))))
            f = s * (1 + gamma[..., None, None]) + beta[..., None, None]
            d = F.relu(self.d2(F.relu(self.d1(f))))
            u = F.relu(self.u1(F.interpolate(d, scale_factor=2.0, mode="nearest")))
            u = F.relu(self.u2(torch.cat([u, f], dim=1)))
            dd = torch.tanh(F.pixel_shuffle(self.out(u), 2))[..., :h, :wd]
            return torch.where(dd > 0, x + dd * (1 - x), x + dd * x)

    return ReferenceNet()


def train_and_score(job: dict[str, Any]) -> dict[str, Any]:
    import torch

    torch.set_num_threads(1)
    from recipe import _load_rgb, measure

    from photoenhance.data.pairs import find_pairs
    from photoenhance.data.synthetic import SyntheticPairSource
    from photoenhance.train.batches import BatchSampler, load_pairs

    torch.manual_seed(job["seed"])
    rng = np.random.default_rng(job["seed"])
    pairs = load_pairs(find_pairs(Path(job["train_dir"])).pairs)
    photos = SyntheticPairSource(Path(job["photos_train"]), 96, rng)
    sampler = BatchSampler(pairs, None, 96, 0.0, rng, identity_fraction=job["identity"],
                           identity_photos=photos)
    net = build(job["width"])
    opt = torch.optim.Adam(net.parameters(), lr=2e-3)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=2e-3, total_steps=job["steps"], pct_start=0.05)
    t0 = time.perf_counter()
    for _ in range(job["steps"]):
        x, y = sampler.sample(16)
        pred = net(x)
        loss = torch.nn.functional.l1_loss(pred, y) + torch.nn.functional.mse_loss(pred, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
    seconds = time.perf_counter() - t0
    net.eval()

    @torch.no_grad()
    def run(imgs: list[np.ndarray]) -> list[np.ndarray]:
        return [net(torch.from_numpy(a.transpose(2, 0, 1).copy())[None])[0].clamp(0, 1).numpy().transpose(1, 2, 0)
                for a in imgs]

    hold = [_load_rgb(p, job["photo_max_side"]) for p in job["photos"]]
    return {"name": job["name"], "fold": job["fold"], "seconds": seconds,
            "pairs": [p[0] for p in job["test"]], "last": measure(run, job["test"], hold)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--out", type=Path, default=ROOT / "runs" / "recipe")
    ap.add_argument("--width", type=int, default=32)
    ap.add_argument("--identity", type=float, default=0.2)
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--photo-max-side", type=int, default=1024)
    a = ap.parse_args()
    from recipe import prepare

    layout = prepare(a.data, a.out)
    photos = layout["holdout_photos"] + layout["phone_photos"]
    name = f"reference FP32 net, width {a.width}, id {a.identity} (never shipped)"
    jobs = [dict(name=name, fold=k, train_dir=f["train_dir"], test=f["test"], photos=photos,
                 photos_train=str(a.out / "photos-train"), width=a.width, identity=a.identity,
                 steps=a.steps, seed=a.seed, photo_max_side=a.photo_max_side)
            for k, f in enumerate(layout["folds"])]
    ctx = __import__("multiprocessing").get_context("spawn")
    path = a.out / "reference.json"
    done = json.loads(path.read_text()) if path.is_file() else []
    with ProcessPoolExecutor(max_workers=a.jobs, mp_context=ctx) as pool:
        for res in pool.map(train_and_score, jobs):
            done = [d for d in done if (d["name"], d["fold"]) != (res["name"], res["fold"])] + [res]
            path.write_text(json.dumps(done))
            print(f"{name} fold {res['fold']}: {res['seconds']:.0f} s, "
                  f"PSNR {np.mean(res['last']['psnr']):.2f}", flush=True)


if __name__ == "__main__":
    main()
