"""nb.gradcheck reports the gradient itself for scalar functions, and catches wrong rules."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import nabla as nb
from nabla.gradcheck import GradcheckError


class _DoubledScale(nb.Function):
    """A deliberately wrong rule: forward scales by 1.1, backward by 2.2.

    Forward:  z = 1.1 · x
    Backward: ∇x = 2.2 · g
    """

    def forward(self, x: Any) -> Any:
        return 1.1 * x

    def backward(self, g: Any, F: Any, x: Any) -> tuple[Any]:
        return (2.2 * g,)


def test_a_scalar_function_reports_its_own_gradient_values() -> None:
    x = nb.tensor(np.array([0.3, -0.7, 1.9]), requires_grad=True)
    with pytest.raises(GradcheckError) as info:
        nb.gradcheck(lambda t: _DoubledScale.apply(t).sum(), x)
    message = str(info.value)
    # d/dx Σ 1.1·x = 1.1 (numeric); the wrong rule says 2.2 (analytic)
    assert "analytic gradient 2.2 vs numeric 1.1" in message, message
    assert "random u" not in message


def test_a_vector_function_says_its_values_are_weighted() -> None:
    x = nb.tensor(np.array([0.3, -0.7]), requires_grad=True)
    with pytest.raises(GradcheckError, match="of ⟨u, f\\(x\\)⟩, random u"):
        nb.gradcheck(lambda t: _DoubledScale.apply(t), x)


def test_a_right_rule_passes() -> None:
    x = nb.tensor(np.array([0.3, -0.7]), requires_grad=True)
    assert nb.gradcheck(lambda t: (nb.tanh(t) * t).sum(), x)
    assert nb.gradcheck(lambda t: nb.tanh(t) * t, x)


def test_inputs_may_come_as_one_tuple_as_in_pytorch() -> None:
    x = nb.tensor(np.array([0.3, -0.7]), requires_grad=True)
    y = nb.tensor(np.array([1.5, 2.0]), requires_grad=True)
    assert nb.gradcheck(lambda a, b: (a * b).sum(), (x, y))
    assert nb.gradgradcheck(lambda a, b: (a * a * b).sum(), [x, y])
