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

    from nabla._typing import Array, Shape
    from nabla.autograd.function import Function
    from nabla.tensor import Tensor


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
    def size(self) -> int:
        """Number of elements (NumPy's ``size``)."""
        return self.data.size
