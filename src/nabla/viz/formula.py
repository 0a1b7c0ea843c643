"""Formulas built once and read three ways: plain text, LaTeX, and a NumPy evaluation.

Each combinator writes the text, the LaTeX and the value of the same expression together, so the
printed rule of a call cannot drift from what it computes: a test evaluates ``value`` on the
call's real arrays and compares it with the gradient that ``backward`` returned.
:func:`mathtext` turns the (KaTeX) LaTeX into the subset that matplotlib's mathtext renders.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

Env = Mapping[str, Any]


@dataclass(frozen=True)
class Expr:
    """One formula: its text, its LaTeX, and its value given the symbols' arrays."""

    text: str
    latex: str
    value: Callable[[Env], Any] = field(compare=False, repr=False)
    prec: int = 9  # binding strength: 1 for + and −, 2 for products and quotients, 9 for atoms


@dataclass(frozen=True)
class CallRule:
    """The rule of one call: per input its symbol, its gradient (None: none) and a note."""

    symbols: tuple[str, ...]
    terms: tuple[Expr | None, ...]
    notes: tuple[str, ...]
    output: str = ""  # the output's symbol where a rule uses the output ("z", "h", "s")
    #: the shapes the rule's symbols have as matrices in this call (a convolution's G, P, W),
    #: where they differ from the tensors' shapes
    shapes: dict[str, tuple[int, ...]] = field(default_factory=dict)


def sym(name: str, latex: str | None = None) -> Expr:
    """A symbol whose array the environment holds (``g``, ``X``, ``W``)."""
    return Expr(name, latex if latex is not None else name, lambda env: env[name])


def const(text: str, latex: str, value: Any) -> Expr:
    """A named quantity bound to its value (``N``, the class weights ``w``)."""
    return Expr(text, latex, lambda env: value)


def _wrap(e: Expr, below: int = 9) -> Expr:
    """``e`` in parentheses when it binds less strongly than ``below``."""
    if e.prec >= below:
        return e
    return Expr(f"({e.text})", f"({e.latex})", e.value)


def _binary(
    a: Expr, b: Expr, text: str, latex: str, op: Callable[[Any, Any], Any], prec: int = 2
) -> Expr:
    left, right = _wrap(a, prec), _wrap(b, prec + 1)
    return Expr(
        f"{left.text}{text}{right.text}",
        f"{left.latex}{latex}{right.latex}",
        lambda env: op(left.value(env), right.value(env)),
        prec,
    )


def had(a: Expr, b: Expr) -> Expr:
    """The elementwise (Hadamard) product a ⊙ b."""
    return _binary(a, b, " ⊙ ", r" \odot ", np.multiply)


def scaled(a: Expr, b: Expr) -> Expr:
    """A product written by juxtaposition (a scalar factor: ``g w``)."""
    return _binary(a, b, " ", " ", np.multiply)


def div(a: Expr, b: Expr) -> Expr:
    return _binary(a, b, " / ", " / ", np.divide)


def sub(a: Expr, b: Expr) -> Expr:
    return _binary(a, b, " − ", " - ", np.subtract, prec=1)


def add(a: Expr, b: Expr) -> Expr:
    return _binary(a, b, " + ", " + ", np.add, prec=1)


def neg(a: Expr) -> Expr:
    inner = _wrap(a, 2)
    return Expr(f"−{inner.text}", f"-{inner.latex}", lambda env: -inner.value(env), 2)


def mat(a: Expr, b: Expr) -> Expr:
    """The matrix product a b (NumPy's matmul: batches broadcast)."""
    return _binary(a, b, " ", " ", np.matmul)


def matvec(a: Expr, b: Expr) -> Expr:
    """A matrix times a vector, a b (batches broadcast)."""
    return _binary(a, b, " ", " ", lambda m, v: np.matmul(m, v[..., None])[..., 0])


def outer(a: Expr, b: Expr) -> Expr:
    """The outer product of two vectors, a bᵀ (batches broadcast)."""
    return _binary(a, b, " ⊗ ", r" \otimes ", lambda u, v: u[..., :, None] * v[..., None, :])


