"""CSV files: numeric feature columns plus one target column (numbers or class names).

:func:`load_csv` and :func:`load_csv_features` read the file with
:func:`~nabla.data.read_table`, nabla's one CSV reader (``pandas.read_csv`` when installed,
else Python's ``csv`` module), then check that every feature cell is a number: they are the
strict loaders of numeric files. ``nabla train`` and :mod:`nabla.data.columns` read the same
tables and also handle text columns and missing values.

This module also keeps the header rule (:func:`_detect_header`, :data:`HEADER_SAMPLE_ROWS`) and
:func:`quote`, which the reader uses.
"""

from __future__ import annotations

import csv
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from nabla._typing import Array
from nabla.data.tabular import TASKS, TabularData, Task, encode_target, match_features
from nabla.errors import DataError

if TYPE_CHECKING:
    from nabla.data.table import Table

HEADER_SAMPLE_ROWS = 20  # rows after the first that header detection looks at
_ENCODING = "utf-8-sig"  # what the loaders read (UTF-8, optional byte-order mark)


def quote(value: str, limit: int = 40) -> str:
    """``repr`` of a cell, shortened so that one long cell keeps a message to one line."""
    return repr(value) if len(value) <= limit else f"{value[:limit]!r}... ({len(value)} chars)"


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _detect_header(rows: list[list[str]]) -> bool:
    """A header is a first row that is text in every column where the next rows are numbers."""
    sample = rows[1 : 1 + HEADER_SAMPLE_ROWS]
    if not sample:
        return not any(_is_number(cell) for cell in rows[0])
    numeric_columns = [j for j in range(len(rows[0])) if all(_is_number(row[j]) for row in sample)]
    return bool(numeric_columns) and not any(_is_number(rows[0][j]) for j in numeric_columns)


class TargetNameError(DataError):
    """A target named by a column name in a file without a header row."""

    def __init__(self, path: Path, target: str, n_columns: int, hint: str = "") -> None:
        self.path, self.target, self.n_columns = path, target, n_columns
        hint = hint or f"pass an index in 0..{n_columns - 1} or header=True"
        super().__init__(
            f"{path}: target {quote(target)} is a column name, but the file has no header row; "
            f"{hint}"
        )


def _resolve_target(
    target: str | int | None, names: list[str], has_header: bool, path: Path
) -> int:
    n_columns = len(names)
    if target is None:
        return n_columns - 1
    generated = re.fullmatch(r"col(\d+)", target) if isinstance(target, str) else None
    if generated and not has_header:  # the name load_csv gives column j of such a file
        target = int(generated.group(1))
    if isinstance(target, str):
        if not has_header:
            raise TargetNameError(path, target, n_columns)
        if target not in names:
            raise DataError(
                f"{path}: no column named {target!r}; columns are: "
                f"{', '.join(repr(name) for name in names)}"
            )
        return names.index(target)
    if isinstance(target, (int, np.integer)) and not isinstance(target, bool):
        if not -n_columns <= target < n_columns:
            raise DataError(
                f"{path}: target index {target} is out of range for "
                f"{n_columns} columns (use 0..{n_columns - 1} or -{n_columns}..-1)"
            )
        return int(target) % n_columns
    raise DataError(
        f"{path}: target must be a column name, an int index or None, got {type(target).__name__}"
    )


def _read(
    path: str | os.PathLike[str],
    header: bool | Literal["auto"],
    delimiter: str | None,
    expect: list[str] | None = None,
) -> Table:
    """The file as a :class:`~nabla.data.table.Table` (read_table's checks and messages)."""
    # NOTE: imported here: nabla.data.table imports quote from this module
    from nabla.data.table import read_table

    if header not in ("auto", True, False):
        raise DataError(f"load_csv: header must be 'auto', True or False, got {header!r}")
    return read_table(path, delimiter=delimiter, encoding=_ENCODING, header=header, expect=expect)


