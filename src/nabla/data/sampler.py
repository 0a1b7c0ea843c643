"""Samplers: the order in which a :class:`~nabla.data.DataLoader` visits a dataset's indices.

The classes, their arguments, lengths and errors are ``torch.utils.data``'s. Randomness comes
from a ``numpy.random.Generator``: one passed as `generator` is used (and advanced) in place;
without one, every pass draws a fresh seed from nabla's global generator, so
``nb.manual_seed`` makes it reproducible (as ``torch.manual_seed`` does for PyTorch's).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sized
from typing import Any, Generic, TypeVar

import numpy as np

T_co = TypeVar("T_co", covariant=True)


def _check_generator(generator: object, owner: str) -> None:
    if generator is not None and not isinstance(generator, np.random.Generator):
        raise TypeError(
            f"{owner}: generator must be a numpy.random.Generator or None, "
            f"got {type(generator).__name__}"
        )


def _pass_generator(generator: np.random.Generator | None) -> np.random.Generator:
    """`generator` itself, or a fresh one seeded from nabla's global generator."""
    if generator is not None:
        return generator
    from nabla.generator import default_generator  # lazy, like the loader's

    return np.random.default_rng(int(default_generator().integers(2**63)))


def _is_positive_int(value: object) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool) and int(value) > 0


class Sampler(Generic[T_co]):
    """Base class of every sampler: subclasses implement ``__iter__`` (and usually ``__len__``).

    Parameters
    ----------
    data_source : Sized, optional
        Accepted for PyTorch compatibility and ignored (as PyTorch 2.x does).
    """

    def __init__(self, data_source: Sized | None = None) -> None:
        pass

    def __iter__(self) -> Iterator[T_co]:
        raise NotImplementedError(f"{type(self).__name__} must implement __iter__")


class SequentialSampler(Sampler[int]):
    """Indices ``0, 1, ..., len(data_source) - 1`` in order.

    Examples
    --------
    >>> list(SequentialSampler(range(3)))
    [0, 1, 2]
    """

    def __init__(self, data_source: Sized) -> None:
        self.data_source = data_source

    def __iter__(self) -> Iterator[int]:
        return iter(range(len(self.data_source)))

    def __len__(self) -> int:
        return len(self.data_source)


