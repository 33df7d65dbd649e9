"""What a training run reports: progress events, evaluation points, the result."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


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



def point(best: dict[str, dict[str, Any]], phase: str) -> EvalPoint | None:
    """The best evaluation of ``phase`` (from the run's best-state table), or None."""
    b = best.get(phase)
    if b is None:
        return None
    fid = b.get("fidelity")
    return EvalPoint(int(b["step"]), phase, float(b["psnr"]), float(b["ssim"]),
                     None if fid is None else float(fid))

