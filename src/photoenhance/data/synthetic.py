"""Synthetic training pairs from a folder of clean photos (see :mod:`photoenhance.data.degrade`).

:class:`SyntheticPairSource` lists the photos, decodes each one once (cached as 8-bit RGB, a
quarter of the float32 size), cuts random patches - optionally from a 1-2x larger window that
is downscaled to the patch size, so that the patch statistics (detail per pixel) resemble phone
patches rather than full-resolution DSLR crops - and degrades each patch. Everything derives
from one ``numpy.random.Generator``: the same seed and photo list give the same pairs.

For several data-loader workers, give each worker its own source with its own seed
(e.g. ``np.random.default_rng([seed, worker_id])``); each holds its own cache.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from photoenhance.data.degrade import DEFAULT_DEGRADE_CONFIG, DegradeConfig, degrade
from photoenhance.data.imageops import as_rgb_image, resize_image
from photoenhance.data.pairs import natural_key
from photoenhance.io import ImageReadError, read_rgb

__all__ = ["PHOTO_EXTENSIONS", "SyntheticPairSource", "list_photos", "sample_patch_pair"]

PHOTO_EXTENSIONS: frozenset[str] = frozenset({".jpg", ".jpeg", ".png", ".tif", ".tiff", ".webp"})
"""Lower-case suffixes of the clean photos picked up by :func:`list_photos`."""


def list_photos(folder: str | os.PathLike[str]) -> tuple[Path, ...]:
    """Clean photos directly in ``folder`` (jpg/jpeg/png/tif/tiff/webp, any case), natural order.

    Hidden files are skipped; sub-folders are not searched.

    Raises:
        FileNotFoundError: ``folder`` is not a directory.
    """
    d = Path(folder)
    if not d.is_dir():
        raise FileNotFoundError(f"{d}: photo folder not found")
    found = [
        d / n
        for n in os.listdir(d)
        if not n.startswith(".") and Path(n).suffix.lower() in PHOTO_EXTENSIONS
    ]
    return tuple(sorted((p for p in found if p.is_file()), key=lambda p: natural_key(p.name)))


def _check_scale_range(scale_range: tuple[float, float]) -> None:
    if len(scale_range) != 2 or not 1.0 <= scale_range[0] <= scale_range[1]:
        raise ValueError(
            f"scale_range must be (low, high) with 1 <= low <= high, got {scale_range}"
        )


def sample_patch_pair(
    photo: NDArray[np.floating] | NDArray[np.uint8],
    patch_size: int,
    rng: np.random.Generator,
    cfg: DegradeConfig = DEFAULT_DEGRADE_CONFIG,
    scale_range: tuple[float, float] = (1.0, 2.0),
) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
    """Cut one random patch from a photo and degrade it.

    A scale factor :math:`f` is drawn uniformly from ``scale_range`` (capped so the window fits),
    a random :math:`\\lceil f p \\rceil`-pixel square window is cut and resized to
    :math:`p \\times p` with Lanczos (antialiased), and the result is the clean patch.

    Args:
        photo: RGB photo of shape :math:`(H, W, 3)`, float in ``[0, 1]`` or uint8, with
            ``min(H, W) >= patch_size``.
        patch_size: output side :math:`p`.
        rng: random generator (window, then degradation).
        cfg: degradation ranges.
        scale_range: downscale factors, ``1 <= low <= high``; ``(1, 1)`` cuts at full resolution.

    Returns:
        ``(degraded, clean)``, float32 of shape :math:`(p, p, 3)`, values in ``[0, 1]``, aligned.

    Raises:
        ValueError: the photo is smaller than the patch, or bad arguments.
    """
    clean = clean_window(photo, patch_size, rng, scale_range)
    return degrade(clean, rng, cfg), clean


def clean_window(
    photo: NDArray[np.floating] | NDArray[np.uint8],
    patch_size: int,
    rng: np.random.Generator,
    scale_range: tuple[float, float] = (1.0, 2.0),
) -> NDArray[np.float32]:
    """The clean half of :func:`sample_patch_pair`: a random window of ``photo``
    (side ``f·p``, ``f`` uniform in ``scale_range``) resized to ``p × p``, float32 [0, 1]."""
    _check_scale_range(scale_range)
    if patch_size < 1:
        raise ValueError(f"patch_size must be positive, got {patch_size}")
    arr = np.asarray(photo)
    if arr.ndim != 3 or arr.shape[2] != 3:
        raise ValueError(f"photo must be an (H, W, 3) RGB array, got shape {arr.shape}")
    height, width = arr.shape[:2]
    if min(height, width) < patch_size:
        raise ValueError(f"photo {width}x{height} is smaller than the {patch_size}px patch")
    lo, hi = scale_range
    factor = lo if lo == hi else float(rng.uniform(lo, hi))
    window = min(int(np.ceil(factor * patch_size)), height, width)
    y = int(rng.integers(0, height - window + 1))
    x = int(rng.integers(0, width - window + 1))
    crop = arr[y : y + window, x : x + window]
    if crop.dtype == np.uint8:
        crop = crop.astype(np.float32) * np.float32(1.0 / 255.0)
    crop = as_rgb_image(crop, "photo")
    if window != patch_size:
        return resize_image(crop, (patch_size, patch_size))
    return np.ascontiguousarray(crop, dtype=np.float32)


class SyntheticPairSource:
    """Endless source of synthetic ``(degraded, clean)`` patch pairs from clean photos.

    Photos are read with :func:`photoenhance.io.read_rgb` on first use and kept in an LRU cache
    as uint8 (8 bits per channel, lossless for the usual 8-bit JPEG/PNG sources; 16-bit sources
    are rounded to 8 bits, far below the degradation's own error). Photos that cannot be read
    or are smaller than the patch are skipped and reported once in :attr:`problems`.

    Args:
        photos: a folder (listed with :func:`list_photos`) or a sequence of photo paths.
        patch_size: side :math:`p` of the square patches.
        rng: the only source of randomness (photo choice, window, degradation).
        cfg: degradation ranges.
        scale_range: downscale factors for the crop window (see :func:`sample_patch_pair`).
        cache_bytes: maximum bytes of decoded photos kept (default 1 GiB, about 100 photos
            of 2048x1536); ``0`` disables caching.

    Raises:
        FileNotFoundError: the folder does not exist.
        ValueError: no photos, or bad arguments.

    Example:
        >>> src = SyntheticPairSource("photos/", 128, np.random.default_rng(0))  # doctest: +SKIP
        >>> degraded, clean = src.sample()  # each (128, 128, 3) float32  # doctest: +SKIP
    """

    def __init__(
        self,
        photos: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
        patch_size: int,
        rng: np.random.Generator,
        cfg: DegradeConfig = DEFAULT_DEGRADE_CONFIG,
        scale_range: tuple[float, float] = (1.0, 2.0),
        cache_bytes: int = 1 << 30,
    ) -> None:
        if isinstance(photos, (str, os.PathLike)):
            paths = list_photos(photos)
        else:
            paths = tuple(Path(p) for p in photos)
        if not paths:
            raise ValueError(f"no photos found in {photos}")
        if patch_size < 1:
            raise ValueError(f"patch_size must be positive, got {patch_size}")
        _check_scale_range(scale_range)
        self._paths: tuple[Path, ...] = paths
        self._usable: list[Path] = list(paths)
        self._patch_size = int(patch_size)
        self._rng = rng
        self._cfg = cfg
        self._scale_range = scale_range
        self._cache_bytes = int(cache_bytes)
        self._cache: OrderedDict[Path, NDArray[np.uint8]] = OrderedDict()
        self._cached_bytes = 0
        self._problems: list[str] = []

    @property
    def photos(self) -> tuple[Path, ...]:
        """All photo paths given or found, natural order."""
        return self._paths

    @property
    def patch_size(self) -> int:
        """Side of the square patches."""
        return self._patch_size

    @property
    def problems(self) -> tuple[str, ...]:
        """One line per photo skipped so far (unreadable or too small)."""
        return tuple(self._problems)

    def __len__(self) -> int:
        """Number of photos not (yet) found unusable."""
        return len(self._usable)

    def load(self, path: Path) -> NDArray[np.uint8]:
        """Decoded photo as uint8 :math:`(H, W, 3)`, from the cache when possible.

        Raises:
            ImageReadError: the file cannot be decoded.
        """
        cached = self._cache.get(path)
        if cached is not None:
            self._cache.move_to_end(path)
            return cached
        rgb = read_rgb(path)
        arr = np.rint(rgb * np.float32(255.0)).astype(np.uint8)
        if self._cache_bytes > 0 and arr.nbytes <= self._cache_bytes:
            self._cache[path] = arr
            self._cached_bytes += arr.nbytes
            while self._cached_bytes > self._cache_bytes:
                _, old = self._cache.popitem(last=False)
                self._cached_bytes -= old.nbytes
        return arr

    def sample(self) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
        """One ``(degraded, clean)`` pair from a uniformly chosen photo.

        Returns:
            two aligned float32 arrays of shape :math:`(p, p, 3)`, values in ``[0, 1]``.

        Raises:
            ValueError: every photo turned out unusable (see :attr:`problems`).
        """
        return sample_patch_pair(self._pick_photo(), self._patch_size, self._rng, self._cfg,
                                 self._scale_range)

    def clean_patch(self) -> NDArray[np.float32]:
        """One clean ``(p, p, 3)`` patch (a window of a uniformly chosen photo, resized as in
        :meth:`sample`, no degradation): an *identity* training example — a good photo
        the enhancer should leave alone."""
        return clean_window(self._pick_photo(), self._patch_size, self._rng, self._scale_range)

    def _pick_photo(self) -> NDArray[np.uint8]:
        """A uniformly chosen usable photo; unreadable or too small ones are dropped (and
        reported in :attr:`problems`) on the way."""
        while self._usable:
            path = self._usable[int(self._rng.integers(0, len(self._usable)))]
            try:
                photo = self.load(path)
            except ImageReadError as exc:
                self._drop(path, str(exc))
                continue
            if min(photo.shape[:2]) < self._patch_size:
                h, w = photo.shape[:2]
                self._drop(path, f"{path}: {w}x{h} is smaller than the {self._patch_size}px patch")
                continue
            return photo
        raise ValueError("no usable photo: " + "; ".join(self._problems[-3:]))

    def batch(self, n: int) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
        """``n`` pairs stacked: ``(degraded, clean)``, each float32 :math:`(n, p, p, 3)`."""
        if n < 1:
            raise ValueError(f"n must be positive, got {n}")
        pairs = [self.sample() for _ in range(n)]
        return np.stack([p[0] for p in pairs]), np.stack([p[1] for p in pairs])

    def _drop(self, path: Path, message: str) -> None:
        self._usable.remove(path)
        old = self._cache.pop(path, None)
        if old is not None:
            self._cached_bytes -= old.nbytes
        self._problems.append(message)
