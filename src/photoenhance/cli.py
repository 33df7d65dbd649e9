"""The ``photoenhance`` command line (typer).

Commands are thin: parse options, build a frozen config, call the library, render the
result with rich.  Add new commands as one ``@app.command`` function each (``train``
and ``eval`` go below ``info``); shared helpers live in the "helpers" section.

Exit codes (all commands):
    0  everything done (skipped photos count as done)
    1  some inputs failed (each named on stderr, one line per file), or the report
       could not be written
    2  usage error: bad option value, bad config file, no photos found, model that
       cannot be loaded (one-line message on stderr)
    130 interrupted (Ctrl-C)
    143 terminated (SIGTERM: handled as Ctrl-C is, so no partial file is left)
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text
from typer.core import TyperCommand, TyperGroup

from photoenhance import __version__
from photoenhance.config import OUTPUT_FORMATS
from photoenhance.display import PlainProgress, printable

if TYPE_CHECKING:  # heavy imports (onnxruntime, numpy, Pillow) wait until a command runs
    from photoenhance.infer.runner import BatchResult, RunConfig

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 128 + signal.SIGTERM  # 143


class _PlainHelp:
    """Help without Python type names (mixed into the command classes below).

    typer >= 0.2x prints a type column (``<bool>``, ``<list[Path]>``, ``<str>``) for every
    parameter without a metavar, and for positional arguments even with one.  Every option
    of this CLI has a metavar that says what to give (``DIR``, ``N``, the choices); this
    hides the type of flags (``--help`` too: they take no value) and of arguments (their
    metavar names them).  Older typer shows metavars only; nothing changes there.
    """

    def get_params(self, ctx: typer.Context) -> list:
        params = super().get_params(ctx)  # type: ignore[misc]
        for param in params:
            if getattr(param, "is_flag", False) and param.metavar is None:
                param.metavar = ""
            elif param.param_type_name == "argument" and hasattr(param, "display_type_rich"):
                param.display_type_rich = _no_type
        return params


def _no_type(ctx: object = None) -> None:
    return None


class _Command(_PlainHelp, TyperCommand):
    """Every command: ``@app.command(..., cls=_Command)`` (a test checks every help)."""


class _Group(_PlainHelp, TyperGroup):
    pass


def _examples(*lines: str) -> str:
    """An "Examples" block for a command's help (the epilog), one command line per row."""
    return "[bold]Examples[/bold]\n" + "\n".join(f"  {escape(line)}" for line in lines)


app = typer.Typer(
    name="photoenhance",
    help="Enhance phone photos with a small INT8 network, keeping all their metadata.",
    epilog=_examples(
        "photoenhance run photos/ -o enhanced/",
        "photoenhance run -h",
        "photoenhance info",
    ),
    cls=_Group,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


# --------------------------------------------------------------------------- helpers


def _stderr() -> Console:
    """Console for messages/progress (created per call so redirected stderr is honoured)."""
    return Console(stderr=True, soft_wrap=True, highlight=False)


def _stdout() -> Console:
    return Console(soft_wrap=True, highlight=False)


def _line(text: str | Path) -> str:
    """``text`` as one printable line: control characters (a newline in a file name...)
    escaped, runs of spaces collapsed.  Every user-provided string printed goes through
    this and is printed as a rich ``Text`` (never parsed as markup)."""
    return " ".join(printable(text).split())


def _fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    """Print ``Error: message`` (one line) on stderr and exit with ``code``."""
    _stderr().print(Text.assemble(("Error: ", "bold red"), _line(message)))
    raise typer.Exit(code)


def _error_line(console: Console, path: Path | str, reason: str) -> None:
    console.print(Text.assemble(("error: ", "bold red"), f"{_line(path)}: ", _line(reason)))


def _warning_line(console: Console, path: Path | str, text: str) -> None:
    console.print(Text.assemble(("warning: ", "yellow"), f"{_line(path)}: ", _line(text)))


def _note_line(console: Console, path: Path | str, text: str) -> None:
    console.print(Text.assemble(("note: ", "cyan"), f"{_line(path)}: ", _line(text)))


_terminated = False  # set by the SIGTERM handler: the exit code is then 143, not 130


def _on_sigterm(signum: int, frame: object) -> None:
    """SIGTERM takes the Ctrl-C path: a KeyboardInterrupt in the main thread, so a batch
    stops as it does on Ctrl-C (photos being written finish atomically, temporaries are
    removed, nothing partial is left under a final name).  Further SIGTERMs are ignored
    while that cleanup runs (SIGKILL still ends the process)."""
    global _terminated
    _terminated = True
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise KeyboardInterrupt


def _interrupted_code() -> int:
    return EXIT_TERMINATED if _terminated else EXIT_INTERRUPTED


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"photoenhance {__version__}")
        raise typer.Exit(EXIT_OK)


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "-V",
            "--version",
            callback=_version_callback,
            is_eager=True,
            help="Show the version and exit.",
        ),
    ] = False,
) -> None:
    """Enhance phone photos with a small INT8 network, keeping all their metadata."""


