"""A table of named columns as read from a file: numbers with NaN for missing, or text.

:class:`Table` is what the CSV reader returns and what :mod:`nabla.data.columns` encodes into
a feature matrix. A numeric column is a float64 array whose missing cells are NaN; a text
column is an object array of ``str`` whose missing cells are None. Row ``i`` of every column
is the file's data row ``i``, and :meth:`Table.line` gives the line it started on, for
messages.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nabla._typing import Array
from nabla.errors import DataError

__all__ = ["MISSING_TOKENS", "Table"]

#: cells read as a missing value (exact match after stripping spaces); documented in the README
MISSING_TOKENS = ("", "NA", "N/A", "NaN", "nan", "null", "NULL", "None", "?")


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
    """

    names: list[str]
    columns: dict[str, Array]
    source: str
    has_header: bool = True
    lines: Array | None = None
    delimiter: str = ","
    notices: list[str] = field(default_factory=list)

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
        return np.equal(column, None)

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
            list(self.names), columns, self.source, self.has_header, lines, self.delimiter
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
