"""One photo, start to finish: the per-photo work every engine runs.

:func:`process_photo` takes one planned photo (:class:`~photoenhance.infer.types.PlannedFile`),
a loaded :class:`~photoenhance.infer.enhancer.Enhancer` and the run's settings, and gives
its :class:`~photoenhance.infer.types.FileResult`: decode → colour → enhance → encode →
atomic write (+ compare image), every warning returned as data.  It is composed of three
stages that the local engine (:mod:`photoenhance.infer.local`) runs on different threads
to overlap them, and that other engines call in sequence through :func:`process_photo`:

:func:`decode_photo`
    skip check, output folder, decode (colour handled by :func:`photoenhance.io.read_image`);
:func:`enhance_photo`
    the network, in place in the decoded pixels (and the compare image's "before");
:func:`write_photo`
    encode + atomic write (:func:`photoenhance.io.write_image`) and the compare image.

None of them raises for a photo's own problem (unreadable input, folder that cannot be
created, inference or write error, disk full...): that becomes a ``FileResult`` with
``status == "error"`` and a one-line reason, and the batch goes on.  Outputs are written
atomically (temporary file, fsync, rename), so a killed worker never leaves a partial file
under a final name.

Skipping
    :func:`decide` is the one rule, used by every engine (local, Ray, the dry run): without
    ``overwrite``, an output that exists *and* decodes completely
    (:func:`photoenhance.io.is_complete_image`) is skipped; a partial one is redone.
    Special files found in folders (FIFOs, devices, broken or looping symlinks) are
    skipped too; they are never opened.  Every skip says why (:attr:`FileResult.reason`).

No torch here.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field

from PIL import Image

from photoenhance.infer.compare import small_copy, write_compare
from photoenhance.infer.enhancer import Enhancer
from photoenhance.infer.types import FileResult, PlannedFile, RunConfig, Status, describe_error
from photoenhance.io import (
    DecodedImage,
    ImageReadError,
    OpenedImage,
    is_complete_image,
    open_image,
    probe_image,
    read_image,
    write_image,
)
from photoenhance.io.encode import encode_image
from photoenhance.io.manifest import FileIdentity, file_identity


@dataclass
class PhotoInFlight:
    """A decoded photo between stages (mutable: its pixels are enhanced in place).

    Attributes:
        item: the planned photo.
        image: the decoded photo; ``image.rgb`` holds the enhanced pixels after
            :func:`enhance_photo`.
        seconds: time spent on it so far (not counting queue waits).
        before: reduced copy of the input for the compare image, if one is planned.
        warnings: notes so far (planning, decoding, then encoding).
        source: the input's identity read before it was decoded (a photo replaced while
            it is being enhanced is told apart by it).
    """

    item: PlannedFile
    image: DecodedImage
    seconds: float
    before: Image.Image | None = None
    warnings: list[str] = field(default_factory=list)
    source: FileIdentity | None = None


def _error(
    item: PlannedFile, reason: str, seconds: float = 0.0, mp: float | None = None
) -> FileResult:
    return FileResult(item.input, item.output, Status.ERROR, reason, seconds, mp)


def decide(
    item: PlannedFile,
    config: RunConfig,
    *,
    check_output: bool = True,
    measure: bool = True,
    opened: OpenedImage | ImageReadError | None = None,
) -> FileResult | None:
    """The per-photo rule, for every engine: the photo's final result when it is not to be
    processed (skipped, or an error), or None: process it.

    In this order: an entry the plan skips (a special file found in a folder: never
    opened) is ``skipped``; one the plan could not place (``item.error``) is an
    ``error``; without ``config.overwrite``, an output that exists *and* decodes
    completely (:func:`photoenhance.io.is_complete_image`) is ``skipped`` (a partial one
    is redone).  Never raises: a problem while checking is an ``error`` result.

    Args:
        item: the planned photo.
        config: the run's settings (``overwrite``, ``max_megapixels``).
        check_output: False decides from the plan alone (no I/O): the Ray driver, whose
            actors check the output just before decoding.
        measure: an existing output's skip is timed and the input's megapixels recorded
            (False: the dry run, which opens no input).
        opened: the input as :func:`open_photo` opened it (its size is read from there
            instead of opening the file again); None: probed here when needed.
    """
    t0 = time.perf_counter()
    try:
        if item.skip is not None:
            return FileResult(item.input, None, Status.SKIPPED, reason=item.skip)
        if item.error is not None or item.output is None:
            return _error(item, item.error or "no output path")
        dst = item.output
        if not check_output or config.overwrite:
            return None
        if not (os.path.lexists(dst) and is_complete_image(dst)):
            return None
        reason = f"output {dst} exists; not replaced without --overwrite"
        if not measure:
            return FileResult(item.input, dst, Status.SKIPPED, reason=reason)
        try:
            if isinstance(opened, ImageReadError):
                raise opened
            if opened is None:
                w, h = probe_image(item.input, max_megapixels=config.max_megapixels)
            else:
                w, h = opened.size
            mp: float | None = w * h / 1e6
        except ImageReadError:
            mp = None
        return FileResult(
            item.input, dst, Status.SKIPPED, None, time.perf_counter() - t0, mp, reason=reason
        )
    except Exception as exc:
        return _error(item, describe_error(exc))


def _decode(
    item: PlannedFile, config: RunConfig, opened: OpenedImage | ImageReadError | None
) -> PhotoInFlight | FileResult:
    t0 = time.perf_counter()
    if (decided := decide(item, config, opened=opened)) is not None:
        return decided
    dst = item.output
    assert dst is not None
    try:
        dst.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        reason = f"cannot create output folder {dst.parent}: {describe_error(exc)}"
        return _error(item, reason, time.perf_counter() - t0)
    if isinstance(opened, ImageReadError):
        raise opened
    # before reading: a later change is told apart (fstat of the open file when opened)
    source = file_identity(item.input) if opened is None else opened.identity
    image = read_image(item.input, max_megapixels=config.max_megapixels, opened=opened)
    warnings = [*item.warnings, *image.warnings]
    return PhotoInFlight(item, image, time.perf_counter() - t0, warnings=warnings, source=source)


def open_photo(item: PlannedFile, config: RunConfig) -> OpenedImage | ImageReadError | None:
    """The planned photo opened (once: file, mmap, header), for an engine that needs its
    size before decoding it (:attr:`OpenedImage.size`) and then hands it to
    :func:`decode_photo`; the error that opening it gave; or None when it is not to be
    opened (a skip or a planning error: a FIFO would block)."""
    if item.skip is not None or item.error is not None or item.output is None:
        return None
    try:
        return open_image(item.input, max_megapixels=config.max_megapixels)
    except ImageReadError as exc:
        return exc


def decode_photo(
    item: PlannedFile,
    config: RunConfig,
    opened: OpenedImage | ImageReadError | None = None,
) -> PhotoInFlight | FileResult:
    """Stage 1: the photo decoded, or its final result (skipped, or an error).

    Skips special files and complete existing outputs (see the module docstring) and
    creates the output folder before decoding.  ``opened``: what :func:`open_photo` gave
    for ``item`` (closed here), so that the input is opened once; None opens it here.
    """
    try:
        return _decode(item, config, opened)
    except Exception as exc:
        return _error(item, describe_error(exc))
    finally:
        if isinstance(opened, OpenedImage):
            opened.close()


def enhance_photo(
    photo: PhotoInFlight, enhancer: Enhancer, config: RunConfig
) -> FileResult | None:
    """Stage 2: enhance ``photo.image.rgb`` in place; None on success, else an error result."""
    t0 = time.perf_counter()
    try:
        rgb = photo.image.rgb
        if config.compare_dir is not None:
            photo.before = small_copy(rgb, config.compare_size)
        if not rgb.flags.writeable:  # pragma: no cover - io hands out writable arrays
            raise ValueError("decoded pixels are read-only")
        enhancer.enhance(rgb, strength=config.strength, out=rgb)
    except Exception as exc:
        reason = f"inference failed: {describe_error(exc)}"
        return _error(photo.item, reason, photo.seconds, photo.image.megapixels)
    photo.seconds += time.perf_counter() - t0
    return None


def _write(photo: PhotoInFlight, config: RunConfig) -> FileResult:
    t0 = time.perf_counter()
    item, image = photo.item, photo.image
    assert item.output is not None
    written = write_image(
        item.output,
        image,
        image.rgb,
        format=config.format,
        quality=config.quality,
        software=config.software,
    )
    photo.warnings.extend(written.warnings)
    identity = file_identity(item.output)  # at once: what tells this file as ours later
    return _finish(photo, config, t0, identity)


def _finish(
    photo: PhotoInFlight, config: RunConfig, t0: float, identity: FileIdentity | None
) -> FileResult:
    """The compare image, then the photo's result (written: ``identity``)."""
    item, image = photo.item, photo.image
    compare = None
    if item.compare is not None and photo.before is not None:
        try:
            after = small_copy(image.rgb, config.compare_size)
            write_compare(item.compare, photo.before, after, image.metadata.orientation)
            compare = item.compare
        except Exception as exc:
            photo.warnings.append(f"compare image not written: {describe_error(exc)}")
    seconds = photo.seconds + time.perf_counter() - t0
    return FileResult(
        item.input,
        item.output,
        Status.OK,
        None,
        seconds,
        image.megapixels,
        tuple(photo.warnings),
        compare,
        source=photo.source,
        written=identity,
    )


