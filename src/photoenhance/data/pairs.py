"""Paired (phone input, DSLR target) datasets on disk: discovery, validation, splitting, loading.

Pairs are matched strictly by file *stem*: ``input/12.jpg`` pairs with ``target/12.png`` and
nothing else. (The DPED reference code globs both folders and zips the unsorted listings, which
mis-pairs on file systems that do not list in creation order.) Names are sorted in natural
order (``2`` before ``10``).

Supported layouts (``layout=`` name, then folders relative to ``root``):

=================  =====================================================  ==================
layout             input folder                                           target folder
=================  =====================================================  ==================
``dped-training``  ``training_data/<phone>/``                             ``training_data/canon/``
``dped-test``      ``test_data/patches/<phone>/``                         ``test_data/patches/canon/``
``dped``           ``<phone>/``                                           ``canon/``
``input-target``   ``input/``                                             ``target/``
``phone-dslr``     ``phone/``                                             ``dslr/``
=================  =====================================================  ==================

``<phone>`` is the only sibling folder of ``canon`` that holds images (``iphone``, ``sony``,
``blackberry`` in DPED), or the one named by ``phone=``. The published DPED tree is
``dped/<phone>/{training_data,test_data}/...``: point ``root`` at ``dped/<phone>``.

Nothing here imports torch; a torch ``Dataset`` wraps :func:`load_pair` in ``train/``.
"""

from __future__ import annotations

import csv
import hashlib
import math
import os
import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from photoenhance.data.imageops import resize_image
from photoenhance.io import ImageReadError, read_rgb

__all__ = [
    "IMAGE_EXTENSIONS",
    "LAYOUTS",
    "Pair",
    "PairDataError",
    "PairSet",
    "find_pairs",
    "list_images",
    "load_pair",
    "natural_key",
    "read_flags",
    "split_pairs",
    "validate_pairs",
]

IMAGE_EXTENSIONS: frozenset[str] = frozenset(
    {".jpg", ".jpeg", ".png", ".tif", ".tiff", ".webp", ".bmp"}
)
"""Lower-case file suffixes treated as images."""

LAYOUTS: tuple[str, ...] = ("dped-training", "dped-test", "dped", "input-target", "phone-dslr")
"""Layout names accepted by :func:`find_pairs` (plus ``"auto"``)."""

_TARGET_DPED = "canon"


class PairDataError(ValueError):
    """A paired dataset cannot be used (empty, fully mismatched, unknown layout, bad file).

    ``str()`` is a single line, naming the folder or file concerned.
    """


@dataclass(frozen=True)
class Pair:
    """One aligned example: a phone ``input_path`` and its DSLR ``target_path``.

    Attributes:
        name: the shared file stem (``"12"`` for ``iphone/12.jpg`` + ``canon/12.jpg``).
        input_path: phone photo / patch.
        target_path: DSLR photo / patch.
    """

    name: str
    input_path: Path
    target_path: Path


@dataclass(frozen=True)
class PairSet:
    """Result of :func:`find_pairs` / :func:`validate_pairs`.

    Attributes:
        pairs: usable pairs in natural name order.
        problems: one human-readable line per skipped file or pair (unmatched names, duplicate
            stems, size mismatches, unreadable files); empty when everything paired cleanly.
        layout: the layout name used (one of :data:`LAYOUTS`).
    """

    pairs: tuple[Pair, ...]
    problems: tuple[str, ...]
    layout: str

    def __len__(self) -> int:
        return len(self.pairs)

    @property
    def names(self) -> tuple[str, ...]:
        """The pair names, in order."""
        return tuple(p.name for p in self.pairs)


def natural_key(name: str) -> tuple[str | int, ...]:
    """Sort key for natural order: digit runs compare as numbers (``"2" < "10"``).

    ``re.split`` with a capturing group puts text at even and digits at odd positions, so
    keys of any two names are comparable element by element. Text compares case-insensitively,
    the original name breaks ties.
    """
    parts = re.split(r"(\d+)", name)
    key: list[str | int] = [int(p) if i % 2 else p.casefold() for i, p in enumerate(parts)]
    key.append(name)
    return tuple(key)


