"""Does training write the same bytes?  Tiny runs with a fixed seed, hashed.

Six tiny configurations (in memory; synthetic + identity examples + ``select="last"``;
``qat_target="pairs"`` without EMA; QAT only; stream mode; ``--val-pairs``) are each run
straight through and stopped as if killed (step 7, and for two of them at the end of the
FP32 phase, step 12) then resumed.  Writes a JSON of the sha256 of every file each run
leaves (``model.onnx``, ``model-fp32.onnx``, ``checkpoint.pt``, ``last.pt``, ``curves.png``,
``report.json`` with its ``"seconds"`` zeroed), every progress event and the result.
The runs always go to the same folder (``last.pt`` and ``report.json`` name it).
``--against OLD.json`` compares and exits 1 on any difference: run it before and after a
refactor of ``photoenhance.train`` that must not change a run (issue 19).  CPU, ~2 min.

    PYTHONPATH=src python bench/train_same_bytes.py --out /tmp/before.json
    PYTHONPATH=src python bench/train_same_bytes.py --out /tmp/after.json --against /tmp/before.json
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import shutil
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
from PIL import Image

WORK = Path("/tmp/photoenhance-train-same-bytes")


def _pairs(root: Path, n: int, seed: int) -> Path:
    """Tiny DPED-style pairs (as ``tests/train/conftest.py`` makes them)."""
    rng = np.random.default_rng(seed)
    (root / "iphone").mkdir(parents=True)
    (root / "canon").mkdir()
    for i in range(n):
        base = rng.random((5, 5, 3))
        x = np.kron(base, np.ones((8, 8, 1))) * 0.6 + 0.1 * rng.random((40, 40, 3))
        y = np.clip(x * np.array([1.2, 1.1, 0.9]) + 0.05, 0, 1)
        Image.fromarray(np.uint8(x * 255 + 0.5)).save(root / "iphone" / f"{i}.png")
        Image.fromarray(np.uint8(y * 255 + 0.5)).save(root / "canon" / f"{i}.png")
    return root


def _hash(path: Path) -> str:
    data = path.read_bytes()
    if path.name == "report.json":  # raw bytes (key order counts), the run time zeroed
        data = re.sub(rb'"seconds": [0-9.e+-]+', b'"seconds": 0', data)
    return hashlib.sha256(data).hexdigest()


def _files(folder: Path) -> dict[str, str]:
    return {f.name: _hash(f) for f in sorted(folder.iterdir())}


def fingerprint() -> dict[str, object]:
    try:
        from photoenhance.train.config import TrainConfig
    except ImportError:  # before issue 19
        from photoenhance.train.loop import TrainConfig  # type: ignore[no-redef]
    from photoenhance.train.loop import train

    shutil.rmtree(WORK, ignore_errors=True)
    pairs, val_pairs = _pairs(WORK / "pairs", 8, 0), _pairs(WORK / "pairs2", 3, 1)
    photos = WORK / "photos"
    photos.mkdir()
    rng = np.random.default_rng(5)
    for i in range(3):
        Image.fromarray(np.uint8(rng.random((64, 80, 3)) * 255)).save(photos / f"p{i}.png")
    base = TrainConfig(
        out=WORK, pairs=pairs, init="scratch", size="tiny", steps=12, qat_steps=8, batch_size=4,
        patch_size=32, eval_every=5, checkpoint_every=5, calib_batches=2, warmup=2,
        val_fraction=0.25, threads=1, lr=2e-3, qat_lr=2e-4,
    )
    runs = {
        "plain": (base, (7, 12)),
        "synth_identity": (replace(base, synthetic=photos, synthetic_fraction=0.3,
                                   identity_fraction=0.25, select="last"), (7,)),
        "pairs_target_noema": (replace(base, qat_target="pairs", ema_decay=0.0), (7,)),
        "qat_only": (replace(base, steps=0, qat_steps=6), (4,)),
        "stream": (replace(base, stream=True, workers=0), (7, 12)),
        "valpairs": (replace(base, val_pairs=val_pairs), (7,)),
    }
    record: dict[str, object] = {}
    for name, (cfg, stops) in runs.items():
        events: list = []
        out = WORK / "out" / name
        r = train(replace(cfg, out=out), on_event=events.append)
        record[name] = {"result": [r.steps_done, r.finished, repr(r.best_fp32), repr(r.best_qat)],
                        "events": [repr(e) for e in events], "files": _files(out)}
        for stop in stops:
            out = WORK / "out" / f"{name}-stop{stop}"
            r1 = train(replace(cfg, out=out, stop_after=stop))
            at_stop = _files(out)
            events = []
            r2 = train(replace(cfg, out=out, resume=True), on_event=events.append)
            record[f"{name}-stop{stop}"] = {
                "at_stop": at_stop, "events": [repr(e) for e in events], "files": _files(out),
                "result": [r1.steps_done, r1.finished, r2.steps_done, r2.finished, repr(r2.best_qat)],
            }
    return record


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, required=True, help="JSON record to write")
    ap.add_argument("--against", type=Path, help="an earlier record: exit 1 on any difference")
    args = ap.parse_args()
    record = fingerprint()
    args.out.write_text(json.dumps(record, indent=1, sort_keys=True) + "\n")
    if args.against is None:
        return 0
    old = json.loads(args.against.read_text())
    bad = sorted(k for k in set(old) | set(record) if old.get(k) != record.get(k))
    for key in bad:
        print(f"differs: {key}", file=sys.stderr)
    print("identical" if not bad else f"{len(bad)} run(s) differ")
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
