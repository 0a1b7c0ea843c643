"""The public functions of nabla's primitives (``nb.exp``, ``nb.matmul``, ``nb.sum``…).

Each function takes array-likes as well as tensors. A function of one tensor is its method
(``nb.sum(x, 1)`` is ``x.sum(1)``; the methods are written in ``nabla.tensor`` and its mixins)
or, when the method is a single op call, calls that op itself (one call fewer on hot paths).
Functions of several operands (``add``, ``where``, ``cat``…) lift them here and call their op.
Reductions and shape functions take NumPy's ``axis``/``keepdims`` and PyTorch's
``dim``/``keepdim`` alike.
The shape functions are written in :mod:`nabla.functional_shape` and exported here too.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nabla.functional_shape import (
    broadcast_to,
    cast,
    cat,
    clone,
    concatenate,
    detach,
    expand_dims,
    flatten,
    getitem,
    permute,
    reshape,
    split,
    squeeze,
    stack,
    transpose,
    unsqueeze,
)
from nabla.ops import arithmetic as ar
from nabla.ops import elementwise as el
from nabla.ops import linalg as la
from nabla.ops import softmax as sm
from nabla.tensor import Tensor, _wrap


def _t(x: Any) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor(x)


def _pair(x: Any, y: Any) -> tuple[Tensor, Tensor]:
    if isinstance(x, Tensor):
        return x, x._lift(y)
    if isinstance(y, Tensor):
        return y._lift(x), y
    return Tensor(x), Tensor(y)


# ----- arithmetic ---------------------------------------------------------------------------
def add(x: Any, y: Any, *, alpha: Any = 1) -> Tensor:
    """x + alpha · y with broadcasting (``torch.add``)."""
    if alpha != 1:
        left, right = _pair(x, y)
        return left.add(right, alpha=alpha)
    return ar.Add.apply(*_pair(x, y))


def sub(x: Any, y: Any, *, alpha: Any = 1) -> Tensor:
    """x − alpha · y with broadcasting (``torch.sub``)."""
    if alpha != 1:
        left, right = _pair(x, y)
        return left.sub(right, alpha=alpha)
    return ar.Sub.apply(*_pair(x, y))


def mul(x: Any, y: Any) -> Tensor:
    """x ⊙ y with broadcasting."""
    return ar.Mul.apply(*_pair(x, y))


def div(x: Any, y: Any, *, rounding_mode: str | None = None) -> Tensor:
    """x / y with broadcasting; ``rounding_mode`` "trunc" or "floor" rounds (``torch.div``)."""
    if rounding_mode is not None:
        left, right = _pair(x, y)
        return left.div(right, rounding_mode=rounding_mode)
    return ar.Div.apply(*_pair(x, y))


def neg(x: Any) -> Tensor:
    """−x."""
    return ar.Neg.apply(_t(x))


def reciprocal(x: Any) -> Tensor:
    """1 / x (the notes' 1/x node)."""
    return ar.Reciprocal.apply(_t(x))


def pow(x: Any, exponent: Any) -> Tensor:
    """x ** exponent; the exponent may be a Python number or a tensor."""
    if isinstance(exponent, (int, float)) and not isinstance(exponent, bool):
        return ar.PowScalar.apply(_t(x), p=exponent)
    return ar.Pow.apply(*_pair(x, exponent))


def square(x: Any) -> Tensor:
    """x ** 2."""
    return ar.PowScalar.apply(_t(x), p=2)


# ----- elementwise ----------------------------------------------------------------------------
def exp(x: Any) -> Tensor:
    """eˣ, elementwise."""
    return el.Exp.apply(_t(x))


def log(x: Any) -> Tensor:
    """Natural logarithm, elementwise."""
    return el.Log.apply(_t(x))


def sqrt(x: Any) -> Tensor:
    """Square root, elementwise."""
    return el.Sqrt.apply(_t(x))


def abs(x: Any) -> Tensor:
    """Absolute value, elementwise."""
    return el.Abs.apply(_t(x))


def tanh(x: Any) -> Tensor:
    """Hyperbolic tangent, elementwise."""
    return el.Tanh.apply(_t(x))


def sigmoid(x: Any) -> Tensor:
    """The logistic function 1 / (1 + e⁻ˣ), elementwise."""
    return el.Sigmoid.apply(_t(x))


def relu(x: Any) -> Tensor:
    """max(x, 0), elementwise."""
    return el.Relu.apply(_t(x))


def leaky_relu(x: Any, negative_slope: float = 0.01) -> Tensor:
    """x where x > 0, else ``negative_slope`` · x."""
    return el.LeakyRelu.apply(_t(x), negative_slope=negative_slope)


def maximum(x: Any, y: Any) -> Tensor:
    """The elementwise maximum (broadcast)."""
    return el.Maximum.apply(*_pair(x, y))


def minimum(x: Any, y: Any) -> Tensor:
    """The elementwise minimum (broadcast)."""
    return el.Minimum.apply(*_pair(x, y))


def clip(x: Any, min: Any = None, max: Any = None) -> Tensor:
    """Clamp into [min, max] (see :meth:`Tensor.clip <nabla.tensor_math.TensorMath.clip>`)."""
    return _t(x).clip(min, max)


clamp = clip


def where(condition: Any, x: Any, y: Any) -> Tensor:
    """Elements of x where condition holds, else of y (condition carries no gradient)."""
    if isinstance(condition, Tensor):
        cond = condition if condition.dtype == np.bool_ else _wrap(condition.data.astype(bool))
    else:
        cond = _wrap(np.asarray(condition, dtype=bool))
    tx, ty = _pair(x, y)
    return el.Where.apply(cond, tx, ty)


def sign(x: Any) -> Tensor:
    """sign(x), a constant (no gradient)."""
    return _t(x).sign()


# ----- linear algebra ------------------------------------------------------------------------
def matmul(x: Any, w: Any) -> Tensor:
    """Matrix product (``@``) for 1-D, 2-D and batched N-D operands."""
    return la.MatMul.apply(*_pair(x, w))


def linear(x: Any, weight: Any, bias: Any = None) -> Tensor:
    """x Wᵀ + b in one node (PyTorch's layout: weight of shape (out_features, in_features))."""
    if bias is None:
        return la.Linear.apply(_t(x), _t(weight))
    return la.Linear.apply(_t(x), _t(weight), _t(bias))


# ----- reductions: the methods of nabla.tensor_reduce -------------------------------------------
def sum(
    x: Any, axis: Any = None, keepdims: bool = False, *, dim: Any = None, keepdim: bool = False
) -> Tensor:
    """Σ over ``axis`` (see :meth:`Tensor.sum <nabla.tensor_reduce.TensorReductions.sum>`)."""
    return _t(x).sum(axis, keepdims, dim=dim, keepdim=keepdim)


def mean(
    x: Any, axis: Any = None, keepdims: bool = False, *, dim: Any = None, keepdim: bool = False
) -> Tensor:
    """The mean over ``axis`` (floating point tensors only)."""
    return _t(x).mean(axis, keepdims, dim=dim, keepdim=keepdim)


def max(
    x: Any, axis: Any = None, keepdims: bool = False, *, dim: Any = None, keepdim: bool = False
) -> Any:
    """The maximum: over all elements (a tensor; ties share the gradient, as ``amax``), or along
    one axis as PyTorch's named pair ``(values, indices)`` (int64 indices; the gradient goes to
    the returned index only).

    >>> import nabla as nb
    >>> values, indices = nb.max(nb.tensor([[1.0, 3.0], [4.0, 2.0]]), 1)
    >>> indices
    tensor([1, 0])
    """
    return _t(x).max(axis, keepdims, dim=dim, keepdim=keepdim)


def min(
    x: Any, axis: Any = None, keepdims: bool = False, *, dim: Any = None, keepdim: bool = False
) -> Any:
    """The minimum: over all elements (a tensor, as ``amin``), or along one axis as the named
    pair ``(values, indices)`` (see :func:`max`)."""
    return _t(x).min(axis, keepdims, dim=dim, keepdim=keepdim)


def amax(
    x: Any, axis: Any = None, keepdims: bool = False, *, dim: Any = None, keepdim: bool = False
) -> Tensor:
    """Maximum values over axes (values only; ties share the gradient evenly)."""
    return _t(x).amax(axis, keepdims, dim=dim, keepdim=keepdim)


def amin(
    x: Any, axis: Any = None, keepdims: bool = False, *, dim: Any = None, keepdim: bool = False
) -> Tensor:
    """Minimum values over axes (values only; ties share the gradient evenly)."""
    return _t(x).amin(axis, keepdims, dim=dim, keepdim=keepdim)


def var(
    x: Any,
    axis: Any = None,
    keepdims: bool = False,
    *,
    correction: float | None = None,
    ddof: float | None = None,
    unbiased: bool | None = None,
    dim: Any = None,
    keepdim: bool = False,
) -> Tensor:
    """Variance Σ(x − mean)² / (n − correction); correction defaults to 1 (PyTorch).

    ``ddof`` (NumPy) and ``unbiased`` (older PyTorch) are accepted as aliases of ``correction``.
    Float32 and float16 inputs are accumulated in float64 (as PyTorch), so values near 1e30
    do not overflow on the way.
    """
    return _t(x).var(
        axis,
        keepdims,
        correction=correction,
        ddof=ddof,
        unbiased=unbiased,
        dim=dim,
        keepdim=keepdim,
    )


def std(
    x: Any,
    axis: Any = None,
    keepdims: bool = False,
    *,
    correction: float | None = None,
    ddof: float | None = None,
    unbiased: bool | None = None,
    dim: Any = None,
    keepdim: bool = False,
) -> Tensor:
    """Standard deviation √var (same arguments as :func:`var`); where it is 0 (a constant
    slice) the gradient is 0, as PyTorch's."""
    return _t(x).std(
        axis,
        keepdims,
        correction=correction,
        ddof=ddof,
        unbiased=unbiased,
        dim=dim,
        keepdim=keepdim,
    )


def logsumexp(
    x: Any, axis: Any = None, keepdims: bool = False, *, dim: Any = None, keepdim: bool = False
) -> Tensor:
    """log Σ exp(x) over axes, computed stably."""
    return _t(x).logsumexp(axis, keepdims, dim=dim, keepdim=keepdim)


def argmax(
    x: Any, axis: Any = None, keepdims: bool = False, *, dim: Any = None, keepdim: bool = False
) -> Tensor:
    """Indices of the maxima (int64, no gradient): along one axis, or into the flattened
    tensor when ``axis`` is None. An op, so a compiled step computes them on every call."""
    return _t(x).argmax(axis, keepdims, dim=dim, keepdim=keepdim)


def argmin(
    x: Any, axis: Any = None, keepdims: bool = False, *, dim: Any = None, keepdim: bool = False
) -> Tensor:
    """Indices of the minima (int64, no gradient); see :func:`argmax`."""
    return _t(x).argmin(axis, keepdims, dim=dim, keepdim=keepdim)


# ----- softmax ---------------------------------------------------------------------------------
def softmax(x: Any, axis: int = -1, *, dim: int | None = None) -> Tensor:
    """exp(x) / Σ exp(x) along ``axis``, computed stably."""
    return sm.Softmax.apply(_t(x), axis=axis if dim is None else dim)


def log_softmax(x: Any, axis: int = -1, *, dim: int | None = None) -> Tensor:
    """x − log Σ exp(x) along ``axis``, computed stably."""
    return sm.LogSoftmax.apply(_t(x), axis=axis if dim is None else dim)


#: every function, those of nabla.functional_shape included
__all__ = [
    "abs",
    "add",
    "amax",
    "amin",
    "argmax",
    "argmin",
    "broadcast_to",
    "cast",
    "cat",
    "clamp",
    "clip",
    "clone",
    "concatenate",
    "detach",
    "div",
    "exp",
    "expand_dims",
    "flatten",
    "getitem",
    "leaky_relu",
    "linear",
    "log",
    "log_softmax",
    "logsumexp",
    "matmul",
    "max",
    "maximum",
    "mean",
    "min",
    "minimum",
    "mul",
    "neg",
    "permute",
    "pow",
    "reciprocal",
    "relu",
    "reshape",
    "sigmoid",
    "sign",
    "softmax",
    "split",
    "sqrt",
    "square",
    "squeeze",
    "stack",
    "std",
    "sub",
    "sum",
    "tanh",
    "transpose",
    "unsqueeze",
    "var",
    "where",
]
