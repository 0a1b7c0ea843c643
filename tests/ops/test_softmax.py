"""Softmax and log-softmax at their edges (the values are covered by tests/nn/test_layers.py)."""

from __future__ import annotations

import numpy as np
import pytest

import nabla as nb


@pytest.mark.parametrize("fn", [nb.softmax, nb.log_softmax], ids=["softmax", "log_softmax"])
@pytest.mark.parametrize("axis", [1, -1])
def test_softmax_over_an_empty_axis_is_empty(fn, axis) -> None:  # type: ignore[no-untyped-def]
    # PyTorch returns an empty tensor (and backward works); the max has nothing to reduce
    x = nb.zeros((3, 0), requires_grad=True)
    y = fn(x, axis=axis)
    assert y.shape == (3, 0)
    y.sum().backward()
    assert x.grad.shape == (3, 0)
    (g,) = nb.grad(fn(x, axis=axis).sum(), x, create_graph=True)
    assert g.shape == (3, 0)
    assert fn(nb.zeros((0, 4)), axis=axis).shape == (0, 4)


def test_softmax_of_an_empty_array_still_checks_the_axis() -> None:
    with pytest.raises(ValueError, match="axis 2 is out of bounds"):
        nb.softmax(nb.zeros((3, 0)), axis=2)


@pytest.mark.parametrize("axis", [0, -1])
def test_softmax_of_a_0d_tensor(axis: int) -> None:
    # one element: softmax is 1 and log_softmax 0, with zero gradients (PyTorch)
    for op, value in ((nb.softmax, 1.0), (nb.log_softmax, 0.0)):
        x = nb.tensor(np.float64(3.0), requires_grad=True)
        y = op(x, axis)
        assert y.shape == () and y.item() == value
        y.backward()
        assert x.grad == 0.0
        (g,) = nb.grad(op(x, axis), x, create_graph=True)
        assert g.item() == 0.0
    with pytest.raises(IndexError, match="softmax: dimension out of range"):
        nb.softmax(nb.tensor(1.0), 1)
