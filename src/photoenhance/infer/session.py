"""onnxruntime inference: model loading, machine-specific optimised-graph cache, tiling.

No torch here. Images are HWC float32 RGB in [0, 1] at this level; tiles go to the
network packed in its space-to-depth NHWC layout (:mod:`photoenhance.infer.layout`).

Tiling: each axis is split into near-equal cores of at most ``tile`` pixels; a tile's input
window is its core plus ``halo`` pixels on each side (multiples of 8, so every window is
aligned with the network's stride-8 grid), clipped at the image border, where whole-image
inference zero-pads too. With ``halo`` at least the network's receptive radius, tiled
output equals whole-image output (bit-exact in INT8). Memory is bounded by the tile size;
bigger tiles waste less on halos (12 MP with 2048 px tiles: ~10 % extra pixels, with
1024 px tiles: ~25 %), onnxruntime's speed per pixel is the same from 512 to 2048 px.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort

from photoenhance.bundled import bundled_file
from photoenhance.display import one_line
from photoenhance.infer.context import band_on_grid, scan_image
from photoenhance.infer.layout import PACKED_CHANNELS, copy_unpacked, pack, unpack
from photoenhance.infer.providers import (
    ORT_PROVIDERS,
    ProviderUnavailableError,
    resolve_provider,
)

DEFAULT_MODEL_NAME = "photoenhance-small-int8.onnx"
DEFAULT_TILE = 2048
#: photos above this many pixels use tiles of at most LARGE_PHOTO_TILE: a 2048 px tile
#: needs ~450 MB of onnxruntime working memory, a 1024 px one ~150 MB, and a 48 MP photo
#: must stay within 1 GB (measured: 1.2 GB with 2048 px tiles, 1.0 GB with 1024 px ones)
LARGE_PHOTO_PIXELS = 24_000_000
LARGE_PHOTO_TILE = 1024
MIN_HALO = 64
#: the ONNX I/O contract this version reads (see photoenhance.quant.export)
MODEL_FORMAT = "2"


class ModelLoadError(RuntimeError):
    """The model file is missing or is not a photoenhance ONNX model."""


@dataclass(frozen=True)
class ModelInfo:
    """What the ONNX metadata says about a model."""

    path: Path
    model_size: str
    precision: str
    version: str
    macs_per_mp: float
    multiple: int
    context_size: int
    halo: int
    params: int


@dataclass(frozen=True)
class InferenceConfig:
    """How to run the network. ``model=None`` uses the bundled INT8 model."""

    model: Path | None = None
    tile: int = DEFAULT_TILE
    halo: int | None = None  # None: the model's receptive radius (from its metadata)
    threads: int | None = None  # None: onnxruntime's default (all physical cores)
    cache_dir: Path | None = None  # None: no optimised-graph cache
    optimize: bool = True
    #: ``cpu``, ``cuda``, ``tensorrt`` or ``auto`` (see :mod:`photoenhance.infer.providers`)
    provider: str = "cpu"


def bundled_model_path() -> Path:
    """The bundled INT8 model (``photoenhance/weights`` in a wheel, else the repository's
    ``weights/``: see :mod:`photoenhance.bundled`)."""
    path = bundled_file(DEFAULT_MODEL_NAME)
    if not path.is_file():
        raise ModelLoadError(f"bundled model missing: {path} (broken installation?)")
    return path


def read_model_info(path: Path) -> ModelInfo:
    """Read the photoenhance metadata of an ONNX model without building a session."""
    _check_model_path(path)
    try:
        so = ort.SessionOptions()
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
        sess = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises several exception types
        raise ModelLoadError(f"{path}: not a loadable ONNX model ({one_line(exc, 200) or type(exc).__name__})") from exc
    return _info_from_session(path, sess)



def _check_model_path(path: Path) -> None:
    """A clear :class:`ModelLoadError` for a missing model, a folder or a special file."""
    if path.is_dir():
        raise ModelLoadError(f"{path}: is a directory, not an ONNX model file")
    if not path.exists():
        raise ModelLoadError(f"{path}: model file not found")
    if not path.is_file():
        raise ModelLoadError(f"{path}: is not a regular file")


def _shape_problem(arg: ort.NodeArg, expected: tuple[int | None, ...]) -> str | None:
    """Why ``arg``'s declared type/shape cannot be ``expected`` (None: any size), or None."""
    if arg.type != "tensor(float)":
        return f"{arg.name!r} is {arg.type}, expected tensor(float)"
    shape = arg.shape
    fixed = [d if isinstance(d, int) else None for d in shape]
    if len(shape) != len(expected) or any(
        e is not None and f is not None and e != f for f, e in zip(fixed, expected, strict=True)
    ):
        want = ", ".join("?" if e is None else str(e) for e in expected)
        return f"{arg.name!r} has shape {list(shape)}, expected ({want})"
    return None