# --------------------------------------------------------------------------- run


def _build_run_config(
    *,
    output: Path | None,
    recursive: bool,
    format: str | None,
    quality: int | None,
    model: Path | None,
    strength: float | None,
    tile: int | None,
    threads: int | None,
    overwrite: bool,
    dry_run: bool,
    compare: Path | None,
    max_megapixels: float,
    report: Path | None = None,
    **engine: object,
) -> RunConfig:
    """Merge flags over config-file defaults into a :class:`RunConfig` (exit 2 on errors)."""
    from photoenhance.config import ConfigError, cache_dir, load_config, normalise_output_format
    from photoenhance.infer.providers import default_tile
    from photoenhance.infer.runner import DEFAULT_TILE, RunConfig

    try:
        defaults = load_config().run
    except ConfigError as exc:
        _fail(f"bad config file: {exc}")
    try:
        fmt = normalise_output_format(format) if format is not None else (defaults.format or "same")
    except ValueError as exc:
        _fail(f"--format: {exc}")
    try:
        return RunConfig(
            output_dir=output if output is not None else (defaults.output or Path("enhanced")),
            recursive=recursive,
            format=None if fmt == "same" else fmt,
            quality=quality if quality is not None else defaults.quality,
            model=model if model is not None else defaults.model,
            strength=strength
            if strength is not None
            else (defaults.strength if defaults.strength is not None else 1.0),
            tile=tile
            if tile is not None
            else (
                defaults.tile
                or default_tile(str(engine.get("provider") or "auto"), DEFAULT_TILE)
            ),
            threads=threads if threads is not None else defaults.threads,
            overwrite=overwrite,
            dry_run=dry_run,
            compare_dir=compare,
            max_megapixels=max_megapixels,
            cache_dir=cache_dir(),
            report=report,
            **engine,  # type: ignore[arg-type]
        )
    except ValueError as exc:
        _fail(str(exc))


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


def _summary(console: Console, result: BatchResult) -> None:
    if result.dry_run:
        console.print(
            Text(
                f"Dry run: {result.planned} to enhance, {result.skipped} skipped, "
                f"{result.failed} failed; nothing written."
            )
        )
        return
    console.print(
        Text(
            f"Done: {result.ok} enhanced, {result.skipped} skipped, {result.failed} failed; "
            f"{result.megapixels:.1f} MP in {result.seconds:.1f} s "
            f"({result.megapixels_per_second:.2f} MP/s) -> {_line(result.output_dir)}"
        )
    )


