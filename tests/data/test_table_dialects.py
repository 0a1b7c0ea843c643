"""read_table's dialect options on generated and bundled files, both engines: decimal commas
(against pandas.read_csv(decimal=",") and the written floats), one-column files, expected
header names, ID columns kept as text, and scikit-learn's count rows (against its loaders)."""

from __future__ import annotations

import importlib.resources
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from nabla.data.table import read_table
from nabla.errors import DataError

from .test_table import ENGINES, error_of, read_both, write_rows

pd = pytest.importorskip("pandas")


def european_frame(rng: np.random.Generator, n: int) -> Any:
    """Floats of many magnitudes (NaN among them), integers, text and a class column."""
    x = rng.standard_normal(n) * 10.0 ** rng.integers(-4, 5, n)
    x[rng.random(n) < 0.1] = np.nan
    return pd.DataFrame(
        {
            "x": x,
            "y": rng.uniform(-1, 1, n),
            "count": rng.integers(-50, 50, n),
            "kind": rng.choice(["a b", "c", "d"], n),
        }
    )


@pytest.mark.parametrize("delimiter", [";", "\t", "|"])
def test_decimal_commas_read_as_pandas_reads_them(
    tmp_path: Path, rng: np.random.Generator, delimiter: str
) -> None:
    frame = european_frame(rng, 300)
    path = tmp_path / "eu.csv"
    frame.to_csv(path, sep=delimiter, decimal=",", index=False, na_rep="NA")
    assert "," in path.read_text() and "." not in path.read_text().split("\n", 1)[1]
    table = read_both(path)
    assert table.decimal == "," and table.has_header and table.delimiter == delimiter
    assert any("read decimal commas" in notice and "'x'" in notice for notice in table.notices)
    reference = pd.read_csv(path, sep=delimiter, decimal=",")
    for name in ("x", "y", "count"):
        assert table.is_numeric(name)
        np.testing.assert_array_equal(table.columns[name], reference[name].to_numpy(np.float64))
    np.testing.assert_array_equal(table.columns["x"], frame["x"].to_numpy())  # exact floats
    assert table.columns["kind"].tolist() == frame["kind"].tolist()
    # the mark is given back as read, and "." keeps such cells text
    assert read_both(path, decimal=",").columns["y"].tolist() == table.columns["y"].tolist()
    as_text = read_both(path, decimal=".")
    assert as_text.decimal == "." and not as_text.is_numeric("y") and not as_text.notices


@pytest.mark.parametrize("engine", ENGINES)
def test_decimal_comma_rules(tmp_path: Path, engine: str) -> None:
    # a column with a decimal point contradicts the comma: both marks stay as text is
    mixed = tmp_path / "mixed.csv"
    mixed.write_text("a;b\n1,5;2.5\n3,25;4\n")
    table = read_table(mixed, engine=engine)
    assert table.decimal == "." and table.columns["a"].tolist() == ["1,5", "3,25"]
    np.testing.assert_array_equal(table.columns["b"], [2.5, 4.0])
    # forced: a cell with a point is then text, as pandas.read_csv(decimal=",") reads it
    forced = read_table(mixed, engine=engine, decimal=",")
    np.testing.assert_array_equal(forced.columns["a"], [1.5, 3.25])
    assert forced.columns["b"].tolist() == ["2.5", "4"]
    assert pd.read_csv(mixed, sep=";", decimal=",")["b"].dtype.kind not in "fi"
    # integers only: no evidence, "."; a comma-delimited file never reads decimal commas
    integers = tmp_path / "int.csv"
    integers.write_text("a;b\n1;2\n3;4\n")
    assert read_table(integers, engine=engine).decimal == "."
    quoted = write_rows(tmp_path / "quoted.csv", [["a", "b"], ["1,5", "2"], ["3,5", "4"]])
    assert read_table(quoted, engine=engine).columns["a"].tolist() == ["1,5", "3,5"]
    assert "also the delimiter" in error_of(quoted, engine, decimal=",")
    # the header is found through decimal commas, missing cells and exponents
    header = tmp_path / "header.csv"
    header.write_text("w;h\n1,5;NA\n-2,5E-3;7\n")
    found = read_table(header, engine=engine)
    assert found.has_header and found.decimal == ","
    np.testing.assert_array_equal(found.columns["w"], [1.5, -0.0025])
    np.testing.assert_array_equal(found.columns["h"], [np.nan, 7.0])


def test_decimal_comma_exact_digits(tmp_path: Path, rng: np.random.Generator) -> None:
    values = rng.standard_normal(500) * 10.0 ** rng.integers(-30, 30, 500)
    cells = [repr(float(v)).replace(".", ",") for v in values]
    path = tmp_path / "digits.csv"
    path.write_text("v;w\n" + "".join(f"{c};{i}\n" for i, c in enumerate(cells)))
    table = read_both(path)
    np.testing.assert_array_equal(table.columns["v"], values)


