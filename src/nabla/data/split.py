"""Train/validation/test splits, stratified by class and deterministic for a seed."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from nabla._typing import Array
from nabla.errors import DataError

DEFAULT_VAL_FRACTION = 0.1
DEFAULT_TEST_FRACTION = 0.2


@dataclass(frozen=True)
class DatasetSplit:
    """The three parts of a dataset returned by :func:`split_dataset`.

    Attributes
    ----------
    X_train, X_val, X_test : ndarray of shape (n_part, ...)
        Rows of ``X``; `X_val` (or `X_test`) has 0 rows when its fraction is 0.
    y_train, y_val, y_test : ndarray of shape (n_part,)
        The matching targets.
    """

    X_train: Array
    y_train: Array
    X_val: Array
    y_val: Array
    X_test: Array
    y_test: Array


def _resolve_fractions(
    fractions: Sequence[float] | None, val_fraction: float | None, test_fraction: float | None
) -> tuple[float, float]:
    """Return ``(val, test)`` fractions from either form, validated."""
    if fractions is not None:
        if val_fraction is not None or test_fraction is not None:
            raise DataError(
                "stratified_split: pass fractions or val_fraction/test_fraction, not both"
            )
        parts = [float(f) for f in fractions]
        if len(parts) == 2:
            parts = [parts[0], 0.0, parts[1]]
        if len(parts) != 3 or not math.isclose(sum(parts), 1.0, abs_tol=1e-6):
            raise DataError(
                f"stratified_split: fractions must be (train, val, test) or "
                f"(train, test) summing to 1, got {tuple(float(f) for f in fractions)}"
            )
        val, test = parts[1], parts[2]
    else:
        val = DEFAULT_VAL_FRACTION if val_fraction is None else float(val_fraction)
        test = DEFAULT_TEST_FRACTION if test_fraction is None else float(test_fraction)
    for name, value in (("val", val), ("test", test)):
        if not 0.0 <= value < 1.0:
            raise DataError(f"stratified_split: {name} fraction must be in [0, 1), got {value!r}")
    if val + test >= 1.0:
        raise DataError(
            f"stratified_split: val + test fractions = {val + test:g} leave no "
            f"training samples; they must sum to less than 1"
        )
    return val, test


def _class_labels(y: Any) -> Array:
    """Return `y` as a 1-D label array; reject continuous (non-integer float) targets."""
    labels = np.asarray(getattr(y, "data", y))
    if labels.ndim != 1:
        raise DataError(f"stratified_split: y must be 1-D class labels, got shape {labels.shape}")
    if labels.dtype.kind == "f":
        bad = ~np.isfinite(labels) | (labels != np.round(labels))
        if bad.any():
            first = int(np.flatnonzero(bad)[0])
            raise DataError(
                f"stratified_split: y looks continuous (y[{first}] = "
                f"{labels[first].item()!r}); stratify needs class labels, so split a "
                f"regression target with stratify=False"
            )
    return labels


def _round_cumulative(counts: Array, fraction: float) -> Array:
    """Split ``fraction * counts.sum()`` over classes so each gets its share within one sample.

    Rounding the running total (rather than each class) makes the per-class counts add up to
    ``round(fraction * n)`` exactly.
    """
    targets = np.floor(fraction * np.cumsum(counts) + 0.5).astype(np.int64)
    return np.diff(targets, prepend=0)


def _per_class_counts(
    n_class: int, n_test: int, n_val: int, test: float, val: float, n_splits: int
) -> tuple[int, int]:
    """Adjust a class's test/val counts: one in each split when possible, train never empty."""
    # a class with at least one sample per split gets one in each split that has a fraction
    floor_test = 1 if test > 0 and n_class >= n_splits else 0
    floor_val = 1 if val > 0 and n_class >= n_splits else 0
    n_test, n_val = max(n_test, floor_test), max(n_val, floor_val)
    while n_class > 0 and n_test + n_val > n_class - 1:  # train keeps at least one
        if n_test - floor_test >= n_val - floor_val:
            n_test -= 1
        else:
            n_val -= 1
    return n_test, n_val


