"""Distributed data-parallel training (torch DDP): process group set-up and ``--nproc``.

A run is distributed when ``WORLD_SIZE`` > 1 in the environment: ``torchrun`` sets it
(with ``RANK``, ``LOCAL_RANK``, ``MASTER_ADDR``/``MASTER_PORT``) on one node or many, and
:func:`launch` (``photoenhance train --nproc N``) sets the same variables for N processes
on this machine, started with ``torch.multiprocessing.spawn`` and a free loopback port.
Spawn rather than torchrun's elastic agent because the command stays one process that
owns its children: ``TrainError`` messages, progress events and the result come back over
a queue, so ``--nproc`` prints and exits like a 1-process run; spawn terminates the other
ranks as soon as one fails. Multi-node runs use torchrun itself.

Backend: NCCL when the ranks train on CUDA (one GPU per local rank), Gloo on the CPU.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class DistInfo:
    """This process's place in the run (``world_size == 1``: not distributed)."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    backend: str | None = None
    owns_group: bool = False  # this run created the process group (and destroys it)

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def env_info() -> DistInfo:
    """Rank and world size from torchrun's environment variables (none: one process)."""
    try:
        world = int(os.environ.get("WORLD_SIZE", "1"))
        rank = int(os.environ.get("RANK", "0"))
        local = int(os.environ.get("LOCAL_RANK", str(rank)))
    except ValueError as exc:
        raise ValueError(f"bad RANK/WORLD_SIZE/LOCAL_RANK environment: {exc}") from exc
    if world < 1 or not 0 <= rank < world:
        raise ValueError(f"bad distributed environment: RANK={rank}, WORLD_SIZE={world}")
    return DistInfo(rank, world, local)


def init(device_name: str, timeout_s: float) -> tuple[DistInfo, torch.device | None]:
    """Join the process group of a distributed run (no-op for one process).

    Returns the rank info and, for a distributed run, its device (``cuda:LOCAL_RANK`` with
    NCCL, else the CPU with Gloo); ``None`` for one process (the caller picks the device).
    """
    info = env_info()
    if not info.distributed:
        return info, None
    use_cuda = device_name == "cuda" or (device_name == "auto" and torch.cuda.is_available())
    if use_cuda:
        if not torch.cuda.is_available():
            raise ValueError("--device cuda: no CUDA device available")
        torch.cuda.set_device(info.local_rank % torch.cuda.device_count())
        device, backend = torch.device("cuda", torch.cuda.current_device()), "nccl"
    else:
        device, backend = torch.device("cpu"), "gloo"
    owns = not dist.is_initialized()
    if owns:
        dist.init_process_group(backend, timeout=timedelta(seconds=timeout_s))
    return DistInfo(info.rank, info.world_size, info.local_rank, dist.get_backend(), owns), device


def barrier() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.barrier()


def broadcast_module(module: torch.nn.Module) -> None:
    """Every tensor of ``module``'s state (weights, quantizer scales and buffers) from
    rank 0 to all ranks (in place)."""
    if not (dist.is_available() and dist.is_initialized()):
        return
    with torch.no_grad():
        for t in module.state_dict().values():
            dist.broadcast(t, src=0)


def broadcast_object(obj: Any) -> Any:
    """Rank 0's ``obj`` (picklable; tensors included) on every rank."""
    if not (dist.is_available() and dist.is_initialized()):
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def gather_lines(lines: list[str]) -> list[str]:
    """The union (first-seen order) of every rank's ``lines``, on every rank."""
    if not (dist.is_available() and dist.is_initialized()):
        return list(dict.fromkeys(lines))
    out: list[Any] = [None] * dist.get_world_size()
    dist.all_gather_object(out, list(lines))
    return list(dict.fromkeys(s for part in out for s in part))


def cleanup() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def leave(info: DistInfo) -> None:
    """Wait for every rank (rank 0 may still be writing), then leave the process group
    if this run created it."""
    if info.distributed:
        barrier()
        if info.owns_group:
            cleanup()


