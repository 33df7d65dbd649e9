"""``run`` in pipe mode: one photo from a file or stdin to stdout (``run - -o -``)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import typer
from rich.text import Text

from photoenhance.cli.common import EXIT_FAILED, EXIT_OK, _interrupt_message, _interrupted_code
from photoenhance.cli.render import _error_line, _fail, _stderr, _warning_line

if TYPE_CHECKING:  # heavy imports (onnxruntime, numpy, Pillow) wait until a command runs
    from photoenhance.infer.runner import RunConfig


def _run_pipe(
    inputs: list[Path], config: RunConfig, *, quiet: bool, html: Path | None
) -> NoReturn:
    """``run - -o -`` / ``run PHOTO -o -``: one photo to stdout; everything else on stderr."""
    import sys

    from photoenhance.infer.model_file import ModelLoadError
    from photoenhance.infer.pipe import run_pipe
    from photoenhance.infer.runner import OutputConflictError, write_report
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
        console.print(_interrupt_message())
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
