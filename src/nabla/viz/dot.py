"""Graph drawings: DOT text of a recorded graph, rendered with Graphviz's ``dot``.

``to_dot`` needs nothing beyond NumPy. Rendering uses the ``graphviz`` Python package when it
is installed (``pip install 'nabla[viz]'``), else the ``dot`` program directly; without ``dot``
``draw`` writes the ``.dot`` file and says how to install Graphviz.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import warnings
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from nabla.autograd.graph import kept_gradient, node_key
from nabla.errors import NablaError
from nabla.tensor import Tensor
from nabla.viz.graph import Graph, Node, collect, format_shape, node_gradients

FORMATS = ("svg", "png", "pdf", "dot", "gv")
INSTALL_HINT = (
    "install Graphviz (Debian/Ubuntu: sudo apt-get install graphviz; macOS: brew install "
    "graphviz; conda: conda install -c conda-forge graphviz; Windows: winget install graphviz)"
)
#: the tooltip of a node whose gradient a backward pass did not keep (non-leaves)
FREED_GRAD = (
    "grad: freed by backward (draw before backward, backward(retain_graph=True), or backward "
    "inside nb.viz.keep_gradients())"
)
_FILL = {"op": "#fff2cc", "param": "#dae8fc", "const": "#eeeeee", "root": "#f8cecc"}


class GraphvizUnavailable(NablaError, RuntimeError):
    """Graphviz's ``dot`` program is not installed (or failed), so DOT cannot be rendered."""


class GraphvizWarning(UserWarning):
    """``draw`` wrote a ``.dot`` file instead of the requested image (no Graphviz)."""


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _grad_line(grad: np.ndarray[Any, Any] | None) -> str:
    if grad is None:
        return "∇ none"
    norm = float(np.linalg.norm(grad.astype(np.float64, copy=False).ravel()))
    return f"∇ {format_shape(grad.shape)}  ‖∇‖={norm:.3g}"


def to_dot(
    tensor: Tensor,
    grads: bool = False,
    cluster: bool = True,
    max_nodes: int | None = None,
    params: Mapping[str, Any] | Iterable[tuple[str, Any]] | None = None,
    rankdir: str = "TB",
) -> str:
    """Graphviz DOT text of the graph that produced ``tensor``.

    One node per op (name, output shape, dtype) and one per leaf (the parameter path such as
    ``0.weight`` or ``fc1.weight``, else the tensor's ``name``), edges in the forward direction.
    Works before and after ``backward()``: backward frees the values the graph saved, not its
    topology.

    Parameters
    ----------
    tensor : Tensor
        Usually a loss.
    grads : bool
        Also show gradients (shape and norm). While the graph is intact, each node's gradient
        d(tensor)/d(node), computed by an extra backward pass that keeps the graph and touches
        no ``.grad`` (``tensor`` must be a scalar). After a ``backward()`` that freed the graph,
        each parameter's ``.grad`` as stored (the sum over every backward so far); the other
        nodes kept no gradient and show none (their tooltip says so).
    cluster : bool
        Group the nodes of each module in a box labelled with its path ("0: Linear").
    max_nodes : int, optional
        Show only the ``max_nodes`` nodes nearest the output; the rest collapse into one node.
    params : mapping or iterable of (name, tensor), optional
        Names for leaves, e.g. ``dict(model.named_parameters())`` (found automatically for
        tensors created inside a module's forward).
    rankdir : {"TB", "LR", "BT", "RL"}
        Layout direction (Graphviz's ``rankdir``).

    Returns
    -------
    str

    Examples
    --------
    >>> import nabla as nb
    >>> w = nb.tensor([1.0, 2.0], requires_grad=True, name="w")
    >>> print(nb.viz.to_dot((w * w).sum(), cluster=False).splitlines()[4])
      n0 [label="sum\\nscalar float32", fillcolor="#f8cecc", penwidth=2];
    """
    if max_nodes is not None and max_nodes < 1:
        raise ValueError(f"to_dot: max_nodes must be at least 1, got {max_nodes}")
    graph = collect(tensor, params)
    shown = graph.nodes if max_nodes is None else graph.nodes[:max_nodes]
    hidden = len(graph.nodes) - len(shown)
    notes = _grad_notes(tensor, graph, shown) if grads else {}

    lines = [
        "digraph nabla {",
        f'  graph [rankdir={rankdir}, fontname="Helvetica", fontsize=11, nodesep=0.3];',
        '  node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=10];',
        "  edge [arrowsize=0.7];",
    ]
    statements: dict[str | None, list[str]] = {}
    for node in shown:
        layer = node.layer if cluster else None
        statements.setdefault(layer, []).append(_node_statement(node, notes))
    lines.extend(statements.pop(None, []))
    if statements:
        lines.extend(_clusters(graph, statements))
    if hidden:
        lines.append(f'  more [label="… {hidden} more nodes", shape=box, style="dashed,rounded"];')
    lines.extend(_edge_statements(graph, len(shown)))
    lines.append("}")
    return "\n".join(lines) + "\n"


