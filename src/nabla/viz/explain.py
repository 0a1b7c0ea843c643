"""``nb.explain``: the backward pass as the list of rules it applies, with the real shapes.

Each rule is read from the op class itself: the ``Backward:`` line of its docstring (plain text)
or its ``latex`` attribute, the same place the code's backward rule is documented. Where the call
fixes the rule's form (a loss's reduction and weights, the axes of a reduction or permutation, a
broadcast operand, a batched or 1-D matrix product), :mod:`nabla.viz.rules` writes it for that
call from one expression that is also evaluated (``Term.expr``), and the tests check its value
against the gradient ``backward`` computes, so the trace and the computation cannot drift apart. The steps come in the engine's own order
(:func:`nabla.autograd.graph.backward_order`, the key its heap pops by), so the trace and the
engine cannot drift apart either. Nothing is run: shapes come from the recorded graph (the
gradient of a tensor has the tensor's shape), which outlives ``backward()``.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from nabla.autograd.graph import backward_order, inputs_of, node_key
from nabla.tensor import Tensor
from nabla.viz.explain_names import (
    format_array,
    forward_text,
    link,
    markdown_row,
    named_latex,
    origin,
    rename,
    symbol_names,
    tensor_names,
    term_cells,
)
from nabla.viz.formula import CallRule, Expr, mathtext
from nabla.viz.graph import Node, collect, format_shape
from nabla.viz.rules import call_rule

#: ops whose rule multiplies operands of different shapes: the trace substitutes each symbol's
#: shape (``∇W = Gᵀ X   (10×128) = (64×10)ᵀ (64×128)``); other rules show the result's shape
ALGEBRA_OPS = frozenset({"matmul", "linear", "conv"})
#: elementwise ops: a gradient of an input that was broadcast is summed back (repeat → sum)
ELEMENTWISE_MODULES = ("nabla.ops.arithmetic", "nabla.ops.elementwise")
_TEXT_SYMBOL = re.compile(r"(?<![A-Za-z_\\])([A-Za-z])(?![A-Za-z_(])")
_LATEX_SYMBOL = re.compile(r"(?<![A-Za-z_\\{])([A-Za-z])(?![A-Za-z])")


@dataclass(frozen=True)
class Rule:
    """The documented backward rule of one op class, split per input."""

    forward: str
    terms: tuple[str, ...]  # "∇W = Gᵀ X", one per input (in input order)
    notes: tuple[str, ...]  # a parenthesised remark after a term, or ""
    latex: tuple[str, ...]
    symbols: tuple[str, ...]  # the input symbols ("X", "W", "b")
    output: str  # the output symbol ("Z"), or ""


_RULES: dict[type, Rule] = {}


def rule_of(cls: type) -> Rule:
    """Parse the ``Forward:``/``Backward:`` lines and ``latex`` attribute of an op class."""
    cached = _RULES.get(cls)
    if cached is not None:
        return cached
    doc = inspect.getdoc(cls) or ""
    forward = backward = ""
    for line in doc.splitlines():
        line = line.strip()
        if line.startswith("Forward:"):
            forward = re.split(r"\s{3,}", line[len("Forward:") :].strip())[0]
        elif line.startswith("Backward:"):
            backward = line[len("Backward:") :].strip()
    terms, notes = [], []
    documented = backward and not backward.lower().startswith("none")
    for part in re.split(r",\s{2,}", backward) if documented else []:
        pieces = re.split(r"\s{2,}(?=\()", part, maxsplit=1)
        term, note = pieces[0].strip(), (pieces[1].strip() if len(pieces) > 1 else "")
        terms.append(term)
        notes.append(note)
    latex_text = getattr(cls, "latex", "") or ""
    latex = tuple(t.strip() for t in latex_text.split(r",\;")) if latex_text else ()
    symbols = tuple(m.group(1) if (m := re.match(r"∇(\w+)", t)) else "" for t in terms)
    lhs = forward.split("=", 1)[0].strip() if "=" in forward else ""
    output = lhs if re.fullmatch(r"[A-Za-z]", lhs) else ""
    rule = Rule(forward, tuple(terms), tuple(notes), latex, symbols, output)
    _RULES[cls] = rule
    return rule


@dataclass(frozen=True)
class Term:
    """The gradient of one input of one op."""

    input_index: int
    symbol: str  # "W"
    rule: str  # "∇W = Gᵀ X"
    latex: str  # r"\nabla_W = G^\top X"
    note: str  # "(= (Ŷ − Y)/N for one-hot Y, no weights)" or ""
    grad_shape: tuple[int, ...]  # the input's shape
    shapes: str  # "(10×128) = (64×10)ᵀ (64×128)"
    shapes_latex: str
    operands: dict[str, tuple[int, ...]]  # symbol → shape (g and G: the upstream gradient)
    target: str | None  # the leaf that receives it ("2.weight"), None for intermediates
    #: the rule's right-hand side for this call (reduction, weights, broadcasting, batch), as
    #: text, LaTeX and a NumPy evaluation in one; None where the docstring rule is exact
    expr: Expr | None = None
    mathtext: str = ""  # the LaTeX in matplotlib's mathtext subset
    name: str = ""  # the input's name: the user's ("W1"), a module path ("0.weight"), or "t3"
    named_rule: str = ""  # the rule in the tensors' names ("∇W1 = Gᵀ x")
    named_latex: str = ""  # the same in LaTeX (r"\nabla_{W_{1}} = G^\top x")
    #: every step that sends this input a gradient (the engine adds them), in order; one entry
    #: when it gets only this one, the step twice where an op uses it twice (``a * a``)
    received: tuple[int, ...] = ()
    order: int = 1  # this term's place among them (1: the first, "="; later ones "+=")
    value: Any = None  # the gradient this term sends, under ``explain(..., values=True)``


@dataclass(frozen=True)
class Step:
    """One op of the backward pass: the rule applied to each input that needs a gradient."""

    index: int  # 1-based, in execution order
    layer: str  # module path ("2", "fc1"), "" when the op was made outside any module
    op: str  # the op's name ("linear")
    output_shape: tuple[int, ...]  # also the shape of g, the gradient arriving from above
    terms: tuple[Term, ...]
    output_name: str = ""  # the name of the tensor this op made ("t3", "h")
    forward: str = ""  # its definition in the tensors' names ("h = tanh(z)")
    g_from: tuple[int, ...] = ()  # the steps whose gradients add up to g (none: the start)
    g_value: Any = None  # g itself, under ``explain(..., values=True)``


@dataclass
class Explanation:
    """The backward pass of a tensor, one :class:`Step` per op in execution order.

    ``str()`` gives the plain-text trace; :meth:`to_text` and :meth:`to_markdown` the two
    formats (Jupyter renders the Markdown with LaTeX).
    """

    root_op: str
    root_shape: tuple[int, ...]
    steps: list[Step] = field(default_factory=list)
    fmt: str = "text"
    values: bool = False  # whether the steps carry g and each term's gradient

    def to_text(self) -> str:
        header = (
            f"backward of {self.root_op} ({format_shape(self.root_shape)}): "
            f"{len(self.steps)} steps in execution order (g, G: the gradient of the step's "
            "output, summed from the steps named; += where gradients add up)"
        )
        ops = {step.index: step.op for step in self.steps}
        rows: list[list[str]] = []
        for step in self.steps:
            g = f" = {format_array(step.g_value)}" if step.g_value is not None else ""
            head = [str(step.index), step.layer or "·", step.op]
            rows.append([*head, step.forward, "", origin(step, ops) + g])
            for term in step.terms:
                rows.append(["", "", "", *term_cells(term)])
        if not rows:
            return header
        widths = [max(len(r[j]) for r in rows) for j in range(len(rows[0]))]
        lines = [header]
        for r in rows:
            cells = [r[0].rjust(widths[0])] + [c.ljust(w) for c, w in zip(r[1:], widths[1:])]
            lines.append("  ".join(cells).rstrip())
        return "\n".join(lines)

    def to_markdown(self) -> str:
        lines = [
            (
                f"**Backward of `{self.root_op}`** ({len(self.steps)} steps, in execution "
                "order; $g$/$G$ is the gradient arriving from the step above)"
            ),
            "",
            "| step | layer | op | rule | shapes | gradient of |",
            "|---:|---|---|---|---|---|",
        ]
        ops = {step.index: step.op for step in self.steps}
        for step in self.steps:
            head = f"{step.index} | `{step.layer}` | `{step.op}`".replace("``", "")
            forward = step.forward.replace("|", "\\|")  # |x| inside a table cell
            lines.append(f"| {head} | `{forward}` ({origin(step, ops)}) | | |")
            lines += [markdown_row(term) for term in step.terms]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.to_markdown() if self.fmt == "latex" else self.to_text()

    def __repr__(self) -> str:
        return f"<Explanation: backward of {self.root_op}, {len(self.steps)} steps>"

    def _repr_markdown_(self) -> str:
        return self.to_markdown()


def _substitute(expr: str, shapes: dict[str, str], pattern: re.Pattern[str]) -> str:
    return pattern.sub(lambda m: shapes.get(m.group(1), m.group(1)), expr)


def _latex_shape(shape: tuple[int, ...]) -> str:
    return r"\text{scalar}" if not shape else "(" + r"\times ".join(map(str, shape)) + ")"


def _shapes(
    fn: Any, rule_text: str, rule_latex: str, grad_shape: tuple[int, ...], operands: dict[str, Any]
) -> tuple[str, str]:
    """The shape annotation of a term (its rule as text and LaTeX): text and LaTeX."""
    out_shape = operands["g"]
    result = format_shape(grad_shape, parens=True)
    result_tex = _latex_shape(grad_shape)
    if fn.name in ALGEBRA_OPS and "=" in rule_text:
        rhs = rule_text.split("=", 1)[1].strip()
        text = {s: format_shape(v, parens=True) for s, v in operands.items()}
        tex = {s: _latex_shape(v) for s, v in operands.items()}
        lhs_tex = rule_latex.split("=", 1)[1].strip() if "=" in rule_latex else ""
        product = re.sub(r"(?<=[)ᵀ]) (?=[(1])", "·", _substitute(rhs, text, _TEXT_SYMBOL))
        return (
            f"{result} = {product}",
            f"{result_tex} = {_substitute(lhs_tex, tex, _LATEX_SYMBOL)}",
        )
    if grad_shape != out_shape and type(fn).__module__ in ELEMENTWISE_MODULES:
        g = format_shape(out_shape, parens=True)
        return (
            f"{result} = Σ over broadcast axes of {g}",
            f"{result_tex} = \\textstyle\\sum_{{\\text{{broadcast}}}} {_latex_shape(out_shape)}",
        )
    if grad_shape != out_shape:
        return (
            f"{result}, g {format_shape(out_shape, parens=True)}",
            f"{result_tex},\\ g\\ {_latex_shape(out_shape)}",
        )
    return result, result_tex


def _written(rule: Rule, call: CallRule | None, j: int) -> tuple[str, str, str, str, Expr | None]:
    """Term ``j``'s symbol, text, LaTeX and note, and its expression when the call fixes it."""
    expr = call.terms[j] if call is not None and j < len(call.terms) else None
    if call is not None and expr is not None:
        symbol = call.symbols[j]
        sub = symbol if len(symbol) == 1 else "{" + _latex_symbol(symbol) + "}"
        text, tex = f"∇{symbol} = {expr.text}", rf"\nabla_{sub} = {expr.latex}"
        return symbol, text, tex, call.notes[j], expr
    if j < len(rule.terms):
        tex = rule.latex[j] if j < len(rule.latex) else ""
        return rule.symbols[j], rule.terms[j], tex, rule.notes[j], None
    return f"input {j}", f"∇(input {j})", "", "", None


