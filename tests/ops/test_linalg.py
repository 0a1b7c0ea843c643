"""matmul and the fused dense layer on edge shapes (the notes' ∇W = Oᵀ G, ∇b = 1ᵀ G)."""

from __future__ import annotations

import numpy as np
import pytest

import nabla as nb


@pytest.mark.parametrize(
    ("x_shape", "w_shape"),
    [((0,), (2, 0)), ((0, 3), (2, 3)), ((2, 0, 3), (2, 3)), ((4, 3), (0, 3)), ((4, 0), (2, 0))],
)
def test_linear_with_a_size_0_operand(x_shape: tuple[int, ...], w_shape: tuple[int, ...]) -> None:
    rng = np.random.default_rng(0)
    x = nb.tensor(rng.standard_normal(x_shape), requires_grad=True)
    w = nb.tensor(rng.standard_normal(w_shape), requires_grad=True)
    b = nb.tensor(rng.standard_normal(w_shape[:1]), requires_grad=True)
    y = nb.linear(x, w, b)
    np.testing.assert_allclose(y.data, x.data @ w.data.T + b.data)
    g = rng.standard_normal(y.shape)
    y.backward(g)
    rows = int(np.prod(x_shape[:-1]))  # -1 is undetermined when a size is 0
    g2 = g.reshape(rows, w_shape[0])
    np.testing.assert_allclose(x.grad, g @ w.data)
    np.testing.assert_allclose(w.grad, g2.T @ x.data.reshape(rows, w_shape[1]))
    np.testing.assert_allclose(b.grad, g2.sum(axis=0))
