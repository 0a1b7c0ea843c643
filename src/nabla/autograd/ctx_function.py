"""PyTorch's way of writing a custom op: ``forward(ctx, ...)`` and ``backward(ctx, ...)`` as
static methods on a subclass of ``nb.autograd.Function``, called through ``Cls.apply(...)``.

A subclass whose ``forward`` is a ``staticmethod`` is this kind (nabla's own primitives define
``forward`` on the instance, over arrays). Its ``apply`` runs the user's forward on Tensors
without recording (as PyTorch does), then links the outputs into the graph with one
:class:`CustomFunctionNode`, whose backward calls the user's ``backward(ctx, *grads)`` on
Tensors. Both PyTorch spellings work: ``forward(ctx, *args)``, or ``forward(*args)`` with
``setup_context(ctx, inputs, output)``. Several outputs are supported: the differentiable
ones are packed into one flat array for the node and handed back to ``backward`` one
gradient per output. A backward written with Tensor operations records under
``create_graph=True``, so second order works where the user's backward is differentiable.

``nb.compile`` runs a step with such a call eagerly (the user's forward is Python code it
cannot replay).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from nabla.autograd.function import Function
from nabla.autograd.hooks import note_unreplayable
from nabla.autograd.mode import MODE, no_grad
from nabla.errors import GraphError


class FunctionCtx:
    """The ``ctx`` a custom Function's forward and backward share (``torch.autograd`` API)."""

    def __init__(self, needs_input_grad: tuple[bool, ...]) -> None:
        self.needs_input_grad = needs_input_grad
        self.materialize_grads = True
        self._saved: tuple[Any, ...] = ()
        self._non_differentiable: set[int] = set()

    def save_for_backward(self, *tensors: Any) -> None:
        """Keep tensors (or None) for backward, read back as ``ctx.saved_tensors``."""
        self._saved = tensors

    @property
    def saved_tensors(self) -> tuple[Any, ...]:
        return self._saved

    def mark_non_differentiable(self, *tensors: Any) -> None:
        """Outputs that carry no gradient (indices, masks)."""
        self._non_differentiable.update(id(t) for t in tensors)

    def set_materialize_grads(self, value: bool) -> None:
        """Whether backward receives zeros (True, the default) or None for outputs that got
        no gradient."""
        self.materialize_grads = bool(value)

    def mark_dirty(self, *tensors: Any) -> None:
        raise GraphError(
            "autograd.Function: ctx.mark_dirty (a custom op that changes its input in place) "
            "is not supported; return a new tensor instead"
        )


class CustomFunctionNode(Function):
    """A user's custom ``autograd.Function`` call in the graph.

    Forward:  z = the user's forward (already run on Tensors; z packs its differentiable outputs)
    Backward: ∇inputs = the user's backward(ctx, ∇outputs)
    """

    name = "custom"

    def forward(self, *arrays: Any, call: Any = None) -> Any:
        self.call = call
        return call.packed

    def backward(self, g: Any, F: Any, *arrays: Any) -> tuple[Any, ...]:
        from nabla.tensor import Tensor

        call = self.call
        grads_out: list[Any] = []
        for start, shape in call.slots:
            size = math.prod(shape)
            piece = g.reshape(-1)[start : start + size].reshape(shape) if call.packs else g
            grads_out.append(piece if isinstance(piece, Tensor) else Tensor._wrap(piece))
        # outputs that carry no gradient get zeros (or None without materialize_grads)
        full: list[Any] = []
        slot = iter(grads_out)
        for out in call.outputs:
            if call.is_differentiable(out):
                full.append(next(slot))
            elif call.ctx.materialize_grads and isinstance(out, Tensor):
                full.append(Tensor._wrap(np.zeros(out.shape, dtype=out.dtype)))
            else:
                full.append(None)
        returned = call.cls.backward(call.ctx, *full)
        if not isinstance(returned, tuple):
            returned = (returned,)
        if len(returned) != len(call.args):
            raise GraphError(
                f"{call.cls.__name__}.backward returned {len(returned)} gradient(s); its "
                f"forward took {len(call.args)} input(s), so it must return one per input "
                "(None for a non-tensor input)"
            )
        result: list[Any] = []
        for position, tensor in call.tensor_args:
            grad = returned[position]
            if grad is None or not tensor.requires_grad:
                result.append(None)
            elif F.graph:
                result.append(grad if isinstance(grad, Tensor) else Tensor._wrap(np.asarray(grad)))
            else:
                result.append(np.asarray(grad.data if isinstance(grad, Tensor) else grad))
        return tuple(result)


