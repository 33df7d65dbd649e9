"""Small image operations shared by the data pipeline (numpy + Pillow, no torch)."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from PIL import Image

__all__ = ["as_rgb_image", "resize_image"]


def as_rgb_image(image: NDArray[np.floating], name: str = "image") -> NDArray[np.float32]:
    """Check that ``image`` is an :math:`(H, W, 3)` float array and return it as float32.

    Args:
        image: RGB image of shape :math:`(H, W, 3)`, values in ``[0, 1]``.
        name: how to call the argument in the error message.

    Returns:
        the same pixels as a float32 array of shape :math:`(H, W, 3)` (no copy if already so).

    Raises:
        ValueError: wrong shape or a non-float dtype.
    """
    arr = np.asarray(image)
    if arr.ndim != 3 or arr.shape[2] != 3 or arr.shape[0] < 1 or arr.shape[1] < 1:
        raise ValueError(f"{name} must be an (H, W, 3) RGB array, got shape {arr.shape}")
    if not np.issubdtype(arr.dtype, np.floating):
        raise ValueError(f"{name} must be float in [0, 1], got dtype {arr.dtype}")
    return arr.astype(np.float32, copy=False)


def resize_image(image: NDArray[np.floating], size: tuple[int, int]) -> NDArray[np.float32]:
    """Resize an image with Pillow's Lanczos filter, in float32 (no 8-bit rounding).

    Pillow's Lanczos widens its support when shrinking, so downscaling is antialiased
    (area-like); upscaling is plain Lanczos interpolation. Each channel is resized as a
    32-bit float ``"F"`` image, and the result is clipped to ``[0, 1]`` (Lanczos overshoots).

    Args:
        image: image of shape :math:`(H, W, C)` or :math:`(H, W)`, float, values in ``[0, 1]``.
        size: output ``(height, width)``, both >= 1 (note: numpy order, not Pillow's).

    Returns:
        float32 image of shape :math:`(height, width, C)` (or :math:`(height, width)`),
        values in ``[0, 1]``.
    """
    height, width = int(size[0]), int(size[1])
    if height < 1 or width < 1:
        raise ValueError(f"size must be positive, got {size}")
    arr = np.asarray(image, dtype=np.float32)
    if arr.ndim not in (2, 3):
        raise ValueError(f"expected an (H, W) or (H, W, C) image, got shape {arr.shape}")
    if arr.shape[:2] == (height, width):
        return arr.copy()
    if arr.ndim == 2:
        return _resize_plane(arr, height, width)
    planes = [_resize_plane(arr[:, :, c], height, width) for c in range(arr.shape[2])]
    return np.stack(planes, axis=-1)


def _resize_plane(plane: NDArray[np.float32], height: int, width: int) -> NDArray[np.float32]:
    im = Image.fromarray(np.ascontiguousarray(plane))
    out = np.asarray(im.resize((width, height), Image.Resampling.LANCZOS), dtype=np.float32)
    return np.clip(out, 0.0, 1.0)