def _run_pipe(
    inputs: list[Path], config: RunConfig, *, quiet: bool, html: Path | None
) -> NoReturn:
    """``run - -o -`` / ``run PHOTO -o -``: one photo to stdout; everything else on stderr."""
    import sys

    from photoenhance.infer.pipe import run_pipe
    from photoenhance.infer.runner import OutputConflictError, write_report
    from photoenhance.infer.session import ModelLoadError
    from photoenhance.io import ImageWriteError
    from photoenhance.io.pipe import emit, is_stdio

    stdin = any(is_stdio(p) for p in inputs)
    if stdin and len(inputs) > 1:
        _fail("- (a photo on stdin) must be the only input")
    if not is_stdio(config.output_dir):
        _fail("a photo read from stdin (-) is written to stdout: add -o -")
    if len(inputs) != 1:
        _fail(f"-o - (stdout) takes one photo; got {len(inputs)} inputs")
    if config.dry_run:
        _fail("--dry-run cannot be combined with -o - (stdout carries the photo)")
    if html is not None:
        _fail("--html cannot be combined with -o - (the page links the output file)")
    source = inputs[0]
    if stdin and sys.stdin is None:
        _fail("- reads a photo from stdin, which is closed: pipe one in (< photo.jpg)")
    if sys.stdout is None:
        _fail("-o - writes the photo to stdout, which is closed: redirect it (> out.jpg)")
    if stdin and sys.stdin.isatty():
        _fail("- reads a photo from stdin, which is a terminal: pipe one in (< photo.jpg)")
    if not stdin and not os.path.lexists(source):
        _fail(f"{source}: does not exist")
    if not stdin and source.is_dir():
        _fail(f"-o - (stdout) takes one photo; {source} is a folder")
    if sys.stdout.isatty():
        _fail("-o - writes the photo to stdout, which is a terminal: redirect it (> out.jpg)")
    console = _stderr()
    try:
        piped = run_pipe(sys.stdin.buffer if stdin else source, config)
    except OutputConflictError as exc:
        _fail(str(exc))
    except ModelLoadError as exc:
        _fail(f"cannot load model: {exc}")
    except KeyboardInterrupt:
        console.print("Terminated." if _terminated else "Interrupted.")
        raise typer.Exit(_interrupted_code()) from None
    f = piped.result
    code = EXIT_OK
    if piped.data is None:
        _error_line(console, f.input, f.error or "failed")
        code = EXIT_FAILED
    else:
        if not quiet:
            for w in f.warnings:
                _warning_line(console, f.input, w)
        try:
            emit(piped.data, sys.stdout.buffer)
        except ImageWriteError as exc:
            _error_line(console, exc.path, exc.reason)
            code = EXIT_FAILED
    if config.report is not None:
        try:
            write_report(piped.batch, config.report)
        except ImageWriteError as exc:
            _error_line(console, exc.path, f"report not written: {exc.reason}")
            code = EXIT_FAILED
    if not quiet and code == EXIT_OK:
        r = piped.batch
        console.print(
            Text(f"Done: {r.megapixels:.1f} MP in {r.seconds:.1f} s -> stdout ({len(piped.data or b'')} bytes)")
        )
    raise typer.Exit(code)