def list_images(folder: str | os.PathLike[str]) -> tuple[Path, ...]:
    """Image files directly inside ``folder`` (by suffix, hidden files skipped), natural order.

    Args:
        folder: directory to list.

    Returns:
        paths sorted by :func:`natural_key` of the file name.
    """
    d = Path(folder)
    names = [
        n
        for n in os.listdir(d)
        if not n.startswith(".") and Path(n).suffix.lower() in IMAGE_EXTENSIONS
    ]
    paths = [d / n for n in names if (d / n).is_file()]
    return tuple(sorted(paths, key=lambda p: natural_key(p.name)))


def _image_dirs(folder: Path) -> list[Path]:
    """Subfolders of ``folder`` that directly contain at least one image, natural order."""
    out = []
    for n in os.listdir(folder):
        sub = folder / n
        if not n.startswith(".") and sub.is_dir() and list_images(sub):
            out.append(sub)
    return sorted(out, key=lambda p: natural_key(p.name))


def _dped_dirs(base: Path, phone: str | None) -> tuple[Path, Path]:
    """Pick ``(<base>/<phone>, <base>/canon)``."""
    target = base / _TARGET_DPED
    if not target.is_dir():
        raise PairDataError(f"{base}: no '{_TARGET_DPED}' folder (DPED layout)")
    if phone is not None:
        inp = base / phone
        if not inp.is_dir():
            raise PairDataError(f"{base}: no phone folder '{phone}'")
        return inp, target
    candidates = [d for d in _image_dirs(base) if d.name != _TARGET_DPED]
    if not candidates:
        raise PairDataError(f"{base}: no phone folder with images next to '{_TARGET_DPED}'")
    if len(candidates) > 1:
        found = ", ".join(d.name for d in candidates)
        raise PairDataError(f"{base}: several phone folders ({found}); choose one with phone=")
    return candidates[0], target


def _layout_dirs(root: Path, layout: str, phone: str | None) -> tuple[Path, Path]:
    if layout == "dped-training":
        return _dped_dirs(root / "training_data", phone)
    if layout == "dped-test":
        return _dped_dirs(root / "test_data" / "patches", phone)
    if layout == "dped":
        return _dped_dirs(root, phone)
    if layout == "input-target":
        return root / "input", root / "target"
    if layout == "phone-dslr":
        return root / "phone", root / "dslr"
    raise PairDataError(
        f"unknown layout '{layout}'; expected 'auto' or one of {', '.join(LAYOUTS)}"
    )


def _detect_layout(root: Path) -> str:
    if (root / "input").is_dir() and (root / "target").is_dir():
        return "input-target"
    if (root / "phone").is_dir() and (root / "dslr").is_dir():
        return "phone-dslr"
    if (root / "training_data" / _TARGET_DPED).is_dir():
        return "dped-training"
    if (root / "test_data" / "patches" / _TARGET_DPED).is_dir():
        return "dped-test"
    if (root / _TARGET_DPED).is_dir():
        return "dped"
    raise PairDataError(
        f"{root}: unknown dataset layout; expected input/+target/, phone/+dslr/, "
        f"<phone>/+canon/, training_data/<phone>/+canon/ or test_data/patches/<phone>/+canon/"
    )


def _by_stem(folder: Path, problems: list[str]) -> dict[str, Path]:
    """Map stem -> path; stems present with several suffixes are reported and dropped."""
    groups: dict[str, list[Path]] = {}
    for p in list_images(folder):
        groups.setdefault(p.stem, []).append(p)
    out: dict[str, Path] = {}
    for stem, paths in groups.items():
        if len(paths) > 1:
            files = ", ".join(p.name for p in paths)
            problems.append(f"{folder}: ambiguous name '{stem}' ({files}); skipped")
        else:
            out[stem] = paths[0]
    return out


