"""Numeric primitives: ``einsum`` (one contraction of any number of operands).

The gradient of a contraction with respect to one operand is the same contraction of the
output gradient with the other operands, written to that operand's subscripts: the sum of a
product over the shared labels, read the other way round.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nabla._typing import Array
from nabla.autograd.function import Function
from nabla.errors import DTypeError, ShapeError

_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def parse_equation(equation: str, shapes: list[tuple[int, ...]]) -> tuple[list[str], str]:
    """The subscripts of each operand and of the output, with ``...`` spelled out as letters
    (right-aligned, shared by all operands) and an implicit output made explicit (PyTorch's
    rule: the ellipsis first, then the labels used once, in alphabetical order)."""
    eq = equation.replace(" ", "")
    lhs, arrow, rhs = eq.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(shapes):
        raise ValueError(
            f"einsum(): {len(terms)} operand subscripts in {equation!r} but {len(shapes)} operands"
        )
    used = set(eq) - set(".,->")
    for c in used:
        if c not in _LETTERS:
            raise ValueError(f"einsum(): invalid subscript {c!r} in {equation!r}")
    spare = [c for c in _LETTERS if c not in used]
    n_ellipsis = 0
    for term, shape in zip(terms, shapes):
        explicit = len(term.replace("...", ""))
        if "..." in term:
            n_ellipsis = max(n_ellipsis, len(shape) - explicit)
        elif explicit != len(shape):
            raise ShapeError(
                f"einsum(): the number of subscripts in {term!r} ({explicit}) does not match "
                f"the number of dimensions ({len(shape)}) of an operand of shape {shape}"
            )
    ellipsis = "".join(spare[:n_ellipsis])
    subs = []
    for term, shape in zip(terms, shapes):
        k = len(shape) - len(term.replace("...", ""))
        if k < 0:
            raise ShapeError(f"einsum(): {term!r} has more subscripts than dimensions {shape}")
        subs.append(term.replace("...", ellipsis[n_ellipsis - k :] if k else ""))
    if arrow:
        if "..." not in rhs and n_ellipsis and any("..." in t for t in terms):
            out = rhs  # the ellipsis dims are summed
        else:
            out = rhs.replace("...", ellipsis)
    else:
        counts = {c: lhs.count(c) for c in used}
        out = ellipsis + "".join(sorted(c for c in used if counts[c] == 1))
    for c in out:
        if out.count(c) > 1 or not any(c in s for s in subs):
            raise ValueError(f"einsum(): output subscript {c!r} of {equation!r} is invalid")
    return subs, out


class Einsum(Function):
    """A sum of products over the labels of an equation (``torch.einsum``).

    Forward:  z[out] = Σ_{labels not in out} Π_k x_k[subs_k]
    Backward: ∇x = einsum(g[out], the other operands → x's subscripts)  (for each operand x;
              broadcast along the labels only x has)
    """

    latex = r"\nabla_x = \operatorname{einsum}(g, \text{the other operands})"

    def forward(self, *xs: Array, equation: str = "") -> Array:
        if len({x.dtype for x in xs}) > 1:
            raise DTypeError(
                f"einsum(): operands have different dtypes {[str(x.dtype) for x in xs]}"
            )
        subs, out = parse_equation(equation, [x.shape for x in xs])
        sizes: dict[str, int] = {}
        for s, x in zip(subs, xs):
            if len(set(s)) != len(s):
                raise ValueError(
                    f"einsum(): repeated subscript within one operand ({s!r} in {equation!r}, "
                    "a diagonal) is not supported"
                )
            for c, n in zip(s, x.shape):
                if sizes.get(c, 1) == 1:
                    sizes[c] = n
                elif n not in (1, sizes[c]):
                    raise ShapeError(
                        f"einsum(): subscript {c!r} has size {n} for an operand of shape "
                        f"{x.shape}, which does not match the earlier size {sizes[c]}"
                    )
        # size-1 dims broadcast (PyTorch): spell them out so every label has one size
        wide = [np.broadcast_to(x, tuple(sizes[c] for c in s)) for s, x in zip(subs, xs)]
        self.subs, self.out, self.sizes = subs, out, sizes
        z: Array = np.einsum(",".join(subs) + "->" + out, *wide, optimize=True)
        return z.astype(xs[0].dtype, copy=False) if xs[0].dtype.kind == "b" else z

    def backward(self, g: Any, F: Any, *xs: Any) -> tuple[Any, ...]:
        grads: list[Any] = []
        for k in range(len(xs)):
            if not self.needs_grad[k]:
                grads.append(None)
                continue
            others = [(s, y) for j, (s, y) in enumerate(zip(self.subs, xs)) if j != k]
            present = set(self.out).union(*[set(s) for s, _ in others])
            target = "".join(c for c in self.subs[k] if c in present)
            eq = ",".join([self.out] + [s for s, _ in others]) + "->" + target
            grad = contract(F, eq, [g] + [y for _, y in others], self.sizes)
            shape = tuple(self.sizes[c] for c in self.subs[k])
            if target != self.subs[k]:  # labels of x_k alone: its gradient is constant along them
                grad = grad.reshape(
                    tuple(self.sizes[c] if c in present else 1 for c in self.subs[k])
                )
                grad = F.broadcast_to(grad, shape)
            grads.append(grad)
        return tuple(grads)


def contract(F: Any, equation: str, operands: list[Any], sizes: dict[str, int]) -> Any:
    """``einsum`` on the path of the rule: NumPy's on arrays, the recorded op on Tensors."""
    if F.graph:
        return Einsum.apply(*operands, equation=equation)
    lhs = equation.split("->")[0].split(",")
    wide = [np.broadcast_to(a, tuple(sizes[c] for c in s)) for s, a in zip(lhs, operands)]
    return np.einsum(equation, *wide, optimize=True)


__all__ = ["Einsum", "contract", "parse_equation"]
