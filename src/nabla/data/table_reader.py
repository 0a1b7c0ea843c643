"""How :func:`~nabla.data.read_table` reads a CSV file: dialect, header, then one of two engines.

1. The first :data:`SAMPLE_BYTES` are decoded; ``csv.Sniffer`` picks the delimiter among
   ``, ; TAB |`` from their first :data:`SNIFF_LINES` lines (else ","); their rows decide the
   decimal mark (:func:`comma_columns`), a first row that counts the rows
   (:func:`counted_rows`), the header (a first row with the expected names, else the rule of
   :func:`nabla.data.csv_loader._detect_header`, missing cells not counting against a numeric
   column) and which columns are surely text.
2. An engine reads every row: ``pandas.read_csv`` (:mod:`nabla.data.table_pandas`: C parser;
   numbers parsed straight to float64, the sample's text columns as ``object``), or the
   NumPy-only engine of :mod:`nabla.data.table_numpy` (Python's ``csv`` module). Both apply
   the same cell rules, so they return the same columns, and report ``lines`` as None exactly
   when it equals the default.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from nabla._typing import Array
from nabla.data.table_numpy import (
    MISSING,
    column_names,
    decode_error,
    has_header_row,
    is_blank,
    is_number,
    numeric_looking,
    read_columns,
    single_column_error,
)
from nabla.errors import DataError

__all__ = [
    "DELIMITERS",
    "SAMPLE_BYTES",
    "SNIFF_LINES",
    "TableParts",
    "read_parts",
    "sniff_delimiter",
]

SAMPLE_BYTES = 1 << 16  # bytes read for the dialect, the header and the text columns
DELIMITERS = ",;\t|"  # what the sniffer chooses among
SNIFF_LINES = 100  # lines of the sample the sniffer reads (its time grows with the text)
#: a stripped cell written with a decimal comma: a sign, digits, a comma, digits, an exponent
DECIMAL_COMMA = re.compile(r"[+-]?[0-9]+,[0-9]+(?:[eE][+-]?[0-9]+)?")
_COUNT = re.compile(r"[0-9]+")


@dataclass
class TableParts:
    """What a reader found: the pieces of a :class:`~nabla.data.table.Table`."""

    names: list[str]
    columns: list[Array]
    lines: Array | None
    has_header: bool
    delimiter: str
    notices: list[str] = field(default_factory=list)
    decimal: str = "."


def _read_sample(file: Path, encoding: str) -> tuple[str, bool]:
    """The decoded start of the file (whole lines) and whether it is the whole file.

    At least :data:`SAMPLE_BYTES`, and more when those do not hold two whole lines (a very
    wide header).
    """
    size = SAMPLE_BYTES
    while True:
        with file.open("rb") as stream:
            data = stream.read(size)
            complete = not stream.read(1)
        try:
            text = codecs.getincrementaldecoder(encoding)().decode(data, final=complete)
        except UnicodeDecodeError:
            raise decode_error(file, encoding) from None
        if complete:
            return text, True
        if text.count("\n") >= 2:
            return text[: text.rindex("\n") + 1], False
        size *= 4


def sniff_delimiter(sample: str) -> str:
    """The delimiter ``csv.Sniffer`` finds among :data:`DELIMITERS` in the sample's first
    :data:`SNIFF_LINES` lines, else ","."""
    cut = 0
    for _ in range(SNIFF_LINES):
        newline = sample.find("\n", cut)
        cut = len(sample) if newline < 0 else newline + 1
    try:
        return csv.Sniffer().sniff(sample[:cut], delimiters=DELIMITERS).delimiter
    except csv.Error:
        return ","


def _sample_rows(file: Path, sample: str, delimiter: str, complete: bool) -> list[list[str]]:
    """The sample's non-blank rows (without the last when the sample may have cut it)."""
    rows: list[list[str]] = []
    reader = csv.reader(
        io.StringIO(sample, newline=""), delimiter=delimiter, quotechar='"', skipinitialspace=True
    )
    try:
        rows.extend(row for row in reader if not is_blank(row))
    except csv.Error as error:
        if not rows:
            raise DataError(f"{file}: malformed CSV on line {reader.line_num} ({error})") from None
        complete = False
    return rows if complete else rows[:-1] or rows


def comma_columns(rows: list[list[str]], n_columns: int) -> list[int]:
    """The columns of `rows` (data rows) that hold numbers written with a decimal comma.

    Such a column's present cells match :data:`DECIMAL_COMMA` or are numbers without a
    ``"."`` (integers), one at least the former. None when a column of numbers has a cell with
    a decimal point (the file's decimal mark is then ``"."``).
    """
    found = []
    for j in range(n_columns):
        cells = [row[j].strip() for row in rows if len(row) > j]
        present = [cell for cell in cells if cell not in MISSING]
        if all(is_number(cell) for cell in present):
            if any("." in cell for cell in present):
                return []
        elif all(
            DECIMAL_COMMA.fullmatch(cell) or (is_number(cell) and "." not in cell)
            for cell in present
        ):
            found.append(j)
    return found


