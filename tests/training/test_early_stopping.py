"""Early stopping against the same run without it: the epoch it stops at and the weights it
keeps follow from that run's validation history and per-epoch weights by the definition
(strict improvement, ``patience`` epochs without one)."""

from __future__ import annotations

import itertools
import math
import shutil
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import nabla as nb
from nabla.data import DataLoader, TensorDataset
from nabla.errors import NablaError
from nabla.io import load_checkpoint, save_checkpoint
from nabla.optim import SGD
from nabla.training.callbacks import Callback
from nabla.training.early_stopping import EarlyStopping
from nabla.training.trainer import EpochMetrics, Trainer

EPOCHS = 20


class WeightsPerEpoch(Callback):
    """Copies of the model's state at the end of every epoch."""

    def __init__(self) -> None:
        self.states: dict[int, dict[str, np.ndarray]] = {}

    def on_epoch_end(self, trainer: Trainer, metrics: EpochMetrics) -> None:
        self.states[metrics.epoch] = {k: v.copy() for k, v in trainer.model.state_dict().items()}


class CopyCheckpoint(Callback):
    """Keep the checkpoint file as it is when epoch ``epoch`` ends (that of the epoch before)."""

    def __init__(self, epoch: int, source: Path, target: Path) -> None:
        self.epoch, self.source, self.target = epoch, source, target

    def on_epoch_end(self, trainer: Trainer, metrics: EpochMetrics) -> None:
        if metrics.epoch == self.epoch:
            shutil.copy(self.source, self.target)


def make_trainer(patience: int = 0, monitor: str = "val_loss", **kwargs: Any) -> Trainer:
    # few noisy rows and a wide layer: the validation loss falls, then rises (overfitting)
    rng = np.random.default_rng(1)
    X = rng.standard_normal((100, 10)).astype(np.float32)
    y = (X[:, 0] + rng.standard_normal(100) > 0).astype(np.int64)
    nb.manual_seed(kwargs.pop("seed", 2))
    model = nb.nn.MLP([10, 64, 2], activation="tanh")
    loader = DataLoader(TensorDataset(X[:50], y[:50]), batch_size=10, shuffle=True, seed=0)
    return Trainer(
        model,
        SGD(model.parameters(), lr=0.02, momentum=0.9),
        loader,
        val_data=(X[50:], y[50:]),
        patience=patience,
        monitor=monitor,
        progress=False,
        **kwargs,
    )


def expected_stop(values: list[float], patience: int, higher: bool) -> tuple[int, int, bool]:
    """(best epoch, last epoch run, stopped early) by the definition."""
    best, best_epoch, bad = None, 0, 0
    for epoch, value in enumerate(values, start=1):
        if best is None or (value > best if higher else value < best):
            best, best_epoch, bad = value, epoch, 0
        else:
            bad += 1
        if bad == patience:
            return best_epoch, epoch, True
    return best_epoch, len(values), False


def without_time(history: list[EpochMetrics]) -> list[dict[str, Any]]:
    return [{k: v for k, v in asdict(m).items() if k != "seconds"} for m in history]


