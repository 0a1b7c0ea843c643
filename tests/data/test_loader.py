"""DataLoader batching, shuffling, drop_last, determinism and exact resume."""

import json

import numpy as np
import pytest

import nabla as nb
from nabla.data import DataLoader, Dataset, TensorDataset
from nabla.errors import DataError
from nabla.tensor import Tensor


def make_dataset(n_samples: int = 10) -> TensorDataset:
    X = np.arange(n_samples * 2, dtype=np.float32).reshape(n_samples, 2)
    return TensorDataset(X, np.arange(n_samples))


def epoch_labels(loader: DataLoader) -> list[list[int]]:
    return [y.tolist() for _, y in loader]


class SquaresDataset(Dataset):
    """A generic (non-Tensor) dataset: sample i is (i, i**2) as arrays."""

    def __init__(self, n_samples: int) -> None:
        self.n_samples = n_samples

    def __getitem__(self, index: int) -> tuple[np.ndarray, int]:
        if not 0 <= index < self.n_samples:
            raise IndexError(index)
        return np.array([index, index**2], dtype=np.float32), index

    def __len__(self) -> int:
        return self.n_samples


@pytest.mark.parametrize(
    ("n_samples", "batch_size", "drop_last", "expected_sizes"),
    [
        (10, 3, False, [3, 3, 3, 1]),
        (10, 3, True, [3, 3, 3]),
        (9, 3, True, [3, 3, 3]),
        (2, 5, False, [2]),
        (2, 5, True, []),
        (0, 4, False, []),
    ],
)
def test_batch_sizes_and_len(
    n_samples: int, batch_size: int, drop_last: bool, expected_sizes: list[int]
) -> None:
    loader = DataLoader(make_dataset(n_samples), batch_size=batch_size, drop_last=drop_last)
    assert len(loader) == len(expected_sizes)
    assert [len(y) for y in epoch_labels(loader)] == expected_sizes


def test_without_shuffle_batches_are_in_order() -> None:
    loader = DataLoader(make_dataset(5), batch_size=2)
    batches = list(loader)
    np.testing.assert_array_equal(batches[0][0], [[0.0, 1.0], [2.0, 3.0]])
    assert epoch_labels(loader) == [[0, 1], [2, 3], [4]]


def test_shuffle_visits_every_sample_once_and_reshuffles_each_epoch() -> None:
    loader = DataLoader(make_dataset(50), batch_size=8, shuffle=True, seed=0)
    first = [label for batch in epoch_labels(loader) for label in batch]
    second = [label for batch in epoch_labels(loader) for label in batch]
    assert sorted(first) == sorted(second) == list(range(50))
    assert first != second
    assert first != list(range(50))


def test_rows_stay_aligned_with_labels_after_shuffle() -> None:
    for x_batch, y_batch in DataLoader(make_dataset(20), batch_size=6, shuffle=True, seed=1):
        np.testing.assert_array_equal(x_batch[:, 0], 2 * y_batch)


def test_same_seed_gives_same_batches() -> None:
    runs = []
    for _ in range(2):
        loader = DataLoader(make_dataset(30), batch_size=4, shuffle=True, seed=7)
        runs.append([epoch_labels(loader) for _ in range(3)])
    assert runs[0] == runs[1]
    other = DataLoader(make_dataset(30), batch_size=4, shuffle=True, seed=8)
    assert epoch_labels(other) != runs[0][0]


def test_generator_is_used_in_place() -> None:
    generator = np.random.default_rng(3)
    loader = DataLoader(make_dataset(10), batch_size=10, shuffle=True, generator=generator)
    assert loader.generator is generator
    expected = np.random.default_rng(3).permutation(10).tolist()
    assert epoch_labels(loader) == [expected]


def test_manual_seed_makes_an_unseeded_loader_reproducible() -> None:
    runs = []
    for _ in range(2):
        nb.manual_seed(123)
        runs.append(epoch_labels(DataLoader(make_dataset(20), batch_size=5, shuffle=True)))
    assert runs[0] == runs[1]


