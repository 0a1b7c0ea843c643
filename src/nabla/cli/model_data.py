"""Rows read the way a saved model's training run read them, for evaluate, predict and graph.

A model file written by ``nabla train`` stores its column encoding (``preprocessing``), its
target and task, how its CSV was read and how its rows were split. :func:`model_rows` reads a
data set with them: a CSV through the same raw table and encoding as training (columns matched
by name), a built-in set, ``.npz`` archive or IDX folder as numeric columns; then it picks the
rows of one split by repeating the training run's row selection and split. A CNN's data is
read as images of the shape it was trained on (the model file's ``image_shape``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from nabla._typing import Array
from nabla.data import load_data
from nabla.data.columns import Preprocessing
from nabla.data.table import Table
from nabla.data.tabular import encode_target, match_features
from nabla.errors import DataError
from nabla.training.prepare import is_csv, read_rows, resolve_target, split_rows, target_rows

__all__ = [
    "ModelRows",
    "align_columns",
    "model_image_shape",
    "model_preprocessing",
    "model_rows",
    "model_task",
    "read_images",
    "read_model_csv",
    "read_new_rows",
]


@dataclass
class ModelRows:
    """Encoded rows of one split: the model's input, the true targets, which split it was."""

    X: Array
    #: class ids in the model's class order, or target values (regression)
    y: Array
    split: str
    source: str


def model_preprocessing(metadata: dict[str, Any], model: Any = None) -> Preprocessing:
    """The model's column encoding.

    A model file from before issue 15 has feature names and a scaler instead; one saved by
    ``nb.save`` without metadata has neither, and reads as many unnamed columns as its first
    layer takes.
    """
    stored = metadata.get("preprocessing")
    if stored is not None:
        return Preprocessing.from_dict(stored)
    names = list(metadata.get("feature_names") or [])
    scaler = metadata.get("scaler")
    if not names and scaler is None and model is not None:
        from nabla.cli.evaluate import input_width

        width = input_width(model)
        if width is None:
            raise DataError(
                "cannot tell how many features the model takes (it stores no feature names "
                "and does not start with a Linear or BatchNorm1d layer)"
            )
        names = [f"col{j}" for j in range(width)]
    return Preprocessing.from_legacy(names, scaler)


def model_task(metadata: dict[str, Any]) -> str:
    """ "classification" or "regression" (older model files are classifiers)."""
    return str(
        (metadata.get("target") or {}).get("task") or metadata.get("task") or "classification"
    )


def align_columns(table: Table, preprocessing: Preprocessing, exclude: str | None = None) -> Table:
    """``table`` with the model's input columns, matched by name.

    A file without a header (``col0``, ``col1``...) or a model trained on one is read in order
    when the counts agree (``exclude``, the target column, left out first), as ``nabla
    predict`` always did. Columns that do not match are one line naming the missing and the
    unknown ones (:func:`~nabla.data.tabular.match_features`).
    """
    wanted = list(preprocessing.input_columns)
    names = [name for name in table.names if name != exclude]
    positions = match_features(names, wanted, source=table.source)
    columns = {new: table.columns[names[j]] for new, j in zip(wanted, positions)}
    return Table(wanted, columns, table.source, table.has_header, table.lines, table.delimiter)


def read_model_csv(
    spec: str,
    metadata: dict[str, Any],
    preprocessing: Preprocessing,
    *,
    delimiter: str | None = None,
    encoding: str | None = None,
    decimal: str | None = None,
    id_column: str | None = None,
    target: str | None = None,
) -> Table:
    """A CSV file read as the model's training file was: its encoding (unless given), the
    decimal mark detected as in training (new rows may use either), a first row naming the
    model's columns taken as the header, the ID column kept as written, and a one-column file
    accepted for a one-column model."""
    csv = metadata.get("csv") or {}
    inputs = list(preprocessing.input_columns)
    ids = (id_column,) if id_column and id_column not in inputs else ()
    return read_rows(
        spec,
        delimiter,
        encoding or csv.get("encoding") or "utf-8-sig",
        decimal=decimal,  # None: detected in this file, as in training
        min_columns=1 if len(inputs) == 1 else 2,
        expect=inputs + ([target] if target else []),
        text=ids,
    )


