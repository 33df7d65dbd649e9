"""Benchmark: training throughput and memory at scale — in-memory vs streaming data,
1 vs 2 DDP processes on the CPU, a generated 20k-pair set; with ``--device cuda``, steps/s
of one GPU (bf16 FP32 phase, float32 QAT) against the CPU.

Each configuration trains the bundled ``small`` model (``--from bundled``) in a fresh
child process (``train_processes`` from a child of this script, so the ranks and
DataLoader workers are its descendants). Measured:

- **pairs/s** (and steps/s) of each phase: patches trained per second over all ranks,
  between the first steps (warm-up, not counted) and the phase's last step (validation
  and checkpoints fall outside the window: ``--eval-every`` is the phase length);
- **setup s**: child start to the first step (decoding the set for the in-memory path);
- **peak RSS**: the largest sum of RSS over the child's process tree (ranks, DataLoader
  workers; sampled every 0.1 s from /proc; shared library pages count once per process)
  and the largest single process.

The 20k-pair set (``--count``) is made in a temp dir from the DPED pairs of ``--data``
(unflagged, each a random flip/rotation and a brightness gain applied to both sides,
JPEG q92) and deleted afterwards.

Usage::

    python bench/train_scale.py [--data ../shared/data] [--count 20000] [--steps 150]
                                [--write-md BENCHMARKS.md]
    python bench/train_scale.py --device cuda --data .devdata --json OUT.json
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, md_table, write_section

PAGE = os.sysconf("SC_PAGE_SIZE")


# -- the measured child -----------------------------------------------------------------


def child(spec: dict) -> None:
    """One configuration, in this (fresh) process; prints one JSON line."""
    from photoenhance.train.loop import TrainConfig, train_processes

    t0 = time.perf_counter()
    steps, qat = spec["steps"], spec["qat_steps"]
    cfg = TrainConfig(
        out=Path(spec["out"]), pairs=Path(spec["pairs"]), init="bundled",
        steps=steps, qat_steps=qat, batch_size=spec["batch"], patch_size=96,
        eval_every=max(steps, 1), checkpoint_every=10**9, calib_batches=4,
        warmup=10, device=spec["device"], seed=0, threads=spec.get("threads"),
        stream=spec["stream"], workers=spec["workers"], bf16=spec.get("bf16", True),
        val_limit=spec.get("val_limit"),
        val_pairs=Path(spec["val_pairs"]) if spec.get("val_pairs") else None,
    )
    times: dict[int, float] = {}
    train_processes(cfg, spec["nproc"], on_event=lambda e: times.__setitem__(e.step, time.perf_counter()))
    world, batch, warm = spec["nproc"], spec["batch"], spec["warm"]

    def rate(a: int, b: int) -> tuple[float, float]:
        if b <= a or a not in times or b not in times:
            return float("nan"), float("nan")
        sps = (b - a) / (times[b] - times[a])
        return sps, sps * batch * world

    fp32 = rate(warm, steps - 1)
    q = rate(steps + min(warm, qat // 3) + 1, steps + qat - 1) if qat else (float("nan"),) * 2
    print(json.dumps({
        "setup_s": times[min(times)] - t0 if times else float("nan"),
        "fp32_steps_s": fp32[0], "fp32_pairs_s": fp32[1],
        "qat_steps_s": q[0], "qat_pairs_s": q[1],
    }))


# -- the parent: process-tree RSS, configurations, tables --------------------------------


def _tree_rss(root: int) -> tuple[int, int]:
    """(sum, max) of RSS in bytes over ``root`` and its descendants."""
    parent: dict[int, int] = {}
    rss: dict[int, int] = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                st = f.read()
            with open(f"/proc/{d}/statm") as f:
                rss[int(d)] = int(f.read().split()[1]) * PAGE
        except OSError:
            continue
        parent[int(d)] = int(st[st.rindex(")") + 2:].split()[1])
    tree, frontier = {root}, [root]
    while frontier:
        p = frontier.pop()
        kids = [c for c, pp in parent.items() if pp == p and c not in tree]
        tree.update(kids)
        frontier += kids
    vals = [rss.get(p, 0) for p in tree]
    return sum(vals), max(vals, default=0)


def measure(spec: dict) -> dict:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(ROOT / "src"), *filter(None, [os.environ.get("PYTHONPATH")])]))
    proc = subprocess.Popen([sys.executable, __file__, "--child", json.dumps(spec)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = [0, 0]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            s, m = _tree_rss(proc.pid)
            peak[0], peak[1] = max(peak[0], s), max(peak[1], m)
            time.sleep(0.1)

    th = threading.Thread(target=sample, daemon=True)
    th.start()
    out, err = proc.communicate()
    done.set()
    th.join()
    if proc.returncode != 0:
        raise RuntimeError(f"{spec['name']}: exit {proc.returncode}\n{err[-3000:]}")
    res = json.loads(out.strip().splitlines()[-1])
    res.update(name=spec["name"], peak_tree_mib=peak[0] / 2**20, peak_proc_mib=peak[1] / 2**20)
    print(f"  {spec['name']}: {res['fp32_pairs_s']:.0f} pairs/s FP32, {res['qat_pairs_s']:.0f} QAT, "
          f"setup {res['setup_s']:.1f} s, peak tree {res['peak_tree_mib']:.0f} MiB", flush=True)
    return res


def make_set(dped: Path, dst: Path, count: int, seed: int = 0) -> Path:
    """``count`` 100x100 pairs (``iphone/``, ``canon/``) from the unflagged DPED pairs."""
    import numpy as np
    from PIL import Image

    from photoenhance.data.pairs import find_pairs, read_flags

    pairs = find_pairs(dped, exclude=read_flags(dped / "flags.csv")).pairs
    src = [(np.asarray(Image.open(p.input_path).convert("RGB")),
            np.asarray(Image.open(p.target_path).convert("RGB"))) for p in pairs]
    rng = np.random.default_rng(seed)
    (dst / "iphone").mkdir(parents=True)
    (dst / "canon").mkdir()
    for i in range(count):
        a, b = src[int(rng.integers(len(src)))]
        k, flip, gain = int(rng.integers(4)), bool(rng.integers(2)), float(rng.uniform(0.85, 1.15))
        for arr, side in ((a, "iphone"), (b, "canon")):
            v = np.rot90(arr, k)
            v = v[:, ::-1] if flip else v
            v = np.clip(v.astype(np.float32) * gain, 0, 255).astype(np.uint8)
            Image.fromarray(np.ascontiguousarray(v)).save(dst / side / f"{i}.jpg", quality=92)
    return dst


def _fmt(v: float, d: int = 0) -> str:
    return "–" if v != v else f"{v:.{d}f}"


def cpu_bench(args: argparse.Namespace, tmp: Path) -> list[dict]:
    dped = args.data / "dped-iphone"
    t = time.perf_counter()
    big = make_set(dped, tmp / "set20k", args.count)
    print(f"made {args.count} pairs in {time.perf_counter() - t:.0f} s", flush=True)
    # one fixed validation set for every configuration (the DPED pairs): the runs compare
    # training, not the size of a held-out split
    common = {"steps": args.steps, "qat_steps": args.qat_steps, "batch": args.batch,
              "device": "cpu", "warm": 10, "val_pairs": str(dped)}
    cores = os.cpu_count() or 1
    configs = [
        ("DPED 200, in memory, 1 process", dped, False, 1, 0, cores),
        ("DPED 200, stream, 1 process", dped, True, 1, 2, cores),
        ("DPED 200, stream, 2 processes (DDP, gloo)", dped, True, 2, 1, None),
        (f"{args.count // 1000}k pairs, stream, 1 process", big, True, 1, 2, cores),
        (f"{args.count // 1000}k pairs, stream, 2 processes (DDP, gloo)", big, True, 2, 1, None),
        (f"{args.count // 1000}k pairs, in memory, 1 process", big, False, 1, 0, cores),
    ]
    results = []
    for i, (name, pairs, stream, nproc, workers, threads) in enumerate(configs):
        spec = dict(common, name=name, pairs=str(pairs), stream=stream, nproc=nproc,
                    workers=workers, threads=threads, out=str(tmp / f"run{i}"))
        r = measure(spec)
        r.update(stream=stream, nproc=nproc, workers=workers, pairs=pairs.name)
        results.append(r)
    return results


def gpu_bench(args: argparse.Namespace, tmp: Path) -> list[dict]:
    dped = args.data / "dped-iphone"
    cuda = {"steps": 300, "qat_steps": 100, "warm": 20, "device": "cuda", "nproc": 1,
            "pairs": str(dped), "threads": None}
    configs = [
        dict(cuda, name="CPU, in memory, batch 16", device="cpu", steps=40, qat_steps=20, warm=5,
             batch=16, stream=False, workers=0),
        dict(cuda, name="1 GPU, in memory, batch 16, bf16 FP32 phase", batch=16, stream=False,
             workers=0),
        dict(cuda, name="1 GPU, in memory, batch 16, float32", batch=16, stream=False, workers=0,
             bf16=False),
        dict(cuda, name="1 GPU, stream (6 workers), batch 64, bf16", batch=64, stream=True,
             workers=6),
    ]
    results = []
    for i, spec in enumerate(configs):
        r = measure(dict(spec, out=str(tmp / f"gpu{i}")))
        r.update(device=spec["device"], batch=spec["batch"], bf16=spec.get("bf16", True))
        results.append(r)
    return results


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--count", type=int, default=20000)
    ap.add_argument("--steps", type=int, default=150, help="FP32 steps per CPU configuration")
    ap.add_argument("--qat-steps", type=int, default=40)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    ap.add_argument("--json", type=Path)
    ap.add_argument("--write-md", type=Path)
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(json.loads(args.child))
        return
    from _common import machine

    t0 = time.perf_counter()
    load0 = os.getloadavg()[0]
    tmp = Path(tempfile.mkdtemp(prefix="train-scale-"))
    try:
        results = gpu_bench(args, tmp) if args.device == "cuda" else cpu_bench(args, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    gpu = ""
    if args.device == "cuda":
        import torch

        gpu = f"; GPU {torch.cuda.get_device_name(0)}, torch {torch.__version__}"
    load = (load0, os.getloadavg()[0])
    info = {"date": dt.date.today().isoformat(), "machine": machine() + gpu,
            "seconds": time.perf_counter() - t0, "load_average": load, "results": results}
    if args.json:
        args.json.write_text(json.dumps(info, indent=2))
    header = ["configuration", "FP32 pairs/s", "FP32 steps/s", "QAT pairs/s", "QAT steps/s",
              "setup s", "peak RSS, tree (MiB)", "peak RSS, largest process (MiB)"]
    rows = [[r["name"], _fmt(r["fp32_pairs_s"]), _fmt(r["fp32_steps_s"], 2), _fmt(r["qat_pairs_s"]),
             _fmt(r["qat_steps_s"], 2), _fmt(r["setup_s"], 1), _fmt(r["peak_tree_mib"]),
             _fmt(r["peak_proc_mib"])] for r in results]
    table = md_table(header, rows)
    print(table)
    if args.write_md:
        if args.device == "cuda":
            name = "train-scale-gpu"
            text = (f"### Training on one GPU vs the CPU (`bench/train_scale.py --device cuda`)\n\n"
                    f"{info['date']}, {info['machine']}. Bundled `small` model, 96 px patches, "
                    f"DPED iPhone pairs; steps/s between warm-up and the end of each phase.\n\n{table}")
        else:
            name = "train-scale"
            text = (
                f"### Training at scale on the CPU (`bench/train_scale.py`)\n\n"
                f"{info['date']}, {info['machine']}. Bundled `small` model, batch {args.batch} "
                f"per process, 96 px patches, {args.steps} FP32 + {args.qat_steps} QAT steps; "
                f"pairs/s = patches trained per second over all processes (warm-up, validation "
                f"and checkpoints excluded). 1 process: {os.cpu_count()} torch threads; 2 "
                f"processes: 1 thread each. Stream: 2 DataLoader workers (1 per process with "
                f"2 processes), 256 MiB cache each. Peak RSS: sum over the process tree "
                f"(ranks + workers; shared pages counted per process) and the largest process. "
                f"The {args.count}-pair set is made from the DPED pairs for the run and deleted; "
                f"validation: the 200 DPED pairs (`--val-pairs`) in every configuration. "
                f"Whole benchmark {info['seconds']:.0f} s; 1-minute load average "
                f"{load[0]:.1f} at the start, {load[1]:.1f} at the end ({os.cpu_count()} cores: "
                f"above that, other work shared the CPU and the rates are low and noisy)."
                f"\n\n{table}"
            )
        write_section(name, text, args.write_md)


if __name__ == "__main__":
    main()