def assert_weights_equal(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> None:
    assert a.keys() == b.keys()
    for key, value in a.items():
        np.testing.assert_array_equal(value, b[key], err_msg=key)


@pytest.fixture(scope="module")
def reference() -> tuple[Trainer, WeightsPerEpoch]:
    weights = WeightsPerEpoch()
    trainer = make_trainer(callbacks=[weights])
    trainer.fit(EPOCHS)
    return trainer, weights


@pytest.mark.parametrize(
    ("monitor", "patience"),
    [("val_loss", 1), ("val_loss", 3), ("val_accuracy", 3), ("val_accuracy", 8), ("val_loss", 50)],
)
def test_stops_where_the_definition_says_and_keeps_the_best_weights(
    reference: tuple[Trainer, WeightsPerEpoch], monitor: str, patience: int
) -> None:
    full, weights = reference
    values = [getattr(m, monitor) for m in full.history]
    best_epoch, last_epoch, stopped = expected_stop(values, patience, monitor == "val_accuracy")

    trainer = make_trainer(patience, monitor)
    trainer.fit(EPOCHS)
    assert without_time(trainer.history) == without_time(full.history[:last_epoch])
    assert (trainer.best_epoch, trainer.epoch, trainer.stopped_early) == (
        best_epoch,
        last_epoch,
        stopped,
    )
    assert_weights_equal(dict(trainer.model.state_dict()), weights.states[best_epoch])
    assert trainer.stop_reason is not None and "\n" not in trainer.stop_reason
    assert f"restored epoch {best_epoch}" in trainer.stop_reason
    if stopped:
        assert trainer.stop_reason.startswith(f"early stopping after epoch {last_epoch}")
    else:
        assert trainer.stop_reason.startswith(f"trained all {EPOCHS} epochs")


def test_the_cases_above_cover_stopping_and_not(reference: tuple[Trainer, Any]) -> None:
    full, _ = reference
    losses = [m.val_loss for m in full.history]
    accuracies = [m.val_accuracy for m in full.history]
    assert expected_stop(losses, 3, False)[2] and not expected_stop(losses, 50, False)[2]
    # ties, which must not count as improvements, occur in the accuracies
    assert any(a == b for a, b in itertools.pairwise(accuracies))
    assert expected_stop(accuracies, 3, True)[2] and expected_stop(accuracies, 8, True)[0] > 3


def test_the_final_checkpoint_holds_the_kept_weights_and_a_resume_just_finishes(
    tmp_path: Path,
) -> None:
    checkpoint = tmp_path / "checkpoint.safetensors"
    trainer = make_trainer(3, checkpoint_path=checkpoint)
    trainer.fit(EPOCHS)
    assert trainer.stopped_early
    state = load_checkpoint(checkpoint)
    assert_weights_equal(state["model"], dict(trainer.model.state_dict()))
    assert state["early_stopping"]["stopped"] and state["planned_epochs"] == EPOCHS

    resumed = make_trainer(3, checkpoint_path=checkpoint, seed=9)
    resumed.load_checkpoint()
    resumed.fit(EPOCHS)  # the same settings: nothing left to train
    assert resumed.global_step == trainer.global_step
    assert without_time(resumed.history) == without_time(trainer.history)
    assert_weights_equal(dict(resumed.model.state_dict()), dict(trainer.model.state_dict()))
    assert (resumed.best_epoch, resumed.stopped_early, resumed.stop_reason) == (
        trainer.best_epoch,
        True,
        trainer.stop_reason,
    )


def test_resume_from_a_checkpoint_taken_mid_run_is_bitwise_equal(tmp_path: Path) -> None:
    checkpoint, kept = tmp_path / "checkpoint.safetensors", tmp_path / "epoch3.safetensors"
    copier = CopyCheckpoint(4, checkpoint, kept)
    first = make_trainer(8, "val_accuracy", checkpoint_path=checkpoint, checkpoint_every=1)
    first.callbacks.append(copier)
    first.fit(EPOCHS)
    assert first.stopped_early or first.epoch == EPOCHS

    resumed = make_trainer(8, "val_accuracy", checkpoint_path=kept, seed=9)
    resumed.load_checkpoint()
    assert resumed.epoch == 3 and resumed.early_stopping is not None
    assert resumed.early_stopping.bad_epochs == first_bad_epochs_after(first, 3)
    resumed.fit(EPOCHS)
    assert without_time(resumed.history) == without_time(first.history)
    assert_weights_equal(dict(resumed.model.state_dict()), dict(first.model.state_dict()))
    assert (resumed.best_epoch, resumed.stopped_early) == (first.best_epoch, first.stopped_early)


def first_bad_epochs_after(trainer: Trainer, epoch: int) -> int:
    """Epochs without improvement of val_accuracy at the end of ``epoch``, from the history."""
    values = [m.val_accuracy for m in trainer.history[:epoch]]
    best, bad = None, 0
    for value in values:
        assert value is not None
        if best is None or value > best:
            best, bad = value, 0
        else:
            bad += 1
    return bad


def test_more_epochs_extend_a_stopped_run_with_a_fresh_patience_counter(tmp_path: Path) -> None:
    checkpoint = tmp_path / "checkpoint.safetensors"
    trainer = make_trainer(2, checkpoint_path=checkpoint)
    trainer.fit(EPOCHS)
    stopped_at, best_before = trainer.epoch, trainer.best_epoch
    assert trainer.stopped_early and stopped_at < EPOCHS - 2
    kept = {k: v.copy() for k, v in trainer.model.state_dict().items()}

    # extending from the checkpoint, in a new trainer, trains from the kept weights
    resumed = make_trainer(2, checkpoint_path=checkpoint, seed=9)
    resumed.load_checkpoint()
    assert_weights_equal(dict(resumed.model.state_dict()), kept)
    trainer.fit(EPOCHS + 5)
    resumed.fit(EPOCHS + 5)
    # the counter restarted: at least `patience` more epochs ran (more if one improved)
    assert trainer.epoch >= stopped_at + 2
    assert trainer.best_epoch is not None and best_before is not None
    assert trainer.best_epoch >= best_before
    assert without_time(resumed.history) == without_time(trainer.history)
    assert_weights_equal(dict(resumed.model.state_dict()), dict(trainer.model.state_dict()))
    assert resumed.stop_reason == trainer.stop_reason


def test_more_epochs_extend_a_finished_run_exactly(tmp_path: Path) -> None:
    # without early stopping, a run of 4 epochs extended to 7 equals a run of 7
    checkpoint = tmp_path / "checkpoint.safetensors"
    short = make_trainer(checkpoint_path=checkpoint)
    short.fit(4)
    extended = make_trainer(checkpoint_path=checkpoint, seed=9)
    extended.load_checkpoint()
    extended.fit(7)
    straight = make_trainer()
    straight.fit(7)
    assert without_time(extended.history) == without_time(straight.history)
    assert_weights_equal(dict(extended.model.state_dict()), dict(straight.model.state_dict()))
    assert extended.stop_reason == "trained 7 epochs"


def test_an_old_checkpoint_without_early_stopping_state_starts_a_fresh_record(
    tmp_path: Path,
) -> None:
    checkpoint = tmp_path / "checkpoint.safetensors"
    make_trainer(checkpoint_path=checkpoint).fit(2)
    state = load_checkpoint(checkpoint)
    del state["early_stopping"]
    save_checkpoint(checkpoint, state)
    trainer = make_trainer(3, checkpoint_path=checkpoint)
    trainer.load_checkpoint()
    assert trainer.early_stopping is not None and trainer.early_stopping.best is None
    trainer.fit(EPOCHS)
    assert trainer.best_epoch is not None and trainer.best_epoch > 2


# ----- the EarlyStopping record --------------------------------------------------------------


def metrics(epoch: int, val_loss: float | None, val_accuracy: float | None = None) -> Any:
    return EpochMetrics(epoch, 0.0, None, val_loss, val_accuracy, 0.1, 0.0)


def test_improvement_is_strict_and_nan_never_improves() -> None:
    model = nb.nn.Linear(2, 1)
    stopping = EarlyStopping(2, "val_loss")
    assert not stopping.update(metrics(1, math.nan), model)
    assert stopping.best_epoch is None and stopping.bad_epochs == 1
    assert not stopping.restore(model)  # nothing kept yet
    assert not stopping.update(metrics(2, 0.5), model)
    assert (stopping.best, stopping.best_epoch, stopping.bad_epochs) == (0.5, 2, 0)
    assert not stopping.update(metrics(3, 0.5), model)  # a tie
    assert stopping.update(metrics(4, math.nan), model)
    assert stopping.stopped and stopping.best_epoch == 2
    stopping.extend()
    assert (stopping.stopped, stopping.bad_epochs, stopping.best) == (False, 0, 0.5)


def test_accuracy_is_better_when_higher() -> None:
    model = nb.nn.Linear(2, 1)
    stopping = EarlyStopping(1, "val_accuracy")
    stopping.update(metrics(1, 9.0, 0.5), model)
    assert not stopping.update(metrics(2, 0.1, 0.6), model)  # the loss is not watched
    assert stopping.update(metrics(3, 0.0, 0.59), model) and stopping.best_epoch == 2


def test_the_kept_weights_are_copies(tmp_path: Path) -> None:
    model = nb.nn.Linear(2, 1)
    stopping = EarlyStopping(3)
    stopping.update(metrics(1, 1.0), model)
    kept = model.weight.data.copy()
    model.weight.data += 1.0  # training goes on in place
    stopping.update(metrics(2, 2.0), model)
    assert stopping.restore(model)
    np.testing.assert_array_equal(model.weight.data, kept)
    model.weight.data += 1.0  # and the restored weights are not the record's own arrays
    assert stopping.best_state is not None
    np.testing.assert_array_equal(stopping.best_state["weight"], kept)

    path = tmp_path / "state.safetensors"
    save_checkpoint(path, stopping.state_dict())
    again = EarlyStopping(3)
    again.load_state_dict(load_checkpoint(path))
    assert (again.best, again.best_epoch, again.bad_epochs, again.stopped) == (1.0, 1, 1, False)
    assert again.best_state is not None
    np.testing.assert_array_equal(again.best_state["weight"], kept)


def test_monitoring_needs_the_value() -> None:
    with pytest.raises(NablaError, match=r"monitors val_loss, but epoch 1 has none"):
        EarlyStopping(1).update(metrics(1, None), nb.nn.Linear(1, 1))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"patience": -1}, r"patience must be an int >= 1, got -1"),
        ({"patience": 2, "monitor": "train_loss"}, r"monitor must be one of"),
        (
            {"patience": 2, "val_data": None},
            r"patience 2\) watches val_loss, which needs validation data",
        ),
        ({"patience": 2, "monitor": "val_accuracy", "task": "regression"}, "no val_accuracy"),
        ({"task": "ranking"}, r"task must be one of \('classification', 'regression'\)"),
    ],
)
def test_bad_settings_are_refused(kwargs: dict[str, Any], message: str) -> None:
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((10, 2)).astype(np.float32), rng.integers(0, 2, 10)
    model = nb.nn.Linear(2, 2)
    settings: dict[str, Any] = {"val_data": (X, y), **kwargs}
    loader = DataLoader(TensorDataset(X, y), batch_size=5)
    with pytest.raises(NablaError, match=message):
        Trainer(model, SGD(model.parameters(), lr=0.1), loader, **settings)
