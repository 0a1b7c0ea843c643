"""``ARRAY_OPS``: the namespace a backward rule receives as ``F`` on the default path.

Rules run on plain ndarrays by default (fast: no graph is built). Under ``create_graph=True``
the same rule runs on Tensors with :data:`nabla.tensor_namespace.TENSOR_OPS`, which offers the
same names over the public functions, so the backward pass is itself recorded. Masks
(``F.data(x) > 0``, ``F.sign``) are plain arrays in both, since they carry no gradient.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np

from nabla._typing import Array, Shape
from nabla.ops.conv import col2im_array, im2col_array
from nabla.ops.elementwise import mask_array, stable_sigmoid
from nabla.ops.shape import is_basic_index
from nabla.ops.softmax import log_softmax_array, softmax_array


def _array_index_add(g: Array, shape: Shape, index: Any) -> Array:
    z = np.zeros(shape, dtype=g.dtype)
    if is_basic_index(index):
        z[index] = g
    else:
        np.add.at(z, index, g)  # repeated indices add up
    return z


def _array_where(condition: Array, x: Any, y: Any) -> Array:
    z: Array = np.where(condition, x, y)
    return z


ARRAY_OPS = SimpleNamespace(
    graph=False,
    data=lambda x: x,
    exp=np.exp,
    log=np.log,
    sqrt=np.sqrt,
    sign=np.sign,
    sigmoid=stable_sigmoid,
    where=_array_where,
    mask=mask_array,
    zeros_like=np.zeros_like,
    broadcast_to=np.broadcast_to,
    permute=np.transpose,
    softmax=lambda x, axis=-1: softmax_array(x, axis),
    log_softmax=lambda x, axis=-1: log_softmax_array(x, axis),
    index_add=_array_index_add,
    im2col=im2col_array,
    col2im=col2im_array,
    sin=np.sin,
    cos=np.cos,
    sinh=np.sinh,
    cosh=np.cosh,
)
