"""The NumPy core of :class:`nabla.data.columns.Preprocessing`: raw columns to features.

Plain NumPy with no nabla names inside, because :mod:`nabla.predictor` copies these functions
as source (``inspect.getsource``) into the generated predictor: nabla, the predictor and (as
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
from nabla.data.table import MISSING_TOKENS

__all__ = ["FLOAT32_MAX", "Fail", "encode_columns", "parse_cells", "standardize"]

FLOAT32_MAX = 3.4028234663852886e38

#: ``fail(row, column, message)`` raises the caller's error for one cell (DataError here)
Fail = Callable[[int, str, str], None]


def parse_cells(cells: Any, numeric: bool, fail: Fail, name: str) -> Array:
    """Raw cells (str, number or None) as a numeric column (float64, NaN for missing) or a text
    column (object array of stripped str, None for missing); cells in MISSING_TOKENS are
    missing. ``fail(row, name, message)`` raises for a non-numeric cell of a numeric column."""
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
        else:
            try:
                out[i] = float(text)
            except (TypeError, ValueError):
                shown = repr(text) if len(str(text)) <= 40 else f"{str(text)[:40]!r}..."
                fail(i, name, f"non-numeric value {shown} in a numeric column")
    return out


def _one_hot(
    values: Array, column: dict[str, Any], strict: bool, fail: Fail
) -> tuple[Array, Array]:
    """(0/1 block of shape (n, n_categories), missing mask) of one categorical column."""
    categories, name = column["categories"], column["name"]
    if values.dtype.kind == "f":  # a text column read as numbers: compare as numbers
        lookup: dict[Any, int] = {}
        for j, category in enumerate(categories):
            with contextlib.suppress(ValueError):
                lookup.setdefault(float(category), j)
        missing = np.isnan(values)
    else:
        lookup = {category: j for j, category in enumerate(categories)}
        tokens = set(MISSING_TOKENS)  # a Table has None there; other callers may pass "NA"
        missing = np.array([v is None or str(v).strip() in tokens for v in values], dtype=bool)
    known: dict[Any, int] = {}
    codes = np.full(len(values), -1, dtype=np.int64)
    for i in np.flatnonzero(~missing).tolist():
        value = values[i]
        key = float(value) if values.dtype.kind == "f" else str(value).strip()
        code = known.get(key)
        if code is None:
            code = known[key] = lookup.get(key, -1)
        if code < 0 and strict:
            shown = ", ".join(repr(c) for c in categories[:5])
            more = f" and {len(categories) - 5} more" if len(categories) > 5 else ""
            fail(i, name, f"unknown category {value!r} (known: {shown}{more}; --strict)")
        codes[i] = code
    block = np.zeros((len(values), len(categories)))
    hit = np.flatnonzero(codes >= 0)
    block[hit, codes[hit]] = 1.0
    return block, missing


def encode_columns(columns: dict[str, Array], spec: dict[str, Any], fail: Fail) -> Array:
    """The encoded, unstandardised features (float64, shape (n_rows, n_features)) of
    ``columns`` (name -> numeric or text column) under the preprocessing document ``spec``."""
    blocks = []
    for column in spec["columns"]:
        name, values = column["name"], columns[column["name"]]
        if column["kind"] == "numeric":
            if values.dtype.kind not in "fiub":
                values = parse_cells(values, True, fail, name)
            x = np.asarray(values, dtype=np.float64)
            missing = np.isnan(x)
            bad = np.flatnonzero(~missing & ~(np.abs(x) <= FLOAT32_MAX))
            if bad.size:
                value = float(x[bad[0]])
                why = "is not finite" if not np.isfinite(value) else "overflows float32"
                fail(int(bad[0]), name, f"value {value!r} {why}")
            fill = column["fill"]
            block = np.where(missing, 0.0 if fill is None else fill, x)[:, None]
        else:
            block, missing = _one_hot(values, column, spec["strict"], fail)
            fill = None if spec.get("impute") == "drop" else 0.0
        if fill is None and missing.any():
            fail(
                int(np.flatnonzero(missing)[0]),
                name,
                "missing value, and this model refuses missing values "
                "(trained with --impute drop, or by an older nabla)",
            )
        blocks.append(block)
        if column["indicator"]:
            blocks.append(missing[:, None].astype(np.float64))
    n_rows = len(columns[spec["columns"][0]["name"]]) if spec["columns"] else 0
    return np.concatenate(blocks, axis=1) if blocks else np.zeros((n_rows, 0))


def standardize(encoded: Array, spec: dict[str, Any]) -> Array:
    """``(x - mean) / scale`` in float32, as nabla.data.StandardScaler.transform computes it."""
    mean = np.asarray(spec["mean"], dtype=np.float32)
    scale = np.asarray(spec["scale"], dtype=np.float32)
    return (np.asarray(encoded, dtype=np.float32) - mean) / scale
