"""Which columns of a table are features: the rules behind :func:`choose_columns`.

A text column is **numeric** when at least :data:`NUMBER_SHARE` of its non-missing cells are
numbers (as the CSV reader reads them) and at least :data:`NUMBER_MIN_CELLS` are: a few stray
cells (``"3,750"``, ``"unknown"``) then count as missing (imputed like any missing number) and a
notice names the column, how many cells, and the first one's line and text. The column is
stored ``"coerced"`` so that ``predict`` reads such cells as missing too (see
:mod:`nabla.data.columns`).

A column is left out, each time with a one-line notice, when it is the target, the ``--id``
column, named in ``--drop`` or not named in ``--features``, or when it is:

- **all missing**: nothing to learn from or to fill with;
- **date/time-like**: text where at least :data:`DATE_SHARE` of the non-missing cells look like
  a date or time (``2021-03-04``, ``2021-03-04 10:00``, ``03/04/2021``, ``4 Mar 2021``,
  ``10:30``); one-hot codes of dates do not generalise to new dates;
- **ID-like**: text that is different in every row (with at least :data:`ID_MIN_ROWS` rows and
  no missing cell); or a numeric column that **numbers the rows**: at least
  :data:`ID_MIN_ROWS` distinct integers that are consecutive once sorted (``start``,
  ``start + 1``, ... for the rows that have a value) and either are the first column counting
  from 0 or 1 (R's ``write.csv`` and pandas' ``to_csv`` row names) or have an ID-like name;
  or a numeric column of integers different in every row whose name says it is an
  identifier. ID-like names: ``id``, ``ID``, ``PassengerId``, ``customer_id``, ``index``,
  ``key``, ``row``, ``rowid``, ``row_id``, ``rownum``, ``Unnamed: 0``; for a column that
  numbers the rows also ``record``, ``n``, ``no``, ``nr``, ``order_no``, ``case_nr`` (a final
  dot allowed: ``No.``) and ``#``; and an empty header cell (``col3``, as the
  reader names it, in position 3 of a file with a header). Any other numeric column is kept:
  distinct integers that are not consecutive, or a consecutive column in the middle of the
  table with a plain name (``year`` in a yearly table) stay features, the latter with a
  notice saying how to drop it;
- **free text**: text with more than :data:`MAX_CATEGORIES` distinct values that are also more
  than :data:`FREE_TEXT_SHARE` of its non-missing cells (names, comments, tickets).

Columns named in ``--features`` skip the date, ID and free-text rules (the user asked for
them). Other numeric columns are "numeric" features and other text columns "categorical"
(one-hot encoded); constant columns are kept (harmless). Unknown names in ``--drop``,
``--features`` or ``--id`` are a :class:`~nabla.errors.DataError` listing the table's columns.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from nabla._typing import Array
from nabla.data.column_encode import Fail, parse_cells
from nabla.data.table import Table
from nabla.data.table_numpy import MISSING_TOKENS, is_number
from nabla.errors import DataError

__all__ = ["ColumnChoice", "ColumnOptions", "choose_columns"]

#: share of the non-missing cells that must look like dates for a text column to be date-like
DATE_SHARE = 0.8
#: a text column unique per row is an ID from this many rows on (below, nothing repeats anyway)
ID_MIN_ROWS = 10
#: a text column with more distinct values than this (and FREE_TEXT_SHARE of its cells) is text
MAX_CATEGORIES = 100
FREE_TEXT_SHARE = 0.5
#: cells examined by the date rule (the distinct values, in order of first appearance)
DATE_SAMPLE = 1000
#: a text column is numeric when this share of its non-missing cells are numbers...
NUMBER_SHARE = 0.95
#: ... and at least this many
NUMBER_MIN_CELLS = 10

_TIME = r"\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?\s*([AaPp]\.?[Mm]\.?)?"
_ZONE = r"(\s*(Z|UTC|GMT|[+-]\d{2}:?\d{2}))?"
_MONTH = r"(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)[a-z]*\.?"
_DAY = r"(Mon|Tue|Wed|Thu|Fri|Sat|Sun)[a-z]*\.?"
_DATE = re.compile(
    r"("
    rf"\d{{4}}[-/.]\d{{1,2}}[-/.]\d{{1,2}}([T\s]+{_TIME})?{_ZONE}"  # 2021-03-04[ 10:00]
    rf"|\d{{1,2}}[-/.]\d{{1,2}}[-/.]\d{{2,4}}(,?\s+{_TIME})?"  # 03/04/2021, 4.3.21
    rf"|\d{{1,2}}[-\s]{_MONTH}[-\s,]+\d{{2,4}}(,?\s+{_TIME})?"  # 4 Mar 2021, 04-Mar-21
    rf"|({_DAY},?\s+)?{_MONTH}\s+\d{{1,2}}(st|nd|rd|th)?,?\s+\d{{4}}(,?\s+{_TIME})?"
    rf"|\d{{4}}-\d{{2}}"  # 2021-03
    rf"|{_TIME}{_ZONE}"  # 10:30, 10:30:15 pm
    r")",
    re.IGNORECASE,
)
_ID_NAME = re.compile(
    r"(.*[^a-z0-9])?(id|ids|idx|index|key|uuid|guid|row|rowid|rownum|row_?num(ber)?"
    r"|unnamed: ?\d+)"
)
#: names that say "row number" only for a column that numbers the rows (``n`` may be a count)
_ROW_NAME = re.compile(r"#|(record|n|no|nr|.*[^a-z0-9](no|nr))\.?")
_MISSING = frozenset(MISSING_TOKENS)
_CAMEL_ID = re.compile(r".*[a-z0-9](Id|ID|Idx|Index|Key)")  # PassengerId, customerID


@dataclass(frozen=True)
class ColumnOptions:
    """How a table's columns become features (the ``nabla train`` options of the same names).

    Attributes
    ----------
    impute : {"median", "mean", "drop"}
        Fill a missing numeric cell with the training rows' median or mean, or drop the rows
        with a missing numeric cell from training (and refuse them at predict time). A
        missing text cell is all zeros in every case.
    indicators : bool
        Add a 0/1 column ``"<name>_missing"`` for each column with missing training cells.
    drop : tuple of str
        Columns left out by the user.
    features : tuple of str
        If given, only these columns are features.
    id_column : str, optional
        A row identifier: left out of the features (passed through to predictions).
    strict : bool
        An unknown category at predict time is an error instead of an all-zeros one-hot.
    standardize : bool
        Standardise the numeric features with the training rows' mean and standard deviation.
    """

    impute: str = "median"
    indicators: bool = False
    drop: tuple[str, ...] = ()
    features: tuple[str, ...] = ()
    id_column: str | None = None
    strict: bool = False
    standardize: bool = True

    def __post_init__(self) -> None:
        if self.impute not in ("median", "mean", "drop"):
            raise DataError(f"impute must be 'median', 'mean' or 'drop', got {self.impute!r}")


@dataclass
class ColumnChoice:
    """The features of a table and why the other columns were left out.

    Attributes
    ----------
    features : list of str
        The feature columns, in table order.
    kinds : dict of str to str
        "numeric" or "categorical" for each feature.
    excluded : dict of str to str
        The reason each other column is not a feature (the target included).
    notices : list of str
        One line per decision the user should hear about.
    coerced : list of str
        The numeric features that are text in the table (mostly numbers): their cells that are
        not numbers count as missing.
    """

    features: list[str]
    kinds: dict[str, str]
    excluded: dict[str, str] = field(default_factory=dict)
    notices: list[str] = field(default_factory=list)
    coerced: list[str] = field(default_factory=list)

    def numbers(self, table: Table, name: str) -> Array:
        """Numeric feature `name` of `table` as float64, NaN where missing (or not a number,
        for a coerced column)."""
        values = table.columns[name]
        if table.is_numeric(name):
            return values
        return parse_cells(values, True, _fail_in(table), name, name in self.coerced)

    def rows_with_missing(self, table: Table) -> Array:
        """Boolean mask of the rows with a missing numeric feature cell (``impute="drop"``
        drops them); a missing text cell is all zeros and keeps its row."""
        mask = np.zeros(table.n_rows, dtype=bool)
        for name in self.features:
            if self.kinds[name] == "numeric":
                mask |= np.isnan(self.numbers(table, name))
        return mask


def _fail_in(table: Table) -> Fail:
    def fail(row: int, name: str, message: str) -> None:
        raise DataError(f"{table.where(int(row), name)}: {message}")

    return fail


def _listed(names: list[str] | tuple[str, ...]) -> str:
    return ", ".join(repr(name) for name in names)


def _check_names(table: Table, option: str, names: tuple[str, ...]) -> None:
    unknown = [name for name in names if name not in table.columns]
    if unknown:
        raise DataError(
            f"{table.source}: {option} names unknown column(s) {_listed(unknown)}; "
            f"the columns are {_listed(table.names)}"
        )


def looks_like_dates(values: Array) -> bool:
    """Whether most non-missing cells of a text column look like dates or times."""
    present = [v for v in dict.fromkeys(values.tolist()) if v is not None][:DATE_SAMPLE]
    if not present:
        return False
    dates = sum(1 for v in present if _DATE.fullmatch(str(v).strip()))
    return dates >= DATE_SHARE * len(present)


def _is_id_name(table: Table, name: str) -> bool:
    """Whether a column's name says it identifies rows (see the module docstring)."""
    stripped = name.strip()
    unnamed = table.has_header and table.names.index(name) == _position(name)
    return (
        not stripped
        or unnamed
        or bool(_ID_NAME.fullmatch(stripped.lower()) or _CAMEL_ID.fullmatch(stripped))
    )