class RandomSampler(Sampler[int]):
    """Random indices of `data_source`: a permutation, or draws with replacement.

    Parameters
    ----------
    data_source : Sized
        The dataset (only its length is used).
    replacement : bool, default False
        Draw `num_samples` indices independently and uniformly. Without replacement, whole
        permutations are concatenated and the last one cut to give `num_samples` indices.
    num_samples : int, optional
        Indices per pass; ``len(data_source)`` by default.
    generator : numpy.random.Generator, optional
        See the module's note.

    Raises
    ------
    TypeError
        When `replacement` is not a bool.
    ValueError
        When `num_samples` is not a positive int.

    Examples
    --------
    >>> sorted(RandomSampler(range(4), generator=np.random.default_rng(0)))
    [0, 1, 2, 3]
    """

    def __init__(
        self,
        data_source: Sized,
        replacement: bool = False,
        num_samples: int | None = None,
        generator: np.random.Generator | None = None,
    ) -> None:
        if not isinstance(replacement, bool):
            raise TypeError(
                f"replacement should be a boolean value, but got replacement={replacement}"
            )
        _check_generator(generator, "RandomSampler")
        self.data_source = data_source
        self.replacement = replacement
        self._num_samples = num_samples
        self.generator = generator
        if not _is_positive_int(self.num_samples):
            raise ValueError(
                f"num_samples should be a positive integer value, "
                f"but got num_samples={self.num_samples}"
            )

    @property
    def num_samples(self) -> int:
        """Indices per pass."""
        if self._num_samples is None:
            return len(self.data_source)
        return self._num_samples

    def __iter__(self) -> Iterator[int]:
        n, count = len(self.data_source), int(self.num_samples)
        rng = _pass_generator(self.generator)
        if self.replacement:
            return iter(rng.integers(0, n, size=count).tolist())
        # NOTE: the draws are made here, not lazily, so iter() alone advances the generator.
        parts = [rng.permutation(n) for _ in range(count // n)]
        parts.append(rng.permutation(n)[: count % n])
        return iter(np.concatenate(parts).tolist())

    def __len__(self) -> int:
        return int(self.num_samples)


class SubsetRandomSampler(Sampler[int]):
    """The given `indices` in a random order (a fresh permutation every pass).

    Examples
    --------
    >>> sorted(SubsetRandomSampler([5, 7, 9]))
    [5, 7, 9]
    """

    def __init__(
        self, indices: Iterable[int], generator: np.random.Generator | None = None
    ) -> None:
        _check_generator(generator, "SubsetRandomSampler")
        self.indices = list(indices)
        self.generator = generator

    def __iter__(self) -> Iterator[int]:
        order = _pass_generator(self.generator).permutation(len(self.indices))
        return iter([self.indices[i] for i in order.tolist()])

    def __len__(self) -> int:
        return len(self.indices)


class WeightedRandomSampler(Sampler[int]):
    """Indices ``0..len(weights)-1`` drawn with probabilities proportional to `weights`.

    Parameters
    ----------
    weights : sequence of float
        One non-negative weight per index; they need not sum to one.
    num_samples : int
        Indices per pass.
    replacement : bool, default True
        Without replacement an index is drawn at most once per pass, so `num_samples` must not
        exceed the number of non-zero weights (checked when the pass is drawn, as PyTorch does).
    generator : numpy.random.Generator, optional
        See the module's note.

    Raises
    ------
    ValueError
        When `num_samples` is not a positive int, `replacement` is not a bool, `weights` is not
        1-D, or a weight is negative or not finite, or all are zero.

    Examples
    --------
    >>> s = WeightedRandomSampler([0.0, 1.0, 0.0], 3)
    >>> list(s), len(s)
    ([1, 1, 1], 3)
    """

    def __init__(
        self,
        weights: Any,
        num_samples: int,
        replacement: bool = True,
        generator: np.random.Generator | None = None,
    ) -> None:
        if not _is_positive_int(num_samples):
            raise ValueError(
                f"num_samples should be a positive integer value, but got num_samples={num_samples}"
            )
        if not isinstance(replacement, bool):
            raise ValueError(  # noqa: TRY004 (PyTorch's type)
                f"replacement should be a boolean value, but got replacement={replacement}"
            )
        from nabla.data.dataset import as_array

        weights_array = np.asarray(as_array(weights), dtype=np.float64)
        if weights_array.ndim != 1:
            raise ValueError(
                f"weights should be a 1d sequence but given weights have shape "
                f"{tuple(weights_array.shape)}"
            )
        if not np.all(np.isfinite(weights_array)) or np.any(weights_array < 0):
            raise ValueError("WeightedRandomSampler: weights must be finite and non-negative")
        if weights_array.size == 0 or weights_array.sum() <= 0:
            raise ValueError("WeightedRandomSampler: weights must have a positive sum")
        _check_generator(generator, "WeightedRandomSampler")
        self.weights = weights_array
        self.num_samples = int(num_samples)
        self.replacement = replacement
        self.generator = generator

    def __iter__(self) -> Iterator[int]:
        nonzero = int(np.count_nonzero(self.weights))
        if not self.replacement and self.num_samples > nonzero:
            raise ValueError(
                f"WeightedRandomSampler: cannot draw num_samples={self.num_samples} without "
                f"replacement from {nonzero} non-zero weights"
            )
        rng = _pass_generator(self.generator)
        p = self.weights / self.weights.sum()
        drawn = rng.choice(len(p), size=self.num_samples, replace=self.replacement, p=p)
        return iter(drawn.tolist())

    def __len__(self) -> int:
        return self.num_samples


class BatchSampler(Sampler[list[int]]):
    """Group the indices of `sampler` into lists of `batch_size`.

    Parameters
    ----------
    sampler : Sampler or iterable of int
        The indices, in order.
    batch_size : int
        Indices per batch.
    drop_last : bool
        Drop the last batch when it is smaller than `batch_size`.

    Raises
    ------
    ValueError
        When `batch_size` is not a positive int or `drop_last` not a bool.

    Examples
    --------
    >>> list(BatchSampler(SequentialSampler(range(5)), batch_size=2, drop_last=False))
    [[0, 1], [2, 3], [4]]
    """

    def __init__(
        self, sampler: Sampler[int] | Iterable[int], batch_size: int, drop_last: bool
    ) -> None:
        if not _is_positive_int(batch_size):
            raise ValueError(
                f"batch_size should be a positive integer value, but got batch_size={batch_size}"
            )
        if not isinstance(drop_last, bool):
            raise ValueError(  # noqa: TRY004 (PyTorch's type)
                f"drop_last should be a boolean value, but got drop_last={drop_last}"
            )
        self.sampler = sampler
        self.batch_size = int(batch_size)
        self.drop_last = drop_last

    def __iter__(self) -> Iterator[list[int]]:
        batch: list[int] = []
        for index in self.sampler:
            batch.append(index)
            if len(batch) == self.batch_size:
                yield batch
                batch = []
        if batch and not self.drop_last:
            yield batch

    def __len__(self) -> int:
        n = len(self.sampler)  # type: ignore[arg-type]
        if self.drop_last:
            return n // self.batch_size
        return (n + self.batch_size - 1) // self.batch_size
