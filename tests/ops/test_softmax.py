"""Softmax and log-softmax at their edges (the values are covered by tests/nn/test_layers.py)."""

from __future__ import annotations

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
