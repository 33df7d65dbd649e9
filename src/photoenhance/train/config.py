"""The configuration of a training run (torch-free: the CLI builds it before importing
torch), its checks, and the ``--epochs`` → ``--steps`` rule."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from photoenhance.train.errors import TrainError

LOSSES: tuple[str, ...] = ("paper", "l1mse")
"""The training losses (:func:`photoenhance.train.losses.training_loss` computes them)."""


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

    @property
    def total_steps(self) -> int:
        """FP32 then QAT steps: the global step count of the run."""
        return self.steps + self.qat_steps

    @property
    def uses_teacher(self) -> bool:
        """QAT distils the best FP32 model (rather than fitting the DSLR targets)."""
        return self.qat_target == "teacher" or (self.qat_target == "auto" and self.steps > 0)

    def check(self) -> None:
        """Raise :class:`TrainError` (one line, naming the option) for a run that cannot start."""
        if self.steps < 0 or self.qat_steps < 0 or self.steps + self.qat_steps == 0:
            raise TrainError("--steps and --qat-steps must be >= 0 and not both 0")
        if self.qat_target not in ("auto", "teacher", "pairs"):
            raise TrainError("--qat-target must be auto, teacher or pairs")
        if self.select not in ("best", "last"):
            raise TrainError("--select must be best or last")
        if self.loss not in LOSSES:
            raise TrainError(f"--loss must be one of {', '.join(LOSSES)}")
        if self.batch_size < 1 or self.patch_size < 16:
            raise TrainError("--batch-size must be >= 1 and --patch-size >= 16")
        if self.workers < 0 or self.cache_mb < 0:
            raise TrainError("--workers and --cache-mb must be >= 0")

    def with_epochs(self, epochs: float) -> TrainConfig:
        """This config with ``steps`` set from ``epochs`` over the training pairs (``--epochs``):
        ``max(1, round(epochs × pairs × (1 − val_fraction) / batch_size))``, counting every
        pair found in ``pairs`` (none without ``pairs``: one step)."""
        from photoenhance.data.pairs import PairDataError, find_pairs

        try:
            n = len(find_pairs(self.pairs).pairs) if self.pairs is not None else 0
        except PairDataError as exc:
            raise TrainError(str(exc)) from exc
        return replace(self, steps=max(1, round(epochs * n * (1 - self.val_fraction) / self.batch_size)))

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        return {k: (str(v) if isinstance(v, Path) else v) for k, v in d.items()}
