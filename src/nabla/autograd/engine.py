"""The backward engine: topological order, gradient routing, broadcasting un-reduction.

The graph is made of Tensors; a non-leaf Tensor holds the Function that produced it (``_fn``),
which holds its input Tensors. Children reference parents only, so a graph has no reference
cycles and is freed by reference counting as soon as nothing holds its root.
"""

from __future__ import annotations

from collections.abc import Sequence
from heapq import heappop, heappush
from typing import TYPE_CHECKING, Any

import numpy as np

from nabla.autograd.accumulation import accumulate, accumulate_leaf, as_owned, first_entry
from nabla.autograd.callbacks import begin_pass, end_pass, queue_callback
from nabla.autograd.graph import backward_priority, release
from nabla.autograd.kernels import KERNELS
from nabla.autograd.mode import MODE, no_grad
from nabla.autograd.saved import LATEST_WRITE, saved_values
from nabla.autograd.tensor_hooks import WATCHED, run_tensor_hooks
from nabla.errors import AnomalyError, DTypeError, GraphError, ShapeError

if TYPE_CHECKING:
    from nabla._typing import Array, Shape
    from nabla.tensor import Tensor


def unbroadcast(grad: Any, shape: Shape) -> Any:
    """Sum ``grad`` back to ``shape``: the gradient of a repeated value is the sum over its copies.

    This is the backward of NumPy broadcasting (the notes' "repeat → sum" node), applied by the
    engine to every gradient a rule returns, so rules never deal with broadcasting themselves.
    """
    if grad.shape == shape:
        return grad
    lead = grad.ndim - len(shape)
    if lead < 0:
        return grad
    axes = tuple(range(lead)) + tuple(
        lead + i for i, n in enumerate(shape) if n == 1 and grad.shape[lead + i] != 1
    )
    if axes:
        grad = grad.sum(axis=axes, keepdims=True)
    if lead:
        grad = grad.reshape(grad.shape[lead:])
    return grad


def _root_grad(root: Tensor, grad: Any, create_graph: bool) -> Any:
    from nabla.tensor import Tensor

    if root.dtype.kind not in "fc":
        raise DTypeError(
            f"backward from a tensor of dtype {root.dtype}: only floating point tensors have "
            "gradients"
        )
    if not root.requires_grad:
        raise GraphError(
            "element 0 of tensors does not require grad and has no grad_fn: nothing to "
            "differentiate (did you build it under nb.no_grad(), or forget requires_grad=True?)"
        )
    if grad is None:
        if root.size != 1:
            raise GraphError(
                f"grad can be implicitly created only for scalar outputs; this output has shape "
                f"{root.shape}: pass grad= (the gradient with respect to the output)"
            )
        # (np.array: a C call; np.ones is a Python function around np.empty and copyto)
        g: Any = np.array(1, dtype=root.dtype).reshape(root.shape)
    else:
        g = grad.data if isinstance(grad, Tensor) and not create_graph else grad
        if not isinstance(g, Tensor):
            g = np.asarray(g, dtype=root.dtype)
        if g.shape != root.shape:
            raise ShapeError(
                f"backward: grad has shape {g.shape} but the output has shape {root.shape}"
            )
    if create_graph and not isinstance(g, Tensor):
        g = Tensor(g)
    return g


_NO_TARGETS: frozenset[int] = frozenset()


