"""A table of named columns as read from a file: numbers with NaN for missing, or text.

:class:`Table` is what the CSV reader returns and what :mod:`nabla.data.columns` encodes into
a feature matrix. A numeric column is a float64 array whose missing cells are NaN; a text
column is an object array of ``str`` whose missing cells are None. Row ``i`` of every column
is the file's data row ``i``, and :meth:`Table.line` gives the line it started on, for
messages.
"""

from __future__ import annotations

import codecs
import csv
import importlib.util
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from nabla._typing import Array
from nabla.data.csv_loader import quote
from nabla.data.table_numpy import MISSING_TOKENS, iter_rows
from nabla.data.table_reader import read_parts
from nabla.errors import DataError

__all__ = ["ENGINES", "MISSING_TOKENS", "Table", "read_table"]

ENGINES = ("auto", "pandas", "numpy")
#: the largest float32 value: a numeric cell beyond it (in magnitude) is an error
FLOAT32_MAX = float(np.finfo(np.float32).max)


@dataclass
class Table:
    """Named columns of equal length.

    Attributes
    ----------
    names : list of str
        Column names in file order (``col0``, ``col1``, ... for a file without a header).
    columns : dict of str to ndarray
        A numeric column: float64, NaN where missing. A text column: object array of str,
        None where missing (cells stripped of surrounding spaces).
    source : str
        The file (or what the table was built from), for messages.
    has_header : bool
        Whether the names came from a header row.
    lines : ndarray of int, optional
        The 1-based file line each data row starts on; None when not known (then row ``i`` is
        reported as line ``i + 1 + has_header``).
    delimiter : str
        The field separator the file was read with ("," for tables not read from a file).
    notices : list of str
        What the reader decided that a user should hear of (one line each).
    decimal : str
        The decimal mark numbers were read with: "." or "," (``3,75``).
    """

    names: list[str]
    columns: dict[str, Array]
    source: str
    has_header: bool = True
    lines: Array | None = None
    delimiter: str = ","
    notices: list[str] = field(default_factory=list)
    decimal: str = "."

    def __post_init__(self) -> None:
        if list(self.columns) != list(self.names):
            raise DataError(f"{self.source}: Table names and columns differ")
        lengths = {len(column) for column in self.columns.values()}
        if len(lengths) > 1:
            raise DataError(f"{self.source}: columns have different lengths {sorted(lengths)}")

    @property
    def n_rows(self) -> int:
        """Number of data rows."""
        return len(next(iter(self.columns.values()))) if self.columns else 0

    def is_numeric(self, name: str) -> bool:
        """Whether column ``name`` holds numbers (float64, NaN for missing)."""
        return bool(self.columns[name].dtype.kind == "f")

    def missing(self, name: str) -> Array:
        """Boolean mask of the missing cells of column ``name``."""
        column = self.columns[name]
        if column.dtype.kind == "f":
            return np.isnan(column)
        missing: Array = column == np.full(1, None, dtype=object)
        return missing

    def line(self, row: int) -> int:
        """The file line data row ``row`` starts on."""
        if self.lines is not None:
            return int(self.lines[row])
        return row + 1 + int(self.has_header)

    def where(self, row: int, name: str) -> str:
        """``"file: row N, column 'name'"``: the start of a message about one cell."""
        return f"{self.source}: row {self.line(row)}, column {name!r}"

    def take(self, rows: Array) -> Table:
        """The table of the given rows (an index array or a boolean mask), in that order."""
        lines = None if self.lines is None else self.lines[rows]
        if lines is None:
            index = np.arange(self.n_rows)[rows]
            lines = index + 1 + int(self.has_header)
        columns = {name: column[rows] for name, column in self.columns.items()}
        return Table(
            list(self.names),
            columns,
            self.source,
            self.has_header,
            lines,
            self.delimiter,
            decimal=self.decimal,
        )

    @classmethod
    def from_matrix(
        cls, X: Any, names: Sequence[str] | None = None, source: str = "array"
    ) -> Table:
        """A numeric table with one column per column of the 2-D array ``X`` (as float64)."""
        matrix = np.asarray(X, dtype=np.float64)
        if matrix.ndim != 2:
            raise DataError(f"{source}: expected a 2-D array, got shape {matrix.shape}")
        names = [f"x{j}" for j in range(matrix.shape[1])] if names is None else list(names)
        if len(names) != matrix.shape[1]:
            raise DataError(
                f"{source}: {len(names)} names for an array of {matrix.shape[1]} columns"
            )
        return cls(names, {name: matrix[:, j] for j, name in enumerate(names)}, source)


