"""Read a recorded graph without running it: nodes, edges, names and the layer of each op.

Shared by the drawings (``to_dot``) and the backward trace (``explain``). Nothing here touches
the engine: the graph is walked through ``tensor._fn.inputs``, and names come from the model
each op recorded (``fn.root.named_parameters()``/``named_modules()``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nabla.errors import GraphError
from nabla.tensor import Tensor

FREED = (
    "the graph behind this tensor was freed by backward(): draw or explain it before calling "
    "backward, or call loss.backward(retain_graph=True) to keep it"
)


@dataclass
class Node:
    """One tensor of the graph: an op's output (``fn`` set) or a leaf."""

    index: int
    tensor: Tensor
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


def _scalar_label(t: Tensor) -> str:
    value = t.data.reshape(()).item() if t.data.size == 1 else None
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


def collect(
    root: Tensor,
    params: Mapping[str, Any] | Iterable[tuple[str, Any]] | None = None,
) -> Graph:
    """Walk the graph that produced ``root`` (every input, not only those that require grad).

    Raises
    ------
    GraphError
        If ``root`` is not a Tensor, or a backward pass already freed the graph.
    """
    if not isinstance(root, Tensor):
        raise TypeError(f"expected a Tensor, got {type(root).__name__}")
    given = _named(params)
    order: list[Tensor] = []
    index: dict[int, int] = {}
    queue = [root]
    index[id(root)] = 0
    head = 0
    while head < len(queue):  # breadth-first: nodes near the output come first
        t = queue[head]
        head += 1
        order.append(t)
        fn = t._fn
        if fn is None:
            continue
        if fn.inputs is None:
            raise GraphError(f"{fn.name}: {FREED}")
        for inp in fn.inputs:
            if id(inp) not in index:
                index[id(inp)] = len(queue)
                queue.append(inp)

    roots: dict[int, Any] = {}
    for t in order:
        model = getattr(t._fn, "root", None) if t._fn is not None else None
        if model is not None:
            roots.setdefault(id(model), model)
    param_names: dict[int, str] = {}
    module_paths: dict[int, str] = {}
    layer_labels: dict[str, str] = {}
    for model in roots.values():
        for name, p in model.named_parameters():
            param_names.setdefault(id(p), name)
        for path, module in model.named_modules():
            module_paths.setdefault(id(module), path)
            if path:
                layer_labels.setdefault(path, f"{path}: {type(module).__name__}")
    param_names.update(given)

    nodes: list[Node] = []
    for i, t in enumerate(order):
        fn = t._fn
        if fn is not None:
            name = fn.name
            kind, layer = "op", op_layer(fn, module_paths)
            inputs = [index[id(inp)] for inp in fn.inputs or ()]
        else:
            inputs = []
            pname = param_names.get(id(t))
            name = pname or t.name or (_scalar_label(t) if t.data.size == 1 else "tensor")
            kind = "param" if t.requires_grad else "const"
            owner = pname.rpartition(".")[0] if pname else ""
            layer = owner if owner in layer_labels else None
        nodes.append(Node(i, t, fn, name, kind, layer, inputs))
    return Graph(nodes, layer_labels)


def backward_order(root: Tensor) -> list[Tensor]:
    """Tensors in the order the engine's backward visits them (root first).

    The engine's Kahn order: a tensor is processed once every consumer that requires grad has
    handed it its gradient; ready tensors are taken last-in first-out.
    """
    deps: dict[int, int] = {id(root): 0}
    stack = [root]
    while stack:
        fn = stack.pop()._fn
        if fn is None:
            continue
        inputs = fn.inputs
        if inputs is None:
            raise GraphError(f"{fn.name}: {FREED}")
        for inp in inputs:
            if inp.requires_grad:
                if id(inp) in deps:
                    deps[id(inp)] += 1
                else:
                    deps[id(inp)] = 1
                    stack.append(inp)
    order: list[Tensor] = []
    ready = [root]
    while ready:
        t = ready.pop()
        order.append(t)
        for inp in t._fn.inputs or () if t._fn is not None else ():
            if inp.requires_grad:
                deps[id(inp)] -= 1
                if deps[id(inp)] == 0:
                    ready.append(inp)
    return order


def node_gradients(root: Tensor, tensors: list[Tensor]) -> dict[int, np.ndarray[Any, Any]]:
    """d(root)/d(t) for every ``t`` that requires grad, by one extra backward pass.

    The graph is kept (``retain_graph=True``) and no ``.grad`` is touched, so this can run
    before or after the user's own ``backward(retain_graph=True)``.
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
    return {id(t): g.data for t, g in zip(wanted, grads) if g is not None}
