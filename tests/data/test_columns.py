"""Preprocessing of raw tables: fitted on training rows only, checked against scikit-learn/pandas."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest

from nabla.data import StandardScaler
from nabla.data.columns import ColumnOptions, Preprocessing, choose_columns
from nabla.data.table import Table
from nabla.errors import DataError

sklearn = pytest.importorskip("sklearn")
from sklearn.impute import SimpleImputer
from sklearn.preprocessing import OneHotEncoder


def _table(rng: np.random.Generator, n: int = 120) -> Table:
    """Two numeric columns with NaN, two text columns with None, a target."""
    age = rng.normal(40.0, 12.0, n)
    age[rng.random(n) < 0.25] = np.nan
    fare = rng.exponential(30.0, n)
    fare[rng.random(n) < 0.1] = np.nan
    island = np.array(rng.choice(["Biscoe", "Dream", "Torgersen"], n), dtype=object)
    island[rng.random(n) < 0.15] = None
    sex = np.array(rng.choice(["male", "female"], n), dtype=object)
    columns = {"age": age, "fare": fare, "island": island, "sex": sex, "y": rng.normal(size=n)}
    return Table(list(columns), columns, "people.csv")


def _fit(table: Table, rows: Any, **options: Any) -> Preprocessing:
    opts = ColumnOptions(**options)
    return Preprocessing.fit(table, rows, choose_columns(table, "y", opts), opts)


@pytest.mark.parametrize("strategy", ["median", "mean"])
def test_numeric_part_matches_simple_imputer_and_scaler_fitted_on_training_rows(
    rng: np.random.Generator, strategy: str
) -> None:
    table = _table(rng)
    train = rng.permutation(table.n_rows)[:80]
    raw = np.column_stack([table.columns["age"], table.columns["fare"]])
    imputer = SimpleImputer(strategy=strategy, add_indicator=True).fit(raw[train])
    expected = imputer.transform(raw)  # [age, fare, age_missing, fare_missing]
    plain = _fit(table, train, impute=strategy, indicators=True, standardize=False)
    X = plain.transform(table)
    names = plain.feature_names
    for k, name in enumerate(["age", "fare", "age_missing", "fare_missing"]):
        np.testing.assert_allclose(X[:, names.index(name)], expected[:, k], rtol=1e-6)
    # the fill comes from the training rows only (never from the others)
    fills = {c["name"]: c["fill"] for c in plain.to_dict()["columns"] if c["kind"] == "numeric"}
    reduce = np.nanmedian if strategy == "median" else np.nanmean
    assert fills["age"] == pytest.approx(reduce(table.columns["age"][train]), rel=1e-14)
    assert fills["age"] != reduce(table.columns["age"])
    # standardised: the scikit-learn StandardScaler of the imputed training values
    from sklearn.preprocessing import StandardScaler as SkScaler

    scaled = _fit(table, train, impute=strategy).transform(table)
    reference = SkScaler().fit(expected[train, :2]).transform(expected[:, :2])
    np.testing.assert_allclose(scaled[:, :1], reference[:, :1], rtol=1e-5, atol=1e-6)
    assert scaled.dtype == np.float32


def test_one_hot_matches_scikit_learn_with_unknown_and_missing_as_zeros(
    rng: np.random.Generator,
) -> None:
    table = _table(rng)
    train = np.arange(60)
    island = table.columns["island"].copy()
    island[70] = "Atlantis"  # unknown: all zeros
    table.columns["island"] = island
    prep = _fit(table, train)
    X = prep.transform(table)
    cells = np.where(np.equal(island, None), "(missing)", island).astype(str)[:, None]
    encoder = OneHotEncoder(handle_unknown="ignore").fit(cells[train])
    expected = encoder.transform(cells).toarray()
    categories = [str(c) for c in encoder.categories_[0]]
    for k, category in enumerate(categories):
        if category != "(missing)":
            np.testing.assert_array_equal(
                X[:, prep.feature_names.index(f"island={category}")], expected[:, k]
            )
    assert [n for n in prep.feature_names if n.startswith("island=")] == [
        f"island={c}" for c in sorted(c for c in categories if c != "(missing)")
    ]
    assert X[70, [i for i, n in enumerate(prep.feature_names) if "island=" in n]].sum() == 0


def test_one_hot_matches_pandas_get_dummies(rng: np.random.Generator) -> None:
    pd = pytest.importorskip("pandas")
    table = _table(rng)
    prep = _fit(table, np.arange(table.n_rows), indicators=True)
    X = prep.transform(table)
    dummies = pd.get_dummies(pd.Series(table.columns["sex"]), prefix="sex", prefix_sep="=")
    for name in dummies.columns:
        np.testing.assert_array_equal(X[:, prep.feature_names.index(name)], dummies[name])
    missing = np.equal(table.columns["island"], None).astype(np.float32)
    np.testing.assert_array_equal(X[:, prep.feature_names.index("island_missing")], missing)


def test_categories_come_from_training_rows_only() -> None:
    island = np.array(["A", "B", "A", "C", "B", "A"], dtype=object)
    table = Table(["island", "y"], {"island": island, "y": np.zeros(6)}, "t.csv")
    prep = _fit(table, np.array([0, 1, 2, 4]))
    assert prep.feature_names == ["island=A", "island=B"]
    assert prep.transform(table)[3].tolist() == [0.0, 0.0]  # "C" was never seen in training


def test_json_round_trip_is_bitwise(rng: np.random.Generator) -> None:
    table = _table(rng)
    prep = _fit(table, np.arange(90), indicators=True)
    text = json.dumps(prep.to_dict())
    again = Preprocessing.from_dict(json.loads(text))
    assert again.to_dict() == prep.to_dict() and json.dumps(again.to_dict()) == text
    np.testing.assert_array_equal(again.transform(table), prep.transform(table))
    assert again.feature_names == prep.feature_names and again.n_features == prep.n_features
    assert again.input_columns == ["age", "fare", "island", "sex"]


def test_standardisation_reuses_standard_scaler_rule_on_numeric_columns_only() -> None:
    constant = np.full(8, 5.0)
    x = np.arange(8.0)
    kind = np.array(list("abababab"), dtype=object)
    table = Table(["c", "x", "k", "y"], {"c": constant, "x": x, "k": kind, "y": x}, "t.csv")
    prep = _fit(table, np.arange(8))
    doc = prep.to_dict()
    scaler = StandardScaler().fit(np.column_stack([constant, x]))
    assert doc["mean"] == [*scaler.mean_.tolist(), 0.0, 0.0]
    assert doc["scale"] == [*scaler.scale_.tolist(), 1.0, 1.0]  # constant: scale 1
    np.testing.assert_array_equal(
        prep.transform(table)[:, :2], scaler.transform(np.column_stack([constant, x]))
    )


def test_detection_excludes_ids_dates_free_text_and_all_missing_with_notices(
    rng: np.random.Generator,
) -> None:
    n = 300
    columns: dict[str, Any] = {
        "PassengerId": np.arange(1.0, n + 1),
        "name": np.array([f"person {i}" for i in range(n)], dtype=object),
        "when": np.array([f"2021-03-{1 + i % 28:02d} 10:{i % 60:02d}" for i in range(n)], object),
        "us_date": np.array([f"{1 + i % 12:02d}/04/2021" for i in range(n)], dtype=object),
        "ticket": np.array([f"T{i % 200}" for i in range(n)], dtype=object),
        "empty": np.full(n, np.nan),
        "counter": rng.permutation(n).astype(float),  # looks like a row number, not named so
        "constant": np.ones(n),
        "city": np.array(rng.choice(["x", "y"], n), dtype=object),
        "y": rng.normal(size=n),
    }
    table = Table(list(columns), columns, "t.csv")
    choice = choose_columns(table, "y", ColumnOptions())
    assert choice.features == ["counter", "constant", "city"]
    assert choice.kinds == {"counter": "numeric", "constant": "numeric", "city": "categorical"}
    for name in ("PassengerId", "name", "when", "us_date", "ticket", "empty"):
        (notice,) = [line for line in choice.notices if f"excluded {name!r}" in line]
        assert "\n" not in notice
    assert choice.excluded["PassengerId"] == "it numbers the rows (an ID)"  # 1..n, an ID name
    assert "unique per row" in choice.excluded["name"]
    assert choice.excluded["when"] == choice.excluded["us_date"] == "dates or times"
    assert "free text" in choice.excluded["ticket"] and choice.excluded["empty"] == "all missing"
    assert any("'counter'" in line and "--drop counter" in line for line in choice.notices)
    # --features keeps what the rules would exclude; --drop and --id exclude silently
    kept = choose_columns(table, "y", ColumnOptions(features=("PassengerId", "name")))
    assert kept.features == ["PassengerId", "name"] and not kept.notices
    other = choose_columns(table, "y", ColumnOptions(drop=("city",), id_column="counter"))
    assert other.features == ["constant"] and "city" in other.excluded


def test_numeric_column_that_is_not_an_id_is_kept() -> None:
    values = np.array([3.0, 1.0, 7.0, 12.0, 5.0, 9.0, 2.0, 30.0, 8.0, 4.0, 6.0, 11.0])
    table = Table(["id_like", "y"], {"id_like": values, "y": values}, "t.csv")
    assert choose_columns(table, "y", ColumnOptions()).features == ["id_like"]
    table = Table(["id", "y"], {"id": values, "y": values}, "t.csv")
    with pytest.raises(DataError, match="no feature column left"):
        choose_columns(table, "y", ColumnOptions())


@pytest.mark.parametrize(
    ("options", "fragments"),
    [
        (ColumnOptions(drop=("nope", "also")), ["--drop", "'nope', 'also'", "'age'"]),
        (ColumnOptions(features=("agee",)), ["--features", "'agee'"]),
        (ColumnOptions(id_column="ID"), ["--id", "'ID'"]),
    ],
)
def test_unknown_names_are_one_line_errors(
    rng: np.random.Generator, options: ColumnOptions, fragments: list[str]
) -> None:
    with pytest.raises(DataError) as info:
        choose_columns(_table(rng), "y", options)
    message = str(info.value)
    assert "\n" not in message and message.startswith("people.csv: ")
    for fragment in fragments:
        assert fragment in message


def _error(call: Any) -> str:
    with pytest.raises(DataError) as info:
        call()
    message = str(info.value)
    assert "\n" not in message, message
    return message


def test_transform_errors_name_the_file_row_column_and_value(rng: np.random.Generator) -> None:
    table = _table(rng)
    prep = _fit(table, np.arange(100))
    absent = Table(
        ["age", "sex"], {"age": np.ones(2), "sex": np.array(["a", "b"], object)}, "new.csv"
    )
    assert "new.csv: missing column(s) 'fare', 'island'" in _error(lambda: prep.transform(absent))
    # a numeric column that arrives as text
    text = {name: table.columns[name][:3].copy() for name in table.names}
    text["age"] = np.array(["31", None, "old"], dtype=object)
    bad = Table(table.names, text, "new.csv")
    assert _error(lambda: prep.transform(bad)) == (
        "new.csv: row 4, column 'age': non-numeric value 'old' in a numeric column"
    )
    text["age"] = np.array(["31", None, "7.5"], dtype=object)  # numbers as text are fine
    assert prep.transform(Table(table.names, text, "new.csv")).shape == (3, prep.n_features)
    # --strict: an unknown category is an error
    strict = _fit(table, np.arange(100), strict=True)
    text["island"] = np.array(["Dream", "Atlantis", None], dtype=object)
    message = _error(lambda: strict.transform(Table(table.names, text, "new.csv")))
    assert message.startswith("new.csv: row 3, column 'island': unknown category 'Atlantis'")
    # infinite or float32-overflowing numbers
    text["age"] = np.array([1.0, np.inf, 1e39])
    assert "row 3, column 'age': value inf is not finite" in _error(
        lambda: prep.transform(Table(table.names, text, "new.csv"))
    )
    text["age"] = np.array([1.0, 2.0, 1e39])
    assert "row 4, column 'age': value 1e+39 overflows float32" in _error(
        lambda: prep.transform(Table(table.names, text, "new.csv"))
    )


def test_impute_drop_refuses_missing_cells_and_names_rows_to_drop(
    rng: np.random.Generator,
) -> None:
    table = _table(rng)
    options = ColumnOptions(impute="drop")
    choice = choose_columns(table, "y", options)
    drop = choice.rows_with_missing(table)
    expected = np.zeros(table.n_rows, bool)
    for name in ("age", "fare"):  # numbers only: a missing text cell is all zeros
        expected |= table.missing(name)
    np.testing.assert_array_equal(drop, expected)
    assert "rows_with_missing" in _error(
        lambda: Preprocessing.fit(table, np.arange(table.n_rows), choice, options)
    )
    prep = Preprocessing.fit(table, np.flatnonzero(~drop), choice, options)
    np.testing.assert_array_equal(prep.rows_with_missing(table), drop)
    row = int(np.flatnonzero(drop)[0])
    column = next(n for n in ("age", "fare") if table.missing(n)[row])
    message = _error(lambda: prep.transform(table))
    assert message.startswith(f"people.csv: row {row + 2}, column {column!r}: missing value")


def test_a_text_column_read_as_numbers_is_compared_numerically() -> None:
    codes = np.array(["1", "2", "10", "x", "2"], dtype=object)
    table = Table(["code", "y"], {"code": codes, "y": np.zeros(5)}, "t.csv")
    prep = _fit(table, np.arange(5))
    numeric = Table(["code"], {"code": np.array([2.0, 10.0, np.nan, 3.0])}, "new.csv")
    X = prep.transform(numeric)
    names = prep.feature_names
    assert X[0, names.index("code=2")] == 1 and X[1, names.index("code=10")] == 1
    assert X[2].sum() == 0 and X[3].sum() == 0


def test_describe_and_legacy(rng: np.random.Generator) -> None:
    table = _table(rng)
    prep = _fit(table, np.arange(100), indicators=True)
    summary = prep.describe()
    assert summary["numeric"] == ["age", "fare"]
    assert summary["categorical"] == {"island": 3, "sex": 2}
    n_missing = int(np.isnan(table.columns["age"][:100]).sum())
    assert summary["imputed"]["age"] == (
        n_missing,
        float(np.nanmedian(table.columns["age"][:100])),
    )
    assert summary["indicators"] == ["age_missing", "fare_missing", "island_missing"]
    X = rng.normal(3.0, 2.0, size=(10, 3))
    scaler = StandardScaler().fit(X)
    legacy = Preprocessing.from_legacy(["a", "b", "c"], scaler.to_dict())
    raw = Table.from_matrix(X, ["a", "b", "c"])
    np.testing.assert_array_equal(legacy.transform(raw), scaler.transform(X))
    unnamed = Preprocessing.from_legacy([], scaler.to_dict())
    assert unnamed.input_columns == ["col0", "col1", "col2"]
    assert "pass n_features" in _error(lambda: Preprocessing.from_legacy([], None))
    assert Preprocessing.from_legacy([], None, n_features=2).input_columns == ["col0", "col1"]
    raw.columns["b"][4] = np.nan
    assert "array: row 6, column 'b': missing value" in _error(lambda: legacy.transform(raw))


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        (lambda d: d.pop("columns"), "missing key(s) columns"),
        (lambda d: d.update(version=99), "version 99"),
        (lambda d: d["columns"][0].update(kind="date"), "kind 'date'"),
        (lambda d: d["columns"][0].update(fill="x"), "'fill' must be a finite number"),
        (lambda d: d["scale"].__setitem__(0, 0.0), "'scale' must be finite and positive"),
        (lambda d: d["mean"].pop(), "'mean' must be a list of"),
        (lambda d: d["feature_names"].reverse(), "'feature_names' do not match"),
        (lambda d: d["columns"][2].update(categories=[1, 2]), "list of strings"),
    ],
)
def test_a_bad_document_is_a_one_line_error(
    rng: np.random.Generator, change: Any, fragment: str
) -> None:
    document = _fit(_table(rng), np.arange(50)).to_dict()
    change(document)
    message = _error(lambda: Preprocessing.from_dict(document))
    assert message.startswith("invalid preprocessing document: ") and fragment in message
    assert "invalid preprocessing document: expected a JSON object" in _error(
        lambda: Preprocessing.from_dict([1, 2])
    )