def ind(text: str, latex: str, value: Callable[[Env], Any]) -> Expr:
    """An indicator such as [x > y]: 1 where it holds, else 0."""
    return Expr(text, latex, lambda env: value(env).astype(float))


def tr(a: Expr) -> Expr:
    """The transpose of the last two axes."""
    inner = _wrap(a)
    return Expr(
        f"{inner.text}ᵀ", f"{inner.latex}^\\top", lambda env: np.swapaxes(inner.value(env), -1, -2)
    )


def func(name: str, a: Expr, f: Callable[[Any], Any], latex: str | None = None) -> Expr:
    """A named function of one argument (``softmax(X)``, ``σ(v)``)."""
    head = latex if latex is not None else rf"\operatorname{{{name}}}"
    return Expr(f"{name}({a.text})", f"{head}({a.latex})", lambda env: f(a.value(env)))


def sum_to(a: Expr, shape: tuple[int, ...], axes: tuple[int, ...], label: str = "") -> Expr:
    """``a`` summed back to ``shape`` over the broadcast ``axes`` (of ``a``'s shape).

    Written the notes' way where it is one: 1ᵀ A (sum of the rows: a bias), A 1 (of the
    columns), else Σ with the axes (or the label, e.g. "batch") under it.
    """
    inner = _wrap(a)

    def value(env: Env) -> Any:
        return np.sum(inner.value(env), axis=axes).reshape(shape)

    ndim = len(shape)
    if not label and axes == (0,) and ndim in (1, 2) and (ndim == 1 or shape[0] == 1):
        return Expr(f"1ᵀ {inner.text}", rf"\mathbf{{1}}^\top {inner.latex}", value, 2)
    if not label and ndim == 2 and shape[1] == 1 and axes == (1,):
        return Expr(f"{inner.text} 1", rf"{inner.latex}\, \mathbf{{1}}", value, 2)
    under = label or ("all" if not shape else "axes " + ",".join(map(str, axes)))
    compact = label or ("all" if not shape else "axes(" + ",".join(map(str, axes)) + ")")
    return Expr(
        f"Σ_{compact} {inner.text}",
        rf"\sum_{{\text{{{under}}}}} {inner.latex}",
        value,
        2,
    )


def broadcast_axes(shape: tuple[int, ...], out: tuple[int, ...]) -> tuple[int, ...]:
    """The axes of ``out`` that a ``shape`` operand was broadcast over (the engine's unbroadcast)."""
    lead = len(out) - len(shape)
    kept = tuple(lead + i for i, n in enumerate(shape) if n == 1 and out[lead + i] != 1)
    return tuple(range(lead)) + kept


def unbroadcast(e: Expr, shape: tuple[int, ...], out: tuple[int, ...], label: str = "") -> Expr:
    """``e`` (shaped as ``out``) summed back to an operand's ``shape``, or ``e`` if not broadcast."""
    axes = broadcast_axes(shape, out)
    return sum_to(e, shape, axes, label) if axes else e


_MATHTEXT = (
    (re.compile(r"\\operatorname\{([^}]*)\}"), r"\\mathrm{\1}"),
    (
        re.compile(r"\\text\{([^}]*)\}"),
        lambda m: r"\mathrm{" + m.group(1).replace(" ", r"\ ") + "}",
    ),
    (re.compile(r"\\tfrac"), r"\\frac"),
    (re.compile(r"\\textstyle\s*"), ""),
    (re.compile(r"\\mathrel\{\+\}="), "+="),
    (re.compile(r"\\big([()])"), r"\1"),
    (re.compile(r"\\le(?![a-z])"), r"\\leq"),
)


def mathtext(latex: str) -> str:
    """The LaTeX of a rule in matplotlib's mathtext subset (for ``plt.title(f"${...}$")``).

    KaTeX-only commands become their mathtext equivalents: ``\\operatorname`` and ``\\text``
    become ``\\mathrm``, ``\\tfrac`` ``\\frac``, ``\\le`` ``\\leq``, ``\\textstyle`` and ``\\big`` go.
    """
    for pattern, replacement in _MATHTEXT:
        latex = pattern.sub(replacement, latex)
    return latex