class _Cells:
    """A table's columns as the strict loaders see them: a missing or text cell is an error."""

    def __init__(self, table: Table, header_guessed: bool) -> None:
        self.table, self.header_guessed = table, header_guessed
        self.file = Path(table.source)

    def where(self, row: int, column: int) -> str:
        table = self.table
        label = f"{table.names[column]!r} (index {column})" if table.has_header else str(column)
        return f"{table.source}: row {table.line(row)}, column {label}"

    def raw(self, row: int, column: int) -> str | None:
        """The stripped text of a cell, read again from the file (for a message), or None."""
        from nabla.data.table_numpy import iter_rows  # NOTE: see _read

        line = self.table.line(row)
        try:
            for start, cells in iter_rows(self.file, self.table.delimiter, _ENCODING):
                if start == line:
                    return cells[column].strip() if column < len(cells) else None
                if start > line:
                    break
        except (OSError, UnicodeDecodeError, csv.Error, DataError):
            pass
        return None

    def missing_error(self, row: int, column: int, hint: str) -> DataError:
        """The message for a missing cell: empty, or a token such as ``NA`` (quoted)."""
        token = self.raw(row, column)
        if token == "":
            return DataError(
                f"{self.where(row, column)}: empty cell (missing values are not supported)"
            )
        shown = "" if token is None else f" {quote(token)}"
        return DataError(f"{self.where(row, column)}: missing value{shown} ({hint})")

    def text_error(self, row: int, column: int, value: str) -> DataError:
        hint = ""
        if self.header_guessed and not self.table.has_header and row == 0:
            hint = "; if this row is a header, pass header=True"
        return DataError(f"{self.where(row, column)}: non-numeric value {quote(value)}{hint}")

    def first_bad(self, column: int, before: int) -> tuple[int, bool] | None:
        """``(row, missing)`` of the column's first cell before row `before` that is missing
        or not a number, or None."""
        values = self.table.columns[self.table.names[column]]
        if values.dtype.kind == "f":
            missing = np.flatnonzero(np.isnan(values[:before]))
            return (int(missing[0]), True) if missing.size else None
        from nabla.data.table_numpy import is_number  # NOTE: see _read

        decimal = self.table.decimal  # with ",", "3,75" is a number and "3.5" text
        for row, cell in enumerate(values[:before].tolist()):  # text: an error path only
            if cell is None or not is_number(cell, decimal):
                return row, cell is None
        return None

    def check(self, columns: list[int], hint: str) -> None:
        """A DataError at the first cell, in file order, of `columns` that is not a number."""
        found: tuple[int, int, bool] | None = None
        for column in columns:
            bad = self.first_bad(column, self.table.n_rows if found is None else found[0])
            if bad is not None:
                found = (bad[0], column, bad[1])
        if found is None:
            return
        row, column, missing = found
        if missing:
            raise self.missing_error(row, column, hint)
        value = self.table.columns[self.table.names[column]][row]
        raise self.text_error(row, column, str(value))

    def numbers(self, columns: list[int]) -> Array:
        """The given columns as a float32 matrix (read_table refused values beyond float32)."""
        self.check(columns, _NUMBERS_ONLY)
        X = np.empty((self.table.n_rows, len(columns)), dtype=np.float32)
        for position, column in enumerate(columns):
            X[:, position] = self.table.columns[self.table.names[column]]
        return X

    def target(self, column: int, task: str) -> Any:
        """The target column: float64 when numeric, else its text (class names)."""
        values = self.table.columns[self.table.names[column]]
        if values.dtype.kind == "f" or task == "regression":
            self.check([column], _TARGET_IN_EVERY_ROW)
            return values
        missing = np.flatnonzero(self.table.missing(self.table.names[column]))
        if missing.size:
            raise self.missing_error(int(missing[0]), column, _TARGET_IN_EVERY_ROW)
        return values


def _encode(values: Array, task: str, *, source: str, column: str) -> tuple[Array, Any]:
    """:func:`~nabla.data.tabular.encode_target` of the target column. Text labels are encoded
    by their distinct values, then mapped to the rows: the same ids and names, without sorting
    a Python string per row (0.1 s for 200,000 rows)."""
    if values.dtype.kind != "O":
        return encode_target(values, task, source=source, column=column)
    rows = values.tolist()
    distinct = list(dict.fromkeys(rows))
    if len(distinct) < 2:  # encode_target's message counts the rows
        return encode_target(values, task, source=source, column=column)
    labels = np.empty(len(distinct), dtype=object)
    labels[:] = distinct
    ids, class_names = encode_target(labels, task, source=source, column=column)
    position = {label: k for k, label in enumerate(distinct)}
    codes = np.fromiter(map(position.__getitem__, rows), np.int64, len(rows))
    return ids[codes], class_names


