"""The recorded graph as the tools read it: inputs, the engine's visiting order, what outlives
backward.

A backward pass frees what each op saved (its inputs' arrays and the arrays its forward kept)
but not the graph's topology: each released op keeps ``fn.links``, one entry per input — the
input tensor itself when it is a leaf (a parameter or a constant, which its owner holds anyway),
else the op that produced it — and its own output's shape, dtype and name (``fn.output``). So
``nb.viz.draw``, ``to_dot`` and ``nb.explain`` still work after ``loss.backward()``, while a
second backward raises the "backward through the graph a second time" error.

The tools walk the graph through :func:`inputs_of` and list the steps of a backward pass with
:func:`backward_order`, which sorts by the key the engine's own heap uses
(:func:`backward_priority`): they describe the engine by using it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any, NamedTuple

import numpy as np

from nabla.autograd.mode import MODE


class OutputRecord(NamedTuple):
    """What a released op keeps of the tensor it made."""

    shape: tuple[int, ...]
    dtype: Any
    name: str | None


class FreedTensor:
    """A non-leaf tensor of a graph that backward has freed: its op, shape, dtype and name,
    without values. Tools treat it as a tensor whose ``data`` is gone."""

    __slots__ = ("_fn", "dtype", "name", "shape")

    requires_grad = True

    def __init__(self, fn: Any, record: tuple[tuple[int, ...], Any, str | None]) -> None:
        self._fn = fn
        self.shape, self.dtype, self.name = record

    @property
    def data(self) -> Any:
        """The value backward kept for this output (under :func:`keep_gradients`), or None."""
        return self._fn.__dict__.get("kept_value")

    @property
    def grad(self) -> Any:
        """The gradient backward kept for this output (under :func:`keep_gradients`), or None."""
        return self._fn.__dict__.get("kept_gradient")

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))

    def __repr__(self) -> str:
        return f"<freed {self._fn.name} output, shape {self.shape}, dtype {self.dtype}>"


def kept_gradient(t: Any) -> Any:
    """What a backward pass left of ``t``'s gradient: a leaf's ``.grad``, or for an op output
    the total gradient kept under :func:`keep_gradients` (None otherwise)."""
    fn = t._fn
    return t.grad if fn is None else fn.__dict__.get("kept_gradient")


@contextlib.contextmanager
def keep_gradients() -> Iterator[None]:
    """Inside the block, backward keeps the value and the total gradient of every op output on
    its op, so drawings made after backward show data and d(root)/d(node) on every node
    (micrograd's view), not only on the parameters. It costs a copy of each value and
    gradient: for small teaching graphs.

    >>> import nabla as nb
    >>> x = nb.tensor([1.0, 2.0], requires_grad=True)
    >>> y = (x * x).sum()
    >>> with nb.viz.keep_gradients():
    ...     y.backward()
    >>> kept_gradient(y), kept_gradient(x)
    (array(1., dtype=float32), array([2., 4.], dtype=float32))
    """
    state = MODE.state
    previous, state.keep_gradients = state.keep_gradients, True
    try:
        yield
    finally:
        state.keep_gradients = previous


def backward_priority(t: Any) -> int:
    """The engine's heap key of a tensor (smallest first): minus its op's sequence number, so
    the newest op runs first; leaves (key 1) come after every op. Ops are numbered in creation
    order, so an op's number exceeds those of the ops that made its inputs: popping the largest
    pending number first visits a tensor only after all its consumers."""
    fn = t._fn
    return -fn.seq if fn is not None else 1


def is_freed(fn: Any) -> bool:
    """Whether a backward pass released ``fn`` (its saved values are gone)."""
    return fn.inputs is None


def inputs_of(fn: Any) -> tuple[Any, ...]:
    """The inputs of op ``fn``: its input tensors, or after a backward that freed it, the same
    leaf tensors and a :class:`FreedTensor` for each non-leaf input (one object per producing
    op, so a tensor used twice is still one node)."""
    inputs = fn.inputs
    if inputs is not None:
        return tuple(inputs)
    links = getattr(fn, "links", None)
    if links is None:
        return ()
    return tuple(_freed_output(link) if _is_op(link) else link for link in links)


def node_key(t: Any) -> int:
    """One key per graph node, equal for a live tensor and its freed record."""
    fn = t._fn
    return id(fn) if fn is not None else id(t)


def backward_order(root: Any) -> list[Any]:
    """The tensors that receive a gradient from ``root``, in the order the engine visits them
    (``root`` first): every op output that requires grad by :func:`backward_priority`, then
    the leaves that require grad, in the order their first gradient arrives."""
    seen = {node_key(root): root}
    stack = [root]
    while stack:
        fn = stack.pop()._fn
        if fn is None:
            continue
        for inp in inputs_of(fn):
            if inp.requires_grad and node_key(inp) not in seen:
                seen[node_key(inp)] = inp
                stack.append(inp)
    ops = sorted((t for t in seen.values() if t._fn is not None), key=backward_priority)
    leaves: dict[int, Any] = {}
    for t in ops:
        for inp in inputs_of(t._fn):
            if inp._fn is None and inp.requires_grad:
                leaves.setdefault(id(inp), inp)
    if root._fn is None:
        leaves.setdefault(id(root), root)
    return ops + list(leaves.values())


def release(fn: Any, inputs: tuple[Any, ...], output: Any) -> None:
    """Free what ``fn`` saved for backward, keeping the topology (see the module docstring)."""
    links = []  # (a plain loop: no comprehension frame, this runs once per op)
    for x in inputs:
        links.append(x if x._fn is None else x._fn)
    fn.links = tuple(links)
    data = output.data
    fn.output = (data.shape, data.dtype, output.name)  # an OutputRecord's fields
    fn.inputs = None
    if fn.saved:
        attributes = fn.__dict__
        for name in fn.saved:
            attributes[name] = None


def _is_op(link: Any) -> bool:
    return hasattr(link, "seq")


def _freed_output(fn: Any) -> Any:
    record = fn.__dict__.get("freed_output")
    if record is None:
        output = getattr(fn, "output", None)
        if output is None:  # produced but never reached by the backward that freed its user
            output = ((), None, None)
        record = fn.freed_output = FreedTensor(fn, OutputRecord(*output))
    return record


__all__ = [
    "FreedTensor",
    "OutputRecord",
    "backward_order",
    "backward_priority",
    "inputs_of",
    "is_freed",
    "keep_gradients",
    "kept_gradient",
    "node_key",
    "release",
]
