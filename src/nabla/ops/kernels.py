"""The fast kernels of nabla's hot ops, registered beside their plain rules (see
:mod:`nabla.autograd.kernels`): the backward engine and ``nb.compile`` look them up by op.

* ReLU, tanh and sigmoid: their backward in one buffer, or written into the upstream gradient
  when the engine owns it; forward and backward fixed to one signature; tanh and ReLU applied in
  place to a dense layer's fresh output.
* Linear (the dense layer): forward and backward fixed to one signature (the product's method
  chosen once, the row sum's ones vector bound); its output is fresh.
* Convolution (stride 1): ∇X summed on rows as wide as the padded input
  (:mod:`nabla.ops.kernels_conv`).
* Max pooling: its backward adds g onto each patch's winner one kernel offset at a time,
  without the (N, C, *out, kernel) array of patches the plain rule builds.
* Cross-entropy on class indices: the common case (mean, no weight, no smoothing) fixed to one
  signature, without the one-hot matrix.

Each computes bitwise what its op's ``forward``/``backward`` computes; tests/ops/test_kernels.py
holds every kernel to that on every input kind of the conformance matrix.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from nabla._typing import Array
from nabla.autograd.kernels import Spec, Specialized, register_kernels
from nabla.ops.constants import max_operand, ones, relu_array, row_starts
from nabla.ops.conv import Conv, add_patches, tiles
from nabla.ops.elementwise import (
    BITS,
    SELECT_BITS_FROM,
    Relu,
    Sigmoid,
    Tanh,
    select_bits,
    select_where,
    stable_sigmoid,
)
from nabla.ops.kernels_conv import conv_backward
from nabla.ops.linalg import Linear, few_rows_wide
from nabla.ops.loss import (
    CrossEntropy,
    all_counted,
    c_order,
    reduce_losses,
    softmax_minus_targets,
)
from nabla.ops.namespace import ARRAY_OPS
from nabla.ops.pooling import MaxPool, plane_positions
from nabla.ops.softmax import log_softmax_array


def relu_backward_array(g: Array, x: Array, into_g: bool = False) -> Array:
    """0 where x ≤ 0, else g: PyTorch's threshold_backward, a select (a masked-out inf or nan
    gives 0) that lets a nan input pass g. ``into_g``: the result may overwrite g."""
    if g.size < SELECT_BITS_FROM or g.dtype.itemsize not in BITS:
        return select_where(g, x <= 0, into_g)
    bits = np.less_equal(x, 0).view(np.int8)
    np.subtract(bits, 1, out=bits)  # x ≤ 0 (1) → 0, else (0) → −1: every bit set
    return select_bits(g, bits, into_g)


def tanh_backward_array(g: Array, h: Array, into_g: bool = False) -> Array:
    """g ⊙ (1 − h²) in one buffer (the same operations as g * (1 - h * h)), or written into g
    (``into_g``: (1 − h²) ⊙ g, the same bits)."""
    t = h * h
    if type(t) is not np.ndarray:  # 0-d h: a NumPy scalar, which out= refuses
        t = np.asarray(t)
    np.subtract(1, t, out=t)
    if into_g and type(g) is np.ndarray:  # (a 0-d sum of gradients may be a NumPy scalar)
        g *= t
        return g
    t *= g
    return t


def sigmoid_backward_array(g: Array, z: Array, into_g: bool = False) -> Array:
    """g ⊙ z(1 − z) in one buffer (the same operations as g * (z * (1 - z))), or written into
    g (``into_g``)."""
    t = 1 - z
    if type(t) is not np.ndarray:  # 0-d z: a NumPy scalar, which would stay one
        t = np.asarray(t)
    t *= z
    if into_g and type(g) is np.ndarray:  # (a 0-d sum of gradients may be a NumPy scalar)
        g *= t
        return g
    t *= g
    return t


def _unary_specialized(spec: Spec, forward_array: Any, backward_array: Any, keep: str) -> Any:
    """A one-input activation on a float array whose gradient has the input's dtype: forward
    keeps its input or its output for ``backward_array(g, kept, into_g)``."""
    dtype = np.dtype(spec.dtypes[0])
    if dtype.kind != "f" or spec.params or not spec.needs_grad[0] or not spec.shapes[0]:
        return None  # (0-d: the ufuncs would return NumPy scalars; the general path wraps)

    if keep == "input":

        def forward(x: Array) -> tuple[Array, Array]:
            return forward_array(x), x
    else:

        def forward(x: Array) -> tuple[Array, Array]:
            z = forward_array(x)
            return z, z

    def backward(g: Array, kept: Array) -> tuple[Array]:
        return (backward_array(g, kept),)

    def backward_in_place(g: Array, kept: Array) -> tuple[Array]:
        return (backward_array(g, kept, True),)

    return Specialized(forward, backward, backward_in_place)


def _specialize_linear(spec: Spec) -> Specialized | None:
    """X Wᵀ + b on 2-D float arrays: the product's method chosen once, the row sum 1ᵀ G with
    its ones vector bound."""
    x_shape, w_shape = spec.shapes[0], spec.shapes[1]
    if len(x_shape) != 2 or len(w_shape) != 2 or len(set(spec.dtypes)) != 1:
        return None
    dtype = np.dtype(spec.dtypes[0])
    if dtype.kind != "f" or spec.params:
        return None
    has_bias = len(spec.shapes) == 3
    need_x, need_w = spec.needs_grad[0], spec.needs_grad[1]
    need_b = has_bias and spec.needs_grad[2]
    n = x_shape[0]
    ones_n = ones(n, dtype) if n > 1 else None

    if few_rows_wide(x_shape, dtype, dtype):

        def product(x: Array, w: Array) -> Array:
            return np.ascontiguousarray(w.dot(x.T).T)
    elif x_shape[1] == 1:

        def product(x: Array, w: Array) -> Array:
            return np.multiply(x, w.T)
    else:

        def product(x: Array, w: Array) -> Array:
            z: Array = x.dot(w.T)  # (NumPy's stubs type dot as Any)
            return z

    def forward(x: Array, w: Array, b: Array | None = None) -> tuple[Array, Any]:
        z = product(x, w)
        if b is not None:
            z += b
        return z, (x, w)

    # ∇X = G W contracts over the outputs, ∇W = Gᵀ X over the rows: one of them is a
    # broadcast product when it contracts over one element (see matmul_array)
    grad_x_of = np.multiply if w_shape[0] == 1 else np.ndarray.dot
    grad_w_of = np.multiply if n == 1 else np.ndarray.dot

    def backward(g: Array, saved: Any) -> tuple[Any, ...]:
        x, w = saved
        grad_x = grad_x_of(g, w) if need_x else None
        grad_w = grad_w_of(g.T, x) if need_w else None
        if not has_bias:
            return grad_x, grad_w
        if not need_b:
            return grad_x, grad_w, None
        grad_b = ones_n.dot(g) if ones_n is not None else np.add.reduce(g, axis=0)
        return grad_x, grad_w, grad_b

    return Specialized(forward, backward)


def _specialize_cross_entropy(spec: Spec) -> Specialized | None:
    """The common case: float logits (N, C), integer class indices, mean, no weight and no
    smoothing. A batch whose targets leave [0, C) or meet ``ignore_index`` takes the general
    methods (which check and report them)."""
    params = spec.params
    (x_shape, y_shape), (x_dtype, y_dtype) = spec.shapes, spec.dtypes
    if (
        len(x_shape) != 2
        or np.dtype(x_dtype).kind != "f"
        or np.dtype(y_dtype).kind not in "iu"
        or y_shape != x_shape[:1]
        or x_shape[0] == 0
        or params.get("weight") is not None
        or params.get("label_smoothing", 0.0)
        or params.get("reduction", "mean") != "mean"
        or set(params) - {"weight", "ignore_index", "reduction", "label_smoothing"}
    ):
        return None
    n, c = x_shape
    ignore_index = params.get("ignore_index", -100)
    starts, denominator = row_starts(n, c), float(n)

    def forward(x: Array, y: Array) -> tuple[Array, Any]:
        if not all_counted(y, c, ignore_index):
            general = CrossEntropy.__new__(CrossEntropy)
            general.needs_grad = spec.needs_grad
            return np.asarray(general.forward(x, y, **params)), (general, x, y)
        log_p = c_order(log_softmax_array(x, axis=1))
        flat = y + starts
        picked = log_p.reshape(-1).take(flat)
        loss = reduce_losses(picked, "mean", denominator, negate=True)
        return np.asarray(loss), (log_p, flat)

    def backward(g: Array, saved: Any) -> tuple[Any, None]:
        if len(saved) == 3:
            general, x, y = saved
            return general.backward(g, ARRAY_OPS, x, y)[0], None
        log_p, flat = saved
        return softmax_minus_targets(log_p, flat, g / denominator), None

    return Specialized(forward, backward)


def relu_in_place(z: Array) -> None:
    """max(z, 0) written over z, with the zero operand ``relu_array`` uses (the same values)."""
    np.maximum(z, max_operand(z.shape, z.dtype), out=z)


def tanh_in_place(z: Array) -> None:
    """tanh(z) written over z."""
    np.tanh(z, out=z)


def _relu_backward(fn: Any, g: Array, x: Array) -> tuple[Array]:
    return (relu_backward_array(g, x),)


def _relu_backward_into(fn: Any, g: Array, x: Array) -> tuple[Array]:
    return (relu_backward_array(g, x, True),)


def _tanh_backward(fn: Any, g: Array, x: Array, h: Array) -> tuple[Array]:
    return (tanh_backward_array(g, h),)


def _tanh_backward_into(fn: Any, g: Array, x: Array, h: Array) -> tuple[Array]:
    return (tanh_backward_array(g, h, True),)


def _sigmoid_backward(fn: Any, g: Array, x: Array, z: Array) -> tuple[Array]:
    return (sigmoid_backward_array(g, z),)


def _sigmoid_backward_into(fn: Any, g: Array, x: Array, z: Array) -> tuple[Array]:
    return (sigmoid_backward_array(g, z, True),)


register_kernels(
    Relu,
    backward=_relu_backward,
    backward_into=_relu_backward_into,
    specialize=lambda spec: _unary_specialized(spec, relu_array, relu_backward_array, "input"),
    forward_in_place=relu_in_place,
)
register_kernels(
    Tanh,
    backward=_tanh_backward,
    backward_into=_tanh_backward_into,
    specialize=lambda spec: _unary_specialized(spec, np.tanh, tanh_backward_array, "output"),
    forward_in_place=tanh_in_place,
)
register_kernels(
    Sigmoid,
    backward=_sigmoid_backward,
    backward_into=_sigmoid_backward_into,
    specialize=lambda spec: _unary_specialized(
        spec, stable_sigmoid, sigmoid_backward_array, "output"
    ),
)


def _max_pool_backward(fn: Any, g: Array, x: Array) -> tuple[Array]:
    """col2im of (g at each patch's winner, 0 elsewhere), the patches made one offset at a
    time: the same additions in the same order as the plain rule. Patches that tile the input
    (stride = kernel, no padding) send each g to one pixel: one scatter to the winners'
    positions, the values the plain rule places there."""
    where, geo = fn.where, fn.geo
    lead = g.shape[: g.ndim - len(geo.size)]
    if tiles(geo):
        flat = np.zeros(math.prod(lead) * math.prod(geo.size), dtype=g.dtype)
        flat[_winner_positions(where, geo, lead)] = g
        return (flat.reshape(x.shape),)
    zero = np.zeros((), dtype=g.dtype)
    return (add_patches(lead, g.dtype, geo, lambda k, at: np.where(where == k, g, zero)),)


def _winner_positions(where: Array, geo: Any, lead: tuple[int, ...]) -> Array:
    """The flat index, in the whole (N, C, *size) input, of each patch's winner."""
    planes = np.arange(math.prod(lead), dtype=np.int64).reshape(lead + (1,) * len(geo.size))
    index: Array = plane_positions(where, geo)
    index += planes * math.prod(geo.size)
    return index


register_kernels(MaxPool, backward=_max_pool_backward)
register_kernels(Conv, backward=conv_backward)
register_kernels(Linear, specialize=_specialize_linear, fresh_output=True)
register_kernels(CrossEntropy, specialize=_specialize_cross_entropy)
