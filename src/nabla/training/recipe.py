"""The ``nabla train`` recipe: data → split → standardise → model → Trainer → results → files.

Each step is a plain function of a :class:`~nabla.training.config.TrainConfig`; :func:`train`
runs them all and returns a :class:`TrainRun`, which the CLI prints. The same run can be
started from Python::

    from nabla.training.config import TrainConfig
    from nabla.training.recipe import train

    run = train(TrainConfig(data="iris", epochs=20, out="runs/iris", plots=False))
    run.results["test"]["accuracy"]
"""

from __future__ import annotations

import copy
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from nabla._typing import Array
from nabla.creation import manual_seed
from nabla.data import (
    DataLoader,
    StandardScaler,
    TabularData,
    TensorDataset,
    check_classification_target,
    load_data,
    split_dataset,
)
from nabla.data.csv_loader import TargetNameError
from nabla.errors import DataError
from nabla.nn import MLP, LogisticRegression, Module
from nabla.optim import lr_scheduler
from nabla.optim.optimizer import Optimizer
from nabla.optim.registry import build_optimizer
from nabla.training.callbacks import LayerMonitor
from nabla.training.config import ConfigError, TrainConfig
from nabla.training.trainer import Trainer, evaluate_loss_accuracy

__all__ = [
    "CHECKPOINT",
    "Splits",
    "TrainRun",
    "build_model",
    "build_scheduler",
    "check_class_labels",
    "load_classification_data",
    "make_optimizer",
    "split_data",
    "train",
]

#: the checkpoint's name inside the run's output folder
CHECKPOINT = "checkpoint.safetensors"
#: most distinct values of an integer target read as class labels, unless they are 0..K-1
MAX_INTEGER_CLASSES = 50


def load_classification_data(spec: str, target: str | None, by_name: bool = False) -> TabularData:
    """Load `spec` and require class labels; a `target` of digits is an index unless `by_name`."""
    target_arg: str | int | None = target
    if target is not None and target.lstrip("-").isdigit() and not by_name:
        target_arg = int(target)
    try:
        data = load_data(spec, target_arg)
    except TargetNameError as exc:  # the command line names the target with --target
        last = exc.n_columns - 1
        raise TargetNameError(
            exc.path,
            exc.target,
            exc.n_columns,
            f"pass --target with a column index in 0..{last} (e.g. --target {last})",
        ) from None
    if not data.is_classification:
        raise DataError(
            f"{data.source}: target {data.target_name!r} holds continuous values; nabla train "
            "trains classifiers (class labels: text or integers)"
        )
    check_classification_target(data.y, source=str(data.source))
    return data


def check_class_labels(data: TabularData) -> None:
    """Refuse an integer target that looks like a regression target, before training on it.

    An integer-valued target is read as class labels, so a count or a score (a regression
    target) would train as a classifier with a class per value. It is refused when it has more
    than :data:`MAX_INTEGER_CLASSES` distinct values that are not the class ids 0..K-1, or
    more than 10 distinct values that number over half the rows (most classes would have one
    row). Text labels are always classes.
    """
    names = data.class_names or []
    if not all(name.lstrip("-").isdigit() for name in names):
        return
    n_classes = len(names)
    n_rows = data.n_samples + (0 if data.X_test is None else len(data.X_test))
    class_ids = sorted(int(name) for name in names) == list(range(n_classes))
    if (n_classes > MAX_INTEGER_CLASSES and not class_ids) or (
        n_classes > 10 and n_classes > n_rows / 2
    ):
        raise DataError(
            f"{data.source}: target {data.target_name!r} has {n_classes} distinct integer "
            f"values in {n_rows} rows, which looks like a regression target; nabla train "
            f"trains classifiers: use a classification target (class labels as text, at most "
            f"{MAX_INTEGER_CLASSES} integer values or the ids 0..K-1, and fewer than half as "
            "many as rows)"
        )


@dataclass
class Splits:
    """The train/validation/test rows, standardised by ``scaler`` (fit on train) when set."""

    X_train: Array
    y_train: Array
    X_val: Array
    y_val: Array
    X_test: Array
    y_test: Array
    scaler: StandardScaler | None

    def named(self) -> list[tuple[str, Array, Array]]:
        """("train", X, y), ("val", ...), ("test", ...), in that order."""
        return [
            ("train", self.X_train, self.y_train),
            ("val", self.X_val, self.y_val),
            ("test", self.X_test, self.y_test),
        ]


def split_data(config: TrainConfig, data: TabularData) -> Splits:
    """Split by ``config``'s fractions and seed; a data set with its own test rows keeps them."""
    own_test = None  # an MNIST folder comes with its own test rows
    if data.X_test is not None and data.y_test is not None:
        own_test = (data.X_test, data.y_test)
    split = split_dataset(
        data.X,
        data.y,
        val_split=config.val_split,
        test_split=0.0 if own_test is not None else config.test_split,
        seed=config.seed,
    )
    X_test, y_test = own_test if own_test is not None else (split.X_test, split.y_test)
    X_train, X_val = split.X_train, split.X_val
    scaler = StandardScaler().fit(X_train) if config.standardize else None
    if scaler is not None:
        X_train, X_val, X_test = (scaler.transform(X) for X in (X_train, X_val, X_test))
    return Splits(X_train, split.y_train, X_val, split.y_val, X_test, y_test, scaler)


