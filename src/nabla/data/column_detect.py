"""Which columns of a table are features: the rules behind :func:`choose_columns`.

A column is left out, each time with a one-line notice, when it is the target, the ``--id``
column, named in ``--drop`` or not named in ``--features``, or when it is:

- **all missing**: nothing to learn from or to fill with;
- **date/time-like**: text where at least :data:`DATE_SHARE` of the non-missing cells look like
  a date or time (``2021-03-04``, ``2021-03-04 10:00``, ``03/04/2021``, ``4 Mar 2021``,
  ``10:30``); one-hot codes of dates do not generalise to new dates;
- **ID-like**: text that is different in every row (with at least :data:`ID_MIN_ROWS` rows and
  no missing cell), or a numeric column of integers different in every row *whose name says it
  is an identifier* (``id``, ``ID``, ``PassengerId``, ``customer_id``, ``index``, ``key``,
  ``Unnamed: 0``...). A numeric column is never left out for its values alone: when it merely
  looks like a row number (consecutive distinct integers) it stays a feature and the notice
  says how to drop it;
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
from nabla.data.table import Table
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
    r"(.*[^a-z0-9])?(id|ids|idx|index|key|uuid|guid|row|rownum|row_?num(ber)?|unnamed: ?\d+)"
)
_CAMEL_ID = re.compile(r".*[a-z0-9](Id|ID|Idx|Index|Key)")  # PassengerId, customerID


@dataclass(frozen=True)
class ColumnOptions:
    """How a table's columns become features (the ``nabla train`` options of the same names).

    Attributes
    ----------
    impute : {"median", "mean", "drop"}
        Fill a missing numeric cell with the training rows' median or mean, or drop the rows
        with a missing feature cell from training (and refuse them at predict time).
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
    """

    features: list[str]
    kinds: dict[str, str]
    excluded: dict[str, str] = field(default_factory=dict)
    notices: list[str] = field(default_factory=list)

    def rows_with_missing(self, table: Table) -> Array:
        """Boolean mask of the rows with a missing feature cell (``impute="drop"`` drops them)."""
        mask = np.zeros(table.n_rows, dtype=bool)
        for name in self.features:
            mask |= table.missing(name)
        return mask


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


def _is_id_name(name: str) -> bool:
    """Whether a column's name says it identifies rows (see the module docstring)."""
    stripped = name.strip()
    return not stripped or bool(
        _ID_NAME.fullmatch(stripped.lower()) or _CAMEL_ID.fullmatch(stripped)
    )


def _why_excluded(table: Table, name: str) -> tuple[str | None, str | None]:
    """(reason to leave column `name` out or None, a notice for a kept column or None)."""
    values = table.columns[name]
    missing = table.missing(name)
    present = values[~missing]
    n_rows = len(values)
    if table.is_numeric(name):
        whole = present.size == n_rows and bool(np.all(present == np.round(present)))
        if not whole or n_rows < 2 or np.unique(present).size != n_rows:
            return None, None
        if _is_id_name(name):
            return "unique per row (an ID)", None
        if n_rows >= ID_MIN_ROWS and float(present.max() - present.min()) == n_rows - 1:
            return None, (
                f"kept numeric column {name!r} though it numbers the rows "
                f"(a different integer in every row); pass --drop {name} if it is an ID"
            )
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
        elif not options.features:
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
        choice.kinds[name] = "numeric" if table.is_numeric(name) else "categorical"
    if not choice.features:
        raise DataError(
            f"{table.source}: no feature column left "
            f"({'; '.join(f'{n!r}: {r}' for n, r in choice.excluded.items())})"
        )
    return choice
