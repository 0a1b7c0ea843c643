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

from nabla.errors import NablaError
from nabla.tensor import Tensor
from nabla.viz import graph as _graph
from nabla.viz.graph import (
    SMALL,
    Box,
    Graph,
    Node,
    Notes,
    boxes,
    collect,
    drawn_gradients,
    format_shape,
    format_value,
    grad_text,
    module_tree,
    node_label,
)

FREED_GRAD = _graph.FREED_GRAD  # the tooltips of what backward freed, for users and tests
FREED_VALUE = _graph.FREED_VALUE
FORMATS = ("svg", "png", "pdf", "dot", "gv")
INSTALL_HINT = (
    "install Graphviz (Debian/Ubuntu: sudo apt-get install graphviz; macOS: brew install "
    "graphviz; conda: conda install -c conda-forge graphviz; Windows: winget install graphviz)"
)
#: the resolution of PNG drawings: a slide's 1920 pixels hold a 12.8-inch-wide graph
SLIDE_DPI = 150
_FILL = {"op": "#fff2cc", "param": "#dae8fc", "const": "#eeeeee", "root": "#f8cecc"}


class GraphvizUnavailable(NablaError, RuntimeError):
    """Graphviz's ``dot`` program is not installed (or failed), so DOT cannot be rendered."""


class GraphvizWarning(UserWarning):
    """``draw`` wrote a ``.dot`` file instead of the requested image (no Graphviz)."""


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def to_dot(
    tensor: Tensor,
    grads: bool = False,
    cluster: bool = True,
    max_nodes: int | None = None,
    params: Mapping[str, Any] | Iterable[tuple[str, Any]] | None = None,
    rankdir: str = "TB",
    *,
    values: bool = True,
    collapse: bool | int = False,
) -> str:
    """Graphviz DOT text of the graph that produced ``tensor``.

    One node per op (name, output shape, dtype) and one per leaf (the parameter path such as
    ``0.weight`` or ``fc1.weight``, else the tensor's ``name``), edges in the forward direction;
    an op that uses one tensor twice (``w * w``) gets two edges, labelled with the operand
    positions (0, 1). With ``values`` and ``grads`` every node shows its data and its signed
    gradient, micrograd-style: a scalar as a number (``data 0.7616``, ``grad -1.5``), a tensor
    of up to 6 elements in full, a larger one as mean and range (gradients also as ‖∇‖).
    Works before and after ``backward()``: backward frees the values the graph saved, not its
    topology.

    Parameters
    ----------
    tensor : Tensor
        Usually a loss.
    grads : bool
        Also show gradients, signed. While the graph is intact, each node's gradient
        d(tensor)/d(node), computed by an extra backward pass that keeps the graph and touches
        no ``.grad`` (``tensor`` must be a scalar). After a ``backward()`` that freed the graph,
        each parameter's ``.grad`` as stored (the sum over every backward so far), and each op's
        gradient when that backward ran inside ``nb.viz.keep_gradients()``; otherwise the ops
        show none (their tooltip says so).
    cluster : bool
        Group the nodes of each module in a box labelled with its path ("0: Linear").
    max_nodes : int, optional
        Show only the ``max_nodes`` nodes nearest the output; the rest collapse into one node.
    params : mapping or iterable of (name, tensor), optional
        Names for leaves, e.g. ``dict(model.named_parameters())`` (found automatically for
        tensors created inside a module's forward).
    rankdir : {"TB", "LR", "BT", "RL"}
        Layout direction (Graphviz's ``rankdir``).
    values : bool
        Show each node's value (``False`` for big graphs). Leaves always have theirs; an op's
        value shows while its graph is live: drawn before ``backward()`` or after
        ``backward(retain_graph=True)``; the root's always.
    collapse : bool or int
        One box per module instead of one node per tensor: the box lists the module's ops,
        its output (value and gradient) and its parameters (shapes and gradients), and edges
        link the boxes. An int ``k`` cuts module paths to their first ``k`` parts (``1``: one
        box per top-level layer of a nested model).

    Returns
    -------
    str

    Examples
    --------
    >>> import nabla as nb
    >>> w = nb.tensor([1.0, -2.0], requires_grad=True, name="w")
    >>> print(nb.viz.to_dot((w * w).sum(), grads=True, cluster=False).splitlines()[4])
      n0 [label="sum\\nscalar float32\\ndata 5\\ngrad 1", fillcolor="#f8cecc", penwidth=2];
    """
    if max_nodes is not None and max_nodes < 1:
        raise ValueError(f"to_dot: max_nodes must be at least 1, got {max_nodes}")
    if collapse is not False and max_nodes is not None:
        raise ValueError("to_dot: collapse and max_nodes cannot be combined")
    graph = collect(tensor, params)
    shown = graph.nodes if max_nodes is None else graph.nodes[:max_nodes]
    hidden = len(graph.nodes) - len(shown)
    notes = Notes(values, *(drawn_gradients(tensor, graph, shown) if grads else ({}, set())))

    lines = [
        "digraph nabla {",
        f'  graph [rankdir={rankdir}, fontname="Helvetica", fontsize=11, nodesep=0.3];',
        '  node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=10];',
        "  edge [arrowsize=0.7, fontname=Helvetica, fontsize=9];",
    ]
    if collapse is not False:
        depth = None if collapse is True else int(collapse)
        if depth is not None and depth < 1:
            raise ValueError(f"to_dot: collapse must be True or at least 1, got {collapse}")
        lines.extend(_collapsed(graph, depth, notes))
        return "\n".join([*lines, "}"]) + "\n"
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


