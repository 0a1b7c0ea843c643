"""Shape primitives: reshape, permute, broadcast_to, concatenate, stack, indexing, cast.

They move values without changing them, so each backward moves the gradient back: reshape back,
permute by the inverse permutation, sum a broadcast (done by the engine), scatter-add an index.
"""

from __future__ import annotations

import builtins
from typing import Any

import numpy as np

from nabla._typing import Array, Shape
from nabla.autograd.function import Function
from nabla.errors import ShapeError


def normalize_dim(op: str, dim: Any, ndim: int, *, new_axis: bool = False) -> int:
    """``dim`` as a non-negative axis of an ``ndim``-D tensor, or IndexError naming ``op``.

    PyTorch's rule: valid dims are ``-ndim … ndim-1``; a 0-d tensor accepts ``-1`` and ``0``.
    With ``new_axis`` (unsqueeze) the dim names a position among ``ndim + 1``.
    """
    if not isinstance(dim, (int, np.integer)) or isinstance(dim, bool):
        raise TypeError(f"{op}: dimension must be an integer, got {dim!r}")
    size = ndim + 1 if new_axis else builtins.max(ndim, 1)
    if not -size <= dim < size:
        raise IndexError(
            f"{op}: dimension out of range (expected to be in range of [{-size}, {size - 1}] "
            f"for a {ndim}-D tensor, but got {dim})"
        )
    return int(dim) % size


def normalize_permutation(op: str, axes: Any, ndim: int) -> tuple[int, ...]:
    """``axes`` as a permutation of ``range(ndim)`` (negative axes allowed), or an error."""
    axes = tuple(axes)
    if len(axes) != ndim:
        raise ShapeError(
            f"{op}: the tensor has {ndim} dimensions but the ordering {axes} has {len(axes)}"
        )
    out = tuple(normalize_dim(op, a, ndim) for a in axes) if ndim else ()
    if len(set(out)) != len(out):
        raise ShapeError(f"{op}: repeated dimension in the ordering {axes}")
    return out


class Reshape(Function):
    """Same values, new shape (also squeeze, unsqueeze, flatten).

    Forward:  z = reshape(x, shape)
    Backward: ∇x = reshape(g, x.shape)
    """

    latex = r"\nabla_x = \operatorname{reshape}(g, \text{shape}(x))"

    shares_memory = True

    def forward(self, x: Array, shape: Shape = ()) -> Array:
        self.in_shape = x.shape
        return x.reshape(shape)

    def backward(self, g: Any, F: Any, x: Any) -> tuple[Any]:
        return (g.reshape(self.in_shape),)


class Permute(Function):
    """Reorder axes (transpose, ``.T``, ``.mT``).

    Forward:  z = permute(x, axes)
    Backward: ∇x = permute(g, axes⁻¹)
    """

    latex = r"\nabla_x = \operatorname{permute}(g, \text{axes}^{-1})"

    shares_memory = True

    def forward(self, x: Array, axes: tuple[int, ...] | None = None) -> Array:
        if axes is None:
            axes = tuple(reversed(range(x.ndim)))
        else:  # the inverse of a permutation with negative axes needs them normalized first
            axes = normalize_permutation("permute", axes, x.ndim)
        self.inverse = tuple(np.argsort(axes).tolist())
        return np.transpose(x, axes)

    def backward(self, g: Any, F: Any, x: Any) -> tuple[Any]:
        return (F.permute(g, self.inverse),)


class BroadcastTo(Function):
    """Repeat x to a larger shape (the notes' repmat / repeat node).

    Forward:  z = broadcast_to(x, shape)
    Backward: ∇x = Σ over the repeated axes of g  (done by the engine's unbroadcast)
    """

    latex = r"\nabla_x = \textstyle\sum_{\text{copies}} g"

    shares_memory = True

    def forward(self, x: Array, shape: Shape = ()) -> Array:
        return np.broadcast_to(x, shape)

    def backward(self, g: Any, F: Any, x: Any) -> tuple[Any]:
        return (g,)


class Concatenate(Function):
    """Join tensors along an existing axis.

    Forward:  z = [x₁ | x₂ | …]  along axis
    Backward: ∇xᵢ = the slice of g that xᵢ occupies
    """

    latex = r"\nabla_{x_i} = g[\text{slice}_i]"

    def forward(self, *xs: Array, axis: int = 0) -> Array:
        z = np.concatenate(xs, axis=axis)
        self.axis = axis % z.ndim
        self.bounds = np.cumsum([0] + [x.shape[self.axis] for x in xs]).tolist()
        return z

    def backward(self, g: Any, F: Any, *xs: Any) -> tuple[Any, ...]:
        head = (slice(None),) * self.axis
        return tuple(
            g[(*head, slice(self.bounds[i], self.bounds[i + 1]))] if need else None
            for i, need in enumerate(self.needs_grad)
        )


