"""The table-driven colour fast path agrees with the float64 reference.

:func:`colour.codes_to_srgb` / :func:`colour.srgb_to_codes` (used by the decoder and
encoder) against :func:`colour.matrix_to_srgb` / :func:`colour.matrix_from_srgb` on
seeded random code values and extended-range colours, most of them outside sRGB.
"""

from __future__ import annotations

import numpy as np
import pytest
from _iohelpers import ADOBE_XYZ, P3_XYZ, SRGB_PARA

from photoenhance.io import colour
from photoenhance.io.colour import Curve, ParsedProfile

PROPHOTO_XYZ = ((0.7977, 0.2880, 0.0), (0.1352, 0.7119, 0.0), (0.0313, 0.0001, 0.8249))


def _profile(colorants: tuple[tuple[float, float, float], ...], *curves: Curve) -> ParsedProfile:
    matrix = tuple(tuple(colorants[c][r] for c in range(3)) for r in range(3))
    trc = (curves * 3)[:3] if len(curves) == 1 else curves
    assert len(trc) == 3
    return ParsedProfile("RGB", "test", matrix, trc)  # type: ignore[arg-type]


def _lut_curve(n: int, name: str) -> Curve:
    """A sampled ('curv' table) curve, rounded to 16 bits as ICC stores it."""
    x = np.linspace(0.0, 1.0, n)
    if name == "srgb":
        y = Curve("para", SRGB_PARA).forward(x)
    elif name == "lstar":  # CIE L* (ECI RGB v2)
        y = np.where(x > 0.08, ((100 * x + 16) / 116) ** 3, 100 * x / 903.3)
    else:  # a pure power law: the darkest entries round to 0 (a flat toe)
        y = x ** float(name)
    return Curve("lut", tuple(float(v) for v in np.round(y * 65535) / 65535))


def _para_offset(black: float) -> Curve:
    """ICC type 4 curve ``(1 - black) * sRGB(x) + black``."""
    g, a, b, c, d = SRGB_PARA
    s = 1.0 - black
    return Curve("para", (g, a * s ** (1 / g), b * s ** (1 / g), c * s, d, black, black))


SRGB_TRC = Curve("para", SRGB_PARA)
PROFILES = {
    "p3-srgb-trc": _profile(P3_XYZ, SRGB_TRC),
    "p3-gamma": _profile(P3_XYZ, Curve("gamma", (2.2,))),
    "adobe-rgb": _profile(ADOBE_XYZ, Curve("gamma", (563 / 256,))),
    "prophoto": _profile(PROPHOTO_XYZ, Curve("gamma", (1.8,))),
    "lut-srgb": _profile(P3_XYZ, _lut_curve(1024, "srgb")),
    "lut-gamma": _profile(P3_XYZ, _lut_curve(1024, "2.2")),
    "mixed-trc": _profile(ADOBE_XYZ, Curve("gamma", (2.2,)), SRGB_TRC, _lut_curve(4096, "lstar")),
    # type 4: sRGB squeezed into [0.002, 1] (black is not 0) and stretched to [-0.002, 1]
    # (the inverse maps 0 above 0)
    "para-offset": _profile(P3_XYZ, _para_offset(0.002)),
    "para-negative": _profile(P3_XYZ, _para_offset(-0.002)),
}
# not invertible in the darkest codes (forward curve flat or negative there)
NOT_INVERTIBLE = ("lut-gamma", "para-negative")
EXACT_16BIT = ("p3-srgb-trc", "lut-srgb", "para-offset")  # toes of finite slope


def _codes(bits: int, n: int, seed: int) -> np.ndarray:
    """Random code values plus every corner of the cube (primaries, secondaries, black, white)."""
    top = (1 << bits) - 1
    rng = np.random.default_rng(seed)
    dtype = np.uint8 if bits == 8 else np.uint16
    corners = np.array([[r, g, b] for r in (0, top) for g in (0, top) for b in (0, top)], dtype)
    return np.concatenate([corners, rng.integers(0, top + 1, (n, 3)).astype(dtype)]).reshape(1, -1, 3)


