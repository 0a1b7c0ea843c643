"""The column rules on small generated tables: stray text in a numeric column, row-number IDs,
and ``--impute drop`` (numbers only). Truth comes from pandas (``to_numeric(errors="coerce")``,
``isna``), scikit-learn (SimpleImputer, StandardScaler) and the way each table is built."""

from __future__ import annotations

import csv
import runpy
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import nabla as nb
from nabla.data.columns import ColumnOptions, Preprocessing, choose_columns
from nabla.data.table import Table, read_table
from nabla.errors import DataError
from nabla.predictor import write_predictor

pd = pytest.importorskip("pandas")
sklearn = pytest.importorskip("sklearn")
from sklearn.impute import SimpleImputer
from sklearn.preprocessing import StandardScaler as SkScaler

N = 100
STRAY = {11: "3,750", 20: "unknown", 33: "n/a (scale broke)"}  # data row -> cell


def _write(path: Path, header: list[str], rows: list[list[Any]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def _penguins(path: Path, rng: np.random.Generator, stray: dict[int, str]) -> Path:
    """A CSV whose ``mass`` is numbers with a few stray text cells (and an NA)."""
    rows = []
    for i in range(N):
        mass: Any = round(float(rng.normal(4200, 800)), 1)
        mass = stray.get(i, "NA" if i == 5 else mass)
        island = str(rng.choice(["Biscoe", "Dream"]))
        rows.append(
            [island, mass, round(float(rng.normal(44, 5)), 2), str(rng.choice(["a", "b"]))]
        )
    return _write(path, ["island", "mass", "bill", "species"], rows)


def _coerced(path: Path, column: str) -> Any:
    """pandas' reading of `column` with every cell that is not a number as NaN."""
    raw = pd.read_csv(path, dtype=str, keep_default_na=False)[column].str.strip()
    return pd.to_numeric(raw.replace("NA", ""), errors="coerce").to_numpy(np.float64)


def test_stray_text_in_a_numeric_column_counts_as_missing(
    tmp_path: Path, rng: np.random.Generator
) -> None:
    path = _penguins(tmp_path / "p.csv", rng, STRAY)
    table = read_table(path)
    assert not table.is_numeric("mass")  # the reader keeps it as text
    choice = choose_columns(table, "species", ColumnOptions())
    assert choice.kinds["mass"] == "numeric" and choice.coerced == ["mass"]
    assert (
        "read 'mass' as numbers: 3 cells are not numbers and count as missing (line 13: '3,750')"
    ) in choice.notices  # data row 11 is line 13 (a header line, lines count from 1)
    train = np.arange(70)
    options = ColumnOptions(indicators=True)
    prep = Preprocessing.fit(table, train, choice, options)
    mass = _coerced(path, "mass")
    assert int(np.isnan(mass).sum()) == 4  # three strays and an NA
    imputer = SimpleImputer(strategy="median", add_indicator=True).fit(mass[train, None])
    filled = imputer.transform(mass[:, None])
    expected = SkScaler().fit(filled[train, :1]).transform(filled[:, :1])[:, 0]
    X = prep.transform(table)
    names = prep.feature_names
    np.testing.assert_allclose(X[:, names.index("mass")], expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(X[:, names.index("mass_missing")], filled[:, 1])
    column = next(c for c in prep.to_dict()["columns"] if c["name"] == "mass")
    assert column["coerced"] is True and column["n_missing"] == 4  # rows 5, 11, 20, 33 < 70
    assert column["fill"] == pytest.approx(np.nanmedian(mass[train]), rel=1e-14)
    again = Preprocessing.from_dict(prep.to_dict())
    np.testing.assert_array_equal(again.transform(table), X)


def test_at_predict_time_a_coerced_column_reads_stray_cells_as_missing(
    tmp_path: Path, rng: np.random.Generator
) -> None:
    table = read_table(_penguins(tmp_path / "p.csv", rng, STRAY))
    choice = choose_columns(table, "species", ColumnOptions())
    prep = Preprocessing.fit(table, np.arange(N), choice, ColumnOptions())
    island = np.array(["Dream", "Biscoe", "Dream"], object)
    bill = np.array([40.0, 41.0, 42.0])

    def new(mass: np.ndarray) -> Table:
        columns = {"island": island, "mass": mass, "bill": bill}
        return Table(list(columns), columns, "new.csv")

    text = new(np.array(["4100", "heavy", None], object))
    nan = new(np.array([4100.0, np.nan, np.nan]))
    np.testing.assert_array_equal(prep.transform(text), prep.transform(nan))
    # the same document without "coerced" (an older nabla's) keeps today's one-line error
    old = prep.to_dict()
    for column in old["columns"]:
        column.pop("coerced", None)
    with pytest.raises(
        DataError,
        match=r"^new\.csv: row 3, column 'mass': non-numeric value 'heavy' in a numeric column$",
    ):
        Preprocessing.from_dict(old).transform(text)
    old["columns"][1]["coerced"] = "yes"
    with pytest.raises(DataError, match="'coerced' must be true or false"):
        Preprocessing.from_dict(old)


@pytest.mark.parametrize(
    ("numbers", "stray", "numeric"),
    [(19, 1, True), (18, 2, False), (10, 0, True), (9, 0, False), (100, 5, True), (100, 6, False)],
)
def test_the_share_of_numbers_decides(numbers: int, stray: int, numeric: bool) -> None:
    """At least 95% of the non-missing cells and at least 10 cells must be numbers."""
    cells = [str(float(i)) for i in range(numbers)] + ["x"] * stray + [None] * 7
    n = len(cells)
    columns = {"v": np.array(cells, object), "z": np.ones(n), "y": np.zeros(n)}
    choice = choose_columns(Table(list(columns), columns, "t.csv"), "y", ColumnOptions())
    assert (choice.kinds.get("v") == "numeric") == numeric  # else text (or free text)
    assert any("read 'v' as numbers" in line for line in choice.notices) == (numeric and stray > 0)


def test_the_predictor_reads_stray_cells_as_nabla_does(
    tmp_path: Path, rng: np.random.Generator
) -> None:
    table = read_table(_penguins(tmp_path / "p.csv", rng, STRAY))
    choice = choose_columns(table, "species", ColumnOptions())
    prep = Preprocessing.fit(table, np.arange(40), choice, ColumnOptions())
    model = nb.nn.MLP([prep.n_features, 4, 2])
    predictor = runpy.run_path(str(write_predictor(model, tmp_path / "p.py", preprocessing=prep)))
    new = _penguins(tmp_path / "new.csv", rng, {0: "?!", 3: "4.2 kg"})
    X, _ = predictor["read_rows"](str(new))
    np.testing.assert_allclose(X, prep.transform(read_table(new)), rtol=0, atol=1e-6)


def _with_first(name: str, values: np.ndarray, rng: np.random.Generator) -> Table:
    n = len(values)
    columns = {name: values, "x": rng.normal(size=n), "y": rng.normal(size=n)}
    return Table(list(columns), columns, "t.csv")


def test_r_row_names_are_an_id(tmp_path: Path, rng: np.random.Generator) -> None:
    """write.csv's unnamed first column of 1..n (in any order) is left out."""
    order = rng.permutation(30) + 1
    rows = [[int(i), float(rng.normal()), str(rng.choice(["a", "b"]))] for i in order]
    table = read_table(_write(tmp_path / "r.csv", ["", "x", "y"], rows))
    choice = choose_columns(table, "y", ColumnOptions())
    assert choice.features == ["x"]
    assert "excluded 'col0': it numbers the rows (an ID); pass --features to keep it" in (
        choice.notices
    )
    kept = choose_columns(table, "y", ColumnOptions(features=("col0", "x")))
    assert kept.features == ["col0", "x"]
    # a first column numbering from 0 (pandas' to_csv) is one too
    table = _with_first("idx0", np.arange(30.0), rng)
    assert choose_columns(table, "y", ColumnOptions()).features == ["x"]


@pytest.mark.parametrize(
    "name",
    [
        "rowid",
        "row_id",
        "row",
        "rownum",
        "record",
        "n",
        "no",
        "nr",
        "order_no",
        "case_nr",
        "index",
        "Unnamed: 0",
        "id",
        "RecordID",
        "No.",
        "#",
    ],
)
def test_row_numbers_with_an_id_name_are_an_id_anywhere(
    rng: np.random.Generator, name: str
) -> None:
    n = 25
    columns = {"x": rng.normal(size=n), name: rng.permutation(n) + 1001.0, "y": rng.normal(size=n)}
    table = Table(list(columns), columns, "t.csv")
    choice = choose_columns(table, "y", ColumnOptions())
    assert choice.features == ["x"]
    assert choice.excluded[name] == "it numbers the rows (an ID)"


def test_real_numeric_features_stay(rng: np.random.Generator) -> None:
    n = 40
    years = np.arange(1950.0, 1950 + n)
    spaced = np.sort(rng.choice(10_000, n, replace=False)).astype(float)  # distinct, gaps
    columns = {"gdp": rng.normal(size=n), "year": years, "n": spaced, "y": rng.normal(size=n)}
    table = Table(list(columns), columns, "t.csv")
    choice = choose_columns(table, "y", ColumnOptions())
    assert choice.features == ["gdp", "year", "n"]  # "n" with gaps is a count, not an ID
    assert any("kept numeric column 'year'" in line for line in choice.notices)
    # first, but counting from 1950 and named "year": a feature (with the same note)
    first = _with_first("year", years, rng)
    assert choose_columns(first, "y", ColumnOptions()).features == ["year", "x"]
    # first, distinct integers with gaps: a feature
    assert choose_columns(_with_first("v", spaced, rng), "y", ColumnOptions()).features == [
        "v",
        "x",
    ]


def test_an_unnamed_column_of_distinct_integers_is_an_id(tmp_path: Path) -> None:
    """R row names of a subset (4, 44, 68...): not consecutive, but the header has no name."""
    rows = [[int(4 + 7 * i + i % 3), i % 5, "ab"[i % 2]] for i in range(20)]
    table = read_table(_write(tmp_path / "s.csv", ["", "g", "y"], rows))
    choice = choose_columns(table, "y", ColumnOptions())
    assert choice.features == ["g"] and choice.excluded["col0"] == "unique per row (an ID)"


def _mixed(rng: np.random.Generator, n: int = 50) -> Table:
    a = rng.normal(size=n)
    a[rng.random(n) < 0.2] = np.nan
    text = np.array(rng.choice(["p", "q", "r"], n), object)
    text[rng.random(n) < 0.3] = None
    b = np.array([str(round(float(v), 3)) for v in rng.normal(size=n)], object)
    b[[3, 17]] = ["oops", None]
    columns = {"a": a, "t": text, "b": b, "y": rng.normal(size=n)}
    return Table(list(columns), columns, "m.csv")


def test_impute_drop_drops_rows_with_missing_numbers_only(rng: np.random.Generator) -> None:
    table = _mixed(rng)
    frame = pd.DataFrame({name: list(column) for name, column in table.columns.items()})
    frame["b"] = pd.to_numeric(frame["b"], errors="coerce")
    expected = frame[["a", "b"]].isna().any(axis=1).to_numpy()
    assert frame["t"].isna().to_numpy()[~expected].any()  # rows kept with missing text
    options = ColumnOptions(impute="drop")
    choice = choose_columns(table, "y", options)
    assert choice.kinds == {"a": "numeric", "t": "categorical", "b": "numeric"}
    np.testing.assert_array_equal(choice.rows_with_missing(table), expected)
    keep = np.flatnonzero(~expected)
    prep = Preprocessing.fit(table, keep, choice, options)
    np.testing.assert_array_equal(prep.rows_with_missing(table), expected)
    X = prep.transform(table.take(keep))
    onehot = [j for j, name in enumerate(prep.feature_names) if name.startswith("t=")]
    missing_text = frame["t"].isna().to_numpy()[keep]
    assert (X[missing_text][:, onehot] == 0).all()  # missing text: all zeros, not refused
    assert (X[~missing_text][:, onehot].sum(axis=1) == 1).all()
    row = int(np.flatnonzero(expected)[0])
    with pytest.raises(DataError, match=rf"^m\.csv: row {row + 2}, column '[ab]': missing value"):
        prep.transform(table)


def test_the_predictor_reads_stray_cells_in_a_dict_of_columns(
    tmp_path: Path, rng: np.random.Generator
) -> None:
    table = read_table(_penguins(tmp_path / "p.csv", rng, STRAY))
    choice = choose_columns(table, "species", ColumnOptions())
    prep = Preprocessing.fit(table, np.arange(40), choice, ColumnOptions())
    model = nb.nn.MLP([prep.n_features, 4, 2])
    predictor = runpy.run_path(str(write_predictor(model, tmp_path / "p.py", preprocessing=prep)))
    rows = {"island": ["Dream", "Biscoe"], "mass": ["4100", "heavy"], "bill": [40.0, 41.0]}
    columns = {
        "island": np.array(rows["island"], object),
        "mass": np.array(rows["mass"], object),
        "bill": np.array(rows["bill"]),
    }
    expected = prep.transform(Table(list(columns), columns, "rows"))
    np.testing.assert_allclose(predictor["transform"](rows), expected, rtol=0, atol=1e-6)