def _node_statement(node: Node, notes: Notes, ident: str | None = None) -> str:
    lines, tips = node_label(node, notes)
    fill = _FILL["root"] if node.index == 0 else _FILL[node.kind]
    attrs = [f"label={_quote(chr(10).join(lines))}", f'fillcolor="{fill}"']
    if tips:
        attrs.append(f"tooltip={_quote(chr(10).join(tips))}")
    if node.kind == "const":
        attrs.append('shape=note, style="filled", color="#999999"')
    if node.index == 0:
        attrs.append("penwidth=2")
    return f"  {ident or f'n{node.index}'} [{', '.join(attrs)}];"


def _edge_statements(graph: Graph, n_shown: int) -> list[str]:
    """One edge per input of each shown op, so ``w * w`` draws two (labelled with the operand
    positions); inputs beyond the shown nodes come from the collapsed ``more`` node."""
    edges: list[str] = []
    from_more: set[int] = set()
    for node in graph.nodes[:n_shown]:
        repeated = len(set(node.inputs)) < len(node.inputs)
        for pos, src in enumerate(node.inputs):
            if src < n_shown:
                label = f' [label="{pos}"]' if repeated else ""
                edges.append(f"  n{src} -> n{node.index}{label};")
            elif node.index not in from_more:
                from_more.add(node.index)
                edges.append(f"  more -> n{node.index};")
    return edges


def _collapsed(graph: Graph, depth: int | None, notes: Notes) -> list[str]:
    """The collapsed view: one box per module, one node per tensor outside modules."""
    found, links = boxes(graph, depth)
    lines = []
    for box in found:
        if box.path is None:
            lines.append(_node_statement(graph.nodes[box.head], notes, f"m{box.index}"))
            continue
        fill = _FILL["root"] if 0 in box.members else "#e1d5e7"
        label = _quote("\n".join(_box_lines(graph, box, notes)))
        lines.append(f'  m{box.index} [label={label}, fillcolor="{fill}"];')
    lines += [f"  m{src} -> m{dst};" for src, dst in links]
    return lines


def _box_lines(graph: Graph, box: Box, notes: Notes) -> list[str]:
    """A module box's label: its path and class, its ops and output, its parameters."""
    assert box.path is not None
    members = [graph.nodes[i] for i in box.members]
    ops = [n for n in members if n.kind == "op"]
    lines = [graph.layer_labels.get(box.path, box.path)]
    if ops:
        head = ops[0]  # nearest the output: the value that leaves the box
        names = ", ".join(dict.fromkeys(n.name for n in reversed(ops)))
        lines.append(f"{names} → {format_shape(head.tensor.shape)}")
        lines += node_label(head, notes)[0][2:]
    for p in members:
        if p.kind == "op":
            continue
        text = f"{p.name.removeprefix(box.path + '.')} {format_shape(p.tensor.shape)}"
        if notes.values and p.tensor.size <= SMALL:
            text += f" = {format_value(p.tensor.data)}"
        if p.index in notes.grads:  # a big one by its norm alone: the box stays slide-sized
            g = notes.grads[p.index]
            small = g is None or g.size <= SMALL
            text += ", " + (grad_text(g) if small else f"‖∇‖={float(np.linalg.norm(g)):.3g}")
        lines.append(text)
    return lines


def _clusters(graph: Graph, statements: dict[str | None, list[str]]) -> list[str]:
    """Nested ``subgraph cluster_*`` blocks, one per module path that holds nodes."""
    tops, children = module_tree(graph, [p for p in statements if p is not None])

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


def _with_dpi(dot_text: str, dpi: float) -> str:
    """``dot_text`` with a ``dpi`` graph attribute (what ``dot -Gdpi=…`` sets)."""
    if not dpi > 0:
        raise ValueError(f"draw: dpi must be positive, got {dpi}")
    start = dot_text.index("{") + 1
    return f"{dot_text[:start]}\n  graph [dpi={dpi:g}];{dot_text[start:]}"


def render(dot_text: str, fmt: str = "svg", *, dpi: float | None = None) -> bytes:
    """Run Graphviz's ``dot`` on ``dot_text``; returns the image bytes. ``dpi`` sets the
    resolution of bitmaps (Graphviz's ``-Gdpi``; its own default is 96).

    Raises
    ------
    GraphvizUnavailable
        When ``dot`` is not installed or fails.
    """
    if dpi is not None:
        dot_text = _with_dpi(dot_text, dpi)
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
    dot_text: str,
    path: str | os.PathLike[str],
    fmt: str | None = None,
    *,
    dpi: float | None = None,
) -> tuple[Path, str | None]:
    """Write ``dot_text`` rendered to ``path``; without Graphviz, write ``path`` as .dot.
    A PNG gets ``dpi`` dots per inch (default :data:`SLIDE_DPI`); other formats ignore it.

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
    if fmt == "png":
        dot_text = _with_dpi(dot_text, SLIDE_DPI if dpi is None else dpi)
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
    values: bool = True,
    collapse: bool | int = False,
    dpi: float | None = None,
) -> Path:
    """Draw the graph that produced ``tensor`` to an SVG, PNG, PDF or DOT file.

    The format comes from ``format`` or the file's suffix. A PNG is rendered at ``dpi`` dots
    per inch, by default :data:`SLIDE_DPI` (150: sharp on a 1920-pixel slide). Without
    Graphviz's ``dot`` the DOT text is written next to ``path`` (suffix ``.dot``) and a
    :class:`GraphvizWarning` says how to install Graphviz. The other parameters are those of
    :func:`to_dot`; draw after ``backward()`` works too (see its ``values`` and ``grads``).

    Returns
    -------
    Path
        The file written.
    """
    text = to_dot(
        tensor,
        grads=grads,
        cluster=cluster,
        max_nodes=max_nodes,
        params=params,
        rankdir=rankdir,
        values=values,
        collapse=collapse,
    )
    written, note = write_graph(text, path, format, dpi=dpi)
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
