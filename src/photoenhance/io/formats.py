"""Supported formats, file suffixes and optional HEIF support."""

from __future__ import annotations

import functools

SUPPORTED_SUFFIXES: frozenset[str] = frozenset(
    {".jpg", ".jpeg", ".jpe", ".png", ".tif", ".tiff", ".webp", ".heic", ".heif"}
)
"""Lower-case suffixes treated as photos (matched case-insensitively)."""

FORMATS: tuple[str, ...] = ("jpeg", "png", "tiff", "webp", "heif")
"""Canonical format names used throughout :mod:`photoenhance.io`."""

_SUFFIX_FOR_FORMAT: dict[str, str] = {
    "jpeg": ".jpg",
    "png": ".png",
    "tiff": ".tif",
    "webp": ".webp",
    "heif": ".heic",
}

_ALIASES: dict[str, str] = {
    "jpg": "jpeg",
    "jpe": "jpeg",
    "jpeg": "jpeg",
    "mpo": "jpeg",
    "png": "png",
    "tif": "tiff",
    "tiff": "tiff",
    "webp": "webp",
    "heic": "heif",
    "heif": "heif",
}

HEIC_INSTALL_HINT = "HEIC support needs: pip install 'photoenhance[heic]'"


def normalise_format(name: str) -> str:
    """Map a format name or suffix (``"JPG"``, ``".tif"``, ``"MPO"``...) to a canonical name.

    Raises:
        ValueError: for names not in :data:`FORMATS` (after aliasing).
    """
    key = name.strip().lower().lstrip(".")
    try:
        return _ALIASES[key]
    except KeyError:
        raise ValueError(f"unsupported image format {name!r}; expected one of {FORMATS}") from None


def output_suffix(format: str) -> str:
    """File suffix for a format: ``.jpg``, ``.png``, ``.tif``, ``.webp`` or ``.heic``."""
    return _SUFFIX_FOR_FORMAT[normalise_format(format)]


def is_supported_suffix(name: str) -> bool:
    """True if the file name's suffix is a supported photo suffix (case-insensitive)."""
    dot = name.rfind(".")
    return dot > 0 and name[dot:].lower() in SUPPORTED_SUFFIXES


@functools.cache
def heif_available() -> bool:
    """True if pillow-heif is importable; registers its HEIF opener with Pillow once."""
    try:
        import pillow_heif  # type: ignore[import-not-found]
    except ImportError:
        return False
    try:
        pillow_heif.register_heif_opener()
    except Exception:  # a broken install must not break JPEG/PNG processing
        return False
    return True
