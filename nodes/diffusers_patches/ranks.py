"""Independent work items split over torch.distributed ranks; every rank gets every result.

Segment-mode keyframes (an item = a batch of gaps) and chunked decoding (an item = a decoder
chunk) use it. Items go to ranks in contiguous blocks, as accelerate's `split_between_processes`
cuts a list; each item is computed exactly as one process computes it, and results travel as raw
bytes, so the gathered list is bitwise the single-process one. Without an initialised process
group of 2+ ranks, items simply run in order here.

Failure without hangs: items run in rounds (round r = each rank's r-th item) and after every round
all ranks all-gather a status (the failed item and its message), before any tensor moves. A
failure anywhere raises `RankFailure` on every rank after that round, naming the item and rank.
Only tensors cross ranks (no pickled objects).
"""
from __future__ import annotations

from typing import Callable

import torch

MESSAGE_BYTES = 1000
MAX_DIMS = 8
DTYPES = (torch.float32, torch.float16, torch.bfloat16, torch.float64, torch.uint8, torch.int64)


class RankFailure(RuntimeError):
    """An item failed on some rank; raised on every rank with the same message."""


def world() -> tuple[int, int] | None:
    """(rank, world size) when torch.distributed runs with 2+ ranks, else None."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
        return dist.get_rank(), dist.get_world_size()
    return None


def rank_items(count: int, rank: int, size: int) -> range:
    """This rank's contiguous block: the first `count % size` ranks take one item more."""
    base, extra = divmod(count, size)
    start = rank * base + min(rank, extra)
    return range(start, start + base + (1 if rank < extra else 0))


def owner(item: int, count: int, size: int) -> int:
    return next(rank for rank in range(size) if item in rank_items(count, rank, size))


def map_over_ranks(count: int, compute: Callable[[int], torch.Tensor], describe: Callable[[int], str]) -> list[torch.Tensor]:
    """[compute(0), ..., compute(count-1)], each computed once across the ranks, on every rank."""
    where = world()
    if where is None:
        return [compute(item) for item in range(count)]
    rank, size = where
    mine = rank_items(count, rank, size)
    done: dict[int, torch.Tensor] = {}
    for round_ in range(len(rank_items(count, 0, size))):
        failure = None
        if round_ < len(mine):
            item = mine[round_]
            try:
                done[item] = compute(item)
            except Exception as error:  # shared with every rank below, then raised there too
                failure = (item, f"{type(error).__name__}: {error}")
        _raise_failures(_gather_status(failure), describe)
    return _exchange(count, size, rank, done)


def _device() -> torch.device:
    import torch.distributed as dist

    if dist.get_backend() == "nccl":
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


def _gather_status(failure: tuple[int, str] | None) -> list[tuple[int, str] | None]:
    import torch.distributed as dist

    status = torch.zeros(1 + MESSAGE_BYTES, dtype=torch.int64)
    status[0] = -1
    if failure is not None:
        text = failure[1].encode("utf-8", "replace")[:MESSAGE_BYTES]
        status[0] = failure[0]
        status[1:1 + len(text)] = torch.tensor(list(text), dtype=torch.int64)
    status = status.to(_device())
    gathered = [torch.empty_like(status) for _ in range(dist.get_world_size())]
    dist.all_gather(gathered, status)
    out = []
    for entry in gathered:
        entry = entry.cpu()
        if int(entry[0]) < 0:
            out.append(None)
        else:
            text = bytes(int(b) for b in entry[1:] if int(b) != 0).decode("utf-8", "replace")
            out.append((int(entry[0]), text))
    return out


def _raise_failures(statuses: list, describe: Callable[[int], str]) -> None:
    failed = [(rank, status) for rank, status in enumerate(statuses) if status is not None]
    if failed:
        raise RankFailure("; ".join(f"{describe(item)} failed on rank {rank}: {message}"
                                    for rank, (item, message) in failed))


def _exchange(count: int, size: int, rank: int, done: dict[int, torch.Tensor]) -> list[torch.Tensor]:
    """Every item broadcast from its owner: shape and dtype first, then the raw bytes."""
    import torch.distributed as dist

    device = _device()
    results = []
    for item in range(count):
        source = owner(item, count, size)
        meta = torch.zeros(2 + MAX_DIMS, dtype=torch.int64)
        if source == rank:
            tensor = done[item]
            if tensor.ndim > MAX_DIMS or tensor.dtype not in DTYPES:
                raise RankFailure(f"cannot send a {tensor.dtype} tensor of {tensor.ndim} dims between ranks")
            meta[0], meta[1] = DTYPES.index(tensor.dtype), tensor.ndim
            meta[2:2 + tensor.ndim] = torch.tensor(tensor.shape, dtype=torch.int64)
        meta = meta.to(device)
        dist.broadcast(meta, src=source)
        meta = meta.cpu()
        dtype, shape = DTYPES[int(meta[0])], [int(d) for d in meta[2:2 + int(meta[1])]]
        if source == rank:
            payload = tensor.detach().contiguous().to(device).view(-1).view(torch.uint8)
        else:
            payload = torch.empty(torch.Size(shape).numel() * dtype.itemsize, dtype=torch.uint8, device=device)
        dist.broadcast(payload, src=source)
        results.append(tensor if source == rank else payload.view(dtype).view(shape))
    return results
