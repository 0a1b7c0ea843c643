"""Broadcasting is undone in one place: property tests over random broadcastable shapes."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import nabla as nb


@settings(max_examples=40, deadline=None)
@given(
    shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=3),
    op=st.sampled_from([nb.add, nb.sub, nb.mul, nb.maximum]),
    seed=st.integers(0, 2**16),
)
def test_binary_ops_gradcheck_on_broadcast_shapes(shapes, op, seed) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(seed)
    xa = rng.uniform(-2, 2, shapes.input_shapes[0])
    ya = rng.uniform(-2, 2, shapes.input_shapes[1])
    # maximum has a kink where x = y: keep the pairs further apart than the finite-difference
    # step, or the central difference straddles it
    while op is nb.maximum and np.size(xa - ya) and np.abs(xa - ya).min() < 1e-3:
        ya = rng.uniform(-2, 2, shapes.input_shapes[1])
    x = nb.tensor(xa, requires_grad=True)
    y = nb.tensor(ya, requires_grad=True)
    assert nb.gradcheck(op, x, y)


@settings(max_examples=30, deadline=None)
@given(
    shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=1, max_dims=3, max_side=3),
    seed=st.integers(0, 2**16),
)
def test_gradient_of_broadcast_operand_is_sum_over_copies(shapes, seed) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(seed)
    a = rng.standard_normal(shapes.input_shapes[0])
    b = rng.standard_normal(shapes.input_shapes[1])
    x = nb.tensor(a, requires_grad=True)
    (x * b).sum().backward()
    # d/dx Σ broadcast(x) ⊙ b: each element of x collects the sum over its copies
    full = np.broadcast_to(b, shapes.result_shape).copy()
    expected = full
    lead = len(shapes.result_shape) - a.ndim
    expected = expected.sum(axis=tuple(range(lead))) if lead else expected
    for axis, n in enumerate(a.shape):
        if n == 1:
            expected = expected.sum(axis=axis, keepdims=True)
    np.testing.assert_allclose(x.grad, expected.reshape(a.shape))
