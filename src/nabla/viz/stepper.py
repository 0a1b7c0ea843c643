"""``nb.viz.stepper``: one offline HTML page that steps through forward, then backward.

The page shows the graph (Graphviz's SVG, or a built-in layered drawing without Graphviz) and,
one node at a time, what the forward pass computed there and then what the backward pass
sends through it: the gradient ``g`` arriving from above, each input's rule from
:func:`nabla.explain` with the real numbers substituted (small tensors), the gradient it
contributes, and at a tensor used by several ops the running sum of its contributions (the
notes' branch rule, "+="). Everything is computed here, before the page is written, by the
engine itself: values are the live graph's, each node's total gradient comes from
``nb.grad(loss, nodes, retain_graph=True)`` (no ``.grad`` is touched), each contribution from
the op's own backward rule on that gradient, and the steps come in the engine's order
(:func:`nabla.autograd.graph.backward_order`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from nabla.autograd.graph import backward_order, inputs_of, node_key
from nabla.errors import GraphError
from nabla.tensor import Tensor
from nabla.viz.explain import Step, explain
from nabla.viz.graph import Graph, Node, collect, format_shape, node_gradients
from nabla.viz.stepper_page import graph_svg, page_html

#: tensors with at most this many elements are shown in full (and substituted into rules)
MAX_ELEMENTS = 24


def _values(x: Any, max_elements: int) -> dict[str, Any]:
    """A tensor's values for the page: shape, the numbers (small tensors), text, summary."""
    a = np.asarray(x)
    shown = a.astype(np.float64) if a.dtype.kind in "fcbiu" else a
    full = a.size <= max_elements
    data = None
    if full and a.dtype.kind in "fiub":
        flat = [float(v) if np.isfinite(v) else str(v) for v in shown.ravel().tolist()]
        data = flat if a.ndim else flat[0]
    if full:
        text = _text(shown)
    else:
        text = f"{format_shape(a.shape)} array"
    summary = ""
    if a.size and a.dtype.kind in "fiub":
        with np.errstate(all="ignore"):
            summary = (
                f"mean {shown.mean():.4g}, min {shown.min():.4g}, max {shown.max():.4g}, "
                f"‖·‖ {np.linalg.norm(shown.ravel()):.4g}"
            )
    return {"shape": list(a.shape), "data": data, "text": text, "summary": summary}


def _text(a: Any) -> str:
    """Numbers as a learner reads them: 4 significant digits, NumPy's brackets."""
    return np.array2string(
        np.asarray(a), separator=", ", formatter={"float_kind": lambda v: f"{v:.4g}"}
    )


def _label(node: Node, names: dict[int, str], count: dict[str, int]) -> str:
    """The name a learner sees: a given name, the tensor's own name, else op name + number."""
    t = node.tensor
    given = names.get(id(t)) or (t.name if node.fn is not None else None)
    if given:
        return str(given)
    if node.fn is None:
        return node.name
    count[node.name] = count.get(node.name, 0) + 1
    return f"{node.name}{count[node.name]}"


def _contributions(fn: Any, out: Tensor, g: np.ndarray[Any, Any]) -> list[Any]:
    """Op ``fn``'s backward rule run on ``g``: one gradient per input (None where not needed),
    summed back over broadcast axes as the engine does."""
    from nabla.autograd.engine import unbroadcast
    from nabla.autograd.saved import saved_values
    from nabla.ops.namespace import ARRAY_OPS

    inputs = fn.inputs
    arrays = saved_values(fn, inputs, out, arrays=True)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        grads = fn.backward(np.array(g, copy=True), ARRAY_OPS, *arrays)
    return [
        None if gi is None or not inp.requires_grad else np.asarray(unbroadcast(gi, inp.shape))
        for inp, gi in zip(inputs, grads)
    ]


#: a symbol stands alone: no ASCII letter, digit or backslash beside it ("Xᵀ" and "z(1 − z)"
#: hold X and z; "exp(" and "\\nabla" hold none)
_BOUNDARY = r"(?<![A-Za-z0-9_\\]){}(?![A-Za-z0-9_])"


def _substitute(rule: str, texts: Mapping[str, str]) -> str:
    """``rule``'s right-hand side with each symbol replaced by its numbers (in one pass, so
    no symbol is looked for inside numbers already put in: "e" in "1e-05")."""
    lhs, sep, rhs = rule.partition("=")
    if not sep or not texts:
        return rule
    symbols = "|".join(re.escape(s) for s in sorted(texts, key=len, reverse=True))
    pattern = re.compile(_BOUNDARY.format(f"(?:{symbols})"))

    def numbers(match: re.Match[str]) -> str:
        return texts[match.group(0)].replace("\n", " ")

    return f"{lhs}={pattern.sub(numbers, rhs)}"


