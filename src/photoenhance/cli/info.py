"""``photoenhance info``: the model, the inference runtime, where config and cache live."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from photoenhance import __version__
from photoenhance.cli.help import _Command, _examples
from photoenhance.cli.options import (
    ThreadsOption,
)
from photoenhance.cli.render import _fail, _stdout
from photoenhance.cli.root import app


@app.command(
    "info",
    cls=_Command,
    epilog=_examples("photoenhance info", "photoenhance info --model my-model/model.onnx"),
)
def info_command(
    model: Annotated[
        Path | None,
        typer.Option(
            "--model",
            metavar="FILE",
            help="ONNX model to describe. \\[default: the bundled INT8 model]",
            show_default=False,
        ),
    ] = None,
    threads: ThreadsOption = None,
    provider: Annotated[
        str, typer.Option(
            "--provider",
            metavar="[auto|cpu|cuda|tensorrt]",
            help="onnxruntime execution provider to show (auto: CUDA if available, else CPU).",
        )
    ] = "auto",
) -> None:
    """Show the model, the inference runtime and where config/cache live."""
    import onnxruntime as ort

    from photoenhance.config import ConfigError, cache_dir, load_config
    from photoenhance.infer.enhancer import Enhancer
    from photoenhance.infer.inference_config import InferenceConfig
    from photoenhance.infer.model_file import ModelLoadError
    from photoenhance.infer.providers import PROVIDER_NAMES, ProviderUnavailableError
    from photoenhance.io import heif_available

    try:
        cfg = load_config()
    except ConfigError as exc:
        _fail(f"bad config file: {exc}")
    model = model if model is not None else cfg.run.model
    threads = threads if threads is not None else cfg.run.threads
    if threads is not None and threads < 1:
        _fail(f"--threads must be at least 1, got {threads}")
    if provider not in PROVIDER_NAMES:
        _fail(f"--provider must be one of {', '.join(PROVIDER_NAMES)}; got {provider!r}")
    cache = cache_dir()
    try:
        enhancer = Enhancer(
            InferenceConfig(
                model=model,
                tile=cfg.run.tile or None,  # None: default_tile(provider), as run/watch/eval
                threads=threads,
                cache_dir=cache,
                provider=provider,
            )
        )
    except ModelLoadError as exc:
        _fail(f"cannot load model: {exc}")
    except ProviderUnavailableError as exc:
        _fail(str(exc))
    info = enhancer.info
    rows = [
        ("photoenhance", __version__),
        ("model", str(info.path)),
        ("model size", info.model_size),
        ("precision", info.precision),
        ("model version", info.version),
        ("parameters", f"{info.params:,}"),
        ("MACs/MP", f"{info.macs_per_mp / 1e9:.2f} G"),
        ("context", f"thumbnail + {info.stats_channels} statistics (I/O format 3)" if info.stats_channels
         else "thumbnail (I/O format 2)"),
        ("halo", f"{enhancer.halo} px"),
        ("tile", f"{enhancer.config.tile} px"),
        ("provider", enhancer.provider),
        ("threads", str(threads) if threads else f"auto ({os.cpu_count() or '?'} CPUs)"),
        ("cache dir", str(cache)),
        ("config file", f"{cfg.path}{'' if cfg.exists else ' (not present)'}"),
        ("onnxruntime", ort.__version__),
        ("providers", ", ".join(ort.get_available_providers())),
        ("HEIC support", "yes" if heif_available() else "no (pip install 'photoenhance[heic]')"),
    ]
    out = _stdout()
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        out.print(Text(f"{key + ':':<{width + 1}} {value}"))
