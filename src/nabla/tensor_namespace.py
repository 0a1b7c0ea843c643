"""``TENSOR_OPS``: the namespace a backward rule receives as ``F`` when the backward pass is
itself recorded (``create_graph=True``).

It offers the names of :data:`nabla.ops.namespace.ARRAY_OPS` (the default, on plain arrays)
over the public functions, on Tensors, so the same rule builds a graph of the backward pass.
Masks (``F.data(x) > 0``, ``F.sign``) stay plain arrays: they carry no gradient.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np

from nabla._typing import Shape
from nabla.creation import zeros_like
from nabla.functional import (
    broadcast_to,
    exp,
    log,
    log_softmax,
    permute,
    sigmoid,
    softmax,
    sqrt,
    where,
)
from nabla.functional_pointwise import cos, cosh, sin, sinh
from nabla.ops.conv import Col2Im, Im2Col
from nabla.ops.shape import IndexAdd
from nabla.tensor import Tensor


def _index_add(g: Any, shape: Shape, index: Any) -> Any:
    return IndexAdd.apply(g, shape=shape, index=index)


def _data(x: Any) -> Any:
    return x.data if isinstance(x, Tensor) else x


TENSOR_OPS = SimpleNamespace(
    graph=True,
    data=_data,
    exp=exp,
    log=log,
    sqrt=sqrt,
    sign=lambda x: np.sign(_data(x)),
    sigmoid=sigmoid,
    where=where,
    mask=lambda g, keep: where(keep, g, 0),
    zeros_like=zeros_like,
    broadcast_to=broadcast_to,
    permute=permute,
    softmax=softmax,
    log_softmax=log_softmax,
    index_add=_index_add,
    im2col=lambda x, geo: Im2Col.apply(x, geo=geo),
    col2im=lambda p, geo: Col2Im.apply(p, geo=geo),
    sin=sin,
    cos=cos,
    sinh=sinh,
    cosh=cosh,
)
