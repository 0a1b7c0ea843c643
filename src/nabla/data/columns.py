"""From a raw table to the model's float32 input: :class:`Preprocessing`, fitted on training rows.

:func:`choose_columns` (rules in :mod:`nabla.data.column_detect`) picks the feature columns;
:meth:`Preprocessing.fit` learns, from the training rows only, everything needed to encode
them; :meth:`Preprocessing.transform` encodes any table the same way, matching columns by
name. The fitted state is a JSON document (:meth:`~Preprocessing.to_dict`, stored in the model
file, never pickled) that the NumPy-only predictor and the ONNX export apply identically: the
predictor runs a copy of :mod:`nabla.data.column_encode` (``inspect.getsource``), the ONNX
graph the same steps as operators (:mod:`nabla.onnx_columns`).

Decisions
---------
- A missing numeric cell is filled with the training rows' median (or mean, ``impute="mean"``);
  with ``impute="drop"`` rows with a missing numeric cell are left out of training
  (:meth:`ColumnChoice.rows_with_missing`) and refused at predict time with an error naming
  the row and column. A column with no value in the whole table is excluded by
  :func:`choose_columns`; one with no value in the training rows is an error.
- A text column that is mostly numbers (:func:`choose_columns`'s rule) is numeric and stored
  with ``"coerced": true``: its cells that are not numbers count as missing, in training and
  at predict time alike (filled, an indicator of 1, or refused under ``impute="drop"``).
  In any other numeric column such a cell is an error (also in documents without the key).
- A text column becomes one 0/1 column per category of the training rows (sorted, compared as
  stripped strings, named ``"island=Biscoe"``). A missing text cell is all zeros (with any
  ``impute``, ``"drop"`` included); so is an unknown category, unless ``strict`` (then a
  one-line error with row, column and value). A categorical column that arrives as numbers
  (its file held only numbers) is compared numerically with the categories that are numbers.
- ``indicators=True`` adds ``"<name>_missing"`` (1 where the cell is missing) after each
  column that had missing cells in the training rows.
- A numeric cell is filled in float64 and rounded to float32 (what the model sees); numeric
  columns are then standardised ``(x - mean) / scale`` in float32 with the statistics of the
  filled training values (nabla.data.StandardScaler's rule: population std, scale 1 for a
  constant column); one-hot and indicator columns keep mean 0, scale 1. Output: float32.
- A numeric cell that is not a number (in a column not coerced), infinite or beyond float32
  is an error naming the table, row, column and value.

JSON document (``to_dict``)::

    {"format": "nabla.preprocessing", "version": 1, "impute": "median", "indicators": false,
     "strict": false, "standardize": true,
     "columns": [{"name": "age", "kind": "numeric", "fill": 28.0, "coerced": false,
                  "n_missing": 177, "indicator": false},
                 {"name": "island", "kind": "categorical", "categories": ["Biscoe", "Dream"],
                  "n_missing": 0, "indicator": false}],
     "feature_names": ["age", "island=Biscoe", "island=Dream"],
     "mean": [29.7, 0.0, 0.0], "scale": [13.0, 1.0, 1.0]}

``fill`` is null for ``impute="drop"`` (and for models from before this format); a numeric
column without ``coerced`` (older documents) is not coerced.
"""

from __future__ import annotations

import copy
from typing import Any, TypeGuard

import numpy as np

from nabla._typing import Array
from nabla.data.column_detect import ColumnChoice, ColumnOptions, choose_columns
from nabla.data.column_encode import encode_columns, parse_cells, standardize
from nabla.data.preprocessing import StandardScaler
from nabla.data.table import MISSING_TOKENS, Table
from nabla.errors import DataError

__all__ = [
    "ColumnChoice",
    "ColumnOptions",
    "Preprocessing",
    "choose_columns",
    "encode_columns",
    "is_regression",
    "parse_cells",
    "standardize",
    "target_arrays",
    "target_values",
]

FORMAT = "nabla.preprocessing"
VERSION = 1


def _fail_in(table: Table) -> Any:
    def fail(row: int, name: str, message: str) -> None:
        raise DataError(f"{table.where(int(row), name)}: {message}")

    return fail


