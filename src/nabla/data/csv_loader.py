"""CSV files: numeric feature columns plus one target column (numbers or class names)."""

from __future__ import annotations

import csv
import os
import re
from pathlib import Path
from typing import Any, Literal

import numpy as np

from nabla._typing import Array
from nabla.data.tabular import TASKS, TabularData, Task, encode_target, match_features
from nabla.errors import DataError

HEADER_SAMPLE_ROWS = 20  # rows after the first that header detection looks at


def quote(value: str, limit: int = 40) -> str:
    """``repr`` of a cell, shortened so that one long cell keeps a message to one line."""
    return repr(value) if len(value) <= limit else f"{value[:limit]!r}... ({len(value)} chars)"


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _read_rows(path: Path, delimiter: str) -> tuple[list[list[str]], list[int]]:
    """Return the non-blank rows of `path` and the 1-based line number each starts on."""
    if not path.exists():
        raise DataError(f"{path}: file not found")
    if not path.is_file():
        raise DataError(f"{path}: not a file")
    rows: list[list[str]] = []
    lines: list[int] = []
    try:
        with path.open(newline="", encoding="utf-8-sig") as stream:
            reader = csv.reader(stream, delimiter=delimiter, skipinitialspace=True)
            start = 1
            for row in reader:
                if row and not (len(row) == 1 and not row[0].strip()):
                    rows.append(row)
                    lines.append(start)
                start = reader.line_num + 1
    except UnicodeDecodeError as error:
        raise DataError(
            f"{path}: not UTF-8 text ({error.reason} at byte {error.start})"
        ) from error
    except csv.Error as error:
        raise DataError(f"{path}: malformed CSV near row {start}: {error}") from error
    if not rows:
        raise DataError(f"{path}: file is empty")
    return rows, lines


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
        if names.count(target) > 1:
            raise DataError(
                f"{path}: column name {target!r} appears {names.count(target)} "
                f"times; pass the target as an integer index"
            )
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


class _Cells:
    """The data cells of a CSV file, with what error messages need to point at one."""

    def __init__(
        self,
        path: Path,
        rows: list[list[str]],
        lines: list[int],
        names: list[str],
        has_header: bool,
        header_guessed: bool,
    ) -> None:
        self.path, self.lines, self.names = path, lines, names
        self.has_header, self.header_guessed = has_header, header_guessed
        # NOTE: an object array of the parsed strings, not dtype=str: a fixed-width string array
        # gives every cell the width of the longest one (rows x columns x longest cell x 4 bytes)
        self.text = np.empty((len(rows), len(names)), dtype=object)
        for i, row in enumerate(rows):
            self.text[i] = row

    def where(self, row: int, column: int) -> str:
        label = f"'{self.names[column]}' (index {column})" if self.has_header else str(column)
        return f"{self.path}: row {self.lines[row]}, column {label}"

    def cell_error(self, row: int, column: int) -> DataError:
        value = str(self.text[row, column])
        if not value.strip():
            return DataError(
                f"{self.where(row, column)}: empty cell (missing values are not supported)"
            )
        hint = ""
        if self.header_guessed and not self.has_header and row == 0:
            hint = "; if this row is a header, pass header=True"
        return DataError(f"{self.where(row, column)}: non-numeric value {quote(value)}{hint}")

    def numbers(self, columns: list[int]) -> Array:
        """The given columns as finite float64 values, else a DataError naming the first bad cell."""
        try:
            values = self.text[:, columns].astype(np.float64)
        except ValueError:
            # NOTE: error path only: find the first unparsable cell column by column
            first_bad: tuple[int, int] | None = None
            for column in columns:
                for row, cell in enumerate(self.text[:, column]):
                    if first_bad is not None and row >= first_bad[0]:
                        break
                    if not _is_number(str(cell)):
                        first_bad = (row, column)
                        break
            if first_bad is not None:
                raise self.cell_error(*first_bad) from None
            # NumPy refused a cell that Python's float() reads: parse with float() instead
            values = np.array([[float(cell) for cell in row] for row in self.text[:, columns]])
        bad = ~np.isfinite(values)
        if bad.any():
            row, position = np.argwhere(bad)[0]
            column = columns[position]
            raise DataError(
                f"{self.where(row, column)}: value {quote(str(self.text[row, column]))} "
                f"is not finite (NaN and inf are not supported)"
            )
        return values


