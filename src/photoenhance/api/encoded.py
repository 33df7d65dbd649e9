"""Encoded photos (``bytes``) into the API, with ``run``'s rules.

:func:`_decode_bytes` decodes in memory (:func:`photoenhance.io.decode.decode_bytes`, the
same decoder as for files), no temporary file.  The way out is
:func:`photoenhance.io.encode.encode_image`: the bytes ``run`` writes for the photo.
No torch here.
"""

from __future__ import annotations

from photoenhance.infer.types import DEFAULT_MAX_MEGAPIXELS
from photoenhance.io import DecodedImage, ImageReadError
from photoenhance.io.decode import decode_bytes

BYTES_NAME = "<bytes>"
"""The name messages use for a photo given as bytes."""


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
