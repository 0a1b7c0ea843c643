"""Functions of PyTorch's namespace (numeric), with PyTorch's argument order."""

from __future__ import annotations

__all__: list[str] = []