def encode_photo(photo: PhotoInFlight, config: RunConfig) -> tuple[FileResult, bytes | None]:
    """Stage 3 for a pipe: encode the enhanced photo to bytes (nothing written but the
    compare image), named ``photo.item.output`` (``-``) in messages; the result and the
    bytes (None when it failed).  Same bytes as :func:`write_photo` writes."""
    t0 = time.perf_counter()
    item, image = photo.item, photo.image
    assert item.output is not None
    try:
        encoded = encode_image(
            item.output,
            image,
            image.rgb,
            format=config.format,
            quality=config.quality,
            software=config.software,
        )
        photo.warnings.extend(encoded.warnings)
        return _finish(photo, config, t0, None), encoded.data
    except Exception as exc:
        return _error(item, describe_error(exc), photo.seconds, image.megapixels), None


def write_photo(photo: PhotoInFlight, config: RunConfig) -> FileResult:
    """Stage 3: encode and write the enhanced photo (and its compare image) atomically."""
    try:
        return _write(photo, config)
    except Exception as exc:
        return _error(photo.item, describe_error(exc), photo.seconds, photo.image.megapixels)


def process_photo(item: PlannedFile, enhancer: Enhancer, config: RunConfig) -> FileResult:
    """Decode → colour → enhance → encode → atomic write of one planned photo.

    The three stages in sequence (see the module docstring); never raises for the photo's
    own problems, which come back as a ``FileResult`` with ``status == "error"``.

    Args:
        item: the photo and its planned output (from :func:`~photoenhance.infer.naming.plan_batch`).
        enhancer: a loaded model (reused across photos).
        config: the run's settings.
    """
    photo = decode_photo(item, config)
    if isinstance(photo, FileResult):
        return photo
    failed = enhance_photo(photo, enhancer, config)
    if failed is not None:
        return failed
    return write_photo(photo, config)