def _reference_decode(codes: np.ndarray, profile: ParsedProfile) -> np.ndarray:
    top = np.float32(255 if codes.dtype == np.uint8 else 65535)
    return colour.matrix_to_srgb(codes.astype(np.float32) / top, profile)


def _reference_code_values(rgb: np.ndarray, profile: ParsedProfile, bits: int) -> np.ndarray:
    """The encoder's formula before rounding: clip(float32(reference)) * top, float32."""
    clean = np.nan_to_num(rgb.astype(np.float32), nan=0.0, posinf=1.0, neginf=0.0)
    clean = np.clip(clean, -colour._SRGB_IN_LIMIT, colour._SRGB_IN_LIMIT)
    out = colour.matrix_from_srgb(clean, profile).astype(np.float32)
    return np.clip(out, 0.0, 1.0) * np.float32(255 if bits == 8 else 65535)


@pytest.mark.parametrize("bits", [8, 16])
@pytest.mark.parametrize("name", sorted(PROFILES))
def test_decode_matches_float64_reference(name: str, bits: int) -> None:
    profile = PROFILES[name]
    codes = _codes(bits, 60_000, seed=bits)
    fast = colour.codes_to_srgb(codes, profile)
    ref = _reference_decode(codes, profile)
    assert fast.dtype == np.float32 and fast.shape == codes.shape
    assert ref.min() < -0.05 and ref.max() > 1.05  # out-of-gamut colours included
    # float32 rounding of the result is ~6e-8 relative; the 8-bit path computes in float32
    tol = (1.5e-6 if bits == 8 else 2.5e-7) * np.maximum(np.abs(ref), 1.0)
    assert np.all(np.abs(fast - ref) <= tol), np.abs(fast - ref).max()


@pytest.mark.parametrize("bits", [8, 16])
@pytest.mark.parametrize("name", sorted(PROFILES))
def test_encode_matches_float64_reference(name: str, bits: int) -> None:
    profile = PROFILES[name]
    rng = np.random.default_rng(10 + bits)
    rgb = (rng.random((1, 60_000, 3)) * 2.2 - 0.6).astype(np.float32)  # extended range
    special = [
        [np.nan, np.inf, -np.inf], [1e30, -1e30, 5.0], [7e4, -7e4, 0.5], [1e-30, -1e-40, 0.0],
        [3.0, 2.0, 1.0], [-0.0, 0.0, 1.0], [1.0, 1.0, 1.0], [0.0, 0.0, 0.0], [-3.0, 0.2, 40.0],
    ]  # fmt: skip
    rgb[0, : len(special)] = special
    rgb[0, 100:200] = _reference_decode(_codes(bits, 92, seed=3), profile)[0]  # exact code values
    original = rgb.copy()
    fast = np.empty(rgb.shape, np.uint8 if bits == 8 else np.uint16)
    colour.srgb_to_codes(rgb, profile, bits, fast)
    np.testing.assert_array_equal(rgb, original)  # input untouched
    want = _reference_code_values(rgb, profile, bits)
    diff = np.abs(fast.astype(np.int64) - np.rint(want).astype(np.int64))
    assert diff.max() <= 1
    assert diff.mean() < 5e-3  # off by one only ...
    near_tie = np.abs(want - np.floor(want) - 0.5)
    # ... right at a rounding boundary (16 bits: sampled curves' kinks cost ~0.05 code)
    assert near_tie[diff > 0].max(initial=0.0) < (0.02 if bits == 8 else 0.1)