def test_tensor_dataset_is_fetched_with_one_index_per_batch() -> None:
    calls: list[object] = []

    class CountingDataset(TensorDataset):
        def __getitem__(self, index: object) -> tuple[object, ...]:
            calls.append(index)
            return super().__getitem__(index)

    dataset = CountingDataset(np.zeros((10, 2)), np.arange(10))
    loader = DataLoader(dataset, batch_size=4, shuffle=True, seed=0)
    assert len(list(loader)) == 3
    assert len(calls) == 3
    assert all(isinstance(index, np.ndarray) for index in calls)


def test_tensor_items_yield_tensors() -> None:
    dataset = TensorDataset(Tensor(np.ones((6, 3), dtype=np.float32)), Tensor(np.arange(6)))
    x_batch, y_batch = next(iter(DataLoader(dataset, batch_size=4)))
    assert isinstance(x_batch, Tensor)
    assert isinstance(y_batch, Tensor)
    assert x_batch.data.shape == (4, 3)
    np.testing.assert_array_equal(y_batch.data, [0, 1, 2, 3])


def test_generic_dataset_is_collated_by_stacking() -> None:
    loader = DataLoader(SquaresDataset(5), batch_size=2, drop_last=True)
    batches = list(loader)
    assert len(batches) == 2
    x_batch, index_batch = batches[1]
    np.testing.assert_array_equal(x_batch, [[2.0, 4.0], [3.0, 9.0]])
    np.testing.assert_array_equal(index_batch, [2, 3])


def train_epochs(loader: DataLoader, n_epochs: int) -> list[list[list[int]]]:
    return [epoch_labels(loader) for _ in range(n_epochs)]


def test_resume_after_an_epoch_replays_the_remaining_epochs() -> None:
    uninterrupted = DataLoader(make_dataset(23), batch_size=5, shuffle=True, seed=11)
    expected = train_epochs(uninterrupted, 4)

    first = DataLoader(make_dataset(23), batch_size=5, shuffle=True, seed=11)
    assert train_epochs(first, 2) == expected[:2]
    saved = json.loads(json.dumps(first.state_dict()))  # through a checkpoint file
    assert saved["epoch"] == 2

    resumed = DataLoader(make_dataset(23), batch_size=5, shuffle=True, seed=999)
    resumed.load_state_dict(saved)
    assert train_epochs(resumed, 2) == expected[2:]
    assert resumed.epoch == 4


def test_resume_from_a_state_taken_mid_epoch_starts_the_next_epoch() -> None:
    reference = DataLoader(make_dataset(12), batch_size=4, shuffle=True, seed=5)
    expected = train_epochs(reference, 2)
    loader = DataLoader(make_dataset(12), batch_size=4, shuffle=True, seed=5)
    batches = iter(loader)
    next(batches)
    state = loader.state_dict()
    resumed = DataLoader(make_dataset(12), batch_size=4, shuffle=True, seed=0)
    resumed.load_state_dict(state)
    assert epoch_labels(resumed) == expected[1]


def test_state_of_an_mt19937_generator_survives_json() -> None:
    def make() -> DataLoader:
        generator = np.random.Generator(np.random.MT19937(4))
        return DataLoader(make_dataset(9), batch_size=3, shuffle=True, generator=generator)

    loader = make()
    epoch_labels(loader)
    state = json.loads(json.dumps(loader.state_dict()))
    expected = epoch_labels(loader)
    resumed = make()
    resumed.load_state_dict(state)
    assert epoch_labels(resumed) == expected


def test_load_state_dict_rejects_bad_states() -> None:
    loader = DataLoader(make_dataset(4), batch_size=2, shuffle=True, seed=0)
    with pytest.raises(DataError, match="'rng' entry"):
        loader.load_state_dict({"epoch": 1})
    mt_state = np.random.Generator(np.random.MT19937(0)).bit_generator.state
    with pytest.raises(DataError, match=r"'MT19937'.*'PCG64'"):
        loader.load_state_dict({"rng": mt_state})
    other = DataLoader(make_dataset(4), batch_size=3, shuffle=True, seed=0).state_dict()
    with pytest.raises(DataError, match=r"batch_size=3.*batch_size=2"):
        loader.load_state_dict(other)