def run_backward(
    roots: Sequence[Tensor],
    grads: Sequence[Any],
    retain_graph: bool,
    create_graph: bool,
    targets: Sequence[Tensor] | None = None,
) -> list[Any] | None:
    """Propagate ``grads`` from ``roots`` backwards.

    With ``targets=None`` gradients accumulate into the ``.grad`` of leaves that require grad;
    otherwise the total gradient of each target is returned (``None`` where unreachable) and no
    ``.grad`` is touched. Without ``retain_graph`` each op's saved values are freed once its
    backward ran, and its topology is kept (:func:`nabla.autograd.graph.release`).

    Callbacks queued during the pass (:func:`queue_callback`) run once it has finished.

    Gradients that come out infinite or nan (the derivative of √x at 0, inf − inf in a sum)
    are returned as PyTorch returns them, without NumPy's floating-point warnings;
    ``nb.detect_anomaly()`` names the op that made the first one.
    """
    pending: dict[int, list[Any]] = {}  # id(tensor) -> [gradient, owned by the engine]
    # the tensors that hold a gradient and wait for their turn, newest op first (see below)
    heap: list[tuple[int, int, Tensor]] = []
    for root, g in zip(roots, grads):
        key = id(root)
        if key not in pending:
            heappush(heap, (backward_priority(root), key, root))
        accumulate(pending, key, g, root.data.dtype, create_graph, upstream=g)
    mode = MODE.state
    recorder = mode.tracer
    if recorder is not None:
        recorder.before_backward()
    visited: list[Tensor] | None = [] if recorder is not None else None
    captured: dict[int, Any] | None = {} if targets is not None else None
    target_ids = frozenset(id(t) for t in targets) if targets is not None else _NO_TARGETS
    previous_mode = mode.grad_enabled
    mode.grad_enabled = create_graph  # record the backward pass only for create_graph
    callbacks, finished = begin_pass(), False  # what queue_callback asks to run at the end
    try:
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            _propagate(heap, pending, retain_graph, create_graph, target_ids, captured, visited)
        finished = True
    finally:
        mode.grad_enabled = previous_mode
        end_pass(callbacks, finished)
    if recorder is not None and visited is not None:
        recorder.on_backward(roots, visited, retain_graph or create_graph, targets)
        if create_graph:
            recorder.mark_unsafe("create_graph inside a compiled step")
    if targets is None or captured is None:
        return None
    return [captured.get(id(t)) for t in targets]


def _propagate(
    heap: list[Any],
    pending: dict[int, list[Any]],
    retain_graph: bool,
    create_graph: bool,
    target_ids: frozenset[int],
    captured: dict[int, Any] | None,
    visited: list[Any] | None,
) -> None:
    """The backward loop: pop the pending tensor of the newest op, run its op's rule, route
    each input's gradient (summing it back over broadcast axes), free what the op saved.

    Topological order without counting dependencies first: every op has a sequence number
    larger than those of the ops that made its inputs, so popping the largest pending number
    first visits a tensor only after all its consumers reachable from the roots (each of them
    has a larger number and is pending before the tensor is popped). Leaves come last.

    The common case — ``.backward()`` into leaves, no recorder watching the order — lets a leaf
    take its gradient as soon as it arrives (the same sums in the same order, g₁ + g₂ + …, as
    waiting in the heap, without a heap entry per parameter).
    """
    from nabla.ops.namespace import ARRAY_OPS
    from nabla.tensor_namespace import TENSOR_OPS

    F = TENSOR_OPS if create_graph else ARRAY_OPS
    state = MODE.state
    anomaly, keep = state.anomaly, state.keep_gradients
    # tensors with hooks or a retained gradient take their total gradient from the heap
    watched = WATCHED
    direct = not create_graph and captured is None and visited is None and not keep
    direct = direct and not watched
    kernels = KERNELS if not create_graph else {}
    assigned: set[int] = set()  # leaves whose .grad this pass set directly
    while heap:
        _, key, t = heappop(heap)
        g, owned = pending.pop(key)
        if watched and key in watched:
            g, owned = run_tensor_hooks(t, g, owned, create_graph)
        if not direct:
            owned = _observe(t, g, owned, create_graph, visited, captured, target_ids, keep)
        fn = t._fn
        if fn is None:
            if captured is None:
                accumulate_leaf(t, g, owned)
            continue
        inputs = fn.inputs
        input_grads, g = _apply_rule(fn, g, owned, inputs, t, kernels, F)
        for i, (inp, gi) in enumerate(zip(inputs, input_grads)):
            if gi is None or not inp.requires_grad:
                continue
            data = inp.data
            if gi.shape != data.shape or anomaly:
                gi = _checked(fn, i, gi, data.shape, anomaly)
            key = id(inp)
            if key in pending:
                accumulate(pending, key, gi, data.dtype, create_graph, g)
            elif direct and inp._fn is None:
                _give_leaf(inp, gi, g, assigned, heap, pending)
            else:  # its first gradient
                heappush(heap, (backward_priority(inp), key, inp))
                pending[key] = first_entry(gi, data.dtype, create_graph, g)
        if not retain_graph:
            release(fn, inputs, t)


