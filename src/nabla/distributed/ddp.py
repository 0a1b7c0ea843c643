"""Data-parallel training: every rank runs the same model on its share of each global batch,
and after each backward pass the gradients are combined so that every rank holds the gradient
of the whole global batch.

The gradient of a loss that is a mean over the global batch of B = Σ_r b_r rows, when rank r
holds the gradient g_r of the mean over its own b_r rows, is Σ_r b_r g_r / Σ_r b_r. After each
backward, :class:`DistributedDataParallel` packs b_r·g_r of every parameter, in parameter order,
followed by b_r, into one flat buffer per dtype, allreduces it once, and unpacks the sums
divided by Σ_r b_r. The communicator sums in rank order, so the result is bitwise reproducible
for a given number of ranks, and equal to one process with the whole batch up to round-off.
"""

from __future__ import annotations

import contextlib
import weakref
from collections.abc import Iterator
from typing import Any

import numpy as np

from nabla.autograd.callbacks import queue_callback
from nabla.autograd.mode import is_grad_enabled
from nabla.distributed.communicator import Communicator, DistributedError
from nabla.nn.module import Module

__all__ = ["DistributedDataParallel", "broadcast_optimizer_state", "default_communicator"]


#: the wrapper whose hooks a module's parameters carry (a new wrapper removes the old one's)
_WRAPPERS: weakref.WeakKeyDictionary[Module, DistributedDataParallel] = weakref.WeakKeyDictionary()


def default_communicator() -> Communicator:
    """``nabla.distributed.get_communicator()``: the communicator of this process's job."""
    from nabla import distributed

    get = getattr(distributed, "get_communicator", None)
    if get is None:
        raise DistributedError(
            "no communicator given and nabla.distributed.get_communicator() is not available: "
            "pass comm= (a ThreadCommunicator from run_threads, or an MPI one)"
        )
    comm: Communicator = get()
    return comm


def _by_dtype(arrays: list[np.ndarray[Any, Any]]) -> dict[np.dtype[Any], list[int]]:
    """Positions of ``arrays`` grouped by dtype, each group in the original (fixed) order."""
    groups: dict[np.dtype[Any], list[int]] = {}
    for i, a in enumerate(arrays):
        groups.setdefault(a.dtype, []).append(i)
    return groups


def broadcast_arrays(
    comm: Communicator, arrays: list[np.ndarray[Any, Any]], root: int = 0
) -> None:
    """Overwrite every array in place with ``root``'s: one flat buffer per dtype."""
    for dtype, positions in _by_dtype(arrays).items():
        flat = np.concatenate([arrays[i].ravel() for i in positions]).astype(dtype, copy=False)
        comm.broadcast(flat, root)
        offset = 0
        for i in positions:
            n = arrays[i].size
            arrays[i][...] = flat[offset : offset + n].reshape(arrays[i].shape)
            offset += n


