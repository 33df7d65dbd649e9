"""The files a finished run leaves in its folder: the INT8 (QAT) and FP32 ONNX models,
the deployable checkpoint, the loss/PSNR curves and ``report.json``."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from photoenhance.model.fake_quant import quant_mode, set_quant_mode
from photoenhance.model.net import EnhanceNet
from photoenhance.quant.export import export_onnx
from photoenhance.train.checkpoint import save_model_checkpoint
from photoenhance.train.config import TrainConfig
from photoenhance.train.data import TrainData
from photoenhance.train.plot import plot_curves


def write_outputs(
    cfg: TrainConfig,
    net: EnhanceNet,
    best: dict[str, dict[str, Any]],
    history: list[dict[str, Any]],
    data: TrainData,
    out: Path,
    seconds: float,
    runtime: dict[str, Any] | None = None,
) -> None:
    """Export the best states: INT8 (QAT) + FP32 ONNX, checkpoint, report, curves (rank 0)."""
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
    _write_curves(out / "curves.png", cfg, history)
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


def _write_curves(path: Path, cfg: TrainConfig, history: list[dict[str, Any]]) -> None:
    """The training loss (smoothed over a window of 25 steps) and the validation PSNR."""
    loss_pts = [(h["step"], h["loss"]) for h in history if "loss" in h]
    sm: list[tuple[float, float]] = []
    acc: list[float] = []
    for s, v in loss_pts:
        acc.append(v)
        acc = acc[-25:]
        sm.append((s, sum(acc) / len(acc)))
    val_pts = [(h["step"], h["val_psnr"]) for h in history if "val_psnr" in h]
    plot_curves(path, sm, val_pts, qat_start=cfg.steps if cfg.qat_steps else None)
