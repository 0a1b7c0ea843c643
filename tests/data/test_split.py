"""Stratified train/val/test splits: proportions, coverage, disjointness, determinism."""

import numpy as np
import pytest

from nabla.data import split_dataset, stratified_split
from nabla.errors import DataError


def imbalanced_labels() -> np.ndarray:
    return np.repeat(np.array([0, 1, 2]), [50, 30, 20])


def test_splits_are_disjoint_and_cover_every_index() -> None:
    train, val, test = stratified_split(imbalanced_labels(), seed=0)
    together = np.concatenate([train, val, test])
    assert together.dtype == np.int64
    assert sorted(together.tolist()) == list(range(100))


def test_each_split_keeps_the_class_proportions() -> None:
    y = imbalanced_labels()
    train, val, test = stratified_split(y, val_fraction=0.1, test_fraction=0.2, seed=0)
    assert (len(train), len(val), len(test)) == (70, 10, 20)
    assert np.bincount(y[test]).tolist() == [10, 6, 4]
    assert np.bincount(y[val]).tolist() == [5, 3, 2]
    assert np.bincount(y[train]).tolist() == [35, 21, 14]


def test_totals_are_exact_when_per_class_shares_are_fractional() -> None:
    y = np.repeat(np.arange(10), 15)  # 10% of 15 is 1.5 per class
    train, val, test = stratified_split(y, val_fraction=0.1, test_fraction=0.2, seed=0)
    assert (len(train), len(val), len(test)) == (105, 15, 30)
    for part in (train, val, test):
        assert set(y[part].tolist()) == set(range(10))


def test_every_class_appears_in_every_split_when_possible() -> None:
    y = np.array([0] * 40 + [1] * 3 + [2] * 2 + [3])
    train, val, test = stratified_split(y, val_fraction=0.1, test_fraction=0.1, seed=0)
    assert {0, 1} <= set(y[val].tolist())
    assert {0, 1} <= set(y[test].tolist())
    # too few samples for every split: the training split still gets the class
    assert set(y[train].tolist()) == {0, 1, 2, 3}


def test_same_seed_same_split_and_other_seed_other_split() -> None:
    y = imbalanced_labels()
    first, second = stratified_split(y, seed=3), stratified_split(y, seed=3)
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(np.sort(stratified_split(y, seed=4)[2]), np.sort(first[2]))


def test_fraction_tuple_matches_keyword_fractions() -> None:
    y = imbalanced_labels()
    by_tuple = stratified_split(y, fractions=(0.7, 0.1, 0.2), seed=1)
    by_keywords = stratified_split(y, val_fraction=0.1, test_fraction=0.2, seed=1)
    for a, b in zip(by_tuple, by_keywords):
        np.testing.assert_array_equal(a, b)


def test_two_fractions_mean_no_validation_split() -> None:
    train, val, test = stratified_split(imbalanced_labels(), fractions=(0.75, 0.25), seed=0)
    assert (len(train), len(val), len(test)) == (75, 0, 25)


def test_string_labels_and_integer_valued_floats_are_classes() -> None:
    labels = np.array(["cat", "dog"] * 10)
    _, _, test = stratified_split(labels, val_fraction=0.0, test_fraction=0.5, seed=0)
    assert sorted(labels[test].tolist()) == ["cat"] * 5 + ["dog"] * 5
    float_labels = np.array([0.0, 1.0] * 10)
    assert len(stratified_split(float_labels, seed=0)[0]) == 14


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"fractions": (0.8, 0.1, 0.1), "test_fraction": 0.1}, "not both"),
        ({"fractions": (0.8, 0.3)}, r"summing to 1, got \(0.8, 0.3\)"),
        ({"fractions": (1.0,)}, "summing to 1"),
        ({"val_fraction": -0.1}, r"val fraction must be in \[0, 1\), got -0.1"),
        ({"test_fraction": 1.0}, r"test fraction must be in \[0, 1\)"),
        ({"val_fraction": 0.5, "test_fraction": 0.5}, "leave no training samples"),
    ],
)
def test_bad_fractions_are_errors(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(DataError, match=message):
        stratified_split(imbalanced_labels(), **kwargs)  # type: ignore[arg-type]


def test_bad_labels_are_errors() -> None:
    with pytest.raises(DataError, match=r"y\[1\] = 0.5.*stratify=False"):
        stratified_split(np.array([1.0, 0.5, 2.0]))
    with pytest.raises(DataError, match=r"1-D class labels, got shape \(2, 2\)"):
        stratified_split(np.zeros((2, 2)))
    with pytest.raises(DataError, match="y is empty"):
        stratified_split(np.array([], dtype=np.int64))


def test_split_dataset_keeps_rows_with_their_targets() -> None:
    y = imbalanced_labels()
    X = np.column_stack([np.arange(100), y]).astype(np.float32)
    parts = split_dataset(X, y, val_split=0.1, test_split=0.2, seed=0)
    assert parts.X_train.shape == (70, 2)
    assert parts.X_val.shape == (10, 2)
    assert parts.X_test.shape == (20, 2)
    for features, targets in [
        (parts.X_train, parts.y_train),
        (parts.X_val, parts.y_val),
        (parts.X_test, parts.y_test),
    ]:
        np.testing.assert_array_equal(features[:, 1], targets)
    rows = np.concatenate([parts.X_train[:, 0], parts.X_val[:, 0], parts.X_test[:, 0]])
    assert sorted(rows.tolist()) == list(range(100))
    assert np.bincount(parts.y_test).tolist() == [10, 6, 4]


def test_split_dataset_without_stratify_accepts_a_regression_target() -> None:
    X = np.zeros((20, 3))
    y = np.linspace(0.0, 1.0, 20)
    parts = split_dataset(X, y, val_split=0.0, test_split=0.25, stratify=False)
    assert (len(parts.y_train), len(parts.y_val), len(parts.y_test)) == (15, 0, 5)
    with pytest.raises(DataError, match="stratify=False"):
        split_dataset(X, y)


def test_split_dataset_shape_mismatch_names_the_shapes() -> None:
    with pytest.raises(DataError, match=r"X has shape \(5, 2\) and y has shape \(4,\)"):
        split_dataset(np.zeros((5, 2)), np.zeros(4))
