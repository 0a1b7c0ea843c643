"""The settings of a training run, defined once: ``nabla train``'s options and the resume check.

:class:`TrainConfig` holds every setting of ``nabla train`` as a typed field whose metadata
carries its help text, its command-line flags, its choices, its ``--help`` group and whether a
resumed run may change it. The CLI generates its options from these fields
(:func:`nabla.cli.train.add_config_arguments`), and :meth:`TrainConfig.fingerprint` derives the
settings a checkpoint must share with the run that resumes it, so a new setting is one field
here: it becomes an option and joins the fingerprint with no list to update.

Examples
--------
>>> config = TrainConfig(data="iris", epochs=5, optimizer="adam")
>>> config.learning_rate()
0.001
>>> config.fingerprint()["optimizer"], "out" in config.fingerprint()
('adam', False)
>>> TrainConfig.from_dict(config.to_dict()) == config
True
>>> TrainConfig(epochs=0)
Traceback (most recent call last):
...
nabla.training.config_fields.ConfigError: --epochs must be positive, got 0
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from nabla.nn.registry import ACTIVATIONS  # importing nabla.nn registers the built-ins
from nabla.optim.registry import OPTIMIZERS
from nabla.training.config_fields import (
    ConfigError,
    Fingerprint,
    check_field,
    choices_of,
    field_type,
    flags_of,
    in_fingerprint,
    require,
    setting,
)

__all__ = [
    "ConfigError",
    "TrainConfig",
    "choices_of",
    "field_type",
    "flag_of",
    "flags_of",
    "parse_delimiter",
    "parse_hidden",
    "setting",
]

SCHEDULER_CHOICES = ("cosine", "step", "exponential", "plateau", "none")
TASK_CHOICES = ("auto", "classification", "regression")
IMPUTE_CHOICES = ("median", "mean", "drop")
LOSS_CHOICES = ("auto", "cross_entropy", "mse", "mae", "huber")
MONITOR_CHOICES = ("val_loss", "val_accuracy")


def parse_hidden(text: str) -> list[int]:
    """'128,64' → [128, 64]; '' or 'none' → no hidden layer."""
    if text.strip().lower() in ("", "none", "0"):
        return []
    try:
        sizes = [int(part) for part in text.split(",")]
    except ValueError:
        raise ConfigError(
            f"--hidden: expected comma-separated widths such as 128,64, got {text!r}"
        ) from None
    if any(s <= 0 for s in sizes):
        raise ConfigError(f"--hidden: widths must be positive, got {text!r}")
    return sizes


def parse_delimiter(text: str | None) -> str | None:
    """A ``--delimiter`` value as the character: ``\\t`` and ``tab`` are a tab; None stays None
    (detect it)."""
    if text is None:
        return None
    return "\t" if text in ("\\t", "tab", "TAB") else text


def activation_names() -> tuple[str, ...]:
    """The activations MLP(activation=...) accepts by name: the registry's, as of now."""
    return tuple(sorted(ACTIVATIONS))


def _lr_help() -> str:
    defaults = ", ".join(f"{name} {entry.lr:g}" for name, entry in OPTIMIZERS.items())
    return f"learning rate (default per optimizer: {defaults})"


