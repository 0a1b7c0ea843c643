"""DataLoader: mini-batches over a dataset, seeded shuffling and exact resume."""

from __future__ import annotations

import collections
import copy
import itertools
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import Any

import numpy as np

from nabla.data.dataset import Dataset, TensorDataset, as_array, wrap_like
from nabla.data.sampler import BatchSampler, RandomSampler, Sampler, SequentialSampler
from nabla.data.subsets import Subset
from nabla.errors import DataError


def default_collate(samples: Sequence[Any]) -> Any:
    """Stack a list of samples into one batch.

    A sample that is a tuple (or list) is collated position by position, so ``[(x0, y0), (x1,
    y1)]`` becomes ``(stack([x0, x1]), stack([y0, y1]))``. Tensors are stacked into a Tensor,
    everything else into an ndarray.

    Parameters
    ----------
    samples : sequence of samples
        What ``dataset[i]`` returned for each index of the batch.

    Returns
    -------
    batch : ndarray, Tensor or tuple of them
        Each stacked along a new first axis of length ``len(samples)``.

    Examples
    --------
    >>> import numpy as np
    >>> x, y = default_collate([(np.zeros(2), 0), (np.ones(2), 1)])
    >>> x.shape, y.tolist()
    ((2, 2), [0, 1])
    """
    if not samples:
        raise DataError("default_collate: cannot collate an empty list of samples")
    first = samples[0]
    if isinstance(first, (tuple, list)):
        widths = {len(sample) for sample in samples}
        if len(widths) != 1:
            raise DataError(f"default_collate: samples have different lengths {sorted(widths)}")
        return tuple(default_collate([sample[i] for sample in samples]) for i in range(len(first)))
    arrays = [as_array(sample) for sample in samples]
    shapes = {array.shape for array in arrays}
    if len(shapes) != 1:
        raise DataError(
            f"default_collate: cannot stack samples of shapes "
            f"{', '.join(map(str, sorted(shapes)))}"
        )
    return wrap_like(first, np.stack(arrays))


def _jsonable(value: Any) -> Any:
    """Convert a bit-generator state to JSON data (MT19937 keeps an ndarray key)."""
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.integer):
        return int(value)
    return value


def _fancy_indexable(dataset: object) -> bool:
    """A TensorDataset, or Subsets of one: a batch is one fancy index per array."""
    while isinstance(dataset, Subset):
        dataset = dataset.dataset
    return isinstance(dataset, TensorDataset)


def _check_options(
    batch_size: object,
    shuffle: bool,
    sampler: object,
    batch_sampler: object,
    drop_last: bool,
    num_workers: int,
    timeout: float,
) -> None:
    """PyTorch's checks of DataLoader's arguments, with its messages."""
    if batch_size is not None and (
        isinstance(batch_size, bool)
        or not isinstance(batch_size, (int, np.integer))
        or batch_size < 1
    ):
        raise DataError(f"DataLoader: batch_size must be a positive int, got {batch_size!r}")
    if num_workers < 0:
        raise ValueError(
            "num_workers option should be non-negative; use num_workers=0 to disable "
            "multiprocessing."
        )
    if timeout < 0:
        raise ValueError("timeout option should be non-negative")
    if sampler is not None and shuffle:
        raise ValueError("sampler option is mutually exclusive with shuffle")
    if batch_sampler is not None:
        if batch_size != 1 or shuffle or sampler is not None or drop_last:
            raise ValueError(
                "batch_sampler option is mutually exclusive with batch_size, shuffle, "
                "sampler, and drop_last"
            )
    elif batch_size is None and drop_last:
        raise ValueError(
            "batch_size=None option disables auto-batching and is mutually exclusive with "
            "drop_last"
        )


@dataclass
class _EpochProgress:
    """An epoch being iterated: the generator's state before its order was drawn (None
    without shuffling) and how many of its batches were handed out."""

    rng_before: dict[str, Any] | None
    position: int


