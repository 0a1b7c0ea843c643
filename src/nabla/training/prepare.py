"""The data of a ``nabla train`` run: read, target and task, rows, split, encode, standardise.

:func:`prepare_data` turns a :class:`~nabla.training.config.TrainConfig`'s data settings into
the float32 matrices a model trains on. A CSV file is read as a raw table
(:func:`nabla.data.read_table`): its target decides the task, rows without a target (and,
with ``--impute drop``, rows with a missing feature) are left out, the rows are split, and the
column encoding (:class:`nabla.data.columns.Preprocessing`: one-hot text, imputed numbers,
standardisation) is fitted on the training rows alone and applied to every split. Built-in
sets, ``.npz`` archives and IDX folders are numeric matrices already: they are split and
standardised the same way. What was decided is kept in :class:`PreparedData` and stored in the
model file, so ``nabla evaluate``/``predict``/``export`` read new rows exactly as training did.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from nabla._typing import Array
from nabla.data import StandardScaler, load_data, stratified_split
from nabla.data.columns import ColumnOptions, Preprocessing, choose_columns, target_values
from nabla.data.table import Table, read_table
from nabla.data.tabular import TabularData, encode_target
from nabla.errors import DataError
from nabla.training.config import TrainConfig

__all__ = [
    "MAX_INTEGER_CLASSES",
    "PreparedData",
    "check_classes",
    "column_options",
    "decide_task",
    "prepare_data",
    "read_rows",
    "resolve_target",
    "split_rows",
    "target_rows",
]

#: most distinct values of an integer target read as class labels, unless they are 0..K-1
MAX_INTEGER_CLASSES = 50


@dataclass
class PreparedData:
    """The encoded splits of a run's data and everything needed to encode new rows alike."""

    source: str
    task: str
    target_name: str
    X_train: Array
    y_train: Array
    X_val: Array
    y_val: Array
    X_test: Array
    y_test: Array
    preprocessing: Preprocessing
    class_names: list[str] | None = None
    #: regression: the training split's target mean and standard deviation (y is trained on
    #: (y − mean) / scale; predictions are mapped back)
    target_mean: float = 0.0
    target_scale: float = 1.0
    rows_read: int = 0
    notices: list[str] = field(default_factory=list)
    id_column: str | None = None
    #: how the CSV was read (delimiter, encoding), for the commands that read new rows
    csv: dict[str, str] | None = None
    #: columns that are not features, and why (the target included)
    excluded: dict[str, str] = field(default_factory=dict)
    #: how missing numbers were filled ("median", "mean"; "drop" left the rows out)
    impute: str = "median"
    #: regression: each split's target values as read (float64), before standardising
    raw_targets: dict[str, Array] = field(default_factory=dict)
    #: (channels, height, width) when the splits hold images for a CNN (X of shape (n, c, h, w))
    image_shape: tuple[int, int, int] | None = None

    @property
    def is_regression(self) -> bool:
        return self.task == "regression"

    @property
    def n_features(self) -> int:
        """Width of a row (pixel values per image, for images)."""
        return int(np.prod(self.X_train.shape[1:]))

    @property
    def n_classes(self) -> int:
        """Number of classes; 0 for regression."""
        return 0 if self.class_names is None else len(self.class_names)

    @property
    def n_outputs(self) -> int:
        """Width of the model's output: one per class, or one value."""
        return 1 if self.is_regression else self.n_classes

    @property
    def n_samples(self) -> int:
        """Rows used (all splits)."""
        return len(self.y_train) + len(self.y_val) + len(self.y_test)

    @property
    def feature_names(self) -> list[str]:
        return list(self.preprocessing.feature_names)

    def named(self) -> list[tuple[str, Array, Array]]:
        """("train", X, y), ("val", ...), ("test", ...), in that order."""
        return [
            ("train", self.X_train, self.y_train),
            ("val", self.X_val, self.y_val),
            ("test", self.X_test, self.y_test),
        ]

    def true_values(self, split: str) -> Array:
        """A regression split's target values as read (float64, not rounded through float32)."""
        return self.raw_targets[split]

    def unscale(self, values: Array) -> Array:
        """Model outputs of a regression in the target's units."""
        return target_values(values, self.target_metadata())

    def target_metadata(self) -> dict[str, Any]:
        """The model file's ``target`` entry."""
        entry: dict[str, Any] = {"name": self.target_name, "task": self.task}
        if self.is_regression:
            entry.update(mean=self.target_mean, scale=self.target_scale)
        return entry


def column_options(config: TrainConfig) -> ColumnOptions:
    """The column settings of ``config``."""
    return ColumnOptions(
        impute=config.impute,
        indicators=config.missing_indicators,
        drop=config.column_list("drop"),
        features=config.column_list("features"),
        id_column=config.id_column,
        strict=config.strict,
        standardize=config.standardize,
    )


