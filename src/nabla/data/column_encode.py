"""The NumPy core of :class:`nabla.data.columns.Preprocessing`: raw columns to features.

Plain NumPy, because :mod:`nabla.predictor` copies these functions as source
(``inspect.getsource``) into the generated predictor, with the reader's ``MISSING_TOKENS`` and
``is_number`` they use (copied for ``read_table`` too): nabla, the predictor and (as
operators) the ONNX graph apply one rule. ``spec`` is the preprocessing document
(:meth:`Preprocessing.to_dict`); ``fail(row, column, message)`` raises the caller's one-line
error for a cell (``row`` counts data rows from 0).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

import numpy as np

from nabla._typing import Array
from nabla.data.table_numpy import MISSING_TOKENS, is_number

__all__ = ["FLOAT32_MAX", "Fail", "encode_columns", "parse_cells", "standardize"]

FLOAT32_MAX = 3.4028234663852886e38

#: ``fail(row, column, message)`` raises the caller's error for one cell (DataError here)
Fail = Callable[[int, str, str], None]


def parse_cells(cells: Any, numeric: bool, fail: Fail, name: str, coerce: bool = False) -> Array:
    """Raw cells (str, number or None) as a numeric column (float64, NaN for missing) or a text
    column (object array of stripped str, None for missing); cells in MISSING_TOKENS are
    missing. ``fail(row, name, message)`` raises for a non-numeric cell of a numeric column,
    unless ``coerce`` (a column stored with ``"coerced": true``): then a text cell that is not
    a number as the CSV reader reads one (``is_number``) is missing too."""
    out = np.empty(len(cells), dtype=np.float64 if numeric else object)
    for i, cell in enumerate(cells):
        if cell is None or (isinstance(cell, float) and np.isnan(cell)):
            out[i] = np.nan if numeric else None
            continue
        text = cell.strip() if isinstance(cell, str) else cell
        if isinstance(text, str) and text in MISSING_TOKENS:
            out[i] = np.nan if numeric else None
        elif not numeric:
            out[i] = str(text)
        elif coerce and isinstance(text, str) and not is_number(text):
            out[i] = np.nan
        else:
            try:
                out[i] = float(text)
            except (TypeError, ValueError):
                shown = repr(text) if len(str(text)) <= 40 else f"{str(text)[:40]!r}..."
                fail(i, name, f"non-numeric value {shown} in a numeric column")
    return out


def _category_codes(
    values: Array, column: dict[str, Any], strict: bool, fail: Fail
) -> tuple[Array, Array]:
    """(code of each cell, missing mask) of one categorical column.

    Codes are looked up once per distinct cell: -2 for a missing cell (None, NaN or a missing
    token), -1 for an unknown category, else the category's position.
    """
    categories, name = column["categories"], column["name"]
    cells = values.tolist()
    code_of: dict[Any, int] = {}
    if values.dtype.kind == "f":  # a text column read as numbers: compare as numbers
        lookup: dict[Any, int] = {}
        for j, category in enumerate(categories):
            with contextlib.suppress(ValueError):
                lookup.setdefault(float(category), j)
        for cell in set(cells):
            code_of[cell] = -2 if np.isnan(cell) else lookup.get(cell, -1)
    else:
        lookup = {category: j for j, category in enumerate(categories)}
        for cell in set(cells):
            key = None if cell is None else str(cell).strip()
            code_of[cell] = -2 if key is None or key in MISSING_TOKENS else lookup.get(key, -1)
    codes = np.fromiter(map(code_of.__getitem__, cells), dtype=np.int64, count=len(cells))
    if strict and (codes == -1).any():
        i = int(np.flatnonzero(codes == -1)[0])
        shown = ", ".join(repr(c) for c in categories[:5])
        more = f" and {len(categories) - 5} more" if len(categories) > 5 else ""
        fail(i, name, f"unknown category {cells[i]!r} (known: {shown}{more}; --strict)")
    return codes, codes == -2


def encode_columns(columns: dict[str, Array], spec: dict[str, Any], fail: Fail) -> Array:
    """The encoded, unstandardised features (float32, shape (n_rows, n_features)) of
    ``columns`` (name -> numeric or text column) under the preprocessing document ``spec``.

    A numeric column is filled in float64, then rounded to float32 (a missing cell is an error
    when ``fill`` is null: ``impute="drop"``); a categorical one sets one 0/1 column per
    category (all zeros for a missing cell, whatever ``impute``); an indicator is 1 where the
    cell is missing. A numeric column that arrives as text is parsed by :func:`parse_cells`
    (``coerce`` when the column says ``"coerced": true``).
    """
    n_rows = len(columns[spec["columns"][0]["name"]])
    out = np.zeros((n_rows, len(spec["feature_names"])), dtype=np.float32)
    j = 0
    for column in spec["columns"]:
        name, values = column["name"], columns[column["name"]]
        if column["kind"] == "numeric":
            if values.dtype.kind not in "fiub":
                values = parse_cells(values, True, fail, name, bool(column.get("coerced")))
            x = np.asarray(values, dtype=np.float64)
            missing = np.isnan(x)
            bad = np.flatnonzero(~missing & ~(np.abs(x) <= FLOAT32_MAX))
            if bad.size:
                value = float(x[bad[0]])
                why = "is not finite" if not np.isfinite(value) else "overflows float32"
                fail(int(bad[0]), name, f"value {value!r} {why}")
            fill = column["fill"]
            if fill is None and missing.any():
                fail(
                    int(np.flatnonzero(missing)[0]),
                    name,
                    "missing value, and this model refuses missing numbers "
                    "(trained with --impute drop, or by an older nabla)",
                )
            out[:, j] = np.where(missing, 0.0 if fill is None else fill, x)
            j += 1
        else:  # a missing cell is all zeros, whatever the impute setting
            codes, missing = _category_codes(values, column, spec["strict"], fail)
            hit = np.flatnonzero(codes >= 0)
            out[hit, j + codes[hit]] = 1.0
            j += len(column["categories"])
        if column["indicator"]:
            out[:, j] = missing
            j += 1
    return out


def standardize(encoded: Array, spec: dict[str, Any]) -> Array:
    """``(x - mean) / scale`` in float32, as nabla.data.StandardScaler.transform computes it."""
    mean = np.asarray(spec["mean"], dtype=np.float32)
    scale = np.asarray(spec["scale"], dtype=np.float32)
    x = np.subtract(encoded, mean, dtype=np.float32)
    x /= scale
    return x
