"""``photoenhance eval``: fidelity and harm of the models on pairs, or what the model does
to your own photos (``--photos``); no torch needed."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from photoenhance.cli.common import EXIT_FAILED, EXIT_OK, EXIT_USAGE
from photoenhance.cli.help import _Command, _examples
from photoenhance.cli.options import (
    ThreadsOption,
)
from photoenhance.cli.render import _error_line, _fail, _line, _stderr, _stdout, _warning_line
from photoenhance.cli.root import app
from photoenhance.display import printable


@app.command(
    "eval",
    cls=_Command,
    epilog=_examples(
        "photoenhance eval --pairs dped/iphone/test",
        "photoenhance eval --photos my-photos/ --model my-model/model.onnx",
        "photoenhance eval --pairs pairs/ --json results.json --per-pair pairs.csv",
    ),
)
def eval_command(
    pairs: Annotated[
        Path | None,
        typer.Option("--pairs", metavar="DIR", help="Phone/DSLR pairs to evaluate on."),
    ] = None,
    photos: Annotated[
        list[Path] | None,
        typer.Option(
            "--photos",
            metavar="PATH",
            help="Photos (files or folders, repeatable) to measure the model's harm on, no "
            "targets needed: new clipping, crushed shadows, luma shift, saturation change, "
            "noise gain. Nothing is written.",
        ),
    ] = None,
    model: Annotated[
        Path | None,
        typer.Option("--model", metavar="FILE", help="INT8 model (default: bundled)."),
    ] = None,
    fp32: Annotated[
        Path | None,
        typer.Option(
            "--fp32", metavar="FILE", help="FP32 model (default: the one next to --model)."
        ),
    ] = None,
    calib: Annotated[
        Path | None,
        typer.Option(
            "--calib", metavar="DIR", help="PTQ calibration images/pairs (not the eval set)."
        ),
    ] = None,
    ptq: Annotated[bool, typer.Option("--ptq/--no-ptq", help="Include the PTQ-INT8 baseline.")] = True,
    json_path: Annotated[
        Path | None, typer.Option("--json", metavar="FILE", help="Write the results as JSON.")
    ] = None,
    per_pair: Annotated[
        Path | None, typer.Option("--per-pair", metavar="FILE", help="Write per-pair CSV.")
    ] = None,
    resize_target: Annotated[
        bool,
        typer.Option(
            "--resize-target", help="Resize targets to the input size (unaligned pair sizes)."
        ),
    ] = False,
    threads: ThreadsOption = None,
) -> None:
    """Fidelity and harm of identity, FP32, QAT-INT8 and PTQ-INT8 side by side (no torch
    needed); with --photos, what the model does to your own photos."""

    from photoenhance.evaluate import (
        EvalConfig,
        EvalError,
        PhotoEvalConfig,
        evaluate,
        evaluate_photos,
        write_per_pair_csv,
    )

    if pairs is None and not photos:
        _fail("give --pairs DIR and/or --photos DIR")
    if json_path is not None:
        from photoenhance.eval_json import eval_json_problem

        if (problem := eval_json_problem(json_path)) is not None:
            _fail(f"--json {json_path}: {problem}")
    report: dict = {}
    err = _stderr()
    code = EXIT_OK
    if pairs is not None:
        cfg = EvalConfig(pairs=pairs, model=model, fp32=fp32, calib=calib, ptq=ptq,
                         resize_target=resize_target, threads=threads)
        try:
            result = evaluate(cfg)
        except EvalError as exc:
            _fail(str(exc))
        for problem in result.problems:
            _warning_line(err, "data", problem)
        for note in result.notes:
            err.print(Text(f"note: {note}"))
        table = Table(title=escape(f"{printable(str(pairs))} — {len(result.pair_names)} pairs; "
                                   f"PTQ calibration: {result.calibration}"))
        # do-no-harm: PSNR of the model's output on the DSLR targets vs those targets
        for col in ("model", "PSNR", "SSIM", "no-harm", "clip %", "luma", "sat %", "noise", "s"):
            table.add_column(col, justify="left" if col == "model" else "right",
                             no_wrap=col == "model")
        table.caption = ("PSNR/SSIM vs the DSLR targets; no-harm: PSNR (dB) of the model's output "
                         "on the DSLR targets vs themselves; on the phone inputs: new clipping, "
                         "luma shift (8-bit), saturation change, noise gain (flat regions)")
        for r in result.rows:
            h = r.harm
            assert h is not None
            table.add_row(escape(r.name), f"{r.psnr:.2f}", f"{r.ssim:.4f}", f"{r.dnh_psnr:.1f}",
                          f"{100 * h.new_clipping:.2f}", f"{h.luma_shift:+.1f}",
                          _signed(100 * h.saturation_change), _ratio(h.noise_gain), f"{r.seconds:.1f}")
        _stdout().print(table)
        report.update(pairs=str(pairs), calibration=result.calibration, rows=[
            {"model": r.name, "psnr": r.psnr, "ssim": r.ssim, "pairs": r.pairs, "path": r.model,
             "do_no_harm_psnr": r.dnh_psnr, "do_no_harm_ssim": r.dnh_ssim,
             "harm": r.harm.to_dict() if r.harm is not None else None}
            for r in result.rows
        ])
        if per_pair is not None:
            write_per_pair_csv(result, per_pair)
    if photos:
        try:
            with _PhotoProgress(err) as on_photo:
                pres = evaluate_photos(
                    PhotoEvalConfig(photos=tuple(photos), model=model, threads=threads),
                    progress=on_photo,
                )
        except EvalError as exc:
            _fail(str(exc))
        for path, reason in pres.errors:
            _error_line(err, path, reason)
        if not pres.rows and pres.errors:  # nothing measured: no empty table
            raise typer.Exit(EXIT_USAGE)
        table = Table(title=escape(f"what {printable(Path(pres.model).name)} does to {len(pres.rows)} photos"))
        for col in ("photo", "MP", "clip %", "crushed %", "luma", "sat %", "noise"):
            table.add_column(col, justify="left" if col == "photo" else "right")
        table.caption = ("new clipping and crushed shadows in % of pixels, luma shift in 8-bit "
                         "units, saturation change in %, noise gain in flat regions (1 = unchanged)")
        for row in pres.rows:
            m = row.measures
            table.add_row(escape(printable(str(row.path))), f"{row.megapixels:.1f}", f"{100 * m.new_clipping:.2f}",
                          f"{100 * m.crushed_shadows:.2f}", f"{m.luma_shift:+.1f}",
                          _signed(100 * m.saturation_change), _ratio(m.noise_gain))
        if pres.summary is not None:
            sm = pres.summary
            table.add_row("mean", "", f"{100 * sm.new_clipping:.2f}", f"{100 * sm.crushed_shadows:.2f}",
                          f"{sm.luma_shift:+.1f}", _signed(100 * sm.saturation_change),
                          _ratio(sm.noise_gain), style="bold")
        _stdout().print(table)
        if pres.summary is not None and pres.summary.photos_over_clip_limit:
            err.print(f"note: {pres.summary.photos_over_clip_limit} photo(s) get more than 2 % new "
                      f"clipping (worst {100 * pres.summary.max_new_clipping:.1f} %)")
        report["photos"] = {
            "model": pres.model,
            "summary": pres.summary.to_dict() if pres.summary is not None else None,
            "rows": [{"path": str(r.path), "megapixels": r.megapixels, "seconds": r.seconds,
                      **{k: _json_float(v) for k, v in r.measures.__dict__.items()}} for r in pres.rows],
            "errors": [{"path": str(p), "error": why} for p, why in pres.errors],
        }
        if pres.errors:
            code = EXIT_FAILED
    if json_path is not None:
        from photoenhance.eval_json import write_eval_json
        from photoenhance.io import ImageWriteError

        try:
            write_eval_json(report, json_path)
        except ImageWriteError as exc:
            _error_line(err, exc.path, f"--json not written: {exc.reason}")
            code = EXIT_FAILED
    raise typer.Exit(code)


class _PhotoProgress:
    """``eval --photos`` progress on stderr, as ``run`` shows it: a bar with MP/s, ETA and
    the photo being measured on a terminal, plain ``N/M photos`` lines otherwise."""

    def __init__(self, console: Console) -> None:
        import time

        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        from photoenhance.display import PlainProgress

        self.clock = time.perf_counter
        self.console = console
        self.bar = Progress(
            TextColumn("[bold]Measuring"), BarColumn(), MofNCompleteColumn(),
            TextColumn("{task.fields[rate]}"), TimeElapsedColumn(), TextColumn("ETA"),
            TimeRemainingColumn(), TextColumn("{task.fields[current]}", markup=False),
            console=console, disable=not console.is_terminal, transient=True,
        )  # fmt: skip
        self.plain = None if console.is_terminal else PlainProgress(self.clock())
        self.task = None
        self.start = self.clock()

    def __enter__(self) -> _PhotoProgress:
        self.bar.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.bar.__exit__(None, None, None)

    def __call__(self, path: Path | None, done: int, total: int, megapixels: float) -> None:
        now = self.clock()
        if self.task is None:  # the model is loaded: time from here
            self.start = now
            if self.plain is not None:
                self.plain.start = self.plain.last = now
            self.task = self.bar.add_task("measure", total=total, rate="", current="")
        rate = f"{megapixels / max(now - self.start, 1e-6):.2f} MP/s"
        current = "" if path is None else _line(path.name)[:60]
        self.bar.update(self.task, completed=done, rate=rate, current=current)
        if self.plain is not None and (line := self.plain.line(done, total, megapixels, now)):
            self.console.print(Text(line))


def _signed(x: float) -> str:
    """``+1.2``; ``n/a`` where the measure has no value (saturation change of a grey
    photo: a ratio of nothing), never ``+nan``."""
    return "n/a" if x != x else f"{x:+.1f}"


def _ratio(x: float) -> str:
    return "n/a" if x != x else f"{x:.2f}"


def _json_float(x: float) -> float | None:
    import math

    return x if math.isfinite(x) else None