def find_pairs(
    root: str | os.PathLike[str],
    layout: str = "auto",
    phone: str | None = None,
    exclude: Collection[str] = frozenset(),
) -> PairSet:
    """Discover (input, target) pairs under ``root``, matched by file stem.

    Every unmatched file gives one line in :attr:`PairSet.problems`; the pairs that did match
    are still returned. Sizes and decodability are not checked here (see
    :func:`validate_pairs` and :func:`load_pair`).

    Args:
        root: dataset folder.
        layout: ``"auto"`` (detect; ``input-target`` and ``phone-dslr`` win over DPED, and
            ``dped-training`` over ``dped-test``) or one of :data:`LAYOUTS`.
        phone: DPED phone folder name (``"iphone"``); needed only when several exist.
        exclude: names (stems) to leave out silently, e.g. :func:`read_flags` output.

    Returns:
        the pairs in natural name order, the problems, and the layout used.

    Raises:
        PairDataError: ``root`` or a required folder is missing, the layout is unknown or
            ambiguous, a folder has no images, or no name occurs in both folders.
    """
    root_path = Path(root)
    if not root_path.is_dir():
        raise PairDataError(f"{root_path}: dataset folder not found")
    used = _detect_layout(root_path) if layout == "auto" else layout
    input_dir, target_dir = _layout_dirs(root_path, used, phone)
    for d in (input_dir, target_dir):
        if not d.is_dir():
            raise PairDataError(f"{d}: folder not found (layout {used})")

    problems: list[str] = []
    inputs = _by_stem(input_dir, problems)
    targets = _by_stem(target_dir, problems)
    excluded = set(exclude)
    if not inputs and not targets:
        raise PairDataError(f"{input_dir} and {target_dir}: no images (layout {used})")
    if not inputs:
        raise PairDataError(f"{input_dir}: no input images (layout {used})")
    if not targets:
        raise PairDataError(f"{target_dir}: no target images (layout {used})")

    pairs: list[Pair] = []
    for name in sorted(inputs.keys() | targets.keys(), key=natural_key):
        if name in excluded:
            continue
        inp, tgt = inputs.get(name), targets.get(name)
        if inp is not None and tgt is not None:
            pairs.append(Pair(name, inp, tgt))
        elif inp is not None:
            problems.append(f"{inp}: no target named '{name}' in {target_dir}")
        elif tgt is not None:
            problems.append(f"{tgt}: no input named '{name}' in {input_dir}")
    if not pairs:
        if all(n in excluded for n in inputs.keys() & targets.keys()) and (
            inputs.keys() & targets.keys()
        ):
            raise PairDataError(f"{root_path}: every pair is excluded (layout {used})")
        raise PairDataError(
            f"{input_dir} ({len(inputs)} images) and {target_dir} ({len(targets)} images) "
            f"share no file name; pairs are matched by name (layout {used})"
        )
    return PairSet(tuple(pairs), tuple(problems), used)


def read_flags(path: str | os.PathLike[str]) -> frozenset[str]:
    """Names of unusable pairs from a DPED-style ``flags.csv``.

    The file has a header with at least ``index`` and ``is_flat`` columns (the shared copy has
    ``index,psnr_input_vs_target,target_std,is_flat,reason``); rows with ``is_flat`` = 1 are
    unusable (blank target or badly mismatched pair).

    Args:
        path: the CSV file, or a folder containing ``flags.csv``.

    Returns:
        the ``index`` values of flagged rows, as names to pass to ``find_pairs(exclude=...)``.

    Raises:
        PairDataError: missing file, missing columns, or an ``is_flat`` value other than 0/1.
    """
    p = Path(path)
    if p.is_dir():
        p = p / "flags.csv"
    try:
        with p.open(newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh, skipinitialspace=True)
            fields = [f.strip() for f in reader.fieldnames or []]
            if "index" not in fields or "is_flat" not in fields:
                raise PairDataError(f"{p}: expected 'index' and 'is_flat' columns, got {fields}")
            flagged = set()
            for line, row in enumerate(reader, start=2):
                clean = {k.strip(): (v or "").strip() for k, v in row.items() if k is not None}
                value = clean.get("is_flat", "")
                if value not in ("0", "1"):
                    raise PairDataError(f"{p}:{line}: is_flat must be 0 or 1, got '{value}'")
                if value == "1":
                    flagged.add(clean["index"])
    except OSError as exc:
        raise PairDataError(f"{p}: cannot read flags file ({exc.strerror or exc})") from exc
    return frozenset(flagged)


def _header_size(path: Path) -> tuple[int, int]:
    """(height, width) from the file header, without decoding the pixels."""
    try:
        with Image.open(path) as im:
            width, height = im.size
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise ImageReadError(path, f"cannot read image ({exc})") from exc
    return height, width


