"""The training loop: FP32 phase → calibrate → QAT phase → export.

``train(TrainConfig) -> TrainResult``. Everything that changes during a run (weights,
optimiser, step, phase, RNG states, best-so-far, history) is in ``OUT/last.pt``, written
atomically every ``checkpoint_every`` steps; ``resume=True`` continues exactly after a
kill. The best state of each phase (by validation PSNR, evaluated every ``eval_every``
steps) is kept: the QAT phase starts from the best FP32 weights (early stopping — small
data overfits), and the exported model is the best QAT state.

At scale (``stream=True``, always on in a distributed run) the training pairs are not
decoded up front: DataLoader workers read them lazily (:mod:`photoenhance.train.stream`),
and the batch of a step is a function of the step alone. Distributed (``WORLD_SIZE`` > 1,
set by torchrun or by ``--nproc``, see :mod:`photoenhance.train.distributed`): the model
is wrapped in ``DistributedDataParallel`` (gradients averaged over the ranks; each rank
trains on its own shard of the pairs, ``batch_size`` pairs per rank and step); rank 0
alone validates, keeps the best states, checkpoints, exports and writes the report, and
broadcasts the best FP32 weights to every rank when QAT starts; calibration ranges are
all-reduced (:func:`photoenhance.quant.qat.sync_observers`). On CUDA the FP32 phase runs
under bf16 autocast (the loss in float32; QAT and its fake quantization in float32).
"""

from __future__ import annotations

import contextlib
import copy
import inspect
import json
import math
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from photoenhance.bundled import bundled_file
from photoenhance.data.degrade import DEFAULT_DEGRADE_CONFIG
from photoenhance.data.pairs import PairDataError, find_pairs, read_flags, split_pairs
from photoenhance.data.synthetic import SyntheticPairSource, list_photos
from photoenhance.metrics import psnr, ssim
from photoenhance.model.fake_quant import ActQuant, quant_mode, set_quant_mode
from photoenhance.model.net import SIZES, EnhanceNet, create_model
from photoenhance.quant.export import export_onnx
from photoenhance.quant.qat import calibrate
from photoenhance.train import distributed
from photoenhance.train.batches import (
    DETAIL_DEGRADE_CONFIG,
    BatchSampler,
    LoadedPairs,
    load_pairs,
)
from photoenhance.train.checkpoint import (
    CheckpointError,
    load_checkpoint,
    model_from_checkpoint,
    rng_state,
    save_checkpoint,
    save_model_checkpoint,
    set_rng_state,
)
from photoenhance.train.losses import LOSSES, training_loss
from photoenhance.train.plot import plot_curves
from photoenhance.train.stream import (
    CALIB_STREAM,
    TRAIN_STREAM,
    PatchStream,
    StreamBatches,
    StreamSpec,
    make_loader,
)

BUNDLED_CHECKPOINT = "photoenhance-small.pt"
SYNTHETIC_VAL_COUNT = 48
STREAM_VAL_LIMIT = 500  # validation pairs kept in memory in stream mode (default)


class TrainError(ValueError):
    """A run cannot start (bad data, bad options, bad checkpoint): one-line message."""


class RankLostError(TrainError):
    """A rank of a ``--nproc`` run was killed (or exited) mid-run; ``--resume`` goes on
    from the last checkpoint."""


