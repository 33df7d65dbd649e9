"""``photoenhance run``: enhance photos and folders into an output folder (progress bar or
plain progress lines, per-file errors, summary, ``--report``, ``--html``).  Pipe mode
(``-o -``) is in :mod:`photoenhance.cli.pipe`."""

from __future__ import annotations

import time
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

from photoenhance.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    _interrupt_message,
    _interrupted_code,
)
from photoenhance.cli.help import _Command, _examples
from photoenhance.cli.options import (
    CompareOption,
    FormatOption,
    MaxMegapixelsOption,
    ModelOption,
    QualityOption,
    StrengthOption,
    ThreadsOption,
    TileOption,
)
from photoenhance.cli.pipe import _run_pipe
from photoenhance.cli.render import (
    _error_line,
    _fail,
    _line,
    _note_line,
    _stderr,
    _stdout,
    _warning_line,
)
from photoenhance.cli.root import app
from photoenhance.cli.runconfig import _build_run_config
from photoenhance.display import PlainProgress

if TYPE_CHECKING:  # heavy imports (onnxruntime, numpy, Pillow) wait until a command runs
    from photoenhance.infer.runner import BatchProgress, BatchResult, ProgressCallback, RunConfig


def _print_dry_run(result: BatchResult) -> None:
    out = _stdout()
    for f in result.files:
        src = _line(f.input)
        if f.status == "error":
            out.print(Text(f"error    {src}: {_line(f.error or 'failed')}"))
        elif f.status == "skipped" and f.output is None:
            out.print(Text(f"skip     {src} ({_line(f.reason or 'skipped')})"))
        elif f.status == "skipped":
            out.print(Text(f"skip     {src} -> {_line(f.output)} (exists)"))
        else:
            out.print(Text(f"enhance  {src} -> {_line(f.output or '')}"))


def _folders(result: BatchResult) -> str:
    """``; 1 folder not walked (photoenhance output folder)``, or nothing: folders are
    counted apart from photos."""
    from photoenhance.io.marker import MARKER_REASON

    n = result.skipped_folders
    if not n:
        return ""
    return f"; {n} folder{'s' if n > 1 else ''} not walked ({MARKER_REASON})"


def _summary(console: Console, result: BatchResult) -> None:
    if result.dry_run:
        console.print(
            Text(
                f"Dry run: {result.planned} to enhance, {result.skipped} skipped, "
                f"{result.failed} failed{_folders(result)}; nothing written."
            )
        )
        return
    console.print(
        Text(
            f"Done: {result.ok} enhanced, {result.skipped} skipped, {result.failed} failed; "
            f"{result.megapixels:.1f} MP in {result.seconds:.1f} s "
            f"({result.megapixels_per_second:.2f} MP/s) -> {_line(result.output_dir)}"
            f"{_folders(result)}"
        )
    )


