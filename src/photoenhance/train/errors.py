"""The errors of a training run (torch-free: the CLI catches them without importing torch)."""

from __future__ import annotations


class TrainError(ValueError):
    """A run cannot start (bad data, bad options, bad checkpoint): one-line message."""


class RankLostError(TrainError):
    """A rank of a ``--nproc`` run was killed (or exited) mid-run; ``--resume`` goes on
    from the last checkpoint."""