@pytest.mark.parametrize("batch_size", [0, -1, 2.5, True])
def test_bad_batch_size_is_an_error(batch_size: object) -> None:
    with pytest.raises(DataError, match="batch_size must be a positive int"):
        DataLoader(make_dataset(), batch_size=batch_size)  # type: ignore[arg-type]


def test_generator_and_seed_are_exclusive_and_checked() -> None:
    with pytest.raises(DataError, match="not both"):
        DataLoader(make_dataset(), generator=np.random.default_rng(0), seed=0)
    with pytest.raises(DataError, match=r"numpy\.random\.Generator, got RandomState"):
        DataLoader(make_dataset(), generator=np.random.RandomState(0))  # type: ignore[arg-type]


# ----- mid-epoch resume (issue 15: Ctrl-C keeps the work) ------------------------------------


@pytest.mark.parametrize("shuffle", [True, False])
@pytest.mark.parametrize("drop_last", [True, False])
@pytest.mark.parametrize("taken", [0, 1, 3])
def test_mid_epoch_state_finishes_the_epoch_then_continues(
    shuffle: bool, drop_last: bool, taken: int
) -> None:
    # 23 samples in batches of 5: 5 batches (4 with drop_last); the reference is the plain
    # sequence of batches a loader yields over three epochs
    def make(seed: int = 7) -> DataLoader:
        return DataLoader(
            make_dataset(23), batch_size=5, shuffle=shuffle, drop_last=drop_last, seed=seed
        )

    reference = make()
    expected = [epoch_labels(reference) for _ in range(3)]
    loader = make()
    assert epoch_labels(loader) == expected[0]
    batches = iter(loader)
    got = [next(batches)[1].tolist() for _ in range(taken)]
    state = json.loads(json.dumps(loader.state_dict(mid_epoch=True)))  # through a checkpoint
    assert state["position"] == taken and state["epoch"] == 2

    resumed = make(seed=999)
    resumed.load_state_dict(state)
    rest = epoch_labels(resumed)
    assert got + rest == expected[1]
    assert len(rest) == len(expected[1]) - taken
    assert epoch_labels(resumed) == expected[2]
    assert resumed.epoch == 3
    assert resumed.state_dict() == reference.state_dict()


def test_mid_epoch_state_of_a_finished_or_unstarted_epoch_has_no_position() -> None:
    loader = DataLoader(make_dataset(6), batch_size=3, shuffle=True, seed=1)
    assert "position" not in loader.state_dict(mid_epoch=True)  # nothing started
    batches = iter(loader)
    next(batches)
    assert "position" not in loader.state_dict()  # only when asked for
    next(batches)  # the last batch handed out: the epoch has nothing left
    assert "position" not in loader.state_dict(mid_epoch=True)


def test_mid_epoch_state_with_an_mt19937_generator() -> None:
    def make(seed: int) -> DataLoader:
        generator = np.random.Generator(np.random.MT19937(seed))
        return DataLoader(make_dataset(10), batch_size=3, shuffle=True, generator=generator)

    reference = make(4)
    expected = epoch_labels(reference) + epoch_labels(reference)
    loader = make(4)
    epoch_labels(loader)
    batches = iter(loader)
    first = [next(batches)[1].tolist()]
    state = json.loads(json.dumps(loader.state_dict(mid_epoch=True)))
    resumed = make(0)
    resumed.load_state_dict(state)
    assert first + epoch_labels(resumed) == expected[4:]


