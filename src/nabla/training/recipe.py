"""The ``nabla train`` recipe: folder → data → model → Trainer → results → files.

Each step is a plain function of a :class:`~nabla.training.config.TrainConfig`; :func:`train`
runs them all and returns a :class:`TrainRun`, which the CLI prints. The data is read, split
and encoded by :func:`nabla.training.prepare.prepare_data`. The same run can be started from
Python::

    from nabla.training.config import TrainConfig
    from nabla.training.recipe import train

    run = train(TrainConfig(data="iris", epochs=20, out="runs/iris", plots=False))
    run.results["test"]["accuracy"]
"""

from __future__ import annotations

import copy
import dataclasses
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path
from typing import Any

from nabla._typing import Array
from nabla.creation import manual_seed
from nabla.data import DataLoader, TensorDataset
from nabla.distributed.communicator import Communicator
from nabla.nn import MLP, LogisticRegression, Module
from nabla.optim import lr_scheduler
from nabla.optim.optimizer import Optimizer
from nabla.optim.registry import build_optimizer
from nabla.training.callbacks import LayerMonitor
from nabla.training.config import ConfigError, TrainConfig
from nabla.training.distributed import DistributedTrainer, join_world, on_rank_zero, resume_note
from nabla.training.distributed_data import DistributedLoader, evaluate_gathered
from nabla.training.evaluation import RegressionLoss, evaluate_loss_accuracy, evaluate_regression
from nabla.training.interrupt import TrainingInterrupted, deferred_interrupts
from nabla.training.metrics import regression_metrics
from nabla.training.prepare import PreparedData, prepare_data
from nabla.training.run_folder import choose_out, prepare_out
from nabla.training.trainer import Trainer

__all__ = [
    "CHECKPOINT",
    "TrainRun",
    "build_model",
    "build_scheduler",
    "make_optimizer",
    "train",
]

#: the checkpoint's name inside the run's output folder
CHECKPOINT = "checkpoint.safetensors"


def build_model(
    config: TrainConfig,
    n_features: int,
    n_classes: int,
    image_shape: tuple[int, int, int] | None = None,
) -> Module:
    """The MLP (logistic regression, or CNN for images of ``image_shape`` (c, h, w))
    ``config`` describes; seed the generator first."""
    if config.model == "cnn":
        from nabla.nn.cnn_models import SmallCNN

        if image_shape is None:
            raise ConfigError("--model cnn needs images: (channels, height, width) unknown")
        channels, height, width = image_shape
        return SmallCNN(channels, n_classes, (height, width), dropout=config.dropout)
    if config.model == "logistic":
        return LogisticRegression(n_features, n_classes)
    sizes = [n_features, *config.hidden_sizes(), n_classes]
    return MLP(
        sizes, activation=config.activation, dropout=config.dropout, batch_norm=config.batch_norm
    )


def make_optimizer(config: TrainConfig, model: Module, task: str = "classification") -> Optimizer:
    """The optimizer ``config`` names for ``task`` over the model's parameters, built by the
    optimizer registry."""
    optimizer = config.optimizer_for(task)
    config.check_momentum(optimizer)
    return build_optimizer(
        optimizer,
        list(model.parameters()),
        lr=config.lr,
        momentum=config.momentum,
        weight_decay=config.weight_decay,
    )