def _grad_notes(root: Tensor, graph: Graph, shown: list[Node]) -> dict[int, str | None]:
    """The gradient line of each shown node that gets one, by index; None for a node whose
    gradient a backward pass did not keep. Live graph: d(root)/d(node) for every node that
    requires grad; freed graph: each parameter's ``.grad`` as stored, None for the ops."""
    if graph.freed:  # the values are gone: only what backward stored is left
        notes: dict[int, str | None] = {}
        for n in shown:
            if n.kind != "const":
                kept = kept_gradient(n.tensor)  # a parameter's .grad, an op's if kept
                notes[n.index] = (
                    _grad_line(kept) if kept is not None or n.kind == "param" else None
                )
        return notes
    gradients = node_gradients(root, [n.tensor for n in shown])
    return {
        n.index: _grad_line(gradients.get(node_key(n.tensor)))
        for n in shown
        if n.kind != "const" or node_key(n.tensor) in gradients
    }


def _node_statement(node: Node, notes: dict[int, str | None]) -> str:
    t = node.tensor
    label = f"{node.name}\n{format_shape(t.shape)} {t.dtype}"
    fill = _FILL["root"] if node.index == 0 else _FILL[node.kind]
    tooltip: list[str] = []
    if node.index in notes:
        note = notes[node.index]
        if note is None:
            tooltip.append(f"tooltip={_quote(FREED_GRAD)}")
        else:
            label += "\n" + note
    attrs = [f"label={_quote(label)}", f'fillcolor="{fill}"', *tooltip]
    if node.kind == "const":
        attrs.append('shape=note, style="filled", color="#999999"')
    if node.index == 0:
        attrs.append("penwidth=2")
    return f"  n{node.index} [{', '.join(attrs)}];"


def _edge_statements(graph: Graph, n_shown: int) -> list[str]:
    """One edge per (input, op) pair among the shown nodes; inputs beyond them come from
    the collapsed ``more`` node."""
    edges: list[str] = []
    seen: set[str] = set()
    for src, dst in graph.edges():
        if dst >= n_shown:
            continue
        edge = f"  n{src} -> n{dst};" if src < n_shown else f"  more -> n{dst};"
        if edge not in seen:
            seen.add(edge)
            edges.append(edge)
    return edges


def _clusters(graph: Graph, statements: dict[str | None, list[str]]) -> list[str]:
    """Nested ``subgraph cluster_*`` blocks, one per module path that holds nodes."""
    paths: set[str] = set()
    for path in statements:
        assert path is not None
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

    def block(path: str, depth: int) -> list[str]:
        pad = "  " * depth
        label = graph.layer_labels.get(path, path)
        out = [
            f"{pad}subgraph {_quote('cluster_' + path)} {{",
            f'{pad}  label={_quote(label)}; style="rounded,dashed"; color="#888888";',
        ]
        out += [pad + s for s in statements.get(path, [])]
        for child in children.get(path, []):
            out += block(child, depth + 1)
        out.append(f"{pad}}}")
        return out

    lines: list[str] = []
    for path in tops:
        lines += block(path, 1)
    return lines


