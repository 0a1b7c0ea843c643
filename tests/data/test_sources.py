"""load_npz, load_builtin, load_data dispatch and the shared target checks."""

import io
import re
import sys
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from nabla.data import (
    BUILTIN_DATASETS,
    TabularData,
    check_classification_target,
    load_builtin,
    load_data,
    load_npz,
)
from nabla.data.tabular import encode_target
from nabla.errors import DataError


def write_npz(tmp_path: Path, name: str = "data.npz", **arrays: np.ndarray) -> Path:
    path = tmp_path / name
    np.savez(path, **arrays)  # type: ignore[arg-type]
    return path


def test_load_npz_with_either_feature_key(tmp_path: Path) -> None:
    X = np.arange(8, dtype=np.float64).reshape(4, 2)
    for key in ("X", "x"):
        path = write_npz(tmp_path, f"{key}.npz", **{key: X, "y": np.array([1, 0, 1, 0])})
        data = load_npz(path)
        assert data.X.dtype == np.float32
        np.testing.assert_array_equal(data.X, X)
        assert data.y.tolist() == [1, 0, 1, 0]
        assert data.class_names == ["0", "1"]
        assert data.feature_names == ["x0", "x1"]
        assert data.target_name == "y"


def test_load_npz_custom_keys_feature_names_and_regression(tmp_path: Path) -> None:
    path = write_npz(
        tmp_path,
        features=np.ones((3, 2)),
        price=np.array([0.5, 1.5, 2.25]),
        feature_names=np.array(["rooms", "area"]),
    )
    data = load_npz(path, x_key="features", y_key="price")
    assert data.feature_names == ["rooms", "area"]
    assert data.class_names is None
    assert data.y.dtype == np.float32


def test_load_npz_missing_key_lists_the_keys(tmp_path: Path) -> None:
    path = write_npz(tmp_path, data=np.ones((2, 2)), labels=np.array([0, 1]))
    message = f"{path}: no features array named 'X'; arrays present: 'data', 'labels'"
    with pytest.raises(DataError, match=re.escape(message)):
        load_npz(path)
    with pytest.raises(DataError, match=re.escape("no target array named 'y'; arrays present")):
        load_npz(path, x_key="data")


def test_load_npz_shape_and_value_errors(tmp_path: Path) -> None:
    path = write_npz(tmp_path, X=np.ones((3, 2)), y=np.array([0, 1]))
    with pytest.raises(DataError, match=r"'X' has shape \(3, 2\) and 'y' has shape \(2,\)"):
        load_npz(path)
    path = write_npz(tmp_path, "flat.npz", X=np.ones(3), y=np.array([0, 1, 0]))
    with pytest.raises(DataError, match=r"'X' must be a 2-D numeric array, got shape \(3,\)"):
        load_npz(path)
    X = np.ones((3, 2))
    X[2, 1] = np.inf
    path = write_npz(tmp_path, "inf.npz", X=X, y=np.array([0, 1, 0]))
    with pytest.raises(DataError, match=re.escape(r"X[2, 1] = inf is not finite")):
        load_npz(path)
    with pytest.raises(DataError, match="file not found"):
        load_npz(tmp_path / "absent.npz")
    broken = tmp_path / "broken.npz"
    broken.write_bytes(b"not a zip archive")
    with pytest.raises(DataError, match=re.escape(f"{broken}: not a readable .npz archive")):
        load_npz(broken)


def test_load_data_dispatches_on_the_spec(tmp_path: Path) -> None:
    csv_path = tmp_path / "table.csv"
    csv_path.write_text("a,b,label\n1,0,x\n2,1,y\n")
    assert load_data(csv_path).class_names == ["x", "y"]
    assert load_data(str(csv_path), target="label").target_name == "label"
    numbers = tmp_path / "numbers.csv"
    numbers.write_text("1,0,5\n2,1,6\n")
    assert load_data(numbers, target=1).target_name == "col1"
    npz_path = write_npz(tmp_path, X=np.ones((2, 1)), y=np.array([0, 1]), z=np.array([1, 0]))
    assert load_data(npz_path).target_name == "y"
    assert load_data(npz_path, target="z").y.tolist() == [1, 0]


