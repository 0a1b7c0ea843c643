"""The NumPy-only CSV engine of :func:`~nabla.data.read_table`: Python's ``csv`` module plus NumPy.

It also holds what both engines share: the ``csv``-module scan of a file's rows (their lines,
widths, an open quote, the byte a decoding error is at), the header names and messages, and the
cell rules, so that a cell means the same thing whichever engine read it:

- a cell is *missing* when, stripped of surrounding whitespace, it is one of
  :data:`MISSING_TOKENS` (also exported by :mod:`nabla.data.table`);
- a cell is a *number* when, stripped, it matches :data:`NUMBER`: an ASCII decimal float
  (``1``, ``-2.5``, ``.5``, ``1.``, ``1e-3``) or ``inf``/``infinity`` in any case with a sign.
  This is exactly what ``pandas.read_csv`` parses as a number (not Python's ``float``, which
  also takes ``1_000``, ``nan`` and non-ASCII digits: those cells are text here). With the
  decimal mark ``","`` a number has a comma where it had a point (``3,75``), and a cell with a
  ``"."`` is text (as ``pandas.read_csv(decimal=",")``);
- a column is numeric (float64, NaN where missing) when every cell that is not missing is a
  number, else text (object array of stripped ``str``, None where missing).

Rows are read in chunks of :data:`CHUNK_ROWS`, so memory holds one chunk of Python strings at a
time plus the finished columns. Which columns are text is first guessed from the file's first
rows; a later cell that proves a guessed-numeric column to be text restarts the read with that
column read as text (rare: only when the first rows of a text column all look like numbers).
"""

from __future__ import annotations

import codecs
import csv
import itertools
import re
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from nabla._typing import Array
from nabla.data.csv_loader import HEADER_SAMPLE_ROWS, _detect_header, quote
from nabla.errors import DataError

__all__ = [
    "CHUNK_ROWS",
    "MISSING",
    "MISSING_TOKENS",
    "NUMBER",
    "column_names",
    "decode_error",
    "has_header_row",
    "is_blank",
    "is_number",
    "is_numeric_column",
    "iter_rows",
    "numeric_looking",
    "read_columns",
    "scan_lines",
    "single_column_error",
    "text_column",
]

#: cells read as a missing value (exact match after stripping spaces); documented in the README
MISSING_TOKENS = ("", "NA", "N/A", "NaN", "nan", "null", "NULL", "None", "?")

CHUNK_ROWS = 8192  # rows converted at a time
_BLOCK = 1 << 22  # bytes decoded at a time when looking for a decoding error
#: a stripped cell that both engines read as a number
NUMBER = re.compile(
    r"[+-]?(?:(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|(?i:inf(?:inity)?))"
)
MISSING = frozenset(MISSING_TOKENS)  # for membership tests
#: the line fed to the csv module after the file: Unicode noncharacters, in no real file and
#: never a delimiter (read_table refuses them), so it stays one cell
_END = "\uffff\ufffe\uffff"


def is_number(cell: str, decimal: str = ".") -> bool:
    """Whether a stripped cell is read as a number (see the module docstring)."""
    if decimal != ".":
        if "." in cell:
            return False
        cell = cell.replace(decimal, ".")
    return NUMBER.fullmatch(cell) is not None


def _numbers(cells: Sequence[str], decimal: str = ".") -> Array | None:
    """The cells as float64 when every one is a number (spaces around allowed), else None."""
    if decimal != ".":
        if any("." in cell for cell in cells):
            return None
        cells = [cell.replace(decimal, ".") for cell in cells]
    try:
        values = np.fromiter(map(float, cells), np.float64, len(cells))
    except ValueError:
        return None
    # float() also reads "nan", "1_000" and non-ASCII digits, which are not numbers here:
    # only cells with an "a", a "_" or a non-ASCII character need the exact test
    joined = "".join(cells)
    if joined.isascii() and "_" not in joined and "a" not in joined and "A" not in joined:
        return values
    return values if all(is_number(cell.strip()) for cell in cells) else None


def _float_column(cells: Sequence[str], decimal: str = ".") -> Array | None:
    """The cells as float64 (NaN where missing), or None when some present cell is text."""
    values = _numbers(cells, decimal)  # the common case: nothing missing
    if values is not None:
        return values
    stripped = [cell.strip() for cell in cells]
    missing = np.fromiter((cell in MISSING for cell in stripped), bool, len(stripped))
    present = [cell for cell, gone in zip(stripped, missing) if not gone]
    numbers = _numbers(present, decimal)
    if numbers is None:
        return None
    values = np.full(len(stripped), np.nan)
    values[~missing] = numbers
    return values


def is_numeric_column(cells: Sequence[str], decimal: str = ".") -> bool:
    """Whether every cell that is not missing is a number."""
    return _float_column(cells, decimal) is not None


