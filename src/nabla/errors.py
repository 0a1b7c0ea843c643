"""Exceptions nabla raises for mistakes a user can act on.

Every error subclasses :class:`NablaError` and a built-in exception, so callers can catch either
(``except ValueError`` keeps working for shape problems). The CLI catches ``NablaError``, prints
its one-line message and exits non-zero.
"""


class NablaError(Exception):
    """Base class of every error nabla raises on purpose."""


class ShapeError(NablaError, ValueError):
    """Operands whose shapes an op cannot combine; the message names the op and both shapes."""


class DTypeError(NablaError, TypeError):
    """An operation that is not defined for a dtype (gradients of integer tensors, ...)."""


class GraphError(NablaError, RuntimeError):
    """Misuse of the autograd graph: backward twice through a freed graph, non-scalar roots..."""


class DataError(NablaError, ValueError):
    """Bad input data: missing file, unknown column, non-numeric cell, NaN/inf, a single class."""


class ModelFileError(NablaError, ValueError):
    """A model or checkpoint file that is truncated, corrupted or does not match the model."""


class AnomalyError(NablaError, FloatingPointError):
    """Raised under ``nb.detect_anomaly()`` when an op first produces NaN or inf."""


class StateDictError(NablaError, RuntimeError):
    """A state dict whose keys or shapes do not match the module it is loaded into."""
