"""``photoenhance watch``: enhance the photos in folders, then each new or changed one."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from photoenhance.cli.common import EXIT_OK
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
from photoenhance.cli.render import _error_line, _fail, _line, _note_line, _stderr, _warning_line
from photoenhance.cli.root import app
from photoenhance.cli.runconfig import _build_run_config


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
    format: FormatOption = None,
    quality: QualityOption = None,
    model: ModelOption = None,
    strength: StrengthOption = None,
    tile: TileOption = None,
    threads: ThreadsOption = None,
    overwrite: Annotated[
        bool,
        typer.Option(
            "--overwrite",
            help="Redo the photos already there at start even if their outputs are up to date.",
        ),
    ] = False,
    compare: CompareOption = None,
    max_megapixels: MaxMegapixelsOption = 200.0,
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

    from photoenhance.infer.model_file import ModelLoadError
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
        if event.kind == "warning" and event.message is not None and not quiet:
            console.print(Text.assemble(("warning: ", "yellow"), _line(event.message)))
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