def _latex_symbol(symbol: str) -> str:
    """``x₂`` as ``x_{2}``."""
    digits = symbol.lstrip("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_")
    if not digits:
        return symbol
    base = symbol[: len(symbol) - len(digits)]
    return f"{base}_{{{digits.translate(_DIGITS)}}}"


_DIGITS = str.maketrans("₀₁₂₃₄₅₆₇₈₉", "0123456789")


def _terms(
    fn: Any, out: Any, info: dict[int, Node], names: dict[int, str]
) -> tuple[str, tuple[Term, ...]]:
    """Op ``fn``'s forward line in the tensors' names, and its rule applied to each of its
    inputs that needs a gradient."""
    out_shape = out.shape
    rule = rule_of(type(fn))
    inputs = inputs_of(fn)
    call = call_rule(fn, inputs, out_shape)
    operands: dict[str, Any] = {"g": out_shape, "G": out_shape}
    if rule.output:
        operands[rule.output] = out_shape
    # one term for every input (concatenate's ∇xᵢ), or one per input symbol
    variadic = call is None and len(rule.terms) == 1 and len(inputs) > 1 and "ᵢ" in rule.terms[0]
    symbols = call.symbols if call is not None else rule.symbols
    if not variadic:
        operands.update((symbol, inp.shape) for symbol, inp in zip(symbols, inputs) if symbol)
    if call is not None:
        operands.update(call.shapes)
    out_name = names[node_key(out)]
    output = (call.output if call is not None else "") or rule.output
    mapping = symbol_names(symbols, output, inputs, out_name, names)
    forward = forward_text(fn, rule.forward, mapping, inputs, names, out_name)
    terms = []
    for k, inp in enumerate(inputs):
        if not inp.requires_grad:
            continue
        symbol, text, tex, note, expr = _written(rule, call, 0 if variadic else k)
        node = info[node_key(inp)]
        shapes, shapes_tex = _shapes(fn, text, tex, inp.shape, operands)
        own = {symbol: names[node_key(inp)]} if variadic else {}
        terms.append(
            Term(
                input_index=k,
                symbol=symbol,
                rule=text,
                latex=tex,
                note=note,
                grad_shape=inp.shape,
                shapes=shapes,
                shapes_latex=shapes_tex,
                operands=dict(operands),
                target=node.name if node.kind == "param" else None,
                expr=expr,
                mathtext=mathtext(tex),
                name=names[node_key(inp)],
                named_rule=rename(text, {**mapping, **own}),
                named_latex=named_latex(tex, names[node_key(inp)], mapping),
            )
        )
    return forward, tuple(terms)


