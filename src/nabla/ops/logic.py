"""Logic primitives beyond the comparisons of :mod:`nabla.ops.compare`: value tests (isnan…),
bitwise ops, the boolean reductions all/any/count_nonzero, isclose, nonzero, and the two
differentiable ones, nan_to_num and masked_select.

The boolean and integer results carry no gradient. They are ops, not plain NumPy calls, so a
compiled step recomputes them from its inputs on every call (they depend on the data).
``nan_to_num`` passes g through the finite entries and gives 0 where it replaced a value (a
select: an inf g there gives 0, not nan); ``masked_select`` scatters g back to the selected
positions of the broadcast x (the engine sums it back to x's shape).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from nabla._typing import Array
from nabla.autograd.function import Function
from nabla.errors import DTypeError

#: the NumPy test of each value test, by the name the op records
VALUE_TESTS = {
    name: getattr(np, name) for name in ("isnan", "isinf", "isfinite", "isposinf", "isneginf")
}
#: the NumPy ufunc of each bitwise op, by PyTorch's name
BITWISE = {
    "bitwise_not": np.invert,
    "bitwise_and": np.bitwise_and,
    "bitwise_or": np.bitwise_or,
    "bitwise_xor": np.bitwise_xor,
}


class ValueTest(Function):
    """A test of each value: isnan, isinf, isfinite, isposinf or isneginf (PyTorch's; on bool
    and integer tensors nothing is nan or infinite).

    Forward:  z = test(x)  (booleans)
    Backward: none (booleans carry no gradient)
    """

    name = "value_test"

    def forward(self, x: Array, test: str = "isnan") -> Array:
        if x.dtype.kind in "biu":  # NumPy's isposinf refuses bools; the answer is known
            return np.full(x.shape, test == "isfinite")
        return np.asarray(VALUE_TESTS[test](x))

    def backward(self, g: Any, F: Any, x: Any) -> tuple[None]:
        return (None,)


class Bitwise(Function):
    """A bitwise op of bool or integer tensors (NumPy broadcasting): not, and, or, xor. On
    bools they are the logical ops.

    Forward:  z = ~x,  x & y,  x | y  or  x ^ y
    Backward: none (bool and integer results carry no gradient)
    """

    name = "bitwise"

    def forward(self, *arrays: Array, op: str = "bitwise_not") -> Array:
        for a in arrays:
            if a.dtype.kind not in "biu":
                raise DTypeError(
                    f"{op}: only bool and integer tensors are supported, got dtype {a.dtype}"
                )
        return np.asarray(BITWISE[op](*arrays))

    def backward(self, g: Any, F: Any, *args: Any) -> tuple[None, ...]:
        return (None,) * len(args)


class AllTrue(Function):
    """True where every entry over the axes is nonzero (all axes when None; () reduces none).
    A uint8 tensor gives uint8, as in PyTorch; every other dtype gives bool.

    Forward:  z = ∧_axes (x ≠ 0)
    Backward: none (booleans carry no gradient)
    """

    name = "all"

    def forward(self, x: Array, axis: Any = None, keepdims: bool = False) -> Array:
        z = np.asarray(self.reduce(x, axis=axis, keepdims=keepdims))
        return z.astype(np.uint8) if x.dtype == np.uint8 else z

    #: NumPy's reduction (np.any in AnyTrue)
    reduce: ClassVar[Any] = staticmethod(np.all)

    def backward(self, g: Any, F: Any, x: Any) -> tuple[None]:
        return (None,)


class AnyTrue(AllTrue):
    """True where some entry over the axes is nonzero (see :class:`AllTrue`).

    Forward:  z = ∨_axes (x ≠ 0)
    Backward: none (booleans carry no gradient)
    """

    name = "any"
    reduce: ClassVar[Any] = staticmethod(np.any)


class CountNonzero(Function):
    """The number of nonzero entries over the axes (all when None), as int64.

    Forward:  z = Σ_axes [x ≠ 0]
    Backward: none (counts carry no gradient)
    """

    def forward(self, x: Array, axis: Any = None) -> Array:
        return np.asarray(np.count_nonzero(x, axis=axis), dtype=np.int64)

    def backward(self, g: Any, F: Any, x: Any) -> tuple[None]:
        return (None,)


class IsClose(Function):
    """Whether x and y are close, PyTorch's rule: equal, or both nan (with ``equal_nan``), or
    a finite |x − y| ≤ atol + rtol |y| (so inf is close to inf of the same sign only).

    Forward:  z = [x = y] ∨ [|x − y| ≤ atol + rtol |y|]
    Backward: none (booleans carry no gradient)
    """

    def forward(
        self, x: Array, y: Array, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False
    ) -> Array:
        if x.dtype.kind in "biu":  # integers are compared as float64 (|x − y| may overflow)
            x, y = x.astype(np.float64), y.astype(np.float64)
        with np.errstate(invalid="ignore", over="ignore"):  # inf − inf is nan: not close
            close = x == y
            if equal_nan:
                close |= np.isnan(x) & np.isnan(y)
            error = np.abs(x - y)
            close |= np.isfinite(error) & (error <= atol + np.abs(rtol * y))
        return np.asarray(close)

    def backward(self, g: Any, F: Any, x: Any, y: Any) -> tuple[None, None]:
        return None, None


class NonZero(Function):
    """The positions of the nonzero entries, one row of x.ndim int64 coordinates each, in
    row-major order (``torch.nonzero``; a 0-d x has rows of no coordinates).

    Forward:  z = [i for i in positions(x) if x[i] ≠ 0]  (shape (n, x.ndim))
    Backward: none (positions are integers)
    """

    def forward(self, x: Array) -> Array:
        return np.argwhere(x).astype(np.int64, copy=False)

    def backward(self, g: Any, F: Any, x: Any) -> tuple[None]:
        return (None,)


class NanToNum(Function):
    """nan, +inf and −inf replaced by given numbers (by default 0 and the dtype's largest and
    smallest finite values); the gradient passes through the finite entries only (selected).

    Forward:  z = x where x is finite, else nan, posinf or neginf
    Backward: ∇x = g ⊙ [x finite]
    """

    latex = r"\nabla_x = g \odot [x \text{ finite}]"

    def forward(
        self, x: Array, nan: float = 0.0, posinf: float | None = None, neginf: float | None = None
    ) -> Array:
        if x.dtype.kind not in "fc":
            return x.copy()  # integers and bools are always finite
        return np.nan_to_num(x, nan=nan, posinf=posinf, neginf=neginf)

    def backward(self, g: Any, F: Any, x: Any) -> tuple[Any]:
        return (F.mask(g, np.isfinite(F.data(x))),)


class MaskedSelect(Function):
    """The entries of x where the boolean mask is True, x and mask broadcast together, as a
    1-D tensor in row-major order (``torch.masked_select``).

    Forward:  z = broadcast(x)[mask]  (shape (mask.sum(),))
    Backward: ∇x = scatter of g into zeros(broadcast shape) at the mask's positions
    """

    name = "masked_select"
    saved = ("index",)
    latex = r"\nabla_x[\text{mask}] \mathrel{+}= g"

    def forward(self, x: Array, mask: Array) -> Array:
        # a 0-d pair as one element: NumPy has no positions in 0-d arrays (the engine sums
        # the (1,) gradient back to x's shape ())
        shape = np.broadcast_shapes(x.shape, mask.shape) or (1,)
        self.shape = shape
        # the positions, not the boolean mask: the tensor path's index_add takes them too
        self.index = np.nonzero(np.broadcast_to(mask, shape))
        z: Array = np.broadcast_to(x, shape)[self.index]
        return z

    def backward(self, g: Any, F: Any, x: Any, mask: Any) -> tuple[Any, None]:
        return F.index_add(g, self.shape, self.index), None


__all__ = [
    "BITWISE",
    "VALUE_TESTS",
    "AllTrue",
    "AnyTrue",
    "Bitwise",
    "CountNonzero",
    "IsClose",
    "MaskedSelect",
    "NanToNum",
    "NonZero",
    "ValueTest",
]
