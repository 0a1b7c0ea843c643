"""``Embedding`` and ``embedding``: rows of a weight table picked by integer indices.

The gradient of the table is the output gradient summed into the rows that were picked (the
repeat → sum rule of indexing); rows picked at ``padding_idx`` get none, as in PyTorch.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nabla import functional as fn
from nabla.errors import DTypeError
from nabla.nn import init
from nabla.nn.module import Module, Parameter
from nabla.tensor import Tensor

__all__ = ["Embedding", "embedding"]


def embedding(input: Any, weight: Tensor, padding_idx: int | None = None) -> Tensor:
    """``weight[input]``; positions whose index is ``padding_idx`` pass no gradient to weight."""
    idx = np.asarray(input.data if isinstance(input, Tensor) else input)
    if idx.dtype.kind not in "iu":
        raise DTypeError(
            f"embedding: indices must be integers (int64 or int32), got dtype {idx.dtype}"
        )
    n = weight.shape[0]
    if idx.size and (idx.min() < 0 or idx.max() >= n):
        raise IndexError("embedding: index out of range in self")
    rows = weight[idx]
    if padding_idx is None:
        return rows
    if padding_idx < 0:
        padding_idx += n
    picked = (idx != padding_idx)[..., None]
    # the same values; at padding positions they come from a detached table (no gradient)
    return fn.where(picked, rows, weight.detach()[idx])


def _padding(padding_idx: int | None, num_embeddings: int) -> int | None:
    if padding_idx is None:
        return None
    if not -num_embeddings <= padding_idx < num_embeddings:
        raise ValueError("Padding_idx must be within num_embeddings")
    return padding_idx + num_embeddings if padding_idx < 0 else int(padding_idx)


class Embedding(Module):
    """A table of ``num_embeddings`` vectors of size ``embedding_dim``, looked up by index.

    Initialised N(0, 1) with the ``padding_idx`` row zeroed, as PyTorch.
    """

    def __init__(
        self,
        num_embeddings: int,
        embedding_dim: int,
        padding_idx: int | None = None,
        max_norm: float | None = None,
        scale_grad_by_freq: bool = False,
        sparse: bool = False,
        _weight: Any = None,
        _freeze: bool = False,
        dtype: Any = np.float32,
    ) -> None:
        super().__init__()
        if max_norm is not None or scale_grad_by_freq or sparse:
            raise NotImplementedError(
                "Embedding: max_norm, scale_grad_by_freq and sparse are not supported"
            )
        self.num_embeddings, self.embedding_dim = int(num_embeddings), int(embedding_dim)
        self.padding_idx = _padding(padding_idx, self.num_embeddings)
        shape = (self.num_embeddings, self.embedding_dim)
        if _weight is None:
            self.weight = Parameter(np.empty(shape, dtype=np.dtype(dtype)), not _freeze)
            self.reset_parameters()
        else:
            data = np.asarray(_weight.data if isinstance(_weight, Tensor) else _weight)
            if data.shape != shape:
                raise ValueError("Shape of weight does not match num_embeddings and embedding_dim")
            self.weight = Parameter(data, not _freeze)

    def reset_parameters(self) -> None:
        init.normal_(self.weight)
        if self.padding_idx is not None:
            self.weight.data[self.padding_idx] = 0

    @classmethod
    def from_pretrained(
        cls, embeddings: Any, freeze: bool = True, padding_idx: int | None = None
    ) -> Embedding:
        """An Embedding holding ``embeddings`` (a 2-d table), frozen unless ``freeze=False``."""
        data = np.asarray(embeddings.data if isinstance(embeddings, Tensor) else embeddings)
        if data.ndim != 2:
            raise ValueError("Embeddings parameter is expected to be 2-dimensional")
        rows, dim = data.shape
        return cls(rows, dim, padding_idx, _weight=data.copy(), _freeze=freeze)

    def forward(self, input: Any) -> Tensor:
        return embedding(input, self.weight, self.padding_idx)

    def get_config(self) -> dict[str, Any]:
        return {
            "num_embeddings": self.num_embeddings,
            "embedding_dim": self.embedding_dim,
            "padding_idx": self.padding_idx,
            "dtype": str(self.weight.dtype),
        }

    def extra_repr(self) -> str:
        pad = f", padding_idx={self.padding_idx}" if self.padding_idx is not None else ""
        return f"{self.num_embeddings}, {self.embedding_dim}{pad}"
