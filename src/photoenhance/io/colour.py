"""Colour management: embedded ICC profile <-> sRGB for float32 pixels.

Matrix/TRC RGB profiles (Display P3, Adobe RGB, ProPhoto, most camera/phone
profiles) are converted in float64 with numpy to *extended-range* sRGB: the sRGB
primaries and transfer curve, with the curve extended sign-symmetrically and beyond
1 (as in scRGB / Apple's extended sRGB), and **no clipping**.  Colours outside the
sRGB gamut come out below 0 or above 1; :func:`from_srgb` maps them back exactly,
so an unchanged wide-gamut photo round-trips to the identity.  Clipping happens only
when writing, in the target profile's [0, 1] range.

Other RGB profiles (LUT based) go through LittleCMS (Pillow's ImageCms) at 8-bit
precision, with a warning; that path clips to the sRGB gamut.  sRGB-tagged and
untagged images are not converted at all.

Two implementations of the matrix/TRC maths:

- the *reference* (:func:`matrix_to_srgb`, :func:`matrix_from_srgb`): float64 with
  ``pow``, for float inputs and as the definition the fast path is tested against;
- the *fast path* used by the decoder and encoder (:func:`codes_to_srgb`,
  :func:`srgb_to_codes`), on integer code values: the source tone curve is a table
  indexed by the 8/16-bit code (holding the reference's own values), the 3x3 matrix
  one ``matmul`` per chunk, the extended sRGB curve (both ways) a piecewise-linear
  table indexed by the bits of the float (:class:`_Segments`; relative error ~1e-7
  in float32, ~1e-8 in float64), and the inverse tone curve with the rounding one
  lookup of the 8-bit code (:class:`_CodeTable`) or, for 16 bits, an estimate
  corrected to the reference's exact rounding (:class:`_Rounding`).  8-bit data
  runs in float32 (decoded values within ~1e-6 of the reference, codes off by one
  only at rounding ties, unchanged round trips exact); 16-bit data keeps float64
  through the matrix, so its round trip stays exact.

Everything runs in chunks of :data:`_CHUNK` pixels, so temporaries stay in cache
(and OpenBLAS stays single-threaded: a multi-threaded tiny ``matmul`` on a busy
machine is ~70x slower).
"""

from __future__ import annotations

import functools
import hashlib
import io
import math
import struct
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageCms

# sRGB primaries adapted to the ICC D50 PCS (as stored in the sRGB IEC61966-2.1 profile);
# columns are the XYZ of R, G, B.
SRGB_TO_XYZ_D50 = np.array(
    [
        [0.4360747, 0.3850649, 0.1430804],
        [0.2225045, 0.7168786, 0.0606169],
        [0.0139322, 0.0971045, 0.7141733],
    ]
)


def srgb_decode(v: np.ndarray) -> np.ndarray:
    """sRGB-encoded [0,1] -> linear light [0,1] (IEC 61966-2-1), any shape."""
    v = np.clip(v, 0.0, 1.0)
    return np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4)


def srgb_decode_ext(v: np.ndarray) -> np.ndarray:
    """Extended-range sRGB-encoded -> linear light, any real values, any shape.

    The IEC 61966-2-1 curve on ``|v|`` with the sign of ``v`` (odd-symmetric, as in
    scRGB/extended sRGB); values above 1 follow the power segment.  Exact inverse of
    :func:`srgb_encode_ext`.
    """
    a = np.abs(v)
    lin = np.where(a <= 0.04045, a / 12.92, ((a + 0.055) / 1.055) ** 2.4)
    return np.copysign(lin, v)


def srgb_encode_ext(v: np.ndarray) -> np.ndarray:
    """Linear light -> extended-range sRGB-encoded, any real values (no clipping)."""
    a = np.abs(v)
    enc = np.where(a <= 0.0031308, a * 12.92, 1.055 * a ** (1 / 2.4) - 0.055)
    return np.copysign(enc, v)


@dataclass(frozen=True)
class Curve:
    """A tone response curve: ``gamma`` (power law), ``params`` (ICC 'para') or ``lut``."""

    kind: str  # "gamma" | "para" | "lut"
    params: tuple[float, ...]

    def forward(self, v: np.ndarray) -> np.ndarray:
        """Encoded [0,1] -> linear [0,1]."""
        v = np.clip(v, 0.0, 1.0)
        if self.kind == "gamma":
            return v ** self.params[0]
        if self.kind == "lut":
            lut = np.asarray(self.params)
            return np.interp(v, np.linspace(0.0, 1.0, lut.size), lut)
        g, a, b, c, d, e, f = _para7(self.params)
        return np.where(v >= d, (a * v + b).clip(0) ** g + e, c * v + f)

    def inverse(self, y: np.ndarray) -> np.ndarray:
        """Linear [0,1] -> encoded [0,1]."""
        y = np.clip(y, 0.0, 1.0)
        if self.kind == "gamma":
            return y ** (1.0 / self.params[0])
        if self.kind == "lut":
            lut = np.maximum.accumulate(np.asarray(self.params))
            xs = np.linspace(0.0, 1.0, lut.size)
            keep = np.concatenate([[True], np.diff(lut) > 0])
            return np.interp(y, lut[keep], xs[keep])
        g, a, b, c, d, e, f = _para7(self.params)
        y_d = c * d + f
        hi = ((np.clip(y - e, 0, None) ** (1.0 / g)) - b) / a if a else np.zeros_like(y)
        lo = (y - f) / c if c else np.full_like(y, d)
        return np.clip(np.where(y >= y_d, hi, lo), 0.0, 1.0)