def is_csv(spec: str) -> bool:
    return Path(spec).suffix.lower() in (".csv", ".tsv", ".txt")


def read_rows(
    spec: str,
    delimiter: str | None,
    encoding: str,
    *,
    decimal: str | None = None,
    min_columns: int = 2,
    expect: Sequence[str] | None = None,
    text: Sequence[str] = (),
) -> Table:
    """A CSV file as a raw table (see :func:`nabla.data.read_table` for the options)."""
    return read_table(
        spec,
        delimiter=delimiter,
        encoding=encoding,
        decimal=decimal,
        min_columns=min_columns,
        expect=expect,
        text=text,
    )


def resolve_target(table: Table, target: str | None) -> str:
    """The target column's name: ``target`` as a name, else as an index; default the last."""
    names = table.names
    if target is None:
        return names[-1]
    if target in names:
        return target
    if target.lstrip("-").isdigit():
        index = int(target)
        if -len(names) <= index < len(names):
            return names[index]
        raise DataError(
            f"{table.source}: target index {index} is out of range for {len(names)} columns "
            f"(use 0..{len(names) - 1} or a column name)"
        )
    shown = ", ".join(repr(n) for n in names[:20]) + (" ..." if len(names) > 20 else "")
    raise DataError(f"{table.source}: no column named {target!r}; columns are: {shown}")


def decide_task(values: Array, task: str, *, source: str, column: str) -> tuple[str, str | None]:
    """The task for a target column, and a notice when it was inferred from numbers.

    Text is a class label. Under ``task="auto"`` non-integer numbers are a regression target
    (with a notice); integers are class labels unless they look like a count or a score (more
    than :data:`MAX_INTEGER_CLASSES` distinct values that are not 0..K-1, or more than 10
    distinct values numbering over half the rows), which asks for ``--task`` before training.
    """
    if task != "auto":
        return task, None
    if values.dtype.kind != "f":
        return "classification", None
    if not np.all(values == np.round(values)):
        return "regression", (
            f"target {column!r} holds non-integer numbers: training a regressor "
            "(pass --task classification for class labels)"
        )
    distinct = np.unique(values)
    n_rows = len(values)
    class_ids = np.array_equal(distinct, np.arange(len(distinct)))
    if (len(distinct) > MAX_INTEGER_CLASSES and not class_ids) or (
        len(distinct) > 10 and len(distinct) > n_rows / 2
    ):
        raise DataError(
            f"{source}: target {column!r} has {len(distinct)} distinct integer values in "
            f"{n_rows} rows: pass --task regression to predict it as a number, or --task "
            "classification to treat each value as a class"
        )
    return "classification", None


def check_classes(class_names: list[str] | None, n_rows: int, *, source: str, column: str) -> None:
    """Refuse a class target that holds a different value in most rows (a name or an ID):
    over 10 classes that number more than half the rows leave most classes one row."""
    if class_names is None:
        return
    n_classes = len(class_names)
    if n_classes > 10 and n_classes > n_rows / 2:
        raise DataError(
            f"{source}: target {column!r} has {n_classes} distinct values in {n_rows} rows: a "
            "classifier needs several rows per class (is it a name or an ID?); pick another "
            "--target"
        )


def target_rows(table: Table, target: str) -> tuple[Array, list[str]]:
    """Indices of the rows that have a target value, and a notice for those left out."""
    missing = table.missing(target)
    if missing.all():
        raise DataError(f"{table.source}: target column {target!r} is empty in every row")
    notices = []
    if missing.any():
        first = int(np.flatnonzero(missing)[0])
        notices.append(
            f"left out {int(missing.sum())} row(s) without a target value (first: line "
            f"{table.line(first)})"
        )
    return np.flatnonzero(~missing), notices


def split_rows(
    labels: Array, config_val: float, config_test: float, seed: int, stratify: bool
) -> tuple[Array, Array, Array]:
    """Row indices of the train/validation/test split (stratified by class for classifiers)."""
    y = labels if stratify else np.zeros(len(labels), dtype=np.int64)
    return stratified_split(y, val_fraction=config_val, test_fraction=config_test, seed=seed)


def prepare_data(config: TrainConfig) -> PreparedData:
    """Read, split and encode the data ``config`` names (see the module docstring)."""
    if is_csv(config.data):
        if config.model == "cnn":
            raise DataError(
                f"{config.data}: --model cnn trains on images (digits, an MNIST IDX folder or "
                "an .npz of (n, h, w[, c]) images), not a CSV table"
            )
        return _prepare_table(config)
    return _prepare_matrix(config)


