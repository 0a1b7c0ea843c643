"""load_csv on small files written to tmp_path; every error names the file, row and column."""

import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from nabla.data import load_csv, load_csv_features
from nabla.errors import DataError

IRIS_LIKE = """sepal_length,sepal_width,species
5.1,3.5,setosa
7.0,3.2,versicolor
6.3,3.3,virginica
4.9,3.0,setosa
"""


def write(tmp_path: Path, text: str, name: str = "data.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_header_and_string_labels(tmp_path: Path) -> None:
    path = write(tmp_path, IRIS_LIKE)
    data = load_csv(path)
    assert data.X.dtype == np.float32
    np.testing.assert_array_equal(data.X[1], np.array([7.0, 3.2], dtype=np.float32))
    assert data.feature_names == ["sepal_length", "sepal_width"]
    assert data.target_name == "species"
    assert data.class_names == ["setosa", "versicolor", "virginica"]
    assert data.y.dtype == np.int64
    assert data.y.tolist() == [0, 1, 2, 0]
    assert data.source == str(path)
    assert (data.n_samples, data.n_features, data.n_classes) == (4, 2, 3)
    assert data.is_classification
    assert data.X_test is None


def test_no_header_integer_labels_are_mapped_to_class_ids(tmp_path: Path) -> None:
    data = load_csv(write(tmp_path, "0.5,1,2\n1.5,2,1\n2.5,3,2\n"))
    assert data.feature_names == ["col0", "col1"]
    assert data.target_name == "col2"
    assert data.class_names == ["1", "2"]
    assert data.y.tolist() == [1, 0, 1]


def test_integer_valued_float_labels_are_classes(tmp_path: Path) -> None:
    path = tmp_path / "saved.csv"
    np.savetxt(path, np.array([[0.5, 0.0], [1.5, 1.0], [2.5, 0.0]]), delimiter=",")
    data = load_csv(path)
    assert data.class_names == ["0", "1"]
    assert data.y.tolist() == [0, 1, 0]


def test_float_target_is_regression(tmp_path: Path) -> None:
    data = load_csv(write(tmp_path, "x,price\n1,2.5\n2,3.25\n3,0.5\n"))
    assert data.class_names is None
    assert not data.is_classification
    assert data.n_classes == 0
    assert data.y.dtype == np.float32
    np.testing.assert_array_equal(data.y, [2.5, 3.25, 0.5])


def test_task_overrides_the_guess(tmp_path: Path) -> None:
    path = write(tmp_path, "x,count\n1,2\n2,3\n3,2\n")
    data = load_csv(path, task="regression")
    assert data.class_names is None
    np.testing.assert_array_equal(data.y, [2.0, 3.0, 2.0])
    with pytest.raises(DataError, match=r"needs class labels, but target 'price'"):
        load_csv(write(tmp_path, "x,price\n1,2.5\n2,3.5\n"), task="classification")


@pytest.mark.parametrize(("target", "expected_target"), [("b", "b"), (1, "b"), (-2, "b")])
def test_target_by_name_or_index(tmp_path: Path, target: str | int, expected_target: str) -> None:
    data = load_csv(write(tmp_path, "a,b,c\n1,0,3\n4,1,6\n"), target=target)
    assert data.target_name == expected_target
    assert data.feature_names == ["a", "c"]
    np.testing.assert_array_equal(data.X, [[1.0, 3.0], [4.0, 6.0]])
    assert data.y.tolist() == [0, 1]


def test_header_can_be_forced_either_way(tmp_path: Path) -> None:
    path = write(tmp_path, "1,2,label\n3,4,0\n5,6,1\n")
    data = load_csv(path, header=True)
    assert data.feature_names == ["1", "2"]
    assert data.n_samples == 2
    numbers = write(tmp_path, "1,2,0\n3,4,1\n", "numbers.csv")
    assert load_csv(numbers, header=False).n_samples == 2


def test_blank_lines_bom_spaces_and_other_delimiters(tmp_path: Path) -> None:
    path = tmp_path / "spaced.csv"
    path.write_bytes("\ufeffa; b; y\n\n1; 2; no\n  \n3; 4; yes\n".encode())
    data = load_csv(path, delimiter=";")
    assert data.feature_names == ["a", "b"]
    assert data.class_names == ["no", "yes"]
    np.testing.assert_array_equal(data.X, [[1.0, 2.0], [3.0, 4.0]])


def test_missing_file_and_folder(tmp_path: Path) -> None:
    missing = tmp_path / "nope.csv"
    with pytest.raises(DataError, match=re.escape(f"{missing}: file not found")):
        load_csv(missing)
    with pytest.raises(DataError, match="not a file"):
        load_csv(tmp_path)


@pytest.mark.parametrize("text", ["", "\n\n  \n"])
def test_empty_file(tmp_path: Path, text: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(DataError, match=re.escape(f"{path}: file is empty")):
        load_csv(path)


def test_header_without_rows(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="header row but no data rows"):
        load_csv(write(tmp_path, "a,b,label\n"))


def test_unknown_column_lists_the_columns(tmp_path: Path) -> None:
    with pytest.raises(
        DataError,
        match="no column named 'kind'; columns are: 'sepal_length', 'sepal_width', 'species'",
    ):
        load_csv(write(tmp_path, IRIS_LIKE), target="kind")


def test_bad_target_specs(tmp_path: Path) -> None:
    numbers = write(tmp_path, "1,2,0\n3,4,1\n")
    with pytest.raises(DataError, match=r"no header row; pass an index in 0\.\.2 or header=True"):
        load_csv(numbers, target="label")
    with pytest.raises(DataError, match=r"index 3 is out of range for 3 columns \(use 0..2 or "):
        load_csv(numbers, target=3)
    with pytest.raises(DataError, match="must be a column name, an int index or None"):
        load_csv(numbers, target=1.0)  # type: ignore[arg-type]
    # read_table refuses repeated header names (the target could not be named by them)
    with pytest.raises(DataError, match="the header repeats column name\\(s\\) 'a'"):
        load_csv(write(tmp_path, "a,a,y\n1,2,0\n3,4,1\n", "dup.csv"), target="a")
    with pytest.raises(DataError, match="header must be 'auto', True or False"):
        load_csv(numbers, header="yes")  # type: ignore[arg-type]


def test_ragged_row_names_its_row(tmp_path: Path) -> None:
    path = write(tmp_path, "a,b,y\n1,2,0\n\n3,4\n")
    with pytest.raises(DataError, match=re.escape(f"{path}: row 4 has 2 cells, but row 1 has 3")):
        load_csv(path)


def test_non_numeric_cell_names_row_column_and_value(tmp_path: Path) -> None:
    path = write(tmp_path, "a,b,y\n1,2,0\n3,4,1\n5,six,0\n7,x8,1\n")
    message = f"{path}: row 4, column 'b' (index 1): non-numeric value 'six'"
    with pytest.raises(DataError, match=re.escape(message)):
        load_csv(path)


def test_first_bad_cell_in_file_order_is_reported(tmp_path: Path) -> None:
    path = write(tmp_path, "1,2,0\n3,4,1\n5,oops,0\nbad,8,1\n")
    with pytest.raises(DataError, match=re.escape("row 3, column 1: non-numeric value 'oops'")):
        load_csv(path)


def test_numeric_header_cell_suggests_header_true(tmp_path: Path) -> None:
    path = write(tmp_path, "name,2020,y\n1,2,0\n3,4,1\n")
    with pytest.raises(
        DataError,
        match=r"row 1, column 0: non-numeric value 'name'; if this row "
        r"is a header, pass header=True",
    ):
        load_csv(path)


def test_empty_cell(tmp_path: Path) -> None:
    path = write(tmp_path, "a,b,y\n1,,0\n3,4,1\n")
    with pytest.raises(DataError, match=r"row 2, column 'b' \(index 1\): empty cell"):
        load_csv(path)
    with pytest.raises(DataError, match=r"row 3, column 'y' \(index 2\): empty cell"):
        load_csv(write(tmp_path, "a,b,y\n1,2,0\n3,4,\n", "no_label.csv"))


@pytest.mark.parametrize("value", ["inf", "-Infinity"])
def test_non_finite_feature_names_row_and_column(tmp_path: Path, value: str) -> None:
    path = write(tmp_path, f"a,b,y\n1,2,0\n3,4,1\n{value},5,0\n")
    message = f"{path}: row 4, column 'a': value '{value}' is infinite"  # read_table's words
    with pytest.raises(DataError, match=re.escape(message)):
        load_csv(path)


@pytest.mark.parametrize("value", ["nan", "NA", "?", "null"])
def test_missing_token_in_a_feature_names_row_column_and_token(tmp_path: Path, value: str) -> None:
    path = write(tmp_path, f"a,b,y\n1,2,0\n3,4,1\n{value},5,0\n")
    message = (
        f"{path}: row 4, column 'a' (index 0): missing value '{value}' (load_csv reads numbers "
        "only; nabla train and nabla.data.columns handle missing values)"
    )
    with pytest.raises(DataError, match=re.escape(message) + "$"):
        load_csv(path)


def test_non_finite_target_is_an_error(tmp_path: Path) -> None:
    # "nan" is a missing value to read_table (as to pandas.read_csv)
    with pytest.raises(DataError, match=r"row 3, column 'y' \(index 2\): missing value 'nan'"):
        load_csv(write(tmp_path, "a,b,y\n1,2,0.5\n3,4,nan\n"))
    with pytest.raises(DataError, match=r"row 3, column 'y': value 'inf' is infinite"):
        load_csv(write(tmp_path, "a,b,y\n1,2,0.5\n3,4,inf\n", "inf.csv"))


def test_missing_class_label_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, "a,y\n1,cat\n2,NA\n3,dog\n")
    message = (
        f"{path}: row 3, column 'y' (index 1): missing value 'NA' (load_csv needs a target in "
        "every row; nabla train leaves such rows out)"
    )
    with pytest.raises(DataError, match=re.escape(message)):
        load_csv(path)


def test_float32_overflow_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"row 2, column 'a': value '1e39' is beyond float32's"):
        load_csv(write(tmp_path, "a,y\n1e39,0\n2,1\n"))


