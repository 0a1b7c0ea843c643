"""Ctrl-C keeps the work: an interrupted run resumed from its checkpoint ends bitwise equal to
an uninterrupted one (the reference is simply the same run, not interrupted)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import nabla as nb
from nabla.data import DataLoader, TensorDataset
from nabla.io import load_checkpoint, save_checkpoint
from nabla.optim import SGD
from nabla.optim.lr_scheduler import StepLR
from nabla.training.interrupt import InterruptFlag, TrainingInterrupted, deferred_interrupts
from nabla.training.trainer import Trainer

EPOCHS = 4
N_TRAIN, BATCH = 90, 8  # 12 batches per epoch, the last one of 2 rows

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")


@pytest.fixture(autouse=True)
def python_sigint_handler() -> Any:
    """Python's own SIGINT handler, as in a terminal: a test run started in the background
    inherits an ignored SIGINT, which the trainer rightly leaves alone."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def make_trainer(
    checkpoint: Path | None, *, seed: int = 3, patience: int = 0, **kwargs: Any
) -> Trainer:
    """A small MLP with dropout (the global generator) and SGD with momentum (optimizer
    state), a step schedule (scheduler state) and a shuffling loader (its generator)."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((120, 5)).astype(np.float32)
    y = (X[:, 0] - X[:, 1] + 0.5 * rng.standard_normal(120) > 0).astype(np.int64)
    nb.manual_seed(seed)
    model = nb.nn.MLP([5, 12, 2], activation="tanh", dropout=0.3)
    optimizer = SGD(model.parameters(), lr=0.1, momentum=0.9)
    loader = DataLoader(TensorDataset(X[:N_TRAIN], y[:N_TRAIN]), batch_size=BATCH, shuffle=True)
    return Trainer(
        model,
        optimizer,
        loader,
        scheduler=StepLR(optimizer, step_size=2, gamma=0.5),
        val_data=(X[N_TRAIN:], y[N_TRAIN:]),
        checkpoint_path=checkpoint,
        patience=patience,
        progress=False,
        **kwargs,
    )


def history_without_time(trainer: Trainer) -> list[dict[str, Any]]:
    return [{k: v for k, v in asdict(m).items() if k != "seconds"} for m in trainer.history]


def assert_same_run(a: Trainer, b: Trainer) -> None:
    weights_a, weights_b = a.model.state_dict(), b.model.state_dict()
    assert weights_a.keys() == weights_b.keys()
    for key in weights_a:
        np.testing.assert_array_equal(weights_a[key], weights_b[key], err_msg=key)  # bitwise
    assert history_without_time(a) == history_without_time(b)
    assert (a.epoch, a.global_step, a.samples_seen) == (b.epoch, b.global_step, b.samples_seen)
    for name, buffers in a.optimizer.state_dict()["state"].items():
        for key, value in buffers.items():
            np.testing.assert_array_equal(value, b.optimizer.state_dict()["state"][name][key])


def reference_run(**kwargs: Any) -> tuple[Trainer, list[float]]:
    losses: list[float] = []
    trainer = make_trainer(None, on_step=lambda step, loss: losses.append(loss), **kwargs)
    trainer.fit(EPOCHS)
    return trainer, losses


def interrupter(
    flag: InterruptFlag, pending: list[int], losses: list[float]
) -> Callable[[int, float], None]:
    """An on_step that records losses and requests a stop at the first pending step."""

    def on_step(step: int, loss: float) -> None:
        losses.append(loss)
        if pending and step == pending[0]:
            pending.pop(0)
            flag.request()  # what the SIGINT handler calls

    return on_step


def interrupted_then_resumed(
    tmp_path: Path, at_steps: list[int], **kwargs: Any
) -> tuple[Trainer, list[float], list[TrainingInterrupted]]:
    """Interrupt at each global step of `at_steps` in turn (a fresh process each time, as far
    as one test can: a new trainer from a different seed), resuming from the checkpoint."""
    checkpoint = tmp_path / "checkpoint.safetensors"
    losses: list[float] = []
    raised: list[TrainingInterrupted] = []
    pending = list(at_steps)
    for attempt in range(len(at_steps) + 1):
        seed = 3 if attempt == 0 else 100 + attempt  # a resumed run must not depend on it
        trainer = make_trainer(checkpoint, seed=seed, **kwargs)
        trainer.on_step = interrupter(trainer.interrupt, pending, losses)
        if attempt:
            trainer.load_checkpoint()
        try:
            trainer.fit(EPOCHS)
        except TrainingInterrupted as exc:
            raised.append(exc)
            continue
        break
    return trainer, losses, raised


@pytest.mark.parametrize(
    "at_steps",
    [[1], [5], [11], [12], [13], [30, 31], [3, 20, 47]],
    ids=lambda s: "-".join(map(str, s)),
)
def test_resume_after_interrupt_is_bitwise_equal(tmp_path: Path, at_steps: list[int]) -> None:
    reference, reference_losses = reference_run()
    trainer, losses, raised = interrupted_then_resumed(tmp_path, at_steps)
    assert len(raised) == len(at_steps)
    assert_same_run(reference, trainer)
    assert losses == reference_losses  # every step ran once, with the same loss
    assert [r.global_step for r in raised] == at_steps
    for exc in raised:
        assert exc.checkpoint_path == tmp_path / "checkpoint.safetensors"
        done_epochs, step = divmod(exc.global_step, 12)
        # an interrupt at an epoch's last step lets the epoch finish (validation included)
        assert (exc.epoch, exc.step) == (done_epochs, step)
        assert str(exc.global_step) in str(exc) and str(exc.checkpoint_path) in str(exc)


def test_the_mid_epoch_checkpoint_holds_the_partial_epoch(tmp_path: Path) -> None:
    _, _, raised = interrupted_then_resumed(tmp_path, [17, 1000])
    assert (raised[0].epoch, raised[0].step) == (1, 5)
    # a second interrupt that never comes: the run finished, so the file is the final one
    state = load_checkpoint(tmp_path / "checkpoint.safetensors")
    assert state["partial"] is None and state["epoch"] == EPOCHS

    trainer = make_trainer(tmp_path / "c.safetensors")
    trainer.on_step = lambda step, loss: trainer.interrupt.request() if step == 17 else None
    with pytest.raises(TrainingInterrupted, match=r"after step 5 of epoch 2 \(step 17\)"):
        trainer.fit(EPOCHS)
    assert trainer.stop_reason is not None and "after step 5 of epoch 2" in trainer.stop_reason
    state = load_checkpoint(tmp_path / "c.safetensors")
    partial = state["partial"]
    assert partial["step"] == 5 and partial["seen"] == 5 * BATCH
    assert state["loader"]["position"] == 5 and state["global_step"] == 17
    assert len(state["history"]) == 1 and state["epoch"] == 1


def test_interrupt_without_a_checkpoint_path_still_stops() -> None:
    trainer = make_trainer(None)
    trainer.on_step = lambda step, loss: trainer.interrupt.request() if step == 4 else None
    with pytest.raises(TrainingInterrupted, match="no checkpoint path") as info:
        trainer.fit(EPOCHS)
    assert info.value.checkpoint_path is None and trainer.global_step == 4


def test_resume_with_early_stopping_is_bitwise_equal(tmp_path: Path) -> None:
    reference, reference_losses = reference_run(patience=1)
    trainer, losses, raised = interrupted_then_resumed(tmp_path, [6, 25], patience=1)
    assert len(raised) == 2
    assert_same_run(reference, trainer)
    assert losses == reference_losses
    assert (trainer.best_epoch, trainer.stopped_early) == (
        reference.best_epoch,
        reference.stopped_early,
    )


def test_an_old_checkpoint_without_the_new_entries_resumes(tmp_path: Path) -> None:
    # written before global_step, planned_epochs, early_stopping and partial existed
    checkpoint = tmp_path / "checkpoint.safetensors"
    first = make_trainer(checkpoint)
    first.fit(2)
    state = load_checkpoint(checkpoint)
    for key in ("global_step", "planned_epochs", "early_stopping", "partial"):
        del state[key]
    save_checkpoint(checkpoint, state)
    resumed = make_trainer(checkpoint, seed=50)
    resumed.load_checkpoint()
    assert (resumed.global_step, resumed.planned_epochs) == (24, 2)
    resumed.fit(EPOCHS)
    reference, _ = reference_run()
    assert_same_run(reference, resumed)


# ----- the signal handler ------------------------------------------------------------------


def test_the_sigint_handler_is_installed_only_during_fit() -> None:
    before = signal.getsignal(signal.SIGINT)
    seen: list[Any] = []
    trainer = make_trainer(None)
    trainer.on_step = lambda step, loss: seen.append(signal.getsignal(signal.SIGINT))
    trainer.fit(1)
    assert seen[0] == trainer.interrupt.request  # routed to the flag while training
    assert signal.getsignal(signal.SIGINT) is before
    trainer.on_step = lambda step, loss: trainer.interrupt.request()
    with pytest.raises(TrainingInterrupted):
        trainer.fit(2)
    assert signal.getsignal(signal.SIGINT) is before  # restored after an interrupt too


def test_an_ignored_sigint_stays_ignored() -> None:
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        with InterruptFlag().catching():
            assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, previous)


def test_fit_in_a_thread_installs_nothing_and_can_still_be_stopped() -> None:
    trainer = make_trainer(None)
    handlers: list[Any] = []

    def on_step(step: int, loss: float) -> None:
        handlers.append(signal.getsignal(signal.SIGINT))
        if step == 3:
            trainer.interrupt.request()

    trainer.on_step = on_step
    errors: list[BaseException] = []

    def work() -> None:
        try:
            trainer.fit(EPOCHS)
        except TrainingInterrupted as exc:
            errors.append(exc)

    thread = threading.Thread(target=work)
    thread.start()
    thread.join(60)
    assert len(errors) == 1 and trainer.global_step == 3
    assert handlers[0] is signal.getsignal(signal.SIGINT)  # the main thread's, untouched


def test_deferred_interrupts_counts_presses_and_restores() -> None:
    before = signal.getsignal(signal.SIGINT)
    with deferred_interrupts() as flag:
        os.kill(os.getpid(), signal.SIGINT)  # a real signal: handled, only counted
        for _ in range(100):  # Python runs handlers between bytecodes of the main thread
            if flag.presses:
                break
    assert flag.presses == 1 and flag.requested
    assert signal.getsignal(signal.SIGINT) is before


def test_training_interrupted_is_a_nabla_error_and_pickles() -> None:
    import pickle

    from nabla.errors import NablaError

    exc = TrainingInterrupted(2, 5, 29, Path("run/checkpoint.safetensors"))
    assert isinstance(exc, NablaError)
    copy = pickle.loads(pickle.dumps(exc))
    assert (copy.epoch, copy.step, copy.global_step) == (2, 5, 29)
    assert copy.checkpoint_path == Path("run/checkpoint.safetensors")
    assert str(copy) == str(exc)
    between = TrainingInterrupted(3, 0, 36, None)
    assert "after epoch 3 (step 36)" in str(between)


# ----- a real SIGINT in a child process ------------------------------------------------------

SCRIPT = """
import json, os, signal, sys
signal.signal(signal.SIGINT, signal.default_int_handler)  # as in a terminal (see the fixture)
sys.path.insert(0, {tests!r})
from test_interrupt import EPOCHS, make_trainer
import nabla.io
from nabla.training.interrupt import TrainingInterrupted

