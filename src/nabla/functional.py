"""The public functions of nabla's primitives (``nb.exp``, ``nb.matmul``, ``nb.sum``…).

Each function converts its arguments and calls one ``Function`` from ``nabla.ops``. Reductions
and shape functions take NumPy's ``axis``/``keepdims`` and PyTorch's ``dim``/``keepdim`` alike.
The same functions are attached to ``Tensor`` as methods at the end of this module.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from typing import Any

import numpy as np

from nabla.errors import ShapeError
from nabla.ops import arithmetic as ar
from nabla.ops import elementwise as el
from nabla.ops import linalg as la
from nabla.ops import reduction as rd
from nabla.ops import shape as sh
from nabla.ops import softmax as sm
from nabla.tensor import Tensor, _lift, _no_grad_apply, _plain_index, _wrap


def _t(x: Any) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor(x)


def _pair(x: Any, y: Any) -> tuple[Tensor, Tensor]:
    if isinstance(x, Tensor):
        return x, _lift(y, x)
    if isinstance(y, Tensor):
        return _lift(x, y), y
    return Tensor(x), Tensor(y)


def _axis(axis: Any, dim: Any) -> Any:
    return dim if dim is not None else axis


# ----- arithmetic ---------------------------------------------------------------------------
def add(x: Any, y: Any) -> Tensor:
    """x + y with broadcasting."""
    return ar.Add.apply(*_pair(x, y))


def sub(x: Any, y: Any) -> Tensor:
    """x − y with broadcasting."""
    return ar.Sub.apply(*_pair(x, y))


def mul(x: Any, y: Any) -> Tensor:
    """x ⊙ y with broadcasting."""
    return ar.Mul.apply(*_pair(x, y))


def div(x: Any, y: Any) -> Tensor:
    """x / y with broadcasting."""
    return ar.Div.apply(*_pair(x, y))


def neg(x: Any) -> Tensor:
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
    return ar.PowScalar.apply(_t(x), p=2)


# ----- elementwise ----------------------------------------------------------------------------
def exp(x: Any) -> Tensor:
    return el.Exp.apply(_t(x))


def log(x: Any) -> Tensor:
    return el.Log.apply(_t(x))


def sqrt(x: Any) -> Tensor:
    return el.Sqrt.apply(_t(x))


def abs(x: Any) -> Tensor:
    return el.Abs.apply(_t(x))


def tanh(x: Any) -> Tensor:
    return el.Tanh.apply(_t(x))


def sigmoid(x: Any) -> Tensor:
    return el.Sigmoid.apply(_t(x))


def relu(x: Any) -> Tensor:
    return el.Relu.apply(_t(x))


def leaky_relu(x: Any, negative_slope: float = 0.01) -> Tensor:
    return el.LeakyRelu.apply(_t(x), negative_slope=negative_slope)


def maximum(x: Any, y: Any) -> Tensor:
    return el.Maximum.apply(*_pair(x, y))


def minimum(x: Any, y: Any) -> Tensor:
    return el.Minimum.apply(*_pair(x, y))


def clip(x: Any, min: Any = None, max: Any = None) -> Tensor:
    """Clamp into [min, max]; either bound may be None. Bounds may be numbers, or tensors
    (broadcast against x, and differentiable: a bound gets the gradient where it is the
    result, as PyTorch's ``clamp``; where min > max the result is max)."""
    if min is None and max is None:
        raise ValueError("clip: at least one of min and max must be given")
    x = _t(x)
    if isinstance(min, (Tensor, np.ndarray)) or isinstance(max, (Tensor, np.ndarray)):
        y = x
        if min is not None:
            lo = _lift(min, x)
            y = where(x < lo, lo, y)
        if max is not None:
            hi = _lift(max, x)
            y = where(y > hi, hi, y)
        return y
    return el.Clip.apply(x, lo=min, hi=max)


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
    return _wrap(np.sign(_t(x).data))


# ----- linear algebra ------------------------------------------------------------------------
def matmul(x: Any, w: Any) -> Tensor:
    """Matrix product (``@``) for 1-D, 2-D and batched N-D operands."""
    return la.MatMul.apply(*_pair(x, w))


def linear(x: Any, weight: Any, bias: Any = None) -> Tensor:
    """x Wᵀ + b in one node (PyTorch's layout: weight of shape (out_features, in_features))."""
    if bias is None:
        return la.Linear.apply(_t(x), _t(weight))
    return la.Linear.apply(_t(x), _t(weight), _t(bias))


# ----- reductions -------------------------------------------------------------------------------
def sum(
    x: Any, axis: Any = None, keepdims: bool = False, *, dim: Any = None, keepdim: bool = False
) -> Tensor:
    return rd.Sum.apply(_t(x), axis=_axis(axis, dim), keepdims=keepdims or keepdim)


def mean(
    x: Any, axis: Any = None, keepdims: bool = False, *, dim: Any = None, keepdim: bool = False
) -> Tensor:
    x = _t(x)
    if x.data.dtype.kind not in "fc":
        raise TypeError(f"mean: input dtype should be floating point, got {x.dtype}")
    return rd.Mean.apply(x, axis=_axis(axis, dim), keepdims=keepdims or keepdim)


def max(
    x: Any, axis: Any = None, keepdims: bool = False, *, dim: Any = None, keepdim: bool = False
) -> Any:
    """The maximum: over all elements (a tensor; ties share the gradient, as ``amax``), or along
    one axis as PyTorch's named pair ``(values, indices)`` (int64 indices; the gradient goes to
    the returned index only).

    >>> import nabla as nb
    >>> values, indices = nb.tensor([[1.0, 3.0], [4.0, 2.0]]).max(1)
    >>> indices
    tensor([1, 0])
    """
    return _extremum("max", rd.Max, rd.ArgMax, x, _axis(axis, dim), keepdims or keepdim)


def min(
    x: Any, axis: Any = None, keepdims: bool = False, *, dim: Any = None, keepdim: bool = False
) -> Any:
    """The minimum: over all elements (a tensor, as ``amin``), or along one axis as the named
    pair ``(values, indices)`` (see :func:`max`)."""
    return _extremum("min", rd.Min, rd.ArgMin, x, _axis(axis, dim), keepdims or keepdim)


def _extremum(name: str, whole: Any, arg: Any, x: Any, axis: Any, keepdims: bool) -> Any:
    x = _t(x)
    if isinstance(axis, Tensor):  # torch.max(x, other): the elementwise maximum
        return maximum(x, axis) if name == "max" else minimum(x, axis)
    if axis is None:
        return whole.apply(x, keepdims=keepdims, select=True)
    if not isinstance(axis, (int, np.integer)) or isinstance(axis, bool):
        raise TypeError(
            f"{name}: dim must be one int (the result is values and indices), got {axis!r}; "
            f"use a{name} to reduce several axes"
        )
    axis = int(axis)
    if x.ndim and x.shape[rd.normalize_axis(axis, x.ndim, name)[0]] == 0:
        raise IndexError(
            f"{name}: expected reduction dim {axis} to have non-zero size, x has shape {x.shape}"
        )
    # the indices are integers: they carry no gradient (nor requires_grad)
    indices = _no_grad_apply(arg, x, axis=axis, keepdims=keepdims)
    values = rd.TakeAlongAxis.apply(x, indices, axis=axis, keepdims=keepdims)
    return rd.ValuesIndices(values, indices)


def amax(
    x: Any, axis: Any = None, keepdims: bool = False, *, dim: Any = None, keepdim: bool = False
) -> Tensor:
    """Maximum values over axes (values only; ties share the gradient evenly)."""
    return rd.Max.apply(_t(x), axis=_axis(axis, dim), keepdims=keepdims or keepdim)


def amin(
    x: Any, axis: Any = None, keepdims: bool = False, *, dim: Any = None, keepdim: bool = False
) -> Tensor:
    """Minimum values over axes (values only; ties share the gradient evenly)."""
    return rd.Min.apply(_t(x), axis=_axis(axis, dim), keepdims=keepdims or keepdim)


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
    return _spread(rd.Var, x, axis, keepdims, correction, ddof, unbiased, dim, keepdim)


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
    return _spread(rd.Std, x, axis, keepdims, correction, ddof, unbiased, dim, keepdim)


def _spread(
    op: Any,
    x: Any,
    axis: Any,
    keepdims: bool,
    correction: float | None,
    ddof: float | None,
    unbiased: bool | None,
    dim: Any,
    keepdim: bool,
) -> Tensor:
    x = _t(x)
    if x.data.dtype.kind != "f":
        raise TypeError(f"{op.name}: input dtype should be floating point, got {x.dtype}")
    if correction is None:
        correction = ddof if ddof is not None else (0 if unbiased is False else 1)
    return op.apply(x, axis=_axis(axis, dim), keepdims=keepdims or keepdim, correction=correction)


def logsumexp(
    x: Any, axis: Any = None, keepdims: bool = False, *, dim: Any = None, keepdim: bool = False
) -> Tensor:
    """log Σ exp(x) over axes, computed stably."""
    return rd.LogSumExp.apply(_t(x), axis=_axis(axis, dim), keepdims=keepdims or keepdim)


def argmax(
    x: Any, axis: Any = None, keepdims: bool = False, *, dim: Any = None, keepdim: bool = False
) -> Tensor:
    """Indices of the maxima (int64, no gradient): along one axis, or into the flattened
    tensor when ``axis`` is None. An op, so a compiled step computes them on every call."""
    return _indices(rd.ArgMax, x, _axis(axis, dim), keepdims or keepdim)


def argmin(
    x: Any, axis: Any = None, keepdims: bool = False, *, dim: Any = None, keepdim: bool = False
) -> Tensor:
    """Indices of the minima (int64, no gradient); see :func:`argmax`."""
    return _indices(rd.ArgMin, x, _axis(axis, dim), keepdims or keepdim)


def _indices(op: Any, x: Any, axis: Any, keepdims: bool) -> Tensor:
    # integers: no gradient, and the result never requires grad
    return _no_grad_apply(op, _t(x), axis=None if axis is None else int(axis), keepdims=keepdims)


# ----- softmax ---------------------------------------------------------------------------------
def softmax(x: Any, axis: int = -1, *, dim: int | None = None) -> Tensor:
    return sm.Softmax.apply(_t(x), axis=_axis(axis, dim))


def log_softmax(x: Any, axis: int = -1, *, dim: int | None = None) -> Tensor:
    return sm.LogSoftmax.apply(_t(x), axis=_axis(axis, dim))


# ----- shape -----------------------------------------------------------------------------------
def reshape(x: Any, shape: Sequence[int] | int) -> Tensor:
    x = _t(x)
    shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
    try:
        return sh.Reshape.apply(x, shape=shape)
    except ShapeError:
        raise
    except ValueError as exc:
        raise ShapeError(f"reshape: cannot reshape x of shape {x.shape} into {shape}") from exc


def flatten(x: Any, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    x = _t(x)
    start = sh.normalize_dim("flatten", start_dim, x.ndim)
    end = sh.normalize_dim("flatten", end_dim, x.ndim)
    if start > end:
        raise ValueError(
            f"flatten: start_dim {start_dim} comes after end_dim {end_dim} for a {x.ndim}-D tensor"
        )
    if x.ndim == 0:
        return reshape(x, (1,))
    size = int(np.prod(x.shape[start : end + 1]))
    return reshape(x, x.shape[:start] + (size,) + x.shape[end + 1 :])


def permute(x: Any, axes: Sequence[int] | None = None, *, dims: Any = None) -> Tensor:
    axes = dims if dims is not None else axes
    return sh.Permute.apply(_t(x), axes=None if axes is None else tuple(axes))


def transpose(x: Any, dim0: int = -2, dim1: int = -1) -> Tensor:
    """Swap exactly two axes (PyTorch's ``transpose``), for tensors of any number of dims."""
    x = _t(x)
    if x.ndim == 0:  # PyTorch: a 0-d tensor accepts dims -1 and 0 and is returned unchanged
        sh.normalize_dim("transpose", dim0, 0)
        sh.normalize_dim("transpose", dim1, 0)
        return x
    axes = list(range(x.ndim))
    d0 = sh.normalize_dim("transpose", dim0, x.ndim)
    d1 = sh.normalize_dim("transpose", dim1, x.ndim)
    axes[d0], axes[d1] = axes[d1], axes[d0]
    return sh.Permute.apply(x, axes=tuple(axes))


def broadcast_to(x: Any, shape: Sequence[int]) -> Tensor:
    x = _t(x)
    shape = tuple(shape)
    if x.shape == shape:
        return x
    try:
        return sh.BroadcastTo.apply(x, shape=shape)
    except ShapeError:
        raise
    except ValueError as exc:
        raise ShapeError(
            f"broadcast_to: cannot broadcast x of shape {x.shape} to {shape}"
        ) from exc


def squeeze(x: Any, axis: Any = None, *, dim: Any = None) -> Tensor:
    """Remove axes of length 1: all of them, or those among ``axis`` (an int or a tuple);
    axes named that are not of length 1 are left alone (PyTorch)."""
    x = _t(x)
    axis = _axis(axis, dim)
    if axis is None:
        axes = tuple(i for i, n in enumerate(x.shape) if n == 1)
    else:
        named = (axis,) if not isinstance(axis, (tuple, list)) else tuple(axis)
        axes = tuple(sh.normalize_dim("squeeze", a, x.ndim) for a in named)
        axes = tuple(a for a in axes if x.ndim and x.shape[a] == 1)
    return reshape(x, tuple(n for i, n in enumerate(x.shape) if i not in axes))


def unsqueeze(x: Any, axis: int, *, dim: int | None = None) -> Tensor:
    """Insert an axis of length 1 at ``axis`` (``-ndim-1 … ndim``, as PyTorch)."""
    x = _t(x)
    axis = sh.normalize_dim("unsqueeze", _axis(axis, dim), x.ndim, new_axis=True)
    return reshape(x, x.shape[:axis] + (1,) + x.shape[axis:])


expand_dims = unsqueeze


def concatenate(tensors: Sequence[Any], axis: int = 0, *, dim: int | None = None) -> Tensor:
    if len(tensors) == 0:
        raise ValueError("concatenate: need at least one tensor")
    ts = [_t(t) for t in tensors]
    if ts[0].ndim == 0:
        raise ShapeError("concatenate: 0-d tensors cannot be concatenated (use stack)")
    axis = sh.normalize_dim("concatenate", _axis(axis, dim), ts[0].ndim)
    first = ts[0].shape
    for t in ts[1:]:
        if t.ndim != len(first) or any(
            n != m for i, (n, m) in enumerate(zip(t.shape, first)) if i != axis
        ):
            shapes = ", ".join(str(u.shape) for u in ts)
            raise ShapeError(
                f"concatenate: sizes must match except along dim {axis}, got shapes {shapes}"
            )
    return sh.Concatenate.apply(*ts, axis=axis)


cat = concatenate


def stack(tensors: Sequence[Any], axis: int = 0, *, dim: int | None = None) -> Tensor:
    if len(tensors) == 0:
        raise ValueError("stack: need at least one tensor")
    ts = [_t(t) for t in tensors]
    if len({t.shape for t in ts}) != 1:
        shapes = ", ".join(str(t.shape) for t in ts)
        raise ShapeError(f"stack: all tensors must have the same shape, got {shapes}")
    axis = sh.normalize_dim("stack", _axis(axis, dim), ts[0].ndim, new_axis=True)
    return sh.Stack.apply(*ts, axis=axis)


def split(
    x: Any, split_size_or_sections: Any, axis: int = 0, *, dim: int | None = None
) -> list[Tensor]:
    """Split into chunks of a given size (int) or of the given sizes (list), as PyTorch."""
    x = _t(x)
    axis = sh.normalize_dim("split", _axis(axis, dim), x.ndim)
    if x.ndim == 0:
        raise ValueError("split: a 0-d tensor cannot be split")
    n = x.shape[axis]
    if isinstance(split_size_or_sections, (int, np.integer)):
        size = int(split_size_or_sections)
        if size <= 0:
            raise ValueError(f"split: split size must be positive, got {size}")
        sizes = [builtins.min(size, n - i) for i in range(0, n, size)] or [0]
    else:
        sizes = [int(s) for s in split_size_or_sections]
        if builtins.sum(sizes) != n:
            raise ShapeError(f"split: sizes {sizes} do not add up to {n} along axis {axis}")
    head = (slice(None),) * axis
    out, start = [], 0
    for s in sizes:
        out.append(getitem(x, (*head, slice(start, start + s))))
        start += s
    return out


def _normalize_index(index: Any) -> Any:
    index = _plain_index(index)
    items = index if isinstance(index, tuple) else (index,)
    if not builtins.any(isinstance(i, (list, np.ndarray)) for i in items):
        return index
    out: list[Any] = []
    for i in items:
        if isinstance(i, (list, np.ndarray)):
            # a copy: backward scatters through the index saved now, so the caller may
            # change its own array after the forward pass without moving the gradient;
            # an empty list is an empty integer index (NumPy would make it float)
            i = np.array(i, dtype=np.intp) if isinstance(i, list) and not i else np.array(i)
            i.flags.writeable = False
        if isinstance(i, np.ndarray) and i.dtype == bool:
            out.extend(np.nonzero(i))  # a mask selects its True positions
        else:
            out.append(i)
    return tuple(out)


def getitem(x: Any, index: Any) -> Tensor:
    """x[index] for slices, integers, integer arrays and boolean masks."""
    x = _t(x)
    idx = _normalize_index(index)
    try:
        return sh.GetItem.apply(x, index=idx)
    except IndexError as exc:
        raise IndexError(
            f"getitem: index {index!r} on a tensor of shape {x.shape}: {exc}"
        ) from None


def setitem(x: Tensor, index: Any, value: Tensor) -> Tensor:
    """The recorded form of ``x[index] = value`` (``Tensor.__setitem__`` calls it): writes into
    ``x``'s array in place and returns the written tensor."""
    try:
        return sh.SetItem.apply(x, value, index=index)
    except IndexError as exc:
        raise IndexError(
            f"setitem: index {index!r} on a tensor of shape {x.shape}: {exc}"
        ) from None


def cast(x: Any, dtype: Any) -> Tensor:
    x = _t(x)
    dtype = np.dtype(dtype)
    if x.data.dtype == dtype:
        return x
    if dtype.kind not in "fc" and x.requires_grad:
        return _wrap(x.data.astype(dtype))  # an integer copy carries no gradient
    return sh.Cast.apply(x, dtype=dtype)


def clone(x: Any) -> Tensor:
    """A copy that stays in the graph (gradient passes through unchanged)."""
    x = _t(x)
    return ar.Add.apply(x, _wrap(np.zeros((), dtype=x.dtype)))


def detach(x: Any) -> Tensor:
    return _t(x).detach()


_METHODS = {
    "sum": sum,
    "mean": mean,
    "max": max,
    "min": min,
    "amax": amax,
    "amin": amin,
    "var": var,
    "std": std,
    "logsumexp": logsumexp,
    "argmax": argmax,
    "argmin": argmin,
    "exp": exp,
    "log": log,
    "sqrt": sqrt,
    "abs": abs,
    "tanh": tanh,
    "sigmoid": sigmoid,
    "relu": relu,
    "leaky_relu": leaky_relu,
    "clip": clip,
    "clamp": clip,
    "softmax": softmax,
    "log_softmax": log_softmax,
    "matmul": matmul,
    "pow": pow,
    "square": square,
    "reciprocal": reciprocal,
    "maximum": maximum,
    "minimum": minimum,
    "sign": sign,
}
for _name, _func in _METHODS.items():
    setattr(Tensor, _name, _func)