def test_mid_epoch_state_of_a_generic_dataset() -> None:
    reference = DataLoader(SquaresDataset(9), batch_size=2, shuffle=True, seed=3)
    expected = [x.tolist() for x, _ in reference]
    loader = DataLoader(SquaresDataset(9), batch_size=2, shuffle=True, seed=3)
    batches = iter(loader)
    got = [next(batches)[0].tolist() for _ in range(2)]
    resumed = DataLoader(SquaresDataset(9), batch_size=2, shuffle=True, seed=0)
    resumed.load_state_dict(loader.state_dict(mid_epoch=True))
    assert got + [x.tolist() for x, _ in resumed] == expected


def test_a_shared_generator_drawn_from_mid_epoch_resumes_exactly() -> None:
    # another user of the generator draws after every batch (augmentation, say): the restored
    # generator must be in the saved state, not the state right after the epoch's permutation
    def run(interrupt_after: int | None) -> list[object]:
        generator = np.random.default_rng(5)
        loader = DataLoader(make_dataset(12), batch_size=4, shuffle=True, generator=generator)
        events: list[object] = []
        batches = iter(loader)
        for step in range(6):  # two epochs of three batches
            try:
                _, y = next(batches)
            except StopIteration:
                batches = iter(loader)
                _, y = next(batches)
            events += [y.tolist(), float(generator.random())]
            if step == interrupt_after:
                state = json.loads(json.dumps(loader.state_dict(mid_epoch=True)))
                generator = np.random.default_rng(123)
                loader = DataLoader(
                    make_dataset(12), batch_size=4, shuffle=True, generator=generator
                )
                loader.load_state_dict(state)
                batches = iter(loader)
        return events

    uninterrupted = run(None)
    for interrupt_after in (0, 1, 3, 4):
        assert run(interrupt_after) == uninterrupted, interrupt_after


def test_load_state_dict_rejects_a_position_outside_the_epoch() -> None:
    loader = DataLoader(make_dataset(10), batch_size=5, shuffle=True, seed=0)
    batches = iter(loader)
    next(batches)
    state = loader.state_dict(mid_epoch=True)
    smaller = DataLoader(make_dataset(10), batch_size=5, shuffle=True, seed=0)
    for position in (2, -1, "1", True):
        with pytest.raises(DataError, match=r"position .* is not a batch of this loader's 2"):
            smaller.load_state_dict({**state, "position": position})
    mt_state = np.random.Generator(np.random.MT19937(0)).bit_generator.state
    with pytest.raises(DataError, match=r"'MT19937'.*'PCG64'"):
        smaller.load_state_dict({**state, "epoch_rng": mt_state})
    assert epoch_labels(smaller) == epoch_labels(
        DataLoader(make_dataset(10), batch_size=5, shuffle=True, seed=0)
    )  # a refused state changed nothing


# --- torch.utils.data's arguments: sampler, batch_sampler, collate_fn, num_workers -------------


def as_numpy(batch: object) -> object:
    """A torch or nabla batch as nested lists of ndarrays, for comparisons."""
    if isinstance(batch, (tuple, list)):
        return [as_numpy(item) for item in batch]
    if hasattr(batch, "numpy"):
        return batch.numpy()  # type: ignore[attr-defined]
    return np.asarray(batch)


def assert_same_batches(ours: list[object], theirs: list[object]) -> None:
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs, strict=True):
        for x, y in zip(as_numpy(a), as_numpy(b), strict=True):  # type: ignore[call-overload]
            np.testing.assert_array_equal(x, y)
            assert x.dtype == y.dtype
            assert x.shape == y.shape


@pytest.mark.parametrize("n_samples", [0, 1, 7, 8])
@pytest.mark.parametrize("batch_size", [1, 3, 8])
@pytest.mark.parametrize("drop_last", [False, True])
def test_sequential_batches_match_torch(n_samples: int, batch_size: int, drop_last: bool) -> None:
    torch = pytest.importorskip("torch")
    from nabla.data.sampler import SequentialSampler

    ds = SquaresDataset(n_samples)
    ours = DataLoader(ds, batch_size, sampler=SequentialSampler(ds), drop_last=drop_last)
    theirs = torch.utils.data.DataLoader(ds, batch_size, drop_last=drop_last)
    assert len(ours) == len(theirs)
    assert_same_batches(list(ours), list(theirs))
    fast = DataLoader(make_dataset(n_samples), batch_size, drop_last=drop_last)
    assert [len(y) for _, y in fast] == [len(y) for _, y in theirs]