def read_table(
    path: str | os.PathLike[str],
    *,
    delimiter: str | None = None,
    encoding: str = "utf-8-sig",
    header: bool | Literal["auto"] = "auto",
    engine: Literal["auto", "pandas", "numpy"] = "auto",
    decimal: str | None = None,
    min_columns: int = 2,
    expect: Sequence[str] | None = None,
    text: Sequence[str] = (),
) -> Table:
    """Read a CSV file into a :class:`Table`: numeric columns as float64, others as text.

    Parameters
    ----------
    path : str or PathLike
        The file. Quoting follows RFC 4180 (delimiters, doubled quotes ``""`` and newlines
        inside quoted cells); spaces after a delimiter are skipped; blank lines are skipped.
    delimiter : str, optional
        One character. None detects it with ``csv.Sniffer`` among ``, ; TAB |`` on the first
        64 KB (else ",").
    encoding : str, default "utf-8-sig"
        UTF-8 with or without a byte-order mark by default (a mark is skipped with "utf-8"
        too).
    header : "auto", True or False, default "auto"
        "auto": the first row is a header when it holds every name in `expect`, or when it is
        text in every column whose next rows are numbers (missing cells aside). Without one,
        columns are ``col0``, ``col1``, ... An empty header cell names column ``j``
        ``col{j}`` (with a notice in :attr:`Table.notices`); repeated names are an error.
        A first row of counts as in scikit-learn's data files (``150,4,setosa,...``: the
        number of rows that follow, then of features, then class names) is skipped with a
        notice when the count is right.
    engine : "auto", "pandas" or "numpy", default "auto"
        "pandas": ``pandas.read_csv`` (fast, the ``cli`` extra); "numpy": Python's ``csv``
        module and NumPy (no pandas); "auto": pandas when it is installed. Both return the
        same table.
    decimal : ".", "," or None, default None
        The decimal mark of numbers. None detects it: "," when the delimiter is not "," and
        the first rows have a column of numbers written like ``3,75`` (integers among them)
        and no column of numbers written like ``3.75`` (with a notice). With ",", a cell with
        a "." is text. The choice is :attr:`Table.decimal`.
    min_columns : 1 or 2, default 2
        Fewer columns is an error suggesting ``--delimiter``. With 1, a file of one column is
        read unless its first cell holds ``;``, a tab or ``|`` (a delimiter, surely).
    expect : sequence of str, optional
        Column names the caller expects (a model's inputs), for header "auto".
    text : sequence of str, default ()
        Columns read as text even when they hold numbers (IDs such as ``007``): stripped
        cells, None where missing. Names the file lacks are ignored.

    Returns
    -------
    Table
        A cell is missing when, stripped, it is one of :data:`MISSING_TOKENS` (empty, ``NA``,
        ``N/A``, ``NaN``, ``nan``, ``null``, ``NULL``, ``None``, ``?``). A column is numeric
        (float64, NaN where missing) when every other cell is a decimal number, else text
        (object array of stripped str, None where missing). ``lines`` holds each row's line
        when blank lines or multi-line cells shift them (else None).

    Raises
    ------
    DataError
        One line, naming the file: a missing or empty file, a file of one column (suggesting
        ``--delimiter``), bytes that are not `encoding` text (the byte offset, suggesting
        ``--encoding``), repeated header names, a row with a different number of cells (its
        line), a header without data rows, or a numeric cell that is infinite or beyond
        float32's range (its line, column and text).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "pets.csv"
    >>> _ = path.write_text("name;weight;kind\\nRex;12.5;dog\\nTom;NA;cat\\n")
    >>> table = read_table(path)
    >>> table.names, table.delimiter, table.columns["weight"].tolist()
    (['name', 'weight', 'kind'], ';', [12.5, nan])
    >>> table.columns["kind"].tolist()
    ['dog', 'cat']
    """
    file = Path(path)
    if engine not in ENGINES:
        raise DataError(f"read_table: engine must be one of {', '.join(ENGINES)}, got {engine!r}")
    if header not in ("auto", True, False):
        raise DataError(f"read_table: header must be 'auto', True or False, got {header!r}")
    if delimiter is not None and (len(delimiter) != 1 or delimiter in '"\r\n\ufffe\uffff'):
        raise DataError(f"read_table: delimiter must be one character, got {delimiter!r}")
    if decimal not in (None, ".", ","):
        raise DataError(f"read_table: decimal must be '.' or ',' (or None), got {decimal!r}")
    if isinstance(min_columns, bool) or min_columns not in (1, 2):
        raise DataError(f"read_table: min_columns must be 1 or 2, got {min_columns!r}")
    if isinstance(expect, str) or isinstance(text, str):
        raise DataError("read_table: expect and text are sequences of column names, not one str")
    try:
        codec = codecs.lookup(encoding).name
    except LookupError:
        raise DataError(f"{file}: unknown encoding {encoding!r}") from None
    if codec == "utf-8":
        encoding = "utf-8-sig"  # a byte-order mark is not data (pandas drops it too)
    has_pandas = _pandas_installed()
    if engine == "pandas" and not has_pandas:
        raise DataError(
            "read_table: engine='pandas' needs pandas (pip install 'nabla[cli]'), "
            "or use engine='numpy'"
        )
    if not file.exists():
        raise DataError(f"{file}: file not found")
    if not file.is_file():
        raise DataError(f"{file}: not a file")
    chosen = "pandas" if engine == "pandas" or (engine == "auto" and has_pandas) else "numpy"
    try:
        parts = read_parts(
            file,
            delimiter=delimiter,
            encoding=encoding,
            header=header,
            engine=chosen,
            decimal=decimal,
            min_columns=min_columns,
            expect=tuple(expect or ()),
            text=tuple(text),
        )
    except OSError as error:
        raise DataError(f"{file}: cannot read ({error.strerror or error})") from None
    table = Table(
        parts.names,
        dict(zip(parts.names, parts.columns)),
        str(file),
        parts.has_header,
        parts.lines,
        parts.delimiter,
        parts.notices,
        parts.decimal,
    )
    _check_numbers(table, file, encoding)
    return table


