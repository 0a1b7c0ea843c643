"""Checks of optimizer and scheduler settings, each raising a one-line error naming the value."""

from __future__ import annotations

import numbers
from collections.abc import Mapping
from typing import Any

from nabla.errors import NablaError

__all__ = ["OptimizerError", "as_real", "check_fraction", "check_nonnegative"]


class OptimizerError(NablaError, ValueError):
    """A bad optimizer or scheduler setting: negative lr, a beta outside [0, 1), no parameters."""


def as_real(owner: object, name: str, value: Any) -> float:
    """``value`` as a float; TypeError naming ``owner`` and ``name`` if it is not a real number."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{type(owner).__name__}: {name} must be a real number, got {value!r}")
    return float(value)


def check_nonnegative(owner: object, group: Mapping[str, Any], *names: str) -> None:
    """Raise :class:`OptimizerError` unless each named hyperparameter is a real number >= 0."""
    for name in names:
        value = as_real(owner, name, group[name])
        if not value >= 0.0:  # also rejects NaN
            raise OptimizerError(f"{type(owner).__name__}: {name} must be >= 0, got {value!r}")


def check_fraction(owner: object, name: str, value: Any, *, include_one: bool) -> None:
    """Raise :class:`OptimizerError` unless ``value`` lies in [0, 1) (or [0, 1])."""
    number = as_real(owner, name, value)
    if not (0.0 <= number < 1.0 or (include_one and number == 1.0)):
        interval = "[0, 1]" if include_one else "[0, 1)"
        raise OptimizerError(
            f"{type(owner).__name__}: {name} must be in {interval}, got {value!r}"
        )