class _Call:
    """One call of a custom Function: what its node's forward and backward need."""

    def __init__(self, cls: Any, args: tuple[Any, ...], ctx: FunctionCtx, outputs: Any) -> None:
        from nabla.tensor import Tensor

        self.cls, self.args, self.ctx = cls, args, ctx
        self.outputs = outputs
        self.tensor_args = [(i, a) for i, a in enumerate(args) if isinstance(a, Tensor)]
        self.differentiable = [o for o in outputs if self.is_differentiable(o)]
        dtypes = {o.dtype for o in self.differentiable}
        if len(dtypes) > 1:
            raise GraphError(
                f"{cls.__name__}.forward returned differentiable outputs of dtypes "
                f"{sorted(str(d) for d in dtypes)}; nabla needs them to share one dtype"
            )
        self.packs = len(self.differentiable) > 1
        self.slots, start = [], 0
        for o in self.differentiable:
            self.slots.append((start, o.shape))
            start += o.data.size
        if self.packs:
            self.packed = np.concatenate([np.ravel(o.data) for o in self.differentiable])
        else:
            self.packed = self.differentiable[0].data

    def is_differentiable(self, out: Any) -> bool:
        from nabla.tensor import Tensor

        return (
            isinstance(out, Tensor)
            and out.dtype.kind == "f"
            and id(out) not in self.ctx._non_differentiable
        )


def apply(cls: Any, *args: Any, **kwargs: Any) -> Any:
    """``Cls.apply(*args)`` for a PyTorch-style custom Function."""
    from nabla.tensor import Tensor

    grad_enabled = MODE.state.grad_enabled
    needs = tuple(bool(grad_enabled and isinstance(a, Tensor) and a.requires_grad) for a in args)
    ctx = FunctionCtx(needs)
    note_unreplayable(f"a custom autograd.Function ({cls.__name__}) runs Python code")
    with no_grad():
        if "setup_context" in _defined(cls):
            output = cls.forward(*args, **kwargs)
            cls.setup_context(ctx, args, output)
        else:
            output = cls.forward(ctx, *args, **kwargs)
    outputs = output if isinstance(output, tuple) else (output,)
    outputs = tuple(
        Tensor._wrap(np.asarray(o)) if isinstance(o, np.ndarray) else o for o in outputs
    )
    if not any(needs):
        return outputs if isinstance(output, tuple) else outputs[0]
    call = _Call(cls, args, ctx, outputs)
    if not call.differentiable:
        return outputs if isinstance(output, tuple) else outputs[0]
    inputs = [t for _, t in call.tensor_args]
    node_out = CustomFunctionNode.apply(*inputs, call=call)
    linked, slots = [], iter(call.slots)
    for out in outputs:
        if call.is_differentiable(out):
            start, shape = next(slots)
            if call.packs:
                size = math.prod(shape)
                piece = node_out.reshape(-1)[start : start + size].reshape(shape)
            else:
                piece = node_out
            linked.append(piece)
        else:
            linked.append(out)
    return tuple(linked) if isinstance(output, tuple) else linked[0]


def _defined(cls: Any) -> set[str]:
    names: set[str] = set()
    for klass in cls.__mro__:
        if klass is Function:
            break
        names.update(klass.__dict__)
    return names


__all__ = ["CustomFunctionNode", "FunctionCtx", "apply"]
