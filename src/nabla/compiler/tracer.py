"""Recording one eager call of a step: ops, backward passes and replayable method calls.

A :class:`Tracer` implements the core's hook interface (:mod:`nabla.autograd.hooks`): while it
is installed (``MODE.state.tracer``), ``Function.apply`` reports every op, the engine reports the order
in which ``backward`` visited the graph, and methods marked ``replayable`` (optimizer and
scheduler steps, ``zero_grad``) report their calls. What cannot
be replayed faithfully (random numbers drawn outside an op, ``nb.grad``, ``create_graph``,
indexing with arrays) marks the trace unsafe, and the compiled function stays eager.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class OpRecord:
    cls: type
    params: dict[str, Any]
    inputs: list[tuple[str, Any]]  # ("slot", i) or ("leaf", tensor)
    slot: int
    requires_grad: bool
    needs_grad: tuple[bool, ...]
    shapes: list[tuple[int, ...]]
    dtypes: list[Any]
    out_shape: tuple[int, ...]
    out_dtype: Any


@dataclass
class BackwardRecord:
    root: tuple[str, Any]
    # the tensors the engine visited, in order: ("op", k) for op outputs, ("leaf", tensor)
    order: list[tuple[str, Any]]
    retain_graph: bool


@dataclass
class CallRecord:
    obj: Any
    method: str
    args: tuple[Any, ...]
    kwargs: dict[str, Any]


@dataclass
class Tracer:
    """Collects the events of one call; argument tensors occupy the first ``n_slots`` slots."""

    n_slots: int
    events: list[Any] = field(default_factory=list)
    ops: list[OpRecord] = field(default_factory=list)
    slot_of: dict[int, int] = field(default_factory=dict)  # id(tensor) → slot
    op_of_slot: dict[int, int] = field(default_factory=dict)  # slot → op index
    keep_alive: list[Any] = field(default_factory=list)  # tensors whose ids are in slot_of
    modules: list[Any] = field(default_factory=list)  # modules whose forward ran
    unsafe: str | None = None
    in_call: int = 0
    #: id → (leaf, its data, a copy, its grad, a copy): see ``watch``
    watched: dict[int, tuple[Any, ...]] = field(default_factory=dict)

    def mark_unsafe(self, reason: str) -> None:
        if self.unsafe is None:
            self.unsafe = reason

    # A replay runs the recorded ops, backward passes and replayable calls, nothing else: a
    # change to a leaf's values or gradient made between them by plain NumPy (p.grad *= 0.5,
    # p.data -= …, p.grad = None) would be lost. Each leaf's arrays are copied when the trace
    # first meets it and compared at every backward, replayable call and the end of the trace.
    def watch(self, tensor: Any) -> None:
        if id(tensor) not in self.watched:
            self.watched[id(tensor)] = (tensor, *_snapshot(tensor))

    def check_watched(self) -> None:
        for tensor, data, data_copy, grad, grad_copy in self.watched.values():
            if (
                tensor.data is not data
                or tensor.grad is not grad
                or not _equal(tensor.data, data_copy)
                or (grad is not None and not _equal(grad, grad_copy))
            ):
                self.mark_unsafe(
                    "a tensor's values or gradient were changed outside recorded ops "
                    "(p.grad *= …, p.data -= …, p.grad = None, clipping by hand)"
                )
                return

    def resnapshot(self) -> None:
        for key, (tensor, *_) in list(self.watched.items()):
            self.watched[key] = (tensor, *_snapshot(tensor))

    def ref(self, tensor: Any) -> tuple[str, Any]:
        slot = self.slot_of.get(id(tensor))
        if slot is not None:
            return ("slot", slot)
        return ("leaf", tensor)

    def on_apply(
        self, cls: type, inputs: tuple[Any, ...], params: dict[str, Any], out: Any
    ) -> None:
        if self.in_call:
            return  # ops inside a replayable method are replayed by calling the method
        for name, value in params.items():
            if name in getattr(cls, "constant_params", ()):
                continue
            if _holds_array(value):
                self.mark_unsafe(
                    f"{cls.__name__} received the array argument {name!r}, which may depend on "
                    "the step's data; pass data as tensors"
                )
        for t in inputs:
            if id(t) not in self.slot_of:
                self.watch(t)
        slot = self.n_slots
        self.n_slots += 1
        self.slot_of[id(out)] = slot
        self.keep_alive.append(out)
        self.op_of_slot[slot] = len(self.ops)
        fn = out._fn
        self.ops.append(
            OpRecord(
                cls=cls,
                params=dict(params),
                inputs=[self.ref(t) for t in inputs],
                slot=slot,
                requires_grad=out.requires_grad,
                needs_grad=fn.needs_grad if fn is not None else (False,) * len(inputs),
                shapes=[t.shape for t in inputs],
                dtypes=[t.dtype for t in inputs],
                out_shape=out.shape,
                out_dtype=out.dtype,
            )
        )
        self.events.append(("op", len(self.ops) - 1))

    def on_module_call(self, module: Any) -> None:
        self.modules.append(module)  # the plan depends on its train()/eval() mode

    def enter_call(
        self, obj: Any, method: str, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> None:
        if not self.in_call:
            values = list(args) + list(kwargs.values())
            if any(not (v is None or isinstance(v, (bool, str))) for v in values):
                self.mark_unsafe(
                    f"{type(obj).__name__}.{method} was called with a value that may change "
                    "from call to call"
                )
            self.events.append(("call", CallRecord(obj, method, args, kwargs)))
            self.check_watched()
        self.in_call += 1

    def exit_call(self) -> None:
        self.in_call -= 1
        if not self.in_call:
            self.resnapshot()  # the call's own changes are replayed with it

    def before_backward(self) -> None:
        if not self.in_call:
            self.check_watched()  # a gradient set by hand before backward (p.grad = None)

    def on_backward(self, roots: Any, order: list[Any], retain_graph: bool, targets: Any) -> None:
        if self.in_call:
            return
        self.resnapshot()  # backward set the gradients: what a replay reproduces
        if targets is not None:
            self.mark_unsafe("nb.grad inside a compiled step")
            return
        if len(roots) != 1:
            self.mark_unsafe("backward from several roots at once")
            return
        visited: list[tuple[str, Any]] = []
        for t in order:
            slot = self.slot_of.get(id(t))
            if slot is not None and slot in self.op_of_slot:
                visited.append(("op", self.op_of_slot[slot]))
            elif t._fn is None:
                visited.append(("leaf", self.ref(t)))
            else:
                self.mark_unsafe("backward through a graph built outside the compiled step")
                return
        self.events.append(("backward", BackwardRecord(self.ref(roots[0]), visited, retain_graph)))


def _snapshot(tensor: Any) -> tuple[Any, Any, Any, Any]:
    grad = tensor.grad
    return tensor.data, tensor.data.copy(), grad, None if grad is None else np.copy(grad)


def _equal(a: Any, b: Any) -> bool:
    return bool(np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"))


def _holds_array(value: Any) -> bool:
    if isinstance(value, np.ndarray):
        return value.ndim > 0
    if isinstance(value, (tuple, list)):
        return any(_holds_array(v) for v in value)
    return False