@pytest.mark.parametrize("engine", ENGINES)
def test_one_column_files(tmp_path: Path, engine: str) -> None:
    path = tmp_path / "one.csv"
    path.write_text("value\n1.5\nNA\n2\n")
    assert "--delimiter" in error_of(path, engine)  # min_columns=2 by default
    table = read_both(path, min_columns=1)
    assert table.names == ["value"] and table.has_header
    np.testing.assert_array_equal(table.columns["value"], [1.5, np.nan, 2.0])
    semi = tmp_path / "semi.csv"
    semi.write_text("a;b\n1;2\n")
    assert "--delimiter ';'" in error_of(semi, engine, delimiter=",", min_columns=1)
    tabs = tmp_path / "tabs.csv"
    tabs.write_text("a\tb\n1\t2\n")
    assert "--delimiter '\\t'" in error_of(tabs, engine, delimiter=",", min_columns=1)
    with pytest.raises(DataError, match="min_columns"):
        read_table(path, min_columns=0)


@pytest.mark.parametrize("engine", ENGINES)
def test_expected_names_make_a_text_header(tmp_path: Path, engine: str) -> None:
    path = write_rows(tmp_path / "t.csv", [["name", "city", "x"], ["Ann", "Rome", "b"]])
    assert not read_table(path, engine=engine).has_header  # no numeric column to tell
    table = read_table(path, engine=engine, expect=["city", "name"])
    assert table.has_header and table.columns["city"].tolist() == ["Rome"]
    assert not read_table(path, engine=engine, expect=["city", "zip"]).has_header
    assert not read_table(path, engine=engine, expect=["city"], header=False).has_header


@pytest.mark.parametrize("engine", ENGINES)
def test_text_columns_keep_ids_as_written(tmp_path: Path, engine: str) -> None:
    rows = [["id", "x"], ["007", "1.50"], [" 1.50 ", "2"], ["NA", "3"], ["1e3", "4"]]
    path = write_rows(tmp_path / "ids.csv", rows)
    table = read_table(path, engine=engine, text=["id", "absent"])
    assert table.columns["id"].tolist() == ["007", "1.50", None, "1e3"]
    np.testing.assert_array_equal(table.columns["x"], [1.5, 2.0, 3.0, 4.0])
    assert read_table(path, engine=engine).is_numeric("id")
    headless = write_rows(tmp_path / "headless.csv", rows[1:])
    kept = read_table(headless, engine=engine, text=["col0"])
    assert kept.columns["col0"].tolist() == ["007", "1.50", None, "1e3"]
    assert read_table(path, engine=engine, text=("id",)).n_rows == 4


@pytest.mark.parametrize("engine", ENGINES)
def test_latin1_error_says_utf8(tmp_path: Path, engine: str) -> None:
    path = tmp_path / "latin.csv"
    path.write_bytes("city,x\nGenève,1\n".encode("latin-1"))
    message = error_of(path, engine)
    assert "not UTF-8 text" in message and "utf-8-sig" not in message


@pytest.mark.parametrize("name", ["iris", "wine_data", "breast_cancer"])
def test_scikit_learn_count_rows(name: str) -> None:
    datasets = pytest.importorskip("sklearn.datasets")
    path = importlib.resources.files("sklearn.datasets.data") / f"{name}.csv"
    loader = {"iris": "load_iris", "wine_data": "load_wine", "breast_cancer": "load_breast_cancer"}
    truth = getattr(datasets, loader[name])()
    with importlib.resources.as_file(path) as file:
        table = read_both(file)
    n, k = truth.data.shape
    assert table.names == [f"col{j}" for j in range(k + 1)] and not table.has_header
    X = np.column_stack([table.columns[f"col{j}"] for j in range(k)])
    np.testing.assert_array_equal(X, truth.data)
    np.testing.assert_array_equal(table.columns[f"col{k}"], truth.target)
    assert [table.line(i) for i in (0, n - 1)] == [2, n + 1]
    assert len(table.notices) == 1 and f"rows ({n})" in table.notices[0]
    assert all(str(c) in table.notices[0] for c in truth.target_names)