def read_new_rows(
    spec: str,
    metadata: dict[str, Any],
    preprocessing: Preprocessing,
    *,
    delimiter: str | None = None,
    encoding: str | None = None,
    decimal: str | None = None,
    id_column: str | None = None,
) -> Table:
    """A data set as a raw table: a CSV as its cells, anything else as numeric columns."""
    if is_csv(spec):
        options = {"delimiter": delimiter, "encoding": encoding, "decimal": decimal}
        return read_model_csv(spec, metadata, preprocessing, **options, id_column=id_column)
    data = load_data(spec)
    return Table.from_matrix(data.X, list(data.feature_names), str(data.source))


def _target_values(y: Array, class_names: list[str] | None) -> Array:
    """The target of a loaded matrix data set as its labels (text) or values."""
    if class_names is None:
        return np.asarray(y, dtype=np.float64)
    return np.asarray(class_names, dtype=object)[y]


def model_rows(
    spec: str,
    metadata: dict[str, Any],
    *,
    target: str | None,
    split: str,
    same_data: bool,
    delimiter: str | None = None,
    encoding: str | None = None,
    decimal: str | None = None,
    model: Any = None,
) -> ModelRows:
    """The rows of ``split`` ("auto", "all", "train", "val", "test") of ``spec``, encoded.

    "auto" is the training run's held-out test split when ``spec`` is its training data, else
    every row. A split other than "all" repeats the run's row selection (rows without a
    target; with ``--impute drop``, rows with a missing value) and its seeded split.
    """
    preprocessing = model_preprocessing(metadata, model)
    task = model_task(metadata)
    if split == "auto":
        split = "test" if same_data else "all"
    if split != "all" and "seed" not in metadata:
        raise DataError(f"{spec}: the model has no record of its training split; use --split all")
    if model_image_shape(metadata) is not None:
        return _image_rows(spec, metadata, target=target, split=split, task=task)
    own_test: tuple[Array, Array] | None = None
    target_column: str | None = None
    if is_csv(spec):
        stored = target or metadata.get("target_name")
        table = read_model_csv(
            spec,
            metadata,
            preprocessing,
            delimiter=delimiter,
            encoding=encoding,
            decimal=decimal,
            target=stored
            if isinstance(stored, str) and not stored.lstrip("-").isdigit()
            else None,
        )
        name = resolve_target(table, target or _stored_target(metadata, table, spec))
        rows, _ = target_rows(table, name)
        if metadata.get("impute") == "drop":
            rows = rows[~preprocessing.rows_with_missing(table)[rows]]
        values = table.columns[name][rows]
        target_column = name
    else:
        data = _load_matrix(spec, target)
        table = Table.from_matrix(data.X, list(data.feature_names), str(data.source))
        rows = np.arange(table.n_rows)
        values = _target_values(data.y, data.class_names)
        if data.X_test is not None and data.y_test is not None:
            own_test = (data.X_test, _target_values(data.y_test, data.class_names))
    if split != "all":
        if split == "test" and own_test is not None:
            table = Table.from_matrix(own_test[0], table.names, table.source)
            rows, values = np.arange(table.n_rows), own_test[1]
        else:
            chosen = _split_part(values, task, metadata, split, own_test is not None, spec)
            rows, values = rows[chosen], values[chosen]
    if len(rows) == 0:
        raise DataError(f"{spec}: the {split} split is empty")
    table = align_columns(table.take(rows), preprocessing, exclude=target_column)
    X = preprocessing.transform(table)
    return ModelRows(X, _true_targets(values, task, metadata, spec), split, spec)


def _split_part(
    values: Array, task: str, metadata: dict[str, Any], split: str, own_test: bool, spec: str
) -> Array:
    """Indices of ``split`` ("train", "val", "test") among rows with these targets, as the
    training run split them (no test part when the data brings its own test set)."""
    y_split, _ = encode_target(values, task, source=spec, column="target")
    test_fraction = 0.0 if own_test else float(metadata["test_split"])
    parts = split_rows(
        y_split,
        float(metadata["val_split"]),
        test_fraction,
        int(metadata["seed"]),
        stratify=task == "classification",
    )
    return parts[("train", "val", "test").index(split)]


