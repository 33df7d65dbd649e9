"""One photo from stdin (or a file) to stdout: ``photoenhance run - -o -``.

:func:`run_pipe` runs the photo through :func:`~photoenhance.infer.photo.process_photo`,
like every photo of a batch, into a private temporary folder, then hands back the bytes
of the finished file; the caller writes them to stdout in one go
(:func:`photoenhance.io.pipe.emit`).  So the output is byte for byte what ``run`` writes
for the same photo read from a file (format of the input unless ``format`` says
otherwise, metadata carried over the same way), and an error leaves stdout empty.  A
photo on stdin is first copied to that folder (:func:`photoenhance.io.pipe.spool`: the
decoder needs a file).  The temporary folder is removed afterwards, whatever happens;
one left by a killed run (``kill -9``) is removed by the next
(:func:`photoenhance.io.pipe.clean_stale_spools`).

In the result, the input is ``-`` for stdin and the output ``-``; messages name them so.
A compare image, if asked for, goes to ``compare_dir/<name>.compare.jpg`` (``stdin`` for
stdin).  No torch here.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import BinaryIO

from photoenhance.infer.enhancer import Enhancer
from photoenhance.infer.naming import COMPARE_SUFFIX, check_report_path
from photoenhance.infer.photo import process_photo
from photoenhance.infer.types import (
    BatchResult,
    FileResult,
    OutputConflictError,
    PlannedFile,
    RunConfig,
    Status,
)
from photoenhance.io import ImageReadError, mark_output_folder
from photoenhance.io.pipe import STDIO, clean_stale_spools, spool, spool_folder

STDIN_NAME = "stdin"


@dataclass(frozen=True)
class PipeResult:
    """The photo's result (input ``-`` or the file, output ``-``), the batch summary for
    reports, and the bytes to write to stdout (None when it failed)."""

    result: FileResult
    batch: BatchResult
    data: bytes | None


def _rename(text: str | None, names: dict[str, str]) -> str | None:
    if text is None:
        return None
    for old, new in names.items():
        text = text.replace(old, new)
    return text


def run_pipe(
    source: Path | BinaryIO,
    config: RunConfig,
    *,
    enhancer: Enhancer | None = None,
) -> PipeResult:
    """Enhance one photo - ``source`` is a file, or a binary stream (stdin) - for stdout.

    ``config.output_dir`` is not used; ``overwrite`` and ``dry_run`` do not apply.

    Raises:
        ModelLoadError: the model cannot be loaded.
        OutputConflictError: ``config.report`` may not be written, or the compare folder
            holds the input photo (checked before any work, as
            :func:`~photoenhance.infer.naming.plan_batch` does for a batch).
    """
    start = time.perf_counter()
    if isinstance(source, Path) and config.compare_dir is not None:
        folder, photo = config.compare_dir.resolve(), source.resolve()
        if folder in photo.parents:  # run refuses it too (its walk skips the photo)
            raise OutputConflictError(
                f"--compare {config.compare_dir} holds the input {source}; it would be "
                "marked as an output folder (choose another folder)"
            )
    if config.report is not None:
        inputs = {source.resolve()} if isinstance(source, Path) else set()
        check_report_path(config.report, inputs, [])
    if enhancer is None:
        enhancer = Enhancer(config.inference_config())
    shown_in = Path(STDIO) if not isinstance(source, Path) else source
    clean_stale_spools()  # left by pipe runs that were killed
    folder = spool_folder()
    try:
        name = STDIN_NAME if not isinstance(source, Path) else source.name
        out = folder / "out" / name
        out.parent.mkdir()
        names = {str(out): STDIO}
        try:
            path = source if isinstance(source, Path) else spool(source, folder / name)
        except ImageReadError as exc:
            result = FileResult(shown_in, Path(STDIO), Status.ERROR, exc.reason)
            path = None
        if path is not None:
            names[str(path)] = str(shown_in)
            compare = None
            warnings: tuple[str, ...] = ()
            if config.compare_dir is not None:
                compare = config.compare_dir / f"{name}{COMPARE_SUFFIX}"
                why = mark_output_folder(config.compare_dir)
                warnings = (why,) if why else ()
            item = PlannedFile(0, path, out, compare, warnings=warnings)
            result = process_photo(item, enhancer, replace(config, overwrite=True))
        data = out.read_bytes() if result.status == Status.OK else None
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    result = replace(
        result,
        input=shown_in,
        output=Path(STDIO),
        error=_rename(result.error, names),
        warnings=tuple(_rename(w, names) or "" for w in result.warnings),
    )
    batch = BatchResult.build(
        (result,), started=start, config=config, model=enhancer.info,
        provider=enhancer.provider, output_dir=Path(STDIO),
    )  # fmt: skip
    return PipeResult(result, batch, data)