_FORMAT_CHOICES = "[" + "|".join(OUTPUT_FORMATS) + "]"


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
    inputs: Annotated[
        list[Path],
        typer.Argument(
            help="Photos and/or folders to enhance; - alone: one photo from stdin.",
            show_default=False,
            metavar="INPUT",
        ),
    ],
    output: Annotated[
        Path | None,
        typer.Option(
            "-o",
            "--output",
            metavar="DIR",
            help="Output folder (mirrors the input tree); - writes the one photo to stdout. "
            "\\[default: ./enhanced]",
            show_default=False,
        ),
    ] = None,
    recursive: Annotated[
        bool, typer.Option("--recursive/--no-recursive", help="Walk sub-folders of input folders.")
    ] = True,
    format: Annotated[
        str | None,
        typer.Option(
            "--format",
            metavar=_FORMAT_CHOICES,
            help="Output format; same: each input's own. \\[default: same]",
            show_default=False,
        ),
    ] = None,
    quality: Annotated[
        int | None,
        typer.Option(
            "--quality",
            metavar="1-100",
            help="JPEG/WebP quality. \\[default: about the original's]",
            show_default=False,
        ),
    ] = None,
    model: Annotated[
        Path | None,
        typer.Option(
            "--model",
            metavar="FILE",
            help="ONNX model to use. \\[default: the bundled INT8 model]",
            show_default=False,
        ),
    ] = None,
    strength: Annotated[
        float | None,
        typer.Option(
            "--strength",
            metavar="0..1",
            help="Effect strength: 0 leaves the photo as it is. \\[default: 1.0]",
            show_default=False,
        ),
    ] = None,
    tile: Annotated[
        int | None,
        typer.Option(
            "--tile",
            metavar="PX",
            help="Inference tile size in pixels, at least 64; photos above 24 MP use at most "
            "1024 px tiles (bounds memory). \\[default: 2048; 4096 on a GPU provider]",
            show_default=False,
        ),
    ] = None,
    threads: Annotated[
        int | None,
        typer.Option(
            "--threads",
            metavar="N",
            help="Inference threads. \\[default: all cores]",
            show_default=False,
        ),
    ] = None,
    overwrite: Annotated[
        bool,
        typer.Option(
            "--overwrite", help="Redo outputs that already exist (default: skip complete ones)."
        ),
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="List the plan on stdout; write nothing.")
    ] = False,
    report: Annotated[
        Path | None,
        typer.Option(
            "--report",
            metavar="FILE",
            help="Write a JSON report (per file + summary) to this file.",
            show_default=False,
        ),
    ] = None,
    compare: Annotated[
        Path | None,
        typer.Option(
            "--compare",
            metavar="DIR",
            help="Write a before/after JPEG per photo to this folder.",
            show_default=False,
        ),
    ] = None,
    max_megapixels: Annotated[
        float,
        typer.Option(
            "--max-megapixels",
            metavar="MP",
            help="Refuse inputs larger than this (decompression bombs).",
        ),
    ] = 200.0,
    html: Annotated[
        Path | None,
        typer.Option(
            "--html",
            metavar="FILE",
            help="Write a before/after page (100 % crops, per-photo numbers, run summary) to "
            "this .html file; its images go to a FILE_files folder next to it.",
            show_default=False,
        ),
    ] = None,
    quiet: Annotated[
        bool, typer.Option("-q", "--quiet", help="No progress, warnings or summary; errors only.")
    ] = False,
    provider: Annotated[
        str,
        typer.Option(
            "--provider",
            metavar="[auto|cpu|cuda|tensorrt]",
            help="onnxruntime execution provider (auto: CUDA if "
            "available, else CPU).",
        ),
    ] = "auto",
    engine: Annotated[
        str,
        typer.Option(
            "--engine",
            metavar="[local|ray]",
            help="local (this process) or ray (a Ray cluster; pip install 'photoenhance[ray]').",
        ),
    ] = "local",
    ray_address: Annotated[
        str | None,
        typer.Option(
            "--ray-address",
            metavar="ADDR",
            help="Ray cluster to join ('auto': the running one). \\[default: a private "
            "local Ray instance for this run]",
            show_default=False,
        ),
    ] = None,
    ray_actors: Annotated[
        int | None,
        typer.Option(
            "--ray-actors",
            metavar="N",
            help="Model-holding Ray actors. \\[default: as many as the cluster's CPUs/GPUs]",
            show_default=False,
        ),
    ] = None,
    ray_cpus: Annotated[
        float | None,
        typer.Option(
            "--ray-cpus-per-actor",
            metavar="N",
            help="CPUs per Ray actor (and onnxruntime threads). \\[default: 1]",
            show_default=False,
        ),
    ] = None,
    ray_gpus: Annotated[
        float | None,
        typer.Option(
            "--ray-gpus-per-actor",
            metavar="N",
            help="GPUs per Ray actor. \\[default: 1 for a GPU provider, else 0]",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Enhance photos from INPUT files/folders into the output folder."""
    from photoenhance.infer.runner import (
        BatchProgress,
        EngineError,
        EngineUnavailableError,
        NoInputsError,
        OutputConflictError,
        ProviderUnavailableError,
        run_batch,
        write_report,
    )
    from photoenhance.infer.session import ModelLoadError
    from photoenhance.io import ImageWriteError

    config = _build_run_config(
        output=output, recursive=recursive, format=format, quality=quality, model=model,
        strength=strength, tile=tile, threads=threads, overwrite=overwrite, dry_run=dry_run,
        compare=compare, max_megapixels=max_megapixels, report=report,
        provider=provider, engine=engine, ray_address=ray_address, ray_actors=ray_actors,
        ray_cpus_per_actor=ray_cpus, ray_gpus_per_actor=ray_gpus,
    )  # fmt: skip
    if str(config.output_dir) == "-" or any(str(p) == "-" for p in inputs):
        _run_pipe(inputs, config, quiet=quiet, html=html)
    if config.output_dir.exists() and not config.output_dir.is_dir():
        _fail(f"--output {config.output_dir} exists and is not a folder")
    if (
        config.compare_dir is not None
        and config.compare_dir.exists()
        and not config.compare_dir.is_dir()
    ):
        _fail(f"--compare {config.compare_dir} exists and is not a folder")
    if html is not None:
        from photoenhance.infer.html_report import HtmlPathError, check_html_path

        try:
            check_html_path(html, others=[report] if report is not None else [])
        except HtmlPathError as exc:
            _fail(str(exc))
    console = _stderr()
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
        if plain is not None and (line := plain.line(event.done, event.total, event.megapixels, now)):
            console.print(Text(line))

    try:
        with progress:
            result = run_batch(inputs, config, on_progress=on_progress)
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
        console.print("Terminated." if _terminated else "Interrupted.")
        raise typer.Exit(_interrupted_code()) from None

    code = EXIT_FAILED if result.failed else EXIT_OK
    if result.dry_run:
        _print_dry_run(result)
        for f in result.files:
            if f.status == "error":
                _error_line(console, f.input, f.error or "failed")
            elif f.reason is not None and not quiet:
                _note_line(console, f.input, f.reason)
    if report is not None and not result.dry_run:
        try:
            write_report(result, report)
        except ImageWriteError as exc:
            _error_line(console, exc.path, f"report not written: {exc.reason}")
            code = EXIT_FAILED
    if html is not None and not result.dry_run:
        code = _write_html(console, result, config, html, quiet) or code
    if not quiet:
        _summary(console, result)
    raise typer.Exit(code)


def _write_html(
    console: Console, result: BatchResult, config: RunConfig, html: Path, quiet: bool
) -> int:
    """Write the ``--html`` page; returns EXIT_FAILED if it could not be written."""
    from photoenhance.infer.html_report import write_html_report
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
    try:
        with progress:
            page = write_html_report(
                result.to_dict(), html, settings=settings,
                max_megapixels=config.max_megapixels,
                on_photo=lambda done, _total: progress.update(task, completed=done),
            )  # fmt: skip
    except ImageWriteError as exc:
        _error_line(console, exc.path, f"HTML report not written: {exc.reason}")
        return EXIT_FAILED
    if not quiet:
        for path, reason in page.problems:
            _warning_line(console, path, f"not in the HTML report: {reason}")
    return EXIT_OK


# --------------------------------------------------------------------------- watch


@app.command(
    "watch",
    cls=_Command,
    epilog=_examples(
        "photoenhance watch ~/Pictures/phone-sync -o ~/Pictures/enhanced",
        "photoenhance watch camera/ -o enhanced/ --format jpeg --settle 3",
    ),
)
def watch_command(
    folders: Annotated[
        list[Path],
        typer.Argument(help="Folders to watch.", show_default=False, metavar="DIR"),
    ],
    output: Annotated[
        Path | None,
        typer.Option(
            "-o",
            "--output",
            metavar="DIR",
            help="Output folder (mirrors the watched folders). \\[default: ./enhanced]",
            show_default=False,
        ),
    ] = None,
    recursive: Annotated[
        bool, typer.Option("--recursive/--no-recursive", help="Watch sub-folders too.")
    ] = True,
    format: Annotated[
        str | None,
        typer.Option(
            "--format",
            metavar=_FORMAT_CHOICES,
            help="Output format; same: each input's own. \\[default: same]",
            show_default=False,
        ),
    ] = None,
    quality: Annotated[
        int | None,
        typer.Option(
            "--quality",
            metavar="1-100",
            help="JPEG/WebP quality. \\[default: about the original's]",
            show_default=False,
        ),
    ] = None,
    model: Annotated[
        Path | None,
        typer.Option(
            "--model",
            metavar="FILE",
            help="ONNX model to use. \\[default: the bundled INT8 model]",
            show_default=False,
        ),
    ] = None,
    strength: Annotated[
        float | None,
        typer.Option(
            "--strength",
            metavar="0..1",
            help="Effect strength: 0 leaves the photo as it is. \\[default: 1.0]",
            show_default=False,
        ),
    ] = None,
    tile: Annotated[
        int | None,
        typer.Option(
            "--tile",
            metavar="PX",
            help="Inference tile size in pixels, at least 64; photos above 24 MP use at most "
            "1024 px tiles (bounds memory). \\[default: 2048]",
            show_default=False,
        ),
    ] = None,
    threads: Annotated[
        int | None,
        typer.Option(
            "--threads", metavar="N", help="Inference threads. \\[default: all cores]",
            show_default=False,
        ),
    ] = None,
    overwrite: Annotated[
        bool,
        typer.Option(
            "--overwrite",
            help="Redo the photos already there at start even if their outputs are up to date.",
        ),
    ] = False,
    compare: Annotated[
        Path | None,
        typer.Option(
            "--compare",
            metavar="DIR",
            help="Write a before/after JPEG per photo to this folder.",
            show_default=False,
        ),
    ] = None,
    max_megapixels: Annotated[
        float,
        typer.Option(
            "--max-megapixels",
            metavar="MP",
            help="Refuse inputs larger than this (decompression bombs).",
        ),
    ] = 200.0,
    settle: Annotated[
        float,
        typer.Option(
            "--settle",
            metavar="SECONDS",
            help="How long a new or changed file must stay unchanged (and decode completely) "
            "before it is enhanced.",
        ),
    ] = 1.0,
    poll: Annotated[
        bool,
        typer.Option(
            "--poll", help="Poll the folders instead of OS notifications (network shares)."
        ),
    ] = False,
    quiet: Annotated[
        bool, typer.Option("-q", "--quiet", help="No per-photo lines or warnings; errors only.")
    ] = False,
) -> None:
    """Enhance the photos in DIR, then each photo that appears or changes, until Ctrl-C or
    SIGTERM (exit 0)."""
    import signal
    import threading

    from photoenhance.infer.session import ModelLoadError
    from photoenhance.infer.watch import WatchConfig, WatchEvent, watch_folders

    config = _build_run_config(
        output=output, recursive=recursive, format=format, quality=quality, model=model,
        strength=strength, tile=tile, threads=threads, overwrite=overwrite, dry_run=False,
        compare=compare, max_megapixels=max_megapixels,
    )  # fmt: skip
    for folder in folders:
        if str(folder) == "-":
            _fail("watch takes folders, not - (stdin)")
        if not folder.is_dir():
            _fail(f"{folder}: {'does not exist' if not os.path.lexists(folder) else 'not a folder'}")
    if config.output_dir.exists() and not config.output_dir.is_dir():
        _fail(f"--output {config.output_dir} exists and is not a folder")
    try:
        wconfig = WatchConfig(tuple(folders), config, settle=settle, force_polling=poll or None)
    except ValueError as exc:
        _fail(str(exc))
    console = _stderr()
    counts = {"ok": 0, "skipped": 0, "error": 0}

    def on_event(event: WatchEvent) -> None:
        if event.kind == "ready" and not quiet:
            where = ", ".join(_line(f) for f in folders)
            console.print(
                Text(
                    f"Watching {where} -> {_line(config.output_dir)} ({event.files} "
                    f"photo{'' if event.files == 1 else 's'} there); Ctrl-C to stop."
                )
            )
        f = event.result
        if f is None:
            return
        counts[str(f.status)] = counts.get(str(f.status), 0) + 1
        if f.status == "error":
            _error_line(console, f.input, f.error or "failed")
            return
        if quiet:
            return
        if f.reason is not None:
            _note_line(console, f.input, f.reason)
        for w in f.warnings:
            _warning_line(console, f.input, w)
        if f.status == "ok":
            console.print(
                Text(f"enhanced {_line(f.input)} -> {_line(f.output or '')} ({f.seconds:.1f} s)")
            )

    def on_term(signum: int, frame: object) -> None:  # SIGTERM ends watch as Ctrl-C does
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        raise KeyboardInterrupt

    stop = threading.Event()
    previous = signal.signal(signal.SIGTERM, on_term)
    try:
        watch_folders(wconfig, stop=stop, on_event=on_event)
    except ModelLoadError as exc:
        _fail(f"cannot load model: {exc}")
    except ValueError as exc:
        _fail(str(exc))
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
    if not quiet:
        console.print(
            Text(
                f"Stopped: {counts['ok']} enhanced, {counts['skipped']} skipped, "
                f"{counts['error']} failed."
            )
        )
    raise typer.Exit(EXIT_OK)


# --------------------------------------------------------------------------- info


@app.command(
    "info",
    cls=_Command,
    epilog=_examples("photoenhance info", "photoenhance info --model my-model/model.onnx"),
)
def info_command(
    model: Annotated[
        Path | None,
        typer.Option(
            "--model",
            metavar="FILE",
            help="ONNX model to describe. \\[default: the bundled INT8 model]",
            show_default=False,
        ),
    ] = None,
    threads: Annotated[
        int | None,
        typer.Option(
            "--threads",
            metavar="N",
            help="Inference threads. \\[default: all cores]",
            show_default=False,
        ),
    ] = None,
    provider: Annotated[
        str, typer.Option(
            "--provider",
            metavar="[auto|cpu|cuda|tensorrt]",
            help="onnxruntime execution provider to show (auto: CUDA if available, else CPU).",
        )
    ] = "auto",
) -> None:
    """Show the model, the inference runtime and where config/cache live."""
    import onnxruntime as ort

    from photoenhance.config import ConfigError, cache_dir, load_config
    from photoenhance.infer.providers import PROVIDER_NAMES, ProviderUnavailableError
    from photoenhance.infer.runner import DEFAULT_TILE
    from photoenhance.infer.session import Enhancer, InferenceConfig, ModelLoadError
    from photoenhance.io import heif_available

    try:
        cfg = load_config()
    except ConfigError as exc:
        _fail(f"bad config file: {exc}")
    model = model if model is not None else cfg.run.model
    threads = threads if threads is not None else cfg.run.threads
    if threads is not None and threads < 1:
        _fail(f"--threads must be at least 1, got {threads}")
    if provider not in PROVIDER_NAMES:
        _fail(f"--provider must be one of {', '.join(PROVIDER_NAMES)}; got {provider!r}")
    cache = cache_dir()
    try:
        enhancer = Enhancer(
            InferenceConfig(
                model=model,
                tile=cfg.run.tile or DEFAULT_TILE,
                threads=threads,
                cache_dir=cache,
                provider=provider,
            )
        )
    except ModelLoadError as exc:
        _fail(f"cannot load model: {exc}")
    except ProviderUnavailableError as exc:
        _fail(str(exc))
    info = enhancer.info
    rows = [
        ("photoenhance", __version__),
        ("model", str(info.path)),
        ("model size", info.model_size),
        ("precision", info.precision),
        ("model version", info.version),
        ("parameters", f"{info.params:,}"),
        ("MACs/MP", f"{info.macs_per_mp / 1e9:.2f} G"),
        ("halo", f"{enhancer.halo} px"),
        ("tile", f"{enhancer.config.tile} px"),
        ("provider", enhancer.provider),
        ("threads", str(threads) if threads else f"auto ({os.cpu_count() or '?'} CPUs)"),
        ("cache dir", str(cache)),
        ("config file", f"{cfg.path}{'' if cfg.exists else ' (not present)'}"),
        ("onnxruntime", ort.__version__),
        ("providers", ", ".join(ort.get_available_providers())),
        ("HEIC support", "yes" if heif_available() else "no (pip install 'photoenhance[heic]')"),
    ]
    out = _stdout()
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        out.print(Text(f"{key + ':':<{width + 1}} {value}"))


# --------------------------------------------------------------------------- entry point


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
            "--size", metavar="[tiny|small|medium]", help="Architecture for --from scratch."
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
    try:
        from photoenhance.train.loop import StepEvent, TrainConfig, TrainError, train_processes
    except ImportError:
        _fail("training needs torch: pip install 'photoenhance[train]'")
    if pairs is None and synthetic is None:
        _fail("give --pairs DIR (and/or --synthetic DIR)")
    if epochs is not None:
        from photoenhance.data.pairs import PairDataError, find_pairs

        try:
            n = len(find_pairs(pairs).pairs) if pairs is not None else 0
        except PairDataError as exc:
            _fail(str(exc))
        steps = max(1, round(epochs * n * (1 - val_fraction) / batch_size))
    cfg = TrainConfig(
        out=out, pairs=pairs, val_pairs=val_pairs, val_fraction=val_fraction, synthetic=synthetic,
        synthetic_fraction=synthetic_fraction, synthetic_tone=synthetic_tone,
        identity_fraction=identity_share, identity_photos=identity_photos, loss=loss, head=head,
        chroma_weight=chroma_weight,
        resize_target=resize_target, init=init, size=size, steps=steps, qat_steps=qat_steps,
        batch_size=batch_size, patch_size=patch_size, lr=lr, qat_lr=qat_lr, qat_target=qat_target,
        eval_every=eval_every,
        checkpoint_every=checkpoint_every, device=device, seed=seed, threads=threads, resume=resume,
        stream=stream, workers=workers, cache_mb=cache_mb, val_limit=val_limit, bf16=bf16,
    )
    if os.environ.get("RANK", "0") != "0":  # a torchrun rank other than 0: rank 0 reports
        try:
            train_processes(cfg, nproc)
        except TrainError as exc:
            _fail(str(exc))
        return
    console = _stderr()
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("loss {task.fields[loss]:.4f}  val PSNR {task.fields[psnr]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=False,
    )
    task: TaskID | None = None

    def on_event(e: StepEvent) -> None:
        nonlocal task
        if task is None:
            task = progress.add_task("train", total=e.total, loss=e.loss, psnr="-")
        psnr = "-" if e.val_psnr is None else f"{e.val_psnr:.2f} dB (best {e.best_psnr:.2f})"
        progress.update(task, completed=e.step, description=e.phase, loss=e.loss, psnr=psnr)

    try:
        with progress:
            result = train_processes(cfg, nproc, on_event=on_event)
    except TrainError as exc:
        _fail(str(exc))
    except KeyboardInterrupt:
        console.print("interrupted: continue with --resume")
        raise typer.Exit(_interrupted_code()) from None
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
    threads: Annotated[
        int | None,
        typer.Option(
            "--threads",
            metavar="N",
            help="Inference threads. \\[default: all cores]",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Fidelity and harm of identity, FP32, QAT-INT8 and PTQ-INT8 side by side (no torch
    needed); with --photos, what the model does to your own photos."""
    import json

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
                          f"{100 * h.saturation_change:+.1f}", _ratio(h.noise_gain), f"{r.seconds:.1f}")
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
            pres = evaluate_photos(PhotoEvalConfig(photos=tuple(photos), model=model, threads=threads))
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
                          f"{100 * m.saturation_change:+.1f}", _ratio(m.noise_gain))
        if pres.summary is not None:
            sm = pres.summary
            table.add_row("mean", "", f"{100 * sm.new_clipping:.2f}", f"{100 * sm.crushed_shadows:.2f}",
                          f"{sm.luma_shift:+.1f}", f"{100 * sm.saturation_change:+.1f}",
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
        json_path.write_text(json.dumps(report, indent=2, allow_nan=False))
    raise typer.Exit(code)


def _ratio(x: float) -> str:
    return "n/a" if x != x else f"{x:.2f}"


def _json_float(x: float) -> float | None:
    import math

    return x if math.isfinite(x) else None


def main() -> None:
    """Console-script entry point (``photoenhance``): SIGTERM is handled like Ctrl-C."""
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:  # keep a handler set by a host
        signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        app(prog_name="photoenhance")
    except KeyboardInterrupt:
        _stderr().print("Terminated." if _terminated else "Interrupted.")
        raise SystemExit(_interrupted_code()) from None
    except SystemExit as exc:  # typer turns an uncaught KeyboardInterrupt into exit 130
        if _terminated and exc.code == EXIT_INTERRUPTED:
            raise SystemExit(EXIT_TERMINATED) from None
        raise


if __name__ == "__main__":
    main()
