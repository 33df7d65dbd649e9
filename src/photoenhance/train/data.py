"""The data of a run: the training batches (in memory, or a :class:`StreamSpec` that
DataLoader workers read lazily) and the validation set, with a summary for the report."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from photoenhance.data.degrade import DEFAULT_DEGRADE_CONFIG, DegradeConfig
from photoenhance.data.pairs import PairDataError, find_pairs, read_flags, split_pairs
from photoenhance.data.synthetic import SyntheticPairSource, list_photos
from photoenhance.train.batches import (
    DETAIL_DEGRADE_CONFIG,
    BatchSampler,
    LoadedPairs,
    load_pairs,
)
from photoenhance.train.config import TrainConfig
from photoenhance.train.errors import TrainError
from photoenhance.train.stream import StreamSpec

SYNTHETIC_VAL_COUNT = 48
STREAM_VAL_LIMIT = 500  # validation pairs kept in memory in stream mode (default)


@dataclass
class TrainData:
    sampler: BatchSampler | None  # in-memory batches (None in stream mode)
    val: LoadedPairs
    summary: dict[str, Any]
    spec: StreamSpec | None = None  # stream mode: what the DataLoader workers read


def _no_validation(
    cfg: TrainConfig, found: int, held_out: int, usable: int | None, problems: list[str]
) -> str:
    """Why there is no validation pair: how many pairs survived and why the others were
    dropped (a small set whose held-out pairs are all unusable is the usual cause)."""
    why = f" (e.g. {problems[0]})" if problems else ""
    if cfg.pairs is None:
        return "no validation data: give --val-pairs or a --val-fraction > 0"
    if cfg.val_pairs is not None:
        return f"no validation data: none of the {held_out} pairs in {cfg.val_pairs} is usable{why}"
    if cfg.val_fraction <= 0:
        return "no validation data: give --val-pairs or a --val-fraction > 0"
    if held_out == 0:
        return (f"no validation data: {cfg.pairs} has {found} pair(s), too few to hold one out; "
                "give --val-pairs")  # fmt: skip
    eg = f", e.g. {problems[0]}" if problems else ""
    kept = ""
    if usable is not None:
        kept = f"{usable} of {found} pairs are usable ({found - usable} dropped{eg}); "
    them = "the pair" if held_out == 1 else f"all {held_out} pairs"
    return (
        f"no validation data: {kept}{them} --val-fraction {cfg.val_fraction:g} held out "
        f"{'was' if held_out == 1 else 'were'} unusable{why if usable is None else ''}; give "
        "--val-pairs, a larger --val-fraction, or --resize-target for pairs whose sizes differ"
    )


@dataclass
class _RealPairs:
    """The pairs of ``--pairs``: decoded (in memory) or listed (stream mode), split."""

    train: LoadedPairs | None = None  # in memory: the decoded training pairs
    train_list: tuple = ()  # stream mode: the training pairs' files
    val: LoadedPairs | None = None
    found: int = 0  # pairs found (flagged ones excluded)
    held_out: int = 0  # validation pairs held out (or given by --val-pairs)
    usable: int | None = None  # pairs that decoded (unknown in stream mode)


def prepare_data(cfg: TrainConfig, rng: np.random.Generator, *, stream: bool = False,
                 main: bool = True) -> TrainData:
    """The training data and the validation set. ``stream``: the training pairs stay file
    paths (a :class:`StreamSpec`) and at most ``val_limit`` validation pairs are decoded,
    on the ``main`` rank only (the others keep their names: rank 0 alone validates)."""
    summary: dict[str, Any] = {}
    problems: list[str] = []
    real = _real_pairs(cfg, stream, main, summary, problems) if cfg.pairs is not None else _RealPairs()
    degrade = DEFAULT_DEGRADE_CONFIG if cfg.synthetic_tone else DETAIL_DEGRADE_CONFIG
    synthetic = _synthetic_source(cfg, rng, degrade, summary)
    if real.train is None and not real.train_list and synthetic is None:
        raise TrainError("no training data: give --pairs and/or --synthetic")
    val = real.val
    if val is None or not val.names:
        if synthetic is None:
            raise TrainError(_no_validation(cfg, real.found, real.held_out, real.usable, problems))
        val = _synthetic_validation(cfg, synthetic, degrade, stream)
        summary["validation"] = f"{SYNTHETIC_VAL_COUNT} fixed synthetic pairs"
    else:
        summary["validation"] = f"{len(val.names)} real pairs"
    id_root = cfg.identity_photos if cfg.identity_photos is not None else cfg.synthetic
    if cfg.identity_fraction <= 0:
        id_root = None  # no identity examples
    if stream:
        spec = _stream_spec(cfg, real, synthetic, id_root, degrade, summary, problems)
        return TrainData(None, val, summary, spec)
    sampler = _sampler(cfg, rng, real, synthetic, id_root, degrade, summary, problems)
    return TrainData(sampler, val, summary)


def _real_pairs(cfg: TrainConfig, stream: bool, main: bool, summary: dict[str, Any],
                problems: list[str]) -> _RealPairs:
    """``--pairs`` found (flagged pairs excluded), split into training and validation
    (``--val-pairs`` or the held-out ``--val-fraction``), decoded or listed."""
    assert cfg.pairs is not None
    flags = Path(cfg.pairs) / "flags.csv"
    exclude = read_flags(flags) if cfg.exclude_flagged and flags.is_file() else frozenset()
    try:
        pairset = find_pairs(cfg.pairs, exclude=exclude)
    except PairDataError as exc:
        raise TrainError(str(exc)) from exc
    problems += list(pairset.problems)
    real = _RealPairs(found=len(pairset.pairs))
    if cfg.val_pairs is not None:
        try:
            vset = find_pairs(cfg.val_pairs)
        except PairDataError as exc:
            raise TrainError(str(exc)) from exc
        tr, va = pairset.pairs, vset.pairs
        problems += list(vset.problems)
    elif cfg.val_fraction > 0 and len(pairset.pairs) >= 2:
        tr, va = split_pairs(pairset.pairs, cfg.val_fraction, cfg.split_seed)
    else:
        tr, va = pairset.pairs, ()
    real.held_out = len(va)
    if stream:
        if not tr:
            raise TrainError(f"{cfg.pairs}: no training pair")
        real.train_list = tuple(tr)
        limit = cfg.val_limit if cfg.val_limit is not None else STREAM_VAL_LIMIT
        if len(va) > limit:
            summary["val_pairs_held_out"] = len(va)  # held out, only `limit` validated
            va = va[:limit]
        if main:
            val = load_pairs(va, resize_target=cfg.resize_target)
        else:  # names only: rank 0 alone validates
            val = LoadedPairs(tuple(p.name for p in va), (), (), ())
        problems += list(val.problems)
        n_train = len(tr)
    else:
        train_pairs = load_pairs(tr, resize_target=cfg.resize_target)
        val = load_pairs(va, resize_target=cfg.resize_target)
        problems += list(train_pairs.problems) + list(val.problems)
        if not train_pairs.names:
            raise TrainError(f"{cfg.pairs}: no usable training pair ({len(problems)} problems)")
        n_train = len(train_pairs.names)
        real.train = train_pairs
    real.val = val
    summary.update(
        pairs_root=str(cfg.pairs),
        layout=pairset.layout,
        excluded_flagged=sorted(exclude, key=lambda s: (len(s), s)),
        train_pairs=n_train,
        val_pairs=list(val.names),
    )
    real.usable = None if stream else n_train + len(val.names)
    return real


def _synthetic_source(cfg: TrainConfig, rng: np.random.Generator, degrade: DegradeConfig,
                      summary: dict[str, Any]) -> SyntheticPairSource | None:
    """Synthetic pairs from the clean photos of ``--synthetic`` (None without it)."""
    if cfg.synthetic is None:
        return None
    try:
        synthetic = SyntheticPairSource(cfg.synthetic, cfg.patch_size, rng, cfg=degrade)
    except (FileNotFoundError, ValueError) as exc:
        raise TrainError(f"{cfg.synthetic}: {exc}") from exc
    summary.update(synthetic_root=str(cfg.synthetic), synthetic_photos=len(synthetic.photos))
    return synthetic


def _synthetic_validation(cfg: TrainConfig, synthetic: SyntheticPairSource, degrade: DegradeConfig,
                          stream: bool) -> LoadedPairs:
    """A fixed synthetic validation set (own seed: independent of the training stream)."""
    vsrc = SyntheticPairSource(
        synthetic.photos, cfg.patch_size, np.random.default_rng(cfg.split_seed + 1234), cfg=degrade,
        **({"cache_bytes": cfg.cache_mb << 20} if stream else {}),
    )
    samples = [vsrc.sample() for _ in range(SYNTHETIC_VAL_COUNT)]
    return LoadedPairs(
        tuple(f"synthetic-{i}" for i in range(len(samples))),
        tuple(s[0] for s in samples),
        tuple(s[1] for s in samples),
        (),
    )


def _stream_spec(cfg: TrainConfig, real: _RealPairs, synthetic: SyntheticPairSource | None,
                 id_root: Path | None, degrade: DegradeConfig, summary: dict[str, Any],
                 problems: list[str]) -> StreamSpec:
    """Stream mode: what the DataLoader workers read (files, not decoded images)."""
    id_photos: tuple[Path, ...] = ()
    if id_root is not None:
        try:
            id_photos = list_photos(id_root)
        except FileNotFoundError as exc:
            raise TrainError(f"{id_root}: {exc}") from exc
        summary.update(identity_photos=str(id_root), identity_photo_count=len(id_photos))
    summary["problems"] = problems
    try:
        return StreamSpec(
            real.train_list, cfg.patch_size,
            photos=synthetic.photos if synthetic is not None else (),
            synthetic_fraction=cfg.synthetic_fraction, identity_fraction=cfg.identity_fraction,
            identity_photos=id_photos, degrade=degrade, resize_target=cfg.resize_target,
            cache_bytes=cfg.cache_mb << 20,
        )
    except ValueError as exc:
        raise TrainError(f"--identity-share: {exc}") from exc


def _sampler(cfg: TrainConfig, rng: np.random.Generator, real: _RealPairs,
             synthetic: SyntheticPairSource | None, id_root: Path | None, degrade: DegradeConfig,
             summary: dict[str, Any], problems: list[str]) -> BatchSampler:
    """In memory: the batch sampler over the decoded pairs, synthetic and identity photos."""
    identity = None
    if id_root is not None:
        if synthetic is not None and id_root == cfg.synthetic:
            identity = synthetic  # the same photos: one decoded-photo cache, not two
        else:
            try:
                identity = SyntheticPairSource(id_root, cfg.patch_size, rng, cfg=degrade)
            except (FileNotFoundError, ValueError) as exc:
                raise TrainError(f"{id_root}: {exc}") from exc
        summary.update(identity_photos=str(id_root), identity_photo_count=len(identity.photos))
    summary["problems"] = problems
    try:
        return BatchSampler(real.train, synthetic, cfg.patch_size, cfg.synthetic_fraction, rng,
                            identity_fraction=cfg.identity_fraction, identity_photos=identity)
    except ValueError as exc:
        raise TrainError(f"--identity-share: {exc}") from exc