class Stack(Function):
    """Join same-shaped tensors along a new axis.

    Forward:  z[…, i, …] = xᵢ
    Backward: ∇xᵢ = g[…, i, …]
    """

    latex = r"\nabla_{x_i} = g[i]"

    def forward(self, *xs: Array, axis: int = 0) -> Array:
        z = np.stack(xs, axis=axis)
        self.axis = axis % z.ndim
        return z

    def backward(self, g: Any, F: Any, *xs: Any) -> tuple[Any, ...]:
        head = (slice(None),) * self.axis
        return tuple(g[(*head, i)] if need else None for i, need in enumerate(self.needs_grad))


def is_basic_index(index: Any) -> bool:
    """True for ints, slices, None and Ellipsis only (a view; no element is repeated)."""
    items = index if isinstance(index, tuple) else (index,)
    return all(
        isinstance(i, (int, np.integer, slice)) or i is None or i is Ellipsis for i in items
    )


class GetItem(Function):
    """Indexing with slices, integer arrays or boolean masks.

    Forward:  z = x[index]
    Backward: ∇x = scatter-add of g into zeros at index (repeated indices add up)
    """

    saved = ("index",)

    name = "getitem"
    latex = r"\nabla_x[\text{index}] \mathrel{+}= g"

    shares_memory = True

    def forward(self, x: Array, index: Any = None) -> Array:
        self.in_shape = x.shape
        self.index = index
        z: Array = x[index]
        return z

    def backward(self, g: Any, F: Any, x: Any) -> tuple[Any]:
        return (F.index_add(g, self.in_shape, self.index),)


class SetItem(Function):
    """Write v into x at index, in place (``x[index] = v``, recorded).

    Forward:  z = x;  z[index] = v
    Backward: ∇x = g with zeros at index,  ∇v = g[index]  (summed back to v's shape)
    """

    saved = ("index",)

    name = "setitem"
    latex = r"\nabla_x = g \odot [\text{not at index}],\; \nabla_v = g[\text{index}]"

    def forward(self, x: Array, v: Array, index: Any = None) -> Array:
        self.index = index
        x[index] = v
        return x

    def backward(self, g: Any, F: Any, x: Any, v: Any) -> tuple[Any, Any]:
        grad_x = grad_v = None
        if self.needs_grad[0]:
            kept = np.ones(g.shape, dtype=bool)
            kept[self.index] = False
            grad_x = F.where(kept, g, 0)  # select: a non-finite g at index must not leak
        if self.needs_grad[1]:
            grad_v = g[self.index]
        return grad_x, grad_v


class IndexAdd(Function):
    """Scatter-add g into a zero array of a given shape (the backward of getitem).

    Forward:  z = zeros(shape);  z[index] += g
    Backward: ∇g = grad[index]
    """

    saved = ("index",)

    name = "index_add"
    latex = r"\nabla_g = G[\text{index}]"

    def forward(self, g: Array, shape: Shape = (), index: Any = None) -> Array:
        self.index = index
        z = np.zeros(shape, dtype=g.dtype)
        if is_basic_index(index):
            z[index] = g
        else:
            np.add.at(z, index, g)
        return z

    def backward(self, gz: Any, F: Any, g: Any) -> tuple[Any]:
        return (gz[self.index],)


class Cast(Function):
    """Change dtype (``astype``, ``float()``, ``double()``).

    Forward:  z = x as dtype
    Backward: ∇x = g as x.dtype
    """

    latex = r"\nabla_x = g"

    def forward(self, x: Array, dtype: Any = None) -> Array:
        self.in_dtype = x.dtype
        return x.astype(dtype)

    def backward(self, g: Any, F: Any, x: Any) -> tuple[Any]:
        return (g.astype(self.in_dtype),)


class Contiguous(Function):
    """A C-ordered copy of a strided view (``contiguous()`` of a transposed or sliced tensor).

    Forward:  z = x, laid out row by row
    Backward: ∇x = g
    """

    latex = r"\nabla_x = g"

    def forward(self, x: Array) -> Array:
        return np.ascontiguousarray(x)

    def backward(self, g: Any, F: Any, x: Any) -> tuple[Any]:
        return (g,)