def _para7(p: tuple[float, ...]) -> tuple[float, float, float, float, float, float, float]:
    """Expand ICC parametricCurve parameters (types 0-4) to (g, a, b, c, d, e, f)."""
    g = p[0]
    if len(p) == 1:
        return g, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0
    if len(p) == 3:  # CIE 122-1966
        return g, p[1], p[2], 0.0, -p[2] / p[1], 0.0, 0.0
    if len(p) == 4:  # IEC 61966-3
        return g, p[1], p[2], 0.0, -p[2] / p[1], p[3], p[3]
    if len(p) == 5:  # IEC 61966-2.1 (sRGB)
        return g, p[1], p[2], p[3], p[4], 0.0, 0.0
    return g, p[1], p[2], p[3], p[4], p[5], p[6]


_PARA_COUNTS = {0: 1, 1: 3, 2: 4, 3: 5, 4: 7}


@dataclass(frozen=True)
class ParsedProfile:
    """What we need from an ICC profile.

    Attributes:
        colour_space: ICC data colour space signature, e.g. ``"RGB"``, ``"GRAY"``, ``"CMYK"``.
        description: profile description text ('' if none).
        matrix: 3x3 RGB->XYZ(D50) matrix as nested tuples, or None (not matrix/TRC).
        curves: R, G, B tone curves, or None.
    """

    colour_space: str
    description: str
    matrix: tuple[tuple[float, ...], ...] | None
    curves: tuple[Curve, Curve, Curve] | None

    @property
    def is_matrix_rgb(self) -> bool:
        return self.colour_space == "RGB" and self.matrix is not None and self.curves is not None


def _tags(icc: bytes) -> dict[str, bytes]:
    count = struct.unpack_from(">I", icc, 128)[0]
    if count > 1000:
        raise ValueError("implausible ICC tag count")
    tags = {}
    for i in range(count):
        sig, off, size = struct.unpack_from(">4sII", icc, 132 + 12 * i)
        if off + size > len(icc):
            raise ValueError("ICC tag out of range")
        tags[sig.decode("latin-1")] = icc[off : off + size]
    return tags


def _s15(b: bytes, pos: int) -> float:
    return struct.unpack_from(">i", b, pos)[0] / 65536.0


def _curve(tag: bytes) -> Curve:
    if tag[:4] == b"curv":
        n = struct.unpack_from(">I", tag, 8)[0]
        if n == 0:
            return Curve("gamma", (1.0,))
        if n == 1:
            return Curve("gamma", (struct.unpack_from(">H", tag, 12)[0] / 256.0,))
        lut = struct.unpack_from(f">{n}H", tag, 12)
        return Curve("lut", tuple(v / 65535.0 for v in lut))
    if tag[:4] == b"para":
        ftype = struct.unpack_from(">H", tag, 8)[0]
        n = _PARA_COUNTS[ftype]
        return Curve("para", tuple(_s15(tag, 12 + 4 * i) for i in range(n)))
    raise ValueError(f"unsupported curve type {tag[:4]!r}")


def _description(tag: bytes | None) -> str:
    if not tag:
        return ""
    if tag[:4] == b"desc":
        n = struct.unpack_from(">I", tag, 8)[0]
        return tag[12 : 12 + n].split(b"\x00")[0].decode("latin-1", "replace")
    if tag[:4] == b"mluc":
        count, _rec = struct.unpack_from(">II", tag, 8)
        if count:
            length, offset = struct.unpack_from(">II", tag, 20)
            return tag[offset : offset + length].decode("utf-16-be", "replace")
    return ""


@functools.lru_cache(maxsize=32)
def parse_profile(icc: bytes) -> ParsedProfile:
    """Parse the parts of an ICC profile we use.  Raises ValueError if malformed."""
    try:
        if len(icc) < 132 or icc[36:40] != b"acsp":
            raise ValueError("not an ICC profile")
        space = icc[16:20].decode("latin-1").strip()
        tags = _tags(icc)
        desc = _description(tags.get("desc"))
        matrix = curves = None
        lut_based = any(k in tags for k in ("A2B0", "B2A0", "A2B1", "B2A1"))
        if not lut_based and all(k in tags for k in ("rXYZ", "gXYZ", "bXYZ", "rTRC", "gTRC", "bTRC")):
            cols = [[_s15(tags[k], 8 + 4 * i) for i in range(3)] for k in ("rXYZ", "gXYZ", "bXYZ")]
            matrix = tuple(tuple(cols[c][r] for c in range(3)) for r in range(3))
            curves = (_curve(tags["rTRC"]), _curve(tags["gTRC"]), _curve(tags["bTRC"]))
            if abs(np.linalg.det(np.array(matrix))) < 1e-6:
                raise ValueError("singular colorant matrix")
        return ParsedProfile(space, desc, matrix, curves)
    except (struct.error, KeyError, IndexError, UnicodeDecodeError) as exc:
        raise ValueError(f"malformed ICC profile ({exc})") from exc


