"""Every primitive against central differences (float64), first and second order."""

from __future__ import annotations

import numpy as np
import pytest

import nabla as nb

from .cases import OP_CASES, OpCase


@pytest.mark.parametrize("case", OP_CASES, ids=lambda c: c.name)
def test_gradcheck(case: OpCase, rng: np.random.Generator) -> None:
    assert nb.gradcheck(case.fn, *case.make_inputs(rng), **case.check)


@pytest.mark.parametrize("case", [c for c in OP_CASES if c.second_order], ids=lambda c: c.name)
def test_gradgradcheck(case: OpCase, rng: np.random.Generator) -> None:
    assert nb.gradgradcheck(case.fn, *case.make_inputs(rng), **case.check)


def test_gradcheck_can_fail() -> None:
    """A wrong backward rule (log's derivative as 1/(2x)) must be caught, naming the input."""

    class BadLog(nb.Function):
        """Forward: z = log(x)
        Backward: ∇x = g / (2x)   (wrong on purpose)
        """

        def forward(self, x):  # type: ignore[no-untyped-def]
            return np.log(x)

        def backward(self, g, F, x):  # type: ignore[no-untyped-def]
            return (g / (2 * x),)

    x = nb.tensor(np.array([0.5, 1.0, 2.0]), requires_grad=True, name="x")
    with pytest.raises(nb.GradcheckError, match=r"input 0 \('x'.*analytic .* numeric"):
        nb.gradcheck(lambda t: BadLog.apply(t), x)
    assert not nb.gradcheck(lambda t: BadLog.apply(t), x, raise_exception=False)


def test_gradcheck_fast_mode_can_fail() -> None:
    class Doubled(nb.Function):
        """Forward: z = x²
        Backward: ∇x = 4 g x   (wrong on purpose)
        """

        def forward(self, x):  # type: ignore[no-untyped-def]
            return x * x

        def backward(self, g, F, x):  # type: ignore[no-untyped-def]
            return (4 * g * x,)

    x = nb.tensor(np.linspace(0.5, 2, 50), requires_grad=True)
    assert nb.gradcheck(lambda t: t * t, x, fast_mode=True)
    with pytest.raises(nb.GradcheckError, match="directional"):
        nb.gradcheck(lambda t: Doubled.apply(t), x, fast_mode=True)


def test_gradcheck_requires_float64() -> None:
    x = nb.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(ValueError, match="float64"):
        nb.gradcheck(nb.exp, x)


def test_gradgradcheck_catches_a_non_differentiable_rule() -> None:
    """A rule that leaves the graph (computes on .data) gives wrong second derivatives."""

    class Cube(nb.Function):
        """Forward: z = x³
        Backward: ∇x = 3 g x²  (computed outside the graph on purpose)
        """

        def forward(self, x):  # type: ignore[no-untyped-def]
            return x**3

        def backward(self, g, F, x):  # type: ignore[no-untyped-def]
            return (g * (3 * F.data(x) ** 2),)

    x = nb.tensor(np.array([0.5, 1.0, 2.0]), requires_grad=True)
    assert nb.gradcheck(lambda t: Cube.apply(t), x)
    with pytest.raises(nb.GradcheckError):
        nb.gradgradcheck(lambda t: Cube.apply(t), x)


@pytest.mark.parametrize(
    ("x_shape", "w_shape"), [((256, 1), (1, 784)), ((2, 7, 1), (1, 3)), ((1, 9), (9, 4))]
)
def test_matmul_over_one_element_equals_numpy_bitwise(
    x_shape: tuple[int, ...], w_shape: tuple[int, ...], rng: np.random.Generator
) -> None:
    """A length-1 contraction is computed as a broadcast product: the very values of the GEMM
    (one product per entry), in forward and in the gradients of a batch-1 dense layer."""
    x = rng.standard_normal(x_shape).astype(np.float32)
    w = rng.standard_normal(w_shape).astype(np.float32)
    np.testing.assert_array_equal((nb.tensor(x) @ nb.tensor(w)).data, np.matmul(x, w))
    if x_shape[0] != 1:
        return
    xt = nb.tensor(x)
    wt = nb.tensor(w.T.copy(), requires_grad=True)  # (out, in): a dense layer's weight
    g = rng.standard_normal((1, w.shape[1])).astype(np.float32)
    nb.linear(xt, wt).backward(g)
    np.testing.assert_array_equal(wt.grad, np.matmul(g.T, x))  # ∇W = Gᵀ X, K = 1


@pytest.mark.parametrize("rows", [1, 4, 5, 8, 32, 33, 128])
def test_linear_forward_layouts_agree(rows: int, rng: np.random.Generator) -> None:
    """Few rows against a wide float32 weight take the W Xᵀ route (see Linear.forward): the
    output is the same product, row-major, as X Wᵀ computed in float64 and rounded."""
    x = rng.standard_normal((rows, 300)).astype(np.float32)
    w = rng.standard_normal((40, 300)).astype(np.float32)
    b = rng.standard_normal(40).astype(np.float32)
    z = nb.linear(nb.tensor(x), nb.tensor(w), nb.tensor(b)).data
    assert z.dtype == np.float32 and z.flags.c_contiguous
    exact = x.astype(np.float64) @ w.T.astype(np.float64) + b
    np.testing.assert_allclose(z, exact, rtol=1e-5, atol=1e-4)