def load_csv(
    path: str | os.PathLike[str],
    target: str | int | None = None,
    header: bool | Literal["auto"] = "auto",
    *,
    delimiter: str = ",",
    task: Task = "auto",
) -> TabularData:
    """Load a CSV file of numeric features and one target column.

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
    delimiter : str, default ","
        Field separator.
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
        For a missing or empty file, an unknown target column (the message lists the columns),
        a row with a different number of cells (its row number), a non-numeric, empty or
        NaN/inf feature cell (row number in the file, column name and index, quoted value),
        or a target with a single class.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "toy.csv"
    >>> _ = path.write_text("a,b,label\\n1,2,cat\\n3,4,dog\\n5,6,cat\\n")
    >>> data = load_csv(path)
    >>> data.X.shape, data.y.tolist(), data.class_names, data.feature_names
    ((3, 2), [0, 1, 0], ['cat', 'dog'], ['a', 'b'])
    """
    if header not in ("auto", True, False):
        raise DataError(f"load_csv: header must be 'auto', True or False, got {header!r}")
    if task not in TASKS:
        raise DataError(f"load_csv: task must be one of {', '.join(TASKS)}, got {task!r}")
    file = Path(path)
    rows, lines = _read_rows(file, delimiter)
    n_columns = len(rows[0])
    for row, line in zip(rows, lines):
        if len(row) != n_columns:
            raise DataError(
                f"{file}: row {line} has {len(row)} cells, but row {lines[0]} has {n_columns}"
            )
    has_header = _detect_header(rows) if header == "auto" else bool(header)
    if has_header:
        names = [cell.strip() for cell in rows[0]]
        rows, lines = rows[1:], lines[1:]
        if not rows:
            raise DataError(f"{file}: has a header row but no data rows")
    else:
        names = [f"col{j}" for j in range(n_columns)]
    target_index = _resolve_target(target, names, has_header, file)
    if n_columns < 2:
        raise DataError(
            f"{file}: found 1 column; need at least one feature column besides the target"
        )
    cells = _Cells(file, rows, lines, names, has_header, header_guessed=header == "auto")
    feature_columns = [j for j in range(n_columns) if j != target_index]
    with np.errstate(over="ignore"):  # values beyond float32's range become inf, caught below
        X = cells.numbers(feature_columns).astype(np.float32)
    if not np.isfinite(X).all():
        row, position = np.argwhere(~np.isfinite(X))[0]
        raise DataError(
            f"{cells.where(row, feature_columns[position])}: value "
            f"{quote(str(cells.text[row, feature_columns[position]]))} overflows float32"
        )
    y, class_names = encode_target(
        _target_values(cells, target_index, task),
        task,
        source=str(file),
        column=names[target_index],
    )
    return TabularData(
        X, y, [names[j] for j in feature_columns], names[target_index], class_names, str(file)
    )


def _target_values(cells: _Cells, column: int, task: str) -> Any:
    """The target column as finite floats when it is numeric, else as stripped strings."""
    text = np.array([cell.strip() for cell in cells.text[:, column]], dtype=object)
    empty = np.flatnonzero(text == "")
    if empty.size:
        raise cells.cell_error(int(empty[0]), column)
    try:
        text.astype(np.float64)
    except ValueError:
        if task != "regression":
            return text  # class names
    return cells.numbers([column])[:, 0]  # raises on the first non-numeric or non-finite cell


def load_csv_features(
    path: str | os.PathLike[str],
    feature_names: list[str],
    header: bool | Literal["auto"] = "auto",
    *,
    delimiter: str = ",",
) -> Array:
    """Load the feature columns a trained model expects (for prediction), as float32.

    With a header row, the columns named in `feature_names` are taken in that order (other
    columns, such as a target, are ignored); a header that lacks any of them is an error, never
    read by position (see :func:`~nabla.data.tabular.match_features`). Without one, the file must
    have exactly ``len(feature_names)`` columns, in the model's order.

    Raises
    ------
    DataError
        For a missing or empty file, missing columns (named, with the file's unknown ones), a
        different number of columns than the model has features, or a non-numeric, empty or
        non-finite cell (row, column).
    """
    file = Path(path)
    rows, lines = _read_rows(file, delimiter)
    n_columns = len(rows[0])
    for row, line in zip(rows, lines):
        if len(row) != n_columns:
            raise DataError(
                f"{file}: row {line} has {len(row)} cells, but row {lines[0]} has {n_columns}"
            )
    has_header = _detect_header(rows) if header == "auto" else bool(header)
    n_features = len(feature_names)
    if has_header:
        names = [cell.strip() for cell in rows[0]]
        rows, lines = rows[1:], lines[1:]
        if not rows:
            raise DataError(f"{file}: has a header row but no data rows")
        columns = match_features(names, feature_names, source=str(file))
    else:
        if n_columns != n_features:
            raise DataError(
                f"{file}: has {n_columns} columns, but the model expects {n_features} features"
            )
        names = [f"col{j}" for j in range(n_columns)]
        columns = list(range(n_columns))
    cells = _Cells(file, rows, lines, names, has_header, header_guessed=header == "auto")
    with np.errstate(over="ignore"):
        X = cells.numbers(columns).astype(np.float32)
    if not np.isfinite(X).all():
        row, position = np.argwhere(~np.isfinite(X))[0]
        raise DataError(f"{cells.where(row, columns[position])}: value overflows float32")
    return X
