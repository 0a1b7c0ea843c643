"""Every primitive documents its forward and backward rule (nb.explain reads these lines)."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

import nabla.ops
from nabla.autograd.function import Function


def _all_functions() -> list[type[Function]]:
    classes: set[type[Function]] = set()
    for info in pkgutil.iter_modules(nabla.ops.__path__):
        module = importlib.import_module(f"nabla.ops.{info.name}")
        for _, obj in inspect.getmembers(module, inspect.isclass):
            if (
                issubclass(obj, Function)
                and obj is not Function
                and not obj.__name__.startswith("_")
            ):
                classes.add(obj)
    return sorted(classes, key=lambda c: c.__name__)


FUNCTIONS = _all_functions()


def test_there_are_primitives() -> None:
    assert len(FUNCTIONS) >= 35


@pytest.mark.parametrize("cls", FUNCTIONS, ids=lambda c: c.__name__)
def test_forward_and_backward_lines(cls: type[Function]) -> None:
    doc = inspect.getdoc(cls) or ""
    assert "Forward:" in doc, cls
    assert "Backward:" in doc, cls
    assert "backward" in cls.__dict__ or any(
        "backward" in base.__dict__ for base in cls.__mro__[1:-2]
    )