InputsArgument = Annotated[
    list[Path],
    typer.Argument(
        help="Photos and/or folders to enhance; - alone: one photo from stdin.",
        show_default=False,
        metavar="INPUT",
    ),
]
OutputOption = Annotated[
    Path | None,
    typer.Option(
        "-o",
        "--output",
        metavar="DIR",
        help="Output folder (mirrors the input tree); - writes the one photo to stdout. "
        "\\[default: ./enhanced]",
        show_default=False,
    ),
]
RecursiveOption = Annotated[
    bool, typer.Option("--recursive/--no-recursive", help="Walk sub-folders of input folders.")
]
OverwriteOption = Annotated[
    bool,
    typer.Option(
        "--overwrite", help="Redo outputs that already exist (default: skip complete ones)."
    ),
]
DryRunOption = Annotated[
    bool, typer.Option("--dry-run", help="List the plan on stdout; write nothing.")
]
ReportOption = Annotated[
    Path | None,
    typer.Option(
        "--report",
        metavar="FILE",
        help="Write a JSON report (per file + summary) to this file.",
        show_default=False,
    ),
]
HtmlOption = Annotated[
    Path | None,
    typer.Option(
        "--html",
        metavar="FILE",
        help="Write a before/after page (100 % crops, per-photo numbers, run summary) to "
        "this .html file; its images go to a FILE_files folder next to it.",
        show_default=False,
    ),
]
QuietOption = Annotated[
    bool, typer.Option("-q", "--quiet", help="No progress, warnings or summary; errors only.")
]
ProviderOption = Annotated[
    str,
    typer.Option(
        "--provider",
        metavar="[auto|cpu|cuda|tensorrt]",
        help="onnxruntime execution provider (auto: CUDA if available, else CPU).",
    ),
]
EngineOption = Annotated[
    str,
    typer.Option(
        "--engine",
        metavar="[local|ray]",
        help="local (this process) or ray (a Ray cluster; pip install 'photoenhance\\[ray]').",
    ),
]
RayAddressOption = Annotated[
    str | None,
    typer.Option(
        "--ray-address",
        metavar="ADDR",
        help="Ray cluster to join ('auto': the running one). \\[default: a private "
        "local Ray instance for this run]",
        show_default=False,
    ),
]
RayActorsOption = Annotated[
    int | None,
    typer.Option(
        "--ray-actors",
        metavar="N",
        help="Model-holding Ray actors. \\[default: as many as the cluster's CPUs/GPUs]",
        show_default=False,
    ),
]
RayCpusOption = Annotated[
    float | None,
    typer.Option(
        "--ray-cpus-per-actor",
        metavar="N",
        help="CPUs per Ray actor (and onnxruntime threads). \\[default: 1]",
        show_default=False,
    ),
]
RayGpusOption = Annotated[
    float | None,
    typer.Option(
        "--ray-gpus-per-actor",
        metavar="N",
        help="GPUs per Ray actor. \\[default: 1 for a GPU provider, else 0]",
        show_default=False,
    ),
]


@app.command(
    "run",
    cls=_Command,
    epilog=_examples(
        "photoenhance run photos/ -o enhanced/",
        "photoenhance run IMG_0001.jpg IMG_0002.heic --format jpeg --quality 92",
        "photoenhance run photos/ --strength 0.6 --report report.json",
        "photoenhance run photos/ --dry-run",
        "cat IMG_0001.jpg | photoenhance run - -o - > enhanced.jpg",
        "photoenhance run photos/ -o enhanced/ --html enhanced/report.html",
        "photoenhance run /shared/photos -o /shared/out --engine ray --ray-address auto",
    ),
)
def run_command(
    inputs: InputsArgument,
    output: OutputOption = None,
    recursive: RecursiveOption = True,
    format: FormatOption = None,
    quality: QualityOption = None,
    model: ModelOption = None,
    strength: StrengthOption = None,
    tile: TileOption = None,
    threads: ThreadsOption = None,
    overwrite: OverwriteOption = False,
    dry_run: DryRunOption = False,
    report: ReportOption = None,
    compare: CompareOption = None,
    max_megapixels: MaxMegapixelsOption = 200.0,
    html: HtmlOption = None,
    quiet: QuietOption = False,
    provider: ProviderOption = "auto",
    engine: EngineOption = "local",
    ray_address: RayAddressOption = None,
    ray_actors: RayActorsOption = None,
    ray_cpus: RayCpusOption = None,
    ray_gpus: RayGpusOption = None,
) -> None:
    """Enhance photos from INPUT files/folders into the output folder."""
    config = _build_run_config(
        output=output, recursive=recursive, format=format, quality=quality, model=model,
        strength=strength, tile=tile, threads=threads, overwrite=overwrite, dry_run=dry_run,
        compare=compare, max_megapixels=max_megapixels, report=report,
        provider=provider, engine=engine, ray_address=ray_address, ray_actors=ray_actors,
        ray_cpus_per_actor=ray_cpus, ray_gpus_per_actor=ray_gpus,
    )  # fmt: skip
    if str(config.output_dir) == "-" or any(str(p) == "-" for p in inputs):
        _run_pipe(inputs, config, quiet=quiet, html=html)
    _check_paths(config, html)
    console = _stderr()
    result = _run_batch(inputs, config, console, quiet=quiet)
    raise typer.Exit(_finish(console, result, config, html, quiet=quiet))