checkpoint = sys.argv[1]
kill_at = int(sys.argv[2])
real_save = nabla.io.save_checkpoint

def save_with_a_second_press(path, state):
    os.kill(os.getpid(), signal.SIGINT)  # pressed again while saving: must change nothing
    real_save(path, state)

nabla.io.save_checkpoint = save_with_a_second_press

def on_step(step, loss):
    if step == kill_at:
        os.kill(os.getpid(), signal.SIGINT)

trainer = make_trainer(checkpoint, on_step=on_step)
try:
    trainer.fit(EPOCHS)
except TrainingInterrupted as exc:
    print(json.dumps({{"epoch": exc.epoch, "step": exc.step, "global_step": exc.global_step,
                      "checkpoint": str(exc.checkpoint_path),
                      "handler_restored": signal.getsignal(signal.SIGINT)
                      is signal.default_int_handler}}))
    sys.exit(130)
sys.exit(0)
"""


@pytest.mark.parametrize("kill_at", [7, 24])
def test_a_real_sigint_writes_a_checkpoint_that_resumes_bitwise(
    tmp_path: Path, kill_at: int
) -> None:
    script = tmp_path / "train_and_interrupt.py"
    script.write_text(textwrap.dedent(SCRIPT.format(tests=str(Path(__file__).parent))))
    checkpoint = tmp_path / "checkpoint.safetensors"
    child = subprocess.run(
        [sys.executable, str(script), str(checkpoint), str(kill_at)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert child.returncode == 130, child.stderr
    report = json.loads(child.stdout)
    assert report["global_step"] == kill_at
    assert (report["epoch"], report["step"]) == divmod(kill_at, 12)
    assert report["checkpoint"] == str(checkpoint) and report["handler_restored"]

    resumed = make_trainer(checkpoint, seed=77)
    resumed.load_checkpoint()
    resumed.fit(EPOCHS)
    reference, _ = reference_run()
    assert_same_run(reference, resumed)


def test_fit_again_after_an_interrupt_continues_exactly() -> None:
    # no checkpoint file: the same trainer object carries on (Ctrl-C in a notebook)
    reference, reference_losses = reference_run()
    losses: list[float] = []
    trainer = make_trainer(None)
    trainer.on_step = interrupter(trainer.interrupt, [5, 12, 30], losses)
    for _ in range(3):
        with pytest.raises(TrainingInterrupted):
            trainer.fit(EPOCHS)
    trainer.fit(EPOCHS)
    assert_same_run(reference, trainer)
    assert losses == reference_losses
