"""Subset, ConcatDataset and random_split against torch.utils.data."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import nabla as nb
from nabla.data import TensorDataset
from nabla.data.subsets import ConcatDataset, Subset, random_split


def test_subset_indexes_through_its_indices() -> None:
    torch = pytest.importorskip("torch")
    data = [10, 11, 12, 13, 14]
    ours, theirs = Subset(data, [4, 0, 2]), torch.utils.data.Subset(data, [4, 0, 2])
    assert len(ours) == len(theirs)
    assert [ours[i] for i in range(3)] == [theirs[i] for i in range(3)]
    assert ours.__getitems__([2, 0]) == theirs.__getitems__([2, 0])
    assert list(ours) == [14, 10, 12]


def test_subset_of_a_tensor_dataset_fancy_indexes() -> None:
    X, y = np.arange(12.0).reshape(6, 2), np.arange(6)
    s = Subset(TensorDataset(X, y), [5, 1, 3])
    xb, yb = s[np.array([0, 2])]
    np.testing.assert_array_equal(xb, X[[5, 3]])
    np.testing.assert_array_equal(yb, y[[5, 3]])
    x0, y0 = s[1]
    np.testing.assert_array_equal(x0, X[1])
    assert int(y0) == 1


def test_concat_dataset_matches_torch() -> None:
    torch = pytest.importorskip("torch")
    parts = [[1, 2, 3], [], [4], [5, 6]]
    ours, theirs = ConcatDataset(parts), torch.utils.data.ConcatDataset(parts)
    assert len(ours) == len(theirs)
    assert ours.cumulative_sizes == theirs.cumulative_sizes
    for i in range(-len(ours), len(ours)):
        assert ours[i] == theirs[i]
    with pytest.raises(ValueError) as their_error:
        theirs[-7]
    with pytest.raises(ValueError) as our_error:
        ours[-7]
    assert str(our_error.value) == str(their_error.value)
    with pytest.raises(IndexError):
        ours[6]
    with pytest.raises(ValueError, match="should not be an empty iterable"):
        ConcatDataset([])


def test_dataset_addition_concatenates() -> None:
    a = TensorDataset(np.zeros((2, 1)))
    b = TensorDataset(np.ones((3, 1)))
    both = a + b
    assert isinstance(both, ConcatDataset)
    assert len(both) == 5
    assert float(both[4][0][0]) == 1.0


def torch_lengths(torch: object, n: int, lengths: list[float]) -> list[int]:
    parts = torch.utils.data.random_split(range(n), lengths)  # type: ignore[attr-defined]
    return [len(p) for p in parts]


@pytest.mark.parametrize(
    ("n", "lengths"),
    [
        (10, [7, 3]),
        (10, [0.7, 0.3]),
        (11, [0.5, 0.5]),
        (7, [0.2, 0.2, 0.6]),
        (5, [1 / 3, 1 / 3, 1 / 3]),
        (3, [0.1, 0.1, 0.8]),
        (0, [0.5, 0.5]),
        (4, [4, 0]),
    ],
)
def test_random_split_lengths_disjoint_covering(n: int, lengths: list[float]) -> None:
    torch = pytest.importorskip("torch")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = torch_lengths(torch, n, lengths)
        parts = random_split(range(n), lengths, np.random.default_rng(0))
    assert [len(p) for p in parts] == expected
    seen = [i for p in parts for i in p]
    assert sorted(seen) == list(range(n))  # disjoint and covering


def test_random_split_warns_about_an_empty_split_like_torch() -> None:
    torch = pytest.importorskip("torch")
    with pytest.warns(UserWarning, match="Length of split at index 1 is 0"):
        torch.utils.data.random_split(range(3), [0.1, 0.1, 0.8])
    with pytest.warns(UserWarning, match="Length of split at index 1 is 0"):
        random_split(range(3), [0.1, 0.1, 0.8])


def test_random_split_is_reproducible() -> None:
    a = random_split(range(20), [0.5, 0.5], np.random.default_rng(7))
    b = random_split(range(20), [0.5, 0.5], np.random.default_rng(7))
    assert [list(p) for p in a] == [list(p) for p in b]
    nb.manual_seed(3)
    c = random_split(range(20), [10, 10])
    nb.manual_seed(3)
    d = random_split(range(20), [10, 10])
    assert [p.indices for p in c] == [p.indices for p in d]
    assert c[0].indices != list(range(10))  # shuffled (probability 1 - 1/20!)


def test_random_split_errors_match_torch() -> None:
    torch = pytest.importorskip("torch")
    for lengths in ([3, 3], [0.5, 0.6], [1.5, -0.5]):
        with pytest.raises(ValueError) as theirs:
            torch.utils.data.random_split(range(5), lengths)
        with pytest.raises(ValueError) as ours:
            random_split(range(5), lengths)
        assert str(ours.value) == str(theirs.value)
    with pytest.raises(TypeError, match=r"numpy\.random\.Generator"):
        random_split(range(5), [5], generator=1)  # type: ignore[arg-type]
