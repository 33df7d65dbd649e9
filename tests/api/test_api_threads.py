"""What the API says about threads, tested: one :class:`photoenhance.Enhancer` may be
called from many threads at once, with the results of one call at a time; the default
model of ``photoenhance.enhance`` is loaded once, even by threads starting together."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from _apihelpers import pixels
from PIL import Image

import photoenhance
from photoenhance.api import functions

THREADS = 4


def _images() -> list:
    """Different sizes (one tiled: tile 64) and kinds."""
    arrays = [pixels(40 + 8 * i, 56 + 16 * i, seed=i) for i in range(4)]
    return [*arrays, Image.fromarray(pixels(72, 120, seed=9)), pixels(200, 150, seed=7).astype(np.float32) / 255]


def _same(a, b) -> bool:
    if isinstance(a, Image.Image):
        return a.mode == b.mode and np.array_equal(np.asarray(a), np.asarray(b))
    return a.dtype == b.dtype and np.array_equal(a, b)


def test_one_enhancer_called_from_many_threads_at_once(run_outputs) -> None:
    enhancer = photoenhance.Enhancer(provider="cpu", tile=64, threads=1)
    images = _images()
    jpeg = run_outputs.inputs["photo.jpg"].read_bytes()
    serial = [enhancer.enhance(im) for im in images]
    serial_jpeg = enhancer.enhance(jpeg)
    start = threading.Barrier(THREADS)

    def work(k: int) -> list:
        start.wait()  # all threads call at the same time
        order = images[k:] + images[:k]
        out = [enhancer.enhance(im) for im in order]
        out = out[len(images) - k :] + out[: len(images) - k]
        return [*out, enhancer.enhance(jpeg)]

    with ThreadPoolExecutor(THREADS) as pool:
        results = list(pool.map(work, range(THREADS)))
    for got in results:
        assert all(_same(a, b) for a, b in zip(got[:-1], serial, strict=True))
        assert got[-1] == serial_jpeg


def test_enhance_file_from_many_threads(run_outputs, tmp_path) -> None:
    enhancer = photoenhance.Enhancer(provider="cpu", threads=1)
    names = sorted(run_outputs.inputs)
    start = threading.Barrier(THREADS)

    def work(k: int) -> None:
        start.wait()
        for name in names[k::THREADS]:
            enhancer.enhance_file(run_outputs.inputs[name], tmp_path / name)

    with ThreadPoolExecutor(THREADS) as pool:
        list(pool.map(work, range(THREADS)))
    for name in names:
        assert (tmp_path / name).read_bytes() == run_outputs.outputs[name].read_bytes(), name


def test_the_default_model_is_loaded_once(monkeypatch) -> None:
    monkeypatch.setattr(functions, "_loaded", {})
    made = []
    real = functions.Enhancer

    class Counting(real):  # type: ignore[misc, valid-type]
        def __init__(self, *args, **kwargs) -> None:
            made.append(1)
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(functions, "Enhancer", Counting)
    start = threading.Barrier(THREADS)
    px = pixels()

    def work(_: int):
        start.wait()
        return photoenhance.enhance(px)

    with ThreadPoolExecutor(THREADS) as pool:
        results = list(pool.map(work, range(THREADS)))
    assert len(made) == 1
    assert all(np.array_equal(r, results[0]) for r in results)
