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

Conversions run in bands of rows, so the float64 temporaries stay small.
"""

from __future__ import annotations

import functools
import io
import struct
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


def srgb_encode(v: np.ndarray) -> np.ndarray:
    """Linear light [0,1] -> sRGB-encoded [0,1], any shape (input clipped first)."""
    v = np.clip(v, 0.0, 1.0)
    return np.where(v <= 0.0031308, v * 12.92, 1.055 * v ** (1 / 2.4) - 0.055)


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


def needs_conversion(icc: bytes | None) -> bool:
    """True if pixels tagged with ``icc`` must be converted to reach sRGB.

    False for None, sRGB, non-RGB profiles (grey/CMYK are handled by the decoder)
    and malformed profiles (treated as sRGB, bytes still carried over).
    """
    if not icc:
        return False
    try:
        profile = parse_profile(icc)
    except ValueError:
        return False
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
    """Convert HxWx3 float32 [0,1] pixels in the ``icc`` space to sRGB.

    Matrix/TRC profiles give *extended-range* sRGB (values < 0 or > 1 where the
    colour is outside the sRGB gamut; see the module docstring).  LUT-based profiles
    go through LittleCMS at 8-bit precision and are clipped to [0, 1] (warned).

    Returns the converted float32 pixels (a new array) and warnings.  Call only when
    :func:`needs_conversion` is True.
    """
    profile = parse_profile(icc)
    if profile.is_matrix_rgb:
        out = np.empty(rgb.shape, np.float32)
        for rows in row_bands(rgb.shape[0], rgb.shape[1]):
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
        for rows in row_bands(rgb.shape[0], rgb.shape[1]):
            out[rows] = matrix_from_srgb(rgb[rows], profile)
        return out
    return _lcms(rgb, _srgb_profile(), ImageCms.ImageCmsProfile(io.BytesIO(icc)))


def is_matrix_profile(icc: bytes) -> bool:
    """True if ``icc`` parses as a matrix/TRC RGB profile (converted exactly, unclipped)."""
    try:
        return parse_profile(icc).is_matrix_rgb
    except ValueError:
        return False


@functools.cache
def _srgb_profile() -> ImageCms.ImageCmsProfile:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


def srgb_icc_bytes() -> bytes:
    """ICC bytes of LittleCMS's built-in sRGB profile (embedded for CMYK sources)."""
    return bytes(_srgb_profile().tobytes())


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