def _observe(
    t: Tensor,
    g: Any,
    owned: bool,
    create_graph: bool,
    visited: list[Any] | None,
    captured: dict[int, Any] | None,
    target_ids: frozenset[int],
    keep: bool,
) -> bool:
    """Note a visit for a recorder, keep an op output's total gradient on its op (under
    ``keep_gradients``) and a target's (``nb.grad``); returns whether the engine still owns
    ``g`` (a kept gradient belongs to the caller: no kernel may write into it)."""
    if visited is not None:
        visited.append(t)
    if keep and t._fn is not None:  # what a drawing after backward shows on this node
        t._fn.kept_gradient = np.array(getattr(g, "data", g) if create_graph else g)
        t._fn.kept_value = np.array(t.data)
    if captured is not None and id(t) in target_ids:
        captured[id(t)] = g if (owned or create_graph) else g.copy()
        return False
    return owned


def _checked(fn: Any, index: int, g: Any, shape: Shape, anomaly: bool) -> Any:
    """A rule's gradient summed back to its input's shape (the engine's one un-broadcast),
    and under ``nb.detect_anomaly()`` checked for nan/inf."""
    if g.shape != shape:
        summed = unbroadcast(g, shape)
        if summed.shape != shape:
            raise GraphError(
                f"{type(fn).__name__}.backward returned shape {g.shape} for input {index} of "
                f"shape {shape}"
            )
        g = summed
    if anomaly:
        _check_backward(fn, index, g)
    return g


def _apply_rule(
    fn: Any, g: Any, owned: bool, inputs: Any, t: Tensor, kernels: Any, F: Any
) -> tuple[Any, Any]:
    """Run op ``fn``'s backward on ``g``: its gradients, and the upstream gradient they may
    alias (None when a kernel wrote into g, which the engine owned)."""
    if F.graph:
        return fn.backward(g, F, *saved_values(fn, inputs, t, arrays=False)), g
    if inputs is not None and LATEST_WRITE.stamp < fn.seq:  # saved_values' common case
        arrays = [inp.data for inp in inputs]
        if fn.needs_output:
            arrays.append(t.data)
    else:
        arrays = saved_values(fn, inputs, t, arrays=True)
    kernel = kernels.get(type(fn))
    if kernel is not None:
        if owned and kernel.backward_into is not None:
            # g is ours alone: the kernel may write its input's gradient into it
            return kernel.backward_into(fn, g, *arrays), None
        if kernel.backward is not None:
            return kernel.backward(fn, g, *arrays), g
    return fn.backward(g, F, *arrays), g


def _give_leaf(
    leaf: Tensor,
    g: Any,
    upstream: Any,
    assigned: set[int],
    heap: list[Any],
    pending: dict[int, list[Any]],
) -> None:
    """A leaf's gradient in the common case: its first one becomes ``.grad`` at once, later
    ones of this pass are added into it in place, as pending would have added them. A leaf
    that held a ``.grad`` before the pass sums this pass's gradients first (in the heap)."""
    key = id(leaf)
    if leaf._grad is not None and key not in assigned:
        heappush(heap, (1, key, leaf))
        accumulate(pending, key, g, leaf.data.dtype, False, upstream)
        return
    g, owned = as_owned(g, leaf.data.dtype, upstream)
    if leaf._grad is None:
        leaf._grad = g if owned else np.array(g)
        assigned.add(key)
    else:
        leaf._grad += g


