"""One training run as steps: :meth:`Trainer.train_fp32` → :meth:`Trainer.calibrate` →
:meth:`Trainer.train_qat` → :meth:`Trainer.export` (:meth:`Trainer.run` takes them in turn).

Everything that changes during a run (weights, optimiser, step, phase, RNG states,
best-so-far, history) is in ``OUT/last.pt``, written atomically every
``checkpoint_every`` steps and at the end of each phase; ``resume=True`` continues exactly
after a kill. The best state of each phase (by validation PSNR, evaluated every
``eval_every`` steps) is kept: the QAT phase starts from the best FP32 weights (early
stopping — small data overfits), and the exported model is the best QAT state. See
:mod:`photoenhance.train.loop` for streaming, distributed runs and bf16.
"""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from photoenhance.model.fake_quant import quant_mode, set_quant_mode
from photoenhance.model.net import EnhanceNet
from photoenhance.quant.qat import calibrate
from photoenhance.train import distributed
from photoenhance.train.checkpoint import (
    CheckpointError,
    load_checkpoint,
    model_from_checkpoint,
    rng_state,
    save_checkpoint,
    set_rng_state,
)
from photoenhance.train.config import TrainConfig
from photoenhance.train.data import prepare_data
from photoenhance.train.ddp import wrap_ddp
from photoenhance.train.ema import WeightEMA, state_copy
from photoenhance.train.errors import TrainError
from photoenhance.train.feed import BatchFeed
from photoenhance.train.losses import training_loss
from photoenhance.train.outputs import write_outputs
from photoenhance.train.predict import mean_psnr, mean_ssim, predict
from photoenhance.train.results import StepEvent, TrainResult, point
from photoenhance.train.setup import autocast, initial_model, lr_at, make_optimizer, pick_device