def _prepare_table(config: TrainConfig) -> PreparedData:
    ids = (config.id_column,) if config.id_column else ()
    table = read_rows(
        config.data, config.delimiter_char(), config.encoding, decimal=config.decimal, text=ids
    )
    target = resolve_target(table, config.target)
    notices = list(table.notices)
    rows, dropped = target_rows(table, target)
    notices += dropped
    values = table.columns[target][rows]
    source = str(config.data)
    task, notice = decide_task(values, config.task, source=source, column=target)
    if notice:
        notices.append(notice)
    options = column_options(config)
    choice = choose_columns(table, target, options)
    notices += choice.notices
    if config.impute == "drop":
        incomplete = choice.rows_with_missing(table)[rows]
        if incomplete.all():
            raise DataError(f"{source}: every row has a missing value; --impute drop leaves none")
        if incomplete.any():
            notices.append(
                f"--impute drop: left out {int(incomplete.sum())} row(s) with a missing number"
            )
        rows = rows[~incomplete]
    y, class_names = encode_target(table.columns[target][rows], task, source=source, column=target)
    check_classes(class_names, len(y), source=source, column=target)
    train, val, test = split_rows(
        y, config.val_split, config.test_split, config.seed, stratify=task == "classification"
    )
    preprocessing = Preprocessing.fit(table, rows[train], choice, options)
    # --strict is the policy for new rows at predict time: a category that only the
    # validation or test rows have is encoded as any unseen one (all zeros)
    X = {
        name: preprocessing.transform(table.take(rows[part]), strict=False)
        for name, part in (("train", train), ("val", val), ("test", test))
    }
    prepared = PreparedData(
        source,
        task,
        target,
        X["train"],
        y[train],
        X["val"],
        y[val],
        X["test"],
        y[test],
        preprocessing,
        class_names,
        rows_read=table.n_rows,
        notices=notices,
        id_column=config.id_column,
        csv={"delimiter": table.delimiter, "encoding": config.encoding, "decimal": table.decimal},
        excluded=dict(choice.excluded),
        impute=config.impute,
    )
    if task == "regression":
        _standardize_target(prepared)
    return prepared


def _prepare_matrix(config: TrainConfig) -> PreparedData:
    """A built-in set, an .npz archive or an IDX folder: numeric features, no missing values."""
    data = _load_matrix(config)
    task = "regression" if not data.is_classification else "classification"
    if config.task == "auto" and data.class_names is not None:
        labels = data.class_names
        if all(name.lstrip("-").isdigit() for name in labels):  # integers: a count or classes?
            values = np.asarray([float(name) for name in labels])[data.y]
            decide_task(values, "auto", source=str(data.source), column=data.target_name)
        check_classes(labels, len(data.y), source=str(data.source), column=data.target_name)
    if config.task == "regression" and data.is_classification:
        raise DataError(
            f"{data.source}: --task regression needs a numeric target; {data.target_name!r} "
            "holds class labels"
        )
    own_test = data.X_test is not None and data.y_test is not None
    train, val, test = split_rows(
        data.y,
        config.val_split,
        0.0 if own_test else config.test_split,
        config.seed,
        stratify=task == "classification",
    )
    X_test, y_test = data.X[test], data.y[test]
    if own_test:
        assert data.X_test is not None and data.y_test is not None
        X_test, y_test = data.X_test, data.y_test
    X_train, X_val = data.X[train], data.X[val]
    # images keep their [0, 1] pixels: a CNN's BatchNorm2d does the standardising
    images = data.image_shape is not None
    scaler = StandardScaler().fit(X_train) if config.standardize and not images else None
    if scaler is not None:
        X_train, X_val, X_test = (scaler.transform(X) for X in (X_train, X_val, X_test))
    preprocessing = Preprocessing.from_legacy(
        list(data.feature_names), None if scaler is None else scaler.to_dict()
    )
    prepared = PreparedData(
        str(data.source),
        task,
        data.target_name,
        X_train,
        data.y[train],
        X_val,
        data.y[val],
        X_test,
        y_test,
        preprocessing,
        data.class_names,
        rows_read=data.n_samples + (len(y_test) if own_test else 0),
        image_shape=data.image_shape,
    )
    if task == "regression":
        _standardize_target(prepared)
    return prepared


def _load_matrix(config: TrainConfig) -> TabularData:
    target: str | int | None = config.target
    if config.target is not None and config.target.lstrip("-").isdigit():
        target = int(config.target)
    task: Any = config.task
    return load_data(
        config.data,
        target,
        x_key=config.x_key,
        y_key=config.y_key,
        task=task,
        images=config.model == "cnn",
    )


def _standardize_target(prepared: PreparedData) -> None:
    """Train on (y − mean) / scale with the training split's statistics."""
    prepared.raw_targets = {
        name: np.asarray(y, dtype=np.float64) for name, _, y in prepared.named()
    }
    y = prepared.raw_targets["train"]
    mean = float(y.mean())
    std = float(y.std())
    scale = std if std > 1e-12 * max(abs(mean), 1.0) else 1.0
    prepared.target_mean, prepared.target_scale = mean, scale
    for name in ("y_train", "y_val", "y_test"):
        values = getattr(prepared, name).astype(np.float64)
        setattr(prepared, name, ((values - mean) / scale).astype(np.float32))
