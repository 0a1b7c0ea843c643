"""Samplers: lengths and batch structure as torch.utils.data's, distributions checked statistically."""

from __future__ import annotations

import numpy as np
import pytest

import nabla as nb
from nabla.data.sampler import (
    BatchSampler,
    RandomSampler,
    Sampler,
    SequentialSampler,
    SubsetRandomSampler,
    WeightedRandomSampler,
)


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


@pytest.mark.parametrize("n", [0, 1, 7])
def test_sequential_sampler_matches_torch(n: int) -> None:
    torch = pytest.importorskip("torch")
    ours, theirs = SequentialSampler(range(n)), torch.utils.data.SequentialSampler(range(n))
    assert list(ours) == list(theirs)
    assert len(ours) == len(theirs)


def test_sampler_base_needs_iter() -> None:
    class Evens(Sampler[int]):
        def __iter__(self):  # type: ignore[no-untyped-def]
            return iter([0, 2, 4])

    assert list(Evens()) == [0, 2, 4]
    with pytest.raises(NotImplementedError, match="Sampler must implement __iter__"):
        iter(Sampler())


@pytest.mark.parametrize("num_samples", [None, 3, 10, 23])
def test_random_sampler_without_replacement_is_whole_permutations(num_samples: int | None) -> None:
    torch = pytest.importorskip("torch")
    n = 10
    ours = RandomSampler(range(n), num_samples=num_samples, generator=rng())
    theirs = torch.utils.data.RandomSampler(range(n), num_samples=num_samples)
    drawn = list(ours)
    assert len(drawn) == len(ours) == len(theirs) == len(list(theirs))
    for start in range(0, len(drawn), n):  # each full block is a permutation, the rest no repeats
        block = drawn[start : start + n]
        assert len(set(block)) == len(block)
        assert set(block) <= set(range(n))
    assert all(isinstance(i, int) for i in drawn)


def test_random_sampler_with_replacement_is_uniform() -> None:
    torch = pytest.importorskip("torch")
    n, count = 5, 50_000
    ours = RandomSampler(range(n), replacement=True, num_samples=count, generator=rng(1))
    assert len(ours) == len(torch.utils.data.RandomSampler(range(n), True, count))
    counts = np.bincount(list(ours), minlength=n)
    expected = count / n
    chi2 = float(((counts - expected) ** 2 / expected).sum())
    assert chi2 < 20.5  # chi-square, 4 dof: p ~ 4e-4
    assert counts.sum() == count


def test_random_sampler_is_seeded_and_reshuffles() -> None:
    a = RandomSampler(range(20), generator=rng(3))
    b = RandomSampler(range(20), generator=rng(3))
    first_a, first_b = list(a), list(b)
    assert first_a == first_b
    assert list(a) != first_a  # the generator advanced
    nb.manual_seed(4)
    unseeded = list(RandomSampler(range(20)))
    nb.manual_seed(4)
    assert list(RandomSampler(range(20))) == unseeded


def test_random_sampler_errors_match_torch() -> None:
    torch = pytest.importorskip("torch")
    for kwargs, error in [
        ({"replacement": 1}, TypeError),
        ({"num_samples": 0}, ValueError),
        ({"num_samples": -2}, ValueError),
        ({"num_samples": 2.5}, ValueError),
    ]:
        with pytest.raises(error) as theirs:
            torch.utils.data.RandomSampler(range(3), **kwargs)
        with pytest.raises(error) as ours:
            RandomSampler(range(3), **kwargs)  # type: ignore[arg-type]
        assert str(ours.value) == str(theirs.value)
    with pytest.raises(TypeError, match=r"numpy\.random\.Generator"):
        RandomSampler(range(3), generator=42)  # type: ignore[arg-type]


def test_subset_random_sampler() -> None:
    s = SubsetRandomSampler([4, 8, 15, 16], generator=rng())
    assert sorted(s) == [4, 8, 15, 16]
    assert len(s) == 4


def test_weighted_sampler_follows_weights() -> None:
    torch = pytest.importorskip("torch")
    weights, count = [1.0, 2.0, 0.0, 5.0], 40_000
    ours = WeightedRandomSampler(weights, count, generator=rng(2))
    assert len(ours) == len(torch.utils.data.WeightedRandomSampler(weights, count))
    counts = np.bincount(list(ours), minlength=4)
    assert counts[2] == 0
    p = np.array(weights) / sum(weights)
    nonzero = p > 0
    expected = count * p[nonzero]
    chi2 = float(((counts[nonzero] - expected) ** 2 / expected).sum())
    assert chi2 < 15.2  # 2 dof: p ~ 5e-4


def test_weighted_sampler_without_replacement_never_repeats() -> None:
    s = WeightedRandomSampler(np.arange(1.0, 11.0), 10, replacement=False, generator=rng())
    assert sorted(s) == list(range(10))
    few = WeightedRandomSampler([1.0, 0.0, 1.0], 3, replacement=False)
    with pytest.raises(ValueError, match="num_samples=3 without replacement from 2"):
        list(few)


def test_weighted_sampler_errors_match_torch() -> None:
    torch = pytest.importorskip("torch")
    for args, kwargs in [
        (([1.0], 0), {}),
        (([1.0], 1), {"replacement": 0}),
        (([[1.0]], 1), {}),
    ]:
        with pytest.raises(ValueError) as theirs:
            torch.utils.data.WeightedRandomSampler(*args, **kwargs)
        with pytest.raises(ValueError) as ours:
            WeightedRandomSampler(*args, **kwargs)
        assert str(ours.value) == str(theirs.value)
    with pytest.raises(ValueError, match="non-negative"):
        WeightedRandomSampler([1.0, -1.0], 2)
    with pytest.raises(ValueError, match="positive sum"):
        WeightedRandomSampler([0.0, 0.0], 2)


@pytest.mark.parametrize("n", [0, 1, 9, 10, 11])
@pytest.mark.parametrize("batch_size", [1, 3, 10])
@pytest.mark.parametrize("drop_last", [False, True])
def test_batch_sampler_matches_torch(n: int, batch_size: int, drop_last: bool) -> None:
    torch = pytest.importorskip("torch")
    ours = BatchSampler(SequentialSampler(range(n)), batch_size, drop_last)
    theirs = torch.utils.data.BatchSampler(
        torch.utils.data.SequentialSampler(range(n)), batch_size, drop_last
    )
    assert list(ours) == list(theirs)
    assert len(ours) == len(theirs)


def test_batch_sampler_errors_match_torch() -> None:
    torch = pytest.importorskip("torch")
    for batch_size, drop_last in [(0, False), (True, False), (2.0, False), (2, 1)]:
        with pytest.raises(ValueError) as theirs:
            torch.utils.data.BatchSampler(range(4), batch_size, drop_last)
        with pytest.raises(ValueError) as ours:
            BatchSampler(range(4), batch_size, drop_last)  # type: ignore[arg-type]
        assert str(ours.value) == str(theirs.value)