class Trainer:
    """A run set up (process group, device, data, network, or the state of ``OUT/last.pt``
    with ``resume``), ready to take its steps. ``on_event`` gets a :class:`StepEvent` after
    each step (rank 0 only)."""

    def __init__(self, cfg: TrainConfig, on_event: Callable[[StepEvent], None] | None = None,
                 *, t_start: float | None = None):
        self.t_start = time.perf_counter() if t_start is None else t_start
        cfg.check()
        self.cfg, self.on_event = cfg, on_event
        try:
            self.info, dist_device = distributed.init(cfg.device, cfg.dist_timeout)
        except ValueError as exc:
            raise TrainError(str(exc)) from exc
        self.device = dist_device if dist_device is not None else pick_device(cfg.device)
        self.stream = cfg.stream or self.info.distributed
        self.main = self.info.is_main
        if self.device.type == "cuda":
            torch.backends.cudnn.benchmark = True  # fixed patch shapes: let cuDNN pick kernels
        if cfg.threads:
            torch.set_num_threads(cfg.threads)
        self.out = Path(cfg.out)
        self.out.mkdir(parents=True, exist_ok=True)
        self.last = self.out / "last.pt"

        torch.manual_seed(cfg.seed)
        self.rng = np.random.default_rng(cfg.seed)
        self.data = prepare_data(cfg, self.rng, stream=self.stream, main=self.main)
        self.runtime = {"world_size": self.info.world_size, "backend": self.info.backend,
                        "device": str(self.device), "stream": self.stream,
                        **({"workers": cfg.workers, "cache_mb": cfg.cache_mb} if self.stream else {})}
        self.net: EnhanceNet = initial_model(cfg)
        self.total = cfg.total_steps
        self.step, self.phase = 0, "fp32"
        self.history: list[dict[str, Any]] = []
        self.best: dict[str, dict[str, Any]] = {}  # phase -> {"step", "psnr", "ssim", "state"}
        ckpt = self._read_last() if cfg.resume else None
        if ckpt is not None:
            self._restore(ckpt)
        # channels-last is ~1.7x faster for these narrow convs on CPU (oneDNN)
        self.net.to(self.device, memory_format=torch.channels_last).train()
        set_quant_mode(self.net, "quant" if self.phase == "qat" else "float")
        self._new_optimiser()
        if ckpt is not None:
            self.opt.load_state_dict(ckpt["optimizer"])
            if self.ema is not None and "ema" in ckpt:
                self.ema = WeightEMA(self.net, cfg.ema_decay, ckpt["ema"], int(ckpt["ema_updates"]))
        self.teacher: EnhanceNet | None = None  # QAT distilling the best FP32 model
        self.teacher_val: list[np.ndarray] | None = None  # its outputs on the validation inputs
        if self.phase == "qat" and cfg.uses_teacher:
            self.teacher = self._make_teacher()
        self.pin = self.device.type == "cuda"
        self.feed = BatchFeed(cfg, self.data, self.info, self.pin)
        self.val_psnr: float | None = None  # the last validation of the loop (for events)

    # -- the steps ----------------------------------------------------------------------

    def run(self) -> TrainResult:
        """All the steps (those a resumed run has left); a result with ``finished=False``
        when ``stop_after`` stopped it."""
        if self.phase == "fp32":
            if not self.train_fp32():
                return self._stopped()
            if self.step < self.total:
                self.calibrate()
        if not self.train_qat():
            return self._stopped()
        return self.export()

    def train_fp32(self) -> bool:
        """The FP32 phase (bf16 autocast on CUDA), up to ``steps``; False if stopped."""
        return self._train_until(self.cfg.steps)

    def calibrate(self) -> None:
        """Start QAT from the best FP32 weights (sent to every rank): the teacher fixed,
        the quantizer ranges calibrated, a fresh optimiser and EMA, then one validation
        (the QAT-INT8 quality right after calibration, a PTQ-like starting point)."""
        if "fp32" in self.best:
            self.net.load_state_dict(self.best["fp32"]["state"])
        distributed.broadcast_module(self.net)  # rank 0 alone knows the best state
        if self.cfg.uses_teacher:
            self.teacher, self.teacher_val = self._make_teacher(from_best=False), None  # net is the best
        calibrate(self.net, self.feed.calibration(self.device))
        self.phase = "qat"
        self.feed.close()
        self._new_optimiser()
        if self.main:
            self.validate()

    def train_qat(self) -> bool:
        """The QAT phase, up to ``steps + qat_steps``; False if stopped."""
        return self._train_until(self.total)

    def export(self) -> TrainResult:
        """The run's files (rank 0: ONNX models, checkpoint, curves, report); every rank
        waits for them and leaves the process group."""
        self.feed.close()  # shuts the DataLoader workers down
        data = self.data
        if self.stream:
            data.summary["problems"] = list(data.summary["problems"]) + [
                m for m in distributed.gather_lines(self.feed.problems) if m not in data.summary["problems"]
            ]
        if self.main:
            write_outputs(self.cfg, self.net, self.best, self.history, data, self.out,
                          time.perf_counter() - self.t_start, self.runtime)
        distributed.leave(self.info)
        return self._result(finished=True)

    # -- one step -----------------------------------------------------------------------

    def _train_until(self, end: int) -> bool:
        while self.step < end:
            loss = self._learn(end)
            self._after_step(loss, end)
            if self.cfg.stop_after is not None and self.cfg.stop_after <= self.step < self.total:
                return False
        return True

    def _learn(self, end: int) -> float:
        """One optimiser step on the batch of ``self.step``; the step's loss."""
        cfg, in_qat = self.cfg, self.phase == "qat"
        local = self.step - cfg.steps if in_qat else self.step
        n_phase = cfg.qat_steps if in_qat else cfg.steps
        lr = lr_at(local, n_phase, cfg.qat_lr if in_qat else cfg.lr, 0 if in_qat else cfg.warmup)
        for g in self.opt.param_groups:
            g["lr"] = lr
        x, y = self.feed.next(self.step, end)
        x = x.to(self.device, memory_format=torch.channels_last, non_blocking=self.pin)
        y = y.to(self.device, non_blocking=self.pin)
        if self.teacher is not None and in_qat:
            with torch.no_grad():
                y = self.teacher(x).clamp(0, 1).contiguous()
        with autocast(self.device, cfg.bf16 and not in_qat):
            pred = self.model(x)
        loss, parts = training_loss(cfg.loss, pred.float(), y, cfg.chroma_weight)
        self.opt.zero_grad(set_to_none=not self.info.distributed)  # DDP: gradients stay bucket views
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.net.parameters(), 1.0)
        self.opt.step()
        if self.ema is not None:
            self.ema.update(self.net)
        self.step += 1
        value = loss.item()
        self.history.append({"step": self.step, "phase": self.phase, "loss": value, "lr": lr, **parts})
        return value

    def _after_step(self, loss: float, end: int) -> None:
        """Validate, checkpoint and report as the step asks (rank 0)."""
        if not self.main:
            return
        end_of_phase = self.step == end
        if self.step % self.cfg.eval_every == 0 or end_of_phase:
            self.val_psnr = self.validate()
        if self.step % self.cfg.checkpoint_every == 0 or end_of_phase:
            self.save_last()
        if self.on_event is not None:
            bp = self.best.get(self.phase, {}).get("psnr")
            self.on_event(StepEvent(self.step, self.total, self.phase, loss, self.val_psnr, bp))

    # -- validation and the best states ---------------------------------------------------

    def validate(self) -> float:
        """Validation of the EMA weights (or the raw ones without EMA); the PSNR. The best
        state of a phase is the one with the highest validation PSNR against the DSLR
        targets — except when QAT distils the FP32 model: then it is the one most faithful
        to that model (PSNR against its output on the validation inputs). Picking a QAT
        state by its PSNR on a few real pairs would pick noise: the QAT objective is the
        teacher."""
        net, val = self.net, self.data.val
        raw = None
        if self.ema is not None:
            raw = state_copy(net)
            net.load_state_dict(self.ema.state)
        outs = predict(net, val.inputs, self.device)  # one run serves both measures
        p, s = mean_psnr(outs, val.targets), mean_ssim(outs, val.targets)
        entry: dict[str, Any] = {"step": self.step, "phase": self.phase, "val_psnr": p, "val_ssim": s}
        score = p
        if self.phase == "qat" and self.teacher is not None:
            if self.teacher_val is None:  # the teacher is fixed for the phase: run it once
                self.teacher_val = predict(self.teacher, val.inputs, self.device)
            score = entry["val_fidelity"] = mean_psnr(outs, self.teacher_val)
        self.history.append(entry)
        self._keep_if_best(p, s, score, entry.get("val_fidelity"))
        if raw is not None:
            net.load_state_dict(raw)
        return p

    def _keep_if_best(self, p: float, s: float, score: float, fidelity: float | None) -> None:
        phase, best = self.phase, self.best
        keep_last = phase == "fp32" and self.cfg.select == "last"
        if keep_last or phase not in best or score > best[phase].get("score", best[phase]["psnr"]):
            best[phase] = {
                "step": self.step, "psnr": p, "ssim": s, "score": score,
                "fidelity": fidelity, "state": state_copy(self.net),
            }

    def _make_teacher(self, from_best: bool = True) -> EnhanceNet:
        t = copy.deepcopy(self.net).eval()
        if from_best and "fp32" in self.best:
            t.load_state_dict(self.best["fp32"]["state"])
        set_quant_mode(t, "float")
        for p_ in t.parameters():
            p_.requires_grad_(False)
        return t

    # -- state: optimiser, checkpoint, resume -------------------------------------------

    def _new_optimiser(self) -> None:
        """The phase's model (DDP-wrapped when distributed), a fresh optimiser and EMA."""
        self.model: torch.nn.Module = wrap_ddp(self.net, self.info, self.device, self.phase)
        self.opt = make_optimizer(self.net, self.cfg)
        self.ema = WeightEMA(self.net, self.cfg.ema_decay) if self.cfg.ema_decay > 0 else None

    def save_last(self) -> None:
        """``OUT/last.pt``: everything :meth:`_restore` needs to go on exactly."""
        ema = self.ema
        save_checkpoint(
            self.last,
            {
                "config": self.net.config.to_dict(),
                "model": state_copy(self.net),
                "quant_mode": quant_mode(self.net),
                "optimizer": self.opt.state_dict(),
                "step": self.step,
                "phase": self.phase,
                "history": self.history,
                "best": self.best,
                "np_rng": rng_state(self.rng),
                "torch_rng": torch.get_rng_state(),
                "world_size": self.info.world_size,
                "stream": self.stream,
                **({"ema": ema.cpu_state(), "ema_updates": ema.updates} if ema is not None else {}),
                "train_config": json.dumps(self.cfg.to_json()),
            },
        )

    def _read_last(self) -> dict[str, Any] | None:
        """``OUT/last.pt`` (None if there is none): rank 0 reads it and sends it to the
        other ranks (other nodes need not see OUT); one process reads it directly."""
        ckpt = None
        if self.main and self.last.is_file():
            try:
                ckpt = load_checkpoint(self.last)
            except CheckpointError as exc:
                raise TrainError(str(exc)) from exc
        return distributed.broadcast_object(ckpt)

    def _restore(self, ckpt: dict[str, Any]) -> None:
        try:
            self.net = model_from_checkpoint(ckpt, path=self.last)
        except CheckpointError as exc:
            raise TrainError(str(exc)) from exc
        self.step, self.phase = int(ckpt["step"]), str(ckpt["phase"])
        was = (int(ckpt.get("world_size", 1)), bool(ckpt.get("stream", False)))
        if was != (self.info.world_size, self.stream):
            raise TrainError(
                f"{self.last}: written by a run with {was[0]} process(es), stream={was[1]}; resume "
                f"it the same way (now {self.info.world_size}, stream={self.stream})"
            )
        self.history = list(ckpt["history"])
        self.best = dict(ckpt["best"])
        set_rng_state(self.rng, ckpt["np_rng"])
        torch.set_rng_state(ckpt["torch_rng"])

    def _stopped(self) -> TrainResult:
        """``stop_after`` reached (as if killed): in stream mode no checkpoint is written."""
        if self.main and not self.stream:
            self.save_last()
        self.feed.close()
        distributed.leave(self.info)
        return self._result(finished=False)

    def _result(self, *, finished: bool) -> TrainResult:
        return TrainResult(self.out, self.step, finished, point(self.best, "fp32"),
                           point(self.best, "qat"), time.perf_counter() - self.t_start,
                           self.data.summary)
