"""The backward rule of one call, exact for its options and shapes.

An op's docstring states its rule in general; a call fixes the reduction, the axes, the class
weights, which operands were broadcast, whether a matrix product is batched or has a 1-D
operand. :func:`call_rule` writes the rule for that call with the combinators of
:mod:`nabla.viz.formula`, so the text, the LaTeX and a NumPy evaluation come from one
expression; the tests evaluate it on the call's arrays against the gradient ``backward``
returned. Ops whose rule does not depend on the call have no entry: their docstring rule is
exact.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from nabla.viz import formula as f
from nabla.viz.formula import CallRule, Env, Expr
from nabla.viz.rules_algebra import ALGEBRA_GENERIC
from nabla.viz.rules_conv import conv_rule
from nabla.viz.rules_logic import EXACT_LOGIC
from nabla.viz.rules_numeric import EXACT_NUMERIC
from nabla.viz.rules_pointwise import POINTWISE
from nabla.viz.rules_pointwise_math import EXACT_POINTWISE

Shape = tuple[int, ...]


G_VEC = f.sym("g")
G_MAT = f.sym("G")
ONE = f.const("1", "1", 1.0)


def _elementwise(fn: Any, inputs: Sequence[Any], out: Shape) -> CallRule:
    x, y = f.sym("x"), f.sym("y")
    name = type(fn).__name__
    # a broadcast operand of a matrix: the notes' G (∇b = 1ᵀ G)
    bcast = len(out) >= 2 and any(tuple(t.shape) != out for t in inputs)
    G = G_MAT if bcast else G_VEC
    if name == "Add":
        rules = (G, G)
    elif name == "Sub":
        rules = (G, f.neg(G))
    elif name == "Mul":
        rules = (f.had(G, y), f.had(G, x))
    elif name == "Div":
        rules = (f.div(G, y), f.div(f.had(f.neg(G), f.div(x, y)), y))
    else:  # Maximum, Minimum: the winner gets g, a tie ½ g each
        wins = np.greater if name == "Maximum" else np.less
        sign, tex = (">", ">") if name == "Maximum" else ("<", "<")
        half = f.had(f.scaled(f.const("½", r"\tfrac{1}{2}", 0.5), G), _tie())
        rules = (
            f.add(f.had(G, f.ind(f"[x {sign} y]", rf"[x {tex} y]", _cmp(wins, "x", "y"))), half),
            f.add(f.had(G, f.ind(f"[y {sign} x]", rf"[y {tex} x]", _cmp(wins, "y", "x"))), half),
        )
    terms = tuple(
        f.unbroadcast(r, tuple(t.shape), out) for r, t in zip(rules, inputs, strict=False)
    )
    return CallRule(("x", "y"), terms, ("", ""))


def _cmp(op: Callable[[Any, Any], Any], a: str, b: str) -> Callable[[Env], Any]:
    return lambda env: op(env[a], env[b])


def _tie() -> Expr:
    return f.ind("[x = y]", "[x = y]", lambda env: np.equal(env["x"], env["y"]))


def _matmul(fn: Any, inputs: Sequence[Any], out: Shape) -> CallRule:
    sx, sw = tuple(inputs[0].shape), tuple(inputs[1].shape)
    x, w = f.sym("X"), f.sym("W")
    if len(sx) == 1 and len(sw) == 1:  # inner product z = Σ xᵢ wᵢ: g is a scalar
        return CallRule(("X", "W"), (f.scaled(G_VEC, w), f.scaled(G_VEC, x)), ("", ""))
    if len(sx) == 1:  # x a row vector: g has W's batch and its columns
        grad_x, grad_w = f.matvec(w, G_VEC), f.outer(x, G_VEC)
        full_x, full_w = out[:-1] + sx, out[:-1] + sw[-2:]
    elif len(sw) == 1:  # w a column vector
        grad_x, grad_w = f.outer(G_VEC, w), f.matvec(f.tr(x), G_VEC)
        full_x, full_w = out + sw, out[:-1] + sw
    else:
        grad_x, grad_w = f.mat(G_MAT, f.tr(w)), f.mat(f.tr(x), G_MAT)
        full_x, full_w = out[:-2] + sx[-2:], out[:-2] + sw[-2:]
    terms = (
        _sum_batch(grad_x, sx, full_x),
        _sum_batch(grad_w, sw, full_w),
    )
    return CallRule(("X", "W"), terms, ("", ""))


def _sum_batch(e: Expr, shape: Shape, full: Shape) -> Expr:
    """``e`` (of shape ``full``) summed over the batch axes an operand was broadcast over."""
    axes = f.broadcast_axes(shape, full)
    return f.sum_to(e, shape, axes, "batch") if axes else e


def _linear(fn: Any, inputs: Sequence[Any], out: Shape) -> CallRule:
    sx, sw = tuple(inputs[0].shape), tuple(inputs[1].shape)
    x = f.sym("X")
    grad_x = f.mat(G_MAT if len(out) > 1 else G_VEC, f.sym("W"))
    if len(sx) == 1:
        grad_w = f.outer(G_VEC, x)
    else:
        grad_w = _sum_batch(f.mat(f.tr(G_MAT), x), sw, out[:-2] + sw)
    terms = [grad_x, grad_w]
    if len(inputs) > 2:
        terms.append(f.unbroadcast(G_MAT if len(out) > 1 else G_VEC, (sw[0],), out))
    return CallRule(("X", "W", "b")[: len(inputs)], tuple(terms), ("",) * len(inputs))


def _permute(fn: Any, inputs: Sequence[Any], out: Shape) -> CallRule:
    inverse = tuple(fn.inverse)
    swap_last = tuple(range(len(inverse) - 2)) + (len(inverse) - 1, len(inverse) - 2)
    if len(inverse) >= 2 and inverse == swap_last:
        return CallRule(("x",), (f.tr(G_VEC),), ("",))
    axes = "(" + ", ".join(map(str, inverse)) + ("," if len(inverse) == 1 else "") + ")"
    rule = Expr(
        f"permute(g, {axes})",
        rf"\operatorname{{permute}}(g, {axes})",
        lambda env: np.transpose(env["g"], inverse),
    )
    return CallRule(("x",), (rule,), ("",))


def _reduction(fn: Any, inputs: Sequence[Any], out: Shape) -> CallRule:
    shape, axes = tuple(fn.in_shape), tuple(fn.axes)
    kept = tuple(1 if i in axes else n for i, n in enumerate(shape))
    where = "" if len(axes) == len(shape) else f", axis {','.join(map(str, axes))}"
    rule = Expr(
        f"broadcast(g{where})",
        rf"\operatorname{{broadcast}}(g{where})",
        lambda env: np.broadcast_to(np.reshape(env["g"], kept), shape),
    )
    if type(fn).__name__ == "Mean":
        count = int(np.prod([shape[a] for a in axes], dtype=np.int64))
        return CallRule(("x",), (f.div(rule, f.const("n", "n", count)),), (f"(n = {count})",))
    return CallRule(("x",), (rule,), ("",))


def _reduce(fn: Any, e: Expr, denominator: float, per_row: bool) -> tuple[Expr, str]:
    """The loss gradient ``e`` times g, over N for the mean; the note says what N is."""
    if fn.reduction == "none":
        g = f.Expr("g", "g", lambda env: np.reshape(env["g"], (-1, 1))) if per_row else G_VEC
        return f.had(e, g), "(g: one value per loss)"
    scaled = f.had(e, G_VEC)
    if fn.reduction == "sum":
        return scaled, ""
    return f.div(scaled, f.const("N", "N", denominator)), f"(N = {denominator:g})"


def _softmax(x: Any) -> Any:
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _cross_entropy(fn: Any, inputs: Sequence[Any], out: Shape) -> CallRule:
    x_hat = Expr("Ŷ", r"\hat Y", lambda env: _softmax(env["X"]))
    c, eps = fn.n_classes, float(fn.smoothing)
    indices = np.asarray(inputs[1].data).dtype.kind in "iub"

    def targets(env: Env) -> Any:
        y = np.eye(c)[np.clip(env["Y"], 0, c - 1)] if indices else env["Y"]
        return y * (1 - eps) + eps / c if eps else y

    y = Expr("Y", "Y", targets)
    notes = ["Ŷ = softmax(X)"]
    notes += ["Y: one-hot rows of the targets"] if indices else []
    notes += [f"Y smoothed: (1 − ε) Y + ε/C, ε = {eps:g}"] if eps else []
    weight = fn.weight
    w = None if weight is None else f.const("w", "w", np.asarray(weight))
    if indices and not eps:  # one target per row: rows of Y are one-hot
        grad: Expr = f.sub(x_hat, y)
        if weight is not None:
            w_y = Expr("w_y", "w_{y}", lambda env: np.asarray(weight)[_rows(env["Y"], c)])
            grad = f.had(w_y, grad)
            notes.append("w_y: the weight of each row's class")
    else:
        wy = y if w is None else f.had(w, y)
        total = Expr(f"Σ_c {wy.text}", rf"\sum_c {wy.latex}", _row_sum(wy.value))
        grad = f.sub(f.had(x_hat, total), wy)
    mask = _ignored_rows(fn, inputs) if indices else None
    if mask is not None:
        grad = f.had(mask, grad)
        notes.append("m: 0 for rows of ignore_index, else 1")
    grad, scale = _reduce(fn, grad, fn.denominator, per_row=True)
    log_p = Expr("log Ŷ", r"\log \hat Y", lambda env: np.log(_softmax(env["X"])))
    grad_y = f.neg(log_p if w is None else f.had(log_p, w))
    if eps:
        grad_y = f.scaled(f.const("(1 − ε)", r"(1 - \epsilon)", 1 - eps), grad_y)
    grad_y, _ = _reduce(fn, grad_y, fn.denominator, per_row=True)
    note = "  ".join(f"({n})" for n in notes) + (f"  {scale}" if scale else "")
    return CallRule(("X", "Y"), (grad, None if indices else grad_y), (note, scale))


def _rows(y: Any, c: int) -> Any:
    """Class indices as a column for indexing, ignored rows (any out-of-range index) as 0."""
    return np.clip(y, 0, c - 1)[:, None]


def _ignored_rows(fn: Any, inputs: Sequence[Any]) -> Expr | None:
    """The counted-rows mask m of a cross-entropy with ignored rows, or None if all count.

    The op keeps the mask until backward frees it; after that, targets outside [0, C) are the
    ignored ones when the op's total (rows, or their weights) agrees. An ``ignore_index``
    inside [0, C) cannot be told apart after backward: m is named but not evaluated.
    """
    valid = fn.__dict__.get("valid")
    if valid is None:
        y, c = np.asarray(inputs[1].data), int(fn.n_classes)
        guess = (y >= 0) & (y < c)
        weights = (
            np.ones(len(y)) if fn.weight is None else np.asarray(fn.weight)[np.clip(y, 0, c - 1)]
        )
        if np.isclose(float(weights[guess].sum()), fn.denominator):
            valid = guess
    if valid is not None and np.all(valid):
        return None

    def value(env: Env) -> Any:
        if valid is None:
            raise ValueError(
                "cross_entropy: the counted rows are freed by backward; explain before it"
            )
        return np.reshape(valid, (-1, 1)).astype(float)

    return Expr("m", "m", value)


def _row_sum(value: Callable[[Env], Any]) -> Callable[[Env], Any]:
    return lambda env: np.sum(value(env), axis=1, keepdims=True)


def _nll(fn: Any, inputs: Sequence[Any], out: Shape) -> CallRule:
    n, c = (int(k) for k in inputs[0].shape)
    y = Expr("Y", "Y", lambda env: np.eye(c)[np.clip(env["y"], 0, c - 1)])
    # the op keeps each row's weight (0 where ignored) until backward frees it; a total other
    # than the row count means weights or ignored rows
    coef = fn.__dict__.get("coef")
    weighted = fn.denominator != n or (coef is not None and not np.all(coef == 1))
    if weighted:
        y = f.had(Expr("w_y", "w_{y}", lambda env: _row_weights(coef)), y)
    grad, scale = _reduce(fn, f.neg(y), fn.denominator, per_row=True)
    note = "(Y: one-hot rows of y" + (
        "; w_y: each row's class weight, 0 if ignored)" if weighted else ")"
    )
    note += f"  {scale}" if scale else ""
    return CallRule(("X", "y"), (grad, None), (note, ""))


def _row_weights(coef: Any) -> Any:
    if coef is None:
        raise ValueError("nll_loss: the rows' weights are freed by backward; explain before it")
    return np.reshape(coef, (-1, 1))


def _sigmoid(v: Any) -> Any:
    return 1 / (1 + np.exp(-v))


def _bce_with_logits(fn: Any, inputs: Sequence[Any], out: Shape) -> CallRule:
    v, d = f.sym("v"), f.sym("d")
    s = f.func("σ", v, _sigmoid, r"\sigma")
    softplus = Expr(
        "log(1 + e^(−v))", r"\log(1 + e^{-v})", lambda env: np.log1p(np.exp(-env["v"]))
    )
    if fn.pos_weight is None:
        grad_v, grad_d = f.sub(s, d), f.neg(v)
    else:
        p = f.const("p", "p", np.asarray(fn.pos_weight))
        p1 = f.sub(p, ONE)
        grad_v = f.sub(f.sub(ONE, d), f.had(f.add(ONE, f.had(p1, d)), f.sub(ONE, s)))
        grad_d = f.sub(f.had(p1, softplus), v)
    return _weighted_loss(
        fn, ("v", "d"), grad_v, grad_d, "p: pos_weight" if fn.pos_weight is not None else ""
    )


def _bce(fn: Any, inputs: Sequence[Any], out: Shape) -> CallRule:
    p, d = f.sym("p"), f.sym("d")
    floor = Expr(
        "max(p (1 − p), ε)",
        r"\max(p (1 - p), \epsilon)",
        lambda env: np.maximum(env["p"] * (1 - env["p"]), fn.eps),
    )
    log = np.log
    grad_p = f.div(f.sub(p, d), floor)
    grad_d = f.sub(f.func("log", f.sub(ONE, p), log, r"\log"), f.func("log", p, log, r"\log"))
    return _weighted_loss(fn, ("p", "d"), grad_p, grad_d, f"ε = {fn.eps:.3g}")


def _weighted_loss(fn: Any, symbols: tuple[str, str], a: Expr, b: Expr, note: str) -> CallRule:
    """Both gradients of an elementwise loss: times the weights w if any, g, and 1/N if mean."""
    terms = []
    for e in (a, b):
        if fn.weight is not None:
            e = f.had(f.const("w", "w", np.asarray(fn.weight)), e)
        terms.append(_reduce(fn, e, fn.count, per_row=False))
    notes = tuple(
        "  ".join(n for n in (f"({note})" if note else "", scale) if n) for _, scale in terms
    )
    return CallRule(symbols, tuple(e for e, _ in terms), notes)


Builder = Callable[[Any, Sequence[Any], Shape], CallRule]

#: op class name → the writer of its rule for one call
BUILDERS: dict[str, Builder] = {
    **POINTWISE,
    **dict.fromkeys(("Add", "Sub", "Mul", "Div", "Maximum", "Minimum"), _elementwise),
    "MatMul": _matmul,
    "Linear": _linear,
    "Conv": conv_rule,
    "Permute": _permute,
    "Sum": _reduction,
    "Mean": _reduction,
    "CrossEntropy": _cross_entropy,
    "NLLLoss": _nll,
    "BCEWithLogits": _bce_with_logits,
    "BinaryCrossEntropy": _bce,
}


#: ops whose docstring rule holds for every call as written: it names the index, the mask or the
#: positions rather than spelling them out (scatter-add at index, g ⊙ m / (1 − p))
GENERIC = frozenset(
    {"GetItem", "SetItem", "IndexAdd", "TakeAlongAxis", "Dropout", "Im2Col", "Col2Im", "MaxPool"}
    # gather and index_select scatter-add at the index; contiguous passes g; cumsum names its
    # axis; the norm's rule spells each case of p
    | {"Gather", "IndexSelect", "Contiguous", "CumSum", "VectorNorm"}
    | EXACT_POINTWISE  # sin, atan2, fmod, lerp...: elementwise, no parameter in the formula
    | EXACT_LOGIC  # nan_to_num passes g where x is finite; masked_select scatters g back
    | ALGEBRA_GENERIC  # prod/cumprod along their axis, scatter at index, the median's ties
    # flip and roll name their axes and shifts; diagonal writes g onto the named diagonal
    | {"Flip", "Roll", "Diagonal"}
    | EXACT_NUMERIC  # einsum: the same contraction of g with the other operands
)


def call_rule(fn: Any, inputs: Sequence[Any], out: Shape) -> CallRule | None:
    """The rule of op ``fn`` for this call (its inputs' tensors and output shape), or None
    where the op's docstring rule holds for every call."""
    builder = BUILDERS.get(type(fn).__name__)
    return None if builder is None else builder(fn, inputs, tuple(out))
