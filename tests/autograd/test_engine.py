"""The backward engine: accumulation, branches, freeing, higher order, long chains."""

from __future__ import annotations

import numpy as np
import pytest

import nabla as nb
from nabla.autograd.engine import unbroadcast


def test_leaf_gradients_accumulate_across_backward_calls() -> None:
    x = nb.tensor([1.0, 2.0], requires_grad=True)
    (x * 3.0).sum().backward()
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad, [3 + 2, 3 + 4])
    assert x.grad.dtype == np.float32


def test_branch_receives_sum_of_gradients() -> None:
    # the notes' branch node: z = f(x) + g(x), so dz/dx = f'(x) + g'(x)
    x = nb.tensor(np.array([0.3, -1.2]), requires_grad=True)
    y = nb.exp(x) + nb.sin(x)
    y.sum().backward()
    np.testing.assert_allclose(x.grad, np.exp(x.data) + np.cos(x.data))


def test_gradient_of_leaf_does_not_alias_other_buffers() -> None:
    x = nb.tensor(np.ones(3), requires_grad=True)
    y = nb.tensor(np.ones(3), requires_grad=True)
    (x + y).sum().backward()
    x.grad += 1  # must not change y.grad
    np.testing.assert_array_equal(y.grad, np.ones(3))


def test_upstream_grad_is_not_modified() -> None:
    x = nb.tensor(np.ones(3), requires_grad=True)
    g = np.array([1.0, 2.0, 3.0])
    y = x + x
    y.backward(g)
    np.testing.assert_array_equal(g, [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(x.grad, 2 * g)


def test_non_scalar_backward_needs_grad() -> None:
    x = nb.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(nb.GraphError, match=r"scalar outputs.*shape \(2,\)"):
        (x * 2.0).backward()
    y = x * 2.0
    y.backward(np.array([1.0, -1.0], dtype=np.float32))
    np.testing.assert_array_equal(x.grad, [2.0, -2.0])


def test_grad_shape_must_match_output() -> None:
    x = nb.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(nb.ShapeError, match=r"\(3,\).*\(2,\)"):
        (x * 2.0).backward(np.ones(3))


def test_second_backward_through_freed_graph_raises() -> None:
    x = nb.tensor([1.0, 2.0], requires_grad=True)
    loss = (nb.tanh(x) * 2.0).sum()
    loss.backward()
    with pytest.raises(nb.GraphError, match="second time"):
        loss.backward()


def test_failed_second_backward_leaves_grad_untouched() -> None:
    x = nb.tensor([1.0, 2.0], requires_grad=True)
    w = nb.tensor([3.0, -1.0], requires_grad=True)
    loss = (nb.tanh(x) * w).sum() + (w * w).sum()
    loss.backward()
    before = x.grad.copy(), w.grad.copy()
    with pytest.raises(nb.GraphError, match="second time"):
        loss.backward()
    np.testing.assert_array_equal(x.grad, before[0])
    np.testing.assert_array_equal(w.grad, before[1])


def test_order_follows_dependencies_not_creation_depth() -> None:
    """A tensor reused by an op created much later, through paths of different lengths: its
    gradient must be complete (all consumers done) before its own op runs backward."""
    x = nb.tensor(np.array([0.3, -0.7, 1.1]), requires_grad=True)
    a = nb.exp(x)  # used early and again at the very end
    b = a
    for _ in range(5):  # a long chain created between a's two uses
        b = nb.tanh(b) * 1.5
    side = nb.sigmoid(x) * a  # an op created later that also consumes x and a
    out = (b * a).sum() + side.sum() + (a * a).sum()
    out.backward()

    def f(v: np.ndarray) -> float:
        av = np.exp(v)
        bv = av
        for _ in range(5):
            bv = np.tanh(bv) * 1.5
        return float((bv * av).sum() + (av / (1 + np.exp(-v))).sum() + (av * av).sum())

    x0, eps = x.data.copy(), 1e-6
    numeric = np.array([(f(x0 + eps * e) - f(x0 - eps * e)) / (2 * eps) for e in np.eye(3)])
    np.testing.assert_allclose(x.grad, numeric, rtol=1e-7, atol=1e-9)


def test_retain_graph_allows_second_backward() -> None:
    x = nb.tensor([1.0, 2.0], requires_grad=True)
    loss = (nb.tanh(x) * 2.0).sum()
    loss.backward(retain_graph=True)
    first = x.grad.copy()
    loss.backward()
    np.testing.assert_allclose(x.grad, 2 * first)


def test_backward_frees_saved_buffers() -> None:
    x = nb.tensor(np.ones(3), requires_grad=True)
    h = nb.tanh(x)
    loss = h.sum()
    assert h.grad_fn is not None and h.grad_fn.inputs is not None
    loss.backward()
    assert h.grad_fn.inputs is None
    assert loss.grad_fn.inputs is None


def test_integer_backward_refused() -> None:
    with pytest.raises(nb.DTypeError, match="floating point"):
        nb.tensor([1, 2], requires_grad=True)
    with pytest.raises(nb.DTypeError, match="int64"):
        nb.tensor([1, 2]).sum().backward()


def test_backward_of_tensor_without_graph() -> None:
    with pytest.raises(nb.GraphError, match="does not require grad"):
        nb.tensor([1.0]).sum().backward()


def test_no_grad_builds_no_graph() -> None:
    w = nb.ones(3, requires_grad=True)
    with nb.no_grad():
        y = (w * 2.0).sum()
    assert not y.requires_grad and y.grad_fn is None
    z = (w * 2.0).sum()
    assert z.requires_grad


def test_no_grad_as_decorator_and_enable_grad() -> None:
    w = nb.ones(3, requires_grad=True)

    @nb.no_grad()
    def f() -> nb.Tensor:
        with nb.enable_grad():
            inner = w * 2.0
        assert inner.requires_grad
        return w * 2.0

    assert not f().requires_grad
    assert nb.is_grad_enabled()


def test_grad_function_does_not_touch_dot_grad() -> None:
    x = nb.tensor(np.array([1.0, 2.0]), requires_grad=True)
    y = nb.tensor(np.array([3.0, 4.0]), requires_grad=True)
    z = (x * y).sum()
    gx, gy = nb.grad(z, [x, y])
    np.testing.assert_array_equal(gx.data, y.data)
    np.testing.assert_array_equal(gy.data, x.data)
    assert x.grad is None and y.grad is None


def test_grad_of_intermediate_tensor() -> None:
    x = nb.tensor(np.array([1.0, 2.0]), requires_grad=True)
    h = x * 3.0
    z = (h * h).sum()
    (gh,) = nb.grad(z, h)
    np.testing.assert_allclose(gh.data, 2 * h.data)


def test_grad_unused_input() -> None:
    x = nb.tensor(np.array([1.0]), requires_grad=True)
    y = nb.tensor(np.array([1.0]), requires_grad=True)
    with pytest.raises(nb.GraphError, match="not used"):
        nb.grad((x * 2.0).sum(), [x, y])
    gx, gy = nb.grad((x * 2.0).sum(), [x, y], allow_unused=True)
    assert gy is None and gx.item() == 2.0


def test_hessian_vector_product() -> None:
    # f(x) = Σ x_i³ → H = diag(6x), H v = 6 x ⊙ v
    x = nb.tensor(np.array([1.0, -2.0, 0.5]), requires_grad=True)
    v = np.array([0.3, 0.1, -1.0])
    (g,) = nb.grad((x**3).sum(), x, create_graph=True)
    (hv,) = nb.grad((g * v).sum(), x)
    np.testing.assert_allclose(hv.data, 6 * x.data * v)


def test_gradient_penalty_trains_through_second_order() -> None:
    # penalty ‖∂(w·x²)/∂x‖² = Σ (2 w x)² ; d/dw = Σ 8 w x²·x² ... checked numerically
    def penalty(w: nb.Tensor) -> nb.Tensor:
        x = nb.tensor(np.array([0.5, -1.5, 2.0]), requires_grad=True)
        (gx,) = nb.grad((w * x * x).sum(), x, create_graph=True)
        return (gx * gx).sum()

    w = nb.tensor(np.array([0.7]), requires_grad=True)
    assert nb.gradcheck(penalty, w)


def test_third_derivative() -> None:
    x = nb.tensor(np.array([0.7]), requires_grad=True)
    (g1,) = nb.grad(nb.tanh(x).sum(), x, create_graph=True)
    (g2,) = nb.grad(g1.sum(), x, create_graph=True)
    (g3,) = nb.grad(g2.sum(), x)
    t = np.tanh(0.7)
    np.testing.assert_allclose(g3.data, [-2 * (1 - t**2) ** 2 + 4 * t**2 * (1 - t**2)])


def test_chain_of_100000_ops_has_no_recursion_limit() -> None:
    x = nb.tensor(np.array(1.0), requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y * 1.0
    y.backward()
    assert x.grad == 1.0


def test_unbroadcast_sums_repeated_axes() -> None:
    g = np.ones((2, 3, 4))
    np.testing.assert_array_equal(unbroadcast(g, (3, 1)), np.full((3, 1), 8.0))
    np.testing.assert_array_equal(unbroadcast(g, ()), np.array(24.0))
    assert unbroadcast(g, (2, 3, 4)) is g


def test_graph_has_no_reference_cycles() -> None:
    import gc
    import weakref

    gc.collect()
    gc.disable()
    try:
        x = nb.tensor(np.ones((4, 4)), requires_grad=True)
        h = nb.tanh(x @ x)
        ref = weakref.ref(h)
        loss = h.sum()
        del h
        assert ref() is not None  # held by the graph of loss
        del loss
        assert ref() is None  # freed by reference counting alone, no collector needed
    finally:
        gc.enable()


def test_float32_stays_float32() -> None:
    x = nb.randn(4, 3, requires_grad=True)
    w = nb.randn(3, 2, requires_grad=True)
    loss = (nb.tanh(x @ w) * 0.5 + 1).mean() / 3.0
    assert loss.dtype == np.float32
    loss.backward()
    assert x.grad.dtype == np.float32 and w.grad.dtype == np.float32


def test_mixed_dtypes_follow_numpy_promotion() -> None:
    a = nb.tensor(np.ones(2, dtype=np.float32), requires_grad=True)
    b = nb.tensor(np.ones(2, dtype=np.float64), requires_grad=True)
    c = a * b
    assert c.dtype == np.float64
    c.sum().backward()
    assert a.grad.dtype == np.float32 and b.grad.dtype == np.float64


def test_leaf_root_grad_does_not_alias_the_given_gradient() -> None:
    x = nb.tensor(np.zeros(3), requires_grad=True)
    g = np.ones(3)
    x.backward(g)
    x.grad += 1
    np.testing.assert_array_equal(g, np.ones(3))


def test_in_place_accumulation_does_not_touch_saved_values() -> None:
    # y is used twice; its gradient is accumulated in place into an engine-owned buffer,
    # which must never be one of the forward values saved for backward
    x = nb.tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    y = x * 2.0
    z = (y * y + nb.tanh(y)).sum()
    z.backward()
    yd = 2 * x.data
    np.testing.assert_allclose(x.grad, 2 * (2 * yd + 1 - np.tanh(yd) ** 2))


_PLAIN_CASES = {
    "broadcast and reuse": lambda a, b: ((a * b + b).tanh() * a).sum(),
    "outputs saved (exp, sigmoid)": lambda a, b: (a.exp() * b.sigmoid() + a).mean(),
    "matmul and division": lambda a, b: ((a @ b.T) / (1.0 + b.sum())).sum(),
    "indexing and max": lambda a, b: (a[:, 1:] * b[:, :2]).max() + (a[0] * b[0]).sum(),
    # each activation receives a fresh gradient from a product: backward_into writes into it
    "activations written in place": lambda a, b: (
        nb.relu(nb.tanh(nb.sigmoid(a @ b.T) @ b) @ b.T - 0.1) @ b
    ).sum(),
}


@pytest.mark.parametrize("case", list(_PLAIN_CASES))
def test_plain_backward_equals_nb_grad(case: str, rng: np.random.Generator) -> None:
    """``.backward()`` runs the engine's dedicated loop; ``nb.grad`` runs the general one: they
    must give the same gradients bitwise, and ``.backward()`` adds to existing ``.grad``."""
    f = _PLAIN_CASES[case]
    a = nb.tensor(rng.standard_normal((4, 3)), requires_grad=True)
    b = nb.tensor(
        rng.standard_normal((1, 3)) if "broadcast" in case else rng.standard_normal((4, 3)),
        requires_grad=True,
    )
    expected = nb.grad(f(a, b), [a, b])
    f(a, b).backward()
    np.testing.assert_array_equal(a.grad, expected[0].data)
    np.testing.assert_array_equal(b.grad, expected[1].data)
    f(a, b).backward()  # accumulates
    np.testing.assert_array_equal(a.grad, 2 * expected[0].data)
    np.testing.assert_array_equal(b.grad, 2 * expected[1].data)


@pytest.mark.parametrize("existing", [False, True])
def test_a_leaf_used_by_many_ops_sums_their_gradients_as_the_general_loop_does(
    existing: bool,
) -> None:
    # .backward() hands a leaf its first gradient at once and adds later ones into it; nb.grad
    # (the general loop) sums them while pending: the same sums in the same order, bitwise
    rng = np.random.default_rng(3)
    w = nb.tensor(rng.standard_normal((5, 4)).astype(np.float32), requires_grad=True)
    x = nb.tensor(rng.standard_normal((7, 4)).astype(np.float32))
    before = rng.standard_normal((5, 4)).astype(np.float32)

    def loss() -> nb.Tensor:
        h = nb.tanh(x @ w.T)  # w used four times: three products and one elementwise
        return (nb.relu(h @ w) @ w.T).sum() + (w * w).sum() * 0.1

    (total,) = nb.grad(loss(), w)
    if existing:
        w.grad = before.copy()
    loss().backward()
    expected = before + total if existing else total
    assert w.grad.dtype == np.float32
    np.testing.assert_array_equal(w.grad, expected)


def test_a_leaf_gradient_that_is_the_upstream_gradient_is_copied() -> None:
    x = nb.tensor(np.ones(3), requires_grad=True)
    g = np.array([1.0, 2.0, 3.0])
    (x + 0.0).backward(g)  # add passes g straight through to x
    assert x.grad is not g and not np.shares_memory(x.grad, g)
    x.grad += 1
    np.testing.assert_array_equal(g, [1.0, 2.0, 3.0])


def test_float64_gradients_reaching_a_float32_leaf_are_cast_before_they_are_summed() -> None:
    w = nb.tensor(np.array([0.1, 0.7, -0.4], dtype=np.float32), requires_grad=True)
    # float64: w * c is float64 (values where summing before the cast rounds differently)
    c = nb.tensor(np.array([0.9127555772777217, 0.5436249914654229, 0.8574042765875693]))
    ((w * c).sum() + (w * c * c).sum()).backward()
    expected = c.data.astype(np.float32) + (c.data**2).astype(np.float32)
    assert w.grad.dtype == np.float32
    np.testing.assert_array_equal(w.grad, expected)


def test_a_0d_tensor_read_twice_gets_an_array_gradient() -> None:
    # two 0-d gradients add up to a NumPy scalar; the in-place kernels need an array
    x = nb.tensor(np.float64(0.5), requires_grad=True)
    h = nb.relu(x)
    (h * 2 + h * 3).backward()
    assert type(x.grad) is np.ndarray and x.grad == 5.0
    t = nb.tanh(x)
    x.grad = None
    (t + t).backward()
    np.testing.assert_allclose(x.grad, 2 * (1 - np.tanh(0.5) ** 2))
