"""Call rules of the elementwise functions, the shape changes and the reductions along axes.

Written with the combinators of :mod:`nabla.viz.formula` (text, LaTeX and value from one
expression), for the exact call: the exponent, slope and bounds it was given, the operands it
broadcast, the axis of a softmax, the shape of a reshape (see :mod:`nabla.viz.rules`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from nabla.viz import formula as f
from nabla.viz.formula import CallRule, Env, Expr

Shape = tuple[int, ...]
G = f.sym("g")


def _e(text: str, latex: str, value: Callable[[Env], Any]) -> Expr:
    return Expr(text, latex, value)


def _unary(rule: Expr, output: str = "", note: str = "") -> CallRule:
    return CallRule(("x",), (rule,), (note,), output)


def _x(env: Env) -> Any:
    return env["x"]


def _unary_rule(fn: Any, inputs: Sequence[Any], out: Shape) -> CallRule:
    name = type(fn).__name__
    x, z = f.sym("x"), f.sym("z")
    one = f.const("1", "1", 1.0)
    if name == "Neg":
        return _unary(f.neg(G))
    if name == "Reciprocal":
        return _unary(f.had(f.neg(G), _e("z²", "z^2", lambda env: env["z"] ** 2)), "z")
    if name == "Exp":
        return _unary(f.had(G, z), "z")
    if name == "Log":
        return _unary(f.div(G, x))
    if name == "Sqrt":
        return _unary(f.div(G, _e("(2 z)", "(2 z)", lambda env: 2 * env["z"])), "z")
    if name == "Abs":
        return _unary(f.had(G, f.func("sign", x, np.sign)))
    if name == "Tanh":
        h2 = _e("h²", "h^2", lambda env: env["h"] ** 2)
        return _unary(f.had(G, f.sub(one, h2)), "h")
    if name == "Sigmoid":
        return _unary(f.had(f.had(G, z), f.sub(one, z)), "z")
    if name == "Relu":
        return _unary(f.had(G, f.ind("[x > 0]", "[x > 0]", lambda env: env["x"] > 0)))
    return _piecewise(fn, x)


def _piecewise(fn: Any, x: Expr) -> CallRule:
    """LeakyRelu, Clip and PowScalar: rules that carry the call's own numbers."""
    name = type(fn).__name__
    if name == "LeakyRelu":
        a = float(fn.slope)
        slope = _e(f"({a:g} [x ≤ 0] + [x > 0])", rf"({a:g} [x \le 0] + [x > 0])", _leaky(a))
        return _unary(f.had(G, slope), note=f"(slope a = {a:g})")
    if name == "Clip":
        lo, hi = fn.lo, fn.hi
        text = " ≤ ".join(s for s in (_bound(lo), "x", _bound(hi)) if s)
        tex = r" \le ".join(s for s in (_bound(lo), "x", _bound(hi)) if s)
        inside = f.ind(f"[{text}]", f"[{tex}]", lambda env: _inside(env["x"], lo, hi))
        return _unary(f.had(G, inside))
    p = fn.p  # PowScalar
    if p == 0:
        return _unary(_e("0", "0", lambda env: np.zeros_like(env["x"])), note="(x⁰ is constant)")
    power = _e(
        f"{p:g} x^({p - 1:g})", f"{p:g}\\, x^{{{p - 1:g}}}", lambda env: p * env["x"] ** (p - 1)
    )
    return _unary(f.had(G, power))


def _leaky(a: float) -> Callable[[Env], Any]:
    return lambda env: np.where(env["x"] > 0, 1.0, a)


def _bound(b: Any) -> str:
    return "" if b is None else f"{b:g}" if np.ndim(b) == 0 else "bound"


def _inside(x: Any, lo: Any, hi: Any) -> Any:
    ok = np.ones(np.shape(x), dtype=bool)
    if lo is not None:
        ok &= x >= lo
    if hi is not None:
        ok &= x <= hi
    return ok


def _binary_rule(fn: Any, inputs: Sequence[Any], out: Shape) -> CallRule:
    """Pow and Where, each operand's gradient summed back over its broadcast axes."""
    bcast = len(out) >= 2 and any(tuple(t.shape) != out for t in inputs)
    g = f.sym("G") if bcast else G
    if type(fn).__name__ == "Where":
        c = f.ind("c", "c", lambda env: np.asarray(env["c"], dtype=bool))
        not_c = f.ind("¬c", "(1 - c)", lambda env: ~np.asarray(env["c"], dtype=bool))
        rules: tuple[Expr | None, ...] = (None, f.had(g, c), f.had(g, not_c))
        symbols: tuple[str, ...] = ("c", "x", "y")
        notes: tuple[str, ...] = ("", "(c: the condition)", "(c: the condition)")
    else:
        power = _e("y x^(y−1)", r"y\, x^{y-1}", _pow_x)
        z_log_x = _e("z log x", r"z \log x", _pow_y)
        rules = (f.had(g, power), f.had(g, z_log_x))
        symbols, notes = ("x", "y"), ("(0 where y = 0)", "(0 where x = 0 and y ≥ 0)")
    terms = tuple(
        None if r is None else f.unbroadcast(r, tuple(t.shape), out)
        for r, t in zip(rules, inputs, strict=False)
    )
    return CallRule(symbols, terms, notes, "z")


def _pow_x(env: Env) -> Any:
    x, y = env["x"], env["y"]
    with np.errstate(divide="ignore", invalid="ignore"):  # 0^(negative): masked next
        return np.where(y == 0, 0.0, y * x ** (y - 1))


def _pow_y(env: Env) -> Any:
    x, y = env["x"], env["y"]
    with np.errstate(divide="ignore", invalid="ignore"):  # log 0: masked next
        return np.where((x == 0) & (y >= 0), 0.0, env["z"] * np.log(x))