class DistributedDataParallel(Module):
    """Wrap ``module`` for data-parallel training over the ranks of ``comm``.

    Parameters
    ----------
    module : Module
        The model. Every rank builds it the same way; at construction its parameters and
        buffers are overwritten by rank 0's (a collective: every rank constructs the wrapper).
    comm : Communicator, optional
        Defaults to ``nabla.distributed.get_communicator()``.
    reduction : {"mean", "sum"}
        How each rank's loss combines its rows. ``"mean"`` (a mean over the local batch): the
        gradients are weighted by the local row counts b_r, so that an uneven last batch gives
        the gradient of the mean over the global batch. ``"sum"`` (a sum over rows): the
        gradients are summed.
    broadcast_buffers : bool, default True
        Before each forward with grad recording, overwrite the buffers (BatchNorm's running
        statistics) with rank 0's, as PyTorch does (one broadcast per dtype; none when the
        module has no buffers). With False each rank keeps its own.

    Notes
    -----
    - **Forward** calls ``module`` unchanged. A forward with grad recording counts the rows of
      its first input (``shape[0]``) as this rank's weight; the counts add up until the next
      synchronisation (several forwards under :meth:`no_sync`).
    - **Backward**: a hook on each parameter queues one synchronisation at the end of the
      backward pass (:func:`nabla.autograd.queue_callback`); it runs when every ``.grad`` of
      the pass is final. One allreduce per dtype per step, whatever the number of parameters.
      Every rank must run backward the same number of times, each reaching a parameter (the
      collectives must line up; a missing rank makes the others time out naming it).
    - **A rank with no rows** in a step (an uneven last batch) still takes part: it runs the
      same forward and backward on its empty batch (its loss, a mean over 0 rows, is nan; that
      is harmless: a weight of 0 selects zeros, it never multiplies the nan), or, without a
      forward (or with a module that refuses an empty batch, as BatchNorm does in training),
      calls :meth:`join_empty` where the others call forward and backward.
    - A parameter that has no gradient on a rank (unused in its forward) counts as zeros there.
      After synchronisation every parameter that requires grad has a ``.grad``.
    - :meth:`no_sync` accumulates gradients locally; the first backward after it synchronises
      the accumulated ``.grad`` weighted by the rows of all the forwards since the last
      synchronisation. That equals one process accumulating the same global micro-batches
      when each rank's micro-batches have the same size (an exact weighting of micro-batches
      of varying sizes would need a collective per micro-batch).
    - ``state_dict()`` keys start with ``"module."``, as PyTorch's; save ``ddp.module`` for
      plain keys. ``parameters()`` are the module's, in its order.
    - ``nb.grad`` through the model also triggers a synchronisation of ``.grad`` (every rank
      must then call it alike); train with ``backward()``.
    - Dropout and other randomness: each rank should draw different masks (seed each rank
      differently, e.g. ``nb.manual_seed(seed + rank)`` after the model is built; the
      initial weights come from rank 0 anyway).
    """

    serializable = False

    def __init__(
        self,
        module: Module,
        comm: Communicator | None = None,
        reduction: str = "mean",
        broadcast_buffers: bool = True,
    ) -> None:
        super().__init__()
        if not isinstance(module, Module):
            raise TypeError(
                f"DistributedDataParallel: module must be a Module, got {type(module).__name__}"
            )
        if reduction not in ("mean", "sum"):
            raise ValueError(
                f"DistributedDataParallel: reduction must be 'mean' or 'sum', got {reduction!r}"
            )
        self.module = module
        self.comm = comm if comm is not None else default_communicator()
        self.reduction = reduction
        self.broadcast_buffers = bool(broadcast_buffers)
        #: synchronise at the end of each backward (False inside :meth:`no_sync`)
        self.require_backward_grad_sync = True
        self._rows = 0  # rows of the forwards since the last synchronisation
        self._queued = False  # a synchronisation is queued in the running backward pass
        self._params = [p for p in module.parameters() if p.requires_grad]
        self._check_same_model()
        broadcast_arrays(self.comm, [p.data for p in module.parameters()])
        broadcast_arrays(self.comm, list(module.buffers()))
        previous = _WRAPPERS.get(module)
        if previous is not None:  # its hooks would synchronise a second time
            previous.remove_hooks()
        _WRAPPERS[module] = self
        self._handles = [p.register_hook(self._on_gradient) for p in self._params]

    def remove_hooks(self) -> None:
        """Stop synchronising after backward (wrapping the module again does it for the old
        wrapper)."""
        for handle in self._handles:
            handle.remove()
        self._handles = []

    def _check_same_model(self) -> None:
        mine = [
            [name, list(p.shape), str(p.dtype), bool(p.requires_grad)]
            for name, p in self.module.named_parameters()
        ]
        mine += [
            [name, list(b.shape), str(b.dtype), None] for name, b in self.module.named_buffers()
        ]
        every = self.comm.allgather_object(mine)
        for rank, theirs in enumerate(every):
            if theirs != every[0]:
                first = next((a, b) for a, b in zip(every[0] + [None], theirs + [None]) if a != b)
                raise DistributedError(
                    f"DistributedDataParallel: rank {rank}'s model differs from rank 0's: "
                    f"{first[1]} against {first[0]}"
                )

    # ----- forward -------------------------------------------------------------------------------
    def forward(self, *args: Any, **kwargs: Any) -> Any:
        if is_grad_enabled():
            self._before_training_forward()
            if args:
                shape = getattr(args[0], "shape", None)
                self._rows += int(shape[0]) if shape else len(args[0])
        return self.module(*args, **kwargs)

    def _before_training_forward(self) -> None:
        if self.broadcast_buffers:
            buffers = list(self.module.buffers())
            if buffers:
                broadcast_arrays(self.comm, buffers)

    @contextlib.contextmanager
    def no_sync(self) -> Iterator[None]:
        """Inside, backward accumulates ``.grad`` locally without communicating."""
        previous = self.require_backward_grad_sync
        self.require_backward_grad_sync = False
        try:
            yield
        finally:
            self.require_backward_grad_sync = previous

    # ----- synchronisation -------------------------------------------------------------------------
    def _on_gradient(self, g: Any) -> None:
        if self.require_backward_grad_sync and not self._queued:
            self._queued = True
            queue_callback(self._synchronise)

    def _synchronise(self) -> None:
        self._queued = False
        self.sync_gradients()

    def join_empty(self) -> None:
        """Take part in a step's synchronisation without a batch (this rank has 0 rows): call
        it where the other ranks call forward and backward. The parameters' ``.grad`` get the
        global gradient, as on the other ranks."""
        self._rows = 0
        for p in self._params:
            p.grad = None
        self._before_training_forward()  # the collectives of the forward it stands for
        self.sync_gradients()

    def sync_gradients(self) -> None:
        """Replace every parameter's ``.grad`` by the global one (one allreduce per dtype).

        Called by backward; call it yourself after a backward run with :meth:`no_sync` if no
        further backward follows. Every rank must call it the same number of times.
        """
        weighted = self.reduction == "mean"
        rows, self._rows = self._rows, 0
        grads = [p.grad for p in self._params]
        arrays = [p.data for p in self._params]
        for dtype, positions in _by_dtype(arrays).items():
            sizes = [arrays[i].size for i in positions]
            flat = np.zeros(sum(sizes) + 1, dtype=dtype)
            offset = 0
            for i, n in zip(positions, sizes):
                g = grads[i]
                # a weight of 0 selects zeros: a mean over 0 rows may have left nan in g
                if g is not None and not (weighted and rows == 0):
                    part = flat[offset : offset + n]
                    part[...] = np.ravel(g)
                    if weighted:
                        part *= rows
                offset += n
            flat[-1] = rows
            self.comm.allreduce(flat)
            total = flat[-1]
            if weighted and total > 0:
                flat[:-1] /= total
            offset = 0
            for i, n in zip(positions, sizes):
                self._params[i].grad = flat[offset : offset + n].reshape(arrays[i].shape).copy()
                offset += n