class DataLoader:
    """Iterate over a dataset in mini-batches, optionally reshuffled every epoch.

    The arguments are ``torch.utils.data.DataLoader``'s, with its checks and messages (a
    `sampler` excludes `shuffle`; a `batch_sampler` excludes `batch_size`, `shuffle`, `sampler`
    and `drop_last`; ``batch_size=None`` yields samples one by one). ``num_workers > 0`` fetches
    up to ``num_workers * prefetch_factor`` batches ahead on worker threads (not processes),
    handed out in the sampler's order: the same batches as ``num_workers=0``. `timeout` bounds
    the wait for one batch (RuntimeError past it); `worker_init_fn` is called with the id of each
    worker thread as it starts; `pin_memory` is accepted and has no effect (host memory only).

    Parameters
    ----------
    dataset : Dataset
        A :class:`TensorDataset` (or a :class:`Subset` of one) is batched by fancy-indexing its arrays once per batch; any other
        dataset is read sample by sample and stacked with :func:`default_collate`.
    batch_size : int, default 1
        Samples per batch; the last batch may be smaller unless `drop_last`.
    shuffle : bool, default False
        Draw a fresh permutation from `generator` at the start of every epoch (``iter()``).
    sampler, batch_sampler : Sampler or iterable, optional
        The order of the indices, or of lists of them (see :mod:`nabla.data.sampler`).
    num_workers : int, default 0
        Worker threads fetching batches ahead.
    collate_fn : callable, optional
        Turns the list of samples of a batch into the batch; :func:`default_collate` (or one
        fancy index for a TensorDataset) when None.
    drop_last : bool, default False
        Drop the last, incomplete batch (as PyTorch does).
    generator : numpy.random.Generator, optional
        Source of the permutations. It is used (and advanced) in place.
    seed : int, optional
        Seed for the loader's own generator when `generator` is not given. When neither is
        given, the seed is drawn from nabla's global generator, so ``nb.manual_seed`` makes the
        shuffling reproducible (as ``torch.manual_seed`` does for PyTorch's loaders).

    Notes
    -----
    The permutation of an epoch is drawn when ``iter()`` is called, so :meth:`state_dict` taken
    between epochs (or at any point during one) describes the epochs that have not started yet:
    restoring it into a new loader over the same dataset replays them batch for batch. With a
    `sampler` or `batch_sampler` of the caller's, a mid-epoch state resumes by skipping the
    batches already handed out of a new pass of the sampler: exact for a deterministic one.
    ``state_dict(mid_epoch=True)`` also records the epoch in progress, whose remaining batches
    a restored loader yields first (the training loop's checkpoint on Ctrl-C).

    Examples
    --------
    >>> import numpy as np
    >>> ds = TensorDataset(np.arange(10.0).reshape(5, 2), np.arange(5))
    >>> loader = DataLoader(ds, batch_size=2, shuffle=True, seed=0)
    >>> len(loader), [y.shape for _, y in loader]
    (3, [(2,), (2,), (1,)])
    """

    def __init__(
        self,
        dataset: Dataset,
        batch_size: int | None = 1,
        shuffle: bool | None = None,
        sampler: Sampler[Any] | Iterable[Any] | None = None,
        batch_sampler: Sampler[Any] | Iterable[Any] | None = None,
        num_workers: int = 0,
        collate_fn: Callable[[Any], Any] | None = None,
        pin_memory: bool = False,
        drop_last: bool = False,
        timeout: float = 0,
        worker_init_fn: Callable[[int], None] | None = None,
        generator: np.random.Generator | None = None,
        *,
        prefetch_factor: int | None = None,
        persistent_workers: bool = False,
        pin_memory_device: str = "",
        seed: int | None = None,
    ) -> None:
        shuffle = bool(shuffle)
        _check_options(
            batch_size, shuffle, sampler, batch_sampler, drop_last, num_workers, timeout
        )
        if num_workers == 0 and prefetch_factor is not None:
            raise ValueError(
                "prefetch_factor option could only be specified in multiprocessing."
                "let num_workers > 0 to enable multiprocessing, otherwise set prefetch_factor "
                "to None."
            )
        if prefetch_factor is not None and prefetch_factor < 0:
            raise ValueError("prefetch_factor option should be non-negative")
        if persistent_workers and num_workers == 0:
            raise ValueError("persistent_workers option needs num_workers > 0")
        if generator is not None and seed is not None:
            raise DataError("DataLoader: pass either generator or seed, not both")
        if generator is not None and not isinstance(generator, np.random.Generator):
            raise DataError(
                f"DataLoader: generator must be a numpy.random.Generator, "
                f"got {type(generator).__name__}"
            )
        self.dataset = dataset
        self.batch_size = (
            None if batch_sampler is not None or batch_size is None else int(batch_size)
        )
        self.shuffle = shuffle
        self.drop_last = bool(drop_last)
        self.num_workers = int(num_workers)
        self.collate_fn = collate_fn
        self.pin_memory = bool(pin_memory)  # accepted; batches are host memory already
        self.pin_memory_device = pin_memory_device
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.prefetch_factor = (
            2 if num_workers > 0 and prefetch_factor is None else prefetch_factor
        )
        self.persistent_workers = bool(persistent_workers)
        self._executor: ThreadPoolExecutor | None = None
        if generator is None:
            if seed is None:
                from nabla.creation import default_generator  # lazy: creation imports Tensor

                seed = int(default_generator().integers(2**63))
            generator = np.random.default_rng(seed)
        self.generator = generator
        # the loader's own order (drawn from self.generator, resumable exactly) unless the
        # caller gave a sampler or batch sampler
        self._own_order = sampler is None and batch_sampler is None and batch_size is not None
        if sampler is None:
            sampler = (
                RandomSampler(dataset, generator=generator)
                if shuffle
                else SequentialSampler(dataset)
            )
        if batch_size is not None and batch_sampler is None:
            batch_sampler = BatchSampler(sampler, self.batch_size, self.drop_last)  # type: ignore[arg-type]
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.epoch = 0  # number of epochs started, saved with the state for the record
        self._progress: _EpochProgress | None = None  # the epoch being iterated
        self._resume: _EpochProgress | None = None  # a mid-epoch state to continue at iter()

    def __len__(self) -> int:
        """Number of batches per epoch."""
        if not self._own_order:
            source = self.batch_sampler if self.batch_sampler is not None else self.sampler
            return len(source)  # type: ignore[arg-type]
        assert self.batch_size is not None
        n_samples = len(self.dataset)
        if self.drop_last:
            return n_samples // self.batch_size
        return (n_samples + self.batch_size - 1) // self.batch_size

    def __iter__(self) -> Iterator[Any]:
        # NOTE: drawn here, not inside the generator below, so iter() alone fixes the epoch's
        # order and advances the state that state_dict() reports.
        resume, self._resume = self._resume, None
        if resume is not None:  # finish the epoch a mid-epoch state was taken in
            order = self._replayed_order(resume)
        else:
            before = dict(self.generator.bit_generator.state) if self.shuffle else None
            resume = _EpochProgress(before, 0)
            order = self._draw_order()
            self.epoch += 1
        self._progress = resume
        return self._batches(order, resume)

    def _draw_order(self) -> Any:
        if not self._own_order:
            source = self.batch_sampler if self.batch_sampler is not None else self.sampler
            return iter(source)
        n_samples = len(self.dataset)
        if self.shuffle:
            return self.generator.permutation(n_samples)
        return np.arange(n_samples)

    def _replayed_order(self, resume: _EpochProgress) -> Any:
        """The order drawn at the start of the saved epoch; the generator ends as saved."""
        after = self.generator.bit_generator.state
        if resume.rng_before is not None:
            self.generator.bit_generator.state = resume.rng_before
        order = self._draw_order()
        self.generator.bit_generator.state = after
        return order

    def _index_lists(self, order: Any, start: int) -> Iterator[Any]:
        """The epoch's batches of indices (single indices without auto-batching), from `start`."""
        if not self._own_order:
            return itertools.islice(order, start, None)
        assert self.batch_size is not None
        bs = self.batch_size
        return (order[i * bs : (i + 1) * bs] for i in range(start, len(self)))

    def _batches(self, order: Any, progress: _EpochProgress) -> Iterator[Any]:
        indices = self._index_lists(order, progress.position)
        if self.num_workers == 0:
            for batch_indices in indices:
                batch = self._fetch(batch_indices)
                progress.position += 1  # batches handed out, counted before the consumer runs
                yield batch
            return
        yield from self._threaded(indices, progress)

    def _threaded(self, indices: Iterator[Any], progress: _EpochProgress) -> Iterator[Any]:
        """Fetch up to ``num_workers * prefetch_factor`` batches ahead on worker threads and
        hand them out in the sampler's order."""
        executor = self._executor or self._start_workers()
        ahead = max(1, self.num_workers * (self.prefetch_factor or 1))
        pending: collections.deque[Future[Any]] = collections.deque()
        try:
            for batch_indices in itertools.islice(indices, ahead):
                pending.append(executor.submit(self._fetch, batch_indices))
            while pending:
                try:
                    batch = pending.popleft().result(timeout=self.timeout or None)
                except FutureTimeout:
                    raise RuntimeError(
                        f"DataLoader timed out after {self.timeout} seconds"
                    ) from None
                for batch_indices in itertools.islice(indices, 1):
                    pending.append(executor.submit(self._fetch, batch_indices))
                progress.position += 1
                yield batch
        finally:
            for future in pending:
                future.cancel()
            if not self.persistent_workers:
                executor.shutdown(wait=False, cancel_futures=True)
                self._executor = None

    def _start_workers(self) -> ThreadPoolExecutor:
        counter = itertools.count()
        init = self.worker_init_fn

        def initializer() -> None:
            if init is not None:
                init(next(counter))

        self._executor = ThreadPoolExecutor(
            max_workers=self.num_workers,
            thread_name_prefix="nabla-loader",
            initializer=initializer,
        )
        return self._executor

    def _fetch(self, indices: Any) -> Any:
        dataset: Any = self.dataset
        if self.batch_size is None and self.batch_sampler is None:  # no auto-batching
            sample = dataset[indices]
            return sample if self.collate_fn is None else self.collate_fn(sample)
        if self.collate_fn is None and _fancy_indexable(dataset):
            return dataset[np.asarray(indices, dtype=np.int64)]
        getitems = getattr(dataset, "__getitems__", None)
        index_list = [int(i) for i in indices]
        if callable(getitems):
            samples = getitems(index_list)
        else:
            samples = [dataset[i] for i in index_list]
        return (self.collate_fn or default_collate)(samples)

    def state_dict(self, mid_epoch: bool = False) -> dict[str, Any]:
        """Return the loader's resumable state as JSON-serialisable data.

        Parameters
        ----------
        mid_epoch : bool, default False
            Also record the epoch in progress (when one is: batches remain in the iterator
            last returned by ``iter()``), so that a loader restored from the state first
            finishes that epoch, yielding exactly the batches this one has not yet handed
            out. Without it (and in a state taken between epochs) a restored loader starts
            with the next epoch.

        Returns
        -------
        state : dict
            ``{"rng": generator.bit_generator.state, "epoch": int, "batch_size": int,
            "shuffle": bool, "drop_last": bool}`` (ndarrays in the rng state become lists);
            with `mid_epoch` during an epoch, also ``"epoch_rng"`` (the generator's state
            before the epoch's permutation was drawn, None without shuffling) and
            ``"position"`` (the number of batches handed out in the epoch).
        """
        state = {
            "rng": _jsonable(self.generator.bit_generator.state),
            "epoch": self.epoch,
            "batch_size": self.batch_size,
            "shuffle": self.shuffle,
            "drop_last": self.drop_last,
        }
        progress = self._progress
        if mid_epoch and progress is not None and progress.position < len(self):
            state["epoch_rng"] = _jsonable(progress.rng_before)
            state["position"] = progress.position
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore a state from :meth:`state_dict`; the next epoch replays the saved run.

        A state with a ``"position"`` (``state_dict(mid_epoch=True)`` taken during an epoch)
        makes the next ``iter()`` finish that epoch: the same order, from that batch on.

        Raises
        ------
        DataError
            When `state` has no ``"rng"`` entry, or it is for another bit generator than this
            loader's (a generator made from `seed` is PCG64), or its position is not a batch
            of this loader's epochs.
        """
        if not isinstance(state, dict) or "rng" not in state:
            keys = sorted(state) if isinstance(state, dict) else type(state).__name__
            raise DataError(
                f"DataLoader.load_state_dict: expected a dict with an 'rng' entry, got {keys}"
            )
        for key in ("batch_size", "shuffle", "drop_last"):
            if key in state and state[key] != getattr(self, key):
                raise DataError(
                    f"DataLoader.load_state_dict: state has {key}={state[key]!r}, "
                    f"this loader has {key}={getattr(self, key)!r}"
                )
        resume = self._resume_point(state)
        self._set_rng(state["rng"])
        self.epoch = int(state.get("epoch", self.epoch))
        self._progress, self._resume = None, resume

    def _resume_point(self, state: dict[str, Any]) -> _EpochProgress | None:
        """The epoch in progress that `state` records (checked), or None."""
        if state.get("position") is None:
            return None
        position, n_batches = state["position"], len(self)
        if isinstance(position, bool) or not isinstance(position, int):
            position = -1
        if not 0 <= position < n_batches:
            raise DataError(
                f"DataLoader.load_state_dict: position {state['position']!r} is not a batch of "
                f"this loader's {n_batches} per epoch (a different dataset size?)"
            )
        rng_before = state.get("epoch_rng")
        if self.shuffle:
            # check it the way the generator itself will take it
            saved = self.generator.bit_generator.state
            self._set_rng(rng_before, "epoch_rng")
            rng_before = self.generator.bit_generator.state
            self.generator.bit_generator.state = saved
        return _EpochProgress(rng_before if self.shuffle else None, position)

    def _set_rng(self, value: Any, key: str = "rng") -> None:
        rng_state = copy.deepcopy(value)
        expected = type(self.generator.bit_generator).__name__
        found = rng_state.get("bit_generator") if isinstance(rng_state, dict) else None
        if found != expected:
            raise DataError(
                f"DataLoader.load_state_dict: state is for bit generator {found!r}, "
                f"this loader uses {expected!r}"
            )
        try:
            self.generator.bit_generator.state = rng_state
        except (TypeError, ValueError, KeyError) as error:
            raise DataError(f"DataLoader.load_state_dict: invalid {key} state: {error}") from error

    def __repr__(self) -> str:
        return (
            f"DataLoader({self.dataset!r}, batch_size={self.batch_size}, "
            f"shuffle={self.shuffle}, drop_last={self.drop_last})"
        )