def _position(name: str) -> int:
    """j for the reader's name ``col{j}`` of an empty header cell, else -1."""
    return int(name[3:]) if re.fullmatch(r"col\d+", name) else -1


def numbers_the_rows(present: Array) -> bool:
    """Whether `present` (a column's non-missing values) are :data:`ID_MIN_ROWS` or more
    distinct integers that are consecutive once sorted."""
    if present.size < ID_MIN_ROWS or not bool(np.all(present == np.round(present))):
        return False
    span = float(present.max() - present.min())
    return span == present.size - 1 and np.unique(present).size == present.size


def mostly_numbers(table: Table, name: str) -> tuple[bool, str | None]:
    """(whether text column `name` is numeric, the notice about its cells that are not)."""
    cells = [None if v is None else str(v).strip() for v in table.columns[name].tolist()]
    present = [i for i, cell in enumerate(cells) if cell is not None and cell not in _MISSING]
    allowed = int((1.0 - NUMBER_SHARE) * len(present))  # stray cells a numeric column may have
    if len(present) - allowed < NUMBER_MIN_CELLS:
        return False, None
    stray: list[int] = []
    for i in present:
        if not is_number(cells[i] or ""):
            stray.append(i)
            if len(stray) > allowed:
                return False, None
    if not stray:
        return True, None
    text = str(cells[stray[0]])
    shown = repr(text) if len(text) <= 40 else f"{text[:40]!r}..."
    many = f"{len(stray)} cells are not numbers and count"
    return True, (
        f"read {name!r} as numbers: {'1 cell is not a number and counts' if len(stray) == 1 else many}"
        f" as missing (line {table.line(stray[0])}: {shown})"
    )