def is_srgb(profile: ParsedProfile) -> bool:
    """True for sRGB profiles: 'sRGB' in the description, or sRGB primaries and curve."""
    if profile.colour_space != "RGB":
        return False
    if "srgb" in profile.description.lower():
        return True
    if not profile.is_matrix_rgb:
        return False
    assert profile.matrix is not None and profile.curves is not None
    if not np.allclose(np.array(profile.matrix), SRGB_TO_XYZ_D50, atol=2e-3):
        return False
    x = np.linspace(0.0, 1.0, 65)
    return all(np.abs(c.forward(x) - srgb_decode(x)).max() < 2e-3 for c in profile.curves)


def header_colour_space(icc: bytes) -> str | None:
    """The data colour space in an ICC header (``"RGB"``, ``"GRAY"``...), even when the
    rest of the profile is damaged; None if ``icc`` has no ICC header."""
    if len(icc) < 40 or icc[36:40] != b"acsp":
        return None
    return icc[16:20].decode("latin-1").strip()


def _curve_problem(curves: tuple[Curve, Curve, Curve]) -> str | None:
    """Why these tone curves cannot convert pixels (None if they can)."""
    x = np.linspace(0.0, 1.0, 257)
    for name, c in zip("RGB", curves, strict=True):
        try:
            with np.errstate(all="ignore"):
                fwd, inv = c.forward(x), c.inverse(x)
        except (ZeroDivisionError, OverflowError, ValueError, IndexError) as exc:
            return f"{name} tone curve {c.kind} {c.params[:7]}: {type(exc).__name__}"
        if not (np.isfinite(fwd).all() and np.isfinite(inv).all()) or fwd[-1] - fwd[0] < 1e-6:
            return f"{name} tone curve {c.kind} {c.params[:7]} is degenerate"
    return None


@functools.lru_cache(maxsize=32)
def profile_problem(icc: bytes) -> str | None:
    """Why RGB pixels tagged with ``icc`` cannot be converted with it, or None.

    None for usable RGB profiles and for non-RGB ones (grey/CMYK: the decoder's).
    A damaged profile - unparseable, a degenerate tone curve (``para`` with a = 0,
    ``curv`` gamma 0), or a LUT profile LittleCMS cannot build a transform from in
    both directions - gets a reason: such pixels are treated as sRGB and the
    original profile bytes are still embedded unchanged, so the photo is never
    lost over its profile (decoder and encoder both decide through this function).
    """
    try:
        profile = parse_profile(icc)
    except ValueError as exc:
        return str(exc)
    if profile.colour_space != "RGB":
        return None
    if profile.is_matrix_rgb:
        assert profile.curves is not None
        return _curve_problem(profile.curves)
    sample = np.linspace(0.0, 1.0, 24, dtype=np.float32).reshape(2, 4, 3)
    try:
        lcms = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        _lcms(sample, lcms, _srgb_profile())
        _lcms(sample, _srgb_profile(), lcms)
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError, AssertionError) as exc:
        return " ".join(f"LittleCMS cannot use it: {exc}".split())
    return None


def needs_conversion(icc: bytes | None) -> bool:
    """True if pixels tagged with ``icc`` must be converted to reach sRGB.

    False for None, sRGB, non-RGB profiles (grey/CMYK are handled by the decoder)
    and damaged profiles (:func:`profile_problem`: treated as sRGB, bytes still
    carried over).
    """
    if not icc or profile_problem(icc) is not None:
        return False
    profile = parse_profile(icc)
    return profile.colour_space == "RGB" and not is_srgb(profile)


@functools.lru_cache(maxsize=32)
def _matrices(profile: ParsedProfile) -> tuple[np.ndarray, np.ndarray]:
    """(source linear -> sRGB linear, its inverse), transposed for ``pixels @ m``."""
    assert profile.matrix is not None
    m = np.linalg.solve(SRGB_TO_XYZ_D50, np.array(profile.matrix))
    return m.T.copy(), np.linalg.inv(m).T.copy()


_BAND_PIXELS = 1 << 16  # rows per band x width: float64 temporaries ~1.5 MiB each