def _numeric_column(
    table: Table, rows: Array, name: str, choice: ColumnChoice, options: ColumnOptions
) -> tuple[dict[str, Any], int]:
    train = np.asarray(choice.numbers(table, name), dtype=np.float64)[rows]
    missing = np.isnan(train)
    present = train[~missing]
    if present.size == 0:
        raise DataError(
            f"{table.source}: column {name!r} has no value in the training rows; "
            f"pass --drop {name}"
        )
    if not np.isfinite(present).all():
        k = int(np.flatnonzero(~missing & ~np.isfinite(train))[0])
        raise DataError(f"{table.where(int(rows[k]), name)}: value {train[k]!r} is not finite")
    if options.impute == "drop" and missing.any():
        row = int(rows[np.flatnonzero(missing)[0]])
        raise DataError(
            f"{table.where(row, name)}: missing value with --impute drop; "
            "leave out rows_with_missing(...) before fitting"
        )
    fill = None
    if options.impute != "drop":
        fill = float(np.median(present) if options.impute == "median" else np.mean(present))
    column = {"name": name, "kind": "numeric", "fill": fill, "coerced": name in choice.coerced}
    return column, int(missing.sum())


def _categorical_column(table: Table, rows: Array, name: str) -> tuple[dict[str, Any], int]:
    train = table.columns[name][rows]
    if train.dtype.kind == "f":
        missing = np.isnan(train)
        cells = [str(int(v)) if float(v).is_integer() else repr(float(v)) for v in train[~missing]]
    else:
        tokens = set(MISSING_TOKENS)
        missing = np.array([v is None or str(v).strip() in tokens for v in train], dtype=bool)
        cells = [str(v).strip() for v in train[~missing]]
    categories = sorted(set(cells))
    return {"name": name, "kind": "categorical", "categories": categories}, int(missing.sum())