def model_image_shape(metadata: dict[str, Any]) -> tuple[int, int, int] | None:
    """(channels, height, width) of a CNN's input images, None for a model of table rows."""
    shape = metadata.get("image_shape")
    if shape is None:
        return None
    if (
        not isinstance(shape, list)
        or len(shape) != 3
        or not all(isinstance(n, int) for n in shape)
    ):
        raise DataError(f"the model's image_shape {str(shape)[:80]} is not [channels, h, w]")
    return shape[0], shape[1], shape[2]


def read_images(spec: str, metadata: dict[str, Any], target: str | None = None) -> Any:
    """A data set read as the CNN model's images (digits, an IDX folder, an .npz archive):
    the :class:`~nabla.data.TabularData` with `X` of shape (n, c, h, w), checked against the
    model's image shape."""
    expected = model_image_shape(metadata)
    if is_csv(spec):
        raise DataError(
            f"{spec}: the model is a CNN and reads images (digits, an MNIST IDX folder or an "
            ".npz of (n, h, w[, c]) images), not a CSV table"
        )
    data = _load_matrix(spec, target, images=True)
    if data.image_shape != expected:
        found = "x".join(map(str, data.image_shape or ()))
        raise DataError(
            f"{spec}: images of {found} (channels x height x width), but the model was trained "
            f"on {'x'.join(map(str, expected or ()))}"
        )
    return data


def _image_rows(
    spec: str, metadata: dict[str, Any], *, target: str | None, split: str, task: str
) -> ModelRows:
    """The images of ``split`` for a CNN model (see :func:`model_rows`)."""
    data = read_images(spec, metadata, target)
    X, values = data.X, _target_values(data.y, data.class_names)
    own_test = data.X_test is not None and data.y_test is not None
    if split == "test" and own_test:
        X, values = data.X_test, _target_values(data.y_test, data.class_names)
    elif split != "all":
        chosen = _split_part(values, task, metadata, split, own_test, spec)
        X, values = X[chosen], values[chosen]
    if len(X) == 0:
        raise DataError(f"{spec}: the {split} split is empty")
    return ModelRows(X, _true_targets(values, task, metadata, spec), split, spec)


def _stored_target(metadata: dict[str, Any], table: Table, spec: str) -> str | None:
    """The model's target column when this table has it (a CSV of the same kind)."""
    stored = metadata.get("target_name")
    if stored in table.columns or stored is None:
        return stored
    if table.has_header and str(metadata.get("data", "")).lower().endswith(".csv"):
        raise DataError(
            f"{spec}: no column {stored!r} (the model's target); pass --target to name the "
            "column that holds it"
        )
    if not table.has_header and str(metadata.get("data", "")).lower().endswith(".csv"):
        last = len(table.names) - 1
        raise DataError(
            f"{spec}: target {stored!r} is a column name, but the file has no header row; "
            f"pass --target with a column index in 0..{last} (e.g. --target {last})"
        )
    return None


def _load_matrix(spec: str, target: str | None, images: bool = False) -> Any:
    key: str | int | None = target
    if target is not None and target.lstrip("-").isdigit():
        key = int(target)
    return load_data(spec, key, images=images)


def _true_targets(values: Array, task: str, metadata: dict[str, Any], source: str) -> Array:
    """Class ids in the model's class order (matched by label), or float targets."""
    if task == "regression":
        try:
            return np.asarray(values, dtype=np.float64)
        except (TypeError, ValueError):
            raise DataError(
                f"{source}: the model predicts numbers, but the target holds text"
            ) from None
    names = [_label(v) for v in values]
    model_classes = [str(c) for c in metadata.get("class_names") or []]
    if not model_classes:  # a model saved without its classes: the data's labels, sorted
        ids, _ = encode_target(values, "classification", source=source, column="target")
        return ids
    index = {name: i for i, name in enumerate(model_classes)}
    unknown = sorted({n for n in names if n not in index})
    if unknown:
        raise DataError(
            f"{source}: class(es) {', '.join(map(repr, unknown[:5]))} were not seen in "
            f"training (the model knows {', '.join(map(repr, model_classes[:10]))})"
        )
    return np.array([index[n] for n in names], dtype=np.int64)


def _label(value: Any) -> str:
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value)
