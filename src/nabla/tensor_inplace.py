"""``TensorInPlace``: in-place changes of :class:`~nabla.tensor.Tensor` (a mixin it inherits).

``+=``, ``add_``, ``zero_``, ``x[i] = v``… write into the same array, so views and holders of
``.data`` see the change, as in PyTorch. Every change moves the tensor's version counter (shared
with its views): a backward through an op that saved the old values raises instead of using the
new ones. While recording, a change of a tensor in the graph is itself an op.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import numpy as np

from nabla.autograd.function import _SEQUENCE
from nabla.autograd.hooks import note_unreplayable
from nabla.autograd.mode import MODE
from nabla.autograd.saved import LATEST_WRITE
from nabla.errors import DTypeError, GraphError, ShapeError
from nabla.ops import arithmetic as _ar
from nabla.ops import shape as _sh
from nabla.tensor_base import TensorBase
from nabla.tensor_math import no_grad_apply
from nabla.tensor_select import masked_fill_operands
from nabla.tensor_shape import normalize_index, plain_index

if TYPE_CHECKING:
    from typing_extensions import Self


_NO_COUNTER: list[int] = []


def bump_versions(tensors: Iterable[Any]) -> None:
    """Record an in-place change of each tensor, all with one stamp later than every op recorded
    so far (an optimizer step updates all its parameters at once): a backward through an op
    that saved the old values raises instead of using the new ones. Objects without a version
    counter (an optimizer's duck-typed parameters) are skipped."""
    if MODE.state.tracer is not None:
        note_unreplayable("a tensor is changed in place inside the step (x[i] = v, +=, …)")
    stamp = LATEST_WRITE.stamp = next(_SEQUENCE)
    for t in tensors:
        counter = getattr(t, "_version_counter", _NO_COUNTER)
        if counter is None:
            t._version_counter = [1, stamp]
        elif counter is not _NO_COUNTER:
            counter[0] += 1
            counter[1] = stamp


class TensorInPlace(TensorBase):
    """In-place methods of ``Tensor`` and the version counter they move."""

    __slots__ = ()

    def zero_(self) -> Self:
        """Fill with zeros in place (refused on a leaf that requires grad while recording)."""
        self._check_in_place("zero_")
        self.data[...] = 0
        self._bump_version()
        return self

    def fill_(self, value: Any) -> Self:
        """Fill with ``value`` in place (``x[...] = value``)."""
        self[...] = value
        return self

    def copy_(self, src: Any) -> Self:
        """Copy ``src`` (broadcast to this shape, cast to this dtype) into this tensor in place;
        while recording, ``src`` receives the gradient (PyTorch's ``copy_``)."""
        self[...] = src
        return self

    def masked_fill_(self, mask: Any, value: Any) -> Self:
        """Write ``value`` where the boolean ``mask`` (broadcast to this shape) is True, in
        place; while recording, a 0-d tensor ``value`` receives the filled entries' gradient."""
        mask_t, value_t = masked_fill_operands(self, mask, value, in_place=True)
        self[np.broadcast_to(mask_t.data, self.shape)] = value_t
        return self

    def add_(self, other: Any, *, alpha: Any = 1) -> Self:
        """``self += alpha · other`` in place (PyTorch's ``add_``)."""
        return self._in_place("add_", _ar.Add, other if alpha == 1 else other * alpha)

    def sub_(self, other: Any, *, alpha: Any = 1) -> Self:
        """``self -= alpha · other`` in place."""
        return self._in_place("sub_", _ar.Sub, other if alpha == 1 else other * alpha)

    def mul_(self, other: Any) -> Self:
        """``self *= other`` in place."""
        return self._in_place("mul_", _ar.Mul, other)

    def div_(self, other: Any) -> Self:
        """``self /= other`` in place."""
        return self._in_place("div_", _ar.Div, other)

    def __iadd__(self, other: Any) -> Self:
        return self._in_place("+=", _ar.Add, other)

    def __isub__(self, other: Any) -> Self:
        return self._in_place("-=", _ar.Sub, other)

    def __imul__(self, other: Any) -> Self:
        return self._in_place("*=", _ar.Mul, other)

    def __itruediv__(self, other: Any) -> Self:
        return self._in_place("/=", _ar.Div, other)

    def _in_place(self, op: str, cls: Any, other: Any) -> Self:
        """``self ∘= other`` in the same array (views and ``.data`` holders see it), as PyTorch.

        Under ``no_grad`` (or when nothing requires grad) the values change and the version
        counter moves: a graph that saved them refuses to backward. While recording, the
        update is an op: the old values (a copy) take this tensor's place in the graph, and
        this tensor becomes the op's output (a leaf that requires grad is refused).
        """
        self._check_in_place(op)
        operand = self._lift(other)
        record = MODE.state.grad_enabled and (self.requires_grad or operand.requires_grad)
        if not record:
            result = no_grad_apply(cls, self, operand).data
        else:
            self._check_view_write(op)
            before = self._wrap(self.data.copy())
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

    def __setitem__(self, index: Any, value: Any) -> None:
        """``x[index] = value`` in place. While recording, when ``x`` or ``value`` requires
        grad, the write is recorded as an op (PyTorch's semantics): the overwritten elements
        pass no gradient back to the old ``x``, and ``value`` receives the gradient of the
        elements it filled. Ops that saved ``x`` before the write refuse to backward."""
        self._check_in_place("setitem")
        value_tensor = self._lift(value)
        record = MODE.state.grad_enabled and (self.requires_grad or value_tensor.requires_grad)
        if not record:
            self.data[plain_index(index)] = value_tensor.data
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
        before = self._wrap(self.data)
        before._fn, before.requires_grad = self._fn, self.requires_grad
        # its own counter (it is not a view of self), changed now: an op that saved these
        # values, or made them as its output, refuses to backward
        before._version_counter = list(self._shared_version_counter())
        try:
            written = _sh.SetItem.apply(before, value_tensor, index=normalize_index(index))
        except IndexError as exc:
            raise IndexError(
                f"setitem: index {index!r} on a tensor of shape {self.shape}: {exc}"
            ) from None
        self._fn, self.requires_grad = written._fn, True

    # ----- the version counter ----------------------------------------------------------------
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
        bump_versions((self,))

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
        if self.requires_grad and self._fn is None and MODE.state.grad_enabled:
            raise GraphError(
                f"{op}: a leaf tensor that requires grad cannot be modified in place while "
                "recording; use `with nb.no_grad():`"
            )