_NUMBERS_ONLY = (
    "load_csv reads numbers only; nabla train and nabla.data.columns handle missing values"
)
_TARGET_IN_EVERY_ROW = "load_csv needs a target in every row; nabla train leaves such rows out"


def load_csv(
    path: str | os.PathLike[str],
    target: str | int | None = None,
    header: bool | Literal["auto"] = "auto",
    *,
    delimiter: str | None = None,
    task: Task = "auto",
) -> TabularData:
    """Load a CSV file of numeric features and one target column.

    The file is read by :func:`~nabla.data.read_table` (quoting, blank lines, the delimiter
    and decimal commas as documented there); every feature cell must then be a number.

    Parameters
    ----------
    path : str or PathLike
        The file (UTF-8, optional BOM; blank lines are skipped).
    target : str, int or None, default None
        The target column: a header name, or an index (negative counts from the end). None
        means the last column. Every other column is a feature and must be numeric.
    header : "auto", True or False, default "auto"
        Whether the first row names the columns. "auto" decides it is a header when it is text
        in every column whose next rows are numbers.
    delimiter : str, optional
        Field separator (one character). None detects it among ``, ; TAB |`` (else ",").
    task : "auto", "classification" or "regression", default "auto"
        How to read the target. "auto": text, integers and integer-valued floats are class
        labels, other numbers a regression target.

    Returns
    -------
    TabularData
        `X` float32 (n_samples, n_features); `y` int64 class ids with `class_names` the
        original labels in sorted order, or float32 values with ``class_names=None``.
        Without a header, columns are named ``col0``, ``col1``, ...

    Raises
    ------
    DataError
        One line naming the file: a missing or empty file, a file of one column, an unknown
        target column (the message lists the columns), repeated header names, a row with a
        different number of cells (its row number), a non-numeric or missing feature or target
        cell (empty, or a token such as ``NA``: row number in the file, column name and index,
        quoted value), an infinite value or one beyond float32's range, or a target with a
        single class.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "toy.csv"
    >>> _ = path.write_text("a,b,label\\n1,2,cat\\n3,4,dog\\n5,6,cat\\n")
    >>> data = load_csv(path)
    >>> data.X.shape, data.y.tolist(), data.class_names, data.feature_names
    ((3, 2), [0, 1, 0], ['cat', 'dog'], ['a', 'b'])
    """
    if task not in TASKS:
        raise DataError(f"load_csv: task must be one of {', '.join(TASKS)}, got {task!r}")
    file = Path(path)
    table = _read(file, header, delimiter)
    names = table.names
    target_index = _resolve_target(target, names, table.has_header, file)
    cells = _Cells(table, header_guessed=header == "auto")
    feature_columns = [j for j in range(len(names)) if j != target_index]
    X = cells.numbers(feature_columns)
    y, class_names = _encode(
        cells.target(target_index, task), task, source=str(file), column=names[target_index]
    )
    return TabularData(
        X, y, [names[j] for j in feature_columns], names[target_index], class_names, str(file)
    )


def load_csv_features(
    path: str | os.PathLike[str],
    feature_names: list[str],
    header: bool | Literal["auto"] = "auto",
    *,
    delimiter: str | None = None,
) -> Array:
    """Load the feature columns a trained model expects (for prediction), as float32.

    With a header row (with header="auto", a first row that holds every name in
    `feature_names` is one, as for ``nabla predict``), the columns named in `feature_names`
    are taken in that order (other columns, such as a target, are ignored); a header that lacks any of them is an error, never
    read by position (see :func:`~nabla.data.tabular.match_features`). Without one, the file must
    have exactly ``len(feature_names)`` columns, in the model's order. `delimiter` is as in
    :func:`load_csv` (None: detected).

    Raises
    ------
    DataError
        For a missing or empty file, missing columns (named, with the file's unknown ones), a
        different number of columns than the model has features, or a non-numeric, missing or
        non-finite cell (row, column).
    """
    file = Path(path)
    table = _read(file, header, delimiter, expect=feature_names)
    n_features, n_columns = len(feature_names), len(table.names)
    if table.has_header:
        columns = match_features(table.names, feature_names, source=str(file))
    else:
        if n_columns != n_features:
            raise DataError(
                f"{file}: has {n_columns} columns, but the model expects {n_features} features"
            )
        columns = list(range(n_columns))
    return _Cells(table, header_guessed=header == "auto").numbers(columns)
