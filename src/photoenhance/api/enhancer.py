""":class:`Enhancer`: one loaded model for many images, in any of the API's kinds.

Thread safety
    An :class:`Enhancer` is **thread-safe**: any number of threads may call
    :meth:`Enhancer.enhance` and :meth:`Enhancer.enhance_file` on one instance at the same
    time.  The model is loaded once, in the constructor, and never changed afterwards;
    each call works on its own copies of the pixels (the caller's image is never modified)
    and onnxruntime's ``InferenceSession.run`` may be called concurrently.  Results are
    the same, bit for bit, as one call at a time (tested).  Each call already uses all
    cores (onnxruntime's threads), so threads add little speed on a CPU.

Errors are the project's types (:mod:`photoenhance.api.errors`); onnxruntime's
exceptions are recognised by their type (the module that defines them) and become
:class:`~photoenhance.api.errors.EnhanceError`.  No torch here.
"""

from __future__ import annotations

import numbers
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from PIL import Image

from photoenhance.api.encoded import BYTES_NAME, _decode_bytes
from photoenhance.api.errors import (
    EnhanceError,
    OutputExistsError,
    UnsupportedImageError,
)
from photoenhance.api.kinds import enhance_array, enhance_pil
from photoenhance.display import one_line
from photoenhance.infer.enhancer import Enhancer as _Engine
from photoenhance.infer.inference_config import InferenceConfig
from photoenhance.infer.model_file import ModelInfo
from photoenhance.infer.types import DEFAULT_MAX_MEGAPIXELS, SOFTWARE, OutputConflictError
from photoenhance.io import ImageWriteError, read_image, write_image
from photoenhance.io.encode import encode_image
from photoenhance.io.formats import SUPPORTED_SUFFIXES, normalise_format

Image_T = TypeVar("Image_T", Image.Image, np.ndarray, bytes)


def _from_onnxruntime(exc: BaseException) -> bool:
    """True when ``exc`` is one of onnxruntime's exception types (by type, not text)."""
    return any(t.__module__.split(".")[0] == "onnxruntime" for t in type(exc).__mro__)


def check_strength(strength: Any) -> float:
    """``strength`` as a float in [0, 1]; else ``ValueError`` (``TypeError`` for a non-number)."""
    if isinstance(strength, bool) or not isinstance(strength, numbers.Real):
        raise TypeError(f"strength must be a number within 0..1, got {type(strength).__name__}")
    value = float(strength)
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"strength must be within 0..1, got {strength}")
    return value


@dataclass(frozen=True)
class EnhancedFile:
    """What :meth:`Enhancer.enhance_file` wrote.

    Attributes:
        src: the photo read.
        dst: the file written (atomically).
        format: the format written (``jpeg``, ``png``, ``tiff``, ``webp``, ``heif``).
        megapixels: the photo's size.
        warnings: one-line notes from reading and writing (metadata that could not be
            carried, a damaged but readable input...), as ``run`` reports them.
    """

    src: Path
    dst: Path
    format: str
    megapixels: float
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class EnhancedBytes:
    """What :meth:`Enhancer.enhance_bytes` made.

    Attributes:
        data: the encoded photo (the bytes ``run`` writes for it).
        format: its format (``jpeg``, ``png``, ``tiff``, ``webp``, ``heif``).
        megapixels: the photo's size.
        warnings: one-line notes from decoding and encoding, as ``run`` reports them.
    """

    data: bytes
    format: str
    megapixels: float
    warnings: tuple[str, ...] = ()


