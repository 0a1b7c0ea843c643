"""``TensorMath``: the arithmetic of :class:`~nabla.tensor.Tensor` (a mixin it inherits).

Operators, comparisons and elementwise functions, each one call of a ``Function`` from
:mod:`nabla.ops`. The other operand of a binary operator is lifted by ``Tensor._lift`` (a Python
number takes the tensor's dtype). ``nabla.functional`` offers the same operations as functions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from nabla.autograd.mode import MODE
from nabla.ops import arithmetic as _ar
from nabla.ops import compare as _cmp
from nabla.ops import elementwise as _el
from nabla.ops import linalg as _la
from nabla.ops import softmax as _sm
from nabla.tensor_base import TensorBase

if TYPE_CHECKING:
    from typing_extensions import Self

    from nabla.tensor import Tensor


def no_grad_apply(cls: Any, *inputs: Any, **params: Any) -> Tensor:
    """``cls.apply`` with recording off (the op's result carries no gradient); the mode is
    switched directly, without a context object, since comparisons run in every metric."""
    previous = MODE.state.grad_enabled
    MODE.state.grad_enabled = False
    try:
        return cls.apply(*inputs, **params)  # type: ignore[no-any-return]
    finally:
        MODE.state.grad_enabled = previous


class TensorMath(TensorBase):
    """Operators (``+ - * / ** @``, comparisons) and elementwise methods of ``Tensor``."""

    __slots__ = ()

    # ----- operators ------------------------------------------------------------------------
    def __add__(self, other: Any) -> Tensor:
        return _ar.Add.apply(self, self._lift(other))

    def __radd__(self, other: Any) -> Tensor:
        return _ar.Add.apply(self._lift(other), self)

    def __sub__(self, other: Any) -> Tensor:
        return _ar.Sub.apply(self, self._lift(other))

    def __rsub__(self, other: Any) -> Tensor:
        return _ar.Sub.apply(self._lift(other), self)

    def __mul__(self, other: Any) -> Tensor:
        return _ar.Mul.apply(self, self._lift(other))

    def __rmul__(self, other: Any) -> Tensor:
        return _ar.Mul.apply(self._lift(other), self)

    def __truediv__(self, other: Any) -> Tensor:
        return _ar.Div.apply(self, self._lift(other))

    def __rtruediv__(self, other: Any) -> Tensor:
        return _ar.Div.apply(self._lift(other), self)

    def __neg__(self) -> Tensor:
        return _ar.Neg.apply(self)

    def __pos__(self) -> Self:
        return self

    def __rpow__(self, base: Any) -> Tensor:
        return _ar.Pow.apply(self._lift(base), self)

    def __rmatmul__(self, other: Any) -> Tensor:
        return _la.MatMul.apply(self._lift(other), self)

    # ----- comparisons ----------------------------------------------------------------------
    # comparisons give boolean tensors that carry no gradient; they are ops (recorded under
    # no_grad) so that a compiled step recomputes them on every call
    def _compare(self, other: Any, op: Any) -> Tensor:
        if not isinstance(other, (TensorBase, bool, int, float, np.ndarray, np.generic, list)):
            return self._wrap(np.asarray(op(self.data, other)))  # e.g. x == None: NumPy's answer
        return no_grad_apply(_cmp.Compare, self, self._lift(other), op=op.__name__)

    def __eq__(self, other: object) -> Tensor:  # type: ignore[override]
        return self._compare(other, np.equal)

    def __ne__(self, other: object) -> Tensor:  # type: ignore[override]
        return self._compare(other, np.not_equal)

    def __lt__(self, other: Any) -> Tensor:
        return self._compare(other, np.less)

    def __le__(self, other: Any) -> Tensor:
        return self._compare(other, np.less_equal)

    def __gt__(self, other: Any) -> Tensor:
        return self._compare(other, np.greater)

    def __ge__(self, other: Any) -> Tensor:
        return self._compare(other, np.greater_equal)

    # &, | and ~ are PyTorch's bitwise operators: logical on bool tensors, bitwise on integer
    # ones, refused on floating ones (TensorLogic's bitwise_* methods)
    def __and__(self, other: Any) -> Tensor:
        return self.bitwise_and(other)  # type: ignore[attr-defined,no-any-return]

    __rand__ = __and__  # and commutes, and the result dtype is symmetric

    def __or__(self, other: Any) -> Tensor:
        return self.bitwise_or(other)  # type: ignore[attr-defined,no-any-return]

    __ror__ = __or__

    def __invert__(self) -> Tensor:
        return self.bitwise_not()  # type: ignore[attr-defined,no-any-return]

    __hash__ = object.__hash__  # (defining __eq__ would otherwise drop it)

    # ----- arithmetic -----------------------------------------------------------------------
    def pow(self, exponent: Any) -> Tensor:
        """``self ** exponent``; the exponent may be a Python number or a tensor."""
        if isinstance(exponent, (int, float)) and not isinstance(exponent, bool):
            return _ar.PowScalar.apply(self, p=exponent)
        return _ar.Pow.apply(self, self._lift(exponent))

    __pow__ = pow

    def square(self) -> Tensor:
        """``self ** 2``."""
        return _ar.PowScalar.apply(self, p=2)

    def reciprocal(self) -> Tensor:
        """``1 / self`` (the notes' 1/x node)."""
        return _ar.Reciprocal.apply(self)

    def matmul(self, other: Any) -> Tensor:
        """Matrix product ``self @ other`` for 1-D, 2-D and batched N-D operands."""
        return _la.MatMul.apply(self, self._lift(other))

    __matmul__ = matmul

    # ----- elementwise ----------------------------------------------------------------------
    def exp(self) -> Tensor:
        """eˣ, elementwise."""
        return _el.Exp.apply(self)

    def log(self) -> Tensor:
        """Natural logarithm, elementwise."""
        return _el.Log.apply(self)

    def sqrt(self) -> Tensor:
        """Square root, elementwise."""
        return _el.Sqrt.apply(self)

    def abs(self) -> Tensor:
        """Absolute value, elementwise."""
        return _el.Abs.apply(self)

    __abs__ = abs

    def tanh(self) -> Tensor:
        """Hyperbolic tangent, elementwise."""
        return _el.Tanh.apply(self)

    def sigmoid(self) -> Tensor:
        """The logistic function 1 / (1 + e⁻ˣ), elementwise."""
        return _el.Sigmoid.apply(self)

    def relu(self) -> Tensor:
        """max(x, 0), elementwise."""
        return _el.Relu.apply(self)

    def leaky_relu(self, negative_slope: float = 0.01) -> Tensor:
        """x where x > 0, else ``negative_slope`` · x."""
        return _el.LeakyRelu.apply(self, negative_slope=negative_slope)

    def sign(self) -> Tensor:
        """sign(x), a constant (no gradient)."""
        return self._wrap(np.sign(self.data))

    def maximum(self, other: Any) -> Tensor:
        """The elementwise maximum of ``self`` and ``other`` (broadcast)."""
        return _el.Maximum.apply(self, self._lift(other))

    def minimum(self, other: Any) -> Tensor:
        """The elementwise minimum of ``self`` and ``other`` (broadcast)."""
        return _el.Minimum.apply(self, self._lift(other))

    def clip(self, min: Any = None, max: Any = None) -> Tensor:
        """Clamp into [min, max]; either bound may be None. Bounds may be numbers, or tensors
        (broadcast against x, and differentiable: a bound gets the gradient where it is the
        result, as PyTorch's ``clamp``; where min > max the result is max)."""
        if min is None and max is None:
            raise ValueError("clip: at least one of min and max must be given")
        if isinstance(min, (TensorBase, np.ndarray)) or isinstance(max, (TensorBase, np.ndarray)):
            y: Any = self
            if min is not None:
                lo = self._lift(min)
                y = _el.Where.apply(self < lo, lo, y)
            if max is not None:
                hi = self._lift(max)
                y = _el.Where.apply(y > hi, hi, y)
            return y  # type: ignore[no-any-return]
        return _el.Clip.apply(self, lo=min, hi=max)

    clamp = clip

    def softmax(self, axis: int = -1, *, dim: int | None = None) -> Tensor:
        """exp(x) / Σ exp(x) along ``axis`` (PyTorch's ``dim``), computed stably."""
        return _sm.Softmax.apply(self, axis=axis if dim is None else dim)

    def log_softmax(self, axis: int = -1, *, dim: int | None = None) -> Tensor:
        """x − log Σ exp(x) along ``axis`` (PyTorch's ``dim``), computed stably."""
        return _sm.LogSoftmax.apply(self, axis=axis if dim is None else dim)
