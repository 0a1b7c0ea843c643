"""Read a recorded graph without running it: nodes, edges, names and the layer of each op.

Shared by the drawings (``to_dot``) and the backward trace (``explain``). The graph is walked
with the engine's own functions (:mod:`nabla.autograd.graph`): ``inputs_of`` gives an op's
inputs before and after a backward pass freed its saved values (a freed non-leaf input is a
``FreedTensor``: its shape, dtype and name, no values), and ``node_key`` identifies a node
either way. Names come from the model each op recorded (``fn.root.named_parameters()``/
``named_modules()``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nabla.autograd.graph import inputs_of, is_freed, node_key
from nabla.errors import GraphError
from nabla.tensor import Tensor


@dataclass
class Node:
    """One tensor of the graph: an op's output (``fn`` set) or a leaf.

    ``tensor`` is the Tensor, or for an op output that a backward pass freed (and nobody
    holds), its :class:`~nabla.autograd.graph.FreedTensor` record (``data`` is None).
    """

    index: int
    tensor: Any
    fn: Any
    name: str
    kind: str  # "op", "param" (a leaf that requires grad), "const" (a leaf that does not)
    layer: str | None  # module path of the op (or of the parameter's module); None outside
    inputs: list[int] = field(default_factory=list)


@dataclass
class Graph:
    """Nodes in breadth-first order from the root (the root is node 0)."""

    nodes: list[Node]
    layer_labels: dict[str, str]  # module path → "path: ClassName"

    def edges(self) -> list[tuple[int, int]]:
        """(input node, op node) pairs, in the forward direction."""
        return [(i, node.index) for node in self.nodes for i in node.inputs]

    @property
    def freed(self) -> bool:
        """Whether a backward pass freed any op of the graph (its values are partly gone)."""
        return any(node.fn is not None and is_freed(node.fn) for node in self.nodes)


def format_shape(shape: tuple[int, ...], parens: bool = False) -> str:
    """(64, 10) → '64×10' (or '(64×10)'); a 0-d shape is 'scalar'."""
    if not shape:
        return "scalar"
    text = "×".join(str(n) for n in shape)
    return f"({text})" if parens else text


def _named(params: Mapping[str, Any] | Iterable[tuple[str, Any]] | None) -> dict[int, str]:
    if params is None:
        return {}
    items = params.items() if isinstance(params, Mapping) else params
    return {id(p): str(name) for name, p in items}


def _scalar_label(t: Any) -> str:
    """A one-element leaf's value ('0.5'); 'tensor' when it has no values to show."""
    data = t.data
    if data is None or data.size != 1:
        return "tensor"
    value = data.reshape(()).item()
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def op_layer(fn: Any, module_paths: dict[int, str]) -> str | None:
    """The module path of the layer that created ``fn`` (None when made outside any module)."""
    module = getattr(fn, "module", None)
    if module is None:
        return None
    path = module_paths.get(id(module))
    return path or type(module).__name__


def _walk(root: Tensor) -> tuple[list[Any], dict[int, int]]:
    """Every tensor behind ``root``, breadth-first (nodes near the output come first), and
    each one's position by :func:`node_key`."""
    order: list[Any] = [root]
    index = {node_key(root): 0}
    head = 0
    while head < len(order):
        fn = order[head]._fn
        head += 1
        if fn is None:
            continue
        for inp in inputs_of(fn):
            key = node_key(inp)
            if key not in index:
                index[key] = len(order)
                order.append(inp)
    return order, index


@dataclass
class _Names:
    """What the models that recorded the graph call its parameters and modules."""

    params: dict[int, str] = field(default_factory=dict)  # id(parameter) → "0.weight"
    modules: dict[int, str] = field(default_factory=dict)  # id(module) → "0"
    layers: dict[str, str] = field(default_factory=dict)  # "0" → "0: Linear"


def _model_names(order: list[Any], given: dict[int, str]) -> _Names:
    roots: dict[int, Any] = {}
    for t in order:
        model = getattr(t._fn, "root", None) if t._fn is not None else None
        if model is not None:
            roots.setdefault(id(model), model)
    names = _Names()
    for model in roots.values():
        for name, p in model.named_parameters():
            names.params.setdefault(id(p), name)
        for path, module in model.named_modules():
            names.modules.setdefault(id(module), path)
            if path:
                names.layers.setdefault(path, f"{path}: {type(module).__name__}")
    names.params.update(given)
    return names


def _node(i: int, t: Any, index: dict[int, int], names: _Names) -> Node:
    fn = t._fn
    if fn is not None:
        inputs = [index[node_key(inp)] for inp in inputs_of(fn)]
        return Node(i, t, fn, fn.name, "op", op_layer(fn, names.modules), inputs)
    pname = names.params.get(id(t))
    name = pname or t.name or _scalar_label(t)
    owner = pname.rpartition(".")[0] if pname else ""
    layer = owner if owner in names.layers else None
    return Node(i, t, None, name, "param" if t.requires_grad else "const", layer)


def collect(
    root: Tensor,
    params: Mapping[str, Any] | Iterable[tuple[str, Any]] | None = None,
) -> Graph:
    """Walk the graph that produced ``root`` (every input, not only those that require grad).

    Works before and after ``backward()``: a backward pass frees the values an op saved but
    keeps the graph's topology (ops, links, shapes, dtypes, names, modules).

    Raises
    ------
    TypeError
        If ``root`` is not a Tensor.
    """
    if not isinstance(root, Tensor):
        raise TypeError(f"expected a Tensor, got {type(root).__name__}")
    order, index = _walk(root)
    names = _model_names(order, _named(params))
    nodes = [_node(i, t, index, names) for i, t in enumerate(order)]
    return Graph(nodes, names.layers)


def node_gradients(root: Tensor, tensors: list[Any]) -> dict[int, np.ndarray[Any, Any]]:
    """d(root)/d(t) for every ``t`` that requires grad, by one extra backward pass, keyed by
    :func:`node_key`.

    The graph is kept (``retain_graph=True``) and no ``.grad`` is touched, so this can run
    before or after the user's own ``backward(retain_graph=True)``; the graph must be live
    (not freed by a backward pass).
    """
    from nabla.autograd.engine import grad

    if root.size != 1:
        raise GraphError(
            f"grads=True needs a scalar output (a loss); this tensor has shape {root.shape}"
        )
    wanted = [t for t in tensors if t.requires_grad]
    if not wanted or not root.requires_grad:
        return {}
    grads = grad(root, wanted, retain_graph=True, allow_unused=True)
    return {node_key(t): g.data for t, g in zip(wanted, grads) if g is not None}
