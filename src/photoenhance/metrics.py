"""Full-reference image quality metrics (numpy only, no torch, no scipy).

All functions take two images of identical shape, ``(H, W, C)`` or ``(H, W)``, with values
nominally in ``[0, data_range]`` (the project convention is float32 RGB in ``[0, 1]``, so
``data_range=1.0``). Computation happens in float64; the result is a Python ``float``.

Conventions follow the DPED / PIRM evaluations and :mod:`skimage.metrics`:

- :func:`psnr` is computed on all channels jointly (one MSE over every pixel and channel).
- :func:`ssim` uses an 11x11 Gaussian window (sigma 1.5, truncated at 3.5 sigma), ``K1=0.01``,
  ``K2=0.03``, population (not sample) covariance, computed per channel and averaged. The SSIM
  map is averaged over the valid region only (``(win - 1) // 2 = 5`` pixels cropped from every
  border), which makes it numerically equal to
  ``skimage.metrics.structural_similarity(pred, target, gaussian_weights=True, sigma=1.5,
  use_sample_covariance=False, data_range=1, channel_axis=-1)``.
- :func:`psnr_y` is PSNR on BT.601 luma.
- :func:`ms_ssim` is the 5-scale MS-SSIM of Wang, Simoncelli & Bovik (2003).
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "MS_SSIM_WEIGHTS",
    "SSIM_K1",
    "SSIM_K2",
    "SSIM_SIGMA",
    "SSIM_WIN_SIZE",
    "gaussian_kernel1d",
    "ms_ssim",
    "psnr",
    "psnr_y",
    "rgb_to_luma",
    "ssim",
    "ssim_map",
]

SSIM_SIGMA: float = 1.5
"""Standard deviation of the SSIM Gaussian window."""
SSIM_TRUNCATE: float = 3.5
"""Window truncation in standard deviations (skimage's value)."""
SSIM_RADIUS: int = int(SSIM_TRUNCATE * SSIM_SIGMA + 0.5)
"""Window radius in pixels: 5."""
SSIM_WIN_SIZE: int = 2 * SSIM_RADIUS + 1
"""Window side in pixels: 11."""
SSIM_K1: float = 0.01
SSIM_K2: float = 0.03
MS_SSIM_WEIGHTS: tuple[float, ...] = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)
"""Per-scale exponents of MS-SSIM (Wang et al. 2003), finest scale first."""

_BT601_FULL = np.array([0.299, 0.587, 0.114])
# MATLAB rgb2ycbcr / ITU-R BT.601 studio swing: Y in [16, 235] / 255 for RGB in [0, 1].
_BT601_STUDIO = np.array([65.481, 128.553, 24.966]) / 255.0
_BT601_STUDIO_OFFSET = 16.0 / 255.0


