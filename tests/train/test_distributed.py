"""Training at scale: streaming batches, rank shards, observer all-reduce, 2-rank DDP runs.

The 2-rank runs use Gloo on loopback (a free port), a tiny model and 20 steps; every
process group has a 60 s timeout and ``distributed.launch`` terminates and joins the
ranks when one fails, so a broken collective fails the test instead of hanging it.
"""

from __future__ import annotations

import collections
import copy
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
onnx = pytest.importorskip("onnx")

import onnxruntime as ort  # noqa: E402
from torch.utils.data import DistributedSampler  # noqa: E402

from photoenhance.data.pairs import find_pairs  # noqa: E402
from photoenhance.model.fake_quant import ActQuant, set_quant_mode  # noqa: E402
from photoenhance.model.net import create_model  # noqa: E402
from photoenhance.quant.qat import calibrate  # noqa: E402
from photoenhance.train import distributed  # noqa: E402
from photoenhance.train.checkpoint import load_checkpoint  # noqa: E402
from photoenhance.train.loop import TrainConfig, TrainError, train, train_processes  # noqa: E402
from photoenhance.train.stream import (  # noqa: E402
    ImageCache,
    PatchStream,
    StreamBatches,
    StreamSpec,
    make_loader,
    shard_indices,
)


def make_pairs(root: Path, n: int) -> Path:
    """Tiny DPED-style pairs (as tests/train/conftest.py, for a module-scoped fixture)."""
    from PIL import Image

    rng = np.random.default_rng(0)
    (root / "iphone").mkdir(parents=True)
    (root / "canon").mkdir()
    for i in range(n):
        x = np.kron(rng.random((5, 5, 3)), np.ones((8, 8, 1))) * 0.6 + 0.1 * rng.random((40, 40, 3))
        y = np.clip(x * np.array([1.2, 1.1, 0.9]) + 0.05, 0, 1)
        Image.fromarray(np.uint8(x * 255 + 0.5)).save(root / "iphone" / f"{i}.png")
        Image.fromarray(np.uint8(y * 255 + 0.5)).save(root / "canon" / f"{i}.png")
    return root


def _config(pairs: Path, out: Path, **kw) -> TrainConfig:  # type: ignore[no-untyped-def]
    base = TrainConfig(
        out=out, pairs=pairs, init="scratch", size="tiny", steps=12, qat_steps=8,
        batch_size=4, patch_size=32, eval_every=5, checkpoint_every=5, calib_batches=2,
        warmup=2, val_fraction=0.25, threads=1, lr=2e-3, qat_lr=2e-4, workers=0,
        dist_timeout=60.0,
    )
    return replace(base, **kw)


# -- shards and the stream ------------------------------------------------------------


@pytest.mark.parametrize("n", [11, 12])
def test_shards_of_two_ranks_are_disjoint_and_cover_the_set(n: int) -> None:
    for epoch in range(3):
        a = shard_indices(n, 0, 2, seed=5, epoch=epoch)
        b = shard_indices(n, 1, 2, seed=5, epoch=epoch)
        assert not set(a) & set(b)
        assert sorted(a + b) == list(range(n))
        assert abs(len(a) - len(b)) <= 1
    assert shard_indices(n, 0, 2, 5, 0) != shard_indices(n, 0, 2, 5, 1)  # reshuffled per epoch
    assert shard_indices(n, 0, 2, 5, 0) == shard_indices(n, 0, 2, 5, 0)  # deterministic
    if n % 2 == 0:  # no padding needed: the very shards of torch's DistributedSampler
        for rank in (0, 1):
            ds = DistributedSampler(range(n), num_replicas=2, rank=rank, shuffle=True, seed=5)
            ds.set_epoch(1)
            assert list(ds) == shard_indices(n, rank, 2, 5, 1)


