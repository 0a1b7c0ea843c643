"""The two namespaces a backward rule receives as ``F``.

``ARRAY_OPS`` runs a rule on plain ndarrays (the default, fast path: no graph is built);
``TENSOR_OPS`` runs the same rule on Tensors so the backward pass is itself recorded
(``create_graph=True``). Both offer the same names; masks (``F.data(x) > 0``, ``F.sign``) are
plain arrays in both, since they carry no gradient.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np

from nabla._typing import Array, Shape
from nabla.ops.elementwise import mask_array, stable_sigmoid
from nabla.ops.shape import IndexAdd, is_basic_index
from nabla.ops.softmax import log_softmax_array, softmax_array


def _array_index_add(g: Array, shape: Shape, index: Any) -> Array:
    z = np.zeros(shape, dtype=g.dtype)
    if is_basic_index(index):
        z[index] = g
    else:
        np.add.at(z, index, g)  # repeated indices add up
    return z


def _array_where(condition: Array, x: Any, y: Any) -> Array:
    return np.where(condition, x, y)


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
)


def _make_tensor_ops() -> SimpleNamespace:
    from nabla import functional as fn
    from nabla.creation import zeros_like

    def index_add(g: Any, shape: Shape, index: Any) -> Any:
        return IndexAdd.apply(g, shape=shape, index=index)

    return SimpleNamespace(
        graph=True,
        data=lambda x: x.data if hasattr(x, "_fn") else x,
        exp=fn.exp,
        log=fn.log,
        sqrt=fn.sqrt,
        sign=lambda x: np.sign(x.data if hasattr(x, "_fn") else x),
        sigmoid=fn.sigmoid,
        where=fn.where,
        mask=lambda g, keep: fn.where(keep, g, 0),
        zeros_like=zeros_like,
        broadcast_to=fn.broadcast_to,
        permute=fn.permute,
        softmax=fn.softmax,
        log_softmax=fn.log_softmax,
        index_add=index_add,
    )


class _LazyTensorOps:
    """Resolves the tensor namespace on first use (nabla.functional imports this module)."""

    ops: SimpleNamespace | None = None

    def __getattr__(self, name: str) -> Any:
        if _LazyTensorOps.ops is None:
            _LazyTensorOps.ops = _make_tensor_ops()
        return getattr(_LazyTensorOps.ops, name)


TENSOR_OPS: Any = _LazyTensorOps()