def _symbol_inputs(step: Step, n_inputs: int) -> dict[str, int]:
    """Which input each symbol of the step's rule names (-1: the op's output): the terms say
    so for the inputs that get a gradient; the operands (g, G, the output symbol, then the
    inputs) for the others."""
    mapping = {term.symbol: term.input_index for term in step.terms}
    if step.terms:
        symbols = [s for s in step.terms[0].operands if s not in ("g", "G")]
        if len(symbols) == n_inputs + 1:
            mapping.setdefault(symbols[0], -1)  # the output's symbol comes first
            symbols = symbols[1:]
        if len(symbols) == n_inputs:
            for k, symbol in enumerate(symbols):
                mapping.setdefault(symbol, k)
    return mapping


class _Builder:
    """Gathers the page's data: nodes, forward steps, backward steps."""

    def __init__(self, loss: Tensor, graph: Graph, names: dict[int, str], limit: int) -> None:
        self.loss, self.graph, self.limit = loss, graph, limit
        self.by_key = {node_key(n.tensor): n for n in graph.nodes}
        count: dict[str, int] = {}
        ordered = sorted(graph.nodes, key=lambda n: n.fn.seq if n.fn is not None else -1)
        self.labels = {n.index: _label(n, names, count) for n in ordered}
        wanted = [n.tensor for n in graph.nodes]
        self.grads = node_gradients(loss, wanted)
        self.received: dict[int, list[dict[str, Any]]] = {}  # node index → contributions

    def ref(self, t: Any) -> Node:
        return self.by_key[node_key(t)]

    def node_data(self, node: Node) -> dict[str, Any]:
        grad = self.grads.get(node_key(node.tensor))
        return {
            "id": f"n{node.index}",
            "name": self.labels[node.index],
            "kind": node.kind,
            "op": node.fn.name if node.fn is not None else "",
            "layer": node.layer or "",
            "inputs": [f"n{i}" for i in node.inputs],
            "value": _values(node.tensor.data, self.limit),
            "grad": _values(grad, self.limit) if grad is not None else None,
        }

    def forward_steps(self) -> list[dict[str, Any]]:
        ops = sorted((n for n in self.graph.nodes if n.fn is not None), key=lambda n: n.fn.seq)
        steps = []
        for node in ops:
            args = ", ".join(self.labels[i] for i in node.inputs)
            steps.append(
                {
                    "phase": "forward",
                    "node": f"n{node.index}",
                    "line": f"{self.labels[node.index]} = {node.fn.name}({args})",
                    "operands": [f"n{i}" for i in node.inputs],
                }
            )
        return steps

    def backward_steps(self) -> list[dict[str, Any]]:
        explained = {s.index: s for s in explain(self.loss, show=False).steps}
        steps = []
        op_index = 0
        for t in backward_order(self.loss):
            node = self.ref(t)
            if node.fn is None:
                steps.append(self._leaf_step(node))
                continue
            op_index += 1
            step = explained.get(op_index)
            if step is not None and step.op != node.fn.name:
                step = None  # a trace in another order: show the rule without explain's text
            steps.append(self._op_step(node, t, step, len(steps) + 1))
        return steps

    def _leaf_step(self, node: Node) -> dict[str, Any]:
        return {
            "phase": "backward",
            "node": f"n{node.index}",
            "line": f"∇{self.labels[node.index]} is final: it is a leaf (→ .grad)",
            "received": self.received.get(node.index, []),
            "terms": [],
            "operands": [],
        }

    def _op_step(self, node: Node, t: Any, step: Step | None, number: int) -> dict[str, Any]:
        key = node_key(t)
        g = self.grads.get(key)
        if g is None:
            raise GraphError(f"stepper: no gradient reached {self.labels[node.index]}")
        name = self.labels[node.index]
        inputs = inputs_of(node.fn)
        contributions = _contributions(node.fn, t, g)
        terms = {term.input_index: term for term in step.terms} if step else {}
        symbols = _symbol_inputs(step, len(inputs)) if step else {}
        texts = self._operand_texts(node, inputs, symbols, g)
        where = [f"g = ∇{name}"] + [
            f"{s} = {self.labels[self.ref(inputs[k]).index]}"
            for s, k in symbols.items()
            if 0 <= k < len(inputs)
        ]
        out_terms = []
        for k, (inp, gi) in enumerate(zip(inputs, contributions)):
            if gi is None:
                continue
            target = self.ref(inp)
            term = terms.get(k)
            rule = term.rule if term else f"∇(input {k})"
            history = self.received.setdefault(target.index, [])
            before = history[-1]["total"] if history else None
            total = gi if before is None else np.asarray(before) + gi
            history.append({"step": number, "from": name, "total": total, "add": gi})
            out_terms.append(
                {
                    "input": f"n{target.index}",
                    "input_name": self.labels[target.index],
                    "rule": rule,
                    "numbers": _substitute(rule, texts) if texts is not None else "",
                    "shapes": term.shapes if term else format_shape(inp.shape),
                    "contribution": _values(gi, self.limit),
                    "count": len(history),
                    "of": self._consumers(target),
                }
            )
        return {
            "phase": "backward",
            "node": f"n{node.index}",
            "line": f"g = ∇{name}, the gradient of the loss with respect to {name}",
            "g": _values(g, self.limit),
            "where": ", ".join(where),
            "received": self.received.get(node.index, []),
            "terms": out_terms,
            "operands": [term["input"] for term in out_terms],
        }

    def _operand_texts(
        self, node: Node, inputs: tuple[Any, ...], symbols: dict[str, int], g: Any
    ) -> dict[str, str] | None:
        """Each symbol's numbers, or None when one of them is too large to print."""
        values: dict[str, Any] = {"g": g, "G": g}
        values.update((s, inputs[k].data) for s, k in symbols.items() if 0 <= k < len(inputs))
        values.update((s, node.tensor.data) for s, k in symbols.items() if k == -1)
        if any(v is None or np.asarray(v).size > self.limit for v in values.values()):
            return None
        return {s: _text(np.asarray(v, dtype=np.float64)) for s, v in values.items()}

    def _consumers(self, target: Node) -> int:
        """How many edges of the graph carry a gradient into ``target``."""
        return sum(
            1
            for n in self.graph.nodes
            if n.fn is not None and node_key(n.tensor) in self.grads
            for i in n.inputs
            if i == target.index
        )


