"""Images of every kind for the API tests, and the photo files ``run`` is given."""

from __future__ import annotations

import importlib.util
import io
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

HERE = Path(__file__).resolve().parent


def _iohelpers():
    """tests/io/_iohelpers (EXIF and ICC builders), whatever sys.path holds."""
    if "_iohelpers" in sys.modules:
        return sys.modules["_iohelpers"]
    spec = importlib.util.spec_from_file_location("_iohelpers", HERE.parent / "io" / "_iohelpers.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["_iohelpers"] = module
    spec.loader.exec_module(module)
    return module


helpers = _iohelpers()
P3_ICC = helpers.matrix_icc(helpers.P3_XYZ, para=helpers.SRGB_PARA)


def pixels(h: int = 48, w: int = 80, seed: int = 0) -> np.ndarray:
    """HxWx3 uint8 smooth photo-like pixels."""
    return helpers.smooth_rgb(h, w, seed, lo=0.05, hi=0.95)


def rgb16(h: int = 48, w: int = 80, seed: int = 3) -> np.ndarray:
    """HxWx3 uint16 pixels that use the low byte too."""
    rng = np.random.default_rng(seed)
    return (pixels(h, w, seed).astype(np.uint16) * 257 + rng.integers(0, 200, (h, w, 3))).astype(np.uint16)


def alpha(h: int = 48, w: int = 80) -> np.ndarray:
    return np.tile(np.linspace(0, 255, w), (h, 1)).round().astype(np.uint8)


def png16_bytes(px: np.ndarray) -> bytes:
    from photoenhance.io.sixteen import png16

    buf = io.BytesIO()
    Image.new("RGB", (1, 1)).save(buf, "PNG")
    return png16(buf.getvalue(), px)


def pil_images() -> dict[str, Image.Image]:
    """Pillow images of every common mode (each is also saved as a file for ``run``)."""
    rgb = Image.fromarray(pixels(), "RGB")
    rgba = rgb.copy()
    rgba.putalpha(Image.fromarray(alpha(), "L"))
    p = rgb.quantize(64)
    ptrans = p.copy()
    ptrans.info["transparency"] = 3
    grey16 = Image.fromarray((pixels()[..., 1].astype(np.uint16) * 257 + 7).astype(np.uint16))
    p3 = rgb.copy()
    p3.info["icc_profile"] = P3_ICC
    return {
        "rgb": rgb,
        "rgba": rgba,
        "l": rgb.convert("L"),
        "la": rgba.convert("LA"),
        "p": p,
        "ptrans": ptrans,
        "bw": rgb.convert("1"),
        "i16": grey16,
        "i": grey16.convert("I"),
        "cmyk": rgb.convert("CMYK"),
        "ycbcr": rgb.convert("YCbCr"),
        "p3": p3,
    }


@dataclass(frozen=True)
class RunOutputs:
    """The photos (``inputs``) and what ``run`` wrote for each (``outputs``), by name."""

    inputs: dict[str, Path]
    outputs: dict[str, Path]


def write_inputs(folder: Path) -> dict[str, Path]:
    folder.mkdir()
    exif = b"Exif\x00\x00" + helpers.exif_bytes(helpers.full_exif_dict(orientation=6))
    rgb = Image.fromarray(pixels(), "RGB")
    files: dict[str, Path] = {}

    def save(name: str, im: Image.Image, **kw: object) -> None:
        files[name] = folder / name
        im.save(files[name], **kw)

    save("photo.jpg", rgb, quality=90, exif=exif, icc_profile=P3_ICC)
    save("grey.jpg", rgb.convert("L"), quality=90)
    save("cmyk.jpg", rgb.convert("CMYK"), quality=90)
    save("photo.webp", rgb, quality=90)
    save("photo.tif", rgb, exif=exif)
    (folder / "rgb16.png").write_bytes(png16_bytes(rgb16()))
    files["rgb16.png"] = folder / "rgb16.png"
    for name, im in pil_images().items():  # lossless: what the PIL and numpy kinds match
        if im.mode in ("CMYK", "YCbCr", "I"):
            save(f"pil-{name}.tif", im, **({"icc_profile": im.info["icc_profile"]} if "icc_profile" in im.info else {}))
        else:
            kw = {"icc_profile": im.info["icc_profile"]} if "icc_profile" in im.info else {}
            if "transparency" in im.info:
                kw["transparency"] = im.info["transparency"]
            save(f"pil-{name}.png", im, **kw)
    if _heif():
        save("photo.heic", rgb, quality=90)
    return files


def _heif() -> bool:
    from photoenhance.io import heif_available

    return heif_available()
