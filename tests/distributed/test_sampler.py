"""DistributedSampler: the union of the shards is each epoch's permutation exactly once, in
global-batch order; epochs differ without set_epoch; every rank yields as many batches; a short
last batch is split evenly (no padding); the DataLoader protocol; exact metric reduction."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from nabla.data import DataLoader, TensorDataset
from nabla.distributed.communicator import ThreadCommunicator, run_threads
from nabla.distributed.metrics import MetricSums, reduce_metrics, reduce_sums
from nabla.distributed.sampler import DistributedBatchSampler, DistributedSampler, shard_sizes


def samplers(n: int, size: int, b: int | None, **kwargs: Any) -> list[DistributedSampler]:
    data = range(n)
    return [
        DistributedSampler(data, num_replicas=size, rank=r, batch_size=b, **kwargs)
        for r in range(size)
    ]


@pytest.mark.parametrize("size", [1, 2, 3])
@pytest.mark.parametrize("n", [0, 1, 7, 24, 25, 29])
def test_shards_cover_each_epochs_permutation_once_in_global_batch_order(
    size: int, n: int
) -> None:
    b = 4
    every = samplers(n, size, b, seed=5)
    reference = DistributedSampler(range(n), 1, 0, seed=5)
    orders = []
    for epoch in range(3):
        batches = [list(s.batches()) for s in every]  # no set_epoch: each pass moves on
        counts = {len(rank_batches) for rank_batches in batches}
        assert counts == {-(-n // (size * b))}  # the same number of batches on every rank
        joined = [i for k in range(len(batches[0])) for rank in batches for i in rank[k]]
        expected = reference.permutation(epoch).tolist()
        assert joined == expected  # every index exactly once, global batch k = perm[k·N·b:…]
        assert sorted(joined) == list(range(n))
        for k in range(len(batches[0])):
            sizes = [len(rank[k]) for rank in batches]
            assert sizes == shard_sizes(sum(sizes), size)  # even split, no padding
            if k < len(batches[0]) - 1:
                assert sizes == [b] * size
        orders.append(joined)
    if n > 3:
        assert orders[0] != orders[1] != orders[2]  # epochs differ without set_epoch
    for s in every:
        assert s.epoch == 3


def test_a_short_last_batch_can_leave_ranks_with_no_rows() -> None:
    every = samplers(13, 3, 2, shuffle=False)
    assert [list(s.batches()) for s in every] == [
        [[0, 1], [6, 7], [12]],
        [[2, 3], [8, 9], []],
        [[4, 5], [10, 11], []],
    ]
    assert [len(s) for s in every] == [5, 4, 4]
    assert shard_sizes(7, 3) == [3, 2, 2] and shard_sizes(1, 3) == [1, 0, 0]


def test_iter_len_set_epoch_state_and_drop_last() -> None:
    s = DistributedSampler(range(10), 2, 1, seed=1, batch_size=2)
    first = list(s)
    assert len(first) == len(s) == 5 and s.epoch == 1
    s.set_epoch(0)  # accepted: chooses the next pass's epoch
    assert list(s) == first
    state = s.state_dict()
    other = DistributedSampler(range(10), 2, 1, seed=1, batch_size=2)
    other.load_state_dict(state)
    assert list(other) == list(s)
    dropped = DistributedSampler(range(10), 2, 1, shuffle=False, drop_last=True, batch_size=2)
    assert list(dropped.batches()) == [[2, 3], [6, 7]] and len(dropped) == 4
    whole = DistributedSampler(range(5), 2, 1, shuffle=False)  # no batch_size: one even split
    assert list(whole) == [3, 4] and len(whole) == 2


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="invalid rank 2"):
        DistributedSampler(range(3), 2, 2)
    with pytest.raises(ValueError, match="num_replicas must be an int >= 1"):
        DistributedSampler(range(3), 0, 0)
    with pytest.raises(ValueError, match="batch_size must be an int >= 1"):
        DistributedSampler(range(3), 1, 0, batch_size=0)
    with pytest.raises(ValueError, match="needs a batch_size"):
        DistributedBatchSampler(DistributedSampler(range(3), 1, 0))


def test_data_loader_with_the_batch_sampler_yields_empty_batches_too() -> None:
    X = np.arange(26.0).reshape(13, 2)
    y = np.arange(13)
    dataset = TensorDataset(X, y)
    lengths = []
    for rank in range(3):
        sampler = DistributedSampler(dataset, 3, rank, shuffle=False, batch_size=2)
        loader = DataLoader(dataset, batch_sampler=DistributedBatchSampler(sampler))
        batches = list(loader)
        assert len(batches) == len(loader) == 3
        lengths.append([len(yb) for _, yb in batches])
        assert batches[-1][0].shape == ((1, 2) if rank == 0 else (0, 2))
        assert len(list(loader)) == 3 and sampler.epoch == 2  # the next epoch
    assert lengths == [[2, 2, 1], [2, 2, 0], [2, 2, 0]]


def test_metrics_reduced_across_ranks_equal_one_process() -> None:
    rng = np.random.default_rng(0)
    losses = rng.random(13)
    correct = rng.random(13) < 0.6
    shares = [np.arange(0, 5), np.arange(5, 13), np.arange(13, 13)]

    def rank_fn(comm: ThreadCommunicator) -> dict[str, float]:
        sums = MetricSums()
        mine = shares[comm.rank]
        for chunk in (mine[:3], mine[3:]):
            loss = losses[chunk].mean() if len(chunk) else float("nan")
            sums.add(loss, len(chunk), correct[chunk].sum())
        return sums.reduce(comm)

    for result in run_threads(3, rank_fn):
        assert result["rows"] == 13 and result["correct"] == correct.sum()
        assert result["accuracy"] == correct.sum() / 13
        assert abs(result["loss"] - losses.mean()) <= 1e-15
    empty = run_threads(2, lambda comm: reduce_metrics(0.0, 0, 0, comm))
    assert all(np.isnan(r["loss"]) and np.isnan(r["accuracy"]) for r in empty)
    sums = run_threads(2, lambda comm: reduce_sums({"a": comm.rank, "b": 1.5}, comm))
    assert sums == [{"a": 1.0, "b": 3.0}] * 2
