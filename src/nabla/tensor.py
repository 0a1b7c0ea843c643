"""``Tensor``: an ndarray with a gradient and a link to the op that produced it.

This module holds what a tensor *is*: its data, gradient and flags, how values become tensors
(Python numbers are lifted once, taking the tensor's dtype, so float32 stays float32), its
repr, and ``backward``. Its slots and the layout of its values (``shape``, ``dtype``…) are in
:class:`~nabla.tensor_base.TensorBase`; what a tensor *does* is written in the mixins it
inherits, one job each:

* :class:`~nabla.tensor_math.TensorMath`: operators, comparisons, elementwise functions;
* :class:`~nabla.tensor_reduce.TensorReductions`: sum, mean, max, var, argmax…;
* :class:`~nabla.tensor_shape.TensorShape`: reshape, transpose, indexing, dtype casts;
* :class:`~nabla.tensor_inplace.TensorInPlace`: ``+=``, ``add_``, ``x[i] = v`` and the version
  counter that makes a backward through changed values fail;
* :class:`~nabla.tensor_select.TensorSelection`: gather, index_select, masked_fill, sort, topk,
  cumsum, norm;
* :class:`~nabla.tensor_logic.TensorLogic`: eq/lt/…, isnan, logical_*, all/any, where;
* :class:`~nabla.tensor_pointwise.TensorPointwise`: sin, log1p, floor, fmod… (elementwise math);
* :class:`~nabla.tensor_layout.TensorLayout`: view_as, flip, roll, tril, diag…;
* :class:`~nabla.tensor_memory.TensorMemory`: new_*, stride, nbytes, squeeze_…;
* :class:`~nabla.tensor_algebra.TensorAlgebra`: add/mul with alpha, mm, dot, prod, median, scatter…;
* :class:`~nabla.tensor_numeric.TensorNumeric`: addcmul, nansum, logit, index_add…;
* :class:`~nabla.tensor_random.TensorRandom`: normal_, uniform_, bernoulli_…;
* :class:`~nabla.tensor_inplace_math.TensorInPlaceMath`: exp_, sqrt_, relu_….

Their methods call the ``Function`` classes of :mod:`nabla.ops` directly; no derivative lives
here. The mixins build on ``TensorBase`` and on the two constructors of this class, ``_wrap``
and ``_lift``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from nabla._typing import Array
from nabla.autograd import function as _function
from nabla.autograd import tensor_hooks as _tensor_hooks
from nabla.autograd.engine import backward as _backward
from nabla.autograd.function import Function
from nabla.autograd.hooks import note_unreplayable
from nabla.autograd.mode import MODE
from nabla.errors import DTypeError
from nabla.tensor_algebra import TensorAlgebra
from nabla.tensor_inplace import TensorInPlace
from nabla.tensor_inplace_math import TensorInPlaceMath
from nabla.tensor_layout import TensorLayout
from nabla.tensor_logic import TensorLogic
from nabla.tensor_math import TensorMath
from nabla.tensor_memory import TensorMemory
from nabla.tensor_numeric import TensorNumeric
from nabla.tensor_pointwise import TensorPointwise
from nabla.tensor_random import TensorRandom
from nabla.tensor_reduce import TensorReductions
from nabla.tensor_select import TensorSelection
from nabla.tensor_shape import TensorShape

if TYPE_CHECKING:
    from typing_extensions import Self

DEFAULT_FLOAT = np.dtype(np.float32)

#: Python-number operands as constant tensors, by (type, value, dtype of the other operand):
#: a loop like ``y = y * 1.0001`` makes its constant once (read-only, never requires grad)
_SCALARS: dict[tuple[Any, Any, Any], Tensor] = {}
#: the operands ``Tensor._lift`` treats as weak scalars
_SCALAR_TYPES = (bool, int, float, np.bool_, np.integer, np.floating)


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


class Tensor(
    TensorMath,
    TensorReductions,
    TensorShape,
    TensorInPlace,
    TensorSelection,
    TensorLogic,
    TensorPointwise,
    TensorLayout,
    TensorMemory,
    TensorAlgebra,
    TensorNumeric,
    TensorRandom,
    TensorInPlaceMath,
):
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

    __slots__ = ()
    __array_ufunc__ = None  # ndarray ⊕ Tensor defers to Tensor's reflected operators
    __array_priority__ = 1000

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

    # ----- making tensors -------------------------------------------------------------------
    @staticmethod
    def _wrap(data: Array) -> Tensor:
        """A new leaf around ``data`` (no copy, no checks): the constructor of internal code."""
        t = Tensor.__new__(Tensor)
        t.data = data
        t._grad = None
        t.requires_grad = False
        t._fn = None
        t.name = None
        t._version_counter = None
        return t

    def _lift(self, other: Any) -> Tensor:
        """The other operand of a binary operator, as a Tensor.

        A Python number, or a NumPy scalar (``np.int64(2)``, ``np.float64(0.5)``), is a "weak"
        scalar as in PyTorch: it takes this tensor's dtype, so float32 stays float32. A float
        meeting an integer or bool tensor makes float32, PyTorch's default dtype (the op then
        casts the tensor: ``nabla.ops.arithmetic.promote``); an int meeting a bool tensor,
        int64. (PyTorch reads a NumPy bool as a float; here it is a bool, as Python's.)
        """
        if isinstance(other, Tensor):
            return other
        if isinstance(other, _SCALAR_TYPES):
            like_dtype = self.data.dtype
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

    # ----- flags and metadata -------------------------------------------------------------
    @property
    def grad(self) -> Array | None:
        """The accumulated gradient (an ndarray of the tensor's shape and dtype), or None."""
        return self._grad

    @grad.setter
    def grad(self, value: Array | None) -> None:
        if MODE.state.tracer is not None:  # a replay would not set it again
            note_unreplayable("a gradient is set by hand inside the step (p.grad = …)")
        self._grad = value

    def requires_grad_(self, requires_grad: bool = True) -> Self:
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

    def register_hook(self, hook: Callable[[Tensor], Any]) -> _tensor_hooks.TensorHookHandle:
        """Call ``hook(grad)`` each time backward has this tensor's total gradient (a Tensor);
        a returned Tensor or array replaces the gradient (PyTorch's ``register_hook``). Returns
        a handle whose ``remove()`` takes the hook out.

        >>> import nabla as nb
        >>> x = nb.tensor([1.0, 2.0], requires_grad=True)
        >>> handle = x.register_hook(lambda g: g * 10)
        >>> (x * x).sum().backward()
        >>> x.grad
        array([20., 40.], dtype=float32)
        """
        return _tensor_hooks.register_hook(self, hook)

    def retain_grad(self) -> None:
        """Keep this non-leaf tensor's gradient in ``.grad`` after backward (accumulating, as a
        leaf's); on a leaf it changes nothing."""
        _tensor_hooks.retain_grad(self)

    @property
    def retains_grad(self) -> bool:
        """True for a non-leaf tensor after ``retain_grad()``."""
        return _tensor_hooks.retains_grad(self)

    def numel(self) -> int:
        """Number of elements (PyTorch's name)."""
        return self.data.size

    def dim(self) -> int:
        """The number of dimensions (PyTorch's name)."""
        return self.data.ndim

    def __len__(self) -> int:
        return len(self.data)

    # ----- reading the values -----------------------------------------------------------------
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
        """The values as (nested) Python lists of numbers."""
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
        """The graph as SVG, for Jupyter (None when Graphviz is not installed)."""
        try:  # imported here: nabla.viz draws Tensors, so it sits above this module
            from nabla import viz
        except ImportError:
            return None
        return viz.repr_svg(self)

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
        _backward(self, grad, retain_graph=retain_graph)

    def detach(self) -> Tensor:
        """A new leaf sharing the data (and its version counter), cut from the graph."""
        t = _wrap(self.data)
        t._version_counter = self._shared_version_counter()
        return t


_wrap = Tensor._wrap

# Function.apply wraps every op's result in this class (see nabla.autograd.function)
_function.register_tensor_class(Tensor)