def test_regression_with_text_target_names_the_cell(tmp_path: Path) -> None:
    path = write(tmp_path, IRIS_LIKE)
    with pytest.raises(
        DataError,
        match=r"row 2, column 'species' \(index 2\): non-numeric value "
        r"'setosa'",
    ):
        load_csv(path, task="regression")


def test_single_class_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, "a,y\n1,cat\n2,cat\n")
    with pytest.raises(
        DataError, match=re.escape(f"{path}: the target has a single class ('cat') in all 2 rows")
    ):
        load_csv(path)


def test_single_column_has_no_features(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="parsed into a single column 'y'"):
        load_csv(write(tmp_path, "y\n0\n1\n"))


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes("a,y\n1,caf\xe9\n".encode("latin-1"))
    with pytest.raises(DataError, match=re.escape(f"{path}: not ") + "(?i:utf-8(-sig)?) text"):
        load_csv(path)


def test_one_long_cell_does_not_multiply_memory(tmp_path: Path, peak_memory: Any) -> None:
    # 2,000 rows x 3 columns with one 4,000-character label: a fixed-width string array would
    # take 2000 * 3 * 4000 * 4 bytes = 96 MB for a 30 KB file
    long_label = "x" * 4000
    rows = ["a,b,label", f"0,0,{long_label}"] + [f"{i},{i % 5},short" for i in range(1, 2000)]
    path = write(tmp_path, "\n".join(rows) + "\n")
    assert path.stat().st_size < 40_000
    with peak_memory() as peak:
        data = load_csv(path)
    assert data.class_names == ["short", long_label]
    assert peak.bytes < 10 * path.stat().st_size + 2_000_000