def validate_pairs(pairset: PairSet, check_sizes: bool = True, decode: bool = False) -> PairSet:
    """Drop pairs whose files are unreadable or whose sizes differ, reporting each one.

    Args:
        pairset: output of :func:`find_pairs`.
        check_sizes: compare input and target sizes (header only, fast). Turn off for
            full-size pairs that will be loaded with ``load_pair(..., resize_target=True)``.
        decode: fully decode both files (slow; catches truncated files that have a valid
            header). Without it only the headers are opened.

    Returns:
        a new :class:`PairSet` with the bad pairs removed and one problem line added per pair.

    Raises:
        PairDataError: no pair survives.
    """
    good: list[Pair] = []
    problems = list(pairset.problems)
    for pair in pairset.pairs:
        try:
            if decode:
                load_pair(pair, resize_target=not check_sizes)
            else:
                in_hw = _header_size(pair.input_path)
                tgt_hw = _header_size(pair.target_path)
                if check_sizes and in_hw != tgt_hw:
                    raise PairDataError(_size_message(pair, in_hw, tgt_hw))
        except (ImageReadError, PairDataError) as exc:
            problems.append(str(exc))
            continue
        good.append(pair)
    if not good:
        first = problems[-1] if problems else ""
        raise PairDataError(f"no usable pair among {len(pairset.pairs)} (e.g. {first})")
    return PairSet(tuple(good), tuple(problems), pairset.layout)


def _size_message(pair: Pair, in_hw: tuple[int, int], tgt_hw: tuple[int, int]) -> str:
    return (
        f"{pair.input_path}: size {in_hw[1]}x{in_hw[0]} differs from "
        f"{pair.target_path} {tgt_hw[1]}x{tgt_hw[0]}"
    )


def load_pair(
    pair: Pair, resize_target: bool = False
) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
    """Decode one pair.

    Args:
        pair: the files to read.
        resize_target: when the sizes differ, resize the target to the input size with
            Lanczos (antialiased when shrinking) instead of failing.

    Returns:
        ``(input, target)``, each float32 RGB of shape :math:`(H, W, 3)` in ``[0, 1]``, with
        the same :math:`H, W` (the input's).

    Raises:
        PairDataError: a file is unreadable or corrupt, or the sizes differ and
            ``resize_target`` is false. The message is one line naming the file.
    """
    try:
        inp = read_rgb(pair.input_path)
        tgt = read_rgb(pair.target_path)
    except ImageReadError as exc:
        raise PairDataError(str(exc)) from exc
    if inp.shape != tgt.shape:
        if not resize_target:
            raise PairDataError(_size_message(pair, inp.shape[:2], tgt.shape[:2]))
        tgt = resize_image(tgt, (inp.shape[0], inp.shape[1]))
    return inp, tgt


def _split_rank(name: str, seed: int) -> bytes:
    return hashlib.sha256(f"{seed}\x00{name}".encode()).digest()


def split_pairs(
    pairs: Iterable[Pair], val_fraction: float, seed: int = 0
) -> tuple[tuple[Pair, ...], tuple[Pair, ...]]:
    """Deterministic train/validation split by a hash of each pair's name.

    Pairs are ranked by ``sha256(f"{seed}\\0{name}")`` and the ``round(n * val_fraction)``
    lowest go to validation (at least one when ``0 < val_fraction`` and ``n >= 2``, and at least
    one pair always stays in training). The result depends only on the names and ``seed``: it is
    the same on every run and machine, independent of the input order, and adding new pairs
    moves few existing ones.

    Args:
        pairs: pairs (or a :class:`PairSet`'s ``.pairs``); names must be unique.
        val_fraction: fraction in ``[0, 1)`` to hold out.
        seed: changes the split.

    Returns:
        ``(train, val)``: disjoint, covering all pairs, each in natural name order.
    """
    items = list(pairs)
    if not 0.0 <= val_fraction < 1.0:
        raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction}")
    names = [p.name for p in items]
    if len(set(names)) != len(names):
        raise ValueError("pair names must be unique")
    n = len(items)
    n_val = math.floor(n * val_fraction + 0.5)
    if val_fraction > 0 and n >= 2:
        n_val = max(n_val, 1)
    n_val = min(n_val, max(n - 1, 0))
    ranked = sorted(items, key=lambda p: _split_rank(p.name, seed))
    val_names = {p.name for p in ranked[:n_val]}
    order = sorted(items, key=lambda p: natural_key(p.name))
    train = tuple(p for p in order if p.name not in val_names)
    val = tuple(p for p in order if p.name in val_names)
    return train, val
