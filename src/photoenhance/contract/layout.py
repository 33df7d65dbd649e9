"""The network's tensor layout at the ONNX boundary (numpy, no torch).

Exported models (format 2) take and return images in *space-to-depth* NHWC layout:
``(N, H/2, W/2, 12)`` float32, where channel ``(dy * 2 + dx) * 3 + c`` holds colour ``c``
of pixel ``(2 i + dy, 2 j + dx)`` — the channel order of ONNX ``SpaceToDepth``, stored
channels-last. The network runs at S/2 from its first layer on, and onnxruntime's INT8
convolutions work channels-last, so this layout needs no SpaceToDepth, DepthToSpace or
Transpose node in the graph: packing happens here, fused with the copy of a tile's
window that is needed anyway (one pass over the pixels each way).
"""

from __future__ import annotations

import numpy as np

from photoenhance.contract.spec import PACKED_CHANNELS

__all__ = ["PACKED_CHANNELS", "copy_unpacked", "pack", "unpack", "unpacked_view"]


_PAIR = np.dtype((np.void, 24))  # two RGB float32 pixels side by side


def _pairs(hwc: np.ndarray) -> np.ndarray | None:
    """``(H, W, 3)`` float32 with contiguous pixels (any row stride) → a view
    ``(H/2, 2, W/2)`` of 24-byte *pixel pairs*, or None when the strides do not allow it.
    Moving whole pairs makes (un)packing ~30 % faster than moving single floats."""
    if hwc.dtype != np.float32 or hwc.strides[1:] != (12, 4):
        return None
    h, w, _ = hwc.shape
    try:
        v = hwc.view(np.uint8).reshape(h // 2, 2, w // 2, 24).view(_PAIR)[..., 0]
    except (ValueError, AttributeError):
        return None
    return v if np.shares_memory(v, hwc) else None


def pack(hwc: np.ndarray) -> np.ndarray:
    """``(H, W, 3)`` (H, W even; any strides) → contiguous float32 ``(1, H/2, W/2, 12)``."""
    h, w, c = hwc.shape
    if h % 2 or w % 2 or c != 3:
        raise ValueError(f"cannot pack an image of shape {hwc.shape}: need (even H, even W, 3)")
    pairs = _pairs(hwc)
    if pairs is not None:
        out = np.empty((h // 2, w // 2, 2), _PAIR)
        out[...] = pairs.transpose(0, 2, 1)
        return out.view(np.float32).reshape(1, h // 2, w // 2, PACKED_CHANNELS)
    blocks = hwc.reshape(h // 2, 2, w // 2, 2, 3).transpose(0, 2, 1, 3, 4)
    packed = np.empty((1, h // 2, w // 2, 2, 2, 3), np.float32)
    packed[0] = blocks
    return packed.reshape(1, h // 2, w // 2, PACKED_CHANNELS)


def _check_packed(packed: np.ndarray) -> tuple[int, ...]:
    if packed.ndim != 4 or packed.shape[0] != 1 or packed.shape[3] != PACKED_CHANNELS:
        raise ValueError(f"expected a (1, h, w, 12) packed tensor, got {packed.shape}")
    return packed.shape


def unpacked_view(packed: np.ndarray) -> np.ndarray:
    """``(1, h, w, 12)`` → a *view* of shape ``(h, 2, w, 2, 3)``: index it as
    ``[y // 2, y % 2, x // 2, x % 2, c]``; ``reshape(2h, 2w, 3)`` of it (a copy) is the image."""
    _, h, w, _ = _check_packed(packed)
    return packed[0].reshape(h, w, 2, 2, 3).transpose(0, 2, 1, 3, 4)


def unpack(packed: np.ndarray) -> np.ndarray:
    """``(1, h, w, 12)`` → ``(2h, 2w, 3)`` float32 (a new array)."""
    _, h, w, _ = packed.shape
    out = np.empty((2 * h, 2 * w, 3), np.float32)
    copy_unpacked(packed, 0, 0, out)
    return out


def copy_unpacked(packed: np.ndarray, y0: int, x0: int, dst: np.ndarray) -> None:
    """Write pixels ``[y0, y0 + H) x [x0, x0 + W)`` of the unpacked image into ``dst``
    ``(H, W, 3)`` in one pass, without unpacking the whole tensor first. ``y0``, ``x0``,
    ``H`` and ``W`` must be even (tile cores are); ``dst`` may be a strided view."""
    _check_packed(packed)
    ch, cw = dst.shape[:2]
    if y0 % 2 or x0 % 2 or ch % 2 or cw % 2:
        raise ValueError("copy_unpacked needs even offsets and sizes")
    rows, cols = slice(y0 // 2, (y0 + ch) // 2), slice(x0 // 2, (x0 + cw) // 2)
    dst_pairs = _pairs(dst)
    if dst_pairs is not None and packed.dtype == np.float32 and packed.flags.c_contiguous:
        _, h, w, _ = packed.shape
        src = packed.view(np.uint8).reshape(h, w, 2, 24).view(_PAIR)[..., 0]
        dst_pairs[...] = src[rows, cols].transpose(0, 2, 1)
        return
    src5 = unpacked_view(packed)[rows, :, cols]
    dst5 = dst.reshape(ch // 2, 2, cw // 2, 2, 3)  # splitting axes keeps it a view
    if not np.shares_memory(dst5, dst):
        raise ValueError("destination cannot be viewed as 2x2 blocks")
    np.copyto(dst5, src5)