def test_load_data_errors(tmp_path: Path) -> None:
    with pytest.raises(
        DataError,
        match=r"mnist: no such file or folder, and not a built-in data "
        r"set \(digits, iris, wine, breast_cancer\)",
    ):
        load_data("mnist")
    with pytest.raises(DataError, match=re.escape(f"{tmp_path / 'gone.csv'}: file not found")):
        load_data(tmp_path / "gone.csv")
    other = tmp_path / "table.xlsx"
    other.write_text("")
    with pytest.raises(DataError, match=r"unsupported file type '.xlsx'; expected a .csv or .npz"):
        load_data(other)
    with pytest.raises(DataError, match="expected a data-set name or a path, got int"):
        load_data(3)  # type: ignore[arg-type]
    with pytest.raises(DataError, match="does not apply to built-in data set 'iris'"):
        load_data("iris", target=0)


@pytest.mark.parametrize(
    ("name", "shape", "n_classes"), [("digits", (1797, 64), 10), ("iris", (150, 4), 3)]
)
def test_builtin_datasets(name: str, shape: tuple[int, int], n_classes: int) -> None:
    pytest.importorskip("sklearn")
    data = load_builtin(name)
    assert data.X.shape == shape
    assert data.X.dtype == np.float32
    assert data.y.dtype == np.int64
    assert data.n_classes == n_classes
    assert len(data.feature_names) == shape[1]
    assert data.source == f"sklearn:{name}"
    assert load_data(name.upper()).X.shape == shape


def test_builtin_other_names_and_spellings() -> None:
    pytest.importorskip("sklearn")
    assert load_builtin("Breast-Cancer").class_names == ["malignant", "benign"]
    assert load_builtin("wine").n_classes == 3


def test_unknown_builtin_lists_the_valid_names() -> None:
    with pytest.raises(DataError, match="choose one of: digits, iris, wine, breast_cancer"):
        load_builtin("cifar10")
    assert BUILTIN_DATASETS == ("digits", "iris", "wine", "breast_cancer")


def test_missing_sklearn_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "sklearn", None)
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    with pytest.raises(DataError, match=re.escape("pip install nabla[sklearn]")):
        load_builtin("iris")


def test_check_classification_target() -> None:
    check_classification_target(np.array(["a", "b"]))
    with pytest.raises(DataError, match=r"^toy: the target has a single class \('a'\) in all 3"):
        check_classification_target(np.array(["a", "a", "a"]), source="toy")
    with pytest.raises(DataError, match=r"must be 1-D, got shape \(2, 1\)"):
        check_classification_target(np.zeros((2, 1)))
    with pytest.raises(DataError, match="the target is empty"):
        check_classification_target([])


def test_encode_target_rules() -> None:
    y, names = encode_target(np.array([True, False, True]))
    assert (y.tolist(), names) == ([1, 0, 1], ["False", "True"])
    y, names = encode_target(np.array([10, 30, 20]))
    assert (y.tolist(), names) == ([0, 2, 1], ["10", "20", "30"])
    with pytest.raises(
        DataError, match="needs a numeric target, but column 'kind' holds text such as 'a'"
    ):
        encode_target(np.array(["a", "b"]), "regression", column="kind")
    with pytest.raises(DataError, match=r"non-finite value \(nan\) at index 1"):
        encode_target(np.array([0.0, np.nan]))
    with pytest.raises(DataError, match="task must be one of auto, classification, regression"):
        encode_target(np.array([0, 1]), "ranking")


def test_tabular_data_properties() -> None:
    data = TabularData(np.zeros((4, 3), np.float32), np.zeros(4), ["a", "b", "c"], "t", None, "s")
    assert (data.n_samples, data.n_features, data.n_classes) == (4, 3, 0)
    assert not data.is_classification


