"""DistributedDataParallel on threads (run_threads) against one process with the whole batch:
N ranks with local batch b give, step by step, the parameters of one process with batch N·b
(float64 to 1e-12, float32 to round-off), for SGD with momentum and Adam, with an uneven last
batch (a rank with 0 rows included), dropout, no_sync accumulation and reduction="sum"; two
runs with the same N are bitwise equal; one allreduce per step."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import nabla as nb
import nabla.nn.functional as F
from nabla import nn, optim
from nabla.distributed.communicator import DistributedError, ThreadCommunicator, run_threads
from nabla.distributed.ddp import DistributedDataParallel, broadcast_optimizer_state
from nabla.distributed.sampler import DistributedSampler

N_FEATURES, N_CLASSES = 5, 3


class SeededDropout(nn.Module):
    """Dropout drawing from its own generator: threads share nabla's global one, so each rank
    (thread) gets a generator seeded ``seed + rank`` — the per-rank seed rule."""

    def __init__(self, p: float, generator: np.random.Generator) -> None:
        super().__init__()
        self.p, self.generator = p, generator

    def forward(self, x: Any) -> Any:
        return F.dropout(x, self.p, self.training, generator=self.generator)


def make_model(seed: int, dtype: Any, dropout_seed: int | None = None) -> nn.Module:
    nb.manual_seed(seed)
    layers: list[nn.Module] = [nn.Linear(N_FEATURES, 8, dtype=dtype), nn.Tanh()]
    if dropout_seed is not None:
        layers.append(SeededDropout(0.3, np.random.default_rng(dropout_seed)))
    layers.append(nn.Linear(8, N_CLASSES, dtype=dtype))
    return nn.Sequential(*layers)


def make_data(n: int, dtype: Any) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    return rng.normal(size=(n, N_FEATURES)).astype(dtype), rng.integers(0, N_CLASSES, n)


def make_optimizer(kind: str, params: Any) -> optim.Optimizer:
    if kind == "sgd":
        return optim.SGD(params, lr=0.1, momentum=0.9)
    return optim.Adam(params, lr=0.01)


def snapshot(model: nn.Module) -> list[np.ndarray]:
    return [p.data.copy() for p in model.parameters()]


def run_ranks(
    size: int, b: int, n: int, kind: str, dtype: Any, epochs: int = 2, dropout: bool = False
) -> list[list[list[np.ndarray]]]:
    """Each rank's parameters after every step; rank r's model starts from seed 100 + r (the
    wrapper must broadcast rank 0's)."""
    X, y = make_data(n, dtype)
    models = [
        make_model(100 + r, dtype, 1000 + r if dropout else None) for r in range(size)
    ]  # built here: model initialisation draws from the global generator, shared by threads

    def rank_fn(comm: ThreadCommunicator) -> list[list[np.ndarray]]:
        model = DistributedDataParallel(models[comm.rank], comm)
        opt = make_optimizer(kind, model.parameters())
        sampler = DistributedSampler(X, batch_size=b, seed=3, num_replicas=size, rank=comm.rank)
        history = []
        for _ in range(epochs):
            for batch in sampler.batches():
                opt.zero_grad()
                loss = F.cross_entropy(model(nb.tensor(X[batch])), nb.tensor(y[batch]))
                loss.backward()
                opt.step()
                history.append(snapshot(model))
        return history

    return run_threads(size, rank_fn)


def run_single(
    size: int, b: int, n: int, kind: str, dtype: Any, epochs: int = 2, dropout: bool = False
) -> list[list[np.ndarray]]:
    """One process with batch N·b over the same global batches. With dropout it forwards each
    rank's share with that rank's generator (the same masks) and backpropagates once the mean
    loss over the whole global batch."""
    X, y = make_data(n, dtype)
    model = make_model(100, dtype)
    generators = [np.random.default_rng(1000 + r) for r in range(size)]
    opt = make_optimizer(kind, model.parameters())
    sampler = DistributedSampler(X, batch_size=b, seed=3, num_replicas=size, rank=0)
    history = []
    for epoch in range(epochs):
        order = sampler.permutation(epoch)
        for k in range(sampler.num_batches()):
            batch = order[k * size * b : (k + 1) * size * b]
            opt.zero_grad()
            if not dropout:
                loss = F.cross_entropy(model(nb.tensor(X[batch])), nb.tensor(y[batch]))
            else:
                shares = np.array_split(batch, size)  # the sampler's split: first ranks longer
                total: Any = 0.0
                for r, share in enumerate(shares):
                    h = model[1](model[0](nb.tensor(X[share])))
                    h = F.dropout(h, 0.3, True, generator=generators[r])
                    logits = model[2](h)
                    total = total + F.cross_entropy(logits, nb.tensor(y[share]), reduction="sum")
                loss = total / len(batch)
            loss.backward()
            opt.step()
            history.append(snapshot(model))
    return history


def max_difference(ranks: list[list[list[np.ndarray]]], single: list[list[np.ndarray]]) -> float:
    assert all(len(h) == len(single) for h in ranks)
    worst = 0.0
    for history in ranks:
        for step, params in enumerate(history):
            for p, q in zip(params, single[step]):
                assert p.dtype == q.dtype
                worst = max(worst, float(np.max(np.abs(p - q))))
    return worst


def assert_ranks_identical(ranks: list[list[list[np.ndarray]]]) -> None:
    for history in ranks[1:]:
        for params, first in zip(history, ranks[0]):
            for p, q in zip(params, first):
                np.testing.assert_array_equal(p, q)


# dataset sizes: 2·N·b + N + 1 leaves a short last global batch of N + 1 rows (uneven shares);
# 2·N·b + 1 leaves one row (the other ranks get 0)
@pytest.mark.parametrize("size", [1, 2, 3])
@pytest.mark.parametrize("kind", ["sgd", "adam"])
@pytest.mark.parametrize("extra", ["uneven", "one row"])
def test_float64_equals_one_process_with_the_whole_batch(size: int, kind: str, extra: str) -> None:
    b = 4
    n = 2 * size * b + (size + 1 if extra == "uneven" else 1)
    ranks = run_ranks(size, b, n, kind, np.float64)
    assert_ranks_identical(ranks)
    assert max_difference(ranks, run_single(size, b, n, kind, np.float64)) <= 1e-12


@pytest.mark.parametrize("size", [2, 3])
@pytest.mark.parametrize("kind", ["sgd", "adam"])
def test_float32_equals_one_process_to_round_off(size: int, kind: str) -> None:
    b, n = 4, 2 * size * 4 + size + 1
    ranks = run_ranks(size, b, n, kind, np.float32)
    assert_ranks_identical(ranks)
    assert max_difference(ranks, run_single(size, b, n, kind, np.float32)) <= 1e-6  # ~3e-8


@pytest.mark.parametrize("size", [2, 3])
def test_dropout_with_per_rank_seeds_equals_one_process_with_the_same_masks(size: int) -> None:
    b, n = 3, 2 * size * 3 + size + 1
    ranks = run_ranks(size, b, n, "adam", np.float64, dropout=True)
    assert_ranks_identical(ranks)
    single = run_single(size, b, n, "adam", np.float64, dropout=True)
    assert max_difference(ranks, single) <= 1e-12
    # and the masks matter: without them the result differs
    assert max_difference(ranks, run_single(size, b, n, "adam", np.float64)) > 1e-6


def test_two_runs_with_the_same_number_of_ranks_are_bitwise_equal() -> None:
    first = run_ranks(3, 4, 29, "adam", np.float32)
    second = run_ranks(3, 4, 29, "adam", np.float32)
    for h1, h2 in zip(first, second):
        for p1, p2 in zip(h1, h2):
            for a, c in zip(p1, p2):
                np.testing.assert_array_equal(a, c)


def _grads_of(
    size: int, step: Callable[[DistributedDataParallel, int], None], dtype: Any = np.float64
) -> tuple[list[list[np.ndarray]], list[Any]]:
    models = [make_model(100 + r, dtype) for r in range(size)]

    def rank_fn(comm: ThreadCommunicator) -> tuple[list[np.ndarray], Any]:
        model = DistributedDataParallel(models[comm.rank], comm)
        comm.stats.reset()
        step(model, comm.rank)
        return [np.array(p.grad) for p in model.parameters()], comm.stats.allreduce_calls

    results = run_threads(size, rank_fn)
    return [g for g, _ in results], [c for _, c in results]


def _reference_grads(X: np.ndarray, y: np.ndarray, reduction: str = "mean") -> list[np.ndarray]:
    model = make_model(100, X.dtype)
    F.cross_entropy(model(nb.tensor(X)), nb.tensor(y), reduction=reduction).backward()
    return [np.array(p.grad) for p in model.parameters()]


@pytest.mark.parametrize("size", [2, 3])
def test_no_sync_accumulation_equals_one_big_batch(size: int) -> None:
    """Two micro-batches of b per rank, loss/2 each, the first inside no_sync: the gradient
    of the mean over all 2·N·b rows, after one allreduce."""
    b = 3
    X, y = make_data(2 * size * b, np.float64)
    micro = [np.arange(size * b), np.arange(size * b, 2 * size * b)]

    def step(model: DistributedDataParallel, rank: int) -> None:
        mine = [m[rank * b : (rank + 1) * b] for m in micro]
        with model.no_sync():
            loss = F.cross_entropy(model(nb.tensor(X[mine[0]])), nb.tensor(y[mine[0]]))
            (loss / 2).backward()
        loss = F.cross_entropy(model(nb.tensor(X[mine[1]])), nb.tensor(y[mine[1]]))
        (loss / 2).backward()

    grads, calls = _grads_of(size, step)
    assert calls == [1] * size
    reference = _reference_grads(X, y)
    for rank_grads in grads:
        for g, r in zip(rank_grads, reference):
            np.testing.assert_allclose(g, r, rtol=0, atol=1e-14)


def test_reduction_sum_and_join_empty() -> None:
    """A summed loss: the gradients are summed; rank 2 has no rows and calls join_empty."""
    X, y = make_data(5, np.float64)
    shares = [np.arange(0, 3), np.arange(3, 5)]
    models = [make_model(100 + r, np.float64) for r in range(3)]

    def rank_fn(comm: ThreadCommunicator) -> list[np.ndarray]:
        model = DistributedDataParallel(models[comm.rank], comm, reduction="sum")
        if comm.rank < 2:
            s = shares[comm.rank]
            F.cross_entropy(model(nb.tensor(X[s])), nb.tensor(y[s]), reduction="sum").backward()
        else:
            model.join_empty()
        return [np.array(p.grad) for p in model.parameters()]

    reference = _reference_grads(X, y, reduction="sum")
    for rank_grads in run_threads(3, rank_fn):
        for g, r in zip(rank_grads, reference):
            np.testing.assert_allclose(g, r, rtol=0, atol=1e-13)


def test_a_rank_with_an_empty_batch_leaks_no_nan_and_unused_parameters_count_as_zero() -> None:
    X, y = make_data(2, np.float64)

    def step(model: DistributedDataParallel, rank: int) -> None:
        rows = X[:2] if rank == 0 else X[:0]
        loss = F.cross_entropy(model(nb.tensor(rows)), nb.tensor(y[: len(rows)]))
        assert rank == 0 or np.isnan(loss.item())  # a mean over 0 rows
        loss.backward()

    grads, calls = _grads_of(3, step)
    assert calls == [1, 1, 1]
    reference = _reference_grads(X, y)
    for rank_grads in grads:
        for g, r in zip(rank_grads, reference):
            assert np.all(np.isfinite(g))
            np.testing.assert_allclose(g, r, rtol=0, atol=1e-15)


def test_construction_broadcasts_rank_0_and_state_dict_has_the_module_prefix() -> None:
    models = [make_model(100 + r, np.float32) for r in range(2)]

    def rank_fn(comm: ThreadCommunicator) -> Any:
        model = DistributedDataParallel(models[comm.rank], comm)
        return model.state_dict(), list(model.module.state_dict())

    expected = make_model(100, np.float32).state_dict()
    for state, plain in run_threads(2, rank_fn):
        assert list(state) == ["module." + k for k in expected] and plain == list(expected)
        for k, v in expected.items():
            np.testing.assert_array_equal(state["module." + k], v)


def test_different_models_and_bad_arguments_are_refused() -> None:
    models = [make_model(1, np.float64), make_model(1, np.float32)]
    with pytest.raises(DistributedError, match="rank 1's model differs from rank 0's"):
        run_threads(2, lambda comm: DistributedDataParallel(models[comm.rank], comm))
    with pytest.raises(DistributedError, match=r"ValueError: .*reduction must be"):
        run_threads(1, lambda comm: DistributedDataParallel(models[0], comm, reduction="max"))
    with pytest.raises(DistributedError, match=r"TypeError: .*module must be a Module"):
        run_threads(1, lambda comm: DistributedDataParallel(3, comm))  # type: ignore[arg-type]


def test_broadcast_optimizer_state_gives_every_rank_rank_0s() -> None:
    models = [make_model(100, np.float64) for _ in range(3)]

    def rank_fn(comm: ThreadCommunicator) -> dict[str, Any]:
        model = models[comm.rank]
        opt = optim.Adam(model.parameters(), lr=0.01 * (comm.rank + 1))
        for _ in range(comm.rank + 1):  # a different number of steps per rank
            for p in model.parameters():
                p.grad = np.full_like(p.data, comm.rank + 1.0)
            opt.step()
        broadcast_optimizer_state(opt, comm)
        return opt.state_dict()

    states = run_threads(3, rank_fn)
    for state in states[1:]:
        assert state["param_groups"] == states[0]["param_groups"]
        assert state["state"].keys() == states[0]["state"].keys()
        for index, entry in states[0]["state"].items():
            for name, value in entry.items():
                np.testing.assert_array_equal(state["state"][index][name], value)


def test_forwards_without_grad_do_not_count_and_wrapping_again_replaces_the_hooks() -> None:
    """An evaluation forward under no_grad between steps changes no weight; a module wrapped
    twice synchronises once per backward (the first wrapper's hooks are removed)."""
    X, y = make_data(5, np.float64)
    shares = [np.arange(0, 4), np.arange(4, 5)]

    def step(model: DistributedDataParallel, rank: int) -> None:
        model = DistributedDataParallel(model.module, model.comm)  # wrapped again
        with nb.no_grad():
            model(nb.tensor(X))  # evaluation on all rows: not a training batch
        s = shares[rank]
        F.cross_entropy(model(nb.tensor(X[s])), nb.tensor(y[s])).backward()

    grads, calls = _grads_of(2, step)
    assert calls == [1, 1]
    reference = _reference_grads(X, y)
    for rank_grads in grads:
        for g, r in zip(rank_grads, reference):
            np.testing.assert_allclose(g, r, rtol=0, atol=1e-15)


@pytest.mark.parametrize("broadcast_buffers", [True, False])
def test_training_forwards_start_from_rank_0s_buffers(broadcast_buffers: bool) -> None:
    """BatchNorm's running statistics: with broadcast_buffers (PyTorch's default) every
    training forward starts from rank 0's; without, each rank keeps its own."""
    models = [
        nn.Sequential(nn.Linear(3, 4, dtype=np.float64), nn.BatchNorm1d(4, dtype=np.float64))
        for _ in range(3)
    ]

    def rank_fn(comm: ThreadCommunicator) -> list[np.ndarray]:
        model = DistributedDataParallel(
            models[comm.rank], comm, broadcast_buffers=broadcast_buffers
        )
        seen: list[np.ndarray] = []
        model.module.register_forward_pre_hook(
            lambda m, args: (
                seen.append(np.array(m[1].running_mean)) if nb.is_grad_enabled() else None
            )
        )
        data = np.random.default_rng(comm.rank).normal(size=(5, 3))
        for _ in range(2):  # the first forward moves each rank's statistics its own way
            model(nb.tensor(data)).sum().backward()
        if comm.rank == 2:  # no rows, and BatchNorm refuses an empty batch in training:
            model.join_empty()  # it stands for forward and backward, broadcasts included
            seen.append(np.array(model.module[1].running_mean))
        else:
            model(nb.tensor(data[: 2 + comm.rank])).sum().backward()
        with nb.no_grad():
            model(nb.tensor(data))  # evaluation: no collective
        return seen

    seen = run_threads(3, rank_fn)
    np.testing.assert_array_equal(seen[0][0], seen[1][0])  # all zeros at the start
    for rank in (1, 2):
        for step in range(1, len(seen[rank])):
            same = np.array_equal(seen[rank][step], seen[0][step])
            assert same == broadcast_buffers