def _meta_int(meta: dict[str, str], key: str, default: str, *, minimum: int) -> int:
    raw = meta.get(key, default)
    try:
        value = int(raw)
    except ValueError:
        value = None
    if value is None or value < minimum:
        raise ValueError(f"{key} must be an integer >= {minimum}, got {raw!r}")
    return value


def _meta_json(meta: dict[str, str], key: str) -> dict[str, Any]:
    try:
        value = json.loads(meta.get(key, "{}"))
    except ValueError as exc:
        raise ValueError(f"{key} is not valid JSON ({one_line(exc, 200) or type(exc).__name__})") from exc
    if not isinstance(value, dict):
        raise ValueError(f"{key} must be a JSON object, got {type(value).__name__}")
    return value


def _info_from_session(path: Path, sess: ort.InferenceSession) -> ModelInfo:
    """The model's :class:`ModelInfo`, after checking its metadata and declared I/O.

    Raises:
        ModelLoadError: one line naming ``path``: not a photoenhance model, another
            format, unusable metadata, or inputs/outputs of the wrong name, type or shape.
    """
    meta = sess.get_modelmeta().custom_metadata_map
    if "photoenhance.format" not in meta:
        raise ModelLoadError(f"{path}: not a photoenhance model (no photoenhance metadata)")
    if meta["photoenhance.format"] != MODEL_FORMAT:
        raise ModelLoadError(
            f"{path}: model format {meta['photoenhance.format']} is not supported (this "
            f"version reads format {MODEL_FORMAT}); train it again with this version "
            "(`photoenhance train`)"
        )
    names = [i.name for i in sess.get_inputs()]
    if names != ["image", "thumb"]:
        raise ModelLoadError(f"{path}: unexpected inputs {names}, expected ['image', 'thumb']")
    try:
        ctx = _meta_json(meta, "photoenhance.context")
        config = _meta_json(meta, "photoenhance.config")
        multiple = _meta_int(meta, "photoenhance.multiple", "8", minimum=2)
        if multiple % 2:
            raise ValueError(f"photoenhance.multiple must be even, got {multiple}")
        context_size = int(ctx.get("size", 64))
        if context_size < 1:
            raise ValueError(f"photoenhance.context size must be positive, got {context_size}")
        info = ModelInfo(
            path=path,
            model_size=str(meta.get("photoenhance.model_size", config.get("name", "?"))),
            precision=meta.get("photoenhance.precision", "?"),
            version=meta.get("photoenhance.version", "?"),
            macs_per_mp=float(meta.get("photoenhance.macs_per_mp", "nan")),
            multiple=multiple,
            context_size=context_size,
            halo=_meta_int(meta, "photoenhance.halo", str(MIN_HALO), minimum=0),
            params=_meta_int(meta, "photoenhance.params", "0", minimum=0),
        )
    except (ValueError, TypeError) as exc:
        raise ModelLoadError(f"{path}: bad photoenhance metadata: {one_line(exc, 200) or type(exc).__name__}") from exc
    image, thumb = sess.get_inputs()
    outputs = sess.get_outputs()
    problems = [
        _shape_problem(image, (None, None, None, PACKED_CHANNELS)),
        _shape_problem(thumb, (None, 3, info.context_size, info.context_size)),
        _shape_problem(outputs[0], (None, None, None, PACKED_CHANNELS)) if outputs else "no output",
    ]
    problem = next((p for p in problems if p is not None), None)
    if problem is not None:
        raise ModelLoadError(
            f"{path}: not a photoenhance image model: {problem} "
            f"(inputs: image (N, H/2, W/2, {PACKED_CHANNELS}), thumb (N, 3, S, S))"
        )
    return info


