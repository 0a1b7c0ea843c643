"""The functions of PyTorch's namespace that are the methods of
:mod:`nabla.tensor_layout`, with PyTorch's argument order."""

from __future__ import annotations

__all__: list[str] = []