def _check_paths(config: RunConfig, html: Path | None) -> None:
    """Exit 2 when the output, compare or ``--html`` path cannot be used (before any work)."""
    if config.output_dir.exists() and not config.output_dir.is_dir():
        _fail(f"--output {config.output_dir} exists and is not a folder")
    if (
        config.compare_dir is not None
        and config.compare_dir.exists()
        and not config.compare_dir.is_dir()
    ):
        _fail(f"--compare {config.compare_dir} exists and is not a folder")
    if html is not None:
        from photoenhance.html_report import HtmlPathError, check_html_path

        report = config.report
        try:
            folders = [(config.output_dir, "output")]
            if config.compare_dir is not None:
                folders.append((config.compare_dir, "--compare"))
            check_html_path(html, others=[report] if report is not None else [], folders=folders)
        except HtmlPathError as exc:
            _fail(str(exc))


def _progress_view(
    console: Console, *, quiet: bool, dry_run: bool
) -> tuple[Progress, ProgressCallback]:
    """The progress bar (a terminal) or plain progress lines (cron, CI logs), and the
    callback that feeds it and prints each photo's error, note and warnings."""
    progress = Progress(
        TextColumn("[bold]Enhancing"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        TextColumn("{task.fields[current]}", markup=False),
        console=console,
        disable=quiet or dry_run or not console.is_terminal,
        transient=True,
    )
    # stderr not a terminal (cron, CI logs): plain lines instead of the bar
    plain = None if quiet or dry_run or console.is_terminal else PlainProgress(time.perf_counter())
    task: TaskID | None = None
    started = time.perf_counter()

    def on_progress(event: BatchProgress) -> None:
        nonlocal task, started
        if task is None:
            started = time.perf_counter()  # after model loading
            task = progress.add_task("enhance", total=event.total, rate="", current="")
            if plain is not None:
                plain.start = plain.last = started
        now = time.perf_counter()
        elapsed = max(now - started, 1e-6)
        current = "" if event.current is None else _line(event.current.name)[:60]
        progress.update(
            task,
            completed=event.done,
            rate=f"{event.megapixels / elapsed:.2f} MP/s",
            **({"current": current} if event.result is None else {}),
        )
        f = event.result
        if f is None:
            return
        if f.status == "error":
            _error_line(progress.console, f.input, f.error or "failed")
        elif not quiet:
            if f.reason is not None:
                _note_line(progress.console, f.input, f.reason)
            for w in f.warnings:
                _warning_line(progress.console, f.input, w)
        if plain is not None and (
            line := plain.line(event.done, event.total, event.megapixels, now)
        ):
            console.print(Text(line))

    return progress, on_progress


def _run_batch(
    inputs: list[Path], config: RunConfig, console: Console, *, quiet: bool
) -> BatchResult:
    """:func:`~photoenhance.infer.runner.run_batch` with progress shown; a batch-wide
    failure is a one-line message and exit code."""
    from photoenhance.infer.model_file import ModelLoadError
    from photoenhance.infer.runner import (
        EngineError,
        EngineUnavailableError,
        NoInputsError,
        OutputConflictError,
        ProviderUnavailableError,
        run_batch,
    )

    progress, on_progress = _progress_view(console, quiet=quiet, dry_run=config.dry_run)
    try:
        with progress:
            return run_batch(inputs, config, on_progress=on_progress)
    except NoInputsError as exc:
        for path, reason in exc.problems:
            _error_line(console, path, reason)
        named = {str(path) for path, _ in exc.problems}
        rest = [str(path) for path in inputs if str(path) not in named]
        if not rest:  # each input already named once, with its reason
            raise typer.Exit(EXIT_USAGE) from None
        _fail(f"no photos found in {', '.join(rest)}" if named else str(exc))
    except OutputConflictError as exc:
        _fail(str(exc))
    except ModelLoadError as exc:
        _fail(f"cannot load model: {exc}")
    except (ProviderUnavailableError, EngineUnavailableError) as exc:
        _fail(str(exc))
    except EngineError as exc:
        _fail(str(exc), EXIT_FAILED)
    except KeyboardInterrupt:
        console.print(_interrupt_message())
        raise typer.Exit(_interrupted_code()) from None


def _finish(
    console: Console, result: BatchResult, config: RunConfig, html: Path | None, *, quiet: bool
) -> int:
    """Everything after the batch: the dry run's plan, the report, warnings, summary and
    the ``--html`` page.  Returns the exit code."""
    from photoenhance.infer.runner import write_report
    from photoenhance.io import ImageWriteError

    code = EXIT_FAILED if result.failed else EXIT_OK
    if result.dry_run:
        _print_dry_run(result)
        for f in result.files:
            if f.status == "error":
                _error_line(console, f.input, f.error or "failed")
            elif f.reason is not None and not quiet:
                _note_line(console, f.input, f.reason)
    if config.report is not None and not result.dry_run:
        try:
            write_report(result, config.report)
        except ImageWriteError as exc:
            _error_line(console, exc.path, f"report not written: {exc.reason}")
            code = EXIT_FAILED
    if not quiet:
        for w in result.warnings:
            console.print(Text.assemble(("warning: ", "yellow"), _line(w)))
        _summary(console, result)
    if html is not None and not result.dry_run:  # last: its final line names the page
        code = _write_html(console, result, config, html, quiet) or code
    return code


def _write_html(
    console: Console, result: BatchResult, config: RunConfig, html: Path, quiet: bool
) -> int:
    """Write the ``--html`` page; returns EXIT_FAILED if it could not be written."""
    from photoenhance.html_report import write_html_report
    from photoenhance.io import ImageWriteError

    settings = {
        "format": config.format or "same as input",
        "quality": config.quality if config.quality is not None else "about the original's",
        "strength": config.strength,
        "tile": f"{config.tile} px",
        "threads": config.threads or "auto",
        "model file": config.model or "bundled",
        "overwrite": "yes" if config.overwrite else "no",
    }
    progress = Progress(
        TextColumn("[bold]HTML report"), BarColumn(), MofNCompleteColumn(), console=console,
        disable=quiet or not console.is_terminal, transient=True,
    )  # fmt: skip
    task = progress.add_task("html", total=len(result.files))
    # stderr not a terminal: plain lines, as for the run (``HTML report: 12/40 photos...``)
    plain = None if quiet or console.is_terminal else PlainProgress(time.perf_counter())

    def on_photo(done: int, total: int) -> None:
        progress.update(task, completed=done)
        if plain is not None and (line := plain.line(done, total, None, time.perf_counter())):
            console.print(Text(f"HTML report: {line}"))

    try:
        with progress:
            page = write_html_report(
                result.to_dict(), html, settings=settings,
                max_megapixels=config.max_megapixels, on_photo=on_photo,
            )  # fmt: skip
    except ImageWriteError as exc:
        _error_line(console, exc.path, f"HTML report not written: {exc.reason}")
        return EXIT_FAILED
    if not quiet:
        for path, reason in page.problems:
            _warning_line(console, path, f"not in the HTML report: {reason}")
        console.print(
            Text(
                f"HTML report: {_line(page.path)} (images in {_line(page.assets.parent)}, "
                f"{page.asset_bytes / 2**20:.1f} MiB)"
            )
        )
    return EXIT_OK