class Preprocessing:
    """The fitted encoding of a table's columns into the model's input (module docstring).

    Attributes
    ----------
    input_columns : list of str
        The raw columns read, in order.
    feature_names : list of str
        The encoded features: ``"age"``, ``"age_missing"``, ``"island=Biscoe"``...
    n_features : int
    """

    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = _validated(spec)
        self.input_columns: list[str] = [c["name"] for c in self.spec["columns"]]
        self.feature_names: list[str] = list(self.spec["feature_names"])
        self.n_features: int = len(self.feature_names)

    @classmethod
    def fit(
        cls, table: Table, rows: Array, choice: ColumnChoice, options: ColumnOptions
    ) -> Preprocessing:
        """Learn fills, categories and scaling from the training `rows` of `table` only.

        Raises
        ------
        DataError
            With ``impute="drop"`` and a missing cell in the training rows, for a numeric
            column with no value or an infinite value in the training rows.
        """
        rows = np.asarray(rows)
        if rows.dtype == bool:
            rows = np.flatnonzero(rows)
        if rows.size == 0:
            raise DataError(f"{table.source}: no training rows to fit the preprocessing on")
        columns: list[dict[str, Any]] = []
        names: list[str] = []
        numeric: list[int] = []
        for name in choice.features:
            if choice.kinds[name] == "numeric":
                column, n_missing = _numeric_column(table, rows, name, choice, options)
            else:
                column, n_missing = _categorical_column(table, rows, name)
            column["n_missing"] = n_missing
            column["indicator"] = bool(options.indicators and n_missing)
            columns.append(column)
            if column["kind"] == "numeric":
                numeric.append(len(names))
                names.append(name)
            else:
                names += [f"{name}={category}" for category in column["categories"]]
            if column["indicator"]:
                names.append(f"{name}_missing")
        spec: dict[str, Any] = {
            "format": FORMAT,
            "version": VERSION,
            "impute": options.impute,
            "indicators": options.indicators,
            "strict": options.strict,
            "standardize": options.standardize,
            "columns": columns,
            "feature_names": names,
            "mean": [0.0] * len(names),
            "scale": [1.0] * len(names),
        }
        if not names:
            raise DataError(f"{table.source}: the feature columns encode to no feature")
        if options.standardize:
            train = table.take(rows)
            encoded = encode_columns(train.columns, spec, _fail_in(train))
            if numeric:
                scaler = StandardScaler().fit(encoded[:, numeric])
                for k, i in enumerate(numeric):
                    spec["mean"][i] = float(scaler.mean_[k])
                    spec["scale"][i] = float(scaler.scale_[k])
        return cls(spec)

    def transform(self, table: Table, strict: bool | None = None) -> Array:
        """The float32 features of every row of `table`, shape (n_rows, n_features).

        Columns are matched by name (others are ignored). Raises DataError for a missing
        column, a non-numeric numeric cell, a missing cell under ``impute="drop"`` or an
        unknown category under ``strict`` (None: the setting fitted with, as
        ``nabla predict --strict`` overrides it); each message names the row, column and value.
        """
        absent = [name for name in self.input_columns if name not in table.columns]
        if absent:
            raise DataError(
                f"{table.source}: missing column(s) {', '.join(map(repr, absent))} "
                "that the model was trained on"
            )
        spec = self.spec if strict is None else {**self.spec, "strict": strict}
        encoded = encode_columns(table.columns, spec, _fail_in(table))
        out: Array = standardize(encoded, spec)
        return out

    def rows_with_missing(self, table: Table) -> Array:
        """Boolean mask of the rows with a missing numeric cell (``impute="drop"`` leaves
        them out; a missing text cell is all zeros): NaN, a missing token, or, in a column
        stored ``"coerced"``, a cell that is not a number. A numeric column that is not
        coerced and holds other text is a DataError naming the cell, as in :meth:`transform`."""
        mask = np.zeros(table.n_rows, dtype=bool)
        fail = _fail_in(table)
        for column in self.spec["columns"]:
            name = column["name"]
            if column["kind"] != "numeric":
                continue
            values = table.columns[name]
            if values.dtype.kind not in "fiub":
                values = parse_cells(values, True, fail, name, bool(column.get("coerced")))
            mask |= np.isnan(np.asarray(values, dtype=np.float64))
        return mask

    def describe(self) -> dict[str, Any]:
        """The encoding in a few lists, for the data summary."""
        columns = self.spec["columns"]
        return {
            "numeric": [c["name"] for c in columns if c["kind"] == "numeric"],
            "categorical": {
                c["name"]: len(c["categories"]) for c in columns if c["kind"] == "categorical"
            },
            "imputed": {
                c["name"]: (c["n_missing"], c["fill"])
                for c in columns
                if c["kind"] == "numeric" and c["n_missing"]
            },
            "missing_categorical": {
                c["name"]: c["n_missing"]
                for c in columns
                if c["kind"] == "categorical" and c["n_missing"]
            },
            "indicators": [f"{c['name']}_missing" for c in columns if c["indicator"]],
        }

    def to_dict(self) -> dict[str, Any]:
        """The JSON document (see the module docstring); a copy."""
        return copy.deepcopy(self.spec)

    @classmethod
    def from_dict(cls, document: Any) -> Preprocessing:
        """Rebuild from :meth:`to_dict` output; a one-line DataError for a bad document."""
        return cls(copy.deepcopy(document))

    @classmethod
    def coerce(cls, preprocessing: Any) -> Preprocessing:
        """`preprocessing` itself, or the one its ``to_dict()`` document describes."""
        if isinstance(preprocessing, Preprocessing):
            return preprocessing
        return cls.from_dict(preprocessing)

    @classmethod
    def from_legacy(
        cls,
        feature_names: list[str],
        scaler: dict[str, Any] | None,
        n_features: int | None = None,
    ) -> Preprocessing:
        """A model file from before this format: numeric columns, no missing value allowed.

        Without feature names (a file without a header, a bare saved module), the columns are
        ``col0``, ``col1``... as many as the scaler has, else ``n_features`` (the network's
        input width).
        """
        if not feature_names:
            n = len(scaler.get("mean", [])) if scaler is not None else n_features or 0
            feature_names = [f"col{j}" for j in range(n)]
        if not feature_names:
            raise DataError(
                "a model file without feature names or scaler: pass n_features to read "
                "col0, col1..."
            )
        n = len(feature_names)
        mean = [0.0] * n if scaler is None else [float(v) for v in scaler.get("mean", [])]
        scale = [1.0] * n if scaler is None else [float(v) for v in scaler.get("scale", [])]
        columns = [
            {"name": name, "kind": "numeric", "fill": None, "n_missing": 0, "indicator": False}
            for name in feature_names
        ]
        spec = {
            "format": FORMAT,
            "version": VERSION,
            "impute": "drop",
            "indicators": False,
            "strict": False,
            "standardize": scaler is not None,
            "columns": columns,
            "feature_names": list(feature_names),
            "mean": mean,
            "scale": scale,
        }
        return cls(spec)

    def __repr__(self) -> str:
        return f"Preprocessing({len(self.input_columns)} columns -> {self.n_features} features)"