def test_long_bad_cell_is_quoted_short(tmp_path: Path) -> None:
    path = write(tmp_path, "a,b,label\n1,2,0\n3," + "7x" * 5000 + ",1\n")
    with pytest.raises(DataError, match=r"'7x7x.*'\.\.\. \(10000 chars\)$") as info:
        load_csv(path)
    assert len(str(info.value)) < 200


def test_features_are_read_by_name_never_by_position(tmp_path: Path) -> None:
    names = ["a", "b", "c"]
    path = write(tmp_path, "c,label,a,b\n3,x,1,2\n6,y,4,5\n")
    np.testing.assert_array_equal(load_csv_features(path, names), [[1, 2, 3], [4, 5, 6]])
    # as many columns as the model has features, but one name differs: no positional fallback
    path = write(tmp_path, "a,b,z\n1,2,3\n4,5,6\n")
    message = f"{path}: its columns do not match the model's: missing column(s) 'c'; unknown"
    with pytest.raises(DataError, match=re.escape(message)):
        load_csv_features(path, names)
    # without a header, the columns are the model's, in order
    path = write(tmp_path, "1,2,3\n4,5,6\n")
    np.testing.assert_array_equal(load_csv_features(path, names), [[1, 2, 3], [4, 5, 6]])


def test_generated_target_name_on_a_file_without_header(tmp_path: Path) -> None:
    path = write(tmp_path, "0,1,2\n0,5,3\n1,7,2\n")
    data = load_csv(path, target="col0")  # the name load_csv gave that column
    assert data.target_name == "col0"
    assert data.feature_names == ["col1", "col2"]