def _lying_npz(path: Path, shape: tuple[int, ...]) -> Path:
    """An archive whose X.npy header claims `shape` of float64 but holds 16 bytes of data."""
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<f8", "fortran_order": False, "shape": shape}
    )
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("X.npy", header.getvalue() + bytes(16))
        labels = io.BytesIO()
        np.save(labels, np.array([0, 1]))
        archive.writestr("y.npy", labels.getvalue())
    return path


@pytest.mark.parametrize("shape", [(10**7, 10**7), (10**6, 100)], ids=["800TB", "800MB"])
def test_npz_header_claiming_more_than_the_archive_holds(
    tmp_path: Path, shape: tuple, peak_memory: Any
) -> None:
    path = _lying_npz(tmp_path / "lie.npz", shape)
    assert path.stat().st_size < 600
    with (
        peak_memory() as peak,
        pytest.raises(DataError, match=r"'X' claims shape .* holds 16 bytes of data$"),
    ):
        load_npz(path)
    assert peak.bytes < 1_000_000


def test_npz_reads_only_the_arrays_it_needs(tmp_path: Path) -> None:
    path = tmp_path / "extra.npz"
    np.savez(path, X=np.eye(2), y=np.array([0, 1]), notes=np.array([None], dtype=object))
    assert load_npz(path).X.shape == (2, 2)  # the object array is never unpickled
    np.savez(path, X=np.array([[1, "a"]], dtype=object), y=np.array([0]))
    with pytest.raises(DataError, match="'X' holds Python objects"):
        load_npz(path)


def test_npz_fortran_order_and_big_endian(tmp_path: Path) -> None:
    X = np.asfortranarray(np.arange(6, dtype=">f8").reshape(3, 2))
    path = write_npz(tmp_path, X=X, y=np.array([0, 1, 0]))
    np.testing.assert_array_equal(load_npz(path).X, X)


def test_match_features_by_name() -> None:
    from nabla.data.tabular import match_features

    assert match_features(["b", "y", "a"], ["a", "b"], source="f.csv") == [2, 0]
    # placeholders on either side (a file without a header): in order, counts equal
    assert match_features(["col0", "col1"], ["a", "b"], source="f.csv") == [0, 1]
    assert match_features(["a", "b"], ["col0", "col2"], source="f.csv") == [0, 1]
    with pytest.raises(DataError, match=r"f.csv: has 1 features, but the model was trained on 2$"):
        match_features(["col0"], ["a", "b"], source="f.csv")
    with pytest.raises(DataError, match=r"missing column\(s\) 'b'; unknown column\(s\) 'B'$"):
        match_features(["a", "B"], ["a", "b"], source="f.csv")
    with pytest.raises(DataError, match=r"column\(s\) 'a' appear more than once"):
        match_features(["a", "a", "b"], ["a", "b"], source="f.csv")


def test_npz_negative_dimension_is_refused(tmp_path: Path) -> None:
    path = _lying_npz(tmp_path / "neg.npz", (-1, 3))
    with pytest.raises(DataError, match=r"'X' has shape \(-1, 3\) .* cannot be negative$"):
        load_npz(path)


def test_npz_oversized_header_is_one_line(tmp_path: Path) -> None:
    header = b"{'descr': '<f8', 'fortran_order': False, 'shape': (2,), " + b" " * 20_000 + b"}"
    header += b" " * (-(len(header) + 13) % 64) + b"\n"
    npy = b"\x93NUMPY\x02\x00" + len(header).to_bytes(4, "little") + header + bytes(16)
    path = tmp_path / "big.npz"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("X.npy", npy)
    with pytest.raises(DataError, match=r"'X' has an unreadable \.npy header") as info:
        load_npz(path)
    assert "\n" not in str(info.value)
    assert len(str(info.value)) < 300
