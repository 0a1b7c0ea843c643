"""Functions of PyTorch's namespace (random), with PyTorch's argument order."""

from __future__ import annotations

__all__: list[str] = []