def build_model(config: TrainConfig, n_features: int, n_classes: int) -> Module:
    """The MLP (or logistic regression) ``config`` describes; seed the generator first."""
    if config.model == "logistic":
        return LogisticRegression(n_features, n_classes)
    sizes = [n_features, *config.hidden_sizes(), n_classes]
    return MLP(
        sizes, activation=config.activation, dropout=config.dropout, batch_norm=config.batch_norm
    )


def make_optimizer(config: TrainConfig, model: Module) -> Optimizer:
    """``config.optimizer`` over the model's parameters, built by the optimizer registry."""
    return build_optimizer(
        config.optimizer,
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
    data: TabularData
    splits: Splits
    model: Module
    trainer: Trainer
    monitor: LayerMonitor | None
    #: split name → {"loss", "accuracy", "samples"}, for the splits that have rows
    results: dict[str, dict[str, Any]]
    #: seconds this call took to train (the trainer's total includes resumed epochs)
    wall_seconds: float
    #: names of the files written into ``config.out``
    files: list[str]
    #: the model as this run started (initialisation, or the checkpoint it resumed from),
    #: kept for the report's graph when ``config.report``
    start_model: Module | None = None

    @property
    def n_classes(self) -> int:
        return int(self.data.n_classes)

    @property
    def out(self) -> Path:
        return Path(self.config.out)

    @property
    def history(self) -> list[dict[str, Any]]:
        """One dict of :class:`~nabla.training.trainer.EpochMetrics` fields per epoch."""
        return [asdict(m) for m in self.trainer.history]

    @property
    def samples_per_second(self) -> float:
        return self.trainer.samples_seen / max(self.trainer.train_seconds, 1e-9)


def _stderr(line: str) -> None:
    print(line, file=sys.stderr)


def train(config: TrainConfig, log: Callable[[str], None] | None = None) -> TrainRun:
    """Run ``config`` end to end and write its files into ``config.out``.

    Parameters
    ----------
    config : TrainConfig
    log : callable, optional
        Receives progress lines: the resume note and, with ``config.verbose``, one line per
        epoch (default: print them to stderr).

    Returns
    -------
    TrainRun
    """
    from nabla.training.outputs import write_run_files

    say = log or _stderr
    if config.report:
        from nabla.viz.report import require_matplotlib

        require_matplotlib()  # fail before training, not after
    checkpoint = Path(config.out) / CHECKPOINT
    if config.resume and not checkpoint.exists():
        raise ConfigError(
            f"--resume: no checkpoint at {checkpoint} (train with --out {config.out} first)"
        )
    data = load_classification_data(config.data, config.target)
    check_class_labels(data)
    splits = split_data(config, data)
    trainer, monitor = _make_trainer(config, data, splits, say)
    if config.resume:
        trainer.load_checkpoint()
        say(f"resuming from {checkpoint} after epoch {trainer.epoch}")
    start_model = copy.deepcopy(trainer.model) if config.report else None
    started = time.perf_counter()
    trainer.fit(config.epochs)
    wall = time.perf_counter() - started
    results = {name: _scores(trainer, X, y) for name, X, y in splits.named() if len(X)}
    run = TrainRun(config, data, splits, trainer.model, trainer, monitor, results, wall, [])
    run.start_model = start_model
    run.files = write_run_files(run)
    return run


def _make_trainer(
    config: TrainConfig, data: TabularData, splits: Splits, say: Callable[[str], None]
) -> tuple[Trainer, LayerMonitor | None]:
    manual_seed(config.seed)  # the model's initial weights, then dropout, come from it
    model = build_model(config, data.n_features, int(data.n_classes))
    optimizer = make_optimizer(config, model)
    scheduler = build_scheduler(config, optimizer)
    loader = DataLoader(
        TensorDataset(splits.X_train, splits.y_train),
        batch_size=config.batch_size,
        shuffle=True,
        seed=config.seed,
    )
    Path(config.out).mkdir(parents=True, exist_ok=True)
    monitor = LayerMonitor() if config.report else None
    trainer = Trainer(
        model,
        optimizer,
        loader,
        scheduler=scheduler,
        val_data=(splits.X_val, splits.y_val) if len(splits.X_val) else None,
        checkpoint_path=Path(config.out) / CHECKPOINT,
        checkpoint_every=config.checkpoint_every,
        fingerprint=config.fingerprint(),
        progress=config.progress,
        log=say if config.verbose else None,
        callbacks=[monitor] if monitor is not None else [],
    )
    return trainer, monitor


def _scores(trainer: Trainer, X: Array, y: Array) -> dict[str, Any]:
    loss, accuracy = evaluate_loss_accuracy(trainer.model, X, y, trainer.loss_fn)
    return {"loss": loss, "accuracy": accuracy, "samples": len(X)}
