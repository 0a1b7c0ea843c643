"""Views of datasets: :class:`Subset`, :class:`ConcatDataset` and :func:`random_split`.

Names, arguments, lengths and errors are ``torch.utils.data``'s; the random permutation comes
from a ``numpy.random.Generator`` (nabla's global one when none is given).
"""

from __future__ import annotations

import bisect
import math
import warnings
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from nabla.data.dataset import Dataset


class Subset(Dataset):
    """The samples of `dataset` at `indices`, in that order.

    Indexing with a list or an integer ndarray maps every position through `indices` and
    indexes `dataset` once, so a Subset of a :class:`~nabla.data.TensorDataset` keeps the
    loader's one-fancy-index-per-batch path.

    Examples
    --------
    >>> s = Subset([10, 11, 12, 13], [3, 1])
    >>> len(s), s[0], s[1]
    (2, 13, 11)
    """

    def __init__(self, dataset: Any, indices: Sequence[int]) -> None:
        self.dataset = dataset
        self.indices = indices

    def __getitem__(self, idx: Any) -> Any:
        if isinstance(idx, list):
            return self.dataset[[self.indices[i] for i in idx]]
        if isinstance(idx, np.ndarray):
            return self.dataset[np.asarray(self.indices, dtype=np.int64)[idx]]
        return self.dataset[self.indices[idx]]

    def __getitems__(self, indices: list[int]) -> list[Any]:
        """The samples at `indices` as a list (what PyTorch's loader collates)."""
        inner = getattr(self.dataset, "__getitems__", None)
        mapped = [self.indices[i] for i in indices]
        if callable(inner):
            return list(inner(mapped))
        return [self.dataset[i] for i in mapped]

    def __len__(self) -> int:
        return len(self.indices)

    def __repr__(self) -> str:
        return f"Subset({self.dataset!r}, {len(self.indices)} indices)"


class ConcatDataset(Dataset):
    """The samples of several datasets one after the other.

    Parameters
    ----------
    datasets : iterable of Dataset
        Not empty.

    Attributes
    ----------
    cumulative_sizes : list of int
        ``cumulative_sizes[i]`` is the total length of the first ``i + 1`` datasets.

    Examples
    --------
    >>> c = ConcatDataset([[1, 2], [3]])
    >>> len(c), c[2], c[-1], c.cumulative_sizes
    (3, 3, 3, [2, 3])
    """

    @staticmethod
    def cumsum(sequence: Iterable[Any]) -> list[int]:
        """Running totals of the lengths of `sequence`'s items."""
        totals, total = [], 0
        for item in sequence:
            total += len(item)
            totals.append(total)
        return totals

    def __init__(self, datasets: Iterable[Any]) -> None:
        self.datasets = list(datasets)
        if len(self.datasets) == 0:
            raise ValueError("datasets should not be an empty iterable")
        self.cumulative_sizes = self.cumsum(self.datasets)

    def __len__(self) -> int:
        return self.cumulative_sizes[-1]

    def __getitem__(self, idx: int) -> Any:
        if idx < 0:
            if -idx > len(self):
                raise ValueError("absolute value of index should not exceed dataset length")
            idx = len(self) + idx
        if idx >= len(self):
            raise IndexError(f"index {idx} is out of range for a dataset of length {len(self)}")
        dataset_idx = bisect.bisect_right(self.cumulative_sizes, idx)
        sample_idx = idx if dataset_idx == 0 else idx - self.cumulative_sizes[dataset_idx - 1]
        return self.datasets[dataset_idx][sample_idx]

    def __repr__(self) -> str:
        return f"ConcatDataset({len(self.datasets)} datasets, {len(self)} samples)"


def _split_lengths(n: int, lengths: Sequence[int | float]) -> list[int]:
    """Integer lengths for `lengths`, fractions turned into counts as PyTorch does."""
    if math.isclose(sum(lengths), 1) and sum(lengths) <= 1:
        counts: list[int] = []
        for i, frac in enumerate(lengths):
            if frac < 0 or frac > 1:
                raise ValueError(f"Fraction at index {i} is not between 0 and 1")
            counts.append(math.floor(n * frac))
        remainder = n - sum(counts)
        for i in range(remainder):  # round-robin, like torch
            counts[i % len(counts)] += 1
        for i, count in enumerate(counts):
            if count == 0:
                warnings.warn(
                    f"Length of split at index {i} is 0. This might result in an empty dataset.",
                    stacklevel=3,
                )
        return counts
    return [int(length) for length in lengths]


def random_split(
    dataset: Any,
    lengths: Sequence[int | float],
    generator: np.random.Generator | None = None,
) -> list[Subset]:
    """Split `dataset` into non-overlapping random :class:`Subset` s of the given lengths.

    Parameters
    ----------
    dataset : Dataset
        What to split (anything with ``len`` and ``[]``).
    lengths : sequence of int or float
        Lengths of the splits, or fractions summing to 1: ``floor(len(dataset) * fraction)``
        each, the remainder then added one by one to the splits in turn (PyTorch's rule).
    generator : numpy.random.Generator, optional
        Draws the permutation (used in place); nabla's global generator when None, so
        ``nb.manual_seed`` makes the split reproducible.

    Returns
    -------
    subsets : list of Subset

    Raises
    ------
    ValueError
        When a fraction is outside [0, 1] or the lengths do not add up to ``len(dataset)``.

    Examples
    --------
    >>> train, test = random_split(range(10), [0.7, 0.3], np.random.default_rng(0))
    >>> len(train), len(test), sorted(list(train) + list(test)) == list(range(10))
    (7, 3, True)
    """
    if generator is None:
        from nabla.generator import default_generator

        generator = default_generator()
    elif not isinstance(generator, np.random.Generator):
        raise TypeError(
            f"random_split: generator must be a numpy.random.Generator or None, "
            f"got {type(generator).__name__}"
        )
    counts = _split_lengths(len(dataset), lengths)
    if sum(counts) != len(dataset):
        raise ValueError("Sum of input lengths does not equal the length of the input dataset!")
    indices = generator.permutation(sum(counts)).tolist()
    subsets, offset = [], 0
    for count in counts:
        subsets.append(Subset(dataset, indices[offset : offset + count]))
        offset += count
    return subsets