def text_column(cells: Sequence[str | None], numeric: bool = True, decimal: str = ".") -> Array:
    """One column from its cells (None is missing): float64 when numeric, else stripped text.

    With ``numeric=False`` the column is text without trying numbers (the caller knows).
    """
    stripped = [None if cell is None else cell.strip() for cell in cells]
    present = [cell for cell in stripped if cell is not None and cell not in MISSING]
    numbers = _numbers(present, decimal) if numeric else None
    if numbers is not None:
        values = np.full(len(stripped), np.nan)
        mask = np.fromiter((c is not None and c not in MISSING for c in stripped), bool)
        values[mask] = numbers
        return values
    column = np.empty(len(stripped), dtype=object)
    column[:] = [None if cell is None or cell in MISSING else cell for cell in stripped]
    return column


def is_blank(row: list[str]) -> bool:
    """Whether a parsed row is a blank line: no cell, or one of spaces and tabs (as pandas)."""
    return not row or (len(row) == 1 and not row[0].strip(" \t"))


def numeric_looking(rows: list[list[str]], n_columns: int, decimal: str = ".") -> list[bool]:
    """Per column: no present cell of `rows` is text (missing cells are ignored)."""
    return [
        is_numeric_column([row[j] for row in rows if len(row) > j], decimal)
        for j in range(n_columns)
    ]


def has_header_row(rows: list[list[str]], n_columns: int, decimal: str = ".") -> bool:
    """``_detect_header``'s rule, with a missing cell in a numeric-looking column read as 0
    (and numbers with a decimal comma written with a point)."""
    sample = [row for row in rows[1 : 1 + HEADER_SAMPLE_ROWS] if len(row) == n_columns]
    looks = numeric_looking(sample, n_columns, decimal)

    def pointed(cell: str) -> str:  # "3,75" as "3.75" when the decimal mark is a comma
        if decimal == "." or not is_number(cell.strip(), decimal):
            return cell
        return cell.strip().replace(decimal, ".")

    first = [pointed(cell) for cell in rows[0]]
    filled = [
        [
            "0" if looks[j] and cell.strip() in MISSING else pointed(cell)
            for j, cell in enumerate(row)
        ]
        for row in sample
    ]
    return _detect_header([first, *filled])


def column_names(file: Path, row: list[str]) -> tuple[list[str], list[str]]:
    """Column names from a header row (an empty one becomes ``col{j}``) and notices."""
    names = [cell.strip() or f"col{j}" for j, cell in enumerate(row)]
    notices = [
        f"{file}: column {j} has no name in the header; it is called {names[j]!r}"
        for j, cell in enumerate(row)
        if not cell.strip()
    ]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise DataError(
            f"{file}: the header repeats column name(s) "
            f"{', '.join(repr(name) for name in repeated)}; column names must be unique"
        )
    return names, notices


def single_column_error(file: Path, first: str, delimiter: str) -> DataError:
    """The message for a file whose first row is one cell: suggest another delimiter."""
    other = next((d for d in ";\t|, " if d in first.strip() and d != delimiter), ";")
    return DataError(
        f"{file}: parsed into a single column {quote(first.strip())} with delimiter "
        f"{delimiter!r}; pass --delimiter (e.g. --delimiter {other!r})"
    )


def iter_rows(file: Path, delimiter: str, encoding: str) -> Iterator[tuple[int, list[str]]]:
    """``(line, cells)`` of each non-blank row, ``line`` the 1-based line it starts on.

    Blank rows (:func:`is_blank`) are skipped. A quoted cell still open at the end
    of the file is a DataError (the ``csv`` module would silently end it there, pandas refuses
    it). Decoding and ``csv`` errors propagate (the caller turns them into messages).
    """
    with file.open(newline="", encoding=encoding) as stream:
        # a last line no cell can end with: inside an open quoted cell, it joins that cell
        lines = itertools.chain(stream, (_END + "\n",))
        reader = csv.reader(
            lines, delimiter=delimiter, quotechar='"', doublequote=True, skipinitialspace=True
        )
        start = 1
        for row in reader:
            if row == [_END]:
                return
            if row and row[-1].endswith(_END + "\n"):
                raise DataError(
                    f"{file}: row {start} has a quoted cell that is not closed before the end "
                    "of the file (a missing '\"')"
                )
            if not is_blank(row):
                yield start, row
            start = reader.line_num + 1


