"""Options of ``run`` and ``watch`` merged over the config file's defaults into a
:class:`~photoenhance.infer.runner.RunConfig`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from photoenhance.cli.render import _fail

if TYPE_CHECKING:  # heavy imports (onnxruntime, numpy, Pillow) wait until a command runs
    from photoenhance.infer.runner import RunConfig


def _build_run_config(
    *,
    output: Path | None,
    recursive: bool,
    format: str | None,
    quality: int | None,
    model: Path | None,
    strength: float | None,
    tile: int | None,
    threads: int | None,
    overwrite: bool,
    dry_run: bool,
    compare: Path | None,
    max_megapixels: float,
    report: Path | None = None,
    **engine: object,
) -> RunConfig:
    """Merge flags over config-file defaults into a :class:`RunConfig` (exit 2 on errors)."""
    from photoenhance.config import ConfigError, cache_dir, load_config, normalise_output_format
    from photoenhance.infer.runner import RunConfig

    try:
        defaults = load_config().run
    except ConfigError as exc:
        _fail(f"bad config file: {exc}")
    try:
        fmt = normalise_output_format(format) if format is not None else (defaults.format or "same")
    except ValueError as exc:
        _fail(f"--format: {exc}")
    try:
        return RunConfig(
            output_dir=output if output is not None else (defaults.output or Path("enhanced")),
            recursive=recursive,
            format=None if fmt == "same" else fmt,
            quality=quality if quality is not None else defaults.quality,
            model=model if model is not None else defaults.model,
            strength=strength
            if strength is not None
            else (defaults.strength if defaults.strength is not None else 1.0),
            # None: RunConfig resolves default_tile(provider), the one rule
            tile=tile if tile is not None else (defaults.tile or None),
            threads=threads if threads is not None else defaults.threads,
            overwrite=overwrite,
            dry_run=dry_run,
            compare_dir=compare,
            max_megapixels=max_megapixels,
            cache_dir=cache_dir(),
            report=report,
            **engine,  # type: ignore[arg-type]
        )
    except ValueError as exc:
        _fail(str(exc))