def _bad(why: str) -> DataError:
    return DataError(f"invalid preprocessing document: {why}")


def _validated(spec: Any) -> dict[str, Any]:
    """`spec` if it is a well-formed preprocessing document, else a one-line DataError."""
    if not isinstance(spec, dict):
        raise _bad(f"expected a JSON object, got {type(spec).__name__}")
    keys = ("format", "version", "strict", "columns", "feature_names", "mean", "scale")
    missing = [key for key in keys if key not in spec]
    if missing:
        raise _bad(f"missing key(s) {', '.join(missing)}")
    if spec["format"] != FORMAT or spec["version"] != VERSION:
        raise _bad(
            f"format {spec['format']!r} version {spec['version']!r}; this nabla reads "
            f"{FORMAT!r} version {VERSION} (a newer nabla wrote it?)"
        )
    if not isinstance(spec["columns"], list) or not spec["columns"]:
        raise _bad("'columns' must be a non-empty list")
    names: list[str] = []
    for i, column in enumerate(spec["columns"]):
        if not isinstance(column, dict) or not isinstance(column.get("name"), str):
            raise _bad(f"columns[{i}] must be an object with a 'name'")
        name, kind = column["name"], column.get("kind")
        if not isinstance(column.get("indicator"), bool):
            raise _bad(f"column {name!r}: 'indicator' must be true or false")
        if kind == "numeric":
            if not isinstance(column.get("coerced", False), bool):
                raise _bad(f"column {name!r}: 'coerced' must be true or false")
            fill = column.get("fill")
            if fill is not None and not (isinstance(fill, (int, float)) and np.isfinite(fill)):
                raise _bad(f"column {name!r}: 'fill' must be a finite number or null")
            names.append(name)
        elif kind == "categorical":
            categories = column.get("categories")
            if not isinstance(categories, list) or not all(isinstance(c, str) for c in categories):
                raise _bad(f"column {name!r}: 'categories' must be a list of strings")
            names += [f"{name}={category}" for category in categories]
        else:
            raise _bad(f"column {name!r}: kind {kind!r} is not 'numeric' or 'categorical'")
        if column["indicator"]:
            names.append(f"{name}_missing")
    if spec["feature_names"] != names:
        raise _bad("'feature_names' do not match the columns' encoding")
    for key in ("mean", "scale"):
        values = spec[key]
        if not isinstance(values, list) or len(values) != len(names):
            raise _bad(f"'{key}' must be a list of {len(names)} numbers")
        array = np.asarray(values, dtype=np.float64)
        if not np.isfinite(array).all() or (key == "scale" and not (array > 0).all()):
            raise _bad(f"'{key}' must be finite" + (" and positive" if key == "scale" else ""))
    return spec


def is_regression(target: Any) -> TypeGuard[dict[str, Any]]:
    """Whether a model file's ``target`` is a regression's: ``{"task": "regression", ...}``."""
    return isinstance(target, dict) and target.get("task") == "regression"


def target_arrays(target: dict[str, Any]) -> dict[str, Array]:
    """The regression target's ``scale`` and ``mean`` as float64 scalars."""
    return {key: np.array(float(target[key]), np.float64) for key in ("scale", "mean")}


def target_values(out: Any, target: dict[str, Any] | None) -> Array:
    """A regressor's outputs in the target's units: ``out * scale + mean`` in float64.

    The one rule of ``nabla predict``, the NumPy predictor and the ONNX graph (``Cast`` to
    double, ``Mul``, ``Add``); other outputs are returned as they are.
    """
    if not is_regression(target):
        return np.asarray(out)
    arrays = target_arrays(target)
    values: Array = np.asarray(out, dtype=np.float64) * arrays["scale"] + arrays["mean"]
    return values
