"""A dependency-free training-curve PNG (Pillow): loss and validation PSNR vs step."""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw


def _polyline(
    draw: ImageDraw.ImageDraw,
    pts: list[tuple[float, float]],
    box: tuple[int, int, int, int],
    xr: tuple[float, float],
    colour: str,
) -> tuple[float, float]:
    if not pts:
        return (0.0, 0.0)
    x0, y0, x1, y1 = box
    ys = [p[1] for p in pts]
    lo, hi = min(ys), max(ys)
    if hi - lo < 1e-9:
        hi = lo + 1.0
    sx = (x1 - x0) / max(xr[1] - xr[0], 1e-9)
    coords = [(x0 + (x - xr[0]) * sx, y1 - (y - lo) / (hi - lo) * (y1 - y0)) for x, y in pts]
    if len(coords) == 1:
        coords = coords * 2
    draw.line(coords, fill=colour, width=2)
    return lo, hi


def plot_curves(
    path: Path,
    loss: list[tuple[float, float]],
    val_psnr: list[tuple[float, float]],
    qat_start: float | None = None,
) -> None:
    """``loss``/``val_psnr``: ``(step, value)`` lists. Writes a 900x420 PNG."""
    w, h = 900, 420
    img = Image.new("RGB", (w, h), "white")
    d = ImageDraw.Draw(img)
    steps = [s for s, _ in loss + val_psnr] or [0.0, 1.0]
    xr = (min(steps), max(max(steps), min(steps) + 1))
    panels = [("training loss", loss, "#1f77b4", (60, 40, 430, 370)),
              ("validation PSNR (dB)", val_psnr, "#d62728", (510, 40, 880, 370))]
    for title, pts, colour, box in panels:
        d.rectangle(box, outline="black")
        lo, hi = _polyline(d, pts, box, xr, colour)
        d.text((box[0], 15), title, fill="black")
        d.text((box[0] - 55, box[1]), f"{hi:.3g}", fill="black")
        d.text((box[0] - 55, box[3] - 10), f"{lo:.3g}", fill="black")
        d.text((box[0], box[3] + 8), f"step {xr[0]:.0f}", fill="black")
        d.text((box[2] - 70, box[3] + 8), f"step {xr[1]:.0f}", fill="black")
        if qat_start is not None and xr[0] <= qat_start <= xr[1]:
            x = box[0] + (qat_start - xr[0]) * (box[2] - box[0]) / (xr[1] - xr[0])
            d.line([(x, box[1]), (x, box[3])], fill="#888888", width=1)
            d.text((x + 3, box[1] + 3), "QAT", fill="#888888")
    img.save(path)
