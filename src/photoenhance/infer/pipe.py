"""One photo from stdin (or a file) to stdout: ``photoenhance run - -o -``.

:func:`run_pipe` runs the photo through the stages every photo of a batch goes through
(:mod:`photoenhance.infer.photo`: decode, enhance), then encodes it to bytes
(:func:`~photoenhance.infer.photo.encode_photo`, the encoder ``run`` writes files with)
and hands them back; the caller writes them to stdout in one go
(:func:`photoenhance.io.pipe.emit`).  So the output is byte for byte what ``run`` writes
for the same photo read from a file (format of the input unless ``format`` says
otherwise, metadata carried over the same way), and an error leaves stdout empty.  A
photo on stdin is read into memory (:func:`photoenhance.io.pipe.read_stream`) and decoded
from there (:func:`photoenhance.io.open_bytes`); nothing goes through a temporary folder.
Folders that older versions' killed pipe runs left in the temporary folder are removed
(:func:`photoenhance.io.pipe.clean_stale_spools`).

In the result, the input is ``-`` for stdin and the output ``-``; messages name them so.
A compare image, if asked for, goes to ``compare_dir/<name>.compare.jpg`` (``stdin`` for
stdin).  No torch here.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import BinaryIO

from photoenhance.infer.enhancer import Enhancer
from photoenhance.infer.naming import COMPARE_SUFFIX, check_report_path
from photoenhance.infer.photo import decode_photo, encode_photo, enhance_photo
from photoenhance.infer.types import (
    BatchResult,
    FileResult,
    OutputConflictError,
    PlannedFile,
    RunConfig,
    Status,
)
from photoenhance.io import ImageReadError, OpenedImage, mark_output_folder, open_bytes, open_image
from photoenhance.io.pipe import STDIO, clean_stale_spools, read_stream

STDIN_NAME = "stdin"


@dataclass(frozen=True)
class PipeResult:
    """The photo's result (input ``-`` or the file, output ``-``), the batch summary for
    reports, and the bytes to write to stdout (None when it failed)."""

    result: FileResult
    batch: BatchResult
    data: bytes | None


def _enhance(
    item: PlannedFile, photo_bytes: bytes | None, enhancer: Enhancer, config: RunConfig
) -> tuple[FileResult, bytes | None]:
    """The photo (``item.input``, or ``photo_bytes`` read from stdin) opened once, decoded,
    enhanced and encoded to bytes: the result and the bytes (None when it failed)."""
    opened: OpenedImage | ImageReadError
    try:
        if photo_bytes is None:
            opened = open_image(item.input, max_megapixels=config.max_megapixels)
        else:
            opened = open_bytes(photo_bytes, STDIO, max_megapixels=config.max_megapixels)
    except ImageReadError as exc:
        opened = exc  # reported by decode_photo, as for a batch
    photo = decode_photo(item, config, opened)
    if isinstance(photo, FileResult):
        return photo, None
    failed = enhance_photo(photo, enhancer, config)
    if failed is not None:
        return failed, None
    result, data = encode_photo(photo, config)
    return replace(result, source=None, written=None), data  # no file of ours to recognise


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
    clean_stale_spools()  # left by older versions' pipe runs that were killed
    name = STDIN_NAME if not isinstance(source, Path) else source.name
    data: bytes | None = None
    try:
        photo_bytes = None if isinstance(source, Path) else read_stream(source)
    except ImageReadError as exc:  # nothing came, or stdin could not be read
        result = FileResult(shown_in, Path(STDIO), Status.ERROR, exc.reason)
    else:
        compare = None
        warnings: tuple[str, ...] = ()
        if config.compare_dir is not None:
            compare = config.compare_dir / f"{name}{COMPARE_SUFFIX}"
            why = mark_output_folder(config.compare_dir)
            warnings = (why,) if why else ()
        item = PlannedFile(0, shown_in, Path(STDIO), compare, warnings=warnings)
        result, data = _enhance(item, photo_bytes, enhancer, replace(config, overwrite=True))
    batch = BatchResult.build(
        (result,), started=start, config=config, model=enhancer.info,
        provider=enhancer.provider, output_dir=Path(STDIO),
    )  # fmt: skip
    return PipeResult(result, batch, data)