def test_stream_batches_of_the_ranks_cover_an_epoch() -> None:
    n, batch = 10, 5
    seen = []
    for rank in (0, 1):
        keys = [k for b in StreamBatches(n, batch, 0, 1, seed=0, rank=rank, world_size=2) for k in b]
        seen.append([k[0] for k in keys])
        assert all(k[1][-1] == rank for k in keys)  # per-rank generators
    assert sorted(seen[0] + seen[1]) == list(range(n))


def _spec(pairs_dir: Path, **kw) -> StreamSpec:  # type: ignore[no-untyped-def]
    return StreamSpec(find_pairs(pairs_dir).pairs, 32, **kw)


def test_a_batch_depends_only_on_its_step_not_on_workers_or_start(pairs_dir: Path) -> None:
    spec = _spec(pairs_dir, identity_fraction=0.3)
    whole = list(make_loader(PatchStream(spec), StreamBatches(8, 4, 0, 5, seed=3), workers=0))
    later = list(make_loader(PatchStream(spec), StreamBatches(8, 4, 3, 5, seed=3), workers=2))
    assert len(whole) == 5 and len(later) == 2
    for (x0, y0, _), (x1, y1, _) in zip(whole[3:], later, strict=True):
        assert torch.equal(x0, x1) and torch.equal(y0, y1)
    assert not torch.equal(whole[0][0], whole[1][0])
    other_seed = next(iter(make_loader(PatchStream(spec), StreamBatches(8, 4, 0, 1, seed=4), 0)))
    assert not torch.equal(other_seed[0], whole[0][0])


def test_image_cache_is_bounded_and_least_recently_used_goes_first() -> None:
    cache = ImageCache(max_bytes=3 * 100)
    loads = []

    def loader(k: int):  # type: ignore[no-untyped-def]
        return lambda: (loads.append(k), (np.zeros(100, np.uint8),))[1]

    for k in (1, 2, 3):
        cache.get(k, loader(k))
    cache.get(1, loader(1))  # hit: 1 becomes the most recent
    cache.get(4, loader(4))  # evicts 2
    assert cache.bytes <= 300 and len(cache) == 3
    cache.get(1, loader(1))
    cache.get(2, loader(2))
    assert loads == [1, 2, 3, 4, 2]
    big = ImageCache(max_bytes=50)
    big.get("x", lambda: (np.zeros(100, np.uint8),))
    assert len(big) == 0 and big.bytes == 0


def test_unreadable_pair_is_reported_and_replaced(pairs_dir: Path) -> None:
    (pairs_dir / "iphone" / "3.png").write_bytes(b"not a png")
    stream = PatchStream(_spec(pairs_dir))
    index = [p.name for p in stream.spec.pairs].index("3")
    sample = stream[(index, (0, 0, 0, 0, 0))]
    assert sample.x.shape == (3, 32, 32)
    assert len(sample.problems) == 1 and "3.png" in sample.problems[0]


def test_one_process_stream_run_resumes_exactly(pairs_dir: Path, tmp_path: Path) -> None:
    straight = train(_config(pairs_dir, tmp_path / "a", stream=True, workers=1))
    assert straight.finished
    report = json.loads((tmp_path / "a" / "report.json").read_text())
    assert (report["world_size"], report["backend"], report["stream"]) == (1, None, True)
    killed = train(_config(pairs_dir, tmp_path / "b", stream=True, stop_after=8))
    assert not killed.finished
    assert load_checkpoint(tmp_path / "b" / "last.pt")["step"] == 5  # no checkpoint at the kill
    train(_config(pairs_dir, tmp_path / "b", stream=True, resume=True))
    a = load_checkpoint(tmp_path / "a" / "last.pt")
    b = load_checkpoint(tmp_path / "b" / "last.pt")
    assert a["step"] == b["step"] == 20
    for k, v in a["model"].items():
        assert torch.equal(v, b["model"][k]), k


# -- observers ------------------------------------------------------------------------