def _finish_received(steps: list[dict[str, Any]], limit: int) -> None:
    """Turn the recorded running sums into page data (they were arrays while building)."""
    done: set[int] = set()
    for step in steps:
        for entry in step.get("received", []):
            if id(entry) in done:
                continue
            done.add(id(entry))
            entry["total"] = _values(entry["total"], limit)
            entry["add"] = _values(entry["add"], limit)


def stepper_data(
    loss: Tensor,
    *,
    names: Mapping[str, Any] | Iterable[tuple[str, Any]] | None = None,
    max_elements: int = MAX_ELEMENTS,
) -> dict[str, Any]:
    """What :func:`stepper` embeds in its page (a JSON-ready dict): ``nodes`` (values and
    total gradients), ``steps`` (forward in creation order, then backward in the engine's
    order) and ``svg`` (the drawing)."""
    if not isinstance(loss, Tensor):
        raise TypeError(f"stepper: expected a Tensor, got {type(loss).__name__}")
    if max_elements < 0:
        raise ValueError(f"stepper: max_elements must be at least 0, got {max_elements}")
    if loss._fn is None or not loss.requires_grad:
        raise GraphError("stepper: the loss has no recorded graph (no op that requires grad)")
    if loss.size != 1:
        raise GraphError(f"stepper: the loss must be a scalar; it has shape {loss.shape}")
    pairs = list(names.items() if isinstance(names, Mapping) else names or [])
    graph = collect(loss, pairs)
    if graph.freed:
        raise GraphError(
            "stepper: backward already freed this graph's values; call stepper before "
            "backward, or use backward(retain_graph=True)"
        )
    builder = _Builder(loss, graph, {id(t): str(n) for n, t in pairs}, max_elements)
    steps = builder.forward_steps() + builder.backward_steps()
    _finish_received(steps, max_elements)
    nodes = [builder.node_data(n) for n in graph.nodes]
    return {
        "title": f"forward and backward of {builder.labels[0]}",
        "nodes": nodes,
        "steps": steps,
        "svg": graph_svg(graph, builder.labels),
    }


def stepper(
    loss: Tensor,
    path: str | os.PathLike[str],
    *,
    names: Mapping[str, Any] | Iterable[tuple[str, Any]] | None = None,
    max_elements: int = MAX_ELEMENTS,
) -> Path:
    """Write a step-through page of ``loss``'s forward and backward pass to ``path``.

    One offline HTML file (no network: its script, style and drawing are inline; it works
    from ``file://``). Prev/Next, the arrow keys and a slider step through the forward pass
    (each op in the order it ran) and then the backward pass (each node in the order the
    engine visits it), highlighting the node in the drawing and showing its value, its
    gradient, each rule with the real numbers substituted (tensors of at most
    ``max_elements`` elements) and, where a tensor feeds several ops, the running sum of the
    gradients it receives. ``loss.backward()`` is not needed and no ``.grad`` is changed;
    the graph must not have been freed by a backward pass.

    Parameters
    ----------
    loss : Tensor
        A scalar with a recorded graph.
    path : str or PathLike
        The HTML file to write.
    names : mapping or iterable of (name, tensor), optional
        Names to show for tensors (parameters of a module are named automatically).
    max_elements : int
        Larger tensors show as shape and summary (mean, min, max, norm).

    Returns
    -------
    Path
        The file written.

    Examples
    --------
    >>> import os, tempfile
    >>> import nabla as nb
    >>> from nabla.viz.stepper import stepper  # also nb.viz.stepper
    >>> a = nb.tensor(2.0, requires_grad=True, name="a")
    >>> b = nb.tensor(-3.0, requires_grad=True, name="b")
    >>> out = stepper(a * b + a, os.path.join(tempfile.mkdtemp(), "steps.html"))
    >>> out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    True
    """
    from nabla.io.atomic import atomic_write_bytes

    data = stepper_data(loss, names=names, max_elements=max_elements)
    path = Path(path)
    atomic_write_bytes(path, page_html(data).encode("utf-8"))
    return path


__all__ = ["MAX_ELEMENTS", "stepper", "stepper_data"]
