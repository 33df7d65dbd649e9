"""Options several commands share (``run`` and ``watch``; ``--threads`` also ``info`` and
``eval``), declared once so their names, metavars and help cannot drift apart."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from photoenhance.cli.help import _FORMAT_CHOICES

FormatOption = Annotated[
    str | None,
    typer.Option(
        "--format",
        metavar=_FORMAT_CHOICES,
        help="Output format; same: each input's own. \\[default: same]",
        show_default=False,
    ),
]
QualityOption = Annotated[
    int | None,
    typer.Option(
        "--quality",
        metavar="1-100",
        help="JPEG/WebP quality. \\[default: about the original's]",
        show_default=False,
    ),
]
ModelOption = Annotated[
    Path | None,
    typer.Option(
        "--model",
        metavar="FILE",
        help="ONNX model to use. \\[default: the bundled INT8 model]",
        show_default=False,
    ),
]
StrengthOption = Annotated[
    float | None,
    typer.Option(
        "--strength",
        metavar="0..1",
        help="Effect strength: 0 leaves the photo as it is. \\[default: 1.0]",
        show_default=False,
    ),
]
TileOption = Annotated[
    int | None,
    typer.Option(
        "--tile",
        metavar="PX",
        help="Inference tile size in pixels, at least 64; photos above 24 MP use at most "
        "1024 px tiles (bounds memory). \\[default: 2048; 4096 on a GPU provider]",
        show_default=False,
    ),
]
ThreadsOption = Annotated[
    int | None,
    typer.Option(
        "--threads",
        metavar="N",
        help="Inference threads. \\[default: all cores]",
        show_default=False,
    ),
]
CompareOption = Annotated[
    Path | None,
    typer.Option(
        "--compare",
        metavar="DIR",
        help="Write a before/after JPEG per photo to this folder.",
        show_default=False,
    ),
]
MaxMegapixelsOption = Annotated[
    float,
    typer.Option(
        "--max-megapixels",
        metavar="MP",
        help="Refuse inputs larger than this (decompression bombs).",
    ),
]
