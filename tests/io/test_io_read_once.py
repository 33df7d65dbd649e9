"""Issue 19 item 5: each input is read once per photo - one ``open`` and one ``mmap`` - and
its EXIF parsed once, through a whole ``run`` (plan, local engine, decode, enhance, encode,
write, compare image), for every kind of input; pipe mode and :func:`decode_bytes` open no
file at all."""

from __future__ import annotations

import builtins
import dataclasses
import io
import mmap
import os
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import piexif
import pytest
from _iohelpers import full_exif_dict, smooth_rgb
from PIL import Image

from photoenhance.io import decode_bytes, exif, heif_available, read_image
from photoenhance.io.sixteen import png16


class _NoChange:
    """Stands in for the model: the pipeline around it is what is counted."""

    def enhance(self, rgb: np.ndarray, *, strength: float = 1.0, out: np.ndarray | None = None) -> np.ndarray:
        return rgb if out is None else out


def _inputs(folder: Path) -> list[Path]:
    folder.mkdir()
    a = smooth_rgb(48, 64)
    blob = piexif.dump(full_exif_dict(6))  # every IFD, a MakerNote and a thumbnail
    made = []

    def keep(name: str) -> Path:
        made.append(folder / name)
        return folder / name

    Image.fromarray(a).save(keep("camera.jpg"), quality=90, exif=blob)
    Image.fromarray(a).convert("L").save(keep("grey.jpg"), quality=90, exif=blob)
    Image.fromarray(a).convert("CMYK").save(keep("cmyk.jpg"), quality=90, exif=blob)
    Image.fromarray(a).save(keep("plain.png"), exif=blob)
    template = io.BytesIO()
    Image.fromarray(a).save(template, "PNG", exif=blob)
    keep("deep.png").write_bytes(png16(template.getvalue(), a.astype(np.uint16) * 257))
    tags = Image.Exif()
    tags.load(piexif.dump(full_exif_dict(3, thumbnail=False)))
    Image.fromarray(a).save(keep("scan.tiff"), tiffinfo=tags)
    Image.fromarray(a).save(keep("photo.webp"), quality=90, exif=blob)
    if heif_available():
        Image.fromarray(a).save(keep("phone.heic"), quality=80, exif=blob)
    return made


class _Counts:
    """Opens and mmaps of the inputs, and parses of their EXIF, while installed."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, inputs: list[Path]) -> None:
        self.inputs = {p.resolve() for p in inputs}
        self.opens: Counter[Path] = Counter()
        self.maps = 0
        self.parses = 0
        self.pillow_exif_loads = 0
        self.blobs: list[bytes] = []
        counts = self
        real_open, real_os_open = builtins.open, os.open

        def note(file: Any) -> None:
            if isinstance(file, (str, bytes, os.PathLike)):
                p = Path(os.fsdecode(file)).resolve()
                if p in counts.inputs:
                    counts.opens[p] += 1

        def counting_open(file: Any, *args: Any, **kwargs: Any) -> Any:
            note(file)
            return real_open(file, *args, **kwargs)

        def counting_os_open(path: Any, *args: Any, **kwargs: Any) -> int:
            note(path)
            return real_os_open(path, *args, **kwargs)

        class CountingMap(mmap.mmap):
            def __new__(cls, *args: Any, **kwargs: Any) -> CountingMap:
                counts.maps += 1
                return super().__new__(cls, *args, **kwargs)

        real_parse = exif.parse_exif

        def counting_parse(data: bytes) -> exif.ParsedExif:
            counts.parses += 1
            return real_parse(data)

        real_tiff_init = exif._Tiff.__init__

        def counting_tiff_init(self: Any, data: Any) -> None:
            if isinstance(data, bytes):
                counts.blobs.append(data)
            real_tiff_init(self, data)

        real_exif_load = Image.Exif.load

        def counting_exif_load(self: Any, data: bytes) -> None:
            if sys._getframe(1).f_globals.get("__name__", "").startswith("photoenhance"):
                counts.pillow_exif_loads += 1  # the library's own reading at open is not ours
            real_exif_load(self, data)

        monkeypatch.setattr(builtins, "open", counting_open)
        monkeypatch.setattr(io, "open", counting_open)
        monkeypatch.setattr(os, "open", counting_os_open)
        monkeypatch.setattr(mmap, "mmap", CountingMap)
        monkeypatch.setattr(exif, "parse_exif", counting_parse)
        monkeypatch.setattr(exif._Tiff, "__init__", counting_tiff_init)
        monkeypatch.setattr(Image.Exif, "load", counting_exif_load)


@pytest.mark.parametrize("out_format", [None, "jpeg"], ids=["same-format", "as-jpeg"])
def test_each_input_opened_once_and_its_exif_parsed_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, out_format: str | None
) -> None:
    from photoenhance.infer.local import run_local
    from photoenhance.infer.naming import plan_batch
    from photoenhance.infer.types import RunConfig, Status

    inputs = _inputs(tmp_path / "in")
    blobs = {p.name: read_image(p).metadata.exif for p in inputs}  # before counting
    assert all(blobs.values())
    config = RunConfig(output_dir=tmp_path / "out", format=out_format, compare_dir=tmp_path / "cmp")
    plan = plan_batch([tmp_path / "in"], config)
    for photo in inputs:  # one photo at a time: the counts are per photo
        one = dataclasses.replace(plan, files=tuple(f for f in plan.files if f.input.name == photo.name))
        with monkeypatch.context() as m:
            counts = _Counts(m, [photo])
            results = run_local(one, config, _NoChange())  # type: ignore[arg-type]
        (result,) = results.values()
        assert result.status == Status.OK, (photo.name, result.error)
        assert result.compare is not None and result.compare.exists()
        assert counts.opens[photo.resolve()] == 1, (photo.name, counts.opens)
        assert counts.maps == 1, photo.name
        assert counts.parses == 1, photo.name
        assert counts.pillow_exif_loads == 0, photo.name
        assert sum(b == blobs[photo.name] for b in counts.blobs) == 1, photo.name  # the one walk


def test_decode_bytes_and_the_pipe_open_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from photoenhance.infer.pipe import _enhance
    from photoenhance.infer.types import PlannedFile, RunConfig, Status

    inputs = _inputs(tmp_path / "in")
    for photo in inputs:
        data = photo.read_bytes()
        want = read_image(photo)
        with monkeypatch.context() as m:
            counts = _Counts(m, inputs)
            got = decode_bytes(data, photo.name)
        assert sum(counts.opens.values()) == 0 and counts.maps == 0
        assert counts.parses == 1
        np.testing.assert_array_equal(got.rgb, want.rgb)
        assert got.metadata == want.metadata and got.warnings == want.warnings
        assert got.path == Path(photo.name) and got.mode == want.mode and got.bit_depth == want.bit_depth
    photo = inputs[0]  # a photo on stdin: read into memory, decoded and encoded there
    item, piped = PlannedFile(0, Path("-"), Path("-")), photo.read_bytes()
    with monkeypatch.context() as m:
        counts = _Counts(m, inputs)
        result, data = _enhance(item, piped, _NoChange(), RunConfig(overwrite=True))  # type: ignore[arg-type]
    assert result.status == Status.OK and data
    assert sum(counts.opens.values()) == 0 and counts.maps == 0 and counts.parses == 1
