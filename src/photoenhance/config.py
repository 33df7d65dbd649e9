"""User configuration: defaults for ``photoenhance run`` from a TOML file, and the cache dir.

The file is ``platformdirs.user_config_dir("photoenhance")/config.toml`` (for example
``~/.config/photoenhance/config.toml`` on Linux); the environment variable
``PHOTOENHANCE_CONFIG`` points elsewhere.  A missing file means "no defaults".
Keys live in a ``[run]`` table (command-line flags always win)::

    [run]
    output = "~/Pictures/enhanced"   # -o/--output; relative: to the current directory
    format = "jpeg"                  # --format: same | jpeg | png | tiff | webp
    quality = 92                     # --quality: 1..100
    strength = 0.8                   # --strength: 0..1
    tile = 2048                      # --tile: pixels, >= 64
    threads = 2                      # --threads: >= 1
    model = "models/my.onnx"         # --model; relative: to the config file's folder

``~`` is expanded in paths.  Unknown tables or keys and values of the wrong type are
errors (:class:`ConfigError`, one line naming the file), so a typo never goes unnoticed.

The optimised-graph cache lives in ``platformdirs.user_cache_dir("photoenhance")``,
overridden by ``PHOTOENHANCE_CACHE_DIR``.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

import platformdirs

APP_NAME = "photoenhance"
CONFIG_ENV = "PHOTOENHANCE_CONFIG"
CACHE_ENV = "PHOTOENHANCE_CACHE_DIR"
OUTPUT_FORMATS: tuple[str, ...] = ("same", "jpeg", "png", "tiff", "webp")
"""Values accepted by ``--format`` (``jpg``/``tif`` are accepted as aliases)."""
#: the network sizes ``train --size`` offers: the keys of ``photoenhance.model.SIZES``
#: (named here too so that the CLI need not import torch; a test keeps them equal)
MODEL_SIZES: tuple[str, ...] = ("tiny", "small", "medium", "base", "v3-small", "v3-medium", "v3-small-film",
                                 "v3-stats", "small-stats", "tiny-stats")
_FORMAT_ALIASES = {"jpg": "jpeg", "tif": "tiff"}
KNOWN_SECTIONS: frozenset[str] = frozenset({"run"})
"""Top-level tables the file may contain (extend when other commands get defaults)."""


class ConfigError(ValueError):
    """The config file cannot be read or has invalid content. ``str()`` is one line."""


@dataclass(frozen=True)
class RunDefaults:
    """Defaults for ``photoenhance run`` options; None means "not set in the file"."""

    output: Path | None = None
    format: str | None = None
    quality: int | None = None
    strength: float | None = None
    tile: int | None = None
    threads: int | None = None
    model: Path | None = None


@dataclass(frozen=True)
class UserConfig:
    """The parsed config file.

    Attributes:
        path: the file the values came from (it may not exist).
        exists: whether that file existed.
        run: defaults for the ``run`` command.
    """

    path: Path
    exists: bool
    run: RunDefaults = RunDefaults()


def config_path() -> Path:
    """The config file to use: ``$PHOTOENHANCE_CONFIG`` or the platform's user config dir."""
    env = os.environ.get(CONFIG_ENV)
    if env:
        return Path(env).expanduser()
    return Path(platformdirs.user_config_dir(APP_NAME)) / "config.toml"


def cache_dir() -> Path:
    """Optimised-graph cache folder: ``$PHOTOENHANCE_CACHE_DIR`` or the user cache dir."""
    env = os.environ.get(CACHE_ENV)
    if env:
        return Path(env).expanduser()
    return Path(platformdirs.user_cache_dir(APP_NAME))


def normalise_output_format(value: str) -> str:
    """Map a ``--format`` value to one of :data:`OUTPUT_FORMATS` (case-insensitive).

    Raises:
        ValueError: for anything else.
    """
    key = value.strip().lower()
    key = _FORMAT_ALIASES.get(key, key)
    if key not in OUTPUT_FORMATS:
        raise ValueError(f"unknown format {value!r}; expected one of {', '.join(OUTPUT_FORMATS)}")
    return key


def _int(file: Path, key: str, value: object, low: int, high: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{file}: [run] {key} must be an integer, got {value!r}")
    if value < low or (high is not None and value > high):
        bounds = f"{low}..{high}" if high is not None else f">= {low}"
        raise ConfigError(f"{file}: [run] {key} must be {bounds}, got {value}")
    return value


def _path(file: Path, key: str, value: object, base: Path | None) -> Path:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{file}: [run] {key} must be a non-empty path string, got {value!r}")
    p = Path(value).expanduser()
    return base / p if base is not None and not p.is_absolute() else p


def _run_defaults(file: Path, table: object) -> RunDefaults:
    if not isinstance(table, dict):
        raise ConfigError(f"{file}: [run] must be a table")
    known = {"output", "format", "quality", "strength", "tile", "threads", "model"}
    unknown = sorted(set(table) - known)
    if unknown:
        raise ConfigError(
            f"{file}: unknown key(s) in [run]: {', '.join(unknown)} "
            f"(known: {', '.join(sorted(known))})"
        )
    fmt = table.get("format")
    if fmt is not None:
        if not isinstance(fmt, str):
            raise ConfigError(f"{file}: [run] format must be a string, got {fmt!r}")
        try:
            fmt = normalise_output_format(fmt)
        except ValueError as exc:
            raise ConfigError(f"{file}: [run] format: {exc}") from None
    strength = table.get("strength")
    if strength is not None:
        if isinstance(strength, bool) or not isinstance(strength, int | float):
            raise ConfigError(f"{file}: [run] strength must be a number, got {strength!r}")
        if not 0.0 <= float(strength) <= 1.0:
            raise ConfigError(f"{file}: [run] strength must be within 0..1, got {strength}")
        strength = float(strength)

    def opt_int(key: str, low: int, high: int | None = None) -> int | None:
        v = table.get(key)
        return None if v is None else _int(file, key, v, low, high)

    def opt_path(key: str, base: Path | None) -> Path | None:
        v = table.get(key)
        return None if v is None else _path(file, key, v, base)

    return RunDefaults(
        output=opt_path("output", None),
        format=fmt,
        quality=opt_int("quality", 1, 100),
        strength=strength,
        tile=opt_int("tile", 64),
        threads=opt_int("threads", 1),
        model=opt_path("model", file.parent),
    )


def load_config(path: Path | None = None) -> UserConfig:
    """Load the config file (``path`` or :func:`config_path`); a missing file is empty.

    Raises:
        ConfigError: unreadable file, invalid TOML, unknown tables/keys, bad values.
    """
    file = path if path is not None else config_path()
    try:
        raw = file.read_bytes()
    except FileNotFoundError:
        return UserConfig(path=file, exists=False)
    except IsADirectoryError:
        raise ConfigError(f"{file}: config file is a directory") from None
    except OSError as exc:
        raise ConfigError(f"{file}: cannot read config file ({exc.strerror or exc})") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"{file}: config file is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{file}: invalid TOML ({' '.join(str(exc).split())})") from None
    unknown = sorted(set(data) - KNOWN_SECTIONS)
    if unknown:
        raise ConfigError(
            f"{file}: unknown setting(s) {', '.join(unknown)}; put run options in a [run] table"
        )
    run = _run_defaults(file, data["run"]) if "run" in data else RunDefaults()
    return UserConfig(path=file, exists=True, run=run)