@dataclass(frozen=True)
class TrainConfig:
    """A training run. ``pairs`` and/or ``synthetic`` give the data."""

    out: Path
    pairs: Path | None = None
    val_pairs: Path | None = None
    val_fraction: float = 0.15
    split_seed: int = 0
    synthetic: Path | None = None
    synthetic_fraction: float = 0.0  # share of synthetic patches when real pairs are given
    synthetic_tone: bool = False  # False: detail-only degradations (see DETAIL_DEGRADE_CONFIG)
    # share of each batch replaced by identity examples (input = target): half crops of
    # the real pairs' DSLR targets, half clean photos from identity_photos (default: the
    # --synthetic folder). They teach the network to leave a good photo alone.
    identity_fraction: float = 0.0
    identity_photos: Path | None = None
    loss: str = "paper"  # "paper" (2·L_PSNR + L_cos + outlier L1) | "l1mse" (L1 + MSE)
    chroma_weight: float = 0.0  # + this × L1 of chroma (max − min channel) vs the target
    exclude_flagged: bool = True  # honour <pairs>/flags.csv (DPED-style) when present
    resize_target: bool = False
    init: str = "bundled"  # "bundled" | "scratch" | path to a checkpoint
    size: str = "small"  # architecture for init="scratch"
    head: str | None = None  # output head for init="scratch" (None: the size's default)
    steps: int = 2000  # FP32 phase
    qat_steps: int = 600
    batch_size: int = 16
    patch_size: int = 96
    lr: float = 5e-4
    qat_lr: float = 5e-5
    # which FP32 state QAT starts from (and FP32 exports): "best" = early stopping on the
    # validation PSNR; "last" = the (EMA) weights after the last step. Early stopping on
    # DPED PSNR alone keeps an early state, before leaving good photos alone is learned
    select: str = "best"
    # QAT target: "teacher" = the best FP32 model's output (distillation: QAT recovers the
    # FP32 function under quantization instead of fitting — and overfitting — the few
    # pairs again), "pairs" = the DSLR targets, "auto" = teacher when an FP32 phase ran
    qat_target: str = "auto"
    weight_decay: float = 1e-4
    ema_decay: float = 0.998  # validation, best state and export use the weight EMA; 0: off
    warmup: int = 100
    eval_every: int = 200
    checkpoint_every: int = 200
    calib_batches: int = 8
    device: str = "auto"
    seed: int = 0
    threads: int | None = None
    resume: bool = False
    # stop (as if killed) after this global step; for tests. In stream mode no checkpoint
    # is written at the stop (a real kill: the steps since the last checkpoint are redone)
    stop_after: int | None = None
    # -- scale: streaming data, distributed runs, GPU ------------------------------------
    stream: bool = False  # read pairs lazily in DataLoader workers (on with several ranks)
    workers: int = 2  # DataLoader worker processes per rank (stream mode)
    cache_mb: int = 256  # LRU cache of decoded pairs/photos per worker (stream mode)
    val_limit: int | None = None  # stream mode: validation pairs kept (None: STREAM_VAL_LIMIT)
    bf16: bool = True  # CUDA only: bf16 autocast in the FP32 phase
    dist_timeout: float = 1800.0  # seconds a rank waits in a collective before failing

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        return {k: (str(v) if isinstance(v, Path) else v) for k, v in d.items()}


@dataclass(frozen=True)
class EvalPoint:
    step: int
    phase: str
    psnr: float
    ssim: float
    fidelity: float | None = None  # QAT distilling FP32: PSNR against the FP32 model's output


@dataclass(frozen=True)
class TrainResult:
    out: Path
    steps_done: int
    finished: bool
    best_fp32: EvalPoint | None
    best_qat: EvalPoint | None
    seconds: float
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class StepEvent:
    """Progress report after each step (and each evaluation)."""

    step: int
    total: int
    phase: str
    loss: float
    val_psnr: float | None
    best_psnr: float | None


def _device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise TrainError("--device cuda: no CUDA device available")
    if name not in ("cpu", "cuda"):
        raise TrainError(f"--device must be cpu, cuda or auto, not {name!r}")
    return torch.device(name)


def lr_at(step: int, total: int, base: float, warmup: int) -> float:
    """Linear warm-up then cosine decay to 2 % of ``base`` over ``total`` steps."""
    if total <= 0:
        return base
    if warmup > 0 and step < warmup:
        return base * (step + 1) / warmup
    t = min(max((step - warmup) / max(total - warmup, 1), 0.0), 1.0)
    return base * (0.02 + 0.98 * 0.5 * (1.0 + math.cos(math.pi * t)))