def test_delimiter_is_detected_by_default(tmp_path: Path) -> None:
    path = write(tmp_path, "a;b;y\n1,5;2;0\n3;4;1\n".replace("1,5", "1.5"))
    data = load_csv(path)
    assert data.feature_names == ["a", "b"]
    np.testing.assert_array_equal(data.X, [[1.5, 2.0], [3.0, 4.0]])
    np.testing.assert_array_equal(load_csv_features(path, ["b", "a"]), [[2, 1.5], [4, 3]])


@pytest.mark.parametrize("cell", ["1_000", "\u0661", "0x10", "1,5"])
def test_cells_pandas_does_not_read_as_numbers_are_text(tmp_path: Path, cell: str) -> None:
    # Python's float() reads "1_000" and Arabic-Indic digits; pandas.read_csv does not
    pd = pytest.importorskip("pandas")
    path = write(tmp_path, f'a,b,y\n1,2,0\n3,"{cell}",1\n')
    assert not pd.api.types.is_numeric_dtype(pd.read_csv(path)["b"])
    message = f"{path}: row 3, column 'b' (index 1): non-numeric value {cell!r}"
    with pytest.raises(DataError, match=re.escape(message)):
        load_csv(path)


def test_features_missing_and_text_cells_are_errors(tmp_path: Path) -> None:
    path = write(tmp_path, "a,b,y\n1,2,0\n3,N/A,1\n")
    with pytest.raises(DataError, match=r"row 3, column 'b' \(index 1\): missing value 'N/A'"):
        load_csv_features(path, ["a", "b"])
    path = write(tmp_path, "1,2\n3,x\n", "no_header.csv")
    with pytest.raises(DataError, match=re.escape(f"{path}: row 2, column 1: non-numeric")):
        load_csv_features(path, ["a", "b"], header=False)
    with pytest.raises(DataError, match="has 2 columns, but the model expects 3 features"):
        load_csv_features(path, ["a", "b", "c"], header=False)


