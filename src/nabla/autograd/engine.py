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

from nabla.autograd.mode import MODE, no_grad
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
        g: Any = np.ones(root.shape, dtype=root.dtype)
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
    ``.grad`` is touched.

    Gradients that come out infinite or nan (the derivative of √x at 0, inf − inf in a sum)
    are returned as PyTorch returns them, without NumPy's floating-point warnings;
    ``nb.detect_anomaly()`` names the op that made the first one.
    """
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        return _run_backward(roots, grads, retain_graph, create_graph, targets)


def _run_backward(
    roots: Sequence[Tensor],
    grads: Sequence[Any],
    retain_graph: bool,
    create_graph: bool,
    targets: Sequence[Tensor] | None,
) -> list[Any] | None:
    from nabla.ops.namespace import ARRAY_OPS, TENSOR_OPS

    pending: dict[int, list[Any]] = {}  # id(tensor) -> [gradient, owned by the engine]
    # the tensors that hold a gradient and wait for their turn, newest op first (see below)
    heap: list[tuple[int, int, Tensor]] = []
    for root, g in zip(roots, grads):
        key = id(root)
        if key not in pending:
            heappush(heap, (_priority(root), key, root))
        _accumulate(pending, key, g, root.data.dtype, create_graph, upstream=g)
    captured: dict[int, Any] = {}
    target_ids = {id(t) for t in targets} if targets is not None else None
    F = TENSOR_OPS if create_graph else ARRAY_OPS
    anomaly = MODE.anomaly

    tracer = MODE.tracer
    if not (create_graph or anomaly or target_ids is not None or tracer is not None):
        previous_mode = MODE.grad_enabled
        MODE.grad_enabled = False
        try:
            _propagate_into_leaves(heap, pending, retain_graph, ARRAY_OPS)
        finally:
            MODE.grad_enabled = previous_mode
        return None
    visited: list[Tensor] | None = [] if tracer is not None else None
    previous_mode = MODE.grad_enabled
    MODE.grad_enabled = create_graph  # record the backward pass only for create_graph
    try:
        # Topological order without counting dependencies first: every op has a sequence
        # number larger than those of the ops that made its inputs, so popping the largest
        # pending number first visits a tensor only after all its consumers reachable from the
        # roots (each of them has a larger number and is pending before the tensor is popped).
        # Leaves come last. One pass over the graph instead of two.
        while heap:
            _, key, t = heappop(heap)
            if visited is not None:
                visited.append(t)
            fn = t._fn
            g, owned = pending.pop(key)
            if target_ids is not None and key in target_ids:
                captured[key] = g if (owned or create_graph) else g.copy()
            if fn is None:
                if target_ids is None:
                    _accumulate_leaf(t, g, owned)
                continue
            inputs = fn.inputs
            if inputs is None:
                raise _freed_graph_error(fn)
            _check_versions(fn, inputs, t)
            if create_graph:
                args: list[Any] = list(inputs)
                if fn.needs_output:
                    args.append(t)
            else:
                args = [inp.data for inp in inputs]
                if fn.needs_output:
                    args.append(t.data)
            input_grads = fn.backward(g, F, *args)
            for i, (inp, gi) in enumerate(zip(inputs, input_grads)):
                if gi is None or not inp.requires_grad:
                    continue
                key = id(inp)
                shape = inp.data.shape
                if gi.shape != shape:
                    gi = unbroadcast(gi, shape)
                    if gi.shape != shape:
                        raise _returned_shape_error(fn, i, gi.shape, shape)
                if anomaly:
                    _check_backward(fn, i, gi)
                if key not in pending:
                    heappush(heap, (_priority(inp), key, inp))
                _accumulate(pending, key, gi, inp.data.dtype, create_graph, g)
            if not retain_graph:
                fn.inputs = None  # free the saved values: a second backward raises GraphError
    finally:
        MODE.grad_enabled = previous_mode
    if tracer is not None and visited is not None:
        tracer.on_backward(roots, visited, retain_graph or create_graph, targets)
        if create_graph:
            tracer.mark_unsafe("create_graph inside a compiled step")
    if targets is None:
        return None
    return [captured.get(id(t)) for t in targets]


def _propagate_into_leaves(
    heap: list[Any], pending: dict[int, list[Any]], retain_graph: bool, F: Any
) -> None:
    """``run_backward``'s loop for the common case (``.backward()`` on arrays: no higher order,
    no anomaly checks, no targets, no tracer), with the same order and accumulation.

    A leaf whose ``.grad`` is None when its first gradient arrives takes that gradient at once
    instead of waiting in the heap, and later ones are added into it in place: the same sums
    in the same order (g₁ + g₂ + …), without a heap entry per parameter."""
    assigned: set[int] = set()  # leaves whose .grad this pass set
    while heap:
        _, key, t = heappop(heap)
        fn = t._fn
        g, owned = pending.pop(key)
        if fn is None:  # a leaf: _accumulate_leaf, inlined
            if t._grad is None:
                t._grad = g if owned else np.array(g)
            else:
                t._grad += g
            continue
        inputs = fn.inputs
        if inputs is None:
            raise _freed_graph_error(fn)
        _check_versions(fn, inputs, t)
        arrays = [inp.data for inp in inputs]
        if fn.needs_output:
            arrays.append(t.data)
        if owned and fn.backward_into is not None:
            # g is ours alone: the rule may write its input's gradient into it
            input_grads = fn.backward_into(g, *arrays)
            g = None  # (so the ownership test below keeps a gradient written into g owned)
        else:
            input_grads = fn.backward(g, F, *arrays)
        for i, (inp, gi) in enumerate(zip(inputs, input_grads)):
            if gi is None or not inp.requires_grad:
                continue
            data = inp.data
            if gi.shape != data.shape:
                gi = unbroadcast(gi, data.shape)
                if gi.shape != data.shape:
                    raise _returned_shape_error(fn, i, gi.shape, data.shape)
            key = id(inp)
            if key in pending:
                _accumulate(pending, key, gi, data.dtype, False, g)
                continue
            if gi.dtype != data.dtype:
                gi, owned = gi.astype(data.dtype), True
            else:  # fresh from the rule: neither g itself, a view nor read-only
                owned = gi is not g and gi.base is None and gi.flags.writeable
            inp_fn = inp._fn
            if inp_fn is not None:
                heappush(heap, (-inp_fn.seq, key, inp))
            elif inp._grad is None:  # a leaf's first gradient: straight to .grad
                inp._grad = gi if owned else np.array(gi)
                assigned.add(key)
                continue
            elif key in assigned:  # a later one, added as pending would have added it
                inp._grad += gi
                continue
            else:  # a leaf that held a .grad before: sum this pass's gradients first
                heappush(heap, (1, key, inp))
            pending[key] = [gi, owned]
        if not retain_graph:
            fn.inputs = None


def _check_versions(fn: Any, inputs: Sequence[Tensor], output: Tensor) -> None:
    """Refuse to run ``fn``'s backward on values changed in place after it was recorded
    (PyTorch's "modified by an inplace operation"): a change stamps the tensor's version
    counter with a sequence number later than every op recorded before it."""
    seq = fn.seq
    for i, inp in enumerate(inputs):
        counter = inp._version_counter
        if counter is not None and counter[1] > seq:
            raise _modified_error(fn, f"input {i}", inp, counter[0])
    if fn.needs_output:
        counter = output._version_counter
        if counter is not None and counter[1] > seq:
            raise _modified_error(fn, "the output", output, counter[0])


def _modified_error(fn: Any, which: str, t: Tensor, version: int) -> GraphError:
    name = f" {t.name!r}" if t.name else ""
    return GraphError(
        f"one of the tensors needed for gradient computation has been modified by an inplace "
        f"operation: {which} of {fn.name}, a tensor{name} of shape {t.shape} and dtype "
        f"{t.dtype}, was changed after {fn.name} saved it (it is now at version {version}): an "
        "optimizer step, x[i] = v or another in-place change ran between this forward and "
        "backward"
    )


def _freed_graph_error(fn: Any) -> GraphError:
    return GraphError(
        f"trying to backward through the graph a second time (through {fn.name}): its saved "
        "values were freed by the first backward; pass retain_graph=True to the first backward "
        "(or nb.grad) to keep them"
    )


def _returned_shape_error(fn: Any, index: int, returned: Any, shape: Any) -> GraphError:
    return GraphError(
        f"{type(fn).__name__}.backward returned shape {returned} for input {index} of shape {shape}"
    )


def _priority(t: Tensor) -> int:
    """Heap key of a tensor: minus its op's sequence number (newest first), leaves last."""
    fn = t._fn
    return -fn.seq if fn is not None else 1


def _accumulate(
    pending: dict[int, list[Any]], key: int, g: Any, dtype: Any, graph: bool, upstream: Any = None
) -> None:
    """Add ``g`` to the gradient pending for tensor ``key``.

    A gradient is "owned" (the engine may add into it in place) when a rule made it fresh: not
    the upstream gradient itself, not a view (``base is None``) and writeable. Rules return
    fresh arrays or views of ``g``, never saved forward values, so this is safe.
    """
    if g.dtype != dtype:
        g = g.astype(dtype)
        owned = True
    else:
        owned = not graph and g is not upstream and g.base is None and g.flags.writeable
    entry = pending.get(key)
    if entry is None:
        pending[key] = [g, owned]
    elif graph:
        entry[0] = entry[0] + g
    elif entry[1]:
        entry[0] += g
    elif owned:
        g += entry[0]
        entry[0] = g
    else:
        total = entry[0] + g
        # two 0-d arrays add up to a NumPy scalar: keep gradients arrays (in-place kernels)
        entry[0] = total if type(total) is np.ndarray else np.asarray(total)
        entry[1] = True


def _accumulate_leaf(t: Tensor, g: Any, owned: bool) -> None:
    from nabla.tensor import Tensor

    if isinstance(g, Tensor):
        g = g.data
        owned = False
    if t._grad is None:
        t._grad = g if owned else np.array(g)
    else:
        t._grad += g


def _check_backward(fn: Any, index: int, g: Any) -> None:
    data = g.data if hasattr(g, "_fn") else g
    if data.dtype.kind in "fc" and not np.isfinite(data).all():
        raise AnomalyError(
            f"{fn.name}: backward produced nan/inf in the gradient of input {index} "
            f"(shape {data.shape}); the op was created at {getattr(fn, 'stack', None)}"
        )


def backward(
    tensors: Tensor | Sequence[Tensor],
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

    single_input = isinstance(inputs, Tensor)
    ins = [inputs] if single_input else list(inputs)  # type: ignore[arg-type]
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


__all__ = ["backward", "grad", "run_backward", "unbroadcast"]


def _as_array(x: Any) -> Array:
    return x.data if hasattr(x, "_fn") else np.asarray(x)
