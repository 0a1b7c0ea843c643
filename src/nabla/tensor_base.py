"""``TensorBase``: what every tensor holds, shared by :class:`~nabla.tensor.Tensor` and the
mixins that write its methods.

The slots (values, gradient, flags, the op that made the tensor, the version counter) and the
read-only views of the values' layout. Like PyTorch's ``torch._C.TensorBase``, it is what the
methods and the ops work on; ``Tensor`` is its one concrete class. It imports nothing of nabla
at run time, so any module may test ``isinstance(x, TensorBase)``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    from typing_extensions import Self

    from nabla._typing import Array, Shape
    from nabla.autograd.function import Function
    from nabla.tensor import Tensor


class Size(tuple[int, ...]):
    """A tensor's shape as ``x.size()`` returns it: a tuple of ints (``torch.Size``)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"nabla.Size({list(self)})"

    def numel(self) -> int:
        """The number of elements of a tensor of this shape."""
        n = 1
        for d in self:
            n *= d
        return n


class SizeCount(int):
    """``x.size``: the number of elements (NumPy's ``ndarray.size``, an int) that, called, is
    PyTorch's ``size()``: ``x.size()`` is the shape (a :class:`Size`), ``x.size(dim)`` one
    dimension's length, with negative dims counted from the end."""

    _shape: tuple[int, ...]

    def __new__(cls, shape: tuple[int, ...], count: int) -> Self:
        self = super().__new__(cls, count)
        self._shape = shape
        return self

    def __call__(self, dim: int | None = None) -> Any:
        if dim is None:
            return Size(self._shape)
        if isinstance(dim, bool) or not hasattr(dim, "__index__"):
            raise TypeError(
                f"size(): argument 'dim' (position 1) must be int, not {type(dim).__name__}"
            )
        dim = dim.__index__()
        ndim = len(self._shape)
        if ndim == 0:
            raise IndexError(f"Dimension specified as {dim} but tensor has no dimensions")
        if not -ndim <= dim < ndim:
            raise IndexError(
                f"Dimension out of range (expected to be in range of [{-ndim}, {ndim - 1}], "
                f"but got {dim})"
            )
        return self._shape[dim]

    def __reduce__(self) -> tuple[Any, ...]:
        return (int, (int(self),))  # pickled as the count


class TensorBase:
    """The state of a tensor; see :class:`nabla.tensor.Tensor` for its meaning and methods."""

    __slots__ = (
        "__weakref__",
        "_fn",
        "_grad",
        "_version_counter",
        "data",
        "name",
        "requires_grad",
    )

    data: Array
    _grad: Array | None
    requires_grad: bool
    _fn: Function | None
    name: str | None
    #: [how many times nabla changed the values in place, the op sequence number at the last
    #: change], shared with views of the same memory (None until the first change or view).
    #: Backward refuses an op whose inputs changed after it was recorded (a later stamp)
    _version_counter: list[int] | None

    if TYPE_CHECKING:  # written in Tensor, which can make tensors (this class cannot)

        @staticmethod
        def _wrap(data: Array) -> Tensor: ...

        def _lift(self, other: Any) -> Tensor: ...

        # written in TensorInplace (Function.apply gives a view its input's counter)
        def _shared_version_counter(self) -> list[int]: ...

    @property
    def shape(self) -> Shape:
        """The size of each dimension (a tuple, as NumPy's)."""
        return self.data.shape

    @property
    def dtype(self) -> np.dtype[Any]:
        """The NumPy dtype of the values."""
        return self.data.dtype

    @property
    def ndim(self) -> int:
        """The number of dimensions."""
        return self.data.ndim

    @property
    def size(self) -> SizeCount:
        """Number of elements (NumPy's ``size``, an int); called, the shape as PyTorch's
        ``size()`` (``x.size()``, ``x.size(0)``, ``x.size(-1)``): see :class:`SizeCount`."""
        data = self.data
        return SizeCount(data.shape, data.size)
