"""Streaming training batches: pairs read lazily by DataLoader workers, sharded per rank.

The in-memory :class:`~photoenhance.train.batches.BatchSampler` decodes every pair up
front; a DPED-scale set (~160k pairs, several GB decoded) does not fit that way. Here the
pairs stay file paths: a :class:`PatchStream` (a ``torch.utils.data.Dataset``) decodes a
pair when a sample needs it, and each DataLoader worker keeps the pairs/photos it decoded
in its own bounded LRU cache (:class:`ImageCache`, uint8).

Which pair a rank sees at which step: every epoch is one permutation of the index space,
``torch.randperm`` seeded with ``seed + epoch`` (the permutation
``torch.utils.data.DistributedSampler`` draws), dealt round-robin to the ranks
(``perm[rank::world_size]``) — without the sampler's padding, so the shards of the ranks
are disjoint and together cover the set (:func:`shard_indices`). Each sample's randomness
(crop, augmentation, synthetic degradation, identity choice) comes from its own generator
seeded by ``(seed, stream, epoch, position, rank)``. The batch of step ``s`` is therefore
a pure function of ``s``: a resumed run needs only the step count, the number of workers
does not change a batch, and no generator state is checkpointed.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from numpy.typing import NDArray
from torch.utils.data import DataLoader, Dataset, Sampler

from photoenhance.data.augment import augment_pair, random_crop_pair
from photoenhance.data.degrade import DEFAULT_DEGRADE_CONFIG, DegradeConfig
from photoenhance.data.pairs import Pair, PairDataError, load_pair
from photoenhance.data.synthetic import clean_window, sample_patch_pair
from photoenhance.io import ImageReadError, read_rgb

#: stream numbers: training batches and calibration batches never share a generator
TRAIN_STREAM, CALIB_STREAM = 0, 1

SampleKey = tuple[int, tuple[int, ...]]  # (index into the shard space, generator entropy)


def _to_u8(a: NDArray[np.float32]) -> NDArray[np.uint8]:
    return np.rint(a * np.float32(255.0)).astype(np.uint8)


def _to_f32(a: NDArray[np.uint8]) -> NDArray[np.float32]:
    return a.astype(np.float32) * np.float32(1.0 / 255.0)


class ImageCache:
    """LRU cache of decoded images (uint8 arrays or tuples of them), bounded in bytes.

    One per DataLoader worker (each worker holds its own copy of the dataset). An item
    larger than the bound is returned but not kept; ``max_bytes=0`` keeps nothing.
    """

    def __init__(self, max_bytes: int):
        self.max_bytes = int(max_bytes)
        self._items: OrderedDict[Hashable, tuple[NDArray[np.uint8], ...]] = OrderedDict()
        self.bytes = 0

    def __len__(self) -> int:
        return len(self._items)

    def get(self, key: Hashable, load: Callable[[], tuple[NDArray[np.uint8], ...]]
            ) -> tuple[NDArray[np.uint8], ...]:
        hit = self._items.get(key)
        if hit is not None:
            self._items.move_to_end(key)
            return hit
        value = load()
        size = sum(a.nbytes for a in value)
        if size <= self.max_bytes:
            self._items[key] = value
            self.bytes += size
            while self.bytes > self.max_bytes:
                _, old = self._items.popitem(last=False)
                self.bytes -= sum(a.nbytes for a in old)
        return value


@dataclass(frozen=True)
class StreamSpec:
    """What a :class:`PatchStream` samples (picklable: sent to every worker and rank).

    ``pairs`` are the training pairs (the index space when present, else ``photos``);
    ``photos`` the clean photos of synthetic pairs; ``identity_photos`` those of identity
    examples. Shares as in :class:`~photoenhance.train.batches.BatchSampler`.
    """

    pairs: tuple[Pair, ...]
    patch_size: int
    photos: tuple[Path, ...] = ()
    synthetic_fraction: float = 0.0
    identity_fraction: float = 0.0
    identity_photos: tuple[Path, ...] = ()
    degrade: DegradeConfig = DEFAULT_DEGRADE_CONFIG
    resize_target: bool = False
    cache_bytes: int = 256 << 20

    def __post_init__(self) -> None:
        if not self.pairs and not self.photos:
            raise ValueError("no training data: give real pairs and/or synthetic photos")
        if not 0.0 <= self.identity_fraction < 1.0:
            raise ValueError(f"identity share must be in [0, 1), got {self.identity_fraction}")

    @property
    def size(self) -> int:
        """Length of the index space that is sharded over the ranks."""
        return len(self.pairs) if self.pairs else len(self.photos)


@dataclass(frozen=True)
class Sample:
    x: torch.Tensor  # CHW float32
    y: torch.Tensor
    problems: tuple[str, ...]


class PatchStream(Dataset):
    """``stream[(index, entropy)]`` → one augmented patch pair (:class:`Sample`).

    The kind of example is drawn first, as in ``BatchSampler.sample``: an identity
    example (input = target: a DSLR-side crop of pair ``index``, or — half the time when
    ``identity_photos`` exist — a clean photo crop), a synthetic pair (a random photo,
    degraded), else a crop of pair ``index``. A pair or photo that cannot be used is
    replaced by the next one and reported in :attr:`Sample.problems` (the batch goes on).
    """

    def __init__(self, spec: StreamSpec):
        self.spec = spec
        has_real = bool(spec.pairs)
        self.fraction = (spec.synthetic_fraction if has_real else 1.0) if spec.photos else 0.0
        has_identity = has_real or bool(spec.identity_photos)
        self.identity = spec.identity_fraction if has_identity else 0.0
        self.cache = ImageCache(spec.cache_bytes)

    def __len__(self) -> int:
        return self.spec.size

    # -- decoding (cached) -----------------------------------------------------------
    def _pair(self, i: int, problems: list[str]) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
        pairs = self.spec.pairs
        for k in range(len(pairs)):
            pair = pairs[(i + k) % len(pairs)]
            try:
                a, b = self.cache.get(("pair", pair.name), lambda p=pair: tuple(
                    _to_u8(v) for v in load_pair(p, resize_target=self.spec.resize_target)))
            except PairDataError as exc:
                problems.append(str(exc))
                continue
            return _to_f32(a), _to_f32(b)
        raise ValueError("no usable pair: " + "; ".join(problems[-3:]))

    def _photo(self, photos: Sequence[Path], i: int, problems: list[str]) -> NDArray[np.uint8]:
        p = self.spec.patch_size
        for k in range(len(photos)):
            path = photos[(i + k) % len(photos)]
            try:
                (arr,) = self.cache.get(("photo", path), lambda q=path: (_to_u8(read_rgb(q)),))
            except ImageReadError as exc:
                problems.append(str(exc))
                continue
            if min(arr.shape[:2]) < p:
                problems.append(f"{path}: {arr.shape[1]}x{arr.shape[0]} is smaller than the {p}px patch")
                continue
            return arr
        raise ValueError("no usable photo: " + "; ".join(problems[-3:]))

    # -- one sample ------------------------------------------------------------------
    def __getitem__(self, key: SampleKey) -> Sample:  # type: ignore[override]
        index, entropy = key
        rng = np.random.default_rng(list(entropy))
        spec, problems = self.spec, []
        p = spec.patch_size
        if self.identity > 0 and float(rng.random()) < self.identity:
            use_target = bool(spec.pairs) and (not spec.identity_photos or float(rng.random()) < 0.5)
            if use_target:
                a_full, b_full = self._pair(index, problems)
                a = random_crop_pair(a_full, b_full, min(p, *a_full.shape[:2]), rng)[1]
            else:
                photos = spec.identity_photos
                photo = self._photo(photos, int(rng.integers(0, len(photos))), problems)
                a = clean_window(photo, p, rng)
            b = a.copy()
        elif self.fraction > 0 and float(rng.random()) < self.fraction:
            i = index if not spec.pairs else int(rng.integers(0, len(spec.photos)))
            a, b = sample_patch_pair(self._photo(spec.photos, i, problems), p, rng, spec.degrade)
        else:
            a_full, b_full = self._pair(index, problems)
            a, b = random_crop_pair(a_full, b_full, min(p, *a_full.shape[:2]), rng)
        a, b = augment_pair(a, b, rng)
        return Sample(torch.from_numpy(np.ascontiguousarray(a.transpose(2, 0, 1))),
                      torch.from_numpy(np.ascontiguousarray(b.transpose(2, 0, 1))),
                      tuple(problems))


def collate(samples: list[Sample]) -> tuple[torch.Tensor, torch.Tensor, tuple[str, ...]]:
    """Stack a batch (cropped to its smallest patch, as ``BatchSampler`` does)."""
    size = min(min(s.x.shape[1], s.x.shape[2]) for s in samples)
    x = torch.stack([s.x[:, :size, :size] for s in samples])
    y = torch.stack([s.y[:, :size, :size] for s in samples])
    problems = tuple(dict.fromkeys(m for s in samples for m in s.problems))
    return x, y, problems


def shard_indices(n: int, rank: int, world_size: int, seed: int, epoch: int) -> list[int]:
    """The indices of ``rank`` in ``epoch``: ``randperm(n)`` seeded ``seed + epoch`` (as
    ``DistributedSampler``), every ``world_size``-th from ``rank`` — no padding, so the
    shards are disjoint and cover ``range(n)``."""
    if not 0 <= rank < world_size:
        raise ValueError(f"rank {rank} outside world size {world_size}")
    g = torch.Generator()
    g.manual_seed(seed + epoch)
    return torch.randperm(n, generator=g)[rank::world_size].tolist()


class StreamBatches(Sampler[list[SampleKey]]):
    """The keys of steps ``start … stop - 1`` of one rank (a DataLoader ``batch_sampler``).

    Sample ``j`` of step ``s`` is position ``s·batch + j`` of the rank's endless stream,
    which runs through the rank's shard of epoch 0, then of epoch 1, and so on.
    """

    def __init__(self, n: int, batch_size: int, start: int, stop: int, *, seed: int,
                 rank: int = 0, world_size: int = 1, stream: int = TRAIN_STREAM):
        if n < world_size:
            raise ValueError(f"{n} training items cannot be shared by {world_size} processes")
        self.n, self.batch_size, self.start, self.stop = n, batch_size, start, stop
        self.seed, self.rank, self.world_size, self.stream = seed, rank, world_size, stream
        self.per_rank = len(range(rank, n, world_size))
        self._epoch: tuple[int, list[int]] | None = None

    def __len__(self) -> int:
        return max(self.stop - self.start, 0)

    def _indices(self, epoch: int) -> list[int]:
        if self._epoch is None or self._epoch[0] != epoch:
            # the calibration stream has its own permutations (seed offset by the stream)
            seed = self.seed + self.stream * 1_000_003
            self._epoch = (epoch, shard_indices(self.n, self.rank, self.world_size, seed, epoch))
        return self._epoch[1]

    def __iter__(self) -> Iterator[list[SampleKey]]:
        for step in range(self.start, self.stop):
            batch = []
            for j in range(self.batch_size):
                epoch, offset = divmod(step * self.batch_size + j, self.per_rank)
                index = self._indices(epoch)[offset]
                batch.append((index, (self.seed, self.stream, epoch, offset, self.rank)))
            yield batch


def make_loader(dataset: PatchStream, batches: StreamBatches, workers: int,
                pin_memory: bool = False) -> DataLoader[Any]:
    """A DataLoader over ``batches`` (in order), ``workers`` decoding processes."""
    return DataLoader(
        dataset,
        batch_sampler=batches,
        num_workers=workers,
        collate_fn=collate,
        pin_memory=pin_memory,
        prefetch_factor=4 if workers > 0 else None,
    )
