"""The learner's names for ``nb.explain``: who each tensor is, what each step computed, where g
comes from and where gradients add up.

Every tensor of the trace gets one name: the ``names=`` mapping given to :func:`nabla.explain`,
else a parameter's module path (``0.weight``) or the name given to ``nb.tensor(..., name=)``,
else a short generated one (``t3`` for the third op made, ``c1`` for an unnamed constant).
The op's rules keep their own letters (``∇W = Gᵀ X``, the docstring's); the named rule puts
the inputs' names in their places, position by position, so for column-form code
(``w @ x``) the matrix product's ``X`` is ``w`` and the rule reads ``∇w = G xᵀ``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import numpy as np

from nabla.autograd.graph import inputs_of, is_freed, node_key
from nabla.errors import GraphError
from nabla.viz.graph import Graph, format_number, node_gradients

#: arrays with at most this many elements print in full under values=True
SMALL = 6


def tensor_names(graph: Graph, names: Mapping[Any, str] | None) -> dict[int, str]:
    """One name per node of ``graph`` (by :func:`node_key`): the ``names`` mapping (tensor →
    name), a parameter's module path, the tensor's own name, else ``t1, t2, …`` for ops (in
    creation order), the value of a one-element constant, ``c1, c2, …`` for other constants."""
    given: dict[int, str] = {}
    for t, name in (names or {}).items():
        if not hasattr(t, "_fn"):
            raise TypeError(f"explain: names maps tensors to names; got a {type(t).__name__} key")
        given[node_key(t)] = str(name)
    result: dict[int, str] = {}
    counts = {"op": 0, "const": 0, "param": 0}
    ordered = sorted(graph.nodes, key=lambda n: (n.fn is not None, n.fn.seq if n.fn else 0))
    for node in ordered:
        t = node.tensor
        counts[node.kind] += 1
        name = given.get(node_key(t)) or (t.name if node.kind == "op" else _leaf_name(node))
        if not name:
            prefix = {"op": "t", "const": "c", "param": "p"}[node.kind]
            name = f"{prefix}{counts[node.kind]}"
        result[node_key(t)] = name
    return result


def _leaf_name(node: Any) -> str:
    """A leaf's module path or own name, or the value of a one-element leaf ("" if none)."""
    if node.name != "tensor":  # the drawings' word for a leaf with no name
        return str(node.name)
    return ""


def rename(text: str, mapping: Mapping[str, str]) -> str:
    """``text`` with each symbol of ``mapping`` (``W``, ``x₁``) replaced by its name, in one
    pass (so no name is looked for inside a name already put in)."""
    if not mapping:
        return text
    symbols = "|".join(re.escape(s) for s in sorted(mapping, key=len, reverse=True))
    pattern = re.compile(rf"(?<![A-Za-z0-9_\\.])(?:{symbols})(?![A-Za-z0-9_(])")
    return pattern.sub(lambda m: mapping[m.group(0)], text)


def latex_name(name: str) -> str:
    """A tensor's name in LaTeX: ``W``, ``W_{1}`` for W1, ``\\mathrm{0.weight}`` otherwise."""
    if re.fullmatch(r"[A-Za-z]", name):
        return name
    if m := re.fullmatch(r"([A-Za-z])(\d+)", name):
        return f"{m.group(1)}_{{{m.group(2)}}}"
    escaped = re.sub(r"([_{}#%&$])", r"\\\1", name)
    return rf"\mathrm{{{escaped}}}"


def named_latex(latex: str, input_name: str, mapping: Mapping[str, str]) -> str:
    """A rule's LaTeX (``\\nabla_W = G^\\top X``) in the tensors' names, written in LaTeX."""
    _, sep, rhs = latex.partition("=")
    if not sep:
        return ""
    names = {s: latex_name(n) for s, n in mapping.items() if len(s) == 1}
    if names:
        symbols = "|".join(re.escape(s) for s in names)
        pattern = re.compile(
            rf"(?<![A-Za-z0-9_\\.])(?<!_{{)(?<!\\hat )(?<!\\bar )(?:{symbols})(?![A-Za-z0-9_(])"
        )
        rhs = pattern.sub(lambda m: names[m.group(0)], rhs)
    return rf"\nabla_{{{latex_name(input_name)}}} ={rhs}"


def symbol_names(
    symbols: tuple[str, ...], output: str, inputs: tuple[Any, ...], out_name: str, names: Any
) -> dict[str, str]:
    """Each of an op's letters (positional input symbols, the output's) → the tensor's name.
    Class indices (integer targets) keep their letter: the rule's ``Y`` is their one-hot rows."""
    mapping = {
        s: names[node_key(t)]
        for s, t in zip(symbols, inputs, strict=False)
        if s and np.dtype(t.dtype).kind not in "iub"
    }
    if output:
        mapping[output] = out_name
    return mapping


def forward_text(
    fn: Any,
    forward: str,
    mapping: dict[str, str],
    inputs: tuple[Any, ...],
    names: Any,
    out_name: str,
) -> str:
    """The step's forward definition in the user's names (``e = a ⊙ b``, ``h = tanh(z)``)."""
    first = re.split(r",\s{2,}|;\s", forward)[0].strip().rstrip(",")
    lhs, sep, _ = first.partition("=")
    args = ", ".join(names[node_key(t)] for t in inputs)
    out = mapping.get(lhs.strip(), "") if sep else ""
    generic = f"{out_name} = {fn.name}({args})"
    if not sep or "ᵢ" in first or "…" in first or not out:  # variadic or a loss: a call
        return generic
    name = type(fn).__name__
    if name == "Where":  # its docstring names the condition "cond"
        mapping = {
            "cond": names[node_key(inputs[0])],
            "x": names[node_key(inputs[1])],
            "y": names[node_key(inputs[2])],
            lhs.strip(): out,
        }
    elif name == "Linear" and len(inputs) == 2:  # no bias
        first = first.replace(" + b", "")
    elif name == "PowScalar":
        mapping = {**mapping, "p": format_number(fn.p)}
    return rename(first, mapping)


