"""Reductions at their edges, with PyTorch's semantics: std/var of constant slices and of huge
float32 values, max/min along a dim as (values, indices), logsumexp over an empty axis.

The expected values are PyTorch 2.13's where they are not plain arithmetic (noted per test).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest

import nabla as nb

# ----- std / var ------------------------------------------------------------------------------
# A batch whose first feature is constant: its std is 0, its variance's gradient is 0.
CONSTANT_COLUMN = np.array([[1.0, 2.0], [1.0, 3.0], [1.0, 5.0]])


def test_std_of_a_constant_slice_has_a_zero_gradient() -> None:
    # PyTorch: std's backward is g / (2 std) masked to 0 where std == 0, so the standardised
    # feature x / (std + 1e-5) has gradient 1 / 1e-5 at the constant column (1e5), not nan
    x = nb.tensor(CONSTANT_COLUMN, requires_grad=True)
    (x / (x.std(0) + 1e-5)).sum().backward()
    assert np.isfinite(x.grad).all()
    np.testing.assert_allclose(x.grad[:, 0], 1e5, rtol=1e-12)
    # the other column, from PyTorch 2.13
    np.testing.assert_allclose(x.grad[:, 1], [2.5250639546, 1.1222530274, -1.6833688270])

    z = nb.tensor(np.ones(4), requires_grad=True)
    z.std().backward()
    np.testing.assert_array_equal(z.grad, 0.0)


def test_std_of_a_constant_slice_second_order() -> None:
    x = nb.tensor(CONSTANT_COLUMN, requires_grad=True)
    (g,) = nb.grad(x.std(0).sum(), x, create_graph=True)
    np.testing.assert_allclose(g.data[:, 1], [-0.4364357805, -0.1091089451, 0.5455447256])
    np.testing.assert_array_equal(g.data[:, 0], 0.0)
    (h,) = nb.grad((g * nb.tensor(np.arange(6.0).reshape(3, 2))).sum(), x)
    # Hessian-vector product, from PyTorch 2.13: zero at the constant column
    np.testing.assert_allclose(h.data[:, 1], [-0.0935219530, 0.1402829294, -0.0467609765])
    np.testing.assert_array_equal(h.data[:, 0], 0.0)


@pytest.mark.parametrize("fn", [nb.std, nb.var], ids=["std", "var"])
@pytest.mark.parametrize("kwargs", [{"axis": 0}, {"axis": 1, "correction": 0}, {}])
def test_std_and_var_gradients(fn, kwargs, rng) -> None:  # type: ignore[no-untyped-def]
    x = nb.tensor(rng.normal(size=(5, 3)), requires_grad=True)
    assert nb.gradcheck(lambda t: fn(t, **kwargs), x)
    assert nb.gradgradcheck(lambda t: fn(t, **kwargs), x)


def test_float32_std_and_var_do_not_overflow_on_the_way() -> None:
    # PyTorch accumulates in a wider type: std([1e30, −1e30]) is √2·1e30, finite in float32
    x = nb.tensor(np.array([1e30, -1e30], dtype=np.float32), requires_grad=True)
    s = x.std()
    assert s.dtype == np.float32
    assert s.item() == float(np.float32(np.sqrt(2.0) * 1e30))
    assert x.std(correction=0).item() == float(np.float32(1e30))
    s.backward()
    np.testing.assert_allclose(x.grad, [0.7071068, -0.7071068], rtol=1e-6)
    # the variance itself, 2e60, is beyond float32: inf, without a warning (as PyTorch)
    assert np.isposinf(x.var().item())
    assert x.var(axis=0, keepdims=True).shape == (1,)


def test_std_and_var_refuse_integers() -> None:
    with pytest.raises(TypeError, match="std: input dtype should be floating point"):
        nb.std(nb.tensor([1, 2, 3]))


def test_var_without_degrees_of_freedom_warns_and_is_nan() -> None:
    with pytest.warns(UserWarning, match=r"var: degrees of freedom is <= 0"):
        v = nb.var(nb.tensor([3.0]))
    assert np.isnan(v.item())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert nb.std(nb.tensor([3.0]), correction=0).item() == 0.0


# ----- max / min along a dim ------------------------------------------------------------------
TIES = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 0.0]])


def test_max_along_a_dim_returns_values_and_indices() -> None:
    x = nb.tensor([[0.1, 0.7, 0.2], [0.9, 0.05, 0.05]])
    _, pred = x.max(1)  # the classic accuracy idiom: pred must be the class indices
    np.testing.assert_array_equal(pred.data, [1, 0])
    out = nb.max(x, dim=1)
    assert out._fields == ("values", "indices")
    np.testing.assert_array_equal(out.values.data, np.float32([0.7, 0.9]))
    assert out.indices.dtype == np.int64
    assert not out.indices.requires_grad
    kept = x.min(axis=0, keepdims=True)
    assert kept.values.shape == kept.indices.shape == (1, 3)
    np.testing.assert_array_equal(kept.indices.data, [[0, 1, 1]])
    # no dim: one tensor, as PyTorch
    assert isinstance(x.max(), nb.Tensor)
    assert x.max().item() == np.float32(0.9)


def test_max_along_a_dim_sends_the_gradient_to_the_returned_index_only() -> None:
    # PyTorch: max(dim) routes g to its index; amax (and max without dim) share it among ties
    x = nb.tensor(TIES, requires_grad=True)
    values, indices = x.max(1)
    np.testing.assert_array_equal(indices.data, [1, 0])  # the first of equal maxima
    values.sum().backward()
    np.testing.assert_array_equal(x.grad, [[0, 1, 0], [1, 0, 0]])
    x.grad = None
    x.amax(1).sum().backward()
    np.testing.assert_array_equal(x.grad, [[0, 0.5, 0.5], [0.5, 0.5, 0]])
    x.grad = None
    nb.min(x, 1).values.sum().backward()
    np.testing.assert_array_equal(x.grad, [[1, 0, 0], [0, 0, 1]])
    x.grad = None
    nb.amin(x, axis=1).sum().backward()
    np.testing.assert_array_equal(x.grad, [[1, 0, 0], [0, 0, 1]])


@pytest.mark.parametrize(
    "fn",
    [
        lambda t: t.max(1).values,
        lambda t: t.min(0, keepdim=True).values,
        lambda t: nb.max(t, axis=-1, keepdims=True).values ** 2,
    ],
    ids=["max", "min-keepdim", "max-squared"],
)
def test_max_along_a_dim_gradients(fn, rng) -> None:  # type: ignore[no-untyped-def]
    x = nb.tensor(rng.normal(size=(4, 5)), requires_grad=True)
    assert nb.gradcheck(fn, x)
    assert nb.gradgradcheck(fn, x)


def test_max_along_a_dim_edge_cases() -> None:
    scalar = nb.tensor(3.0).max(0)  # a 0-d tensor takes dim 0 (and −1), as PyTorch
    assert scalar.values.item() == 3.0
    assert scalar.indices.item() == 0
    empty = nb.zeros((0, 3)).max(1)
    assert empty.values.shape == empty.indices.shape == (0,)
    nan = nb.tensor([1.0, np.nan, 2.0]).max(0)  # nan wins, at its index (PyTorch)
    assert np.isnan(nan.values.item())
    assert nan.indices.item() == 1
    with pytest.raises(IndexError, match=r"max: expected reduction dim 1 to have non-zero size"):
        nb.zeros((3, 0)).max(1)
    with pytest.raises(TypeError, match="use amax"):
        nb.max(nb.zeros((2, 2)), axis=(0, 1))


def test_max_along_a_dim_in_a_compiled_step() -> None:
    @nb.compile
    def predict(x):  # type: ignore[no-untyped-def]
        return x.max(1).indices

    for batch in ([[0.0, 1.0], [2.0, 0.0]], [[5.0, 1.0], [0.0, 2.0]], [[0.0, 1.0], [0.0, 2.0]]):
        np.testing.assert_array_equal(predict(np.array(batch)).data, np.argmax(np.array(batch), 1))


# ----- logsumexp over an empty axis -----------------------------------------------------------
def test_logsumexp_over_an_empty_axis_is_minus_inf() -> None:
    x = nb.zeros((3, 0), requires_grad=True)
    z = nb.logsumexp(x, axis=1)  # PyTorch: log Σ of nothing = log 0 = −inf, without a warning
    np.testing.assert_array_equal(z.data, [-np.inf] * 3)
    z.sum().backward()
    assert x.grad.shape == (3, 0)
    assert nb.logsumexp(nb.zeros((0, 3)), axis=1).shape == (0,)
    assert nb.logsumexp(nb.tensor([-np.inf, -np.inf])).item() == -np.inf


@pytest.mark.parametrize("axis", [0, -1, (0,), (-1,)])
@pytest.mark.parametrize("op", ["sum", "mean", "amax", "amin", "logsumexp"])
def test_a_0d_tensor_reduces_over_dim_0_or_minus_1_to_itself(op: str, axis: Any) -> None:
    x = nb.tensor(np.float64(2.5), requires_grad=True)
    y = getattr(nb, op)(x, axis)
    assert y.shape == () and y.item() == 2.5
    y.backward()
    assert x.grad == 1.0
    with pytest.raises((IndexError, ValueError)):
        getattr(nb, op)(x, 1)


def test_a_0d_tensor_max_along_dim_0() -> None:
    x = nb.tensor(np.float64(2.5), requires_grad=True)
    values, indices = x.max(-1)
    assert values.item() == 2.5 and indices.item() == 0
    values.backward()
    assert x.grad == 1.0


def test_argmax_and_argmin_are_recomputed_by_a_compiled_step() -> None:
    w = nb.tensor(np.eye(3), requires_grad=True)

    def step(x: Any) -> Any:
        logits = x @ w
        return logits.argmax(1), logits.argmin(), (logits * logits).sum()

    compiled = nb.compile(step)
    rng = np.random.default_rng(0)
    for _ in range(4):
        x = nb.tensor(rng.standard_normal((5, 3)))
        top, low, _ = compiled(x)
        np.testing.assert_array_equal(top.data, x.data.argmax(1))
        assert low.item() == x.data.argmin()
    assert compiled.plans and all(p is not None for p in compiled.plans.values())


@pytest.mark.parametrize("keepdims", [False, True])
def test_argmax_over_all_elements(keepdims: bool) -> None:
    data = np.array([[1.0, 5.0, 2.0], [7.0, 0.0, 3.0]])
    x = nb.tensor(data)
    assert x.argmax(keepdims=keepdims).data.tolist() == ([[3]] if keepdims else 3)
    assert x.argmin().item() == 4 and x.argmax().dtype == np.int64
    with pytest.raises(ValueError, match="empty"):
        nb.zeros((0, 2)).argmax()


@pytest.mark.parametrize(
    ("shape", "axis"), [((3, 0), 1), ((0, 0), 1), ((0,), None), ((2, 0), (0, 1))]
)
def test_the_mean_of_nothing_is_nan_without_a_warning(shape: tuple[int, ...], axis: Any) -> None:
    x = nb.zeros(shape, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = x.mean(axis)
        y.sum().backward()
    expected = np.sum(np.zeros(shape), axis=axis)
    assert y.shape == np.shape(expected) and np.isnan(y.data).all()
    assert x.grad.shape == shape


def test_max_of_all_elements_selects_its_winners() -> None:
    # PyTorch's max() fills g / #winners at the winners (masked_fill): an infinite g (here from
    # y**1.5's second derivative at y = 0) leaves the other elements at 0, not inf · 0 = nan
    x = nb.tensor(np.array([0.0, -1.0, 0.0]), requires_grad=True)
    (g,) = nb.grad(nb.max(x) ** 1.5, x, create_graph=True)
    (h,) = nb.grad((g * nb.tensor([1.0, 2.0, 3.0])).sum(), x)
    np.testing.assert_array_equal(h.data, [np.inf, 0.0, np.inf])
    # a nan maximum is won by the nans
    x = nb.tensor(np.array([1.0, np.nan, 2.0, np.nan]), requires_grad=True)
    nb.max(x).backward()
    np.testing.assert_array_equal(x.grad, [0.0, 0.5, 0.0, 0.5])


@pytest.mark.parametrize(
    ("call", "op"),
    [
        (lambda x: x.sum(5), "sum"),
        (lambda x: x.mean((0, 3)), "mean"),
        (lambda x: x.max(2), "max"),
        (lambda x: x.min(-3), "min"),
        (lambda x: nb.amax(x, 2), "max"),
        (lambda x: x.argmax(3), "argmax"),
        (lambda x: x.var(4), "var"),
        (lambda x: nb.logsumexp(x, 2), "logsumexp"),
    ],
)
def test_reductions_refuse_out_of_range_dims_naming_the_op(call: Any, op: str) -> None:
    with pytest.raises(IndexError, match=rf"^{op}: dimension out of range .* 2-D tensor"):
        call(nb.ones((2, 3)))


def test_a_maximum_of_nothing_is_refused_and_of_empty_rows_is_empty() -> None:
    for call in (lambda x: x.max(), lambda x: nb.amax(x, 0), lambda x: x.min(0)):
        with pytest.raises(IndexError, match="expected reduction dim 0 to have non-zero size"):
            call(nb.zeros((0, 3)))
    assert nb.amax(nb.zeros((0, 3)), 1).shape == (0,)


def test_max_with_a_tensor_argument_is_the_elementwise_maximum() -> None:
    x = nb.tensor([1.0, 5.0], requires_grad=True)
    y = x.max(nb.tensor([3.0, 3.0]))
    np.testing.assert_array_equal(y.data, [3.0, 5.0])
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 1.0])
    np.testing.assert_array_equal(x.min(nb.tensor(2.0)).data, [1.0, 2.0])
