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
    with pytest.raises(DataError, match="'a' appears 2 times"):
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


@pytest.mark.parametrize("value", ["nan", "inf", "-Infinity"])
def test_non_finite_feature_names_row_and_column(tmp_path: Path, value: str) -> None:
    path = write(tmp_path, f"a,b,y\n1,2,0\n3,4,1\n{value},5,0\n")
    message = f"{path}: row 4, column 'a' (index 0): value '{value}' is not finite"
    with pytest.raises(DataError, match=re.escape(message)):
        load_csv(path)


def test_non_finite_target_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"row 3, column 'y' \(index 2\): value 'nan' is not"):
        load_csv(write(tmp_path, "a,b,y\n1,2,0.5\n3,4,nan\n"))


def test_float32_overflow_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"row 2, column 'a' \(index 0\): value '1e39' overflows"):
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
    with pytest.raises(DataError, match="need at least one feature column"):
        load_csv(write(tmp_path, "y\n0\n1\n"))


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes("a,y\n1,caf\xe9\n".encode("latin-1"))
    with pytest.raises(DataError, match=re.escape(f"{path}: not UTF-8 text")):
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
