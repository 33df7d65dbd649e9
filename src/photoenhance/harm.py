"""Harm measures: what an enhancement did to a photo, without a target (numpy, no torch).

``harm_measures(before, after)`` compares a photo with its enhanced version (HWC RGB in
[0, 1], same shape) and returns a frozen :class:`HarmMeasures`:

* **new clipping** — share of pixels whose brightest channel is ≥ 254/255 in ``after`` and
  < 250/255 in ``before`` (highlights the enhancer blew out; pixels already near white do
  not count);
* **crushed shadows** — the same at the dark end: share of pixels whose darkest channel is
  ≤ 1/255 in ``after`` and > 5/255 in ``before``;
* **luma shift** — mean BT.601 luma of ``after`` minus that of ``before``, in 8-bit units
  (+22 = "brightened by 22/255");
* **saturation change** — relative change of the mean chroma (max − min channel):
  ``mean(chroma(after)) / mean(chroma(before)) − 1`` (−0.04 = 4 % less saturated);
* **noise gain** — RMS of the high-pass luma (luma minus its 3×3 box mean) in the flat
  regions of ``before``, after / before. Flat regions: the quarter of the pixels with the
  weakest structure (gradient magnitude of the 5×5-box-smoothed luma, so noise does not
  count as structure), leaving out pixels within 4/255 of black or white (clipped noise is
  no noise). 1.0 = noise unchanged, > 1 amplified, < 1 denoised. ``nan`` when the photo has
  no such region or no measurable noise in it.

``summarise`` aggregates per-photo measures; ``do_no_harm`` is the PSNR/SSIM of an
enhancer's output against its own (already good) input.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from photoenhance.metrics import psnr, ssim

CLIP_HIGH_OUT, CLIP_HIGH_IN = 254, 250  # 8-bit codes
CLIP_LOW_OUT, CLIP_LOW_IN = 1, 5
FLAT_SHARE = 0.25
FLAT_MARGIN = 4 / 255
#: a photo "clips" when more than this share of its pixels is newly clipped (the target)
CLIP_LIMIT = 0.02
_LUMA = np.array([0.299, 0.587, 0.114], np.float32)


@dataclass(frozen=True)
class HarmMeasures:
    """What an enhancement did to one photo (see the module docstring)."""

    new_clipping: float  # share of pixels, 0..1
    crushed_shadows: float  # share of pixels, 0..1
    luma_shift: float  # 8-bit units
    saturation_change: float  # relative, −0.04 = 4 % less
    noise_gain: float  # ratio; nan when not measurable


@dataclass(frozen=True)
class HarmSummary:
    """Means over photos (noise gain: over the photos where it was measurable), the worst
    new clipping and how many photos clip more than :data:`CLIP_LIMIT`."""

    photos: int
    new_clipping: float
    max_new_clipping: float
    photos_over_clip_limit: int
    crushed_shadows: float
    luma_shift: float
    saturation_change: float
    noise_gain: float

    def to_dict(self) -> dict[str, float | int]:
        return {k: (None if isinstance(v, float) and not math.isfinite(v) else v)  # type: ignore[misc]
                for k, v in self.__dict__.items()}


def _check(before: NDArray[np.floating], after: NDArray[np.floating]) -> tuple[np.ndarray, np.ndarray]:
    b = np.asarray(before, dtype=np.float32)
    a = np.asarray(after, dtype=np.float32)
    if b.shape != a.shape or b.ndim != 3 or b.shape[2] != 3:
        raise ValueError(f"need two (H, W, 3) images of one shape, got {b.shape} and {a.shape}")
    return b, a


def _codes(x: np.ndarray) -> np.ndarray:
    return np.rint(np.clip(x, 0.0, 1.0) * 255.0).astype(np.uint8)


def new_clipping(before: NDArray[np.floating], after: NDArray[np.floating]) -> float:
    """Share of pixels newly blown: brightest channel ≥ 254 after and < 250 before."""
    b, a = _check(before, after)
    hit = (_codes(a).max(axis=2) >= CLIP_HIGH_OUT) & (_codes(b).max(axis=2) < CLIP_HIGH_IN)
    return float(hit.mean())


def crushed_shadows(before: NDArray[np.floating], after: NDArray[np.floating]) -> float:
    """Share of pixels newly crushed: darkest channel ≤ 1 after and > 5 before."""
    b, a = _check(before, after)
    hit = (_codes(a).min(axis=2) <= CLIP_LOW_OUT) & (_codes(b).min(axis=2) > CLIP_LOW_IN)
    return float(hit.mean())


def luma(x: np.ndarray) -> np.ndarray:
    """BT.601 luma of an HWC RGB image, float32 ``(H, W)``."""
    return np.clip(x, 0.0, 1.0) @ _LUMA


def luma_shift(before: NDArray[np.floating], after: NDArray[np.floating]) -> float:
    """Mean luma after − before, in 8-bit units."""
    b, a = _check(before, after)
    return float((luma(a).mean(dtype=np.float64) - luma(b).mean(dtype=np.float64)) * 255.0)


def chroma(x: np.ndarray) -> np.ndarray:
    """Per-pixel max − min channel (a saturation measure), ``(H, W)``."""
    x = np.clip(x, 0.0, 1.0)
    return x.max(axis=2) - x.min(axis=2)


def saturation_change(before: NDArray[np.floating], after: NDArray[np.floating]) -> float:
    """``mean chroma(after) / mean chroma(before) − 1``; ``nan`` for a (nearly) grey
    ``before`` (mean chroma below half an 8-bit code), where a ratio means nothing."""
    b, a = _check(before, after)
    cb, ca = float(chroma(b).mean(dtype=np.float64)), float(chroma(a).mean(dtype=np.float64))
    if cb < 0.5 / 255:
        return math.nan
    return ca / cb - 1.0


def box_mean(x: np.ndarray, radius: int) -> np.ndarray:
    """Mean over a ``(2r+1)²`` window (edges replicated), same shape, via cumulative sums."""
    k = 2 * radius + 1
    p = np.pad(x.astype(np.float64), radius, mode="edge")
    c = np.cumsum(p, axis=0)
    c = np.concatenate([np.zeros((1, c.shape[1])), c], axis=0)
    rows = c[k:] - c[:-k]
    c = np.cumsum(rows, axis=1)
    c = np.concatenate([np.zeros((c.shape[0], 1)), c], axis=1)
    return ((c[:, k:] - c[:, :-k]) / (k * k)).astype(np.float32)


def flat_mask(before: NDArray[np.floating]) -> np.ndarray:
    """The flat regions of a photo (see the module docstring): boolean ``(H, W)``."""
    y = luma(np.asarray(before, np.float32))
    if min(y.shape) < 3:
        return np.zeros(y.shape, bool)
    s = box_mean(y, 2)
    gy, gx = np.gradient(s)
    grad = np.hypot(gx, gy)
    ok = (y > FLAT_MARGIN) & (y < 1.0 - FLAT_MARGIN)
    if ok.sum() < 16:
        return np.zeros_like(ok)
    limit = np.quantile(grad[ok], FLAT_SHARE)
    return ok & (grad <= limit)


def high_pass(x: np.ndarray) -> np.ndarray:
    """Luma minus its 3×3 box mean."""
    y = luma(x)
    return y - box_mean(y, 1)


def noise_gain(before: NDArray[np.floating], after: NDArray[np.floating]) -> float:
    """RMS high-pass luma in the flat regions of ``before``: after / before (nan: n/a)."""
    b, a = _check(before, after)
    mask = flat_mask(b)
    if mask.sum() < 16:
        return math.nan
    eb = float(np.sqrt(np.mean(np.square(high_pass(b)[mask], dtype=np.float64))))
    ea = float(np.sqrt(np.mean(np.square(high_pass(a)[mask], dtype=np.float64))))
    if eb < 1e-5:  # below a hundredth of an 8-bit code: nothing to measure
        return math.nan
    return ea / eb


def harm_measures(before: NDArray[np.floating], after: NDArray[np.floating]) -> HarmMeasures:
    """All measures of one photo (see the module docstring)."""
    return HarmMeasures(
        new_clipping=new_clipping(before, after),
        crushed_shadows=crushed_shadows(before, after),
        luma_shift=luma_shift(before, after),
        saturation_change=saturation_change(before, after),
        noise_gain=noise_gain(before, after),
    )


def summarise(measures: Sequence[HarmMeasures]) -> HarmSummary:
    """Aggregate per-photo measures (see :class:`HarmSummary`)."""
    if not measures:
        raise ValueError("no measures to summarise")
    clip = np.array([m.new_clipping for m in measures])
    noise = np.array([m.noise_gain for m in measures])
    noise = noise[np.isfinite(noise)]
    return HarmSummary(
        photos=len(measures),
        new_clipping=float(clip.mean()),
        max_new_clipping=float(clip.max()),
        photos_over_clip_limit=int((clip > CLIP_LIMIT).sum()),
        crushed_shadows=float(np.mean([m.crushed_shadows for m in measures])),
        luma_shift=float(np.mean([m.luma_shift for m in measures])),
        saturation_change=_finite_mean([m.saturation_change for m in measures]),
        noise_gain=float(noise.mean()) if noise.size else math.nan,
    )


def _finite_mean(values: Sequence[float]) -> float:
    v = np.array(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    return float(v.mean()) if v.size else math.nan


def do_no_harm(good: NDArray[np.floating], enhanced: NDArray[np.floating]) -> tuple[float, float]:
    """PSNR (capped at 100 dB) and SSIM of an enhancer's output against its own input —
    for inputs that are already good (DSLR photos), high means "left nearly alone"."""
    return min(psnr(enhanced, good), 100.0), ssim(enhanced, good)