def _why_excluded(table: Table, name: str) -> tuple[str | None, str | None]:
    """(reason to leave column `name` out or None, a notice for a kept column or None)."""
    values = table.columns[name]
    missing = table.missing(name)
    present = values[~missing]
    n_rows = len(values)
    if table.is_numeric(name):
        if numbers_the_rows(present):
            first = table.names[0] == name and float(present.min()) in (0.0, 1.0)
            if first or _is_id_name(table, name) or _ROW_NAME.fullmatch(name.strip().lower()):
                return "it numbers the rows (an ID)", None
            return None, (
                f"kept numeric column {name!r} though it numbers the rows "
                f"(a different integer in every row); pass --drop {name} if it is an ID"
            )
        whole = present.size == n_rows and bool(np.all(present == np.round(present)))
        if not whole or n_rows < 2 or np.unique(present).size != n_rows:
            return None, None
        if _is_id_name(table, name):
            return "unique per row (an ID)", None
        return None, None
    distinct = len(set(present.tolist()))
    if looks_like_dates(present):
        return "dates or times", None
    if n_rows >= ID_MIN_ROWS and present.size == n_rows and distinct == n_rows:
        return "unique per row (an ID)", None
    if distinct > MAX_CATEGORIES and distinct > FREE_TEXT_SHARE * present.size:
        return f"free text ({distinct} distinct values in {present.size} cells)", None
    return None, None


def choose_columns(table: Table, target: str | None, options: ColumnOptions) -> ColumnChoice:
    """The feature columns of `table` and their kinds (see the module docstring for the rules).

    Parameters
    ----------
    table : Table
    target : str, optional
        The target column (left out of the features).
    options : ColumnOptions

    Raises
    ------
    DataError
        For unknown names in ``drop``/``features``/``id_column``, a target among the features,
        or no feature left.
    """
    if target is not None:
        _check_names(table, "the target", (target,))
    _check_names(table, "--drop", options.drop)
    _check_names(table, "--features", options.features)
    if options.id_column is not None:
        _check_names(table, "--id", (options.id_column,))
    if target is not None and target in options.features:
        raise DataError(f"{table.source}: --features names the target {target!r}")
    choice = ColumnChoice([], {})
    for name in table.names:
        reason, notice = None, None
        if name == target:
            choice.excluded[name] = "the target"
            continue
        if name == options.id_column:
            reason = "the --id column"
        elif name in options.drop:
            reason = "named in --drop"
        elif options.features and name not in options.features:
            reason = "not named in --features"
        elif bool(table.missing(name).all()):
            reason = "all missing"
        elif not table.is_numeric(name):
            coerced, notice = mostly_numbers(table, name)
            if coerced:
                choice.coerced.append(name)
        if name not in choice.coerced and reason is None and not options.features:
            reason, notice = _why_excluded(table, name)
        if notice:
            choice.notices.append(notice)
        if reason is not None:
            choice.excluded[name] = reason
            automatic = reason not in ("the --id column", "named in --drop")
            if automatic and reason != "not named in --features":
                choice.notices.append(
                    f"excluded {name!r}: {reason}; pass --features to keep it"
                    if reason != "all missing"
                    else f"excluded {name!r}: all missing"
                )
            continue
        choice.features.append(name)
        numeric = table.is_numeric(name) or name in choice.coerced
        choice.kinds[name] = "numeric" if numeric else "categorical"
    if not choice.features:
        raise DataError(
            f"{table.source}: no feature column left "
            f"({'; '.join(f'{n!r}: {r}' for n, r in choice.excluded.items())})"
        )
    return choice