def build_scheduler(config: TrainConfig, optimizer: Optimizer) -> Any:
    """The learning-rate schedule ``config.scheduler`` names (None for "none")."""
    if config.scheduler == "cosine":
        return lr_scheduler.CosineAnnealingLR(optimizer, T_max=config.epochs)
    if config.scheduler == "step":
        return lr_scheduler.StepLR(optimizer, step_size=max(config.epochs // 3, 1), gamma=0.1)
    if config.scheduler == "exponential":
        return lr_scheduler.ExponentialLR(optimizer, gamma=0.95)
    if config.scheduler == "plateau":
        return lr_scheduler.ReduceLROnPlateau(optimizer, factor=0.5, patience=5)
    return None


@dataclass
class TrainRun:
    """What :func:`train` did: the data, the trained model and trainer, results and files."""

    config: TrainConfig
    data: PreparedData
    model: Module
    trainer: Trainer
    monitor: LayerMonitor | None
    #: split name → {"loss", "accuracy", "samples"} (regression: {"loss", "rmse", "mae", "r2",
    #: "samples"}, in the target's units), for the splits that have rows
    results: dict[str, dict[str, Any]]
    #: seconds this call took, loading the data included
    wall_seconds: float
    #: names of the files written into ``config.out``
    files: list[str]
    #: the model as this run started (initialisation, or the checkpoint it resumed from),
    #: kept for the report's graph when ``config.report``
    start_model: Module | None = None
    #: set when Ctrl-C stopped the run: the checkpoint holds the step it stopped after
    interrupted: TrainingInterrupted | None = None
    #: the number of ranks of a data-parallel run (``mpiexec``/``--distributed``), else None
    ranks: int | None = None

    @property
    def splits(self) -> PreparedData:
        """The encoded train/validation/test rows (the prepared data)."""
        return self.data

    @property
    def n_classes(self) -> int:
        return int(self.data.n_classes)

    @property
    def out(self) -> Path:
        return Path(str(self.config.out))

    @property
    def history(self) -> list[dict[str, Any]]:
        """One dict of :class:`~nabla.training.trainer.EpochMetrics` fields per epoch."""
        return [asdict(m) for m in self.trainer.history]

    @property
    def samples_per_second(self) -> float:
        return self.trainer.samples_seen / max(self.trainer.train_seconds, 1e-9)


def _stderr(line: str) -> None:
    print(line, file=sys.stderr)


def _quiet(line: str) -> None:
    """The log of the ranks other than 0."""


def train(
    config: TrainConfig,
    log: Callable[[str], None] | None = None,
    announce: Callable[[TrainRun], None] | None = None,
) -> TrainRun:
    """Run ``config`` end to end and write its files into its run folder.

    Parameters
    ----------
    config : TrainConfig
        Without ``out``, the run goes to the first free folder of ``runs/train``,
        ``runs/train-2``, ... (``run.config.out`` says which).
    log : callable, optional
        Receives progress lines: notices about the data (columns left out, rows dropped, the
        task inferred), the resume note and, with ``config.verbose``, one line per epoch
        (default: print them to stderr).
    announce : callable, optional
        Called with the run before its first epoch (the data is prepared and the model
        built), so that a summary can be shown before training starts.

    Returns
    -------
    TrainRun
        When Ctrl-C stopped training, ``run.interrupted`` holds the interruption; the model,
        metrics so far and checkpoint are written all the same.
    """
    from nabla.training.outputs import write_run_files

    started = time.perf_counter()
    comm = join_world(config, CHECKPOINT)  # None: one process (the DataLoader's batches)
    say = log or _stderr
    if comm is not None and comm.rank != 0:
        say = _quiet  # rank 0 alone prints
    if config.report:
        from nabla.viz.report import require_matplotlib

        require_matplotlib()  # fail before training, not after
    if comm is None:
        out = choose_out(config.out, config.resume)
    else:  # the ranks agree on the folder (a free one is chosen by rank 0)
        out = on_rank_zero(comm, lambda: choose_out(config.out, config.resume))
    config = dataclasses.replace(config, out=str(out))
    checkpoint = out / CHECKPOINT
    if config.resume and not checkpoint.exists():
        raise ConfigError(
            f"--resume: no checkpoint at {checkpoint} (train with --out {out} first)"
        )
    if config.model == "logistic" and config.task == "regression":
        raise ConfigError(
            "--model logistic is a classifier; for a linear regression use --hidden none"
        )
    data = prepare_data(config)
    if config.model == "logistic" and data.is_regression:
        raise ConfigError(
            f"--model logistic is a classifier, but {config.data} has a regression target; "
            "for a linear regression use --hidden none"
        )
    for notice in data.notices:
        say(f"note: {notice}")
    if comm is None:
        removed = prepare_out(out, resume=config.resume, overwrite=config.overwrite)
    else:
        removed = on_rank_zero(
            comm, lambda: prepare_out(out, resume=config.resume, overwrite=config.overwrite)
        )
    if removed:
        say(f"--overwrite: removed {', '.join(removed)} from {out}")
    trainer, monitor = _make_trainer(config, data, say, comm)
    if config.resume:
        trainer.load_checkpoint()
        extension = _extend(config, trainer)
        say(f"resuming from {checkpoint} after epoch {trainer.epoch}")
        for note in (extension, resume_note(trainer)):
            if note:
                say(note)
    start_model = copy.deepcopy(trainer.model) if config.report else None
    run = TrainRun(config, data, trainer.model, trainer, monitor, {}, 0.0, [], start_model)
    run.ranks = None if comm is None else comm.size
    if announce is not None and (comm is None or comm.rank == 0):
        announce(run)
    try:
        trainer.fit(config.epochs)
    except TrainingInterrupted as stop:
        run.interrupted = stop
    warning = divergence_warning(trainer)
    if warning:
        say(warning)
    with deferred_interrupts() as pressed:  # Ctrl-C here would leave a half-written run
        if run.interrupted is not None and trainer.early_stopping is not None:
            trainer.early_stopping.restore(trainer.model)  # the best weights so far
        run.results = {name: _scores(run, name, X, y) for name, X, y in data.named() if len(X)}
        if comm is None:
            run.files = write_run_files(run)
        else:  # every rank waits for rank 0's files, and learns whether they were written
            run.files = on_rank_zero(comm, lambda: write_run_files(run))
            pressed.presses = int(sum(comm.allgather_object(pressed.presses)))
    if pressed.presses and run.interrupted is None:
        run.interrupted = TrainingInterrupted(trainer.epoch, 0, trainer.global_step, checkpoint)
    run.wall_seconds = time.perf_counter() - started
    return run


def _extend(config: TrainConfig, trainer: Trainer) -> str | None:
    """Check a resumed run's ``--epochs``; a larger one extends a finished run.

    An unfinished run (stopped by Ctrl-C or a crash) resumes with the number of epochs it was
    started with. A finished run given more epochs trains on; under the cosine schedule the
    added epochs are a new cosine cycle from the base learning rate down (a warm restart,
    as in SGDR), since the old cycle ended at its minimum. Returns the note to print when the
    run is extended.
    """
    planned = trainer.planned_epochs
    if config.epochs == planned or (trainer.stopped_early and config.epochs <= planned):
        return None
    finished = trainer.epoch >= planned
    if not finished:
        raise ConfigError(
            f"--epochs {config.epochs}: the run in {config.out} stopped at epoch {trainer.epoch} "
            f"of {planned}; resume it with --epochs {planned} first, then extend it"
        )
    if config.epochs < trainer.epoch:
        raise ConfigError(
            f"--epochs {config.epochs}: the run in {config.out} has trained {trainer.epoch} "
            "epochs already; pass more to extend it"
        )
    if config.scheduler == "cosine":
        for group in trainer.optimizer.param_groups:
            group["lr"] = group["initial_lr"]
        trainer.scheduler = lr_scheduler.CosineAnnealingLR(
            trainer.optimizer, T_max=config.epochs - trainer.epoch
        )
    return f"extending the run from {trainer.epoch} to {config.epochs} epochs"


def _make_trainer(
    config: TrainConfig,
    data: PreparedData,
    say: Callable[[str], None],
    comm: Communicator | None = None,
) -> tuple[Trainer, LayerMonitor | None]:
    manual_seed(config.seed)  # the model's initial weights, then dropout, come from it
    model = build_model(config, data.n_features, data.n_outputs, data.image_shape)
    optimizer = make_optimizer(config, model, data.task)
    scheduler = build_scheduler(config, optimizer)
    fingerprint = run_fingerprint(config, data.task)
    loader: Any
    make: Callable[..., Trainer] = Trainer
    if comm is None:
        loader = DataLoader(
            TensorDataset(data.X_train, data.y_train),
            batch_size=config.batch_size,
            shuffle=True,
            seed=config.seed,
        )
    else:  # each rank's batch: a resumed run may take other global batches (another N)
        loader = DistributedLoader(
            data.X_train, data.y_train, comm, config.batch_size, config.seed
        )
        make = partial(DistributedTrainer, comm=comm, seed=config.seed)
        fingerprint.pop("batch_size", None)
    Path(str(config.out)).mkdir(parents=True, exist_ok=True)
    monitor = LayerMonitor() if config.report else None
    trainer = make(
        model,
        optimizer,
        loader,
        scheduler=scheduler,
        val_data=(data.X_val, data.y_val) if len(data.X_val) else None,
        loss_fn=regression_loss(config) if data.is_regression else None,
        task=data.task,
        patience=config.patience,
        monitor=config.monitor,
        checkpoint_path=Path(str(config.out)) / CHECKPOINT,
        checkpoint_every=config.checkpoint_every,
        fingerprint=fingerprint,
        progress=config.progress,
        log=say if config.verbose else None,
        callbacks=[monitor] if monitor is not None else [],
    )
    return trainer, monitor


def run_fingerprint(config: TrainConfig, task: str) -> dict[str, Any]:
    """The settings a resumed run must share, with the optimizer as resolved for ``task``
    ("auto" is SGD or Adam; a checkpoint from before "auto" names the one it used)."""
    fingerprint = config.fingerprint()
    fingerprint["optimizer"] = config.optimizer_for(task)
    return fingerprint


def divergence_warning(trainer: Trainer) -> str | None:
    """A warning when the training loss ended over ten times its first epoch's (diverging
    rather than learning; a NaN loss stops training with an error instead)."""
    losses = [m.train_loss for m in trainer.history]
    if len(losses) < 2 or not losses[-1] > 10 * losses[0]:
        return None
    return (
        f"warning: the training loss rose from {losses[0]:.4g} (epoch 1) to {losses[-1]:.4g} "
        f"(epoch {len(losses)}): the run diverged; lower --lr or try --optimizer adam"
    )


def regression_loss(config: TrainConfig) -> RegressionLoss:
    """The regression loss ``config.loss`` names (mean squared error for "auto")."""
    return RegressionLoss("mse" if config.loss == "auto" else config.loss)


def _scores(run: TrainRun, split: str, X: Array, y: Array) -> dict[str, Any]:
    trainer, data = run.trainer, run.data
    comm = getattr(trainer, "comm", None)
    if comm is not None:  # every rank computes a share of the outputs, all get all of them
        classify = not data.is_regression
        loss, accuracy, predicted = evaluate_gathered(
            trainer.model, X, y, trainer.loss_fn, comm, classify
        )
        if classify:
            return {"loss": loss, "accuracy": accuracy, "samples": len(X)}
    elif not data.is_regression:
        loss, accuracy = evaluate_loss_accuracy(trainer.model, X, y, trainer.loss_fn)
        return {"loss": loss, "accuracy": accuracy, "samples": len(X)}
    else:
        loss, predicted = evaluate_regression(trainer.model, X, y, trainer.loss_fn)
    metrics = regression_metrics(data.true_values(split), data.unscale(predicted))
    return {"loss": loss, **{k: metrics[k] for k in ("rmse", "mae", "r2")}, "samples": len(X)}
