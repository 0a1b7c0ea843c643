"""The ``Function`` base class: one primitive = one subclass holding forward, backward, formula.

A subclass implements

* ``forward(self, *arrays, **params) -> ndarray``: NumPy in, NumPy out. It keeps on ``self`` only
  what backward needs beyond the inputs (an axis, an index, a mask).
* ``backward(self, g, F, *args) -> tuple``: the vector-Jacobian product. ``args`` are the op's
  inputs, followed by its output when the class sets ``needs_output = True``. ``g`` and ``args``
  are plain ndarrays on the default path and Tensors under ``create_graph=True``; ``F`` is the
  matching namespace of functions (``F.exp``, ``F.where``...). Rules are written once with
  operators and methods that both share, so the same line serves first and higher order.
  It returns one entry per input, ``None`` where no gradient is needed (``self.needs_grad``).
  Rules ignore broadcasting: the engine sums every gradient back to its input's shape.

Nothing else: fast versions of a rule (in place, fixed to one signature of shapes and dtypes,
fused) live beside the op in :mod:`nabla.ops.kernels`, registered by the op's class with
:mod:`nabla.autograd.kernels`.

The docstring of every subclass has a ``Forward:`` and a ``Backward:`` line (``nb.explain`` reads
them and a test checks they are there).
"""

from __future__ import annotations

import itertools
import traceback
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from nabla.autograd.mode import MODE
from nabla.errors import AnomalyError, ShapeError

if TYPE_CHECKING:
    from nabla._typing import Array
    from nabla.tensor import Tensor
    from nabla.tensor_base import TensorBase


_SEQUENCE = itertools.count(1)


class Function:
    """Base class of every differentiable primitive."""

    needs_output: ClassVar[bool] = False
    #: the output may be a view of input 0 (reshape, permute, basic indexing): it shares that
    #: input's version counter, so an in-place change through either is seen by both
    shares_memory: ClassVar[bool] = False
    #: the op's name in error messages and graph drawings (defaults to the class name, lowered)
    name: ClassVar[str] = ""
    #: attributes holding arrays that ``forward`` kept for backward: backward frees them with
    #: the inputs (the op itself stays, as part of the graph's topology)
    saved: ClassVar[tuple[str, ...]] = ()

    inputs: tuple[TensorBase, ...] | None
    needs_grad: tuple[bool, ...]
    #: creation order of recorded ops: an op's number exceeds those of its inputs' ops, so the
    #: engine visits ops by decreasing number (a topological order without a counting pass)
    seq: int = 0
    stack: str | None = None
    #: the innermost module whose forward created this op, and the outermost (the model)
    module: Any = None
    root: Any = None
    #: the output's total gradient and value, set only by a backward inside
    #: ``nb.viz.keep_gradients()`` (drawings after backward read them)
    kept_gradient: Array
    kept_value: Array

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if not cls.__dict__.get("name"):
            cls.name = cls.__name__.lower()
        if isinstance(cls.__dict__.get("forward"), staticmethod):
            # PyTorch's spelling, forward(ctx, ...) on Tensors: a user's custom op
            from nabla.autograd import ctx_function

            cls.apply = classmethod(ctx_function.apply)  # type: ignore[assignment,method-assign]

    # ``Any``, not ``Array``: each op narrows this to its own arrays and parameters
    def forward(self, *arrays: Any, **params: Any) -> Array:
        raise NotImplementedError

    def backward(self, g: Any, F: Any, /, *args: Any) -> tuple[Any, ...]:
        raise NotImplementedError

    def shape_error(self, arrays: tuple[Array, ...], exc: Exception) -> ShapeError:
        """The error raised when NumPy rejects the operands' shapes."""
        names = "xyzuvw"
        parts = " and ".join(
            f"{names[i] if i < len(names) else f'input {i}'} has shape {a.shape}"
            for i, a in enumerate(arrays)
        )
        return ShapeError(f"{self.name}: {parts}; {exc}")

    @classmethod
    def apply(cls, *inputs: TensorBase, **params: Any) -> Tensor:
        """Run forward on the inputs' arrays and, when grad is recorded, link the result."""
        mode = MODE.state
        fn = cls.__new__(cls)
        arrays = tuple([t.data for t in inputs])
        try:
            out = fn.forward(*arrays, **params)
        except ShapeError:
            raise
        except ValueError as exc:
            if (
                "shape" not in str(exc)
                and "broadcast" not in str(exc)
                and "dimension" not in str(exc)
            ):
                raise
            raise fn.shape_error(arrays, exc) from None
        if type(out) is not np.ndarray:
            out = np.asarray(out)
        result: Tensor = _TENSOR_NEW(_Tensor)  # Tensor._wrap, inlined: this runs for every op
        result.data = out
        result._grad = None
        result.name = None
        result._version_counter = None
        if cls.shares_memory and np.may_share_memory(out, arrays[0]):
            result._version_counter = inputs[0]._shared_version_counter()
        needs_grad = tuple([t.requires_grad for t in inputs]) if mode.grad_enabled else ()
        if True in needs_grad:
            fn.inputs = inputs
            fn.needs_grad = needs_grad
            fn.seq = next(_SEQUENCE)
            result.requires_grad = True
            result._fn = fn
            scope = mode.scope
            if scope:
                fn.module = scope[-1]
                fn.root = scope[0]
        else:
            result.requires_grad = False
            result._fn = None
        if mode.anomaly:
            fn.stack = _user_frame()
            _check_forward(fn, arrays, out)
        if mode.tracer is not None:
            mode.tracer.on_apply(cls, inputs, params, result)
        return result

    def __repr__(self) -> str:
        return f"<{type(self).__name__} backward>"


def _user_frame() -> str:
    """The innermost stack frame outside the nabla package, as 'file:line in function'."""
    for frame in reversed(traceback.extract_stack()[:-2]):
        path = frame.filename.replace("\\", "/")
        if "/nabla/" not in path or "/tests/" in path:
            return f"{frame.filename}:{frame.lineno} in {frame.name}: {frame.line}"
    return "<unknown location>"


def _check_forward(fn: Function, arrays: tuple[Array, ...], out: Array) -> None:
    if out.dtype.kind not in "fc" or np.isfinite(out).all():
        return
    for a in arrays:
        if a.dtype.kind in "fc" and not np.isfinite(a).all():
            return  # the non-finite value came in from outside; an earlier op reported it
    raise AnomalyError(
        f"{fn.name}: forward produced nan/inf (output shape {out.shape}), created at {fn.stack}"
    )


# ----- the class of the results ----------------------------------------------------------------
# autograd sits below the tensor layer (the ops subclass Function, and Tensor's methods call the
# ops), so it cannot import Tensor: nabla.tensor hands its class over once, right after defining
# it, through register_tensor_class. This is the one place the layers below Tensor learn of it
# (PyTorch's C++ autograd learns torch.Tensor the same way, when torch is imported).
_Tensor: Any = None  # nabla.tensor.Tensor
_TENSOR_NEW: Any = None  # its __new__: apply fills the slots itself (it runs for every op)


def register_tensor_class(tensor_class: type) -> None:
    """Make :meth:`Function.apply` return instances of ``tensor_class`` (``nabla.tensor`` calls
    this once, when it defines ``Tensor``)."""
    global _Tensor, _TENSOR_NEW
    _Tensor, _TENSOR_NEW = tensor_class, tensor_class.__new__