def _check_backward(fn: Any, index: int, g: Any) -> None:
    data = g.data if hasattr(g, "_fn") else g
    if data.dtype.kind in "fc" and not np.isfinite(data).all():
        raise AnomalyError(
            f"{fn.name}: backward produced nan/inf in the gradient of input {index} "
            f"(shape {data.shape}); the op was created at {getattr(fn, 'stack', None)}"
        )


def backward(
    tensors: Tensor | list[Tensor] | tuple[Tensor, ...],
    grad_tensors: Any = None,
    retain_graph: bool = False,
) -> None:
    """Accumulate the gradients of ``tensors`` into the ``.grad`` of the leaves (PyTorch's name)."""
    roots = [tensors] if not isinstance(tensors, (list, tuple)) else list(tensors)
    if grad_tensors is None or not isinstance(grad_tensors, (list, tuple)):
        grad_tensors = [grad_tensors] * len(roots)
    grads = [_root_grad(r, g, False) for r, g in zip(roots, grad_tensors)]
    run_backward(roots, grads, retain_graph=retain_graph, create_graph=False)


def grad(
    outputs: Tensor | Sequence[Tensor],
    inputs: Tensor | Sequence[Tensor],
    grad_outputs: Any = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    allow_unused: bool = False,
) -> tuple[Tensor | None, ...]:
    """Gradients of ``outputs`` with respect to ``inputs``, without touching any ``.grad``.

    Parameters
    ----------
    outputs : Tensor or sequence of Tensors
        The differentiated outputs; non-scalar ones need ``grad_outputs``.
    inputs : Tensor or sequence of Tensors
        Tensors (leaves or not) to differentiate with respect to.
    grad_outputs : array-like, Tensor or sequence of them, optional
        The vector of the vector-Jacobian product for each output (ones for scalars).
    retain_graph : bool, optional
        Keep the graph for another backward; defaults to ``create_graph``.
    create_graph : bool
        Record the backward pass itself so the returned gradients can be differentiated again
        (Hessian-vector products, gradient penalties).
    allow_unused : bool
        Return ``None`` for inputs the outputs do not depend on instead of raising.

    Returns
    -------
    tuple of Tensor (or None)
        One gradient per input, with the input's shape and dtype.
    """
    from nabla.tensor import Tensor

    ins = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    outs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    if grad_outputs is None or not isinstance(grad_outputs, (list, tuple)):
        grad_outputs = [grad_outputs] * len(outs)
    for i, t in enumerate(ins):
        if not isinstance(t, Tensor) or not t.requires_grad:
            raise GraphError(f"nb.grad: input {i} does not require grad")
    if retain_graph is None:
        retain_graph = create_graph
    roots, root_grads = [], []
    for o, g in zip(outs, grad_outputs):
        if not o.requires_grad:
            continue  # an output independent of every input contributes nothing
        roots.append(o)
        root_grads.append(_root_grad(o, g, create_graph))
    results = (
        run_backward(roots, root_grads, retain_graph, create_graph, targets=ins)
        if roots
        else [None] * len(ins)
    )
    assert results is not None
    final: list[Tensor | None] = []
    for i, (t, r) in enumerate(zip(ins, results)):
        if r is None:
            if not allow_unused:
                raise GraphError(
                    f"nb.grad: input {i} (shape {t.shape}) was not used to compute the outputs; "
                    "pass allow_unused=True to get None for it"
                )
            final.append(None)
        elif isinstance(r, Tensor):
            final.append(r)
        else:
            with no_grad():
                final.append(Tensor(r))
    return tuple(final)


__all__ = ["backward", "grad", "queue_callback", "run_backward", "unbroadcast"]


def _as_array(x: Any) -> Array:
    return x.data if hasattr(x, "_fn") else np.asarray(x)
