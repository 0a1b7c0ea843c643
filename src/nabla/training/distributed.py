"""``nabla train`` on many processes: ``mpiexec -n N nabla train ...`` (or ``--distributed``).

Every rank reads and prepares the data the same way (the split and the preprocessing are
deterministic), builds the same model, wraps it in
:class:`~nabla.distributed.ddp.DistributedDataParallel` and trains on its share of each global
batch: ``--batch-size b`` is the batch of one rank, a step takes a global batch of N·b rows.
The batches come from the epoch's permutation drawn from ``(seed, epoch)`` alone, so one
process with ``--distributed --batch-size`` N·b (or ``mpiexec -n 1``) visits the same global
batches as N ranks with b, and ends with the same weights up to float round-off.

- **Metrics.** After each step one small allreduce sums every rank's loss·rows, correct
  predictions and rows (and the stop flag below), so the training loss and accuracy of an epoch
  are those of one process. Validation and the final scores gather every rank's outputs for its
  share of the rows and compute the metrics from all of them on every rank, as one process does.
- **Files.** Rank 0 alone prints and writes. A checkpoint is a step of every rank: all gather
  their generators' states, rank 0 writes the file atomically, and every rank waits for its
  outcome in the same broadcast (a failed write raises on every rank).
- **Stopping.** SIGINT or SIGTERM on any rank sets its stop flag; the flag travels in the
  step's allreduce, so every rank stops after the same step, writes the checkpoint together
  and exits with status 130 (so does ``mpiexec``). Send the signal to the ranks themselves
  (``kill -INT <pid>``, ``scancel --signal=INT``): Open MPI 5's ``mpiexec``, on Ctrl-C, sends
  SIGTERM to every rank and SIGKILL a fraction of a second later, too soon for the checkpoint
  of a stop (the last ``--checkpoint-every`` one remains). Early stopping decides on the
  gathered validation metrics, the same on every rank.
- **Waiting.** While rank 0 writes a file the others wait in a collective, whose watchdog
  (``NABLA_DISTRIBUTED_TIMEOUT``, 30 s) must outlast the write.
- **Resume.** The checkpoint holds global progress: the epoch, the rows of its permutation
  done, the optimizer state and every rank's generator. A run resumed with the same N and b
  continues exactly. With another N the rest of the epoch continues from the same row of the
  same permutation and later epochs use the same permutations; the global batch is then N'·b,
  so the remaining batches (and the result) equal the uninterrupted run only when N'·b' = N·b
  (pass ``--batch-size`` accordingly). Dropout masks differ per rank, so they match only with
  the same N (ranks whose generator the checkpoint lacks are seeded from seed, rank and step).
- **BatchNorm** in training normalises each rank's share with its own batch statistics (as
  PyTorch's DDP without SyncBatchNorm), so a model with BatchNorm (``--batch-norm``, ``--model
  cnn``) trains close to, not equal to, one process with the global batch; the running
  statistics are rank 0's.
"""

from __future__ import annotations

import contextlib
import math
import signal
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from nabla import creation
from nabla.distributed.communicator import Communicator
from nabla.distributed.ddp import DistributedDataParallel
from nabla.errors import NablaError
from nabla.nn.module import Module
from nabla.tensor import Tensor
from nabla.training.config import ConfigError
from nabla.training.distributed_data import DistributedLoader, evaluate_gathered
from nabla.training.evaluation import predicted_classes
from nabla.training.trainer import Trainer, TrainingDiverged

__all__ = [
    "DistributedTrainer",
    "join_world",
    "on_rank_zero",
    "rank_seed",
    "resume_note",
]

T = TypeVar("T")


def rank_seed(seed: int, rank: int, step: int) -> int:
    """The seed of rank ``rank``'s generator (dropout) from ``step`` on: rank 0 keeps the
    stream after the model's initialisation, the others start their own."""
    return int(np.random.SeedSequence([seed, rank, step]).generate_state(1)[0])