def link(steps: list[Any], sends: list[tuple[int, int]], order: list[Any], root: Any) -> list[Any]:
    """``steps`` with each step's g named by its origin (the steps whose terms send it) and each
    term's place among the gradients its input receives; with the values of g and of each
    term when ``root`` is given (the graph must be live)."""
    received: dict[int, list[int]] = {}
    for step, key in sends:
        received.setdefault(key, []).append(step)
    grads = _gradients(root, order) if root is not None else {}
    result = []
    seen: dict[int, int] = {}
    position = 0
    for step, t in zip(steps, (t for t in order if t._fn is not None), strict=True):
        sent = contributions(t._fn, t, grads[node_key(t)]) if root is not None else []
        terms = []
        for term in step.terms:
            key = sends[position][1]
            position += 1
            seen[key] = seen.get(key, 0) + 1
            value = sent[term.input_index] if sent else None
            terms.append(
                replace(term, received=tuple(received[key]), order=seen[key], value=value)
            )
        origin = tuple(received.get(node_key(t), ()))
        g = grads.get(node_key(t))
        result.append(replace(step, terms=tuple(terms), g_from=origin, g_value=g))
    return result


def _gradients(root: Any, order: list[Any]) -> dict[int, Any]:
    if any(t._fn is not None and is_freed(t._fn) for t in order):
        raise GraphError(
            "explain: values=True needs the graph's values; call it before backward() "
            "or after backward(retain_graph=True)"
        )
    return node_gradients(root, order)


def origin(step: Any, ops: Mapping[int, str]) -> str:
    """Where a step's g comes from: "from step 2 (add)", or the steps whose terms add up."""
    if not step.g_from:
        return "g = 1 (the start)"
    sources = " + ".join(f"step {i} ({ops[i]})" for i in step.g_from)
    return f"g = ∇{step.output_name} from {sources}"


def accumulation(term: Any) -> str:
    """Where an input gets several gradients: "(2 of 2: ∇a = step 1 + step 3)"."""
    if len(term.received) < 2:
        return ""
    total = " + ".join(f"step {i}" for i in term.received)
    return f"({term.order} of {len(term.received)}: ∇{term.name} = {total})"


def format_array(a: Any) -> str:
    """A small array (≤ :data:`SMALL` elements) in full, else its shape, norm and mean."""
    a = np.asarray(a)
    if a.ndim == 0:
        return format_number(a.item())
    if a.size <= SMALL:
        with np.printoptions(precision=4, suppress=True):
            return np.array2string(a, separator=", ").replace("\n", "")
    x = a.astype(np.float64, copy=False)
    shape = "×".join(map(str, a.shape))
    with np.errstate(all="ignore"):
        norm, mean = float(np.linalg.norm(x.ravel())), float(x.mean())
    return f"({shape}) ‖·‖={norm:.4g} mean={mean:.4g}"


def contributions(fn: Any, out: Any, g: Any) -> list[Any]:
    """Op ``fn``'s backward run on ``g``: each input's gradient, summed back as the engine does."""
    from nabla.autograd.engine import unbroadcast
    from nabla.autograd.saved import saved_values
    from nabla.ops.namespace import ARRAY_OPS

    inputs = inputs_of(fn)
    arrays = saved_values(fn, inputs, out, arrays=True)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        grads = fn.backward(np.array(g, copy=True), ARRAY_OPS, *arrays)
    return [
        None if gi is None or not inp.requires_grad else np.asarray(unbroadcast(gi, inp.shape))
        for inp, gi in zip(inputs, grads, strict=False)
    ]


def term_cells(term: Any) -> list[str]:
    """A term's rule in the tensors' names (+= after the first of several), the op's own
    letters where they differ, its shapes, and what it feeds and adds up to."""
    named = term.named_rule or term.rule
    if term.order > 1:
        named = named.replace(" = ", " += ", 1)
    rule = named if named == term.rule else f"{named}   [{term.rule}]"
    extra = [f"→ {term.target}.grad"] if term.target else []
    extra += [term.note] if term.note else []
    extra += [text] if (text := accumulation(term)) else []
    extra += [f"= {format_array(term.value)}"] if term.value is not None else []
    return [rule, term.shapes, "  ".join(extra)]


def markdown_row(term: Any) -> str:
    """A term's row of the Markdown table: the op's rule (LaTeX) and note, the rule in the
    tensors' names (``\\mathrel{+}=`` after the first of several), its shapes and target."""
    rule = f"${term.latex}$" if term.latex else term.rule
    rule += f" {term.note}" if term.note else ""  # N's value, what Ŷ and m are
    named = term.named_latex
    if named and term.order > 1:
        named = named.replace(" =", r" \mathrel{+}=", 1)
    rule += f" — ${named}$" if named else ""
    rule += f" {text}" if (text := accumulation(term)) else ""
    target = f"`{term.target}`" if term.target else ""
    return f"| | | | {rule} | ${term.shapes_latex}$ | {target} |"