def test_batch_sampler_and_no_auto_batching_match_torch() -> None:
    torch = pytest.importorskip("torch")
    from nabla.data.sampler import BatchSampler, SequentialSampler

    ds = SquaresDataset(7)
    batches = [[6, 0], [1, 2, 3], [5]]
    ours = DataLoader(ds, batch_sampler=batches)
    theirs = torch.utils.data.DataLoader(ds, batch_sampler=batches)
    assert len(ours) == len(theirs) == 3
    assert_same_batches(list(ours), list(theirs))
    sampler = BatchSampler(SequentialSampler(ds), 3, drop_last=True)
    assert len(DataLoader(ds, batch_sampler=sampler)) == 2
    single = DataLoader(ds, batch_size=None)
    their_single = torch.utils.data.DataLoader(ds, batch_size=None)
    assert len(single) == len(their_single) == 7
    for (x, i), (tx, ti) in zip(single, their_single, strict=True):
        np.testing.assert_array_equal(x, tx.numpy())
        assert i == int(ti)


def test_collate_fn_receives_the_same_sample_lists_as_torch() -> None:
    torch = pytest.importorskip("torch")
    seen: dict[str, list[list[int]]] = {"ours": [], "theirs": []}

    def recorder(key: str):  # type: ignore[no-untyped-def]
        def collate(samples: list[tuple[np.ndarray, int]]) -> int:
            seen[key].append([int(i) for _, i in samples])
            return len(samples)

        return collate

    ds = SquaresDataset(10)
    ours = list(DataLoader(ds, batch_size=4, collate_fn=recorder("ours")))
    theirs = list(torch.utils.data.DataLoader(ds, batch_size=4, collate_fn=recorder("theirs")))
    assert ours == theirs == [4, 4, 2]
    assert seen["ours"] == seen["theirs"]
    tensor_ds = make_dataset(5)  # the fancy-index path is not taken with a collate_fn
    sizes = list(DataLoader(tensor_ds, batch_size=2, collate_fn=lambda s: [len(s), len(s[0])]))
    assert sizes == [[2, 2], [2, 2], [1, 2]]


def test_random_sampler_in_a_loader_visits_everything() -> None:
    from nabla.data.sampler import RandomSampler, WeightedRandomSampler

    ds = make_dataset(10)
    sampler = RandomSampler(ds, generator=np.random.default_rng(0))
    labels = sorted(
        i for _, y in DataLoader(ds, batch_size=3, sampler=sampler) for i in y.tolist()
    )
    assert labels == list(range(10))
    weighted = WeightedRandomSampler(np.ones(10), 25, generator=np.random.default_rng(0))
    loader = DataLoader(ds, batch_size=4, sampler=weighted)
    assert len(loader) == 7
    assert [len(y) for _, y in loader] == [4] * 6 + [1]


ERROR_CASES = [
    ({"sampler": [0, 1], "shuffle": True}, ValueError),
    ({"batch_sampler": [[0]], "batch_size": 2}, ValueError),
    ({"batch_sampler": [[0]], "shuffle": True}, ValueError),
    ({"batch_sampler": [[0]], "sampler": [0]}, ValueError),
    ({"batch_sampler": [[0]], "drop_last": True}, ValueError),
    ({"batch_size": None, "drop_last": True}, ValueError),
    ({"num_workers": -1}, ValueError),
    ({"timeout": -1}, ValueError),
    ({"prefetch_factor": 2}, ValueError),
    ({"persistent_workers": True}, ValueError),
]


