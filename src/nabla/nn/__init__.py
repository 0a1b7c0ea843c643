"""Neural-network building blocks: functional ops, modules, losses, regularisation."""

from nabla.nn import functional

__all__ = ["functional"]
