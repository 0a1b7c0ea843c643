"""Each rank's share of each global batch, without padding, duplicates or ``set_epoch``.

With N ranks and a local batch size b, one process with batch N·b would visit the epoch's
permutation in global batches ``perm[k·N·b : (k+1)·N·b]``. :class:`DistributedSampler` gives
rank r the r-th contiguous share of each global batch; the last global batch, when short, is
split as evenly as possible (the first ``m mod N`` ranks get one row more; a rank may get 0
rows). Nothing is padded or dropped, so the union of the shards is the permutation, each index
exactly once, and every rank yields the same number of batches (the collectives line up).

Every pass (``iter``) uses the next epoch's permutation, drawn from ``(seed, epoch)`` alone, so
every rank draws the same one and there is no ``set_epoch`` to forget (``set_epoch`` is still
accepted: it chooses the epoch of the next pass).
"""

from __future__ import annotations

from collections.abc import Iterator, Sized
from typing import Any

import numpy as np

from nabla.data.sampler import Sampler

__all__ = ["DistributedBatchSampler", "DistributedSampler", "shard_sizes"]


def shard_sizes(rows: int, num_replicas: int) -> list[int]:
    """How ``rows`` rows are split over ``num_replicas`` ranks: as evenly as possible, the
    first ranks taking one more. ``shard_sizes(7, 3) == [3, 2, 2]``."""
    base, extra = divmod(rows, num_replicas)
    return [base + (1 if r < extra else 0) for r in range(num_replicas)]


def _check_count(value: Any, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"DistributedSampler: {name} must be an int >= {minimum}, got {value!r}")
    return int(value)


class DistributedSampler(Sampler[int]):
    """This rank's indices of each epoch, in global-batch order (PyTorch's argument names).

    Parameters
    ----------
    dataset : Sized
        Only its length is used.
    num_replicas, rank : int, optional
        The number of ranks and this one's; default: the communicator's
        (``nabla.distributed.get_communicator()``).
    shuffle : bool, default True
        A new permutation each epoch; without it, the indices in order.
    seed : int, default 0
        With the epoch, seeds the permutation (the same on every rank).
    drop_last : bool, default False
        Drop the last global batch when it is short (on every rank alike). Nothing is padded.
    batch_size : int, optional
        The local batch size b: global batches have N·b rows. Without it the whole epoch is one
        global batch, split evenly (then use it as a ``sampler=`` only if the shards need not
        give the same number of batches on every rank).

    Examples
    --------
    >>> s = DistributedSampler(range(7), num_replicas=3, rank=0, shuffle=False, batch_size=2)
    >>> list(s.batches())
    [[0, 1], [6]]
    >>> [list(DistributedSampler(range(7), 3, r, False, batch_size=2).batches()) for r in (1, 2)]
    [[[2, 3], []], [[4, 5], []]]
    """

    def __init__(
        self,
        dataset: Sized,
        num_replicas: int | None = None,
        rank: int | None = None,
        shuffle: bool = True,
        seed: int = 0,
        drop_last: bool = False,
        *,
        batch_size: int | None = None,
    ) -> None:
        if num_replicas is None or rank is None:
            from nabla.distributed.ddp import default_communicator

            comm = default_communicator()
            num_replicas = comm.size if num_replicas is None else num_replicas
            rank = comm.rank if rank is None else rank
        self.num_replicas = _check_count(num_replicas, "num_replicas", 1)
        self.rank = _check_count(rank, "rank", 0)
        if self.rank >= self.num_replicas:
            raise ValueError(
                f"DistributedSampler: invalid rank {rank}, rank should be in the interval "
                f"[0, {self.num_replicas - 1}]"
            )
        self.dataset = dataset
        self.shuffle = bool(shuffle)
        self.seed = int(seed)
        self.drop_last = bool(drop_last)
        self.batch_size = None if batch_size is None else _check_count(batch_size, "batch_size", 1)
        #: the epoch the next pass uses; each pass advances it
        self.epoch = 0

    # ----- the epoch ---------------------------------------------------------------------------
    def set_epoch(self, epoch: int) -> None:
        """Make the next pass use ``epoch`` (not needed: every pass moves to the next epoch)."""
        self.epoch = int(epoch)

    def permutation(self, epoch: int) -> np.ndarray[Any, Any]:
        """The global order of ``epoch``: the same on every rank."""
        n = len(self.dataset)
        if not self.shuffle:
            return np.arange(n)
        return np.random.default_rng([self.seed, epoch]).permutation(n)

    def state_dict(self) -> dict[str, int]:
        """``{"epoch": the epoch of the next pass}``, for checkpoints."""
        return {"epoch": self.epoch}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.epoch = int(state["epoch"])

    # ----- the shards ----------------------------------------------------------------------------
    @property
    def global_batch_size(self) -> int:
        """N·b (the whole dataset without ``batch_size``)."""
        if self.batch_size is None:
            return max(len(self.dataset), 1)
        return self.num_replicas * self.batch_size

    def num_batches(self) -> int:
        """Batches per epoch, the same on every rank."""
        n, size = len(self.dataset), self.global_batch_size
        return n // size if self.drop_last else -(-n // size)

    def epoch_batches(self, epoch: int) -> list[list[int]]:
        """This rank's batches of ``epoch`` (lists of indices; some may be empty)."""
        order = self.permutation(epoch)
        size, out = self.global_batch_size, []
        for k in range(self.num_batches()):
            chunk = order[k * size : (k + 1) * size]
            sizes = shard_sizes(len(chunk), self.num_replicas)
            start = sum(sizes[: self.rank])
            out.append(chunk[start : start + sizes[self.rank]].tolist())
        return out

    def batches(self) -> Iterator[list[int]]:
        """The next epoch's batches of this rank (advances the epoch)."""
        epoch, self.epoch = self.epoch, self.epoch + 1
        return iter(self.epoch_batches(epoch))

    def __iter__(self) -> Iterator[int]:
        return iter([i for batch in self.batches() for i in batch])

    def __len__(self) -> int:
        """Indices this rank gets per epoch."""
        n, size = len(self.dataset), self.global_batch_size
        full = n // size
        total = full * shard_sizes(size, self.num_replicas)[self.rank]
        if not self.drop_last and n % size:
            total += shard_sizes(n % size, self.num_replicas)[self.rank]
        return total


class DistributedBatchSampler(Sampler[list[int]]):
    """``DataLoader(dataset, batch_sampler=DistributedBatchSampler(sampler))``: this rank's
    batches, one per global batch (possibly empty, never padded), as many on every rank.

    ``dataset`` must turn an empty index list into an empty batch (array and tensor datasets
    do: the loader indexes them with an array).
    """

    def __init__(self, sampler: DistributedSampler) -> None:
        if not isinstance(sampler, DistributedSampler):
            raise TypeError(
                f"DistributedBatchSampler: expected a DistributedSampler, got "
                f"{type(sampler).__name__}"
            )
        if sampler.batch_size is None:
            raise ValueError("DistributedBatchSampler: the sampler needs a batch_size")
        self.sampler = sampler
        self.batch_size = sampler.batch_size

    def __iter__(self) -> Iterator[list[int]]:
        return self.sampler.batches()

    def __len__(self) -> int:
        return self.sampler.num_batches()