@dataclass(frozen=True)
class TrainConfig:
    """Every setting of a ``nabla train`` run; each field is one command-line option.

    Field metadata (see :func:`setting`) holds the help text, flags, choices and resume rule.
    Constructing a config validates it: a bad value raises :class:`ConfigError` naming it.
    """

    data: str = setting(
        "digits",
        "digits, iris, wine, breast_cancer, a .csv or .npz file, or an MNIST IDX folder "
        "(default: digits)",
        group="data",
    )
    target: str | None = setting(
        None, "target column of a CSV (name or index; default: last)", group="data"
    )
    task: str = setting(
        "auto",
        "classification or regression (default: from the target: text or few integers are "
        "classes, other numbers a regression target)",
        group="data",
        choices=TASK_CHOICES,
    )
    delimiter: str | None = setting(
        None, "field separator of a CSV, e.g. ';' or '\\t' (default: detected)", group="data"
    )
    encoding: str = setting(
        "utf-8-sig", "text encoding of a CSV (default UTF-8, with or without BOM)", group="data"
    )
    decimal: str | None = setting(
        None,
        "decimal mark of a CSV's numbers, . or , (default: detected; a comma needs another "
        "delimiter)",
        group="data",
        choices=(".", ","),
    )
    features: str = setting(
        "", "use only these columns as features (comma-separated names)", group="data"
    )
    drop: str = setting("", "columns to leave out (comma-separated names)", group="data")
    id_column: str | None = setting(
        None,
        "a row-ID column: not a feature, copied into nabla predict's output",
        group="data",
        flags=("--id",),
    )
    impute: str = setting(
        "median",
        "missing numbers: fill with the training split's median (default) or mean, or drop "
        "the rows (missing text is all zeros in every mode)",
        group="data",
        choices=IMPUTE_CHOICES,
    )
    missing_indicators: bool = setting(
        False, "add a 0/1 column '<name>_missing' per column with missing values", group="data"
    )
    strict: bool = setting(
        False,
        "refuse text categories not seen in training when predicting (default: encode them "
        "as all zeros)",
        group="data",
    )
    x_key: str | None = setting(
        None, "feature array of an .npz archive (default: X, else x)", group="data"
    )
    y_key: str | None = setting(None, "target array of an .npz archive (default: y)", group="data")
    val_split: float = setting(0.1, "validation fraction (0.1)", group="data")
    test_split: float = setting(0.2, "test fraction (0.2)", group="data")
    standardize: bool = setting(
        True,
        "do not standardise features (default: fit mean/std on the training split)",
        group="data",
    )
    model: str = setting(
        "mlp",
        "mlp, logistic regression, or cnn: a small convolutional network for images (digits, "
        "an MNIST IDX folder, an .npz of (n, h, w[, c]) images; --hidden and --activation do "
        "not apply) (default mlp)",
        group="model",
        choices=("mlp", "logistic", "cnn"),
    )
    hidden: str = setting("128", "hidden widths, e.g. 128,64 (default 128)", group="model")
    activation: str = setting(
        "tanh", "hidden-layer activation (default tanh)", group="model", choices=activation_names
    )
    loss: str = setting(
        "auto",
        "training loss: cross_entropy for classification, mse (the default), mae or huber for "
        "regression",
        group="model",
        choices=LOSS_CHOICES,
    )
    dropout: float = setting(0.0, "dropout after hidden layers", group="model")
    batch_norm: bool = setting(False, "BatchNorm1d after hidden layers", group="model")
    epochs: int = setting(
        60,
        "epochs to train (default 60); with --resume, a larger number extends a finished run",
        group="optimisation",
        resume="free",
    )
    batch_size: int = setting(32, "mini-batch size (default 32)", group="optimisation")
    optimizer: str = setting(
        "auto",
        "optimizer (default: sgd with momentum for classification, adam for regression, as "
        "scikit-learn's MLPRegressor)",
        group="optimisation",
        choices=lambda: ("auto", *OPTIMIZERS),
    )
    lr: float | None = setting(None, _lr_help(), group="optimisation")
    momentum: float | None = setting(
        None, "momentum of sgd (default 0.9) or rmsprop (default 0)", group="optimisation"
    )
    weight_decay: float = setting(1e-3, "L2 weight decay (1e-3)", group="optimisation")
    scheduler: str = setting(
        "cosine",
        "learning-rate schedule (default: cosine annealing over the epochs)",
        group="optimisation",
        choices=SCHEDULER_CHOICES,
    )
    patience: int = setting(
        0,
        "early stopping: stop after N epochs without a better --monitor value, and keep the "
        "best epoch's weights (default 0: off)",
        group="optimisation",
    )
    monitor: str = setting(
        "val_loss",
        "what --patience watches (default val_loss)",
        group="optimisation",
        choices=MONITOR_CHOICES,
    )
    seed: int = setting(1, "seed for split, init and batches (1)", group="optimisation")
    distributed: bool = setting(
        False,
        "data-parallel over the ranks of mpiexec (on by itself under mpiexec): --batch-size is "
        "each rank's batch, a step takes N·batch rows; alone, one process in the same order",
        group="optimisation",
        resume="free",
    )
    out: str | None = setting(
        None,
        "output folder (default: runs/train, or runs/train-2, -3, ... when that is taken)",
        group="output",
        resume="free",
    )
    overwrite: bool = setting(
        False,
        "reuse a non-empty --out, removing the old run's files first",
        group="output",
        resume="free",
    )
    checkpoint_every: int = setting(
        0, "checkpoint every N epochs (0: at the end)", group="output", resume="free"
    )
    resume: bool = setting(
        False, "continue from --out's checkpoint", group="output", resume="free"
    )
    progress: bool = setting(True, "no progress bar", group="output", resume="free")
    plots: bool = setting(True, "skip the PNG curves", group="output", resume="free")
    report: bool = setting(
        False,
        "also write report.html: curves, the model graph, per-layer gradient and weight "
        "histograms over epochs, settings (one self-contained file)",
        group="output",
        resume="free",
    )
    verbose: bool = setting(
        False,
        "print one line per epoch",
        group="output",
        flags=("-v", "--verbose"),
        resume="free",
    )

    def __post_init__(self) -> None:
        for field in dataclasses.fields(self):
            check_field(self, field)
        self._check_ranges()

    def _check_ranges(self) -> None:
        require(self.epochs > 0, f"--epochs must be positive, got {self.epochs}")
        require(self.batch_size > 0, f"--batch-size must be positive, got {self.batch_size}")
        for name in ("val_split", "test_split"):
            value = getattr(self, name)
            require(0 <= value < 1, f"{flag_of(name)} must be in [0, 1), got {value}")
        require(
            self.val_split + self.test_split < 1,
            "--val-split and --test-split leave no training data",
        )
        require(self.lr is None or self.lr > 0, f"--lr must be positive, got {self.lr}")
        require(0 <= self.dropout < 1, f"--dropout must be in [0, 1), got {self.dropout}")
        require(
            self.checkpoint_every >= 0,
            f"--checkpoint-every must be >= 0, got {self.checkpoint_every}",
        )
        require(self.patience >= 0, f"--patience must be >= 0, got {self.patience}")
        require(
            self.patience == 0 or self.val_split > 0,
            "--patience watches the validation split: --val-split must be above 0",
        )
        require(
            not (self.task == "regression" and self.monitor == "val_accuracy"),
            "--monitor val_accuracy applies to classification; regression monitors val_loss",
        )
        require(
            not (self.task == "regression" and self.loss == "cross_entropy"),
            "--loss cross_entropy applies to classification; regression takes mse, mae or huber",
        )
        require(
            not (self.task == "classification" and self.loss in ("mse", "mae", "huber")),
            f"--loss {self.loss} applies to regression; classification trains with cross_entropy",
        )
        require(
            self.delimiter is None or len(self.delimiter_char() or "") == 1,
            f"--delimiter must be one character (or \\t), got {self.delimiter!r}",
        )
        self.hidden_sizes()  # a bad --hidden fails here, before any data is read
        if self.momentum is not None and self.task != "regression":
            self.check_momentum(self.optimizer_for("classification"))

    def check_momentum(self, optimizer: str) -> None:
        """Refuse ``--momentum`` for an optimizer that has none."""
        if self.momentum is None:
            return
        takers = [n for n, e in OPTIMIZERS.items() if "momentum" in e.hyperparameters()]
        require(
            optimizer in takers, f"--momentum applies to {' and '.join(takers)}, not {optimizer}"
        )

    # ----- derived values ---------------------------------------------------------------------
    def hidden_sizes(self) -> list[int]:
        """The hidden widths ``hidden`` spells ("128,64" → [128, 64])."""
        return parse_hidden(self.hidden)

    def delimiter_char(self) -> str | None:
        """``delimiter`` with ``\\t`` and ``tab`` read as a tab (None: detect it)."""
        return parse_delimiter(self.delimiter)

    def column_list(self, name: str) -> tuple[str, ...]:
        """The comma-separated column names of field ``name`` (``features`` or ``drop``)."""
        text: str = getattr(self, name)
        return tuple(part.strip() for part in text.split(",") if part.strip())

    def optimizer_for(self, task: str) -> str:
        """The optimizer a run of ``task`` uses: ``optimizer``, or for "auto" SGD (with
        momentum) for classification and Adam for regression."""
        if self.optimizer != "auto":
            return self.optimizer
        return "adam" if task == "regression" else "sgd"

    def learning_rate(self, task: str = "classification") -> float:
        """``lr``, or the registered default of the optimizer used for ``task`` when None."""
        return OPTIMIZERS[self.optimizer_for(task)].lr if self.lr is None else self.lr

    def fingerprint(self) -> dict[str, Any]:
        """The settings a resumed run must share with its checkpoint, by field name.

        Every field belongs to it unless its metadata says ``resume="free"`` (or its predicate
        says no for this config), so a new setting is checked on resume without being listed.
        """
        fields = [field for field in dataclasses.fields(self) if in_fingerprint(field, self)]
        return Fingerprint(
            {field.name: getattr(self, field.name) for field in fields},
            {field.name: field.default for field in fields},
        )

    def to_dict(self) -> dict[str, Any]:
        """Every field by name: JSON-ready (str, int, float, bool or None values)."""
        return {field.name: getattr(self, field.name) for field in dataclasses.fields(self)}

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> TrainConfig:
        """A config from :meth:`to_dict`'s form; missing keys take their defaults."""
        names = {field.name for field in dataclasses.fields(cls)}
        unknown = [key for key in values if key not in names]
        if unknown:
            raise ConfigError(
                f"{cls.__name__}: unknown setting {unknown[0]!r}; known: {', '.join(names)}"
            )
        return cls(**values)


def flag_of(name: str, cls: type = TrainConfig) -> str:
    """The long command-line flag of field ``name`` (``"val_split"`` → ``"--val-split"``)."""
    field = {f.name: f for f in dataclasses.fields(cls)}[name]
    return flags_of(field, cls)[-1]