class Enhancer:
    """A loaded model, kept for many calls.  Thread-safe (see the module docstring).

    Args:
        model: an ONNX model exported by ``photoenhance train``; None: the bundled INT8
            model.
        provider: ``auto`` (CUDA when onnxruntime has it, else the CPU), ``cpu``,
            ``cuda`` or ``tensorrt``, as ``run --provider``.
        tile: inference tile size in pixels (memory, not results: tiled output equals
            whole-image output); None: ``run``'s default for the provider.
        threads: onnxruntime threads per call; None: all physical cores.
        cache_dir: folder for onnxruntime's optimised-graph cache; None: no cache.

    Raises:
        ModelLoadError: the model is missing or not a photoenhance model.
        ProviderUnavailableError: ``provider`` cannot be used here.
        ValueError: ``tile`` below 64 or ``threads`` below 1.
    """

    def __init__(
        self,
        model: str | os.PathLike[str] | None = None,
        *,
        provider: str = "auto",
        tile: int | None = None,
        threads: int | None = None,
        cache_dir: str | os.PathLike[str] | None = None,
    ) -> None:
        if tile is not None and tile < 64:
            raise ValueError(f"tile must be at least 64 pixels, got {tile}")
        if threads is not None and threads < 1:
            raise ValueError(f"threads must be at least 1, got {threads}")
        config = InferenceConfig(
            model=None if model is None else Path(model),
            tile=tile,  # None: the provider's default tile (infer.tiling.default_tile)
            threads=threads,
            cache_dir=None if cache_dir is None else Path(cache_dir),
            provider=provider,
        )
        self._engine = _Engine(config)  # ModelLoadError / ProviderUnavailableError

    def __repr__(self) -> str:
        return f"Enhancer(model={str(self.model_info.path)!r}, provider={self.provider!r})"

    @property
    def model_info(self) -> ModelInfo:
        """What the model's metadata says (path, size, precision, version...)."""
        return self._engine.info

    @property
    def provider(self) -> str:
        """The onnxruntime execution provider in use (``CPUExecutionProvider``...)."""
        return self._engine.provider

    # ------------------------------------------------------------------ the network

    def _network(self, strength: float) -> Any:
        engine = self._engine

        def run(rgb: np.ndarray) -> None:
            """Enhance float32 HxWx3 ``rgb`` in place; errors mapped to the project's."""
            try:
                engine.enhance(rgb, strength=strength, out=rgb)
            except MemoryError:
                h, w = rgb.shape[:2]
                raise EnhanceError(f"out of memory while enhancing a {w}x{h} image") from None
            except Exception as exc:
                if _from_onnxruntime(exc):
                    text = one_line(str(exc), 200)
                    why = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
                    raise EnhanceError(f"inference failed ({why})") from exc
                raise

        return run

    # ------------------------------------------------------------------ in memory

    def enhance(self, image: Image_T, *, strength: float = 1.0) -> Image_T:
        """The enhanced image, of the kind given.

        Args:
            image: a ``PIL.Image.Image`` (any common mode, its ICC profile honoured), a
                numpy array ``(H, W[, C])`` of uint8, uint16 or float32 (sRGB), or the
                ``bytes`` of an encoded photo (JPEG, PNG, TIFF, WebP, HEIC).  Never
                modified.
            strength: 0..1 blend between the input (0) and the network's output (1).

        Returns:
            A new ``PIL.Image.Image``, numpy array (same shape and dtype) or ``bytes``
            (same format, metadata carried over, the bytes ``run`` writes for that photo).
            See :mod:`photoenhance.api.kinds` for the modes and value ranges.

        Raises:
            UnsupportedImageError: another type, mode, dtype or shape.
            ImageReadError: ``bytes`` that are not a readable photo.
            ImageWriteError: the photo cannot be encoded (``bytes`` only).
            EnhanceError: the network failed.
        """
        value = check_strength(strength)
        network = self._network(value)
        if isinstance(image, bytes | bytearray | memoryview):
            return self._enhance_bytes(bytes(image), network).data  # type: ignore[return-value]
        if isinstance(image, Image.Image):
            return enhance_pil(image, network)  # type: ignore[return-value]
        if isinstance(image, np.ndarray):
            return enhance_array(image, network)  # type: ignore[return-value]
        hint = "; for files use enhance_file(src, dst)" if isinstance(image, str | os.PathLike) else ""
        raise UnsupportedImageError(
            f"expected a PIL.Image.Image, a numpy array or bytes, got {type(image).__name__}{hint}"
        )

    def enhance_bytes(
        self,
        data: bytes | bytearray | memoryview,
        *,
        strength: float = 1.0,
        format: str | None = None,
        quality: int | None = None,
        name: str = BYTES_NAME,
        max_megapixels: float = DEFAULT_MAX_MEGAPIXELS,
        software: str = SOFTWARE,
    ) -> EnhancedBytes:
        """:meth:`enhance` for an encoded photo, with ``run``'s options and the warnings.

        Args:
            format: the format to encode (None: the input's); ``quality`` as ``run``'s.
            name: what messages call the photo.

        Raises:
            ImageReadError / ImageWriteError / EnhanceError: see :meth:`enhance`.
        """
        value = check_strength(strength)
        fmt = None if format is None else normalise_format(format)
        return self._enhance_bytes(
            bytes(data), self._network(value), format=fmt, quality=quality, name=name,
            max_megapixels=max_megapixels, software=software,
        )  # fmt: skip

    def _enhance_bytes(
        self,
        data: bytes,
        network: Any,
        *,
        format: str | None = None,
        quality: int | None = None,
        name: str = BYTES_NAME,
        max_megapixels: float = DEFAULT_MAX_MEGAPIXELS,
        software: str = SOFTWARE,
    ) -> EnhancedBytes:
        source = _decode_bytes(data, name, max_megapixels)
        network(source.rgb)
        fmt = format or source.format
        encoded = encode_image(
            Path(name), source, source.rgb, format=fmt, quality=quality, software=software
        )
        return EnhancedBytes(
            encoded.data, fmt, source.megapixels, (*source.warnings, *encoded.warnings)
        )

    # ------------------------------------------------------------------ files

    def enhance_file(
        self,
        src: str | os.PathLike[str],
        dst: str | os.PathLike[str],
        *,
        strength: float = 1.0,
        format: str | None = None,
        quality: int | None = None,
        overwrite: bool = False,
        max_megapixels: float = DEFAULT_MAX_MEGAPIXELS,
        software: str = SOFTWARE,
    ) -> EnhancedFile:
        """Enhance the photo ``src`` into the file ``dst``, with ``run``'s rules.

        The output folder is created when needed; the file is written atomically
        (temporary file, fsync, rename: never a partial file under ``dst``); metadata
        (EXIF with orientation, ICC profile, XMP with the processing recorded, ...) is
        carried over as ``run`` does.  An existing ``dst`` is never replaced unless
        ``overwrite=True`` (stricter than ``run``, which also replaces a partial file:
        here ``dst`` is named by the caller), and never when it is ``src`` itself.

        Args:
            format: ``jpeg``, ``png``, ``tiff``, ``webp``, ``heif``; None: ``dst``'s
                suffix when it is a photo suffix, else ``src``'s format.
            quality: JPEG/WebP/HEIF quality 1..100; None: about the original's.
            max_megapixels: refuse larger inputs (decompression bombs).
            software: the program recorded in the XMP history.

        Raises:
            OutputExistsError: ``dst`` exists and ``overwrite`` is False.
            OutputConflictError: ``dst`` is ``src``, or a folder.
            ImageReadError / ImageWriteError / EnhanceError: see :meth:`enhance`.
        """
        value = check_strength(strength)
        src, dst = Path(src), Path(dst)
        fmt = _output_format(dst, format)
        if dst.is_dir():
            raise OutputConflictError(f"{dst}: is a folder; name the output file")
        if os.path.lexists(dst):
            if os.path.exists(src) and os.path.exists(dst) and os.path.samefile(src, dst):
                raise OutputConflictError(f"{dst}: is the input {src}; choose another output")
            if not overwrite:
                raise OutputExistsError(f"{dst}: exists; not replaced without overwrite=True")
        image = read_image(src, max_megapixels=max_megapixels)
        self._network(value)(image.rgb)
        try:
            dst.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ImageWriteError(dst, f"cannot create its folder ({exc.strerror or exc})") from exc
        written = write_image(dst, image, image.rgb, format=fmt, quality=quality, software=software)
        return EnhancedFile(src, dst, written.format, image.megapixels, (*image.warnings, *written.warnings))


def _output_format(dst: Path, format: str | None) -> str | None:
    if format is not None:
        return normalise_format(format)  # ValueError for an unknown name
    suffix = dst.suffix.lower()
    return normalise_format(suffix) if suffix in SUPPORTED_SUFFIXES else None
