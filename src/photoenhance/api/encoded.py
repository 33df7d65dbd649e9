"""Encoded photos (``bytes``) in and out of the API, with ``run``'s rules.

:func:`_decode_bytes` decodes in memory (:func:`photoenhance.io.decode.decode_bytes`, the
same decoder as for files), no temporary file.

:func:`encode_like_run` encodes enhanced pixels exactly as ``run`` writes them (format of
the input, quality about the original's, metadata carried over, XMP history naming
``photoenhance <version>``): the bytes equal those of the file ``run`` writes for the same
photo.  No torch here.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from photoenhance import __version__
from photoenhance.io import DecodedImage, ImageReadError
from photoenhance.io.decode import decode_bytes
from photoenhance.io.encode import encode_image

BYTES_NAME = "<bytes>"
"""The name messages use for a photo given as bytes."""
SOFTWARE = f"photoenhance {__version__}"
"""What ``run`` records in the XMP history by default (``RunConfig.software``)."""
DEFAULT_MAX_MEGAPIXELS = 200.0


def _decode_bytes(data: bytes, name: str, max_megapixels: float = DEFAULT_MAX_MEGAPIXELS) -> DecodedImage:
    """Decode the encoded photo ``data`` as :func:`~photoenhance.io.read_image` does a file
    (:func:`photoenhance.io.decode.decode_bytes`: in memory, no temporary file).

    ``name`` stands for the photo in messages and is the ``path`` of the result.

    Raises:
        ImageReadError: ``"<name>: <reason>"``, as for a file (empty, not an image,
            truncated, over ``max_megapixels``...).
    """
    if not data:
        raise ImageReadError(name, "empty input (0 bytes)")
    return decode_bytes(bytes(data), name, max_megapixels)


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
    if quality is not None and not 1 <= quality <= 100:
        raise ValueError(f"quality must be within 1..100, got {quality}")
    encoded = encode_image(
        Path(name), source, rgb, format=format, quality=quality, software=software
    )
    return encoded.data, encoded.warnings
