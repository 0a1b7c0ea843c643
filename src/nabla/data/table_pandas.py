"""The pandas engine of :func:`~nabla.data.read_table`: ``pandas.read_csv`` with the cell rules
of :mod:`nabla.data.table_numpy`, so both engines return the same columns.

pandas skips blank lines and does not say where a row started, so a thread counts the file's
newlines while pandas parses (NumPy on a memory map). When every line up to the last non-blank
one is a row, row ``i`` is on line ``i + 1 + header`` and ``lines`` is None. Otherwise (blank
lines, newlines inside quoted cells, encodings where a newline is not the byte ``\\n``) the
file is scanned with the ``csv`` module for each row's line and width. pandas also pads a short
row with missing cells, silently: the rows whose last cell is missing are checked (only their
lines, parsed again, when every line is a row; else by the scan). A file with a ``\\r`` that
ends no ``\\r\\n`` is left to the NumPy engine (pandas may start the next row at a delimiter
after it).
"""

from __future__ import annotations

import csv
import importlib
import mmap
import re
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from nabla._typing import Array
from nabla.data.table_numpy import (
    MISSING_TOKENS,
    decode_error,
    is_blank,
    ragged_row_error,
    scan_lines,
    text_column,
)
from nabla.errors import DataError

__all__ = ["PandasEngine", "spaces_lead_cells"]

_TAIL_BYTES = 1 << 16  # the end of the file looked at for blank lines
_NONE = np.full(1, None, dtype=object)  # compares with an object column cell by cell
_BLOCK = 1 << 20  # bytes compared at a time when counting lines


def spaces_lead_cells(sample: str, delimiter: str) -> bool:
    """Whether a cell of the sample starts with a space."""
    return re.search(f"(?:^|{re.escape(delimiter)}) ", sample, re.MULTILINE) is not None


@dataclass
class _ByteFacts:
    """What one pass over the file's bytes tells the pandas engine."""

    lines: int | None  # lines up to the last non-blank one; None when not countable as bytes
    space_quote: bool  # a '"' after a space somewhere (needs skipinitialspace to be a quote)
    lone_cr: bool  # a "\r" not followed by "\n": pandas and the csv module split it apart


def _count(data: Array, byte: int) -> int:
    """How many elements of the uint8 array equal `byte` (a block at a time: little memory)."""
    return sum(
        int(np.count_nonzero(data[i : i + _BLOCK] == byte)) for i in range(0, len(data), _BLOCK)
    )


def _has_lone_cr(data: Array) -> bool:
    """Whether some ``\\r`` byte is not followed by ``\\n``."""
    for i in range(0, len(data), _BLOCK):
        after = np.flatnonzero(data[i : i + _BLOCK] == 13) + i + 1
        if after.size and (after[-1] == len(data) or (data[after[after < len(data)]] != 10).any()):
            return True
    return False


def _byte_facts(file: Path, encoding: str, delimiter: str) -> _ByteFacts:
    """Count lines when newlines are plain ``\\n`` or ``\\r\\n`` bytes; look for ``' "'``.

    The file is memory-mapped and counted by NumPy (no copy; the GIL is released meanwhile).
    """
    if file.stat().st_size == 0:
        return _ByteFacts(None, False, False)
    with file.open("rb") as stream, mmap.mmap(stream.fileno(), 0, access=mmap.ACCESS_READ) as view:
        data = np.frombuffer(view, dtype=np.uint8)
        n_lf = _count(data, ord("\n"))
        lone_cr = view.find(b"\r") >= 0 and _has_lone_cr(data)
        del data  # the map closes only when no array uses it
        space_quote = view.find(b'"') >= 0 and view.find(b' "') >= 0
        tail = view[-_TAIL_BYTES:]
    # the blank lines at the end (spaces and tabs, unless a tab is the delimiter)
    content = tail.rstrip(b" \r\n" if delimiter == "\t" else b" \t\r\n")
    countable = "a\n".encode(encoding).endswith(b"a\n") and not lone_cr  # not UTF-16
    if not countable or (not content and len(tail) == _TAIL_BYTES):
        return _ByteFacts(None, space_quote, lone_cr)
    return _ByteFacts(n_lf - tail[len(content) :].count(b"\n") + 1, space_quote, lone_cr)


class _ParseFailed(Exception):
    """pandas could not parse the file (its message, on one line)."""


