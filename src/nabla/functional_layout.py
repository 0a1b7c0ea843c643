"""The layout functions of PyTorch's namespace: ``nb.flip``, ``nb.fliplr``, ``nb.flipud``,
``nb.roll``, ``nb.unbind``, ``nb.narrow``, ``nb.movedim``, ``nb.moveaxis``, ``nb.swapdims``,
``nb.swapaxes``, ``nb.tile``, ``nb.tril``, ``nb.triu``, ``nb.diag``, ``nb.diagonal`` and
``nb.trace``.

Each is its method (written in :mod:`nabla.tensor_layout`) with PyTorch's argument order; where
PyTorch's function takes a sequence of dims (``torch.flip(x, dims)``, ``torch.tile(x, dims)``)
so does this one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from nabla.creation import as_tensor as _t
from nabla.tensor import Tensor


def _dims(op: str, dims: Any) -> tuple[int, ...]:
    if not isinstance(dims, (tuple, list)):
        raise TypeError(
            f"{op}(): argument 'dims' must be a tuple of ints, not {type(dims).__name__}"
        )
    return tuple(dims)


def flip(input: Any, dims: Sequence[int]) -> Tensor:
    """``input`` with the order of its entries reversed along ``dims`` (``torch.flip``)."""
    return _t(input).flip(_dims("flip", dims))


def fliplr(input: Any) -> Tensor:
    """``input`` with its columns (dim 1) reversed (``torch.fliplr``; at least 2-D)."""
    return _t(input).fliplr()


def flipud(input: Any) -> Tensor:
    """``input`` with its rows (dim 0) reversed (``torch.flipud``; at least 1-D)."""
    return _t(input).flipud()


def roll(input: Any, shifts: Any, dims: Any = None) -> Tensor:
    """``input`` shifted cyclically by ``shifts`` along ``dims`` (``torch.roll``)."""
    return _t(input).roll(shifts, dims)


def unbind(input: Any, dim: int = 0) -> tuple[Tensor, ...]:
    """The slices of ``input`` along ``dim``, that dim removed (``torch.unbind``)."""
    return _t(input).unbind(dim)


def narrow(input: Any, dim: int, start: Any, length: int) -> Tensor:
    """The ``length`` entries of ``input`` from ``start`` along ``dim`` (``torch.narrow``)."""
    return _t(input).narrow(dim, start, length)


def movedim(input: Any, source: Any, destination: Any) -> Tensor:
    """``input`` with the dims ``source`` moved to ``destination`` (``torch.movedim``)."""
    return _t(input).movedim(source, destination)


moveaxis = movedim


def swapdims(input: Any, dim0: int, dim1: int) -> Tensor:
    """``input`` with two dims swapped (``torch.swapdims``, ``torch.transpose``)."""
    return _t(input).swapaxes(dim0, dim1)


def swapaxes(input: Any, axis0: int, axis1: int) -> Tensor:
    """``input`` with two dims swapped (``torch.swapaxes``, ``torch.transpose``)."""
    return _t(input).swapaxes(axis0, axis1)


def tile(input: Any, dims: Sequence[int]) -> Tensor:
    """``input`` repeated ``dims[i]`` times along dim i (``torch.tile``)."""
    return _t(input).tile(_dims("tile", dims))


def tril(input: Any, diagonal: int = 0) -> Tensor:
    """The lower triangle of the last two dims of ``input``, the rest 0 (``torch.tril``)."""
    return _t(input).tril(diagonal)


def triu(input: Any, diagonal: int = 0) -> Tensor:
    """The upper triangle of the last two dims of ``input``, the rest 0 (``torch.triu``)."""
    return _t(input).triu(diagonal)


def diag(input: Any, diagonal: int = 0) -> Tensor:
    """A vector on a diagonal of a square matrix, or a matrix's diagonal (``torch.diag``)."""
    return _t(input).diag(diagonal)


def diagonal(input: Any, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
    """The ``offset``-th diagonal of dims ``dim1``, ``dim2`` as a last dim, a view
    (``torch.diagonal``)."""
    return _t(input).diagonal(offset, dim1, dim2)


def trace(input: Any) -> Tensor:
    """The sum of the main diagonal of a matrix (``torch.trace``)."""
    return _t(input).trace()


__all__ = [
    "diag",
    "diagonal",
    "flip",
    "fliplr",
    "flipud",
    "moveaxis",
    "movedim",
    "narrow",
    "roll",
    "swapaxes",
    "swapdims",
    "tile",
    "trace",
    "tril",
    "triu",
    "unbind",
]