def stratified_split(
    y: Any,
    fractions: Sequence[float] | None = None,
    *,
    val_fraction: float | None = None,
    test_fraction: float | None = None,
    seed: int | None = 0,
) -> tuple[Array, Array, Array]:
    """Indices of a train/validation/test split that keeps the class proportions of `y`.

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        Class labels (ints, strings, or integer-valued floats).
    fractions : (train, val, test) or (train, test), optional
        Fractions summing to 1. Alternative to `val_fraction`/`test_fraction`.
    val_fraction, test_fraction : float, optional
        Fractions in [0, 1) for validation and test (defaults 0.1 and 0.2); train gets the rest.
    seed : int or None, default 0
        Seed of the shuffle; the same seed gives the same split.

    Returns
    -------
    train_idx, val_idx, test_idx : ndarray of int64
        Disjoint indices covering ``range(n_samples)``, each in shuffled order. Each split holds
        its fraction of every class (within one sample); a class with at least as many samples
        as non-empty splits appears in each of them, and the training split always holds one.

    Raises
    ------
    DataError
        On bad fractions, empty or 2-D `y`, or continuous float labels.

    Examples
    --------
    >>> y = [0] * 10 + [1] * 10
    >>> train, val, test = stratified_split(y, fractions=(0.6, 0.2, 0.2), seed=0)
    >>> len(train), len(val), len(test)
    (12, 4, 4)
    >>> sorted(int(y[i]) for i in test)
    [0, 0, 1, 1]
    """
    val, test = _resolve_fractions(fractions, val_fraction, test_fraction)
    labels = _class_labels(y)
    if labels.size == 0:
        raise DataError("stratified_split: y is empty")
    _, inverse, counts = np.unique(labels, return_inverse=True, return_counts=True)
    n_splits = 1 + (val > 0) + (test > 0)
    test_counts = _round_cumulative(counts, test)
    val_counts = _round_cumulative(counts, val)
    rng = np.random.default_rng(seed)
    parts: tuple[list[Array], list[Array], list[Array]] = ([], [], [])
    for class_id, n_class in enumerate(counts):
        n_test, n_val = _per_class_counts(
            int(n_class),
            int(test_counts[class_id]),
            int(val_counts[class_id]),
            test,
            val,
            n_splits,
        )
        members = rng.permutation(np.flatnonzero(inverse == class_id))
        parts[2].append(members[:n_test])
        parts[1].append(members[n_test : n_test + n_val])
        parts[0].append(members[n_test + n_val :])
    train_idx, val_idx, test_idx = (
        rng.permutation(np.concatenate(p)).astype(np.int64) for p in parts
    )
    return train_idx, val_idx, test_idx


def split_dataset(
    X: Any,
    y: Any,
    val_split: float = DEFAULT_VAL_FRACTION,
    test_split: float = DEFAULT_TEST_FRACTION,
    seed: int | None = 0,
    stratify: bool = True,
) -> DatasetSplit:
    """Split ``(X, y)`` into train, validation and test parts.

    Parameters
    ----------
    X : ndarray of shape (n_samples, ...)
        Features.
    y : ndarray of shape (n_samples,)
        Targets: class labels when `stratify`, anything otherwise.
    val_split, test_split : float, default 0.1 and 0.2
        Fractions in [0, 1) of the samples for validation and test.
    seed : int or None, default 0
        Seed of the shuffle.
    stratify : bool, default True
        Keep the class proportions of `y` in every part (see :func:`stratified_split`). Pass
        False for regression targets.

    Returns
    -------
    DatasetSplit
        Fields ``X_train, y_train, X_val, y_val, X_test, y_test``.

    Examples
    --------
    >>> import numpy as np
    >>> parts = split_dataset(np.zeros((20, 3)), np.arange(20) % 2, val_split=0.1, test_split=0.2)
    >>> parts.X_train.shape, parts.X_val.shape, parts.y_test.shape
    ((14, 3), (2, 3), (4,))
    """
    features = np.asarray(getattr(X, "data", X))
    targets = np.asarray(getattr(y, "data", y))
    if features.ndim == 0 or targets.ndim != 1 or features.shape[0] != targets.shape[0]:
        raise DataError(
            f"split_dataset: X has shape {features.shape} and y has shape "
            f"{targets.shape}; y must be 1-D with one entry per row of X"
        )
    labels = targets if stratify else np.zeros(targets.shape[0], dtype=np.int64)
    train_idx, val_idx, test_idx = stratified_split(
        labels, val_fraction=val_split, test_fraction=test_split, seed=seed
    )
    return DatasetSplit(
        features[train_idx],
        targets[train_idx],
        features[val_idx],
        targets[val_idx],
        features[test_idx],
        targets[test_idx],
    )