def decode_error(file: Path, encoding: str) -> DataError:
    """The one-line message for a file that is not `encoding` text: the first bad byte's offset."""
    decoder = codecs.getincrementaldecoder(encoding)()
    # "utf-8-sig" is UTF-8 that may start with a byte-order mark: the message says UTF-8
    name = "UTF-8" if codecs.lookup(encoding).name in ("utf-8", "utf-8-sig") else encoding
    offset = 0
    with file.open("rb") as stream:
        while True:
            block = stream.read(_BLOCK)
            pending = len(decoder.getstate()[0])
            try:
                decoder.decode(block, final=not block)
            except UnicodeDecodeError as error:
                # error.object is the tail of (pending + block) the codec was decoding
                where = offset - pending + (pending + len(block) - len(error.object)) + error.start
                bad = error.object[error.start : error.start + 4]
                return DataError(
                    f"{file}: not {name} text ({error.reason} at byte {where}: {bad!r}); "
                    "pass --encoding (e.g. --encoding latin-1)"
                )
            if not block:
                return DataError(f"{file}: not {name} text; pass --encoding (e.g. latin-1)")
            offset += len(block)


def scan_lines(
    file: Path, delimiter: str, encoding: str, has_header: bool, n_columns: int
) -> Array:
    """The line each data row starts on (csv module); a DataError at the first ragged row.

    With `has_header` the first row is not data (a header, or a row of counts of another
    width: then the first data row is the one others are compared with).
    """
    lines: list[int] = []
    first, skip = 0, has_header
    try:
        for line, row in iter_rows(file, delimiter, encoding):
            if skip:
                first, skip = (line if len(row) == n_columns else 0), False
                continue
            first = first or line
            if len(row) != n_columns:
                raise ragged_row_error(file, line, len(row), n_columns, first)
            lines.append(line)
    except UnicodeDecodeError:
        raise decode_error(file, encoding) from None
    except csv.Error as error:
        raise DataError(f"{file}: malformed CSV near line {len(lines) + 1} ({error})") from None
    return np.asarray(lines, dtype=np.int64)


class _TextFound(Exception):
    """A column guessed numeric holds text: read again with it as text."""

    def __init__(self, column: int) -> None:
        self.column = column


def ragged_row_error(file: Path, line: int, n_cells: int, n_columns: int, first: int) -> DataError:
    """The message for a row whose number of cells differs from the first row's."""
    return DataError(
        f"{file}: row {line} has {n_cells} cells, but row {first} has {n_columns} "
        "(check quoting, or pass --delimiter)"
    )


def read_columns(
    file: Path,
    *,
    delimiter: str,
    encoding: str,
    has_header: bool,
    n_columns: int,
    text_columns: set[int],
    decimal: str = ".",
) -> tuple[list[Array], Array]:
    """Every column of the file and the line each data row starts on (NumPy engine).

    `n_columns` is the data rows' width (every row must have it; a first row that is not data
    may differ); `text_columns` are the columns known to be text (others are tried as numbers
    first, with the decimal mark `decimal`).
    """
    text = set(text_columns)
    while True:
        try:
            return _read_once(file, delimiter, encoding, has_header, n_columns, text, decimal)
        except _TextFound as found:
            text.add(found.column)
        except UnicodeDecodeError:
            raise decode_error(file, encoding) from None
        except csv.Error as error:
            raise DataError(f"{file}: malformed CSV ({error})") from None


def _read_once(
    file: Path,
    delimiter: str,
    encoding: str,
    has_header: bool,
    n_columns: int,
    text: set[int],
    decimal: str,
) -> tuple[list[Array], Array]:
    numbers: dict[int, list[Array]] = {j: [] for j in range(n_columns) if j not in text}
    strings: dict[int, list[str | None]] = {j: [] for j in text}
    lines: list[int] = []
    rows = iter_rows(file, delimiter, encoding)
    first = next(rows, None)
    if first is None:
        raise DataError(f"{file}: file is empty")
    chunk: list[list[str]] = [] if has_header else [first[1]]
    if not has_header:
        lines.append(first[0])
    reference = first[0] if len(first[1]) == n_columns else 0  # the row others are compared with

    def convert(chunk: list[list[str]]) -> None:
        cells = list(zip(*chunk))
        for j, values in numbers.items():
            column = _float_column(cells[j], decimal)
            if column is None:
                raise _TextFound(j)
            values.append(column)
        for j, texts in strings.items():
            texts.extend(cells[j])

    for line, row in rows:
        reference = reference or line
        if len(row) != n_columns:
            raise ragged_row_error(file, line, len(row), n_columns, reference)
        chunk.append(row)
        lines.append(line)
        if len(chunk) == CHUNK_ROWS:
            convert(chunk)
            chunk = []
    if chunk:
        convert(chunk)
    columns: list[Array] = []
    for j in range(n_columns):
        if j in numbers:
            parts = numbers[j]
            columns.append(np.concatenate(parts) if parts else np.empty(0))
        else:
            columns.append(text_column(strings.pop(j), numeric=False))
    return columns, np.asarray(lines, dtype=np.int64)
