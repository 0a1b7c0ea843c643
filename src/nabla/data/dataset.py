"""Datasets: indexable collections of samples that a :class:`~nabla.data.DataLoader` batches.

A dataset holds NumPy arrays or nabla Tensors. Tensors are recognised by duck typing (an object
whose ``.data`` is an ndarray) so this module imports nothing from ``nabla.tensor`` at load time.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

import numpy as np

from nabla._typing import Array
from nabla.errors import DataError


def is_tensor(item: object) -> bool:
    """Return True when `item` looks like a nabla Tensor (its ``.data`` is an ndarray)."""
    return not isinstance(item, np.ndarray) and isinstance(getattr(item, "data", None), np.ndarray)


def as_array(item: Any) -> Array:
    """The ndarray behind `item`: a Tensor's ``.data``, an ndarray itself, else ``np.asarray``."""
    if is_tensor(item):
        return item.data  # type: ignore[no-any-return]
    return np.asarray(item)


def wrap_like(template: object, values: Array) -> Any:
    """Wrap `values` as a Tensor when `template` is one, else return the ndarray as it is."""
    if is_tensor(template):
        from nabla.tensor import Tensor  # lazy: tensor.py imports the ops, data must not

        return Tensor(values)
    return values


class Dataset(ABC):
    """A collection of samples addressed by an integer index, like ``torch.utils.data.Dataset``.

    Subclasses implement ``__getitem__`` (one sample, usually a tuple such as ``(x, y)``) and
    ``__len__``. The :class:`~nabla.data.DataLoader` stacks the samples of a batch.
    """

    @abstractmethod
    def __getitem__(self, index: int) -> Any:
        """Return sample `index`."""

    @abstractmethod
    def __len__(self) -> int:
        """Return the number of samples."""

    def __add__(self, other: Any) -> Any:
        """``a + b`` is ``ConcatDataset([a, b])``, as in PyTorch."""
        from nabla.data.subsets import ConcatDataset

        return ConcatDataset([self, other])


class TensorDataset(Dataset):
    """Samples are the rows of several arrays (or Tensors) that share their first dimension.

    Parameters
    ----------
    *tensors : ndarray or Tensor, each of shape (n_samples, ...)
        For example features ``X`` of shape (n_samples, n_features) and labels ``y`` of shape
        (n_samples,). Items are kept as given: Tensors stay Tensors, arrays stay arrays.

    Raises
    ------
    DataError
        When no tensor is given, one is 0-d, or the first dimensions differ.

    Examples
    --------
    >>> import numpy as np
    >>> ds = TensorDataset(np.arange(6.0).reshape(3, 2), np.array([0, 1, 0]))
    >>> len(ds)
    3
    >>> x, y = ds[np.array([2, 0])]
    >>> x.tolist(), y.tolist()
    ([[4.0, 5.0], [0.0, 1.0]], [0, 0])
    """

    def __init__(self, *tensors: Any) -> None:
        if not tensors:
            raise DataError("TensorDataset needs at least one array or Tensor")
        items = tuple(
            t if is_tensor(t) or isinstance(t, np.ndarray) else np.asarray(t) for t in tensors
        )
        shapes = [as_array(t).shape for t in items]
        if any(len(shape) == 0 for shape in shapes):
            raise DataError(
                f"TensorDataset: every item needs a first dimension; got shapes "
                f"{', '.join(map(str, shapes))}"
            )
        if len({shape[0] for shape in shapes}) != 1:
            raise DataError(
                f"TensorDataset: items must share their first dimension; got shapes "
                f"{', '.join(map(str, shapes))}"
            )
        self.tensors = items

    def __len__(self) -> int:
        return int(as_array(self.tensors[0]).shape[0])

    def __getitem__(self, index: Any) -> tuple[Any, ...]:
        """Index every item with `index`: an int gives one sample, an index array a batch.

        One fancy-index per item, so a whole batch costs ``len(self.tensors)`` NumPy calls.
        """
        if isinstance(index, (int, np.integer)):
            # np.asarray keeps a 1-D item's sample an ndarray (0-d) rather than a NumPy scalar
            return tuple(wrap_like(t, np.asarray(as_array(t)[index])) for t in self.tensors)
        return tuple(wrap_like(t, as_array(t)[index]) for t in self.tensors)

    def __repr__(self) -> str:
        shapes = ", ".join(str(as_array(t).shape) for t in self.tensors)
        return f"TensorDataset({shapes})"