def on_rank_zero(comm: Communicator, fn: Callable[[], T]) -> T:
    """Run ``fn`` on rank 0 only and hand its result to every rank (a collective: every rank
    calls it). A NablaError or OSError on rank 0 is raised on every rank."""
    outcome: Any = None
    if comm.rank == 0:
        try:
            outcome = ("ok", fn())
        except (NablaError, OSError) as exc:
            outcome = ("error", type(exc).__name__, str(exc))
    outcome = comm.broadcast_object(outcome, 0)
    if outcome[0] == "error":
        raise (ConfigError if outcome[1] == "ConfigError" else NablaError)(outcome[2])
    result: T = outcome[1]
    return result


def join_world(config: Any, checkpoint_name: str) -> Communicator | None:
    """The communicator of a data-parallel run, or None for one process (the DataLoader's
    batches): data-parallel under an MPI launcher, with ``--distributed``, or when
    ``--resume`` continues a checkpoint written by a data-parallel run."""
    from nabla import distributed

    wanted = config.distributed or distributed.is_distributed_environment()
    if not wanted and config.resume and config.out is not None:
        wanted = _written_by_ranks(Path(str(config.out)) / checkpoint_name)
    return distributed.init() if wanted else None


def _written_by_ranks(path: Path) -> bool:
    from nabla.io import load_checkpoint

    try:
        state = load_checkpoint(path)
    except (NablaError, OSError, ValueError):
        return False  # the normal path reports what is wrong with it
    loader = state.get("loader") if isinstance(state, dict) else None
    return isinstance(loader, dict) and loader.get("kind") == "distributed"


def resume_note(trainer: Trainer) -> str | None:
    """What a data-parallel resume changes: the number of ranks, the global batch."""
    saved = getattr(trainer, "resumed_from", None)
    if not isinstance(trainer, DistributedTrainer) or saved is None:
        return None
    before = trainer.loader.resumed_layout
    now = (trainer.comm.size, trainer.loader.batch_size)
    if before is None or tuple(before) == now:
        return None
    (n, b), (n2, b2) = before, now
    same = n * b == n2 * b2
    return (
        f"the checkpoint was written by {n} rank(s) × batch {b} (global batch {n * b}); this "
        f"run has {n2} × {b2} (global batch {n2 * b2}): "
        + (
            "the same global batches follow"
            if same
            else f"later batches differ (for the same ones pass --batch-size {n * b // n2})"
            if (n * b) % n2 == 0
            else "later batches differ"
        )
    )