def explain(
    tensor: Tensor,
    fmt: str = "text",
    show: bool = True,
    params: Mapping[str, Any] | Iterable[tuple[str, Any]] | None = None,
    names: Mapping[Any, str] | None = None,
    values: bool = False,
) -> Explanation:
    """The backward pass of ``tensor``, step by step, with each rule and the real shapes, in
    the tensors' own names: each step's forward line (``h = tanh(z)``), where its g comes from
    (the steps whose gradients add up to it), and ``+=`` where an input receives several.

    Nothing is computed and the graph is left intact: each step is an op, in the order the
    engine's ``backward`` runs it (:func:`nabla.autograd.graph.backward_order`), with the
    layer that created it (the module path), its rule for each input that needs a gradient
    (from the op's docstring, or its LaTeX), and the shapes: e.g.
    ``2  linear  ∇W = Gᵀ X  (10×128) = (64×10)ᵀ (64×128)  → 2.weight.grad``.

    Parameters
    ----------
    tensor : Tensor
        Usually the loss, before or after ``backward()`` (backward frees the values the graph
        saved, not its topology, and the trace needs only the topology and the shapes).
    fmt : {"text", "latex"}
        Plain text, or Markdown with LaTeX formulas (a table).
    show : bool
        Print the explanation (``print(str(result))``).
    params : mapping or iterable of (name, tensor), optional
        Names for leaves not created by a module (see :func:`nabla.viz.to_dot`).
    names : mapping of Tensor to str, optional
        The names the trace gives tensors (``{W: "W1", h: "h"}``), leaves or intermediates;
        others are named by their module path, their ``name=``, else ``t1, t2, …`` (ops in
        creation order) and ``c1, …`` (constants).
    values : bool
        Also show g and each gradient a step sends: arrays of up to 6 elements in full, larger
        ones as shape, norm and mean. Needs the live graph (before ``backward()``, or after
        ``backward(retain_graph=True)``).

    Returns
    -------
    Explanation
        ``.steps`` holds the structured trace; ``str()`` the formatted one.

    Examples
    --------
    >>> import nabla as nb
    >>> W = nb.tensor([[1.0, 2.0]], requires_grad=True, name="W")
    >>> x = nb.tensor([[3.0], [4.0]])
    >>> e = nb.explain((W @ x).sum(), show=False)
    >>> [(s.op, [t.rule for t in s.terms]) for s in e.steps]
    [('sum', ['∇x = broadcast(g)']), ('matmul', ['∇X = G Wᵀ'])]
    >>> [(s.forward, [t.named_rule for t in s.terms]) for s in e.steps]
    [('t2 = Σ_axes t1', ['∇t1 = broadcast(g)']), ('t1 = W c1', ['∇W = G c1ᵀ'])]
    """
    if fmt not in ("text", "latex"):
        raise ValueError(f"explain: fmt must be 'text' or 'latex', got {fmt!r}")
    graph = collect(tensor, params)
    info = {node_key(n.tensor): n for n in graph.nodes}
    tensor_name = tensor_names(graph, names)
    steps: list[Step] = []
    sends: list[tuple[int, int]] = []  # (step, key of the tensor a term sends a gradient to)
    for t in backward_order(tensor):
        fn = t._fn
        if fn is None:  # the leaves come last; they only receive their gradients
            continue
        layer = info[node_key(t)].layer or ""
        forward, terms = _terms(fn, t, info, tensor_name)
        index = len(steps) + 1
        inputs = inputs_of(fn)
        sends += [(index, node_key(inputs[term.input_index])) for term in terms]
        steps.append(
            Step(index, layer, fn.name, t.shape, terms, tensor_name[node_key(t)], forward)
        )
    steps = link(steps, sends, backward_order(tensor), tensor if values else None)
    root_op = tensor._fn.name if tensor._fn is not None else "a leaf"
    result = Explanation(root_op, tensor.shape, steps, fmt, values)
    if show:
        print(result)
    return result
