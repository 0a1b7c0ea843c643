"""Read a recorded graph without running it: nodes, edges, names and the layer of each op.

Shared by the drawings (``to_dot``) and the backward trace (``explain``). The graph is walked
with the engine's own functions (:mod:`nabla.autograd.graph`): ``inputs_of`` gives an op's
inputs before and after a backward pass freed its saved values (a freed non-leaf input is a
``FreedTensor``: its shape, dtype and name, no values), and ``node_key`` identifies a node
either way. Names come from the model each op recorded (``fn.root.named_parameters()``/
``named_modules()``). It also says what a drawing shows on each node (:func:`node_label`: a
value in 4 significant digits, a small tensor in full, a larger one as mean and range, the
signed gradient) and how the collapsed view groups nodes into one box per module (:func:`boxes`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nabla.autograd.graph import inputs_of, is_freed, kept_gradient, node_key
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


#: the tooltip of a node whose gradient a backward pass did not keep (non-leaves)
FREED_GRAD = (
    "grad: freed by backward (draw before backward, backward(retain_graph=True), or backward "
    "inside nb.viz.keep_gradients())"
)
#: the tooltip of an op whose value a backward pass freed
FREED_VALUE = (
    "value: released by backward (draw before backward, or use backward(retain_graph=True))"
)
#: tensors with at most this many elements are shown in full (a scalar, a 2×3 matrix)
SMALL = 6


def format_number(x: Any) -> str:
    """One number, 4 significant digits for floats ('-1.5', '0.3333', '1e+04'); ints as is."""
    if isinstance(x, (bool, np.bool_)):
        return str(bool(x))
    if isinstance(x, (int, np.integer)):
        return str(int(x))
    return f"{float(x):.4g}"


def _nested(a: np.ndarray[Any, Any]) -> str:
    if a.ndim == 0:
        return format_number(a.item())
    return "[" + ", ".join(_nested(row) for row in a) + "]"


def format_value(a: Any, norm: str | None = None) -> str:
    """A tensor's values for a drawing: a scalar as a number ('-1.5'), up to :data:`SMALL`
    elements in full ('[[1, 2], [3, 4]]'), larger ones as mean and range. ``norm`` (a symbol
    such as '‖∇‖') adds the Euclidean norm to anything that is not a scalar (for gradients).

    >>> format_value(np.array(-1.5)), format_value(np.array([[1.0, 2.0], [3.0, 4.0]]))
    ('-1.5', '[[1, 2], [3, 4]]')
    >>> format_value(np.arange(10.0), norm="‖∇‖")
    '‖∇‖=16.9, mean 4.5, range [0, 9]'
    """
    a = np.asarray(a)
    if a.size == 0:
        return "empty"
    if a.size == 1:
        return format_number(a.reshape(()).item())
    x = a.astype(np.float64, copy=False)
    with np.errstate(all="ignore"):  # a diverged tensor (inf, nan) still draws, as inf/nan
        size = f"{norm}={float(np.linalg.norm(x.ravel())):.3g}" if norm else ""
        stats = (x.mean(), x.min(), x.max())
    if a.size <= SMALL:
        return _nested(a) + (f"  {size}" if size else "")
    mean, lo, hi = (format_number(v) for v in stats)
    summary = f"mean {mean}, range [{lo}, {hi}]"
    return f"{size}, {summary}" if size else summary


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
    return format_number(data.reshape(()).item())


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


def module_tree(graph: Graph, used: list[str]) -> tuple[list[str], dict[str, list[str]]]:
    """The module paths that hold the ``used`` paths (each used path and its ancestors that
    are modules), as top-level paths and each path's children, for nested clusters."""
    paths: set[str] = set()
    for path in used:
        parts = path.split(".")
        for k in range(1, len(parts) + 1):
            prefix = ".".join(parts[:k])
            if prefix in graph.layer_labels or prefix == path:
                paths.add(prefix)
    children: dict[str, list[str]] = {}
    tops: list[str] = []
    for path in sorted(paths, key=lambda p: (p.count("."), p)):
        parent = next(
            (
                path.rsplit(".", k)[0]
                for k in range(1, path.count(".") + 1)
                if path.rsplit(".", k)[0] in paths
            ),
            None,
        )
        (children.setdefault(parent, []) if parent else tops).append(path)
    return tops, children


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