def _optimizer(net: EnhanceNet, cfg: TrainConfig) -> torch.optim.Optimizer:
    decay, no_decay = [], []
    for name, p in net.named_parameters():
        if not p.requires_grad:
            continue
        (decay if name.endswith("weight") and p.ndim == 4 else no_decay).append(p)
    return torch.optim.AdamW(
        [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=cfg.lr,
    )


def _initial_model(cfg: TrainConfig) -> EnhanceNet:
    if cfg.init == "scratch":
        try:
            if cfg.size not in SIZES:
                raise ValueError(f"unknown model size {cfg.size!r}; choose from {', '.join(SIZES)}")
            base = SIZES[cfg.size]
            return create_model(replace(base, head=cfg.head) if cfg.head else base)
        except ValueError as exc:
            raise TrainError(str(exc)) from exc
    path = bundled_file(BUNDLED_CHECKPOINT) if cfg.init == "bundled" else Path(cfg.init)
    try:
        net = model_from_checkpoint(load_checkpoint(path), path=path)
    except CheckpointError as exc:
        raise TrainError(str(exc)) from exc
    set_quant_mode(net, "float")
    return net


@dataclass
class _Data:
    sampler: BatchSampler | None  # in-memory batches (None in stream mode)
    val: LoadedPairs
    summary: dict[str, Any]
    spec: StreamSpec | None = None  # stream mode: what the DataLoader workers read


def _no_validation(
    cfg: TrainConfig, found: int, held_out: int, usable: int | None, problems: list[str]
) -> str:
    """Why there is no validation pair: how many pairs survived and why the others were
    dropped (a small set whose held-out pairs are all unusable is the usual cause)."""
    why = f" (e.g. {problems[0]})" if problems else ""
    if cfg.pairs is None:
        return "no validation data: give --val-pairs or a --val-fraction > 0"
    if cfg.val_pairs is not None:
        return f"no validation data: none of the {held_out} pairs in {cfg.val_pairs} is usable{why}"
    if cfg.val_fraction <= 0:
        return "no validation data: give --val-pairs or a --val-fraction > 0"
    if held_out == 0:
        return (f"no validation data: {cfg.pairs} has {found} pair(s), too few to hold one out; "
                "give --val-pairs")  # fmt: skip
    eg = f", e.g. {problems[0]}" if problems else ""
    kept = ""
    if usable is not None:
        kept = f"{usable} of {found} pairs are usable ({found - usable} dropped{eg}); "
    them = "the pair" if held_out == 1 else f"all {held_out} pairs"
    return (
        f"no validation data: {kept}{them} --val-fraction {cfg.val_fraction:g} held out "
        f"{'was' if held_out == 1 else 'were'} unusable{why if usable is None else ''}; give "
        "--val-pairs, a larger --val-fraction, or --resize-target for pairs whose sizes differ"
    )


def _prepare_data(cfg: TrainConfig, rng: np.random.Generator, *, stream: bool = False,
                  main: bool = True) -> _Data:
    """The training data and the validation set. ``stream``: the training pairs stay file
    paths (a :class:`StreamSpec`) and at most ``val_limit`` validation pairs are decoded,
    on the ``main`` rank only (the others keep their names: rank 0 alone validates)."""
    summary: dict[str, Any] = {}
    found = held_out = 0
    usable: int | None = None  # pairs that decoded (unknown in stream mode)
    train_pairs: LoadedPairs | None = None
    train_list: tuple = ()
    val: LoadedPairs | None = None
    problems: list[str] = []
    if cfg.pairs is not None:
        flags = Path(cfg.pairs) / "flags.csv"
        exclude = read_flags(flags) if cfg.exclude_flagged and flags.is_file() else frozenset()
        try:
            pairset = find_pairs(cfg.pairs, exclude=exclude)
        except PairDataError as exc:
            raise TrainError(str(exc)) from exc
        problems += list(pairset.problems)
        found = len(pairset.pairs)
        if cfg.val_pairs is not None:
            try:
                vset = find_pairs(cfg.val_pairs)
            except PairDataError as exc:
                raise TrainError(str(exc)) from exc
            tr, va = pairset.pairs, vset.pairs
            problems += list(vset.problems)
        elif cfg.val_fraction > 0 and len(pairset.pairs) >= 2:
            tr, va = split_pairs(pairset.pairs, cfg.val_fraction, cfg.split_seed)
        else:
            tr, va = pairset.pairs, ()
        held_out = len(va)
        if stream:
            if not tr:
                raise TrainError(f"{cfg.pairs}: no training pair")
            train_list = tuple(tr)
            limit = cfg.val_limit if cfg.val_limit is not None else STREAM_VAL_LIMIT
            if len(va) > limit:
                summary["val_pairs_held_out"] = len(va)  # held out, only `limit` validated
                va = va[:limit]
            if main:
                val = load_pairs(va, resize_target=cfg.resize_target)
            else:  # names only: rank 0 alone validates
                val = LoadedPairs(tuple(p.name for p in va), (), (), ())
            problems += list(val.problems)
            n_train = len(tr)
        else:
            train_pairs = load_pairs(tr, resize_target=cfg.resize_target)
            val = load_pairs(va, resize_target=cfg.resize_target)
            problems += list(train_pairs.problems) + list(val.problems)
            if not train_pairs.names:
                raise TrainError(f"{cfg.pairs}: no usable training pair ({len(problems)} problems)")
            n_train = len(train_pairs.names)
        summary.update(
            pairs_root=str(cfg.pairs),
            layout=pairset.layout,
            excluded_flagged=sorted(exclude, key=lambda s: (len(s), s)),
            train_pairs=n_train,
            val_pairs=list(val.names),
        )
        usable = None if stream else n_train + len(val.names)
    synthetic = None
    degrade = DEFAULT_DEGRADE_CONFIG if cfg.synthetic_tone else DETAIL_DEGRADE_CONFIG
    if cfg.synthetic is not None:
        try:
            synthetic = SyntheticPairSource(
                cfg.synthetic,
                cfg.patch_size,
                rng,
                cfg=degrade,
            )
        except (FileNotFoundError, ValueError) as exc:
            raise TrainError(f"{cfg.synthetic}: {exc}") from exc
        summary.update(synthetic_root=str(cfg.synthetic), synthetic_photos=len(synthetic.photos))
    if train_pairs is None and not train_list and synthetic is None:
        raise TrainError("no training data: give --pairs and/or --synthetic")
    if val is None or not val.names:
        if synthetic is None:
            raise TrainError(_no_validation(cfg, found, held_out, usable, problems))
        # a fixed synthetic validation set (own seed: independent of the training stream)
        vsrc = SyntheticPairSource(
            synthetic.photos, cfg.patch_size, np.random.default_rng(cfg.split_seed + 1234), cfg=degrade,
            **({"cache_bytes": cfg.cache_mb << 20} if stream else {}),
        )
        samples = [vsrc.sample() for _ in range(SYNTHETIC_VAL_COUNT)]
        val = LoadedPairs(
            tuple(f"synthetic-{i}" for i in range(len(samples))),
            tuple(s[0] for s in samples),
            tuple(s[1] for s in samples),
            (),
        )
        summary["validation"] = f"{SYNTHETIC_VAL_COUNT} fixed synthetic pairs"
    else:
        summary["validation"] = f"{len(val.names)} real pairs"
    identity = None
    id_root = cfg.identity_photos if cfg.identity_photos is not None else cfg.synthetic
    if stream:
        id_photos: tuple[Path, ...] = ()
        if cfg.identity_fraction > 0 and id_root is not None:
            try:
                id_photos = list_photos(id_root)
            except FileNotFoundError as exc:
                raise TrainError(f"{id_root}: {exc}") from exc
            summary.update(identity_photos=str(id_root), identity_photo_count=len(id_photos))
        summary["problems"] = problems
        try:
            spec = StreamSpec(
                train_list, cfg.patch_size,
                photos=synthetic.photos if synthetic is not None else (),
                synthetic_fraction=cfg.synthetic_fraction, identity_fraction=cfg.identity_fraction,
                identity_photos=id_photos, degrade=degrade, resize_target=cfg.resize_target,
                cache_bytes=cfg.cache_mb << 20,
            )
        except ValueError as exc:
            raise TrainError(f"--identity-share: {exc}") from exc
        return _Data(None, val, summary, spec)
    if cfg.identity_fraction > 0 and id_root is not None:
        if synthetic is not None and id_root == cfg.synthetic:
            identity = synthetic  # the same photos: one decoded-photo cache, not two
        else:
            try:
                identity = SyntheticPairSource(id_root, cfg.patch_size, rng, cfg=degrade)
            except (FileNotFoundError, ValueError) as exc:
                raise TrainError(f"{id_root}: {exc}") from exc
        summary.update(identity_photos=str(id_root), identity_photo_count=len(identity.photos))
    summary["problems"] = problems
    try:
        sampler = BatchSampler(train_pairs, synthetic, cfg.patch_size, cfg.synthetic_fraction, rng,
                               identity_fraction=cfg.identity_fraction, identity_photos=identity)
    except ValueError as exc:
        raise TrainError(f"--identity-share: {exc}") from exc
    return _Data(sampler, val, summary)


@torch.no_grad()
def predict(net: EnhanceNet, images: list[np.ndarray], device: torch.device) -> list[np.ndarray]:
    """``net`` (in its current quant mode, eval mode) on each HWC image in [0, 1] → its
    HWC outputs, clamped to [0, 1]."""
    was = net.training
    net.eval()
    try:
        return [
            net(torch.from_numpy(np.ascontiguousarray(a.transpose(2, 0, 1)))[None].to(device))[0]
            .clamp(0, 1).cpu().numpy().transpose(1, 2, 0)
            for a in images
        ]
    finally:
        net.train(was)


def mean_psnr(outputs: list[np.ndarray], targets: list[np.ndarray]) -> float:
    """Mean per-pair PSNR, each capped at 100 dB (identical pairs)."""
    return float(np.mean([min(psnr(y, t), 100.0) for y, t in zip(outputs, targets, strict=True)]))


def mean_ssim(outputs: list[np.ndarray], targets: list[np.ndarray]) -> float:
    return float(np.mean([ssim(y, t) for y, t in zip(outputs, targets, strict=True)]))


def _state_copy(net: EnhanceNet) -> dict[str, torch.Tensor]:
    return {k: v.detach().cpu().clone() for k, v in net.state_dict().items()}


class WeightEMA:
    """Exponential moving average of every floating-point tensor of the state dict
    (weights, biases, learned quantizer scales); integer/bool buffers are copied.
    The decay warms up as ``min(decay, (1 + n) / (10 + n))``."""

    def __init__(self, net: EnhanceNet, decay: float, state: dict[str, torch.Tensor] | None = None,
                 updates: int = 0):
        self.decay = decay
        self.updates = updates
        src = state if state is not None else net.state_dict()
        self.state = {k: v.detach().clone().to(net_device(net)) for k, v in src.items()}

    @torch.no_grad()
    def update(self, net: EnhanceNet) -> None:
        self.updates += 1
        d = min(self.decay, (1 + self.updates) / (10 + self.updates))
        for k, v in net.state_dict().items():
            e = self.state[k]
            if e.dtype.is_floating_point:
                e.mul_(d).add_(v.detach(), alpha=1.0 - d)
            else:
                e.copy_(v)

    def cpu_state(self) -> dict[str, torch.Tensor]:
        return {k: v.detach().cpu().clone() for k, v in self.state.items()}


def net_device(net: EnhanceNet) -> torch.device:
    return next(net.parameters()).device


def train(
    cfg: TrainConfig, on_event: Callable[[StepEvent], None] | None = None
) -> TrainResult:
    """Run (or resume) a training run into ``cfg.out``; see the module docstring."""
    t_start = time.perf_counter()
    if cfg.steps < 0 or cfg.qat_steps < 0 or cfg.steps + cfg.qat_steps == 0:
        raise TrainError("--steps and --qat-steps must be >= 0 and not both 0")
    if cfg.qat_target not in ("auto", "teacher", "pairs"):
        raise TrainError("--qat-target must be auto, teacher or pairs")
    if cfg.select not in ("best", "last"):
        raise TrainError("--select must be best or last")
    if cfg.loss not in LOSSES:
        raise TrainError(f"--loss must be one of {', '.join(LOSSES)}")
    if cfg.batch_size < 1 or cfg.patch_size < 16:
        raise TrainError("--batch-size must be >= 1 and --patch-size >= 16")
    if cfg.workers < 0 or cfg.cache_mb < 0:
        raise TrainError("--workers and --cache-mb must be >= 0")
    try:
        info, dist_device = distributed.init(cfg.device, cfg.dist_timeout)
    except ValueError as exc:
        raise TrainError(str(exc)) from exc
    device = dist_device if dist_device is not None else _device(cfg.device)
    stream = cfg.stream or info.distributed
    main = info.is_main
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True  # fixed patch shapes: let cuDNN pick kernels
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    last = out / "last.pt"

    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    data = _prepare_data(cfg, rng, stream=stream, main=main)
    runtime = {"world_size": info.world_size, "backend": info.backend, "device": str(device),
               "stream": stream, **({"workers": cfg.workers, "cache_mb": cfg.cache_mb} if stream else {})}
    net = _initial_model(cfg)
    total = cfg.steps + cfg.qat_steps
    step, phase = 0, "fp32"
    history: list[dict[str, Any]] = []
    best: dict[str, dict[str, Any]] = {}  # phase -> {"step", "psnr", "ssim", "state"}

    ckpt: dict[str, Any] | None = None
    if cfg.resume:
        # rank 0 reads OUT/last.pt and sends it to the other ranks (other nodes need not
        # see OUT); one process: read directly
        if main and last.is_file():
            try:
                ckpt = load_checkpoint(last)
            except CheckpointError as exc:
                raise TrainError(str(exc)) from exc
        ckpt = distributed.broadcast_object(ckpt)
    if ckpt is not None:
        try:
            net = model_from_checkpoint(ckpt, path=last)
        except CheckpointError as exc:
            raise TrainError(str(exc)) from exc
        step, phase = int(ckpt["step"]), str(ckpt["phase"])
        was = (int(ckpt.get("world_size", 1)), bool(ckpt.get("stream", False)))
        if was != (info.world_size, stream):
            raise TrainError(
                f"{last}: written by a run with {was[0]} process(es), stream={was[1]}; resume it "
                f"the same way (now {info.world_size}, stream={stream})"
            )
        history = list(ckpt["history"])
        best = dict(ckpt["best"])
        set_rng_state(rng, ckpt["np_rng"])
        torch.set_rng_state(ckpt["torch_rng"])
    # channels-last is ~1.7x faster for these narrow convs on CPU (oneDNN)
    net.to(device, memory_format=torch.channels_last).train()
    set_quant_mode(net, "quant" if phase == "qat" else "float")
    model: torch.nn.Module = _wrap_ddp(net, info, device, phase)
    opt = _optimizer(net, cfg)
    ema = WeightEMA(net, cfg.ema_decay) if cfg.ema_decay > 0 else None
    if ckpt is not None:
        opt.load_state_dict(ckpt["optimizer"])
        if ema is not None and "ema" in ckpt:
            ema = WeightEMA(net, cfg.ema_decay, ckpt["ema"], int(ckpt["ema_updates"]))

    def checkpoint() -> None:
        save_checkpoint(
            last,
            {
                "config": net.config.to_dict(),
                "model": _state_copy(net),
                "quant_mode": quant_mode(net),
                "optimizer": opt.state_dict(),
                "step": step,
                "phase": phase,
                "history": history,
                "best": best,
                "np_rng": rng_state(rng),
                "torch_rng": torch.get_rng_state(),
                "world_size": info.world_size,
                "stream": stream,
                **({"ema": ema.cpu_state(), "ema_updates": ema.updates} if ema is not None else {}),
                "train_config": json.dumps(cfg.to_json()),
            },
        )

    def validate() -> float:
        """Validation of the EMA weights (or the raw ones without EMA). The best state of
        a phase is the one with the highest validation PSNR against the DSLR targets —
        except when QAT distils the FP32 model: then it is the one most faithful to that
        model (PSNR against its output on the validation inputs). Picking a QAT state by
        its PSNR on a few real pairs would pick noise: the QAT objective is the teacher."""
        nonlocal teacher_val
        raw = None
        if ema is not None:
            raw = _state_copy(net)
            net.load_state_dict(ema.state)
        outs = predict(net, data.val.inputs, device)  # one run serves both measures
        p, s = mean_psnr(outs, data.val.targets), mean_ssim(outs, data.val.targets)
        entry: dict[str, Any] = {"step": step, "phase": phase, "val_psnr": p, "val_ssim": s}
        score = p
        if phase == "qat" and teacher is not None:
            if teacher_val is None:  # the teacher is fixed for the phase: run it once
                teacher_val = predict(teacher, data.val.inputs, device)
            score = entry["val_fidelity"] = mean_psnr(outs, teacher_val)
        history.append(entry)
        keep_last = phase == "fp32" and cfg.select == "last"
        if keep_last or phase not in best or score > best[phase].get("score", best[phase]["psnr"]):
            best[phase] = {
                "step": step, "psnr": p, "ssim": s, "score": score,
                "fidelity": entry.get("val_fidelity"), "state": _state_copy(net),
            }
        if raw is not None:
            net.load_state_dict(raw)
        return p

    use_teacher = cfg.qat_target == "teacher" or (cfg.qat_target == "auto" and cfg.steps > 0)
    teacher: EnhanceNet | None = None
    teacher_val: list[np.ndarray] | None = None  # the teacher's outputs on the validation inputs

    def make_teacher(from_best: bool = True) -> EnhanceNet:
        t = copy.deepcopy(net).eval()
        if from_best and "fp32" in best:
            t.load_state_dict(best["fp32"]["state"])
        set_quant_mode(t, "float")
        for p_ in t.parameters():
            p_.requires_grad_(False)
        return t

    if phase == "qat" and use_teacher:
        teacher = make_teacher()
    pin = device.type == "cuda"
    batches: Any = None  # stream mode: the DataLoader iterator of the current phase
    stream_problems: list[str] = []

    def stream_loader(start: int, stop: int, kind: int) -> Any:
        assert data.spec is not None
        sampler = StreamBatches(data.spec.size, cfg.batch_size, start, stop, seed=cfg.seed,
                                rank=info.rank, world_size=info.world_size, stream=kind)
        return make_loader(PatchStream(data.spec), sampler, cfg.workers, pin_memory=pin)

    def next_batch() -> tuple[torch.Tensor, torch.Tensor]:
        nonlocal batches
        if data.sampler is not None:
            return data.sampler.sample(cfg.batch_size)
        if batches is None:
            batches = iter(stream_loader(step, cfg.steps if phase == "fp32" else total, TRAIN_STREAM))
        x_, y_, problems_ = next(batches)
        stream_problems.extend(problems_)
        return x_, y_

    def calibration_batches() -> Any:
        if data.sampler is not None:
            return (
                (data.sampler.sample(cfg.batch_size)[0].to(device, memory_format=torch.channels_last),)
                for _ in range(cfg.calib_batches)
            )
        return ((x_.to(device, memory_format=torch.channels_last),)
                for x_, _, _ in stream_loader(0, cfg.calib_batches, CALIB_STREAM))

    val_psnr: float | None = None
    while step < total:
        if phase == "fp32" and step >= cfg.steps:
            # QAT starts from the best FP32 weights (early stopping on the validation split)
            if "fp32" in best:
                net.load_state_dict(best["fp32"]["state"])
            distributed.broadcast_module(net)  # rank 0 alone knows the best state
            if use_teacher:
                teacher, teacher_val = make_teacher(from_best=False), None  # net is the best
            calibrate(net, calibration_batches())
            phase = "qat"
            batches = None
            model = _wrap_ddp(net, info, device, phase)
            opt = _optimizer(net, cfg)
            ema = WeightEMA(net, cfg.ema_decay) if cfg.ema_decay > 0 else None
            if main:
                validate()  # QAT-INT8 quality right after calibration (PTQ-like starting point)
        in_qat = phase == "qat"
        local = step - cfg.steps if in_qat else step
        n_phase = cfg.qat_steps if in_qat else cfg.steps
        lr = lr_at(local, n_phase, cfg.qat_lr if in_qat else cfg.lr, 0 if in_qat else cfg.warmup)
        for g in opt.param_groups:
            g["lr"] = lr
        x, y = next_batch()
        x = x.to(device, memory_format=torch.channels_last, non_blocking=pin)
        y = y.to(device, non_blocking=pin)
        if teacher is not None and in_qat:
            with torch.no_grad():
                y = teacher(x).clamp(0, 1).contiguous()
        with _autocast(device, cfg.bf16 and not in_qat):
            pred = model(x)
        loss, parts = training_loss(cfg.loss, pred.float(), y, cfg.chroma_weight)
        opt.zero_grad(set_to_none=not info.distributed)  # DDP: gradients stay bucket views
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        opt.step()
        if ema is not None:
            ema.update(net)
        step += 1
        history.append({"step": step, "phase": phase, "loss": loss.item(), "lr": lr, **parts})
        end_of_phase = step == cfg.steps or step == total
        if main and (step % cfg.eval_every == 0 or end_of_phase):
            val_psnr = validate()
        if main and (step % cfg.checkpoint_every == 0 or end_of_phase):
            checkpoint()
        if on_event is not None and main:
            bp = best.get(phase, {}).get("psnr")
            on_event(StepEvent(step, total, phase, loss.item(), val_psnr, bp))
        if cfg.stop_after is not None and step >= cfg.stop_after and step < total:
            if main and not stream:
                checkpoint()
            batches = None
            _leave(info)
            return TrainResult(out, step, False, _point(best, "fp32"), _point(best, "qat"),
                               time.perf_counter() - t_start, data.summary)

    batches = None  # shuts the DataLoader workers down
    if stream:
        data.summary["problems"] = list(data.summary["problems"]) + [
            m for m in distributed.gather_lines(stream_problems) if m not in data.summary["problems"]
        ]
    if main:
        _finish(cfg, net, best, history, data, out, time.perf_counter() - t_start, runtime)
    _leave(info)
    return TrainResult(out, step, True, _point(best, "fp32"), _point(best, "qat"),
                       time.perf_counter() - t_start, data.summary)


def train_processes(cfg: TrainConfig, nproc: int,
                    on_event: Callable[[StepEvent], None] | None = None) -> TrainResult:
    """``train(cfg)`` in ``nproc`` DDP processes on this machine (``--nproc``): the result
    and progress events of rank 0; ``nproc == 1`` is plain :func:`train`."""
    if nproc < 1:
        raise TrainError("--nproc must be >= 1")
    if nproc == 1:
        return train(cfg, on_event)
    if distributed.env_info().distributed:
        raise TrainError("--nproc inside a distributed launch (torchrun): use one or the other")
    if cfg.device != "cpu" and torch.cuda.is_available() and nproc > torch.cuda.device_count():
        raise TrainError(f"--nproc {nproc}: only {torch.cuda.device_count()} CUDA device(s); "
                         f"one process per GPU (or --device cpu)")

    def on_message(rank: int, kind: str, payload: Any) -> None:
        if kind == "event" and on_event is not None:
            on_event(payload)

    try:
        result = distributed.launch(nproc, _train_rank, (cfg, nproc), on_message)
    except distributed.RankLostError as exc:
        raise RankLostError(f"{exc}; continue with --resume") from exc
    except distributed.LaunchError as exc:
        raise TrainError(str(exc)) from exc
    assert isinstance(result, TrainResult)
    return result


def _train_rank(cfg: TrainConfig, nproc: int, send: Callable[[str, Any], None]) -> TrainResult | None:
    """One rank of :func:`train_processes`: the CPU threads shared out, rank 0's events
    sent to the launcher."""
    if cfg.threads is None:
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // nproc))
    main = int(os.environ.get("RANK", "0")) == 0
    result = train(cfg, on_event=(lambda e: send("event", e)) if main else None)
    return result if main else None


def _leave(info: distributed.DistInfo) -> None:
    """Wait for every rank (rank 0 may still be writing), then leave the process group
    if this run created it."""
    if info.distributed:
        distributed.barrier()
        if info.owns_group:
            distributed.cleanup()


def _autocast(device: torch.device, bf16: bool) -> Any:
    """bf16 autocast on CUDA (convolutions in bf16, the loss outside it in float32)."""
    if bf16 and device.type == "cuda":
        return torch.autocast(device_type="cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def _wrap_ddp(net: EnhanceNet, info: distributed.DistInfo, device: torch.device,
              phase: str) -> torch.nn.Module:
    """``net`` in ``DistributedDataParallel`` for ``phase`` (``net`` itself for one
    process). DDP expects a gradient for every parameter that requires one, and the learned
    activation scales take no part in the FP32 phase: they are frozen for it (rather than
    ``find_unused_parameters=True``, which searches the autograd graph every step).
    Buffers (observer ranges, zero points, masks) are equal on every rank and do not change
    while training, so they are not re-broadcast each step."""
    if not info.distributed:
        return net
    from torch.nn.parallel import DistributedDataParallel

    for m in net.modules():
        if isinstance(m, ActQuant) and not m.fixed:
            m.scale.requires_grad_(phase == "qat")
    # Gradients live in DDP's buckets (``gradient_as_bucket_view``, kept from step to step:
    # the loop zeroes them rather than dropping them).  Otherwise autograd makes a new
    # gradient each step with strides of its own choosing in size-1 dimensions - a 1x1
    # kernel's gradient in channels-last came as (16, 1, 16, 16) for a (16, 1, 1, 1)
    # parameter, or the other way round, depending on the kernel that computed it - and DDP
    # copied it into its bucket and warned "Grad strides do not match bucket view strides"
    # on every rank.  Accumulated into the bucket view, a gradient has the parameter's
    # strides by construction (and one copy per step is saved).
    with torch.no_grad():
        for p_ in net.parameters():
            if p_.requires_grad and p_.grad is None:
                p_.grad = torch.zeros_like(p_)  # same strides; DDP swaps in its bucket view
    # torch >= 2.13 renamed the per-step buffer broadcast (the old name still works, warning)
    no_sync = ("forward_sync_buffers" if "forward_sync_buffers"
               in inspect.signature(DistributedDataParallel.__init__).parameters else "broadcast_buffers")
    return DistributedDataParallel(
        net, device_ids=[device.index] if device.type == "cuda" else None,
        gradient_as_bucket_view=True, **{no_sync: False},
    )


def _point(best: dict[str, dict[str, Any]], phase: str) -> EvalPoint | None:
    b = best.get(phase)
    if b is None:
        return None
    fid = b.get("fidelity")
    return EvalPoint(int(b["step"]), phase, float(b["psnr"]), float(b["ssim"]),
                     None if fid is None else float(fid))


def _finish(
    cfg: TrainConfig,
    net: EnhanceNet,
    best: dict[str, dict[str, Any]],
    history: list[dict[str, Any]],
    data: _Data,
    out: Path,
    seconds: float,
    runtime: dict[str, Any] | None = None,
) -> None:
    """Export the best states: INT8 (QAT) + FP32 ONNX, checkpoint, report, curves."""
    net = copy.deepcopy(net).cpu().eval()
    final_phase = "qat" if "qat" in best else "fp32"
    net.load_state_dict(best[final_phase]["state"])
    set_quant_mode(net, "quant" if final_phase == "qat" else "float")
    if final_phase == "qat":
        export_onnx(net, out / "model.onnx", int8=True)
    # FP32 reference = the best FP32-phase model (what PTQ would start from); without an
    # FP32 phase, the QAT weights run in float
    fp32 = copy.deepcopy(net)
    if "fp32" in best:
        fp32.load_state_dict(best["fp32"]["state"])
    set_quant_mode(fp32, "float")
    export_onnx(fp32, out / "model-fp32.onnx", int8=False)
    save_model_checkpoint(out / "checkpoint.pt", net, quant_mode(net))
    loss_pts = [(h["step"], h["loss"]) for h in history if "loss" in h]
    # smooth the loss for the plot (window 25)
    sm: list[tuple[float, float]] = []
    acc: list[float] = []
    for s, v in loss_pts:
        acc.append(v)
        acc = acc[-25:]
        sm.append((s, sum(acc) / len(acc)))
    val_pts = [(h["step"], h["val_psnr"]) for h in history if "val_psnr" in h]
    plot_curves(out / "curves.png", sm, val_pts, qat_start=cfg.steps if cfg.qat_steps else None)
    report = {
        **(runtime or {}),  # world_size, backend, device, stream
        "config": cfg.to_json(),
        "model": net.config.to_dict(),
        "data": data.summary,
        "best": {k: {kk: vv for kk, vv in v.items() if kk != "state"} for k, v in best.items()},
        "seconds": seconds,
        "history": [h for h in history if "val_psnr" in h],
        "files": {
            "int8": "model.onnx" if final_phase == "qat" else None,
            "fp32": "model-fp32.onnx",
            "checkpoint": "checkpoint.pt",
            "curves": "curves.png",
        },
    }
    (out / "report.json").write_text(json.dumps(report, indent=2))
