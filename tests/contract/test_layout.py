"""The packed (space-to-depth NHWC) tensor layout at the ONNX boundary."""

from __future__ import annotations

import numpy as np
import pytest

from photoenhance.contract.layout import copy_unpacked, pack, unpack, unpacked_view


@pytest.fixture()
def img() -> np.ndarray:
    return np.random.default_rng(3).random((34, 50, 3), dtype=np.float32)


def test_pack_is_onnx_space_to_depth_channels_last(img: np.ndarray) -> None:
    """packed[0, i, j, (dy * 2 + dx) * 3 + c] == img[2i + dy, 2j + dx, c], pixel by pixel."""
    p = pack(img)
    assert p.shape == (1, 17, 25, 12) and p.dtype == np.float32 and p.flags.c_contiguous
    for i, j, dy, dx, c in np.ndindex(17, 25, 2, 2, 3):
        assert p[0, i, j, (dy * 2 + dx) * 3 + c] == img[2 * i + dy, 2 * j + dx, c]


@pytest.mark.parametrize(
    "view",
    [
        lambda a: a,
        lambda a: a[2:30, 4:48],  # a window: strided rows (the pixel-pair fast path)
        lambda a: np.asfortranarray(a),  # no contiguous pixels: the generic path
        lambda a: a.astype(np.float64),  # other dtype: converted
        lambda a: a[::-1, ::-1][2:, 2:],  # negative strides
    ],
)
def test_pack_unpack_round_trip_any_strides(img: np.ndarray, view) -> None:  # type: ignore[no-untyped-def]
    src = view(img)
    p = pack(src)
    ref = np.asarray(src, np.float32)
    h, w = ref.shape[:2]
    expected = ref.reshape(h // 2, 2, w // 2, 2, 3).transpose(0, 2, 1, 3, 4).reshape(1, h // 2, w // 2, 12)
    np.testing.assert_array_equal(p, expected)
    np.testing.assert_array_equal(unpack(p), ref)


def test_copy_unpacked_writes_only_the_requested_region(img: np.ndarray) -> None:
    p = pack(img)
    canvas = np.zeros((60, 70, 3), np.float32)
    copy_unpacked(p, 4, 6, canvas[10:30, 20:56])  # 20 x 36 pixels from (4, 6)
    np.testing.assert_array_equal(canvas[10:30, 20:56], img[4:24, 6:42])
    canvas[10:30, 20:56] = 0
    assert not canvas.any()
    f64 = np.zeros((20, 36, 3))  # the generic path (no float32 pixel pairs)
    copy_unpacked(p, 4, 6, f64)
    np.testing.assert_array_equal(f64, img[4:24, 6:42])
    np.testing.assert_array_equal(unpacked_view(p).reshape(34, 50, 3), img)


def test_bad_shapes_are_refused(img: np.ndarray) -> None:
    with pytest.raises(ValueError, match="even"):
        pack(img[:33])
    with pytest.raises(ValueError, match="even"):
        copy_unpacked(pack(img), 1, 0, np.zeros((4, 4, 3), np.float32))
    with pytest.raises(ValueError, match="packed"):
        unpack(np.zeros((1, 4, 4, 3), np.float32))
