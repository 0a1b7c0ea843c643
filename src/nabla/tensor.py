"""``Tensor``: an ndarray with a gradient and a link to the op that produced it.

Operators lift Python scalars and ndarrays once (a Python number takes the tensor's dtype, so
float32 stays float32) and call the primitives in ``nabla.functional``; no derivative lives here.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from nabla._typing import Array, Shape
from nabla.autograd import function as _function
from nabla.autograd.hooks import note_unreplayable
from nabla.errors import DTypeError, GraphError, ShapeError

if TYPE_CHECKING:
    from nabla.autograd.function import Function

DEFAULT_FLOAT = np.dtype(np.float32)


def as_array(data: Any, dtype: Any = None, copy: bool = False) -> Array:
    """Convert ``data`` as ``nb.tensor`` does (PyTorch's dtype inference, NumPy arrays kept).

    Python floats (and lists of them) become float32, ints int64, bools bool; an ndarray or a
    NumPy scalar keeps its dtype.
    """
    if isinstance(data, Tensor):
        data = data.data
    if isinstance(data, (np.ndarray, np.generic)):
        arr = np.array(data, dtype=dtype, copy=True) if copy else np.asarray(data, dtype=dtype)
    else:
        arr = np.array(data, dtype=dtype)
        if dtype is None:
            if arr.dtype == np.float64:
                arr = arr.astype(DEFAULT_FLOAT)
            elif arr.dtype.kind in "iu":
                arr = arr.astype(np.int64)
            elif arr.dtype.kind == "c":
                arr = arr.astype(np.complex64)
            elif arr.dtype.kind not in "bf":
                raise DTypeError(f"cannot make a tensor from data of dtype {arr.dtype}")
    return arr


def _lift(other: Any, like: Tensor) -> Tensor:
    """Turn the other operand of a binary operator into a Tensor.

    A Python number, or a NumPy scalar (``np.int64(2)``, ``np.float64(0.5)``), is a "weak"
    scalar as in PyTorch: it takes the tensor's dtype, so float32 stays float32. A float
    meeting an integer or bool tensor makes float32, PyTorch's default dtype (the op then
    casts the tensor: ``nabla.ops.arithmetic.promote``); an int meeting a bool tensor, int64.
    (PyTorch reads a NumPy bool as a float; here it is a bool, as Python's.)
    """
    if isinstance(other, Tensor):
        return other
    if isinstance(other, _SCALAR_TYPES):
        like_dtype = like.data.dtype
        key = (type(other), other, like_dtype)
        cached = _SCALARS.get(key)
        if cached is not None:
            return cached
        kind = like_dtype.kind
        is_float = isinstance(other, (float, np.floating))
        if kind in "fc" or isinstance(other, (bool, np.bool_)):
            dtype = like_dtype
        elif is_float:
            dtype = DEFAULT_FLOAT
        else:
            dtype = like_dtype if kind in "iu" else np.dtype(np.int64)
        value = np.asarray(other, dtype=dtype)
        value.flags.writeable = False
        scalar = _wrap(value)
        # 0.0 == -0.0 would share one entry (the sign matters), and nan != nan never finds
        # its entry again: neither is cached
        if (other or not is_float) and not math.isnan(other):
            if len(_SCALARS) >= 512:
                _SCALARS.clear()
            _SCALARS[key] = scalar
        return scalar
    return _wrap(as_array(other))


#: Python-number operands as constant tensors, by (type, value, dtype of the other operand):
#: a loop like ``y = y * 1.0001`` makes its constant once (read-only, never requires grad)
_SCALARS: dict[tuple[Any, Any, Any], Tensor] = {}
#: the operands ``_lift`` treats as weak scalars
_SCALAR_TYPES = (bool, int, float, np.bool_, np.integer, np.floating)


def _wrap(data: Array) -> Tensor:
    t = Tensor.__new__(Tensor)
    t.data = data
    t._grad = None
    t.requires_grad = False
    t._fn = None
    t.name = None
    t._version_counter = None
    return t


class Tensor:
    """An n-dimensional array that records the operations applied to it.

    Parameters
    ----------
    data : array-like
        Values; ndarrays are wrapped without a copy and keep their dtype, Python floats become
        float32 and ints int64 (as PyTorch).
    requires_grad : bool
        Record operations on this tensor so ``backward`` can fill ``.grad``.
    dtype : dtype, optional
        Convert ``data`` to this dtype.
    name : str, optional
        A label shown in ``repr`` and in graph drawings.

    Attributes
    ----------
    data : ndarray
        The values.
    grad : ndarray or None
        The accumulated gradient, same shape and dtype as ``data``.

    Examples
    --------
    >>> import nabla as nb
    >>> x = nb.tensor([1.0, 2.0, 3.0], requires_grad=True)
    >>> (x * x).sum().backward()
    >>> x.grad
    array([2., 4., 6.], dtype=float32)
    """

    __slots__ = (
        "__weakref__",
        "_fn",
        "_grad",
        "_version_counter",
        "data",
        "name",
        "requires_grad",
    )
    __array_ufunc__ = None  # ndarray ⊕ Tensor defers to Tensor's reflected operators
    __array_priority__ = 1000

    data: Array
    _grad: Array | None
    requires_grad: bool
    _fn: Function | None
    name: str | None
    #: [how many times nabla changed the values in place, the op sequence number at the last
    #: change], shared with views of the same memory (None until the first change or view).
    #: Backward refuses an op whose inputs changed after it was recorded (a later stamp)
    _version_counter: list[int] | None

    def __init__(
        self, data: Any, requires_grad: bool = False, dtype: Any = None, name: str | None = None
    ) -> None:
        self.data = as_array(data, dtype)
        self._grad = None
        self._fn = None
        self.name = name
        self._version_counter = None
        self.requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

    # ----- flags and metadata -------------------------------------------------------------
    @property
    def grad(self) -> Array | None:
        """The accumulated gradient (an ndarray of the tensor's shape and dtype), or None."""
        return self._grad

    @grad.setter
    def grad(self, value: Array | None) -> None:
        # a replay would not set it again
        note_unreplayable("a gradient is set by hand inside the step (p.grad = …)")
        self._grad = value

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        """Set ``requires_grad`` in place (floating point tensors only); returns self."""
        if requires_grad and self.data.dtype.kind not in "fc":
            raise DTypeError(
                f"only tensors of floating point dtype can require gradients, got {self.dtype}"
            )
        if not requires_grad and self._fn is not None:
            raise DTypeError("requires_grad can only be turned off on leaf tensors; use detach()")
        self.requires_grad = bool(requires_grad)
        return self

    @property
    def is_leaf(self) -> bool:
        """True for tensors not produced by a recorded op."""
        return self._fn is None

    @property
    def grad_fn(self) -> Function | None:
        """The op that produced this tensor (None for leaves)."""
        return self._fn

    @property
    def shape(self) -> Shape:
        return self.data.shape

    @property
    def dtype(self) -> np.dtype[Any]:
        return self.data.dtype

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def size(self) -> int:
        """Number of elements (NumPy's ``size``)."""
        return self.data.size

    def numel(self) -> int:
        return self.data.size

    def dim(self) -> int:
        return self.data.ndim

    def __len__(self) -> int:
        return len(self.data)

    def item(self) -> Any:
        """The value of a one-element tensor as a Python number."""
        note_unreplayable(
            "a tensor's value is read inside the step (.item(), float(), bool()...)",
            inside_calls=True,
        )
        if self.data.size != 1:
            raise ValueError(
                f"item(): only one-element tensors can be converted, this one has shape "
                f"{self.shape}"
            )
        return self.data.item()

    def tolist(self) -> Any:
        note_unreplayable("a tensor's values are read inside the step", inside_calls=True)
        return self.data.tolist()

    def numpy(self) -> Array:
        """The underlying ndarray (shared, not copied)."""
        self._note_read()
        return self.data

    def __array__(self, dtype: Any = None, copy: Any = None) -> Array:
        self._note_read()
        return self.data if dtype is None else self.data.astype(dtype)

    def _note_read(self) -> None:
        """Inside a step being compiled, values read as an array (to build a mask or a target
        with NumPy) would be frozen into the plan: such a step stays eager."""
        note_unreplayable(
            "a tensor's values are read as an array inside the step", inside_calls=True
        )

    def detach(self) -> Tensor:
        """A new leaf sharing the data (and its version counter), cut from the graph."""
        t = _wrap(self.data)
        t._version_counter = self._shared_version_counter()
        return t

    def clone(self) -> Tensor:
        from nabla import functional as fn

        return fn.clone(self)

    def zero_(self) -> Tensor:
        """Fill with zeros in place (refused on a leaf that requires grad while recording)."""
        self._check_in_place("zero_")
        self.data[...] = 0
        self._bump_version()
        return self

    def fill_(self, value: Any) -> Tensor:
        """Fill with ``value`` in place (``x[...] = value``)."""
        self[...] = value
        return self

    def copy_(self, src: Any) -> Tensor:
        """Copy ``src`` (broadcast to this shape, cast to this dtype) into this tensor in place;
        while recording, ``src`` receives the gradient (PyTorch's ``copy_``)."""
        self[...] = src
        return self

    def add_(self, other: Any, *, alpha: Any = 1) -> Tensor:
        """``self += alpha · other`` in place (PyTorch's ``add_``)."""
        return self._in_place("add_", _ar.Add, other if alpha == 1 else other * alpha)

    def sub_(self, other: Any, *, alpha: Any = 1) -> Tensor:
        """``self -= alpha · other`` in place."""
        return self._in_place("sub_", _ar.Sub, other if alpha == 1 else other * alpha)

    def mul_(self, other: Any) -> Tensor:
        """``self *= other`` in place."""
        return self._in_place("mul_", _ar.Mul, other)

    def div_(self, other: Any) -> Tensor:
        """``self /= other`` in place."""
        return self._in_place("div_", _ar.Div, other)

    def __iadd__(self, other: Any) -> Tensor:  # noqa: PYI034 - returns self
        return self._in_place("+=", _ar.Add, other)

    def __isub__(self, other: Any) -> Tensor:  # noqa: PYI034 - returns self
        return self._in_place("-=", _ar.Sub, other)

    def __imul__(self, other: Any) -> Tensor:  # noqa: PYI034 - returns self
        return self._in_place("*=", _ar.Mul, other)

    def __itruediv__(self, other: Any) -> Tensor:  # noqa: PYI034 - returns self
        return self._in_place("/=", _ar.Div, other)

    def _in_place(self, op: str, cls: Any, other: Any) -> Tensor:
        """``self ∘= other`` in the same array (views and ``.data`` holders see it), as PyTorch.

        Under ``no_grad`` (or when nothing requires grad) the values change and the version
        counter moves: a graph that saved them refuses to backward. While recording, the
        update is an op: the old values (a copy) take this tensor's place in the graph, and
        this tensor becomes the op's output (a leaf that requires grad is refused).
        """
        self._check_in_place(op)
        operand = other if isinstance(other, Tensor) else _lift(other, self)
        record = _function.MODE.grad_enabled and (self.requires_grad or operand.requires_grad)
        if not record:
            result = _no_grad_apply(cls, self, operand).data
        else:
            self._check_view_write(op)
            before = _wrap(self.data.copy())
            before._fn, before.requires_grad = self._fn, self.requires_grad
            out = cls.apply(before, operand)
            result = out.data
        if result.shape != self.shape:
            raise ShapeError(
                f"{op}: the result of shape {result.shape} (from {self.shape} and "
                f"{operand.shape}) does not fit in place in a tensor of shape {self.shape}"
            )
        if not np.can_cast(result.dtype, self.dtype, casting="same_kind"):
            raise DTypeError(
                f"{op}: result type {result.dtype} can't be cast to the tensor's dtype "
                f"{self.dtype} in place"
            )
        self.data[...] = result
        self._bump_version()
        if record:
            self._fn, self.requires_grad = out._fn, True
        return self

    # ----- in-place changes and their version counter -----------------------------------------
    @property
    def _version(self) -> int:
        """How many in-place changes nabla made to these values (PyTorch's ``_version``)."""
        counter = self._version_counter
        return 0 if counter is None else counter[0]

    def _shared_version_counter(self) -> list[int]:
        counter = self._version_counter
        if counter is None:
            counter = self._version_counter = [0, 0]
        return counter

    def _bump_version(self) -> None:
        """Record an in-place change: a backward through an op that saved these values
        before the change raises instead of using the new ones."""
        note_unreplayable("a tensor is changed in place inside the step (x[i] = v, +=, …)")
        counter = self._version_counter
        stamp = next(_function._SEQUENCE)  # later than every op recorded so far
        if counter is None:
            self._version_counter = [1, stamp]
        else:
            counter[0] += 1
            counter[1] = stamp

    def _check_view_write(self, op: str) -> None:
        """Refuse a recorded in-place write into a view of another tensor of the graph (a
        slice, reshape or transpose): the write changes the base's values, which the base's
        own history would not record (PyTorch rebases the base's history; nabla does not)."""
        fn = self._fn
        if fn is not None and type(fn).shares_memory and fn.inputs is not None:
            base = fn.inputs[0]
            if np.may_share_memory(self.data, base.data):
                raise GraphError(
                    f"{op}: an in-place change of a view (the output of {fn.name}) of a tensor "
                    "in the graph is not supported while recording; write into a copy "
                    "(z = y.clone(); z[idx] = new values) or build the result out of place"
                )

    def _check_in_place(self, op: str) -> None:
        if self.requires_grad and self._fn is None and _function.MODE.grad_enabled:
            raise GraphError(
                f"{op}: a leaf tensor that requires grad cannot be modified in place while "
                "recording; use `with nb.no_grad():`"
            )

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __bool__(self) -> bool:
        return bool(self.item())

    def __index__(self) -> int:
        if self.data.dtype.kind not in "iu":
            raise TypeError("only integer tensors can be used as an index")
        return int(self.item())

    __hash__ = object.__hash__

    def __repr__(self) -> str:
        body = np.array2string(
            self.data, separator=", ", prefix="tensor(", threshold=200, precision=4
        )
        extras = []
        if self.data.dtype not in (DEFAULT_FLOAT, np.dtype(np.int64), np.dtype(bool)):
            extras.append(f"dtype={self.data.dtype}")
        if self.name is not None:
            extras.append(f"name={self.name!r}")
        if self._fn is not None:
            extras.append(f"grad_fn=<{type(self._fn).__name__}>")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        return "tensor(" + ", ".join([body, *extras]) + ")"

    def _repr_svg_(self) -> str | None:
        try:
            from nabla import viz
        except ImportError:
            return None
        return viz.repr_svg(self)  # type: ignore[no-any-return]

    # ----- autograd -------------------------------------------------------------------------
    def backward(self, grad: Any = None, retain_graph: bool = False) -> None:
        """Accumulate d(self)/d(leaf) into the ``.grad`` of every leaf that requires grad.

        Parameters
        ----------
        grad : array-like or Tensor, optional
            dLoss/dself, required when ``self`` is not a scalar.
        retain_graph : bool
            Keep the graph's saved values for another backward.
        """
        from nabla.autograd.engine import backward

        backward(self, grad, retain_graph=retain_graph)

    # ----- conversion -----------------------------------------------------------------------
    def astype(self, dtype: Any) -> Tensor:
        from nabla import functional as fn

        return fn.cast(self, dtype)

    def to(self, dtype: Any) -> Tensor:
        return self.astype(dtype)

    def float(self) -> Tensor:
        return self.astype(np.float32)

    def double(self) -> Tensor:
        return self.astype(np.float64)

    def long(self) -> Tensor:
        return self.astype(np.int64)

    # ----- operators --------------------------------------------------------------------------
    def __add__(self, other: Any) -> Tensor:
        return _ar.Add.apply(self, _lift(other, self))

    def __radd__(self, other: Any) -> Tensor:
        return _ar.Add.apply(_lift(other, self), self)

    def __sub__(self, other: Any) -> Tensor:
        return _ar.Sub.apply(self, _lift(other, self))

    def __rsub__(self, other: Any) -> Tensor:
        return _ar.Sub.apply(_lift(other, self), self)

    def __mul__(self, other: Any) -> Tensor:
        return _ar.Mul.apply(self, _lift(other, self))

    def __rmul__(self, other: Any) -> Tensor:
        return _ar.Mul.apply(_lift(other, self), self)

    def __truediv__(self, other: Any) -> Tensor:
        return _ar.Div.apply(self, _lift(other, self))

    def __rtruediv__(self, other: Any) -> Tensor:
        return _ar.Div.apply(_lift(other, self), self)

    def __neg__(self) -> Tensor:
        return _ar.Neg.apply(self)

    def __pos__(self) -> Tensor:
        return self

    def __pow__(self, exponent: Any) -> Tensor:
        if isinstance(exponent, (int, float)) and not isinstance(exponent, bool):
            return _ar.PowScalar.apply(self, p=exponent)
        return _ar.Pow.apply(self, _lift(exponent, self))

    def __rpow__(self, base: Any) -> Tensor:
        return _ar.Pow.apply(_lift(base, self), self)

    def __matmul__(self, other: Any) -> Tensor:
        return _la.MatMul.apply(self, _lift(other, self))

    def __rmatmul__(self, other: Any) -> Tensor:
        return _la.MatMul.apply(_lift(other, self), self)

    def __abs__(self) -> Tensor:
        return _el.Abs.apply(self)

    def __getitem__(self, index: Any) -> Tensor:
        from nabla import functional as fn

        return fn.getitem(self, index)

    def __setitem__(self, index: Any, value: Any) -> None:
        """``x[index] = value`` in place. While recording, when ``x`` or ``value`` requires
        grad, the write is recorded as an op (PyTorch's semantics): the overwritten elements
        pass no gradient back to the old ``x``, and ``value`` receives the gradient of the
        elements it filled. Ops that saved ``x`` before the write refuse to backward."""
        from nabla import functional as fn

        self._check_in_place("setitem")
        value_tensor = value if isinstance(value, Tensor) else _lift(value, self)
        record = _function.MODE.grad_enabled and (self.requires_grad or value_tensor.requires_grad)
        if not record:
            self.data[_plain_index(index)] = value_tensor.data
            self._bump_version()
            return
        if self.data.dtype.kind not in "fc":
            raise DTypeError(
                f"setitem: cannot write a tensor that requires grad into a tensor of dtype "
                f"{self.dtype}"
            )
        self._check_view_write("setitem")
        # the values as they were take over this tensor's place in the graph; this tensor
        # becomes the output of the write
        self._bump_version()
        before = _wrap(self.data)
        before._fn, before.requires_grad = self._fn, self.requires_grad
        # its own counter (it is not a view of self), changed now: an op that saved these
        # values, or made them as its output, refuses to backward
        before._version_counter = list(self._shared_version_counter())
        written = fn.setitem(before, fn._normalize_index(index), value_tensor)
        self._fn, self.requires_grad = written._fn, True

    # comparisons give boolean tensors that carry no gradient; they are ops (recorded under
    # no_grad) so that a compiled step recomputes them on every call
    def _compare(self, other: Any, op: Any) -> Tensor:
        if not isinstance(other, (Tensor, bool, int, float, np.ndarray, np.generic, list)):
            return _wrap(np.asarray(op(self.data, other)))  # e.g. x == None: NumPy's answer
        return _no_grad_apply(_cmp.Compare, self, _lift(other, self), op=op.__name__)

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

    def __and__(self, other: Any) -> Tensor:
        return self._compare(other, np.logical_and)

    def __or__(self, other: Any) -> Tensor:
        return self._compare(other, np.logical_or)

    def __invert__(self) -> Tensor:
        return _no_grad_apply(_cmp.Compare, self, op="logical_not")

    # ----- shape ------------------------------------------------------------------------------
    def reshape(self, *shape: Any) -> Tensor:
        from nabla import functional as fn

        return fn.reshape(self, _shape_arg(shape))

    view = reshape

    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> Tensor:
        from nabla import functional as fn

        return fn.flatten(self, start_dim, end_dim)

    def transpose(self, *axes: Any) -> Tensor:
        """``transpose(dim0, dim1)`` swaps exactly those two axes (PyTorch), whatever the
        number of dims; no argument reverses the axes and a tuple is a full permutation
        (NumPy)."""
        from nabla import functional as fn

        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            return fn.permute(self, tuple(axes[0]))
        if len(axes) == 2:
            return fn.transpose(self, axes[0], axes[1])
        return fn.permute(self, tuple(axes) if axes else None)

    def permute(self, *axes: Any) -> Tensor:
        from nabla import functional as fn

        return fn.permute(self, _shape_arg(axes))

    def swapaxes(self, axis1: int, axis2: int) -> Tensor:
        from nabla import functional as fn

        return fn.transpose(self, axis1, axis2)

    @property
    def T(self) -> Tensor:
        return _sh.Permute.apply(self, axes=None)

    @property
    def mT(self) -> Tensor:
        return self.swapaxes(-1, -2)

    def squeeze(self, axis: Any = None, *, dim: Any = None) -> Tensor:
        from nabla import functional as fn

        return fn.squeeze(self, axis if dim is None else dim)

    def unsqueeze(self, axis: int) -> Tensor:
        from nabla import functional as fn

        return fn.unsqueeze(self, axis)

    def broadcast_to(self, *shape: Any) -> Tensor:
        from nabla import functional as fn

        return fn.broadcast_to(self, _shape_arg(shape))

    expand = broadcast_to

    def split(
        self, split_size_or_sections: Any, axis: int = 0, *, dim: Any = None
    ) -> list[Tensor]:
        from nabla import functional as fn

        return fn.split(self, split_size_or_sections, axis if dim is None else dim)


def _no_grad_apply(cls: Any, *inputs: Tensor, **params: Any) -> Tensor:
    """``cls.apply`` with recording off (the op's result carries no gradient); the mode is
    switched directly, without a context object, since comparisons run in every metric."""
    mode = _function.MODE
    previous = mode.grad_enabled
    mode.grad_enabled = False
    try:
        return cls.apply(*inputs, **params)  # type: ignore[no-any-return]
    finally:
        mode.grad_enabled = previous


def _shape_arg(args: Sequence[Any]) -> tuple[int, ...]:
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        return tuple(args[0])
    return tuple(args)


def _plain_index(index: Any) -> Any:
    if isinstance(index, Tensor):
        return index.data
    if isinstance(index, tuple):
        return tuple(i.data if isinstance(i, Tensor) else i for i in index)
    return index


_function._register_tensor_class(Tensor)

# imported last: the ops import this module (Tensor must exist first)
from nabla.ops import arithmetic as _ar
from nabla.ops import compare as _cmp
from nabla.ops import elementwise as _el
from nabla.ops import linalg as _la
from nabla.ops import shape as _sh