def _machine_key() -> str:
    """Identifies what an optimised graph is tied to: onnxruntime build and CPU."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            flags = next((ln for ln in f if ln.startswith("flags")), "")
    except OSError:
        flags = ""
    raw = f"{ort.__version__}|{platform.system()}|{platform.machine()}|{cpu}|{flags}"
    return hashlib.sha256(raw.encode()).hexdigest()[:12]


def _sha256_hex(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def file_sha256(path: Path) -> str | None:
    """SHA-256 (hex) of the file at ``path`` - the model, for the report - or None if it
    cannot be read."""
    try:
        return _sha256_hex(path)
    except OSError:
        return None


def _session_options(config: InferenceConfig) -> ort.SessionOptions:
    so = ort.SessionOptions()
    if config.threads:
        so.intra_op_num_threads = config.threads
    so.inter_op_num_threads = 1
    so.log_severity_level = 3
    return so


def create_session(model: Path, config: InferenceConfig) -> tuple[ort.InferenceSession, bool]:
    """Build the onnxruntime session; returns ``(session, used_cache)``.

    With a ``cache_dir``, the graph optimised for *this* machine is saved there on first
    use and loaded (without re-optimising) afterwards; the cache key covers the model
    bytes, the onnxruntime version, the CPU and the execution provider (an optimised
    graph may hold provider-specific fused nodes), so a stale entry is never used.

    Raises:
        ProviderUnavailableError: ``config.provider`` is not in this onnxruntime build.
    """
    so = _session_options(config)
    provider = resolve_provider(config.provider)
    providers = list(ORT_PROVIDERS[provider])
    if not config.optimize:
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
        return ort.InferenceSession(str(model), so, providers=providers), False
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    if config.cache_dir is None:
        return ort.InferenceSession(str(model), so, providers=providers), False
    key = f"{_sha256_hex(model)[:16]}-{_machine_key()}"
    if provider != "cpu":  # CPU entries keep their old names
        key += f"-{provider}"
    cached = Path(config.cache_dir) / f"{key}.ort.onnx"
    if cached.is_file():
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
        try:
            return ort.InferenceSession(str(cached), so, providers=providers), True
        except Exception:  # corrupt cache entry: rebuild it below
            cached.unlink(missing_ok=True)
            so = _session_options(config)
            so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        tmp = cached.with_name(f".{cached.name}.{os.getpid()}.tmp")
        so.optimized_model_filepath = str(tmp)
        sess = ort.InferenceSession(str(model), so, providers=providers)
        if tmp.is_file():
            os.replace(tmp, cached)
        return sess, False
    except OSError:  # read-only cache: run without it
        so = _session_options(config)
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        return ort.InferenceSession(str(model), so, providers=providers), False


def on_8bit_grid(rgb: np.ndarray, band: int = 128) -> bool:
    """True when every value is ``k / 255`` for an integer ``k`` in 0..255 (an 8-bit photo
    decoded without colour conversion): then the network's rounding changes nothing.
    Checked in row bands with two reused band buffers. (:meth:`Enhancer.enhance` gets
    this from :func:`~photoenhance.infer.context.scan_image`, in the thumbnail's pass.)"""
    h = rgb.shape[0]
    if h == 0:
        return True
    scaled = np.empty((min(band, h), *rgb.shape[1:]), np.float32)
    rounded = np.empty_like(scaled)
    for r in range(0, h, band):
        chunk = rgb[r : r + band]
        if not band_on_grid(chunk, scaled[: len(chunk)], rounded[: len(chunk)]):
            return False
    return True


def _round_up(v: int, m: int) -> int:
    return -(-v // m) * m


@dataclass(frozen=True)
class _Stripe:
    """Original pixels of image region ``[y, y+h) x [x, x+w)`` saved before overwriting."""

    y: int
    x: int
    pixels: np.ndarray


def _extend_stripe(
    stripe: _Stripe | None, rgb: np.ndarray, cy: int, ch: int, need: int, cx: int, cw: int
) -> _Stripe:
    """Original columns ``[need, cx + cw)`` of band rows ``[cy, cy + ch)``, before core
    ``[cx, cx + cw)`` is overwritten: the kept part of the previous stripe (which ends at
    ``cx``) plus the core's own columns from ``need`` on."""
    parts = []
    start = max(need, cx)
    if stripe is not None and stripe.x + stripe.pixels.shape[1] > need:
        parts.append(stripe.pixels[:, max(0, need - stripe.x) :])
        start = max(need, stripe.x)
    parts.append(rgb[cy : cy + ch, max(need, cx) : cx + cw].copy())
    return _Stripe(cy, start, np.concatenate(parts, axis=1) if len(parts) > 1 else parts[0])


@dataclass(frozen=True)
class TilePlan:
    """One tile: the input window ``[wy, wy+wh) x [wx, wx+ww)`` and the output core
    ``[cy, cy+ch) x [cx, cx+cw)`` it is responsible for (image coordinates)."""

    wy: int
    wx: int
    wh: int
    ww: int
    cy: int
    cx: int
    ch: int
    cw: int


def plan_tiles(height: int, width: int, tile: int, halo: int, multiple: int = 8) -> list[TilePlan]:
    """Tiles covering a ``height x width`` image (both multiples of ``multiple``).

    Each axis is split into ``ceil(n / tile)`` near-equal cores (multiples of 8); a window
    is its core plus ``halo`` on each side, clipped at the image border (where whole-image
    inference zero-pads too, so no halo is needed there). An axis no longer than
    ``tile + 2 * halo`` is not split.
    """
    tile = _round_up(max(tile, multiple), multiple)
    halo = _round_up(max(halo, 0), multiple)

    def axis(n: int) -> list[tuple[int, int, int, int]]:
        if n <= tile + 2 * halo:
            return [(0, n, 0, n)]
        core = _round_up(-(-n // -(-n // tile)), multiple)
        out = []
        for c0 in range(0, n, core):
            c1 = min(c0 + core, n)
            w0, w1 = max(c0 - halo, 0), min(c1 + halo, n)
            out.append((w0, w1 - w0, c0, c1 - c0))
        return out

    return [
        TilePlan(wy, wx, wh, ww, cy, cx, ch, cw)
        for (wy, wh, cy, ch) in axis(height)
        for (wx, ww, cx, cw) in axis(width)
    ]


@dataclass
class Enhancer:
    """A loaded model ready to enhance images (HWC float32 RGB in [0, 1])."""

    config: InferenceConfig = field(default_factory=InferenceConfig)

    def __post_init__(self) -> None:
        path = Path(self.config.model) if self.config.model else bundled_model_path()
        _check_model_path(path)
        try:
            self.session, self.used_cache = create_session(path, self.config)
        except ProviderUnavailableError:
            raise
        except Exception as exc:
            raise ModelLoadError(f"{path}: cannot load model ({one_line(exc, 200) or type(exc).__name__})") from exc
        wanted = resolve_provider(self.config.provider)
        if self.config.provider != "auto" and self.provider != ORT_PROVIDERS[wanted][0]:
            # onnxruntime falls back to the CPU (with a log line) when CUDA/TensorRT fail
            raise ProviderUnavailableError(
                f"--provider {wanted}: onnxruntime could not start "
                f"{ORT_PROVIDERS[wanted][0]} here (no GPU, or its libraries are missing); "
                f"running on {self.provider}"
            )
        self.info = _info_from_session(path, self.session)
        self.halo = self.config.halo if self.config.halo is not None else self.info.halo
        self._smoke_test(path)

    def _smoke_test(self, path: Path) -> None:
        """Run one small tile at load time, so a model that cannot enhance fails here
        (one :class:`ModelLoadError`), not on every photo of a batch."""
        side = 2 * self.info.multiple
        tile = np.zeros((1, side // 2, side // 2, PACKED_CHANNELS), np.float32)
        size = self.info.context_size
        thumb = np.zeros((1, 3, size, size), np.float32)
        try:
            y = self.run_tile(tile, thumb)
        except Exception as exc:  # onnxruntime raises several exception types
            raise ModelLoadError(
                f"{path}: the model fails on a test tile ({one_line(exc, 200) or type(exc).__name__})"
            ) from exc
        if not isinstance(y, np.ndarray) or y.shape != tile.shape or y.dtype != np.float32:
            got = getattr(y, "shape", type(y).__name__)
            raise ModelLoadError(
                f"{path}: the model returns {got} for a {tile.shape} tile; expected the same shape"
            )

    @property
    def provider(self) -> str:
        return self.session.get_providers()[0]

    def run_tile(self, tile: np.ndarray, thumb: np.ndarray, *, last: bool = False) -> np.ndarray:
        """``tile: (1, h/2, w/2, 12)`` = :func:`~photoenhance.infer.layout.pack` of an
        ``(h, w, 3)`` window (multiples of 8), ``thumb: (1, 3, 64, 64)`` → same layout.

        ``last=True`` (the last tile of a photo) shrinks onnxruntime's memory arena after
        the run, so the tiles' working memory is not held while the photo is encoded."""
        opts = None
        if last:
            opts = ort.RunOptions()
            opts.add_run_config_entry("memory.enable_memory_arena_shrinkage", "cpu:0")
        return self.session.run(None, {"image": tile, "thumb": thumb}, opts)[0]

    def enhance(
        self,
        rgb: np.ndarray,
        *,
        strength: float = 1.0,
        out: np.ndarray | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> np.ndarray:
        """Enhance ``rgb`` ``(H, W, 3)`` float32, sRGB in [0, 1] (extended range allowed).

        The network sees ``x8 = clip(round(255 x) / 255, 0, 1)``; its change is applied to
        the full-precision input: ``y = x + strength * (net(x8) - x8)``. So 16-bit inputs
        keep their precision, ``strength`` blends with the original, and extended-range
        input (a wide-gamut photo converted to sRGB: values may lie outside [0, 1]) keeps
        its out-of-gamut colours — the output is *not* clipped here; the encoder clips
        after converting back to the photo's own profile.
        ``out`` may be ``rgb`` itself: tiles are then written back in place, keeping
        only halo-sized stripes of original pixels (bounded memory for huge photos).
        """
        if rgb.ndim != 3 or rgb.shape[2] != 3:
            raise ValueError(f"expected an (H, W, 3) image, got shape {rgb.shape}")
        if not 0.0 <= strength <= 1.0:
            raise ValueError("strength must be within 0..1")
        h, w = rgb.shape[:2]
        thumb, exact8 = scan_image(rgb, self.info.context_size)
        if out is None:
            out = np.empty_like(rgb, dtype=np.float32)
        m = self.info.multiple
        tile = self.config.tile
        if h * w > LARGE_PHOTO_PIXELS:  # bound onnxruntime's working memory for huge photos
            tile = min(tile, LARGE_PHOTO_TILE)
        plans = plan_tiles(_round_up(h, m), _round_up(w, m), tile, self.halo, m)
        bands: dict[int, list[TilePlan]] = {}
        for p in plans:
            bands.setdefault(p.cy, []).append(p)
        band_starts = sorted(bands)
        in_place = out is rgb
        # in-place writing overwrites originals that later windows still read: rows needed
        # by later bands are saved (full width) before a band is written, and the last
        # `halo` columns of a core are saved (band rows) before it is written, for the next
        # tile of the band. No full-band buffer: extra memory is a few halo stripes.
        saved: dict[int, np.ndarray] = {}
        done = 0
        for b, cy in enumerate(band_starts):
            ch = min(bands[cy][0].ch, h - cy)
            if ch <= 0:
                continue
            if in_place:
                still_read = min(q.wy for c in band_starts[b:] for q in bands[c])
                for r in [r for r in saved if r < still_read]:
                    del saved[r]
                later = [q.wy for c in band_starts[b + 1 :] for q in bands[c]]
                for r in range(max(min(later, default=h), cy), cy + ch):
                    saved[r] = rgb[r].copy()
            stripe: _Stripe | None = None
            tiles = bands[cy]
            for j, p in enumerate(tiles):
                cw = min(p.cw, w - p.cx)
                if cw > 0:
                    window = self._window(rgb, saved, p, h, w, stripe)
                    if in_place and j + 1 < len(tiles):
                        stripe = _extend_stripe(stripe, rgb, cy, ch, tiles[j + 1].wx, p.cx, cw)
                    self._tile(
                        window, p, out[cy : cy + ch, p.cx : p.cx + cw], thumb, strength, exact8,
                        last=p is plans[-1],
                    )
                done += 1
                if progress is not None:
                    progress(done, len(plans))
        return out

    def _tile(
        self,
        window: np.ndarray,
        p: TilePlan,
        dest: np.ndarray,
        thumb: np.ndarray,
        strength: float,
        exact8: bool,
        *,
        last: bool = False,
    ) -> None:
        """Run one window and write its output core into ``dest`` ``(ch, cw, 3)``.

        The window goes to the network as it is: the graph's input QuantizeLinear
        (scale 1/255, uint8) *is* the rounding and clipping to ``x8``. ``x8`` is only
        computed here (on the core) when the image is not already on the 8-bit grid.
        ``window`` is fully packed before ``dest`` is written, so ``dest`` may overlap it.
        """
        ch, cw = dest.shape[:2]
        y = self.run_tile(pack(window), thumb, last=last)
        oy, ox = p.cy - p.wy, p.cx - p.wx
        if exact8 and strength == 1.0 and ch % 2 == 0 and cw % 2 == 0:
            copy_unpacked(y, oy, ox, dest)  # the common case: one pass, no temporaries
            return
        core = unpack(y)[oy : oy + ch, ox : ox + cw]
        x_core = window[oy : oy + ch, ox : ox + cw]
        if exact8:  # x == x8: y = x + s (net - x)
            dest[...] = core if strength == 1.0 else x_core + strength * (core - x_core)
            return
        x8 = np.clip(np.rint(x_core * 255.0) / 255.0, 0.0, 1.0)
        dest[...] = x_core + strength * (core - x8)

    @staticmethod
    def _window(
        rgb: np.ndarray,
        saved: dict[int, np.ndarray],
        p: TilePlan,
        h: int,
        w: int,
        stripe: _Stripe | None = None,
    ) -> np.ndarray:
        """The window's original pixels, edge-replicated beyond the image (to the multiple
        of 8); rows from ``saved`` and columns from ``stripe`` where those were overwritten.
        A view of ``rgb`` when nothing needs patching, else a new array (built with slices:
        one copy of the window plus the patched rows)."""
        y0, y1 = p.wy, min(p.wy + p.wh, h)
        x0, x1 = p.wx, min(p.wx + p.ww, w)
        rows = sorted(r for r in saved if y0 <= r < y1)
        patch = None
        if stripe is not None:
            r0, r1 = max(stripe.y, y0), min(stripe.y + stripe.pixels.shape[0], y1)
            c0, c1 = max(stripe.x, x0), min(stripe.x + stripe.pixels.shape[1], x1)
            if r0 < r1 and c0 < c1:
                patch = (r0, r1, c0, c1)
        inside = y1 - y0 == p.wh and x1 - x0 == p.ww
        if inside and not rows and patch is None:
            return rgb[y0:y1, x0:x1]
        win = np.empty((p.wh, p.ww, 3), np.float32)
        win[: y1 - y0, : x1 - x0] = rgb[y0:y1, x0:x1]
        for r in rows:  # saved rows and stripe pixels are both originals: order is free
            win[r - y0, : x1 - x0] = saved[r][x0:x1]
        if patch is not None and stripe is not None:
            r0, r1, c0, c1 = patch
            win[r0 - y0 : r1 - y0, c0 - x0 : c1 - x0] = stripe.pixels[
                r0 - stripe.y : r1 - stripe.y, c0 - stripe.x : c1 - stripe.x
            ]
        if y1 - y0 < p.wh:  # replicate the last row / column (the network's padding)
            win[y1 - y0 :, : x1 - x0] = win[y1 - y0 - 1, : x1 - x0]
        if x1 - x0 < p.ww:
            win[:, x1 - x0 :] = win[:, x1 - x0 - 1 : x1 - x0]
        return win