class PandasEngine:
    """``pandas.read_csv`` with the cell rules of :mod:`nabla.data.table_numpy`."""

    def __init__(
        self,
        file: Path,
        delimiter: str,
        encoding: str,
        has_header: bool,
        n_columns: int,
        text: set[int],
        decimal: str = ".",
    ) -> None:
        # imported here (an optional dependency), as Any: pandas ships no type information
        pd: Any = importlib.import_module("pandas")
        self.pd = pd
        self.file, self.delimiter, self.encoding = file, delimiter, encoding
        self.has_header, self.n_columns, self.text = has_header, n_columns, text
        self.decimal = decimal
        self.reference = 1  # the line other rows' widths are compared with in messages
        self.names = [f"c{j}" for j in range(n_columns)]
        self.options: dict[str, Any] = {
            "sep": delimiter,
            "quotechar": '"',
            "doublequote": True,
            "header": 0 if has_header else None,
            "names": self.names,
            "index_col": False,
            "keep_default_na": False,
            "na_values": list(MISSING_TOKENS),
            "skip_blank_lines": True,
            "encoding": encoding,
            "engine": "c",
            "decimal": decimal,
            "on_bad_lines": "error",
        }
        if int(pd.__version__.split(".")[0]) < 3:
            self.options["float_precision"] = "round_trip"  # pandas 3 is exact by default

    def read(self, sample: str) -> tuple[list[Array], Array | None] | None:
        """The columns and row lines (None when pandas and the csv module see different rows).

        Spaces that start a cell are skipped when a cell of the `sample` starts with one (a
        quote after them then opens a quoted cell). Without it, a cell keeps its leading
        spaces, which the cell rules strip anyway; a file with ``' "'`` somewhere is read again
        with it.
        """
        spaces = spaces_lead_cells(sample, self.delimiter)
        failed = False
        with ThreadPoolExecutor(max_workers=1) as pool:  # counts lines while pandas parses
            counting = pool.submit(_byte_facts, self.file, self.encoding, self.delimiter)
            try:
                columns = self._columns(spaces)
            except _ParseFailed:  # perhaps a quote after spaces split a quoted cell
                columns, failed = None, True
            facts = counting.result()
        if facts.lone_cr:  # pandas may end a row at "\r" and start the next with a delimiter
            return None
        if failed or (facts.space_quote and not spaces):
            try:
                columns = self._columns(True)
            except _ParseFailed as error:
                # the csv module names the ragged row or the open quote
                scan_lines(
                    self.file, self.delimiter, self.encoding, self.has_header, self.n_columns
                )
                raise DataError(f"{self.file}: malformed CSV ({error})") from None
        if columns is None:
            return None
        n_rows = len(columns[0])
        last = columns[-1]
        # pandas pads a short row with missing cells: a missing cell in the last column may be one
        short = np.isnan(last).any() if last.dtype.kind == "f" else (last == _NONE).any()
        if facts.lines == n_rows + int(self.has_header):  # row i is on line i + 1 + header
            if short:
                suspects = np.flatnonzero(
                    np.isnan(last) if last.dtype.kind == "f" else last == _NONE
                )
                if not self._check_widths(suspects + 1 + int(self.has_header)):
                    return None
            return columns, None
        lines = scan_lines(
            self.file, self.delimiter, self.encoding, self.has_header, self.n_columns
        )
        return (columns, lines) if len(lines) == n_rows else None

    def _check_widths(self, lines: Array) -> bool:
        """A DataError at the first of these lines (each one row) with too few cells; False
        when one is blank to the csv module (pandas kept it: spaces with a space delimiter)."""
        wanted = iter(lines.tolist())
        target = next(wanted, None)
        with self.file.open(newline="", encoding=self.encoding) as stream:
            for number, text in enumerate(stream, start=1):
                if number != target:
                    continue
                reader = csv.reader(
                    [text], delimiter=self.delimiter, quotechar='"', skipinitialspace=True
                )
                cells = next(reader)
                if is_blank(cells):
                    return False
                if len(cells) != self.n_columns:
                    raise ragged_row_error(
                        self.file, number, len(cells), self.n_columns, self.reference
                    )
                target = next(wanted, None)
                if target is None:
                    break
        return True

    def _read_csv(self, spaces: bool, usecols: list[int] | None, dtype: Any) -> Any:
        pd = self.pd
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", pd.errors.ParserWarning)
                # low_memory parses in chunks (less memory); a column of numbers in one chunk
                # and text in another comes back mixed and is read again as text (below)
                warnings.simplefilter("ignore", pd.errors.DtypeWarning)
                return pd.read_csv(
                    self.file,
                    usecols=usecols,
                    dtype=dtype,
                    skipinitialspace=spaces,
                    **self.options,
                )
        except UnicodeDecodeError:
            raise decode_error(self.file, self.encoding) from None
        except pd.errors.EmptyDataError:
            raise DataError(f"{self.file}: file is empty") from None
        except (pd.errors.ParserError, pd.errors.ParserWarning) as error:
            raise _ParseFailed(" ".join(str(error).split())) from None

    def _columns(self, spaces: bool) -> list[Array] | None:
        # text as categories: pandas makes a str per distinct cell, not per row
        frame = self._read_csv(spaces, None, {self.names[j]: "category" for j in self.text})
        columns: list[Array | None] = []
        for j in range(self.n_columns):
            series = frame.iloc[:, j]
            kind = series.dtype.kind
            if kind == "f":
                column = series.to_numpy()
                column.flags.writeable = True  # pandas' read-only view of data only we keep
            elif kind in "iu":
                column = series.to_numpy().astype(np.float64)
            else:
                column = _object_column(series, j not in self.text, self.decimal)
            columns.append(column)
        del frame
        redo = [j for j, column in enumerate(columns) if column is None]
        if redo:  # booleans, or cells pandas made numbers in a text column: read their text
            frame = self._read_csv(spaces, redo, "category")
            for position, j in enumerate(redo):
                columns[j] = _object_column(frame.iloc[:, position], True, self.decimal)
            del frame
        done = [column for column in columns if column is not None]
        return done if len(done) == self.n_columns else None


def _object_column(series: Any, numeric: bool, decimal: str) -> Array | None:
    """A column from pandas' text cells (str, or NaN where missing); None when it holds other
    values (booleans, or numbers from a low-memory chunk). The cell rules run once per distinct
    value, not once per row."""
    if series.dtype == "category":
        codes, uniques = series.cat.codes.to_numpy(), series.cat.categories
    else:
        codes, uniques = series.factorize()  # missing cells get code -1, as in categories
    cells = uniques.to_numpy(dtype=object).tolist()
    if not all(isinstance(cell, str) for cell in cells):
        return None
    column = text_column(cells, numeric=numeric, decimal=decimal)
    # code -1 picks the appended last entry: NaN or None
    missing = np.full(1, np.nan) if column.dtype.kind == "f" else _NONE
    result: Array = np.concatenate([column, missing])[codes]
    return result