def _pandas_installed() -> bool:
    return importlib.util.find_spec("pandas") is not None


def _beyond_float32(column: Array) -> bool:
    """Whether a float64 column has a value beyond float32's range (NaN aside), allocating
    nothing: max and min, or fmax and fmin (which skip NaN) when the column has NaN."""
    high, low = column.max(), column.min()
    if np.isnan(high):
        high, low = np.fmax.reduce(column), np.fmin.reduce(column)
    return bool(high > FLOAT32_MAX or low < -FLOAT32_MAX)


def _check_numbers(table: Table, file: Path, encoding: str) -> None:
    """A DataError at the first numeric cell that is infinite or beyond float32's range."""
    first: tuple[int, int] | None = None
    for j, name in enumerate(table.names):
        column = table.columns[name]
        if column.dtype.kind == "f" and column.size and _beyond_float32(column):
            bad = np.flatnonzero(np.abs(column) > FLOAT32_MAX)
            if bad.size and (first is None or bad[0] < first[0]):
                first = (int(bad[0]), j)
    if first is None:
        return
    row, j = first
    name = table.names[j]
    value = float(table.columns[name][row])
    what = "infinite" if np.isinf(value) else "beyond float32's range (|v| > 3.4e38)"
    raise DataError(
        f"{table.where(row, name)}: value {quote(_cell(table, file, encoding, row, j))} is "
        f"{what}; numbers must be finite float32 values"
    )


def _cell(table: Table, file: Path, encoding: str, row: int, j: int) -> str:
    """The text of one data cell, read again from the file (for an error message)."""
    line = table.line(row)
    try:
        for start, cells in iter_rows(file, table.delimiter, encoding):
            if start == line:
                return cells[j].strip()
    except (OSError, UnicodeDecodeError, csv.Error):
        pass
    return repr(float(table.columns[table.names[j]][row]))