@contextlib.contextmanager
def _terminate_requests(request: Callable[..., None]) -> Iterator[None]:
    """SIGTERM (what ``mpiexec`` sends every rank when it is interrupted) asks to stop too."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, request)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


class DistributedTrainer(Trainer):
    """A :class:`Trainer` whose steps, metrics, checkpoints and stops are taken by every rank
    of ``comm`` together (see the module's notes). ``loader`` is a :class:`DistributedLoader`;
    ``model`` stays the plain module (its state dict is the one saved), trained through a
    :class:`DistributedDataParallel` wrapper."""

    loader: DistributedLoader

    def __init__(
        self,
        model: Module,
        optimizer: Any,
        loader: DistributedLoader,
        *,
        comm: Communicator,
        seed: int,
        **kwargs: Any,
    ) -> None:
        super().__init__(model, optimizer, loader, **kwargs)
        self.comm, self.seed = comm, int(seed)
        self.ddp = DistributedDataParallel(model, comm)  # rank 0's weights on every rank
        if comm.rank:
            creation.manual_seed(rank_seed(self.seed, comm.rank, 0))
        #: the "ranks" entry of the checkpoint resumed from (None for a fresh run)
        self.resumed_from: dict[str, Any] | None = None

    # ----- checkpoints ---------------------------------------------------------------------
    def save_checkpoint(self, partial: dict[str, Any] | None = None) -> None:
        from nabla.io import save_checkpoint

        generators = self.comm.allgather_object(creation.get_rng_state())
        assert self.checkpoint_path is not None
        path = self.checkpoint_path

        def write() -> None:
            state = self.state(partial)
            state["ranks"] = {"size": self.comm.size, "rng": generators}
            save_checkpoint(path, state)

        on_rank_zero(self.comm, write)

    def load_state(self, state: dict[str, Any]) -> None:
        super().load_state(state)
        saved = state.get("ranks") or {}
        generators = saved.get("rng") or []
        if saved.get("size") == self.comm.size and len(generators) == self.comm.size:
            creation.set_rng_state(generators[self.comm.rank])
        elif self.comm.rank:
            creation.manual_seed(rank_seed(self.seed, self.comm.rank, self.global_step))
        self.resumed_from = dict(saved)

    # ----- the loop ------------------------------------------------------------------------
    def fit(self, epochs: int) -> Any:
        with _terminate_requests(self.interrupt.request):
            return super().fit(epochs)

    def _progress_bar(self, epochs: int) -> Any:
        if self.comm.rank != 0:
            return None
        return super()._progress_bar(epochs)

    def _stop_requested(self) -> bool:
        flag = np.array([1.0 if self.interrupt.requested else 0.0])
        self.comm.allreduce(flag)
        self.interrupt.requested = bool(flag[0] > 0)
        return self.interrupt.requested

    def _run_epoch(self, bar: Any) -> None:
        optimizer, flag, loader = self.optimizer, self.interrupt, self.loader
        classify = self.task == "classification"
        self.model.train()
        partial, self._partial = self._partial, None
        first, spent, sums = 0, 0.0, np.zeros(3)  # loss·rows, correct, rows: global
        if partial is not None:  # the rest of an epoch interrupted part-way
            first, spent = int(partial["step"]), float(partial["seconds"])
            sums[:] = partial["loss"], partial["correct"], partial["seen"]
        started = time.perf_counter() - spent
        for step, (xb, yb) in enumerate(loader, first):
            n = len(xb)
            local = np.zeros(4)  # loss·rows, correct, rows, stop requested
            optimizer.zero_grad()
            if n:
                output = self.ddp(Tensor(xb))
                loss = self.loss_fn(output, yb)
                loss.backward()
                local[0] = float(loss.item()) * n
                if classify:
                    local[1] = int((predicted_classes(output.data) == yb).sum())
                local[2] = n
            else:  # a short last global batch left this rank no row
                self.ddp.join_empty()
            for callback in self.callbacks:
                callback.on_after_backward(self)
            optimizer.step()
            local[3] = 1.0 if flag.requested else 0.0
            self.comm.allreduce(local)
            value = local[0] / local[2]
            if not math.isfinite(value):
                raise TrainingDiverged(
                    f"the training loss became {value} at step {step + 1} of epoch "
                    f"{self.epoch + 1}: training diverged; lower the learning rate (now "
                    f"{optimizer.param_groups[0]['lr']:g}) or use another optimizer"
                )
            self.global_step += 1
            if self.on_step is not None:
                self.on_step(self.global_step, value)
            sums += local[:3]
            if bar is not None:
                bar.update(1)
            if local[3] > 0:
                flag.requested = True  # every rank stops after this step
                if not loader.finished_epoch:  # the last step ends the epoch first
                    done = {"loss": sums[0], "correct": int(sums[1]), "seen": int(sums[2])}
                    self._stop_mid_epoch(step + 1, done, time.perf_counter() - started)
        seconds = time.perf_counter() - started
        seen = int(sums[2])
        self.epoch += 1
        self.samples_seen += seen
        self.train_seconds += seconds
        self._record_epoch(float(sums[0]) / max(seen, 1), float(sums[1]) / max(seen, 1), seconds)

    def _validate(self) -> tuple[float | None, float | None]:
        if self.val_data is None or not len(self.val_data[0]):
            return None, None
        X, y = self.val_data
        classify = self.task == "classification"
        loss, accuracy, _ = evaluate_gathered(self.model, X, y, self.loss_fn, self.comm, classify)
        return loss, accuracy
