"""``photoenhance train``: QAT fine-tuning and INT8 export (torch, imported only when the
command runs: ``pip install 'photoenhance[train]'``)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from photoenhance.cli.common import EXIT_FAILED, _interrupted_code
from photoenhance.cli.help import _Command, _examples
from photoenhance.cli.render import _fail, _line, _stderr, _stdout, _warning_line
from photoenhance.cli.root import app
from photoenhance.config import MODEL_SIZES
from photoenhance.train.config import TrainConfig
from photoenhance.train.errors import RankLostError, TrainError

if TYPE_CHECKING:
    from photoenhance.train.results import StepEvent, TrainResult


@app.command(
    "train",
    cls=_Command,
    epilog=_examples(
        "photoenhance train --pairs dped/iphone --out my-model",
        "photoenhance train --pairs pairs/ --synthetic photos/ --synthetic-fraction 0.3",
        "photoenhance train --pairs pairs/ --out my-model --resume",
        "photoenhance train --pairs dped/ --out big --stream --nproc 4 --device cuda",
        "torchrun --nnodes 2 --nproc_per_node 8 -m photoenhance train --pairs dped/ --stream",
        "photoenhance run photos/ --model my-model/model.onnx",
    ),
)
def train_command(
    pairs: Annotated[
        Path | None,
        typer.Option(
            "--pairs", metavar="DIR", help="Phone/DSLR pairs (DPED layout or input/target)."
        ),
    ] = None,
    out: Annotated[
        Path,
        typer.Option(
            "--out", metavar="DIR", help="Output folder (model.onnx, checkpoint, report)."
        ),
    ] = Path("photoenhance-model"),
    steps: Annotated[int, typer.Option("--steps", metavar="N", help="FP32 training steps.")] = 2000,
    qat_steps: Annotated[
        int, typer.Option("--qat-steps", metavar="N", help="Quantization-aware steps after FP32.")
    ] = 600,
    epochs: Annotated[
        float | None,
        typer.Option(
            "--epochs", metavar="N", help="Set --steps from epochs over the training pairs."
        ),
    ] = None,
    batch_size: Annotated[
        int, typer.Option("--batch-size", metavar="N", help="Patches per training step.")
    ] = 16,
    patch_size: Annotated[
        int, typer.Option("--patch-size", metavar="PX", help="Side of the training patches.")
    ] = 96,
    lr: Annotated[
        float, typer.Option("--lr", metavar="RATE", help="Peak learning rate of the FP32 phase.")
    ] = 5e-4,
    qat_lr: Annotated[
        float, typer.Option("--qat-lr", metavar="RATE", help="Learning rate of the QAT phase.")
    ] = 5e-5,
    qat_target: Annotated[
        str,
        typer.Option(
            "--qat-target",
            metavar="[teacher|pairs|auto]",
            help="What QAT fits: teacher (the best FP32 model's output), pairs (the DSLR "
            "targets), auto (teacher when an FP32 phase ran).",
        ),
    ] = "auto",
    select: Annotated[
        str,
        typer.Option(
            "--select",
            metavar="[best|last]",
            help="FP32 state QAT starts from: best (early stopping on the validation PSNR) or "
            "last (the weight EMA after the last step; keeps what identity examples teach).",
        ),
    ] = "best",
    init: Annotated[
        str,
        typer.Option(
            "--from",
            metavar="bundled|scratch|FILE",
            help="Start from the bundled model, from scratch, or from a checkpoint file.",
        ),
    ] = "bundled",
    size: Annotated[
        str,
        typer.Option(
            "--size",
            metavar="[" + "|".join(MODEL_SIZES) + "]",
            help="Architecture for --from scratch.",
        ),
    ] = "small",
    val_pairs: Annotated[
        Path | None,
        typer.Option(
            "--val-pairs", metavar="DIR", help="Validation pairs (default: held out of --pairs)."
        ),
    ] = None,
    val_fraction: Annotated[
        float,
        typer.Option(
            "--val-fraction",
            metavar="0..1",
            help="Held-out share when no --val-pairs (fixed by name hash).",
        ),
    ] = 0.15,
    synthetic: Annotated[
        Path | None,
        typer.Option(
            "--synthetic", metavar="DIR", help="Folder of clean photos for synthetic pairs."
        ),
    ] = None,
    synthetic_fraction: Annotated[
        float,
        typer.Option(
            "--synthetic-fraction",
            metavar="0..1",
            help="Share of synthetic patches in each batch when real --pairs are given too.",
        ),
    ] = 0.0,
    synthetic_tone: Annotated[
        bool,
        typer.Option(
            "--synthetic-tone/--synthetic-detail",
            help="Synthetic pairs with tone/colour shifts too, or detail degradations only.",
        ),
    ] = False,
    identity_share: Annotated[
        float,
        typer.Option(
            "--identity-share",
            metavar="0..0.9",
            help="Share of each batch that is identity examples (good photos that must come "
            "out unchanged: DSLR targets of the pairs and clean photos from --identity-photos).",
        ),
    ] = 0.0,
    identity_photos: Annotated[
        Path | None,
        typer.Option(
            "--identity-photos",
            metavar="DIR",
            help="Clean photos for identity examples (default: the --synthetic folder).",
        ),
    ] = None,
    loss: Annotated[
        str,
        typer.Option(
            "--loss",
            metavar="[paper|l1mse]",
            help="Training loss: paper (2·PSNR-Y + cosine + outlier L1) or L1 + MSE.",
        ),
    ] = "paper",
    chroma_weight: Annotated[
        float,
        typer.Option(
            "--chroma-weight",
            metavar="W",
            help="Weight of a chroma (saturation) term: L1 of max−min channel against the target.",
        ),
    ] = 0.0,
    head: Annotated[
        str | None,
        typer.Option(
            "--head",
            metavar="[headroom|residual]",
            help="Output head for --from scratch. \\[default: headroom]",
            show_default=False,
        ),
    ] = None,
    resize_target: Annotated[
        bool,
        typer.Option(
            "--resize-target", help="Resize targets to the input size (unaligned pair sizes)."
        ),
    ] = False,
    eval_every: Annotated[
        int, typer.Option("--eval-every", metavar="N", help="Validate every N steps.")
    ] = 200,
    checkpoint_every: Annotated[
        int,
        typer.Option(
            "--checkpoint-every", metavar="N", help="Save OUT/last.pt every N steps (for --resume)."
        ),
    ] = 200,
    device: Annotated[
        str, typer.Option("--device", metavar="[cpu|cuda|auto]", help="Device to train on.")
    ] = "auto",
    seed: Annotated[
        int, typer.Option("--seed", metavar="N", help="Random seed (same seed, same run).")
    ] = 0,
    threads: Annotated[
        int | None,
        typer.Option(
            "--threads",
            metavar="N",
            help="torch CPU threads. \\[default: torch's]",
            show_default=False,
        ),
    ] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Continue OUT/last.pt exactly.")] = False,
    nproc: Annotated[
        int, typer.Option("--nproc", metavar="N", help="Data-parallel processes on this machine (torch DDP; "
                          "one per GPU with --device cuda). Under torchrun, leave it at 1.")
    ] = 1,
    stream: Annotated[
        bool, typer.Option("--stream/--in-memory", help="Read pairs lazily in DataLoader workers "
                           "(large sets; always on with several processes).")
    ] = False,
    workers: Annotated[int, typer.Option("--workers", metavar="N", help="DataLoader workers per process (--stream).")] = 2,
    cache_mb: Annotated[
        int, typer.Option("--cache-mb", metavar="MIB", help="Decoded-image cache per worker, MiB (--stream).")
    ] = 256,
    val_limit: Annotated[
        int | None, typer.Option("--val-limit", metavar="N", help="Validation pairs kept with --stream (default 500).")
    ] = None,
    bf16: Annotated[
        bool, typer.Option("--bf16/--no-bf16", help="CUDA: bf16 autocast in the FP32 phase.")
    ] = True,
) -> None:
    """Fine-tune with quantization-aware training and export a new INT8 model."""
    _need_torch()
    if pairs is None and synthetic is None:
        _fail("give --pairs DIR (and/or --synthetic DIR)")
    if size not in MODEL_SIZES:
        _fail(f"--size {size!r}: choose one of {', '.join(MODEL_SIZES)}")
    cfg = TrainConfig(
        out=out, pairs=pairs, val_pairs=val_pairs, val_fraction=val_fraction, synthetic=synthetic,
        synthetic_fraction=synthetic_fraction, synthetic_tone=synthetic_tone,
        identity_fraction=identity_share, identity_photos=identity_photos, loss=loss, head=head,
        chroma_weight=chroma_weight, resize_target=resize_target, init=init, size=size, steps=steps,
        qat_steps=qat_steps, batch_size=batch_size, patch_size=patch_size, lr=lr, qat_lr=qat_lr,
        qat_target=qat_target, select=select, eval_every=eval_every, checkpoint_every=checkpoint_every,
        device=device, seed=seed, threads=threads, resume=resume, stream=stream, workers=workers,
        cache_mb=cache_mb, val_limit=val_limit, bf16=bf16,
    )
    if epochs is not None:
        try:
            cfg = cfg.with_epochs(epochs)
        except TrainError as exc:
            _fail(str(exc))
    result = _train(cfg, nproc)
    if result is not None:
        _render(result, out)


def _need_torch() -> None:
    try:
        import photoenhance.train.loop  # noqa: F401
    except ImportError:
        _fail("training needs torch: pip install 'photoenhance[train]'")


def _train(cfg: TrainConfig, nproc: int) -> TrainResult | None:
    """Run ``cfg`` with a progress bar on stderr; None on a torchrun rank other than 0
    (rank 0 reports). Errors become one-line failures."""
    from photoenhance.train.loop import train_processes

    if os.environ.get("RANK", "0") != "0":
        try:
            train_processes(cfg, nproc)
        except TrainError as exc:
            _fail(str(exc))
        return None
    console = _stderr()
    bar = _ProgressBar(console)
    try:
        with bar.progress:
            return train_processes(cfg, nproc, on_event=bar.update)
    except RankLostError as exc:  # the run broke off: a failure, not a usage error
        _fail(str(exc), EXIT_FAILED)
    except TrainError as exc:
        _fail(str(exc))
    except KeyboardInterrupt:
        console.print("interrupted: continue with --resume")
        raise typer.Exit(_interrupted_code()) from None


class _ProgressBar:
    """The run's progress on stderr: phase, steps, loss, validation PSNR, times."""

    def __init__(self, console: Console):
        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("loss {task.fields[loss]:.4f}  val PSNR {task.fields[psnr]}"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=console,
            transient=False,
        )
        self.task: TaskID | None = None

    def update(self, e: StepEvent) -> None:
        if self.task is None:
            self.task = self.progress.add_task("train", total=e.total, loss=e.loss, psnr="-")
        psnr = "-" if e.val_psnr is None else f"{e.val_psnr:.2f} dB (best {e.best_psnr:.2f})"
        self.progress.update(self.task, completed=e.step, description=e.phase, loss=e.loss, psnr=psnr)


def _render(result: TrainResult, out: Path) -> None:
    """Data problems as warnings (stderr); the best states and the model written (stdout)."""
    console = _stderr()
    for problem in result.data.get("problems", []):
        _warning_line(console, "data", problem)
    out_console = _stdout()
    for p in (result.best_fp32, result.best_qat):
        if p is not None:
            fid = "" if p.fidelity is None else f", {p.fidelity:.1f} dB from the FP32 model (chosen by this)"
            out_console.print(
                f"best {p.phase.upper():4s} step {p.step:5d}: val PSNR {p.psnr:.2f} dB, SSIM {p.ssim:.4f}{fid}"
            )
    model_path = _line(out / "model.onnx")
    out_console.print(Text(f"wrote {model_path} (use: photoenhance run --model {model_path})"))