def _calibrate_rank(scale_by_rank: float, send) -> dict:  # type: ignore[no-untyped-def]
    """One rank: a tiny model calibrated on batches whose range depends on the rank."""
    import os

    distributed.init("cpu", 60.0)
    rank = int(os.environ["RANK"])
    torch.manual_seed(0)
    net = create_model("tiny")
    gen = torch.Generator().manual_seed(rank)
    batches = [(torch.rand(2, 3, 32, 32, generator=gen) * (1 + scale_by_rank * rank),)
               for _ in range(2)]
    local = copy.deepcopy(net)  # the same batches, observed without the all-reduce
    set_quant_mode(local, "observe")
    with torch.no_grad():
        for (x,) in batches:
            local(x)
    calibrate(net, batches)
    quantizers = [m for m in net.modules() if isinstance(m, ActQuant) and not m.fixed]
    local_q = [m for m in local.modules() if isinstance(m, ActQuant) and not m.fixed]
    out = {
        "qparams": [m.qparams() for m in quantizers],
        "ranges": [(float(m.running_min), float(m.running_max)) for m in quantizers],
        "local": [(float(m.running_min), float(m.running_max)) for m in local_q],
    }
    send("ranks", (rank, out))
    distributed.cleanup()
    return out


def test_calibration_ranges_are_all_reduced_so_ranks_quantize_identically() -> None:
    got: dict[int, dict] = {}
    distributed.launch(2, _calibrate_rank, (1.0,), lambda r, k, p: got.__setitem__(*p))
    assert set(got) == {0, 1}
    r0, r1 = got[0], got[1]
    assert r0["local"] != r1["local"]  # the ranks saw different ranges ...
    assert r0["qparams"] == r1["qparams"]  # ... and quantize identically
    for (lo, hi), a, b in zip(r0["ranges"], r0["local"], r1["local"], strict=True):
        assert lo == min(a[0], b[0]) and hi == max(a[1], b[1])


def _fail_rank(send) -> None:  # type: ignore[no-untyped-def]
    import os

    if os.environ["RANK"] == "1":
        raise ValueError("rank 1: bad data")
    distributed.init("cpu", 60.0)  # rank 0 would wait for rank 1 here: it is terminated


def test_a_failing_rank_stops_the_run_with_its_message() -> None:
    with pytest.raises(distributed.LaunchError, match="rank 1: bad data"):
        distributed.launch(2, _fail_rank, ())


def _killed_rank(send) -> None:  # type: ignore[no-untyped-def]
    import os
    import signal

    if os.environ["RANK"] == "1":
        os.kill(os.getpid(), signal.SIGKILL)  # as kill -9 or the OOM killer would
    distributed.init("cpu", 60.0)  # rank 0 waits for rank 1 here: it is terminated


def test_a_killed_rank_is_one_line_naming_it(capfd: pytest.CaptureFixture[str]) -> None:
    """Issue 20 item 7: a rank killed with -9 gave ~40 lines of traceback
    (``ProcessExitedException``) and torch's "Terminating process ... via signal SIGTERM"."""
    with pytest.raises(distributed.LaunchError, match=r"^rank 1 was killed \(SIGKILL\)$"):
        distributed.launch(2, _killed_rank, ())
    assert "Terminating process" not in capfd.readouterr().err