def test_count_rows_only_when_they_count(tmp_path: Path) -> None:
    rows = [["3", "2", "a", "b"], ["1.5", "2", "0"], ["", "3", "1"], ["4", "5", "1"]]
    path = write_rows(tmp_path / "counted.csv", rows)
    table = read_both(path)
    np.testing.assert_array_equal(table.columns["col0"], [1.5, np.nan, 4.0])
    assert [table.line(i) for i in range(3)] == [2, 3, 4]
    # a wrong count (also beyond the sample) leaves the file as it was read before
    wrong = write_rows(tmp_path / "wrong.csv", [["4", "2", "a", "b"], *rows[1:]])
    assert "row 2 has 3 cells, but row 1 has 4" in error_of(wrong, "numpy")
    body = [[f"{i}.5", "1", str(i % 2)] for i in range(20000)]
    long = write_rows(tmp_path / "long.csv", [["20001", "2", "a", "b"], *body])
    assert "row 2 has 3 cells" in error_of(long, "pandas")
    right = write_rows(tmp_path / "right.csv", [["20000", "2", "a", "b"], *body])
    assert read_both(right).n_rows == 20000
    # a class index beyond the names, or header=False, is no count row
    index = write_rows(tmp_path / "index.csv", [["1", "2", "a"], ["1", "2", "1"]])
    assert read_both(index).n_rows == 2
    assert "row 2 has 3 cells" in error_of(path, "numpy", header=False)


@pytest.mark.parametrize("engine", ENGINES)
def test_one_column_blank_lines_and_hidden_delimiters(tmp_path: Path, engine: str) -> None:
    path = tmp_path / "gaps.csv"
    path.write_text("value\n1\n\n2\n")
    table = read_table(path, engine=engine, min_columns=1)
    assert table.n_rows == 2 and [table.line(i) for i in range(2)] == [2, 4]
    assert any("write a missing value as NA" in notice for notice in table.notices)
    quoted = tmp_path / "quoted.csv"
    quoted.write_text('"a;b;c"\n"1;2;3"\n')  # a whole line quoted: not one column, surely
    assert "single column 'a;b;c'" in error_of(quoted, engine, delimiter=";", min_columns=1)


def test_predictor_reads_one_column_for_one_input(tmp_path: Path) -> None:
    import runpy

    import nabla as nb
    from nabla.predictor import write_predictor

    model = nb.nn.MLP([1, 2])
    path = write_predictor(model, tmp_path / "p.py", feature_names=["x"])
    predictor = runpy.run_path(str(path))
    rows = tmp_path / "rows.csv"
    rows.write_text("x\n0.5\n-2\n")
    X, ids = predictor["read_rows"](str(rows))
    np.testing.assert_array_equal(X, [[0.5], [-2.0]])
    assert ids is None
    two = runpy.run_path(
        str(write_predictor(nb.nn.MLP([2, 2]), tmp_path / "q.py", feature_names=["a", "b"]))
    )
    text = tmp_path / "text.csv"
    text.write_text("b,a\nfoo,bar\n")  # all text: the model's names make the header
    with pytest.raises(ValueError, match=r"row 2, column 'a'.*'bar'"):
        two["read_rows"](str(text))


def test_predictor_command_reads_decimal_commas(tmp_path: Path) -> None:
    import runpy

    import nabla as nb
    from nabla.predictor import write_predictor

    predictor = runpy.run_path(str(write_predictor(nb.nn.MLP([2, 2]), tmp_path / "p.py")))
    rows = tmp_path / "eu.csv"
    rows.write_text("col0;col1\n1,5;2\n-0,25;3,5\n")
    X, _ = predictor["read_rows"](str(rows), decimal=",")
    np.testing.assert_array_equal(X, [[1.5, 2.0], [-0.25, 3.5]])
    X, _ = predictor["read_rows"](str(rows))  # detected, as nabla predict does
    np.testing.assert_array_equal(X, [[1.5, 2.0], [-0.25, 3.5]])
    with pytest.raises(ValueError, match="'1,5'"):
        predictor["read_rows"](str(rows), decimal=".")  # a "." mark said: text
    assert predictor["_options"](["eu.csv", "--decimal", ","])[-1] == ","
    assert predictor["_options"](["eu.csv", "--decimal", ";"]) is None


@pytest.mark.parametrize("engine", ENGINES)
def test_headerless_semicolons_with_decimal_commas(tmp_path: Path, engine: str) -> None:
    path = tmp_path / "bare.csv"
    path.write_text("1,5;2,5;a\n3,25;4;b\n")  # the sniffer says "," (two commas a row)
    table = read_table(path, engine=engine)
    assert table.delimiter == ";" and table.decimal == "," and not table.has_header
    np.testing.assert_array_equal(table.columns["col0"], [1.5, 3.25])
    assert table.columns["col2"].tolist() == ["a", "b"]
    plain = tmp_path / "plain.csv"
    plain.write_text("1,5;2\n3,4;5\n")  # commas that split alike, and ";" cells of text
    assert read_table(plain, engine=engine, decimal=".").delimiter == ","
    assert read_table(plain, engine=engine).delimiter == ";"  # ambiguous: decimal commas
