"""Encoded photos (``bytes``) in and out of the API, with ``run``'s rules.

:func:`_decode_bytes` has the signature of ``photoenhance.io.decode.decode_bytes(data,
name, max_megapixels)`` (issue 19, part 3); until that exists it writes the bytes to a
private temporary file and reads it with :func:`photoenhance.io.read_image` (the decoder
works on files), in a folder of :func:`photoenhance.io.pipe.spool_folder`'s, which the
next pipe run removes if this process is killed meanwhile.  Swap it for the io function when both are merged: nothing else here
changes.

:func:`encode_like_run` encodes enhanced pixels exactly as ``run`` writes them (format of
the input, quality about the original's, metadata carried over, XMP history naming
``photoenhance <version>``): the bytes equal those of the file ``run`` writes for the same
photo.  No torch here.
"""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import numpy as np

from photoenhance import __version__
from photoenhance.io import DecodedImage, ImageReadError, ImageWriteError, libwarnings, read_image
from photoenhance.io.encode import encode_bytes, plan_output
from photoenhance.io.formats import HEIC_INSTALL_HINT, heif_available, normalise_format
from photoenhance.io.pipe import spool_folder

BYTES_NAME = "<bytes>"
"""The name messages use for a photo given as bytes."""
SOFTWARE = f"photoenhance {__version__}"
"""What ``run`` records in the XMP history by default (``RunConfig.software``)."""
DEFAULT_MAX_MEGAPIXELS = 200.0


def _decode_bytes(data: bytes, name: str, max_megapixels: float = DEFAULT_MAX_MEGAPIXELS) -> DecodedImage:
    """Decode the encoded photo ``data`` as :func:`~photoenhance.io.read_image` does a file.

    ``name`` stands for the photo in messages and is the ``path`` of the result.

    Raises:
        ImageReadError: ``"<name>: <reason>"``, as for a file (empty, not an image,
            truncated, over ``max_megapixels``...).
    """
    if not data:
        raise ImageReadError(name, "empty input (0 bytes)")
    folder = spool_folder()
    try:
        path = folder / (Path(name).name if name and Path(name).name not in ("", ".", "..") else "photo")
        with open(path, "xb") as fh:
            fh.write(data)
        try:
            image = read_image(path, max_megapixels=max_megapixels)
        except ImageReadError as exc:
            raise ImageReadError(name, exc.reason.replace(str(path), name)) from None
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    warnings = tuple(w.replace(str(path), name) for w in image.warnings)
    return dataclasses.replace(image, path=Path(name), warnings=warnings)


def encode_like_run(
    source: DecodedImage,
    rgb: np.ndarray,
    *,
    name: str,
    format: str | None = None,
    quality: int | None = None,
    software: str = SOFTWARE,
) -> tuple[bytes, tuple[str, ...]]:
    """The bytes ``run`` would write for ``source`` enhanced to ``rgb``, and the warnings.

    The steps of :func:`photoenhance.io.write_image` without the file.

    Raises:
        ImageWriteError: ``"<name>: <reason>"`` (encoder failure, HEIF without pillow-heif).
    """
    fmt = normalise_format(format or source.format)
    if quality is not None and not 1 <= quality <= 100:
        raise ValueError(f"quality must be within 1..100, got {quality}")
    if fmt == "heif" and not heif_available():
        raise ImageWriteError(name, HEIC_INSTALL_HINT)
    plan = plan_output(source, fmt)
    try:
        with libwarnings.capture() as caught:
            encoded = encode_bytes(source, rgb, plan, quality=quality, software=software)
    except MemoryError:
        raise ImageWriteError(name, "out of memory while encoding") from None
    except Exception as exc:
        raise ImageWriteError(name, f"cannot encode {fmt.upper()}: {type(exc).__name__}: {exc}") from exc
    return encoded.data, (*encoded.warnings, *caught)