def free_port() -> int:
    """A currently free TCP port on the loopback interface (for MASTER_PORT)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _rank_main(rank: int, world: int, port: int, fn: Callable[..., Any], args: tuple[Any, ...],
               queue: Any) -> None:
    """Entry point of one spawned rank: torchrun's environment, then ``fn(*args, send)``."""
    os.environ.update(
        RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE=str(world), LOCAL_WORLD_SIZE=str(world),
        MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port),
    )
    try:
        value = fn(*args, lambda kind, payload: queue.put((rank, kind, payload)))
    except ValueError as exc:  # TrainError and data errors: one line, no traceback
        queue.put((rank, "error", str(exc)))
        raise SystemExit(3) from None
    queue.put((rank, "result", value))


class LaunchError(RuntimeError):
    """A rank failed with an error message (``ValueError`` inside the rank)."""


class RankLostError(LaunchError):
    """A rank ended without a message: killed by a signal (``kill -9``, the OOM killer)
    or exited with a non-zero code."""


def launch(nproc: int, fn: Callable[..., Any], args: tuple[Any, ...],
           on_message: Callable[[int, str, Any], None] | None = None) -> Any:
    """Run ``fn(*args, send)`` in ``nproc`` spawned ranks; return rank 0's return value.

    ``send(kind, payload)`` in a rank reaches ``on_message(rank, kind, payload)`` here
    (picklable payloads). A rank that raises ``ValueError`` makes this raise
    :class:`LaunchError` with its message; a rank killed by a signal or exiting with a
    non-zero code, :class:`RankLostError` naming it; an exception raised in a rank
    (a bug), spawn's own exception with its traceback.
    Every rank is terminated when one fails or when this process is interrupted.
    """
    import logging

    import torch.multiprocessing as mp
    from torch.multiprocessing.spawn import ProcessException, ProcessExitedException

    # spawn logs "Terminating process N via signal SIGTERM" for the ranks it stops after
    # one failed: the failure is reported once, below
    logging.getLogger("torch.multiprocessing.spawn").setLevel(logging.ERROR)
    # a rank killed with -9 cannot release its semaphores: multiprocessing's resource
    # tracker (started here, with this environment) removes them - without a warning
    quiet = "ignore::UserWarning:multiprocessing.resource_tracker"
    saved = os.environ.get("PYTHONWARNINGS")
    os.environ["PYTHONWARNINGS"] = f"{saved},{quiet}" if saved else quiet
    try:
        queue = mp.get_context("spawn").SimpleQueue()
    finally:
        if saved is None:
            os.environ.pop("PYTHONWARNINGS", None)
        else:
            os.environ["PYTHONWARNINGS"] = saved
    ctx = mp.spawn(_rank_main, args=(nproc, free_port(), fn, args, queue), nprocs=nproc,
                   join=False)
    results: dict[int, Any] = {}
    errors: list[str] = []

    def drain() -> None:
        while not queue.empty():
            rank, kind, payload = queue.get()
            if kind == "result":
                results[rank] = payload
            elif kind == "error":
                errors.append(payload)
            elif on_message is not None:
                on_message(rank, kind, payload)

    try:
        while True:
            drain()
            if ctx.join(timeout=0.2):
                break
    except ProcessException as exc:
        drain()
        if errors:
            raise LaunchError(errors[0]) from None
        if isinstance(exc, ProcessExitedException):  # no message: killed, or exited
            how = (f"was killed ({exc.signal_name})" if exc.signal_name
                   else f"exited with code {exc.exit_code}")  # fmt: skip
            raise RankLostError(f"rank {exc.error_index} {how}") from None
        raise
    finally:
        for p in ctx.processes:  # only after a failure or an interrupt are any alive
            if p.is_alive():
                p.terminate()
        for p in ctx.processes:
            p.join(5)
    drain()
    return results.get(0)