def test_train_with_a_killed_rank_says_continue_with_resume(
    cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    def lost(*args: object, **kw: object) -> None:
        raise distributed.RankLostError("rank 1 was killed (SIGKILL)")

    monkeypatch.setattr(distributed, "launch", lost)
    pairs = make_pairs(tmp_path / "pairs", n=4)
    r = cli("train", "--pairs", pairs, "--out", tmp_path / "out", "--nproc", "2", "--size", "tiny")
    assert r.exit_code == 1
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert lines == ["error: rank 1 was killed (SIGKILL); continue with --resume"], r.stderr


# -- 2-rank DDP runs ------------------------------------------------------------------


@pytest.fixture(scope="module")
def ddp_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """An uninterrupted 2-rank run, and one killed after step 5 (last checkpoint: 3)
    then resumed."""
    root = tmp_path_factory.mktemp("ddp")
    pairs = make_pairs(root / "pairs", n=10)
    short = {"steps": 6, "qat_steps": 4, "eval_every": 3, "checkpoint_every": 3}
    events: list = []
    straight = train_processes(_config(pairs, root / "straight", **short), 2, on_event=events.append)
    assert straight.finished and straight.steps_done == 10
    assert [e.step for e in events] == list(range(1, 11))
    killed = train_processes(_config(pairs, root / "resumed", stop_after=5, **short), 2)
    assert not killed.finished and killed.steps_done == 5
    assert load_checkpoint(root / "resumed" / "last.pt")["step"] == 3  # steps 4-5 are redone
    resumed = train_processes(_config(pairs, root / "resumed", resume=True, **short), 2)
    assert resumed.finished and resumed.steps_done == 10
    return {"pairs": pairs, "straight": root / "straight", "resumed": root / "resumed"}


def test_two_rank_run_exports_an_int8_model_and_records_world_size(ddp_runs, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = ddp_runs["straight"]
    report = json.loads((out / "report.json").read_text())
    assert report["world_size"] == 2 and report["backend"] == "gloo" and report["device"] == "cpu"
    assert set(report["best"]) == {"fp32", "qat"}
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.optimized_model_filepath = str(tmp_path / "opt.onnx")
    so.log_severity_level = 3
    ort.InferenceSession(str(out / "model.onnx"), so, providers=["CPUExecutionProvider"])
    ops = collections.Counter(n.op_type for n in onnx.load(str(tmp_path / "opt.onnx")).graph.node)
    n_convs = sum(1 for n in onnx.load(str(out / "model.onnx")).graph.node if n.op_type == "Conv")
    assert n_convs > 10 and ops["QLinearConv"] == n_convs, ops
    assert ops["Conv"] == 0 and ops["FusedConv"] == 0, ops


def test_killed_ddp_run_resumes_to_where_an_uninterrupted_run_ends(ddp_runs) -> None:  # type: ignore[no-untyped-def]
    a = load_checkpoint(ddp_runs["straight"] / "last.pt")
    b = load_checkpoint(ddp_runs["resumed"] / "last.pt")
    assert a["step"] == b["step"] == 10 and a["world_size"] == b["world_size"] == 2
    for k, v in a["model"].items():
        assert torch.allclose(v, b["model"][k], rtol=1e-5, atol=1e-6), k
    ra = json.loads((ddp_runs["straight"] / "report.json").read_text())["history"]
    rb = json.loads((ddp_runs["resumed"] / "report.json").read_text())["history"]
    assert [(h["step"], h["phase"]) for h in ra] == [(h["step"], h["phase"]) for h in rb]
    for ha, hb in zip(ra, rb, strict=True):
        assert ha["val_psnr"] == pytest.approx(hb["val_psnr"], abs=1e-4)
        assert ha["val_ssim"] == pytest.approx(hb["val_ssim"], abs=1e-6)


def test_resume_with_another_process_count_is_refused(ddp_runs, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(TrainError, match="2 process"):
        train(_config(ddp_runs["pairs"], ddp_runs["resumed"], resume=True, stream=True))


def test_ddp_gradients_are_their_bucket_views_no_stride_warning(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """Issue 20 item 7: every rank warned "Grad strides do not match bucket view strides"
    (a 1x1 kernel's gradient in channels-last got strides of autograd's choosing in its
    size-1 dimensions, unlike the parameter DDP built its bucket from).  Gradients are now
    accumulated in the bucket views.  The training patch size (96) is what triggered it."""
    pairs = make_pairs(tmp_path / "pairs", n=6)
    cfg = _config(pairs, tmp_path / "out", steps=2, qat_steps=1, patch_size=96, batch_size=16,
                  eval_every=2, checkpoint_every=2, warmup=1)  # fmt: skip
    assert train_processes(cfg, 2).finished
    assert "Grad strides do not match" not in capfd.readouterr().err

