"""In-memory images (numpy arrays, Pillow images) to the network's float pixels and back.

The rules are ``run``'s, so that an image enhanced here has the pixels ``run`` writes for
the same image saved losslessly (PNG/TIFF):

numpy arrays
    ``(H, W, 3)`` RGB, ``(H, W, 4)`` RGBA, ``(H, W)`` / ``(H, W, 1)`` grey, ``(H, W, 2)``
    grey + alpha; uint8 (``/ 255``), uint16 (``/ 65535``) or float32 (values as they are:
    sRGB, [0, 1], extended range allowed).  The result has the input's shape and dtype.
    Grey is enhanced as R = G = B and comes back as its BT.601 luma (as ``run`` writes a
    grey photo); alpha is copied unchanged; integer results are clipped to [0, 1] and
    rounded half to even, as the encoder does; float32 results are not clipped.
Pillow images
    Go through an uncompressed in-memory TIFF with their ICC profile, then
    :func:`photoenhance.io.read_image`'s decoding and the TIFF encoder, so every mode
    and embedded profile (Display P3, Adobe RGB, CMYK...) is handled as ``run`` handles a
    file.  The result's mode is the one ``run`` writes to a PNG/TIFF: ``RGB``, ``RGBA``,
    ``L``, ``LA`` or ``I;16`` (``P`` → ``RGB``/``RGBA``, ``1`` → ``L``, ``I`` → ``I;16``,
    ``CMYK`` → ``RGB`` tagged sRGB); ``info`` is the input's (EXIF, DPI...) with the
    output's ICC profile.

No torch here.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

from photoenhance.api.encoded import _decode_bytes
from photoenhance.api.errors import UnsupportedImageError
from photoenhance.infer.types import SOFTWARE
from photoenhance.io import DecodedImage
from photoenhance.io.decode import LUMA_WEIGHTS
from photoenhance.io.encode import encode_image, plan_output

#: enhances float32 HxWx3 pixels in place
Network = Callable[[np.ndarray], None]

_TOPS = {np.dtype(np.uint8): 255, np.dtype(np.uint16): 65535, np.dtype(np.float32): None}
#: Pillow modes taken as they are, and those converted first (as the decoder would)
_PIL_AS_IS = ("1", "L", "LA", "RGB", "RGBA", "RGBX", "CMYK", "YCbCr", "I", "I;16", "I;16B", "I;16L")
_PIL_CONVERT = {"La": "LA", "RGBa": "RGBA", "I;16N": "I"}
PIL_NAME = "<PIL.Image>"


def _check_array(a: np.ndarray) -> tuple[int | None, int]:
    """``(top, channels)`` of a supported array (top: 255, 65535 or None for float32)."""
    if a.dtype not in _TOPS:
        raise UnsupportedImageError(
            f"numpy image of dtype {a.dtype} is not supported; use uint8, uint16 or float32"
        )
    if a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[2] not in (1, 2, 3, 4)):
        raise UnsupportedImageError(
            f"numpy image of shape {a.shape} is not supported; expected (H, W) or "
            "(H, W, C) with C = 1 (grey), 2 (grey+alpha), 3 (RGB) or 4 (RGBA)"
        )
    if a.shape[0] < 1 or a.shape[1] < 1:
        raise UnsupportedImageError(f"numpy image of shape {a.shape} is empty")
    return _TOPS[a.dtype], 1 if a.ndim == 2 else a.shape[2]


def _to_float(a: np.ndarray, top: int | None) -> np.ndarray:
    if top is None:
        return np.array(a, dtype=np.float32)  # a copy: the caller's array is never changed
    return np.divide(a, np.float32(top), dtype=np.float32)


def _quantise(x: np.ndarray, top: int | None, dtype: np.dtype) -> np.ndarray:
    """What the encoder writes: NaN → 0, +inf → 1, -inf → 0, clip to [0, 1], scale,
    round half to even (float32: returned as it is)."""
    if top is None:
        return x
    y = np.fmax(x, np.float32(0.0), dtype=np.float32)
    np.fmin(y, np.float32(1.0), out=y)
    y *= np.float32(top)
    np.rint(y, out=y)
    return y.astype(dtype)


def _luma(rgb: np.ndarray, top: int | None) -> np.ndarray:
    """BT.601 luma of ``rgb``, cleaned as the encoder cleans (not for float32 results)."""
    if top is not None:
        rgb = np.nan_to_num(rgb, nan=0.0, posinf=1.0, neginf=0.0)
    return np.tensordot(rgb, LUMA_WEIGHTS, axes=([2], [0])).astype(np.float32, copy=False)


def enhance_array(a: np.ndarray, network: Network) -> np.ndarray:
    """The enhanced copy of the HWC array ``a`` (same shape and dtype; see the module)."""
    top, channels = _check_array(a)
    grey = channels in (1, 2)
    alpha = a[..., channels - 1] if channels in (2, 4) else None
    if grey:
        g = a if a.ndim == 2 else a[..., 0]
        values = _to_float(g, top)
        if top is not None:
            np.clip(values, 0.0, 1.0, out=values)  # as the decoder reads grey
        rgb = np.repeat(values[..., None], 3, axis=2)
    else:
        rgb = _to_float(a[..., :3], top)
    network(rgb)
    if grey:
        colour = _quantise(_luma(rgb, top), top, a.dtype)
        if a.ndim == 2:
            return colour
        out = np.empty_like(a)
        out[..., 0] = colour
    else:
        colour = _quantise(rgb, top, a.dtype)
        if channels == 3:
            return colour
        out = np.empty_like(a)
        out[..., :3] = colour
    if alpha is not None:
        out[..., channels - 1] = alpha
    return out


def _pil_source(im: Image.Image) -> DecodedImage:
    """``im`` decoded as ``run`` decodes a file (through an in-memory TIFF)."""
    mode = im.mode
    if mode in ("P", "PA"):
        im = im.convert("RGBA" if mode == "PA" or "transparency" in im.info else "RGB")
    elif mode in _PIL_CONVERT:
        im = im.convert(_PIL_CONVERT[mode])
    elif mode not in _PIL_AS_IS:
        raise UnsupportedImageError(
            f"Pillow mode {mode} is not supported; convert the image to RGB first"
        )
    if im.width < 1 or im.height < 1:
        raise UnsupportedImageError(f"Pillow image of size {im.width}x{im.height} is empty")
    buf = io.BytesIO()
    kwargs = {}
    icc = im.info.get("icc_profile")
    if icc:
        kwargs["icc_profile"] = icc
    im.save(buf, "TIFF", **kwargs)
    return _decode_bytes(buf.getvalue(), PIL_NAME, float("inf"))


def enhance_pil(im: Image.Image, network: Network) -> Image.Image:
    """The enhanced copy of the Pillow image ``im`` (see the module)."""
    source = _pil_source(im)
    network(source.rgb)
    data = encode_image(Path(PIL_NAME), source, source.rgb, format="tiff", software=SOFTWARE).data
    out = Image.open(io.BytesIO(data))
    out.load()
    info = {k: v for k, v in im.info.items() if k not in ("icc_profile", "transparency")}
    icc = plan_output(source, "tiff").icc_profile
    if icc:
        info["icc_profile"] = icc
    out.info = info
    return out