def counted_rows(rows: list[list[str]]) -> int | None:
    """n when the first row counts the rows that follow, as scikit-learn's bundled CSV files
    (iris.csv: ``150,4,setosa,versicolor,virginica``): two integers n and k, then class names
    (text), and the next rows are ``k + 1`` cells wide and end with a class index (an integer
    below the number of names). Else None. The caller checks n."""
    first = [cell.strip() for cell in rows[0]]
    names = first[2:]
    if len(rows) < 2 or not names or not all(_COUNT.fullmatch(c) for c in first[:2]):
        return None
    if any(is_number(cell) or cell in MISSING for cell in names):
        return None
    width = int(first[1]) + 1
    for row in rows[1:]:
        last = row[-1].strip()
        if len(row) != width or not _COUNT.fullmatch(last) or int(last) >= len(names):
            return None
    return int(first[0])


def _semicolons(
    file: Path, sample: str, complete: bool, rows: list[list[str]]
) -> tuple[str, list[list[str]]]:
    """(";", its rows) for a file the sniffer splits at "," whose rows split at ";" alike into
    columns of numbers written with decimal commas (``1,5;2,25``: the sniffer's "," has two
    cells a row too); else (",", `rows`)."""
    split = _sample_rows(file, sample, ";", complete)
    widths = {len(row) for row in split}
    if len(widths) == 1 and widths != {1} and comma_columns(split[1:], len(split[0])):
        return ";", split
    return ",", rows


def read_parts(
    file: Path,
    *,
    delimiter: str | None,
    encoding: str,
    header: bool | str,
    engine: str,
    decimal: str | None = None,
    min_columns: int = 2,
    expect: Sequence[str] = (),
    text: Sequence[str] = (),
    counts: bool = True,
) -> TableParts:
    """Read `file` into named columns; see the module docstring for the steps and
    :func:`~nabla.data.read_table` for the options (`counts`: look for a row of counts)."""
    options: dict[str, Any] = {"delimiter": delimiter, "encoding": encoding, "header": header}
    options.update(engine=engine, decimal=decimal, min_columns=min_columns, expect=expect)
    options.update(text=text)
    sample, complete = _read_sample(file, encoding)
    sniffed = delimiter is None
    delimiter = sniff_delimiter(sample) if delimiter is None else delimiter
    rows = _sample_rows(file, sample, delimiter, complete)
    if not rows:
        raise DataError(f"{file}: file is empty")
    if sniffed and delimiter == "," and decimal != ".":
        delimiter, rows = _semicolons(file, sample, complete, rows)
    expected = bool(expect) and set(expect) <= {cell.strip() for cell in rows[0]}
    counted = counted_rows(rows) if counts and header == "auto" and not expected else None
    if counted is not None and complete and counted != len(rows) - 1:
        counted = None
    n_columns = len(rows[0] if counted is None else rows[1])
    first = rows[0][0].strip()
    hidden = any(d in first for d in ";\t|")  # a delimiter, surely: not one column
    if n_columns < min_columns or (n_columns == 1 and hidden):
        raise single_column_error(file, first, delimiter)
    if decimal == "," == delimiter:
        raise DataError(f"{file}: the decimal mark ',' is also the delimiter; pass --delimiter")
    notices, commas = [], []
    if decimal is None:
        commas = comma_columns(rows[header is not False :], n_columns) if delimiter != "," else []
        decimal = "," if commas else "."
    if counted is not None:
        has_header = False
        notices.append(
            f"{file}: line 1 counts the rows ({counted}) and features ({n_columns - 1}) and "
            f"names the classes ({', '.join(cell.strip() for cell in rows[0][2:])}) of the "
            f"last column, as scikit-learn's data files do: skipped"
        )
    elif header == "auto":
        has_header = expected or has_header_row(rows, n_columns, decimal)
    else:
        has_header = bool(header)
    skip = has_header or counted is not None  # the first row is not data
    names, header_notices = (
        column_names(file, rows[0]) if has_header else ([f"col{j}" for j in range(n_columns)], [])
    )
    if decimal == "," and commas:
        shown = ", ".join(repr(names[j]) for j in commas[:5]) + (
            ", ..." if len(commas) > 5 else ""
        )
        notices.append(
            f"{file}: read decimal commas: column(s) {shown} hold numbers written like '3,75' "
            "(pass --decimal . to read such cells as text)"
        )
    looks = numeric_looking(rows[1:] if skip else rows, n_columns, decimal)
    wanted = set(text)
    texts = {j for j in range(n_columns) if not looks[j] or names[j] in wanted}
    read = None
    if engine == "pandas":  # imported here: the NumPy-only predictor copies this function
        from nabla.data.table_pandas import PandasEngine

        pandas = PandasEngine(file, delimiter, encoding, skip, n_columns, texts, decimal)
        pandas.reference = 1 + int(counted is not None)
        read = pandas.read(sample)
    if read is None:  # the NumPy engine, or pandas and the csv module disagreed on the rows
        read = read_columns(
            file,
            delimiter=delimiter,
            encoding=encoding,
            has_header=skip,
            n_columns=n_columns,
            text_columns=texts,
            decimal=decimal,
        )
    columns, lines = read
    n_rows = len(columns[0])
    if counted is not None and n_rows != counted:  # not a row of counts after all
        return read_parts(file, counts=False, **options)
    if n_rows == 0:
        raise DataError(f"{file}: has a header row but no data rows")
    default = np.arange(n_rows) + 1 + int(skip)
    if lines is not None and np.array_equal(lines, default):
        lines = None
    if lines is None and counted is not None:  # has_header is False: say where rows are
        lines = default
    if n_columns == 1 and lines is not None:
        notices.append(
            f"{file}: blank lines between rows are skipped; in a file of one column, write a "
            "missing value as NA"
        )
    return TableParts(
        names, columns, lines, has_header, delimiter, header_notices + notices, decimal
    )
