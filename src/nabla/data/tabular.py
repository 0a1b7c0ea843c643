"""The loaders' common return type and target checks."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from nabla._typing import Array
from nabla.errors import DataError

Task = Literal["auto", "classification", "regression"]
TASKS = ("auto", "classification", "regression")
#: the names loaders give columns that have none: ``col3`` (a CSV without a header), ``x3`` (an
#: .npz archive without ``feature_names``)
PLACEHOLDER = re.compile(r"(col|x)\d+")


@dataclass
class TabularData:
    """A loaded data set: a float32 feature matrix, its target and where they came from.

    Attributes
    ----------
    X : ndarray of shape (n_samples, n_features), float32
        Features, finite; images for a CNN are (n_samples, channels, height, width) (the
        loaders' ``images=True``).
    y : ndarray of shape (n_samples,)
        int64 class ids ``0..n_classes-1`` for classification, float32 values for regression.
    feature_names : list of str
        One name per column of `X`.
    target_name : str
        Name of the target column.
    class_names : list of str or None
        ``class_names[k]`` is the original label of class id ``k``; None for regression.
    source : str
        Where the data came from (``"sklearn:iris"``, a file or folder path).
    X_test, y_test : ndarray or None
        A test split shipped with the source (MNIST's t10k files), else None.
    """

    X: Array
    y: Array
    feature_names: list[str]
    target_name: str
    class_names: list[str] | None
    source: str
    X_test: Array | None = None
    y_test: Array | None = None

    @property
    def is_classification(self) -> bool:
        """True when `y` holds class ids (`class_names` is set)."""
        return self.class_names is not None

    @property
    def n_samples(self) -> int:
        """Number of rows of `X`."""
        return int(self.X.shape[0])

    @property
    def n_features(self) -> int:
        """Number of columns of `X` (of pixel values, for images)."""
        return int(np.prod(self.X.shape[1:]))

    @property
    def image_shape(self) -> tuple[int, int, int] | None:
        """(channels, height, width) when `X` holds images, else None."""
        return (
            (int(self.X.shape[1]), int(self.X.shape[2]), int(self.X.shape[3]))
            if self.X.ndim == 4
            else None
        )

    @property
    def n_classes(self) -> int:
        """Number of classes; 0 for regression."""
        return 0 if self.class_names is None else len(self.class_names)


def check_classification_target(y: Any, *, source: str = "") -> None:
    """Raise :class:`DataError` unless `y` is a 1-D target with at least two classes.

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        Class labels.
    source : str, optional
        File or data-set name to start the message with.

    Examples
    --------
    >>> check_classification_target([0, 1, 1])
    >>> check_classification_target([2, 2, 2], source="toy.csv")
    Traceback (most recent call last):
    ...
    nabla.errors.DataError: toy.csv: the target has a single class (2) in all 3 rows; a \
classifier needs at least two classes
    """
    prefix = f"{source}: " if source else ""
    labels = np.asarray(getattr(y, "data", y))
    if labels.ndim != 1:
        raise DataError(f"{prefix}the target must be 1-D, got shape {labels.shape}")
    if labels.size == 0:
        raise DataError(f"{prefix}the target is empty")
    classes = np.unique(labels)
    if classes.size < 2:
        value = classes[0].item() if isinstance(classes[0], np.generic) else classes[0]
        raise DataError(
            f"{prefix}the target has a single class ({value!r}) in all "
            f"{labels.size} rows; a classifier needs at least two classes"
        )


def _label_name(value: Any) -> str:
    """A class label as text: ``3.0`` reads ``"3"``, strings stay themselves."""
    if isinstance(value, (float, np.floating)):
        return str(int(value))
    return str(value)


def encode_target(
    values: Any, task: str = "auto", *, source: str = "", column: str = "target"
) -> tuple[Array, list[str] | None]:
    """Turn raw target values into ``(y, class_names)``.

    Strings, bools, integers and integer-valued floats are class labels under ``task="auto"``;
    other floats are a regression target. Class labels are mapped to ids ``0..k-1`` in sorted
    order (labels that already are ``0..k-1`` keep their values) and checked for at least two
    classes.

    Returns
    -------
    y : ndarray of shape (n_samples,)
        int64 class ids, or float32 values for regression.
    class_names : list of str or None
        Original label of each class id; None for regression.
    """
    if task not in TASKS:
        raise DataError(f"{source}: task must be one of {', '.join(TASKS)}; got {task!r}")
    raw = np.asarray(values)
    if raw.ndim != 1:
        raise DataError(f"{source}: the target must be 1-D, got shape {raw.shape}")
    numeric = raw.dtype.kind in "biuf"
    if numeric and raw.dtype.kind == "f" and not np.isfinite(raw).all():
        first = int(np.flatnonzero(~np.isfinite(raw))[0])
        raise DataError(
            f"{source}: target {column!r} has a non-finite value ({raw[first]}) at index {first}"
        )
    integral = raw.dtype.kind != "f" or bool(np.all(raw == np.round(raw)))
    if task == "regression" or (task == "auto" and numeric and not integral):
        if not numeric:
            raise DataError(
                f"{source}: task='regression' needs a numeric target, but column "
                f"{column!r} holds text such as {str(raw[0])!r}"
            )
        return raw.astype(np.float32), None
    if numeric and not integral:
        raise DataError(
            f"{source}: task='classification' needs class labels, but target "
            f"{column!r} holds non-integer values; pass task='regression'"
        )
    check_classification_target(raw, source=source)
    classes, ids = np.unique(raw, return_inverse=True)
    return ids.astype(np.int64), [_label_name(c) for c in classes.tolist()]


def _listed(names: Sequence[str], limit: int = 5) -> str:
    shown = ", ".join(repr(name) for name in names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def match_features(found: Sequence[str], expected: Sequence[str], *, source: str) -> list[int]:
    """Positions in `found` of the `expected` feature names: columns are matched by name.

    Columns of `found` that the model does not use (a target, an id) are left out. Only when
    one side has placeholder names alone (``col0``, ``x1``...: a file without a header, a model
    trained on one) are the columns taken in order, and then their counts must be equal.

    Raises
    ------
    DataError
        One line naming the missing and the unknown columns, or the two counts.

    Examples
    --------
    >>> match_features(["b", "target", "a"], ["a", "b"], source="new.csv")
    [2, 0]
    >>> match_features(["a", "c"], ["a", "b"], source="new.csv")
    Traceback (most recent call last):
    ...
    nabla.errors.DataError: new.csv: its columns do not match the model's: missing \
column(s) 'b'; unknown column(s) 'c'
    """
    found, expected = list(found), list(expected)
    position = {name: j for j, name in enumerate(found)}
    times = Counter(found)
    repeated = sorted({name for name in expected if times[name] > 1})
    if repeated:
        raise DataError(
            f"{source}: column(s) {_listed(repeated)} appear more than once; cannot tell "
            "which one the model's feature is"
        )
    missing = [name for name in expected if name not in position]
    if not missing:
        return [position[name] for name in expected]
    counts = f"has {len(found)} features, but the model was trained on {len(expected)}"
    unnamed = all(PLACEHOLDER.fullmatch(name) for name in found) or all(
        PLACEHOLDER.fullmatch(name) for name in expected
    )
    if unnamed:
        if len(found) == len(expected):
            return list(range(len(found)))
        raise DataError(f"{source}: {counts}")
    known = set(expected)
    unknown = [name for name in found if name not in known]
    # more columns than features is fine (a target, an id); fewer is worth saying first
    problem = counts if len(found) < len(expected) else "its columns do not match the model's"
    detail = f"missing column(s) {_listed(missing)}"
    if unknown:
        detail += f"; unknown column(s) {_listed(unknown)}"
    raise DataError(f"{source}: {problem}: {detail}")