@pytest.mark.parametrize("name", sorted(set(PROFILES) - set(NOT_INVERTIBLE)))
def test_8bit_round_trip_is_identity(name: str) -> None:
    """Decode then encode an unchanged 8-bit image: exactly the source codes (as the reference)."""
    profile = PROFILES[name]
    if name == "p3-srgb-trc":  # every one of the 2**24 colours
        v = np.arange(256, dtype=np.uint8)
        for r0 in range(0, 256, 64):
            grid = np.stack(np.meshgrid(v[r0 : r0 + 64], v, v, indexing="ij"), -1).reshape(64 * 256, 256, 3)
            back = np.empty_like(grid)
            colour.srgb_to_codes(colour.codes_to_srgb(grid, profile), profile, 8, back)
            np.testing.assert_array_equal(back, grid)
        return
    codes = _codes(8, 300_000, seed=5)
    back = np.empty_like(codes)
    colour.srgb_to_codes(colour.codes_to_srgb(codes, profile), profile, 8, back)
    np.testing.assert_array_equal(back, codes)


@pytest.mark.parametrize("name", EXACT_16BIT)
def test_16bit_round_trip_is_identity(name: str) -> None:
    profile = PROFILES[name]
    codes = _codes(16, 300_000, seed=6)
    back = np.empty_like(codes)
    colour.srgb_to_codes(colour.codes_to_srgb(codes, profile), profile, 16, back)
    np.testing.assert_array_equal(back, codes)


def test_16bit_round_trip_of_pure_power_law_is_as_close_as_the_reference() -> None:
    """Pure gamma toes are infinitely steep: float32 sRGB cannot hold the darkest codes exactly."""
    profile = PROFILES["adobe-rgb"]
    codes = _codes(16, 100_000, seed=7)
    back = np.empty_like(codes)
    colour.srgb_to_codes(colour.codes_to_srgb(codes, profile), profile, 16, back)
    ref = np.rint(_reference_code_values(_reference_decode(codes, profile), profile, 16))
    fast_err = np.abs(back.astype(np.int64) - codes)
    ref_err = np.abs(ref.astype(np.int64) - codes)
    assert np.mean(fast_err > 0) <= 2 * np.mean(ref_err > 0) + 1e-4
    assert fast_err.max() <= 2 * ref_err.max() + 1


def test_chunking_layout_and_strides_do_not_change_results(monkeypatch: pytest.MonkeyPatch) -> None:
    profile = PROFILES["mixed-trc"]
    codes = _codes(8, 5_000, seed=8)[0, :5_000].reshape(50, 100, 3)
    whole = colour.codes_to_srgb(codes, profile)
    rotated = np.rot90(codes)  # non-contiguous, as the decoder's un-rotation gives
    np.testing.assert_array_equal(colour.codes_to_srgb(rotated, profile), np.rot90(whole))
    rgba = np.zeros((50, 100, 4), np.uint8)
    colour.srgb_to_codes(whole, profile, 8, rgba[..., :3])  # strided output
    plain = np.empty_like(codes)
    colour.srgb_to_codes(whole, profile, 8, plain)
    np.testing.assert_array_equal(rgba[..., :3], plain)
    assert not rgba[..., 3].any()
    monkeypatch.setattr(colour, "_CHUNK", 7 * 3)  # many chunks, partial ones, rows split
    np.testing.assert_array_equal(colour.codes_to_srgb(codes, profile), whole)
    small = np.empty_like(codes)
    colour.srgb_to_codes(whole.astype(np.float64), profile, 8, small)  # float64 input too
    np.testing.assert_array_equal(small, plain)


def test_steep_inverse_curve_16bit_table_does_not_overflow() -> None:
    """A gamma-5 inverse overflows a float32 table reaching 2**-64: a shorter one is used."""
    profile = _profile(P3_XYZ, Curve("gamma", (5.0,)))
    codes = _codes(16, 20_000, seed=9)
    back = np.empty_like(codes)
    colour.srgb_to_codes(colour.codes_to_srgb(codes, profile), profile, 16, back)
    ref = np.rint(_reference_code_values(_reference_decode(codes, profile), profile, 16))
    lit = ref >= 8192  # a gamma-5 toe turns 1e-8 of linear light into ~1500 codes: compare above it
    assert lit.mean() > 0.5
    assert np.abs(back.astype(np.int64) - ref)[lit].max() <= 1