@dataclass
class Box:
    """One box of the collapsed view: a module's nodes (``path`` set) or one node outside
    every module (``path`` None)."""

    index: int
    path: str | None
    members: list[int]  # node indices, nearest the output first

    @property
    def head(self) -> int:
        """The member whose value leaves the box: its first op (nearest the output)."""
        return self.members[0]


def boxes(graph: Graph, depth: int | None = None) -> tuple[list[Box], list[tuple[int, int]]]:
    """Group ``graph``'s nodes into one box per module (the path each op recorded; a
    parameter goes to its module's box), cut to its first ``depth`` parts when given (``1``:
    one box per top-level layer); nodes outside modules keep a box each. Returns the boxes
    (the root's first) and the distinct (source box, target box) links between boxes."""
    found: dict[str, Box] = {}
    owner: list[int] = []
    result: list[Box] = []
    for node in graph.nodes:
        path = node.layer
        if path is not None and depth is not None:
            path = ".".join(path.split(".")[:depth])
        box = found.get(path) if path is not None else None
        if box is None:
            box = Box(len(result), path, [])
            result.append(box)
            if path is not None:
                found[path] = box
        box.members.append(node.index)
        owner.append(box.index)
    for box in result:  # an op first: a box's parameters may sit nearer the output in BFS
        box.members.sort(key=lambda i: (graph.nodes[i].kind != "op", i))
    links = dict.fromkeys(
        (owner[src], owner[dst]) for src, dst in graph.edges() if owner[src] != owner[dst]
    )
    return result, list(links)


def drawn_gradients(
    root: Tensor, graph: Graph, shown: list[Node]
) -> tuple[dict[int, Any], set[int]]:
    """The gradient of each shown node that gets one, by index (None: it has none), and the
    ops whose gradient a backward pass did not keep. Live graph: d(root)/d(node) for every
    node that requires grad; freed graph: each parameter's ``.grad`` as stored, and each op's
    gradient kept under ``keep_gradients()``."""
    grads: dict[int, Any] = {}
    freed: set[int] = set()
    if graph.freed:  # the values are gone: only what backward stored is left
        for n in shown:
            if n.kind != "const":
                kept = kept_gradient(n.tensor)  # a parameter's .grad, an op's if kept
                if kept is None and n.kind == "op":
                    freed.add(n.index)
                else:
                    grads[n.index] = None if kept is None else np.asarray(kept)
        return grads, freed
    gradients = node_gradients(root, [n.tensor for n in shown])
    for n in shown:
        key = node_key(n.tensor)
        if n.kind != "const" or key in gradients:
            grads[n.index] = gradients.get(key)
    return grads, freed


def grad_text(grad: Any) -> str:
    """'grad -1.5' for a scalar, the values and norm of a small tensor, else norm and summary."""
    return "grad none" if grad is None else f"grad {format_value(grad, norm='‖∇‖')}"


@dataclass
class Notes:
    """What each node shows beyond its name and shape: its value (``values``), its gradient
    (``grads``: node index → array, None for "none") or a note that backward freed it."""

    values: bool
    grads: dict[int, Any]
    freed: set[int]


def node_label(node: Node, notes: Notes) -> tuple[list[str], list[str]]:
    """The label lines of ``node`` (name, shape and dtype, data, grad) and its tooltips."""
    t = node.tensor
    lines = [node.name, f"{format_shape(t.shape)} {t.dtype}"]
    tips: list[str] = []
    if notes.values:
        if t.data is None:
            tips.append(FREED_VALUE)
        elif (text := format_value(t.data)) != node.name:  # a constant named by its value
            lines.append(f"data {text}")
    if node.index in notes.grads:
        lines.append(grad_text(notes.grads[node.index]))
    elif node.index in notes.freed:
        tips.append(FREED_GRAD)
    return lines, tips