def broadcast_optimizer_state(
    optimizer: Any, comm: Communicator | None = None, root: int = 0
) -> None:
    """Give every rank ``root``'s optimizer state (moments, step counts, hyperparameters).

    ``optimizer`` is a nabla optimizer (``state_dict``/``load_state_dict``) built on the same
    parameters on every rank. The arrays travel as flat buffers per dtype; the rest as objects.
    """
    comm = comm if comm is not None else default_communicator()
    mine = optimizer.state_dict()
    layout: list[list[Any]] = []  # [param index, name, shape, dtype] of each array, in order
    scalars: dict[str, dict[str, Any]] = {}
    for index, entry in sorted(mine["state"].items()):
        for name, value in sorted(entry.items()):
            if isinstance(value, np.ndarray):
                layout.append([int(index), name, list(value.shape), str(value.dtype)])
            else:
                scalars.setdefault(str(index), {})[name] = (
                    value.item() if isinstance(value, np.generic) else value
                )
    groups = [
        {k: list(v) if isinstance(v, tuple) else v for k, v in g.items() if k != "params"}
        for g in mine["param_groups"]
    ]
    layout, scalars, groups = comm.broadcast_object([layout, scalars, groups], root)
    arrays = [
        np.asarray(mine["state"].get(index, {}).get(name))
        if comm.rank == root
        else np.zeros(shape, dtype=dtype)
        for index, name, shape, dtype in layout
    ]
    broadcast_arrays(comm, arrays, root)
    state: dict[int, dict[str, Any]] = {}
    for (index, name, _, _), array in zip(layout, arrays):
        state.setdefault(int(index), {})[name] = array
    for index, values in scalars.items():
        state.setdefault(int(index), {}).update(values)
    param_groups = []
    for local, remote in zip(mine["param_groups"], groups):
        merged = dict(local)
        for key, value in remote.items():  # JSON turned tuples into lists: restore the type
            merged[key] = tuple(value) if isinstance(local.get(key), tuple) else value
        param_groups.append(merged)
    if comm.rank != root:
        optimizer.load_state_dict({"state": state, "param_groups": param_groups})