def dialect_file(
    tmp_path: Path, rng: np.random.Generator, delimiter: str, bom: bool, blank: bool
) -> Path:
    """A generated file of 4 numeric columns and a text label: numbers in many spellings, some
    quoted, labels with the delimiter and quotes inside, blank lines, and optionally a BOM."""
    n = 300
    values = rng.normal(size=(n, 4)) * 10.0 ** rng.integers(-3, 4, size=(n, 4))
    values[:, 3] = rng.integers(-5, 5, size=n)  # integers
    spell = ["{:.6g}", "{:.3e}", "{!r}", "{:.2f}"]
    labels = ["a", f"b{delimiter}c", 'say "hi"', " spaced"]
    lines = [delimiter.join(["x0", '"x 1"', "x2", "x3", "label"])]
    for i in range(n):
        cells = [spell[(i + j) % 4].format(float(v)) for j, v in enumerate(values[i])]
        cells = [f'"{cell}"' if (i + j) % 5 == 0 else cell for j, cell in enumerate(cells)]
        label = labels[i % 4].replace('"', '""')
        cells.append(f'"{label}"')
        lines.append(delimiter.join(cells))
        if blank and i % 7 == 0:
            lines.append("")
    path = tmp_path / "dialect.csv"
    path.write_text(("\ufeff" if bom else "") + "\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("delimiter", "bom", "blank"), [(",", False, False), (";", True, True), ("\t", False, True)]
)
def test_numbers_equal_pandas_read_csv(
    tmp_path: Path, rng: np.random.Generator, delimiter: str, bom: bool, blank: bool
) -> None:
    pd = pytest.importorskip("pandas")
    path = dialect_file(tmp_path, rng, delimiter, bom, blank)
    data = load_csv(path, target="label")  # the delimiter is detected
    exact = {"float_precision": "round_trip"} if pd.__version__ < "3" else {}  # 3: the default
    frame = pd.read_csv(path, sep=delimiter, encoding="utf-8-sig", **exact)
    assert data.feature_names == ["x0", "x 1", "x2", "x3"] == list(frame.columns[:4])
    np.testing.assert_array_equal(data.X, frame.iloc[:, :4].to_numpy(np.float32))
    assert data.class_names is not None
    labels = frame["label"].str.strip().to_numpy()  # load_csv strips cells
    assert data.class_names == sorted(set(labels))
    np.testing.assert_array_equal(np.asarray(data.class_names)[data.y], labels)
    np.testing.assert_array_equal(load_csv_features(path, data.feature_names), data.X)


@pytest.mark.parametrize("engine", ["pandas", "numpy"])
def test_load_csv_agrees_with_read_table(
    tmp_path: Path, rng: np.random.Generator, monkeypatch: pytest.MonkeyPatch, engine: str
) -> None:
    from nabla.data import read_table, table

    if engine == "pandas":
        pytest.importorskip("pandas")
    else:  # load_csv's own read takes the NumPy-only engine too
        monkeypatch.setattr(table, "_pandas_installed", lambda: False)
    path = dialect_file(tmp_path, rng, ";", bom=True, blank=True)
    read = read_table(path, engine=engine)  # type: ignore[arg-type]
    data = load_csv(path)
    features = read.names[:-1]
    assert data.feature_names == features and data.target_name == "label"
    expected = np.stack([read.columns[name] for name in features], axis=1).astype(np.float32)
    np.testing.assert_array_equal(data.X, expected)
    assert data.class_names is not None
    np.testing.assert_array_equal(np.asarray(data.class_names)[data.y], read.columns["label"])
    np.testing.assert_array_equal(load_csv_features(path, features[::-1]), expected[:, ::-1])


def test_decimal_commas_as_read_table_reads_them(tmp_path: Path) -> None:
    pd = pytest.importorskip("pandas")
    path = write(tmp_path, "a;b;y\n1,5;2;0\n3,25;4;1\n-2,0;6;1\n")
    data = load_csv(path)
    expected = pd.read_csv(path, sep=";", decimal=",")[["a", "b"]].to_numpy(np.float32)
    np.testing.assert_array_equal(data.X, expected)
    # with decimal commas, "3.5" is text (as for pandas.read_csv(decimal=",")): that cell is
    # named, not the "6,5" before it
    path = write(tmp_path, "a;b;y\n1,5;2;0\n3,25;4;1\n2;6,5;1\n7;3.5;0\n", "mixed.csv")
    assert not pd.api.types.is_numeric_dtype(pd.read_csv(path, sep=";", decimal=",")["b"])
    message = f"{path}: row 5, column 'b' (index 1): non-numeric value '3.5'"
    with pytest.raises(DataError, match=re.escape(message)):
        load_csv(path)


def test_a_header_of_the_models_names_is_a_header(tmp_path: Path) -> None:
    # numbers as names: the header rule alone would read the first row as data
    pd = pytest.importorskip("pandas")
    path = write(tmp_path, "2021,y,2020\n1.5,0,2\n3,1,4\n")
    names = ["2020", "2021"]
    expected = pd.read_csv(path)[names].to_numpy(np.float32)
    np.testing.assert_array_equal(load_csv_features(path, names), expected)
