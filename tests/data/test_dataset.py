"""TensorDataset indexing and default_collate stacking."""

import numpy as np
import pytest

from nabla.data import Dataset, TensorDataset, default_collate
from nabla.errors import DataError
from nabla.tensor import Tensor


def test_len_and_int_index_return_a_tuple_of_rows() -> None:
    X = np.arange(12.0).reshape(4, 3)
    y = np.array([0, 1, 2, 3])
    dataset = TensorDataset(X, y)
    assert len(dataset) == 4
    x_row, label = dataset[2]
    np.testing.assert_array_equal(x_row, X[2])
    assert isinstance(label, np.ndarray)
    assert label.shape == ()
    assert int(label) == 2


def test_index_array_and_mask_index_every_item() -> None:
    X = np.arange(10.0).reshape(5, 2)
    y = np.arange(5) * 10
    dataset = TensorDataset(X, y)
    x_batch, y_batch = dataset[np.array([4, 0, 4])]
    np.testing.assert_array_equal(x_batch, X[[4, 0, 4]])
    np.testing.assert_array_equal(y_batch, [40, 0, 40])
    _, y_masked = dataset[y > 15]
    np.testing.assert_array_equal(y_masked, [20, 30, 40])


def test_tensors_stay_tensors_and_arrays_stay_arrays() -> None:
    dataset = TensorDataset(Tensor(np.ones((3, 2), dtype=np.float32)), np.arange(3))
    x_batch, y_batch = dataset[np.array([0, 2])]
    assert isinstance(x_batch, Tensor)
    assert x_batch.data.shape == (2, 2)
    assert isinstance(y_batch, np.ndarray)
    x_row, _ = dataset[1]
    assert isinstance(x_row, Tensor)


def test_lists_are_converted_to_arrays() -> None:
    dataset = TensorDataset([[1.0, 2.0], [3.0, 4.0]], [0, 1])
    x_row, _ = dataset[1]
    np.testing.assert_array_equal(x_row, [3.0, 4.0])


def test_first_dimension_mismatch_names_the_shapes() -> None:
    with pytest.raises(DataError, match=r"\(4, 3\), \(5,\)"):
        TensorDataset(np.zeros((4, 3)), np.zeros(5))


def test_no_items_or_0d_item_is_an_error() -> None:
    with pytest.raises(DataError, match="at least one"):
        TensorDataset()
    with pytest.raises(DataError, match=r"first dimension; got shapes \(\)"):
        TensorDataset(np.float64(3.0))


def test_dataset_is_abstract() -> None:
    with pytest.raises(TypeError):
        Dataset()  # type: ignore[abstract]


def test_default_collate_stacks_positions_of_tuples() -> None:
    samples = [(np.array([1.0, 2.0]), 0), (np.array([3.0, 4.0]), 1)]
    x_batch, y_batch = default_collate(samples)
    np.testing.assert_array_equal(x_batch, [[1.0, 2.0], [3.0, 4.0]])
    np.testing.assert_array_equal(y_batch, [0, 1])


def test_default_collate_keeps_tensors() -> None:
    batch = default_collate([Tensor(np.zeros(2)), Tensor(np.ones(2))])
    assert isinstance(batch, Tensor)
    np.testing.assert_array_equal(batch.data, [[0.0, 0.0], [1.0, 1.0]])


def test_default_collate_errors_name_the_problem() -> None:
    with pytest.raises(DataError, match="empty"):
        default_collate([])
    with pytest.raises(DataError, match=r"\(2,\), \(3,\)"):
        default_collate([np.zeros(2), np.zeros(3)])
    with pytest.raises(DataError, match=r"different lengths \[1, 2\]"):
        default_collate([(1, 2), (3,)])