def row_bands(height: int, width: int, pixels: int | None = None) -> list[slice]:
    """Row slices covering ``height`` rows, each about ``pixels`` (default ``_BAND_PIXELS``) pixels."""
    step = max(1, (pixels or _BAND_PIXELS) // max(width, 1))
    return [slice(r, min(height, r + step)) for r in range(0, height, step)]


def to_srgb(rgb: np.ndarray, icc: bytes) -> tuple[np.ndarray, tuple[str, ...]]:
    """Convert HxWx3 pixels in the ``icc`` space to sRGB.

    ``rgb``: the file's uint8/uint16 code values (the fast, table-driven path of
    :func:`codes_to_srgb` for matrix/TRC profiles), or float32 [0, 1] (the float64
    reference, :func:`matrix_to_srgb`).

    Matrix/TRC profiles give *extended-range* sRGB (values < 0 or > 1 where the
    colour is outside the sRGB gamut; see the module docstring).  LUT-based profiles
    go through LittleCMS at 8-bit precision and are clipped to [0, 1] (warned).

    Returns the converted float32 pixels (a new array) and warnings.  Call only when
    :func:`needs_conversion` is True.
    """
    profile = parse_profile(icc)
    if rgb.dtype in (np.uint8, np.uint16):
        if profile.is_matrix_rgb:
            return codes_to_srgb(rgb, profile), ()
        rgb = rgb.astype(np.float32) / np.float32(255 if rgb.dtype == np.uint8 else 65535)
    if profile.is_matrix_rgb:
        out = np.empty(rgb.shape, np.float32)
        for rows in row_bands(rgb.shape[0], rgb.shape[1], _CHUNK):
            out[rows] = matrix_to_srgb(rgb[rows], profile)
        return out, ()
    out = _lcms(rgb, ImageCms.ImageCmsProfile(io.BytesIO(icc)), _srgb_profile())
    warning = (
        "colour profile is LUT-based: converted to sRGB by LittleCMS at 8-bit precision, "
        "colours outside sRGB clipped"
    )
    return out, (warning,)


def matrix_to_srgb(rgb: np.ndarray, profile: ParsedProfile) -> np.ndarray:
    """``...x3`` pixels in matrix/TRC ``profile`` -> extended-range sRGB, float64."""
    assert profile.curves is not None
    lin = np.stack([c.forward(rgb[..., i].astype(np.float64)) for i, c in enumerate(profile.curves)], -1)
    return srgb_encode_ext(lin @ _matrices(profile)[0])


def matrix_from_srgb(rgb: np.ndarray, profile: ParsedProfile) -> np.ndarray:
    """Extended-range sRGB ``...x3`` -> matrix/TRC ``profile`` encoding, float64 in [0, 1].

    Exact inverse of :func:`matrix_to_srgb` inside the profile's gamut.  The linear
    values are clipped to [0, 1] *before* the inverse tone curve, which equals the
    sign-symmetric extended curve followed by clipping (the curves are monotone and
    map 0 -> 0, 1 -> 1): out-of-gamut colours are clipped in the target space.
    """
    assert profile.curves is not None
    lin = srgb_decode_ext(rgb.astype(np.float64)) @ _matrices(profile)[1]
    return np.stack([c.inverse(lin[..., i]) for i, c in enumerate(profile.curves)], -1)


def from_srgb(rgb: np.ndarray, icc: bytes) -> np.ndarray:
    """Inverse of :func:`to_srgb`: HxWx3 extended-range sRGB -> the ``icc`` space, float32 [0, 1].

    Matrix/TRC profiles use the exact extended inverse and clip in the target space
    (see :func:`matrix_from_srgb`); LUT profiles go through LittleCMS (sRGB clipped first).
    """
    profile = parse_profile(icc)
    if profile.is_matrix_rgb:
        out = np.empty(rgb.shape, np.float32)
        for rows in row_bands(rgb.shape[0], rgb.shape[1], _CHUNK):
            out[rows] = matrix_from_srgb(rgb[rows], profile)
        return out
    return _lcms(rgb, _srgb_profile(), ImageCms.ImageCmsProfile(io.BytesIO(icc)))



# --------------------------------------------------------------------------- fast path

_CHUNK = 1 << 14  # pixels per chunk: temporaries stay in L2, and OpenBLAS single-threaded
_SRGB_IN_LIMIT = 65536.0  # encoder input is clipped to +-this (far beyond meaningful values)
_FLOAT_LAYOUT = {  # float dtype -> (same-size int dtype, mantissa bits, exponent bias)
    np.dtype(np.float32): (np.dtype(np.int32), 23, 127),
    np.dtype(np.float64): (np.dtype(np.int64), 52, 1023),
}


class _Scratch:
    """Reusable work buffers for one conversion call (one dtype per name)."""

    def __init__(self) -> None:
        self._bufs: dict[str, np.ndarray] = {}
        self._views: dict[tuple[str, tuple[int, ...]], np.ndarray] = {}

    def get(self, name: str, dtype: np.dtype | type, shape: tuple[int, ...]) -> np.ndarray:
        """A C-contiguous ``shape`` view of buffer ``name``; contents undefined."""
        view = self._views.get((name, shape))
        if view is not None:
            return view
        n = math.prod(shape)
        buf = self._bufs.get(name)
        if buf is None or buf.size < n:
            buf = self._bufs[name] = np.empty(max(n, 1), dtype)
            self._views = {k: v for k, v in self._views.items() if k[0] != name}
        view = self._views[name, shape] = buf[:n].reshape(shape)
        return view


def _segment_ends(dtype: np.dtype, k_lo: int, n: int, shift: int) -> np.ndarray:
    """The float64 values whose ``dtype`` bit patterns are ``k << shift``, k = k_lo..k_lo+n."""
    itype = _FLOAT_LAYOUT[dtype][0]
    return (np.arange(k_lo, k_lo + n + 1, dtype=itype) << shift).view(dtype).astype(np.float64)


class _Segments:
    """Fast approximation of per-channel curves ``f(x) = f(0) + x * g(|x|)``.

    ``g`` is linear on each of ``2**bits`` segments per octave of ``|x|``, which are
    found from the float's bit pattern (exponent and top mantissa bits): the relative
    error of a power law ``x**p`` is the same in every octave, ~``|p(p-1)|/8 * 4**-bits``
    (10 bits: ~1e-7, 12 bits: ~1e-8).  The table covers ``2**e_lo <= |x| < 2**e_hi``;
    smaller values use the lowest segment (exact where ``f`` is linear there, as the
    sRGB toe), larger ones extrapolate the highest.  ``e_lo=None`` starts the table at
    0 (saves the index offset; only for curves that are linear near 0).  With ``odd``
    the curve is applied to ``|x|`` with the sign of ``x`` (``f(0)`` must be 0);
    otherwise ``x`` must be >= 0 (or -0.0).  Three ``funcs`` apply one per channel of
    ``(N, 3)`` data, from one concatenated table.
    """

    def __init__(
        self,
        funcs: tuple[Callable[[np.ndarray], np.ndarray], ...],
        dtype: type,
        e_lo: int | None,
        e_hi: int,
        bits: int,
        odd: bool,
        scale: float = 1.0,
    ) -> None:
        self.dtype = np.dtype(dtype)
        self.itype, mant, bias = _FLOAT_LAYOUT[self.dtype]
        self.shift = mant - bits
        self.odd = odd
        self.k_lo = 0 if e_lo is None else (bias + e_lo) << bits
        self.n = (bias + e_hi) << bits if e_lo is None else (e_hi - e_lo) << bits
        a = _segment_ends(self.dtype, self.k_lo, self.n, self.shift)
        c0s, c1s, f0s = [], [], []
        for f in funcs:
            f0 = float(f(np.zeros(1))[0]) * scale
            with np.errstate(divide="ignore", invalid="ignore"):
                g = (f(a) * scale - f0) / a
            if a[0] == 0.0:
                g[0] = g[1]  # linear near 0: g is constant there
            c1 = np.diff(g) / np.diff(a)
            c0s.append(g[:-1] - c1 * a[:-1])
            c1s.append(c1)
            f0s.append(f0)
        if odd and any(f0s):
            raise ValueError("odd curves must map 0 to 0")
        with np.errstate(over="ignore"):
            self.c0 = np.concatenate(c0s).astype(self.dtype)
            self.c1 = np.concatenate(c1s).astype(self.dtype)
        if not (np.isfinite(self.c0).all() and np.isfinite(self.c1).all()):
            raise OverflowError("curve table overflows its dtype")
        self.f0 = np.array(f0s, self.dtype) if any(f0s) else None
        # channel c of (N, 3) data uses table entries [c*n, (c+1)*n)
        self.offsets = np.arange(3, dtype=np.intp) * self.n if len(funcs) == 3 else None
        self.abs_mask = np.array((1 << (8 * self.itype.itemsize - 1)) - 1, self.itype)
        self._names = tuple(f"seg_{name}_{self.dtype.char}" for name in ("abs", "idx", "g", "c0"))

    def apply(self, x: np.ndarray, out: np.ndarray, work: _Scratch) -> np.ndarray:
        """``out[...] = f(x)``: ``x`` C-contiguous (N, 3) of :attr:`dtype`; ``out`` may be ``x``."""
        shape = x.shape
        bits = x.view(self.itype)
        if self.odd:
            bits = np.bitwise_and(bits, self.abs_mask, out=work.get(self._names[0], self.itype, shape))
        idx = np.right_shift(bits, self.shift, out=work.get(self._names[1], np.intp, shape))
        if self.k_lo:
            idx -= self.k_lo
        if self.offsets is not None:
            np.clip(idx, 0, self.n - 1, out=idx)
            idx += self.offsets
        g = np.take(self.c1, idx, mode="clip", out=work.get(self._names[2], self.dtype, shape))
        g *= bits.view(self.dtype)  # |x|
        g += np.take(self.c0, idx, mode="clip", out=work.get(self._names[3], self.dtype, shape))
        np.multiply(x, g, out=out)
        if self.f0 is not None:
            out += self.f0
        return out


class _CodeTable:
    """Linear light -> 8-bit code values of inverse tone curves, in one lookup.

    Indexed like :class:`_Segments` (float32 bits, ``2**bits`` segments per octave),
    from 0 up to the octave [1, 2); each segment holds the rounded code of its
    midpoint.  Negative inputs give the first entry, values >= 2 the last (so the
    input needs no clipping to [0, 1]).  With 12 bits a segment spans at most 1/32
    of a code (a linear curve's top octave; ~1/70 for gamma 2.2 or the sRGB curve),
    so a value can differ from exact rounding only within half that of a rounding
    boundary, and then by one; code values themselves always map back exactly.
    """

    def __init__(self, curves: tuple[Curve, ...], bits: int = 12) -> None:
        f32 = np.dtype(np.float32)
        self.shift = 23 - bits
        self.n = 128 << bits
        ends = _segment_ends(f32, 0, self.n, self.shift)
        mid = (ends[:-1] + ends[1:]) / 2
        codes = [np.rint(c.inverse(mid).astype(np.float32) * np.float32(255)) for c in curves]
        self.codes = np.concatenate(codes).astype(np.uint8)
        self.offsets = np.arange(3, dtype=np.intp) * self.n if len(curves) == 3 else None

    def apply(self, x: np.ndarray, out: np.ndarray, work: _Scratch) -> np.ndarray:
        """``out[...] = codes(x)``: ``x`` C-contiguous float32 (N, 3); ``out`` (N, 3), any strides."""
        idx = work.get("code_idx", np.intp, x.shape)
        np.right_shift(x.view(np.int32), self.shift, out=idx)
        if self.offsets is not None:
            np.clip(idx, 0, self.n - 1, out=idx)
            idx += self.offsets
        return np.take(self.codes, idx, mode="clip", out=out)


def _code_boundaries(curve: Curve, top: int) -> np.ndarray:
    """``b[k]``: the smallest float32 ``y`` whose reference code is > ``k`` (inf if none).

    The reference code of linear ``y`` is ``rint(float32(curve.inverse(y)) * top)``
    (as :func:`matrix_from_srgb` and the encoder's quantisation give it); it is
    monotone in ``y``, so it equals the number of boundaries ``<= y``.  Found by
    bisection over the float32 bit patterns of [0, 1].
    """
    want = np.arange(1, top + 1, dtype=np.float32)

    def reaches(bits: np.ndarray) -> np.ndarray:
        y = bits.view(np.float32).astype(np.float64)
        return np.rint(curve.inverse(y).astype(np.float32) * np.float32(top)) >= want

    lo = np.zeros(top, np.int32)
    hi = np.full(top, np.array(1.0, np.float32).view(np.int32), np.int32)
    reached = reaches(hi)
    for _ in range(31):  # lower bound of ``reaches`` in [lo, hi]; hi - lo < 2**30
        mid = lo + (hi - lo) // 2
        ok = reaches(mid)
        hi = np.where(ok, mid, hi)
        lo = np.where(ok, lo, np.minimum(mid + 1, hi))
    b = lo.view(np.float32).copy()
    b[~reached] = np.inf
    return b


class _Rounding:
    """Exact reference rounding to codes: corrects an estimate that is off by at most one.

    With the :func:`_code_boundaries` of each channel's curve, the code of ``y`` is
    ``k + (y >= b[k]) - (y < b[k - 1])`` for any estimate ``k`` within one of it.
    """

    def __init__(self, curves: tuple[Curve, ...], top: int) -> None:
        upper, lower = [], []
        for c in curves:
            b = _code_boundaries(c, top)
            upper.append(np.append(b, np.float32(np.inf)))  # code k -> k+1 at b[k]
            lower.append(np.insert(b, 0, np.float32(-np.inf)))  # code k -> k-1 below b[k-1]
        self.upper = np.concatenate(upper)
        self.lower = np.concatenate(lower)
        self.offsets = np.arange(3, dtype=np.intp) * (top + 1) if len(curves) == 3 else None

    def apply(self, y: np.ndarray, k: np.ndarray, out: np.ndarray, work: _Scratch) -> np.ndarray:
        """``out[...]`` = codes of float32 ``y`` (N, 3), given estimates ``k`` (intp, modified)."""
        idx = k
        if self.offsets is not None:
            idx = np.add(k, self.offsets, out=work.get("round_idx", np.intp, k.shape))
        bound = work.get("round_b", np.float32, k.shape)
        flag = work.get("round_flag", np.bool_, k.shape)
        k += np.greater_equal(y, np.take(self.upper, idx, mode="clip", out=bound), out=flag)
        k -= np.less(y, np.take(self.lower, idx, mode="clip", out=bound), out=flag)
        np.copyto(out, k, casting="unsafe")
        return out


@functools.cache
def _srgb_encode_segments(dtype: type) -> _Segments:
    """Linear -> extended sRGB, for the decoder (``|x| < 2**8``: see :func:`_decode_tables`)."""
    if dtype is np.float32:  # linear below 0.0031308: the table can start at 0
        return _Segments((srgb_encode_ext,), dtype, None, 8, 10, odd=True)
    return _Segments((srgb_encode_ext,), dtype, -9, 8, 12, odd=True)  # 2**-9 < 0.0031308


@functools.cache
def _srgb_decode_segments(dtype: type) -> _Segments:
    """Extended sRGB -> linear, for the encoder (inputs within +-:data:`_SRGB_IN_LIMIT`)."""
    if dtype is np.float32:  # linear below 0.04045: the table can start at 0
        return _Segments((srgb_decode_ext,), dtype, None, 17, 10, odd=True)
    return _Segments((srgb_decode_ext,), dtype, -5, 17, 12, odd=True)  # 2**-5 < 0.04045


@dataclass(frozen=True, eq=False)
class _DecodeTables:
    lut: np.ndarray  # linear value of each code: (top+1,) shared or (3*(top+1),)
    offsets: np.ndarray | None  # (3,) per-channel offsets into lut, None if shared
    matrix: np.ndarray  # (3, 3) for ``lin @ matrix``
    curve: _Segments  # linear -> extended sRGB


@dataclass(frozen=True, eq=False)
class _EncodeTables:
    matrix: np.ndarray
    curve: _Segments  # extended sRGB -> linear
    codes8: _CodeTable | None  # 8-bit output: linear -> codes
    curve16: _Segments | None  # 16-bit output: linear -> code values as floats, estimate
    round16: _Rounding | None  # 16-bit output: exact rounding from the estimate


def _distinct(curves: tuple[Curve, Curve, Curve]) -> tuple[Curve, ...]:
    """One curve when all three channels share it, else all three."""
    return curves[:1] if curves[0] == curves[1] == curves[2] else curves


@functools.lru_cache(maxsize=8)
def _decode_tables(profile: ParsedProfile, bits: int) -> _DecodeTables | None:
    """Tables for :func:`codes_to_srgb`; None if linear sRGB could leave their range."""
    assert profile.curves is not None
    dtype = np.float32 if bits == 8 else np.float64
    top = 255 if bits == 8 else 65535
    # exactly the reference's inputs: float32(code) / float32(top), then float64
    v = (np.arange(top + 1, dtype=np.float32) / np.float32(top)).astype(np.float64)
    curves = _distinct(profile.curves)
    lut = np.concatenate([c.forward(v) for c in curves])
    offsets = None if len(curves) == 1 else np.arange(3, dtype=np.intp) * (top + 1)
    m = _matrices(profile)[0]
    if np.abs(m).sum(axis=0).max() * max(1.0, float(np.abs(lut).max())) >= 2.0**8:
        return None
    return _DecodeTables(lut.astype(dtype), offsets, m.astype(dtype), _srgb_encode_segments(dtype))


@functools.lru_cache(maxsize=8)
def _encode_tables(profile: ParsedProfile, bits: int) -> _EncodeTables:
    """Tables for :func:`srgb_to_codes`."""
    assert profile.curves is not None
    curves = _distinct(profile.curves)
    m = _matrices(profile)[1]
    if bits == 8:
        return _EncodeTables(
            m.astype(np.float32), _srgb_decode_segments(np.float32), _CodeTable(curves), None, None
        )
    # 16 bits: the sRGB curve and matrix in float64; the inverse tone curves in float32
    # (an estimate within a fraction of a code, exact after :class:`_Rounding`), down to
    # 2**-64 for pure power laws' toes (less for steep ones, which would overflow float32)
    funcs = tuple(c.inverse for c in curves)
    for e_lo in (-64, -48, -32, -16):
        try:
            out = _Segments(funcs, np.float32, e_lo, 1, 10, odd=False, scale=65535.0)
            break
        except OverflowError:
            continue
    else:  # pragma: no cover - needs a curve steeper than x**(1/16) at 2**-16
        raise ValueError("inverse tone curve too steep for the 16-bit table")
    return _EncodeTables(m, _srgb_decode_segments(np.float64), None, out, _Rounding(curves, 65535))


def _flat3(a: np.ndarray) -> np.ndarray | None:
    """``a`` (...x3) as an (N, 3) *view*, or None when that would need a copy."""
    flat = a.reshape(-1, 3)
    return flat if a.size == 0 or np.may_share_memory(flat, a) else None


def codes_to_srgb(codes: np.ndarray, profile: ParsedProfile) -> np.ndarray:
    """HxWx3 uint8/uint16 code values in matrix/TRC ``profile`` -> extended-range sRGB float32.

    The fast equivalent of ``matrix_to_srgb(codes / top, profile)``: the tone curve
    looked up per code (the reference's own values), one ``matmul`` per chunk, and the
    extended sRGB curve from a :class:`_Segments` table.  8-bit sources run in
    float32; 16-bit ones in float64 up to the float32 result.
    """
    if codes.dtype not in (np.uint8, np.uint16):
        raise TypeError(f"codes must be uint8 or uint16, not {codes.dtype}")
    bits = 8 if codes.dtype == np.uint8 else 16
    tables = _decode_tables(profile, bits)
    out = np.empty(codes.shape, np.float32)
    h, w = codes.shape[:2]
    if tables is None:  # pragma: no cover - absurd colorant matrices only
        top = np.float32(255 if bits == 8 else 65535)
        for rows in row_bands(h, w, _CHUNK):
            out[rows] = matrix_to_srgb(codes[rows].astype(np.float32) / top, profile)
        return out
    work = _Scratch()
    dtype = tables.lut.dtype
    for rows in row_bands(h, w, _CHUNK):
        src = codes[rows].reshape(-1, 3)  # a copy only for non-contiguous (unrotated) input
        dst = _flat3(out[rows])
        assert dst is not None
        for s in range(0, src.shape[0], _CHUNK):
            c = src[s : s + _CHUNK]
            lin = work.get("lin", dtype, c.shape)
            if tables.offsets is None:
                np.take(tables.lut, c, mode="clip", out=lin)
            else:
                idx = np.add(c, tables.offsets, out=work.get("idx", np.intp, c.shape))
                np.take(tables.lut, idx, mode="clip", out=lin)
            mixed = np.matmul(lin, tables.matrix, out=work.get("mixed", dtype, c.shape))
            tables.curve.apply(mixed, dst[s : s + _CHUNK], work)
    return out


def _clean(x: np.ndarray, work: _Scratch) -> np.ndarray:
    """``x`` as float32 with NaN -> 0, +inf -> 1, -inf -> 0, clipped to +-:data:`_SRGB_IN_LIMIT`."""
    lo, hi = x.min(), x.max()  # NaN propagates
    if lo >= -_SRGB_IN_LIMIT and hi <= _SRGB_IN_LIMIT and x.dtype == np.float32 and x.flags.c_contiguous:
        return x  # the usual case: nothing to do, no copy
    clean = work.get("clean", np.float32, x.shape)
    np.copyto(clean, x, casting="same_kind")
    if not (np.isfinite(lo) and np.isfinite(hi)):
        np.nan_to_num(clean, copy=False, nan=0.0, posinf=1.0, neginf=0.0)
    return np.clip(clean, -_SRGB_IN_LIMIT, _SRGB_IN_LIMIT, out=clean)


def srgb_to_codes(rgb: np.ndarray, profile: ParsedProfile, bits: int, out: np.ndarray) -> np.ndarray:
    """Extended-range sRGB ``...x3`` floats -> ``profile`` code values, written into ``out``.

    The fast equivalent of ``rint(clip(matrix_from_srgb(clean(rgb)), 0, 1) * top)``
    where ``clean`` maps NaN -> 0, +inf -> 1, -inf -> 0 (as the encoder does for
    unconverted data) and clips to +-:data:`_SRGB_IN_LIMIT`.  ``out``: uint8 (``bits``
    8) or uint16 (16), ``rgb``'s shape, any strides; ``rgb`` is not modified.  8-bit
    output runs in float32 and rounds by a :class:`_CodeTable` lookup (off by one only
    within ~1/64 of a code of a rounding boundary); for 16-bit the sRGB curve and the
    matrix run in float64 (the exact 16-bit round trip needs it) and the rounding is
    the reference's (:class:`_Rounding`).
    """
    tables = _encode_tables(profile, bits)
    dtype = tables.matrix.dtype
    work = _Scratch()
    n_all = math.prod(rgb.shape[:-1])
    src_all = rgb.reshape(n_all, 3)
    dst = out if _flat3(out) is not None else np.empty(out.shape, out.dtype)
    dst_all = _flat3(dst)
    assert dst_all is not None
    for s in range(0, n_all, _CHUNK):
        x = _clean(src_all[s : s + _CHUNK], work)
        shape = x.shape
        if dtype != x.dtype:
            wide = work.get("wide", dtype, shape)
            np.copyto(wide, x)
            x = wide
        lin = tables.curve.apply(x, work.get("lin", dtype, shape), work)
        mixed = np.matmul(lin, tables.matrix, out=work.get("mixed", dtype, shape))
        if tables.codes8 is not None:
            tables.codes8.apply(mixed, dst_all[s : s + _CHUNK], work)
            continue
        assert tables.curve16 is not None and tables.round16 is not None
        target = np.clip(mixed, 0.0, 1.0, out=work.get("target", np.float32, shape), casting="same_kind")
        estimate = tables.curve16.apply(target, work.get("estimate", np.float32, shape), work)
        k = work.get("k", np.intp, shape)
        np.copyto(k, np.rint(estimate, out=estimate), casting="unsafe")
        tables.round16.apply(target, k, dst_all[s : s + _CHUNK], work)
    if dst is not out:
        out[...] = dst
    return out


def is_matrix_profile(icc: bytes) -> bool:
    """True if ``icc`` parses as a matrix/TRC RGB profile (converted exactly, unclipped)."""
    try:
        return parse_profile(icc).is_matrix_rgb
    except ValueError:
        return False


@functools.cache
def _srgb_profile() -> ImageCms.ImageCmsProfile:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


_FIXED_ICC_DATE = struct.pack(">6H", 2000, 1, 1, 0, 0, 0)
"""The creation date written into :func:`srgb_icc_bytes` (header bytes 24-35)."""


def srgb_icc_bytes() -> bytes:
    """ICC bytes of LittleCMS's built-in sRGB profile (embedded for CMYK sources).

    LittleCMS stamps the current date into the header, which made a CMYK source's output
    differ from one run to the next; the date is fixed here (and the profile ID, when
    LittleCMS writes one, recomputed over the fixed header), so the same photo always gives
    the same bytes.
    """
    icc = bytearray(_srgb_profile().tobytes())
    icc[24:36] = _FIXED_ICC_DATE
    if any(icc[84:100]):  # ICC.1 profile ID: MD5 with flags, intent and the ID itself zeroed
        unstamped = bytearray(icc)
        unstamped[44:48] = unstamped[64:68] = bytes(4)
        unstamped[84:100] = bytes(16)
        icc[84:100] = hashlib.md5(bytes(unstamped), usedforsecurity=False).digest()
    return bytes(icc)


def _lcms(rgb: np.ndarray, src: ImageCms.ImageCmsProfile, dst: ImageCms.ImageCmsProfile) -> np.ndarray:
    im = Image.fromarray(np.round(np.clip(rgb, 0, 1) * 255).astype(np.uint8), "RGB")
    out = ImageCms.profileToProfile(im, src, dst, outputMode="RGB")
    assert out is not None
    return np.asarray(out, dtype=np.float32) / 255.0


def cmyk_to_srgb(im: Image.Image, icc: bytes | None) -> tuple[Image.Image, tuple[str, ...]]:
    """Convert a CMYK image to 8-bit sRGB, via its ICC profile when it has a usable one."""
    if icc:
        try:
            out = ImageCms.profileToProfile(
                im, ImageCms.ImageCmsProfile(io.BytesIO(icc)), _srgb_profile(), outputMode="RGB"
            )
            assert out is not None
            return out, ()
        except (ImageCms.PyCMSError, OSError, ValueError, AssertionError) as exc:
            warning = f"CMYK profile unusable ({exc}); used a naive CMYK->RGB conversion"
            return im.convert("RGB"), (" ".join(warning.split()),)
    return im.convert("RGB"), ("untagged CMYK: used a naive CMYK->RGB conversion",)