def render(dot_text: str, fmt: str = "svg") -> bytes:
    """Run Graphviz's ``dot`` on ``dot_text``; returns the image bytes.

    Raises
    ------
    GraphvizUnavailable
        When ``dot`` is not installed or fails.
    """
    try:
        import graphviz  # type: ignore[import-untyped, unused-ignore]
    except ImportError:
        graphviz = None
    if graphviz is not None:
        try:
            return graphviz.Source(dot_text).pipe(format=fmt)  # type: ignore[no-any-return]
        except graphviz.ExecutableNotFound:
            raise GraphvizUnavailable(
                f"Graphviz's dot program was not found; {INSTALL_HINT}"
            ) from None
        except graphviz.CalledProcessError as exc:
            raise GraphvizUnavailable(f"dot failed: {exc}") from exc
    exe = shutil.which("dot")
    if exe is None:
        raise GraphvizUnavailable(f"Graphviz's dot program was not found; {INSTALL_HINT}")
    done = subprocess.run(
        [exe, f"-T{fmt}"], input=dot_text.encode(), capture_output=True, check=False
    )
    if done.returncode != 0:
        raise GraphvizUnavailable(f"dot failed: {done.stderr.decode(errors='replace').strip()}")
    return done.stdout


def write_graph(
    dot_text: str, path: str | os.PathLike[str], fmt: str | None = None
) -> tuple[Path, str | None]:
    """Write ``dot_text`` rendered to ``path``; without Graphviz, write ``path`` as .dot.

    Returns the path written and, when it fell back to DOT, a message saying why and how to
    install Graphviz.
    """
    from nabla.io.atomic import atomic_write_bytes

    path = Path(path)
    fmt = (fmt or path.suffix.lstrip(".") or "svg").lower()
    if fmt not in FORMATS:
        raise ValueError(f"draw: unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if fmt in ("dot", "gv"):
        atomic_write_bytes(path, dot_text.encode())
        return path, None
    try:
        data = render(dot_text, fmt)
    except GraphvizUnavailable as exc:
        fallback = path.with_suffix(".dot")
        atomic_write_bytes(fallback, dot_text.encode())
        return fallback, (
            f"could not render {path.name} ({exc}); wrote the graph to {fallback} instead; "
            f"render it later with: dot -T{fmt} {fallback} -o {path}"
        )
    atomic_write_bytes(path, data)
    return path, None


def draw(
    tensor: Tensor,
    path: str | os.PathLike[str],
    *,
    format: str | None = None,
    grads: bool = False,
    cluster: bool = True,
    max_nodes: int | None = None,
    params: Mapping[str, Any] | Iterable[tuple[str, Any]] | None = None,
    rankdir: str = "TB",
) -> Path:
    """Draw the graph that produced ``tensor`` to an SVG, PNG, PDF or DOT file.

    The format comes from ``format`` or the file's suffix. Without Graphviz's ``dot`` the DOT
    text is written next to ``path`` (suffix ``.dot``) and a :class:`GraphvizWarning` says how
    to install Graphviz. The other parameters are those of :func:`to_dot`.

    Returns
    -------
    Path
        The file written.
    """
    text = to_dot(
        tensor, grads=grads, cluster=cluster, max_nodes=max_nodes, params=params, rankdir=rankdir
    )
    written, note = write_graph(text, path, format)
    if note is not None:
        warnings.warn(note, GraphvizWarning, stacklevel=2)
    return written


def repr_svg(tensor: Tensor, max_nodes: int = 60) -> str | None:
    """SVG of the tensor's graph for Jupyter (``Tensor._repr_svg_``), or None without one.

    None when the tensor has no recorded graph or Graphviz is missing, so notebooks fall back
    to the text ``repr``. A graph that ``backward()`` freed is drawn too (its topology stays).
    """
    if tensor._fn is None:
        return None
    try:
        return render(to_dot(tensor, max_nodes=max_nodes), "svg").decode("utf-8")
    except GraphvizUnavailable:
        return None