def _as_pair(pred: ArrayLike, target: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Validate and convert a pair of images to float64 arrays of equal shape."""
    a = np.asarray(pred, dtype=np.float64)
    b = np.asarray(target, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"images must have the same shape, got {a.shape} and {b.shape}")
    if a.ndim not in (2, 3):
        raise ValueError(f"expected an (H, W) or (H, W, C) image, got shape {a.shape}")
    if a.size == 0:
        raise ValueError("images are empty")
    return a, b


def _check_range(data_range: float) -> None:
    if not data_range > 0:
        raise ValueError(f"data_range must be positive, got {data_range}")


def psnr(pred: ArrayLike, target: ArrayLike, data_range: float = 1.0) -> float:
    r"""Peak signal-to-noise ratio in dB over all pixels and channels.

    .. math::
        \mathrm{PSNR} = 10 \log_{10} \frac{R^2}{\mathrm{mean}((x - y)^2)}

    Args:
        pred: image of shape :math:`(H, W, C)` or :math:`(H, W)`, values in ``[0, data_range]``.
        target: reference image, same shape as ``pred``.
        data_range: peak value ``R`` (``1.0`` for the project's float images, ``255`` for uint8).

    Returns:
        PSNR in dB; ``inf`` when the images are identical.

    Example:
        >>> x = np.zeros((4, 4, 3), np.float32)
        >>> round(psnr(x, x + 0.1), 6)
        20.0
    """
    _check_range(data_range)
    a, b = _as_pair(pred, target)
    mse = float(np.mean(np.square(a - b)))
    if mse == 0.0:
        return math.inf
    return 10.0 * math.log10(data_range * data_range / mse)


def rgb_to_luma(image: ArrayLike, studio_swing: bool = False) -> NDArray[np.float64]:
    r"""BT.601 luma of an RGB image.

    Args:
        image: RGB image of shape :math:`(H, W, 3)`, values in ``[0, 1]``.
        studio_swing: ``False`` gives full-range :math:`Y = 0.299R + 0.587G + 0.114B` in
            ``[0, 1]``. ``True`` gives the MATLAB ``rgb2ycbcr`` / studio-swing convention
            :math:`Y = (16 + 65.481R + 128.553G + 24.966B) / 255` in ``[16/255, 235/255]``,
            which is what super-resolution papers mean by "PSNR on Y".

    Returns:
        luma of shape :math:`(H, W)`, float64.
    """
    x = np.asarray(image, dtype=np.float64)
    if x.ndim != 3 or x.shape[-1] != 3:
        raise ValueError(f"expected an (H, W, 3) RGB image, got shape {x.shape}")
    if studio_swing:
        return x @ _BT601_STUDIO + _BT601_STUDIO_OFFSET
    return x @ _BT601_FULL


def psnr_y(
    pred: ArrayLike, target: ArrayLike, data_range: float = 1.0, studio_swing: bool = False
) -> float:
    """PSNR in dB on BT.601 luma (see :func:`rgb_to_luma`).

    Args:
        pred: RGB image of shape :math:`(H, W, 3)`, values in ``[0, data_range]``.
        target: reference RGB image, same shape.
        data_range: peak value of the RGB inputs.
        studio_swing: use the MATLAB ``rgb2ycbcr`` luma (lower by ``20*log10(255/219)`` = 1.32 dB
            than full range for the same error), for comparison with super-resolution papers.

    Returns:
        PSNR of the luma channels in dB, relative to peak ``data_range``; ``inf`` if identical.
    """
    _check_range(data_range)
    a, b = _as_pair(pred, target)
    # Luma is linear, so the offset cancels and scaling by data_range commutes with it.
    ya = rgb_to_luma(a / data_range, studio_swing)
    yb = rgb_to_luma(b / data_range, studio_swing)
    return psnr(ya, yb, data_range=1.0)


def gaussian_kernel1d(
    sigma: float = SSIM_SIGMA, truncate: float = SSIM_TRUNCATE
) -> NDArray[np.float64]:
    """Normalised 1-D Gaussian kernel, as :func:`scipy.ndimage.gaussian_filter` builds it.

    Args:
        sigma: standard deviation in pixels, > 0.
        truncate: radius in standard deviations; the radius is ``int(truncate * sigma + 0.5)``.

    Returns:
        kernel of shape :math:`(2r + 1,)` summing to 1 (``(11,)`` for the SSIM defaults).
    """
    if not sigma > 0:
        raise ValueError(f"sigma must be positive, got {sigma}")
    radius = int(truncate * sigma + 0.5)
    x = np.arange(-radius, radius + 1, dtype=np.float64)
    k = np.exp(-0.5 * (x / sigma) ** 2)
    return k / k.sum()


def _filter_valid(x: NDArray[np.float64], kernel: NDArray[np.float64]) -> NDArray[np.float64]:
    """Separable 'valid' correlation over the first two axes.

    Args:
        x: array of shape :math:`(H, W, ...)`.
        kernel: symmetric 1-D kernel of odd length :math:`k`.

    Returns:
        array of shape :math:`(H - k + 1, W - k + 1, ...)`; equals a same-size filter with any
        border mode, cropped by ``(k - 1) // 2`` on every side.
    """
    k = kernel.shape[0]
    h, w = x.shape[0] - k + 1, x.shape[1] - k + 1
    rows = kernel[0] * x[0:h]
    for i in range(1, k):
        rows += kernel[i] * x[i : i + h]
    out = kernel[0] * rows[:, 0:w]
    for i in range(1, k):
        out += kernel[i] * rows[:, i : i + w]
    return out


def _ssim_components(
    a: NDArray[np.float64], b: NDArray[np.float64], data_range: float
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Luminance and contrast-structure maps over the valid region, shape (H-10, W-10, ...)."""
    if a.shape[0] < SSIM_WIN_SIZE or a.shape[1] < SSIM_WIN_SIZE:
        raise ValueError(
            f"SSIM needs images of at least {SSIM_WIN_SIZE}x{SSIM_WIN_SIZE} pixels, "
            f"got {a.shape[0]}x{a.shape[1]}"
        )
    kernel = gaussian_kernel1d()
    c1 = (SSIM_K1 * data_range) ** 2
    c2 = (SSIM_K2 * data_range) ** 2
    ux = _filter_valid(a, kernel)
    uy = _filter_valid(b, kernel)
    vx = _filter_valid(a * a, kernel) - ux * ux
    vy = _filter_valid(b * b, kernel) - uy * uy
    vxy = _filter_valid(a * b, kernel) - ux * uy
    luminance = (2.0 * ux * uy + c1) / (ux * ux + uy * uy + c1)
    contrast_structure = (2.0 * vxy + c2) / (vx + vy + c2)
    return luminance, contrast_structure


def ssim_map(pred: ArrayLike, target: ArrayLike, data_range: float = 1.0) -> NDArray[np.float64]:
    """Local SSIM over the valid region (borders of ``(win - 1) // 2 = 5`` px removed).

    Args:
        pred: image of shape :math:`(H, W, C)` or :math:`(H, W)`, ``H, W >= 11``.
        target: reference image, same shape.
        data_range: peak value (``1.0`` for float images in ``[0, 1]``).

    Returns:
        SSIM map of shape :math:`(H - 10, W - 10, C)` or :math:`(H - 10, W - 10)`, values in
        ``[-1, 1]``, float64.
    """
    _check_range(data_range)
    a, b = _as_pair(pred, target)
    luminance, contrast_structure = _ssim_components(a, b, data_range)
    return luminance * contrast_structure


def ssim(pred: ArrayLike, target: ArrayLike, data_range: float = 1.0) -> float:
    """Mean structural similarity (Wang et al. 2004), per channel then averaged.

    Matches ``skimage.metrics.structural_similarity(pred, target, gaussian_weights=True,
    sigma=1.5, use_sample_covariance=False, data_range=data_range, channel_axis=-1)`` (up to
    float rounding; skimage computes float32 inputs in float32, this computes in float64).

    Args:
        pred: image of shape :math:`(H, W, C)` or :math:`(H, W)`, ``H, W >= 11``, values in
            ``[0, data_range]``.
        target: reference image, same shape.
        data_range: peak value (``1.0`` for float images in ``[0, 1]``).

    Returns:
        SSIM in ``[-1, 1]``; ``1.0`` for identical images. Symmetric in its arguments.
    """
    smap = ssim_map(pred, target, data_range)
    # Mean per channel then over channels == mean over everything (equal-sized channels).
    return float(np.mean(smap))


def _downsample2(x: NDArray[np.float64]) -> NDArray[np.float64]:
    """2x2 average pooling over the first two axes (odd trailing row/column dropped)."""
    h, w = x.shape[0] // 2 * 2, x.shape[1] // 2 * 2
    x = x[:h, :w]
    return 0.25 * (x[0::2, 0::2] + x[1::2, 0::2] + x[0::2, 1::2] + x[1::2, 1::2])


def ms_ssim(
    pred: ArrayLike,
    target: ArrayLike,
    data_range: float = 1.0,
    weights: tuple[float, ...] = MS_SSIM_WEIGHTS,
) -> float:
    r"""Multi-scale SSIM (Wang, Simoncelli & Bovik 2003).

    .. math::
        \mathrm{MS\text{-}SSIM} = \mathrm{SSIM}_M^{w_M} \prod_{j=1}^{M-1} \overline{cs}_j^{w_j}

    with the same window and constants as :func:`ssim`, 2x2 average pooling between scales,
    each scale's term averaged over its valid region (the coarsest scale contributes its mean
    SSIM, as in the authors' MATLAB code). Computed per channel and averaged.
    Negative contrast-structure means (anti-correlated images) are clipped to 0 before the
    fractional power, as in ``pytorch_msssim``.

    Args:
        pred: image of shape :math:`(H, W, C)` or :math:`(H, W)`, with
            ``min(H, W) >= 11 * 2 ** (M - 1)`` (176 px for the default 5 scales).
        target: reference image, same shape.
        data_range: peak value.
        weights: per-scale exponents, finest scale first; their count ``M`` is the scale count.

    Returns:
        MS-SSIM in ``[0, 1]``; ``1.0`` for identical images.
    """
    _check_range(data_range)
    a, b = _as_pair(pred, target)
    if len(weights) < 1:
        raise ValueError("weights must not be empty")
    min_side = SSIM_WIN_SIZE * 2 ** (len(weights) - 1)
    if min(a.shape[0], a.shape[1]) < min_side:
        raise ValueError(
            f"MS-SSIM with {len(weights)} scales needs images of at least "
            f"{min_side}x{min_side} pixels, got {a.shape[0]}x{a.shape[1]}"
        )
    channel_shape = a.shape[2:]
    result = np.ones(channel_shape, dtype=np.float64)
    last = len(weights) - 1
    for j, weight in enumerate(weights):
        luminance, contrast_structure = _ssim_components(a, b, data_range)
        if j < last:
            cs = np.maximum(contrast_structure.mean(axis=(0, 1)), 0.0)
            result = result * cs**weight
            a, b = _downsample2(a), _downsample2(b)
        else:
            full = np.maximum((luminance * contrast_structure).mean(axis=(0, 1)), 0.0)
            result = result * full**weight
    return float(np.mean(result))
