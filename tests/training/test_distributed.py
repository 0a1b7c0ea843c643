"""The data-parallel trainer on in-process ranks (threads): N ranks with batch b train like one
rank with batch N·b, stop together when one rank asks, and their checkpoint resumes on any N.
(The same code under real ``mpiexec``: tests/distributed/test_cli_distributed.py.)"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from nabla.creation import manual_seed
from nabla.distributed import LocalCommunicator, run_threads
from nabla.nn import MLP
from nabla.optim import SGD
from nabla.training.distributed import DistributedTrainer
from nabla.training.distributed_data import DistributedLoader
from nabla.training.interrupt import TrainingInterrupted

pytest.importorskip("safetensors")

RNG = np.random.default_rng(0)
X = RNG.normal(size=(53, 5)).astype(np.float32)  # 53 rows: short last global batches
Y = (X[:, 0] + X[:, 1] > 0).astype(np.int64)
X_VAL, Y_VAL = X[:11], Y[:11]


def _initial_model() -> MLP:
    manual_seed(3)
    return MLP([5, 16, 2], activation="tanh")


INITIAL = _initial_model()


def _trainer(comm: Any, batch: int, out: Path | None = None, **kwargs: Any) -> DistributedTrainer:
    model = copy.deepcopy(INITIAL)
    optimizer = SGD(model.parameters(), lr=0.1, momentum=0.9)
    loader = DistributedLoader(X, Y, comm, batch, seed=7)
    return DistributedTrainer(
        model,
        optimizer,
        loader,
        comm=comm,
        seed=7,
        val_data=(X_VAL, Y_VAL),
        checkpoint_path=None if out is None else out / "checkpoint.safetensors",
        progress=False,
        **kwargs,
    )


def _weights(trainer: DistributedTrainer) -> list[np.ndarray[Any, Any]]:
    return [p.data.copy() for p in trainer.model.parameters()]


@pytest.mark.parametrize("ranks", [2, 3])
def test_ranks_train_like_one_rank_with_the_global_batch(ranks: int) -> None:
    one = _trainer(LocalCommunicator(), 4 * ranks)
    one.fit(3)

    def rank(comm: Any) -> tuple[list[np.ndarray[Any, Any]], list[Any]]:
        trainer = _trainer(comm, 4)
        trainer.fit(3)
        return _weights(trainer), trainer.history

    results = run_threads(ranks, rank)
    for weights, history in results:
        for a, b in zip(_weights(one), weights, strict=True):
            np.testing.assert_allclose(b, a, rtol=0, atol=1e-6)
        for a_epoch, b_epoch in zip(one.history, history, strict=True):
            assert b_epoch.train_loss == pytest.approx(a_epoch.train_loss, rel=1e-6)
            assert b_epoch.train_accuracy == a_epoch.train_accuracy
            assert b_epoch.val_loss == pytest.approx(a_epoch.val_loss, rel=1e-6)
    # every rank holds the same weights
    for weights, _ in results[1:]:
        for a, b in zip(results[0][0], weights, strict=True):
            np.testing.assert_array_equal(a, b)


def test_a_stop_on_one_rank_stops_every_rank_and_any_n_resumes(tmp_path: Path) -> None:
    reference = _trainer(LocalCommunicator(), 6)
    reference.fit(3)

    def stopped(comm: Any) -> int:
        trainer = _trainer(comm, 3, tmp_path)
        if comm.rank == 1:
            trainer.on_step = lambda step, loss: step == 4 and trainer.interrupt.request()
        with pytest.raises(TrainingInterrupted) as info:
            trainer.fit(3)
        return info.value.global_step

    assert run_threads(2, stopped) == [5, 5]  # both after the step that carried the flag
    for ranks, batch in ((1, 6), (3, 2)):  # the same global batch of 6

        def resumed(comm: Any, batch: int = batch) -> list[np.ndarray[Any, Any]]:
            trainer = _trainer(comm, batch)
            trainer.load_checkpoint(tmp_path / "checkpoint.safetensors")
            assert trainer.loader.offset == 30 and trainer.global_step == 5
            trainer.fit(3)
            return _weights(trainer)

        for weights in run_threads(ranks, resumed):
            for a, b in zip(_weights(reference), weights, strict=True):
                np.testing.assert_allclose(b, a, rtol=0, atol=1e-6)


def test_the_loader_shares_each_global_batch_and_keeps_global_progress() -> None:
    comm = LocalCommunicator()
    loader = DistributedLoader(X, Y, comm, 10, seed=7)
    batches = iter(loader)
    first = next(batches)
    assert len(first[0]) == 10 and loader.offset == 10
    state = loader.state_dict(mid_epoch=True)
    assert state["offset"] == 10 and state["epoch"] == 0
    assert loader.state_dict()["epoch"] == 1  # between epochs: the next one
    rest = [len(x) for x, _ in batches]
    assert rest == [10, 10, 10, 10, 3] and loader.epoch == 1 and loader.offset == 0
    with pytest.raises(Exception, match="single-process run"):
        loader.load_state_dict({"rng": {}, "epoch": 0})


def test_early_stopping_decides_the_same_on_every_rank() -> None:
    one = _trainer(LocalCommunicator(), 8, patience=1)
    one.fit(12)

    def rank(comm: Any) -> tuple[int | None, bool, int]:
        trainer = _trainer(comm, 4, patience=1)
        trainer.fit(12)
        return trainer.best_epoch, trainer.stopped_early, trainer.epoch

    assert run_threads(2, rank) == [(one.best_epoch, one.stopped_early, one.epoch)] * 2