def _shape_rule(fn: Any, inputs: Sequence[Any], out: Shape) -> CallRule:
    shape = tuple(inputs[0].shape)
    name = type(fn).__name__
    if name == "Reshape":
        text = "(" + ", ".join(map(str, shape)) + ("," if len(shape) == 1 else "") + ")"
        return _unary(
            _e(
                f"reshape(g, {text})",
                rf"\operatorname{{reshape}}(g, {text})",
                lambda env: np.reshape(env["g"], shape),
            )
        )
    if name == "Cast":
        return _unary(G, note=f"(as {inputs[0].dtype})")
    return _unary(f.unbroadcast(G, shape, out))  # BroadcastTo: Σ over the copies


def _softmax_rule(fn: Any, inputs: Sequence[Any], out: Shape) -> CallRule:
    axis = int(fn.axis)

    def total(value: Callable[[Env], Any], text: str, latex: str) -> Expr:
        sub = f"axis {axis}"
        return Expr(
            f"Σ_{sub.replace(' ', '')} {text}",
            rf"\sum_{{\text{{{sub}}}}} {latex}",
            lambda env: np.sum(value(env), axis=axis, keepdims=True),
        )

    if type(fn).__name__ == "Softmax":
        s = f.sym("s")
        gs = f.had(G, s)
        rule = f.had(s, f.sub(G, total(gs.value, f"({gs.text})", f"({gs.latex})")))
        return _unary(rule, "s")
    exp_z = _e("exp(z)", "e^{z}", lambda env: np.exp(env["z"]))
    return _unary(f.sub(G, f.had(exp_z, total(G.value, "g", "g"))), "z")


def _axes_rule(fn: Any, inputs: Sequence[Any], out: Shape) -> CallRule:
    """LogSumExp, Max, Min, Var and Std along the call's axes."""
    shape, axes = tuple(fn.in_shape), tuple(fn.axes)
    kept = tuple(1 if i in axes else n for i, n in enumerate(shape))
    where = "" if len(axes) == len(shape) else f", axis {','.join(map(str, axes))}"

    def spread(name: str) -> Callable[[Env], Any]:
        return lambda env: np.broadcast_to(np.reshape(env[name], kept), shape)

    g = Expr(f"broadcast(g{where})", rf"\operatorname{{broadcast}}(g{where})", spread("g"))
    z = Expr(f"broadcast(z{where})", rf"\operatorname{{broadcast}}(z{where})", spread("z"))
    name = type(fn).__name__
    if name == "LogSumExp":
        return _unary(f.had(g, f.func("exp", f.sub(f.sym("x"), z), np.exp, r"\exp")), "z")
    if name in ("Max", "Min"):
        wins = f.ind("[x = z]", "[x = z]", lambda env: env["x"] == spread("z")(env))
        ties = Expr(
            "#ties",
            r"\#\text{ties}",
            lambda env: np.sum(env["x"] == spread("z")(env), axis=axes, keepdims=True),
        )
        return _unary(f.div(f.had(g, wins), ties), "z")
    dof = float(fn.dof)
    mean = Expr("x̄", r"\bar x", lambda env: np.mean(env["x"], axis=axes, keepdims=True))
    var = f.div(f.had(f.const("2", "2", 2.0), f.sub(f.sym("x"), mean)), f.const("ν", r"\nu", dof))
    note = f"(ν = n − c = {dof:g})"
    if name == "Var":
        return _unary(f.had(g, var), note=note)
    half = f.div(g, Expr(f"(2 {z.text})", rf"(2 {z.latex})", lambda env: 2 * spread("z")(env)))
    return _unary(f.had(half, var), "z", note)


_SUBSCRIPTS = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


def _join_rule(fn: Any, inputs: Sequence[Any], out: Shape) -> CallRule:
    """Concatenate and Stack: each input's gradient is its own slice of g."""
    axis = int(fn.axis)
    bounds = getattr(fn, "bounds", None)  # Concatenate's; Stack takes one index per input
    terms = []
    for i in range(len(inputs)):
        part: int | slice = i if bounds is None else slice(bounds[i], bounds[i + 1])
        where = str(i) if bounds is None else f"{bounds[i]}:{bounds[i + 1]}"
        index = ", ".join([":"] * axis + [where])
        terms.append(Expr(f"g[{index}]", f"g[{index}]", _take(axis, part)))
    symbols = tuple(f"x{str(i + 1).translate(_SUBSCRIPTS)}" for i in range(len(inputs)))
    note = f"(along axis {axis})"
    return CallRule(symbols, tuple(terms), (note,) * len(inputs))


def _take(axis: int, part: int | slice) -> Callable[[Env], Any]:
    return lambda env: env["g"][(*(slice(None),) * axis, part)]


POINTWISE: dict[str, Callable[[Any, Sequence[Any], Shape], CallRule]] = {
    **dict.fromkeys(
        ("Neg", "Reciprocal", "Exp", "Log", "Sqrt", "Abs", "Tanh", "Sigmoid", "Relu"),
        _unary_rule,
    ),
    **dict.fromkeys(("LeakyRelu", "Clip", "PowScalar"), _unary_rule),
    **dict.fromkeys(("Pow", "Where"), _binary_rule),
    **dict.fromkeys(("Reshape", "Cast", "BroadcastTo"), _shape_rule),
    **dict.fromkeys(("Softmax", "LogSoftmax"), _softmax_rule),
    **dict.fromkeys(("LogSumExp", "Max", "Min", "Var", "Std"), _axes_rule),
    **dict.fromkeys(("Concatenate", "Stack"), _join_rule),
}