@pytest.mark.parametrize(("kwargs", "error"), ERROR_CASES)
def test_argument_errors_match_torch(kwargs: dict[str, object], error: type) -> None:
    torch = pytest.importorskip("torch")
    ds = SquaresDataset(4)
    with pytest.raises(error) as theirs:
        torch.utils.data.DataLoader(ds, **kwargs)
    with pytest.raises(error) as ours:
        DataLoader(ds, **kwargs)  # type: ignore[arg-type]
    assert str(ours.value) == str(theirs.value)


class SlowDataset(SquaresDataset):
    """Samples take a random short time, so worker threads finish out of order."""

    def __init__(self, n_samples: int, fail_at: int | None = None) -> None:
        super().__init__(n_samples)
        self.fail_at = fail_at
        self.sleeps = np.random.default_rng(0).uniform(0, 0.004, n_samples)

    def __getitem__(self, index: int) -> tuple[np.ndarray, int]:
        import time

        if index == self.fail_at:
            raise KeyError(f"sample {index} is broken")
        time.sleep(float(self.sleeps[index]))
        return super().__getitem__(index)


@pytest.mark.parametrize("num_workers", [1, 3])
@pytest.mark.parametrize("persistent", [False, True])
def test_worker_threads_give_the_same_batches_in_order(num_workers: int, persistent: bool) -> None:
    ds = SlowDataset(23)
    serial = DataLoader(ds, batch_size=4, shuffle=True, seed=5)
    threaded = DataLoader(
        ds, batch_size=4, shuffle=True, seed=5, num_workers=num_workers,
        persistent_workers=persistent, prefetch_factor=3,
    )  # fmt: skip
    for _ in range(2):  # two epochs: the reshuffle too
        assert_same_batches(list(threaded), list(serial))
    tensor_serial = DataLoader(make_dataset(11), batch_size=3, shuffle=True, seed=1)
    tensor_threaded = DataLoader(
        make_dataset(11), batch_size=3, shuffle=True, seed=1, num_workers=num_workers
    )
    assert_same_batches(list(tensor_threaded), list(tensor_serial))


def test_worker_init_fn_errors_and_timeout() -> None:
    started: list[int] = []
    loader = DataLoader(SlowDataset(8), batch_size=2, num_workers=2, worker_init_fn=started.append)
    assert len(list(loader)) == 4
    assert started and set(started) <= {0, 1} and len(set(started)) == len(started)
    broken = DataLoader(SlowDataset(8, fail_at=5), batch_size=2, num_workers=2)
    with pytest.raises(KeyError, match="sample 5 is broken"):
        list(broken)

    class Stuck(SquaresDataset):
        def __getitem__(self, index: int) -> tuple[np.ndarray, int]:
            import time

            time.sleep(0.5)
            return super().__getitem__(index)

    slow = DataLoader(Stuck(2), batch_size=1, num_workers=1, timeout=0.05)
    with pytest.raises(RuntimeError, match=r"DataLoader timed out after 0\.05 seconds"):
        list(slow)


def test_worker_threads_resume_mid_epoch_exactly() -> None:
    def loader() -> DataLoader:
        return DataLoader(SlowDataset(17), batch_size=3, shuffle=True, seed=2, num_workers=2)

    reference = loader()
    expected = [epoch_labels(reference) for _ in range(2)]
    first = loader()
    iterator = iter(first)
    head = [next(iterator)[1].tolist() for _ in range(2)]
    state = json.loads(json.dumps(first.state_dict(mid_epoch=True)))
    restored = loader()
    restored.load_state_dict(state)
    assert head + epoch_labels(restored) == expected[0]
    assert epoch_labels(restored) == expected[1]


def test_subsets_from_random_split_batch_like_their_samples() -> None:
    from nabla.data.subsets import random_split

    train, _ = random_split(make_dataset(10), [0.7, 0.3], np.random.default_rng(0))
    fast = list(DataLoader(train, batch_size=3))
    slow = list(DataLoader(train, batch_size=3, collate_fn=nb.data.default_collate))
    assert_same_batches(fast, slow)
    assert sorted(i for _, y in fast for i in y.tolist()) == sorted(train.indices)
