"""Arithmetic at the edges: pow at a zero base, the quotient's gradient for tiny divisors, and
the dtypes of integer operands. Expected values are PyTorch 2.13's (float64), written out."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import nabla as nb
from nabla.ops.arithmetic import Div

INF, NAN = np.inf, np.nan


def _grads(fn: Callable[..., Any], *values: list[float], dtype: Any = np.float64) -> list[Any]:
    """The gradients of fn(*inputs).sum() with respect to each input, as arrays."""
    inputs = [nb.tensor(np.array(v, dtype=dtype), requires_grad=True) for v in values]
    with np.errstate(divide="ignore", invalid="ignore"):  # inf where PyTorch has inf
        fn(*inputs).sum().backward()
    return [t.grad for t in inputs]


def _second(fn: Callable[..., Any], values: list[float]) -> tuple[Any, Any]:
    """First and second derivative of fn, elementwise, through create_graph."""
    x = nb.tensor(np.array(values), requires_grad=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        (d,) = nb.grad(fn(x).sum(), [x], create_graph=True)
        (d2,) = nb.grad(d.sum(), [x])
    return d.data, d2.data


# ----- pow at a zero base ------------------------------------------------------------------------
@pytest.mark.parametrize("p", [0, 0.0])
def test_pow_scalar_zero_exponent_has_zero_gradient_at_zero(p: float) -> None:
    # x**0 is constant: PyTorch gives 0, not 0 · 0^(−1) = 0 · inf = nan
    (grad,) = _grads(lambda x: x**p, [0.0, 1.0, -2.0])
    np.testing.assert_array_equal(grad, [0.0, 0.0, 0.0])
    x = nb.tensor([0.0, 2.0], requires_grad=True)
    (d,) = nb.grad((x**p).sum(), [x], create_graph=True)
    np.testing.assert_array_equal(d.data, [0.0, 0.0])


@pytest.mark.parametrize(
    ("p", "first", "second"),
    [  # PyTorch's first and second derivatives of x**p at x = 0, 1, 2
        (1, [1.0, 1.0, 1.0], [0.0, 0.0, 0.0]),
        (2, [0.0, 2.0, 4.0], [2.0, 2.0, 2.0]),
        (3, [0.0, 3.0, 12.0], [0.0, 6.0, 12.0]),
        (0.5, [INF, 0.5, 0.35355339059327373], [-INF, -0.25, -0.08838834764831845]),
        (-1, [-INF, -1.0, -0.25], [INF, 2.0, 0.25]),
        (1.5, [0.0, 1.5, 2.121320343559643], [INF, 0.75, 0.5303300858899106]),
        (1.0, [1.0, 1.0, 1.0], [0.0, 0.0, 0.0]),
    ],
)
def test_pow_scalar_second_derivative_matches_pytorch(
    p: float, first: list[float], second: list[float]
) -> None:
    # x**1 at 0: its derivative 1 · x**0 must have derivative 0 there, not 0 · 0^(−1) = nan
    d, d2 = _second(lambda x: x**p, [0.0, 1.0, 2.0])
    np.testing.assert_allclose(d, first, rtol=1e-15)
    np.testing.assert_allclose(d2, second, rtol=1e-15)


def test_pow_tensor_exponent_at_zero_base_matches_pytorch() -> None:
    x = [0.0, 0.0, 0.0, 0.0, 2.0, -1.0, 0.0, 0.0]
    y = [0.0, 1.0, 2.0, -1.0, 0.5, 2.0, 0.5, -0.5]
    grad_x, grad_y = _grads(nb.pow, x, y)
    np.testing.assert_allclose(grad_x, [0.0, 1.0, 0.0, -INF, 0.3535533905932738, -2.0, INF, -INF])
    # PyTorch: ∇y is 0 where x = 0 and y ≥ 0 (0**0 included); log of a negative base is nan
    np.testing.assert_allclose(grad_y, [0.0, 0.0, 0.0, -INF, 0.9802581434685472, NAN, 0.0, -INF])


def test_pow_tensor_exponent_warns_only_for_the_values_it_keeps() -> None:
    # the masked-out elements (y = 0 for ∇x; x = 0, y ≥ 0 for ∇y) compute nothing that warns
    x = nb.tensor([0.0, 0.0, 3.0], requires_grad=True)
    y = nb.tensor([0.0, 2.0, 1.0], requires_grad=True)
    (x**y).sum().backward()  # filterwarnings = error: a divide-by-zero warning would raise
    np.testing.assert_allclose(x.grad, [0.0, 0.0, 1.0])
    np.testing.assert_allclose(y.grad, [0.0, 0.0, 3.0 * np.log(3.0)], rtol=1e-6)


def test_pow_tensor_exponent_second_derivatives_match_pytorch() -> None:
    x = nb.tensor([0.0, 0.0, 2.0, 0.5], dtype=np.float64, requires_grad=True)
    y = nb.tensor([1.0, 2.0, 1.0, 3.0], dtype=np.float64, requires_grad=True)
    grad_x, grad_y = nb.grad((x**y).sum(), [x, y], create_graph=True)
    xx, xy = nb.grad(grad_x.sum(), [x, y], retain_graph=True)
    yx, yy = nb.grad(grad_y.sum(), [x, y])
    # PyTorch's values; where it has nan (second derivatives of ∇y at x = 0, through its
    # masked-out log 0) nabla has 0: the mask also keeps x = 0 out of the log
    expected = {
        "grad_x": [1.0, 0.0, 1.0, 0.75],
        "grad_y": [0.0, 0.0, 1.3862943611198906, -0.08664339756999316],
        "xx": [0.0, 2.0, 0.0, 3.0],
        "xy": [1.0, 0.0, 1.6931471805599454, -0.26986038541995894],
        "yx": [0.0, 0.0, 1.6931471805599454, -0.26986038541995894],  # PyTorch: nan, nan, ...
        "yy": [0.0, 0.0, 0.9609060278364028, 0.060056626739775174],  # PyTorch: nan, nan, ...
    }
    got = {"grad_x": grad_x, "grad_y": grad_y, "xx": xx, "xy": xy, "yx": yx, "yy": yy}
    for name, values in expected.items():
        np.testing.assert_allclose(got[name].data, values, rtol=1e-14, err_msg=name)


def test_zero_base_to_a_tensor_power() -> None:
    # 0.0 ** y: PyTorch gives 0 for y ≥ 0 (0**y is constant there) and −inf for y < 0
    (grad,) = _grads(lambda y: 0.0**y, [0.0, 1.0, -1.0])
    np.testing.assert_array_equal(grad, [0.0, 0.0, -INF])


# ----- division ----------------------------------------------------------------------------------
def test_div_gradient_of_a_tiny_divisor_does_not_overflow() -> None:
    # ∇y = −g x / y² underflowed y² to 0 and gave −inf; PyTorch computes −g ((x / y) / y)
    grad_x, grad_y = _grads(nb.div, [1e-200, 1e200, 1.0], [1e-200, 1e200, 0.0])
    np.testing.assert_array_equal(grad_x, [1e200, 1e-200, INF])
    np.testing.assert_array_equal(grad_y, [-1e200, -1e-200, -INF])
    grad_x, grad_y = _grads(nb.div, [1e-30], [1e-30], dtype=np.float32)
    assert grad_y.dtype == np.float32 and grad_y[0] == np.float32(-1e30)


def test_div_gradient_of_a_tiny_divisor_under_create_graph() -> None:
    x = nb.tensor([1e-200, 3.0], dtype=np.float64, requires_grad=True)
    y = nb.tensor([1e-200, 2.0], dtype=np.float64, requires_grad=True)
    _, grad_y = nb.grad((x / y).sum(), [x, y], create_graph=True)
    np.testing.assert_array_equal(grad_y.data, [-1e200, -0.75])
    with np.errstate(over="ignore"):  # 2x / y³ overflows at y = 1e-200
        (second,) = nb.grad(grad_y.sum(), [y])  # d/dy (−x / y²) = 2x / y³
    np.testing.assert_allclose(second.data[1], 2 * 3.0 / 8.0)


def test_div_backward_is_pytorchs_formula_bitwise(rng: np.random.Generator) -> None:
    x, y = rng.standard_normal((2, 50)).astype(np.float32)
    g = rng.standard_normal(50).astype(np.float32)
    fn = Div()
    fn.needs_grad = (True, True)
    grad_x, grad_y = fn.backward(g, None, x, y)
    np.testing.assert_array_equal(grad_x, g / y)
    np.testing.assert_array_equal(grad_y, -g * ((x / y) / y))  # PyTorch's div backward


# ----- dtypes of integer operands (PyTorch's, where NumPy would widen to float64) -------------------
_DTYPE_CASES = {  # PyTorch 2.13's result dtypes; a = int64 [1, 2], b = int64 [2, 4]
    "int/int": (lambda a, b: a / b, np.float32),
    "int/2": (lambda a, b: a / 2, np.float32),
    "1/int": (lambda a, b: 1 / a, np.float32),
    "reciprocal(int)": (lambda a, b: nb.reciprocal(a), np.float32),
    "int**2.5": (lambda a, b: a**2.5, np.float32),
    "int**np.float64": (lambda a, b: a ** np.float64(2.5), np.float32),
    "2.5**int": (lambda a, b: 2.5**a, np.float32),
    "int**2": (lambda a, b: a**2, np.int64),
    "int*2": (lambda a, b: a * 2, np.int64),
    "int+0.5": (lambda a, b: a + 0.5, np.float32),
    "int-0.5": (lambda a, b: a - 0.5, np.float32),
    "0.5*int": (lambda a, b: 0.5 * a, np.float32),
    "int+float32": (lambda a, b: a + nb.tensor([1.0, 2.0]), np.float32),
    "int*float64": (lambda a, b: a * nb.tensor([1.0, 2.0], dtype=np.float64), np.float64),
    "int/float16": (lambda a, b: a / nb.tensor([1.0, 2.0], dtype=np.float16), np.float16),
    "int**int": (lambda a, b: a**b, np.int64),
    "float32**int": (lambda a, b: nb.tensor([1.0, 2.0]) ** a, np.float32),
    "float32**np.float64": (lambda a, b: nb.tensor([1.0, 2.0]) ** np.float64(2.0), np.float32),
    "float32*np.float64": (lambda a, b: nb.tensor([1.0, 2.0]) * np.float64(3.0), np.float32),
    "bool/bool": (lambda a, b: nb.tensor([True, False]) / nb.tensor([True, True]), np.float32),
    "bool**2": (lambda a, b: nb.tensor([True, False]) ** 2, np.int64),
    "int32/int64": (lambda a, b: a.astype(np.int32) / b, np.float32),
    "maximum(int, 0.5)": (lambda a, b: nb.maximum(a, 0.5), np.float32),
    "where(int, 0.5)": (lambda a, b: nb.where(a > 1, a, 0.5), np.float32),
    "clamp(int, 0.5, 1.5)": (lambda a, b: nb.clamp(a, 0.5, 1.5), np.float32),
    "clamp(int, 0, 1)": (lambda a, b: nb.clamp(a, 0, 1), np.int64),
}


@pytest.mark.parametrize(("make", "expected"), _DTYPE_CASES.values(), ids=_DTYPE_CASES.keys())
def test_integer_arithmetic_dtypes_follow_pytorch(make: Any, expected: Any) -> None:
    a, b = nb.tensor([1, 2]), nb.tensor([2, 4])
    assert make(a, b).dtype == expected


def test_true_division_of_integers_is_exact_in_float32() -> None:
    q = nb.tensor([1, 7, -3]) / nb.tensor([2, 2, 4])
    assert q.dtype == np.float32
    np.testing.assert_array_equal(q.data, np.array([0.5, 3.5, -0.75], dtype=np.float32))


def test_a_float_tensor_takes_integer_operand_gradients_in_its_dtype() -> None:
    w = nb.tensor([1.0, 2.0], requires_grad=True)
    (w * nb.tensor([3, 4]) + w / nb.tensor([2, 2])).sum().backward()
    assert w.grad.dtype == np.float32
    np.testing.assert_array_equal(w.grad, [3.5, 4.5])


def test_promote_leaves_one_category_alone() -> None:
    from nabla.ops.arithmetic import promote

    i64, f32 = np.arange(3), np.ones(3, np.float32)
    x, y = promote(i64, f32)
    assert x.dtype == np.float32 and y is f32
    x, y = promote(f32, np.array([True, False, True]))
    assert x is f32 and y.dtype == np.float32
    i32 = np.arange(3, dtype=np.int32)
    x, y = promote(i64, i32)  # integers: NumPy's rule, which is PyTorch's
    assert x is i64 and y is i32
    f64 = np.ones(3)
    x, y = promote(f32, f64)
    assert x is f32 and y is f64


@pytest.mark.parametrize(
    ("dims", "zero_d", "expected"),
    [
        (np.float32, np.float64, np.float32),  # same category: the operand with dims wins
        (np.float64, np.float32, np.float64),
        (np.int32, np.int64, np.int32),
        (np.int64, np.float64, np.float64),  # a higher category: the 0-d operand's dtype
        (np.bool_, np.int32, np.int32),
    ],
)
def test_a_0d_operand_gives_way_to_an_operand_with_dims(dims, zero_d, expected) -> None:  # type: ignore[no-untyped-def]
    # PyTorch's result_type: dimensioned tensors outrank 0-d ones within a category
    x = nb.tensor(np.ones(3, dtype=dims))
    y = nb.tensor(np.array(2, dtype=zero_d))
    for op in (nb.add, nb.sub, nb.mul, nb.maximum):
        assert op(x, y).dtype == expected, op
        assert op(y, x).dtype == expected, op
    assert (nb.tensor(np.ones(0, dtype=dims)) + y).dtype == expected


def test_a_0d_float64_operand_keeps_its_gradient_dtype() -> None:
    x = nb.ones(3, requires_grad=True)
    y = nb.tensor(np.float64(1.5), requires_grad=True)
    z = x * y
    assert z.dtype == np.float32
    z.sum().backward()
    assert x.grad.dtype == np.float32 and y.grad.dtype == np.float64 and y.grad == 3.0


def test_the_second_derivative_of_sqrt_at_zero_is_minus_inf_without_a_warning() -> None:
    # d²√x/dx² = −1/(4 x^{3/2}): −inf at 0, as PyTorch computes it through g / (2√x)
    import warnings

    x = nb.tensor(np.array([0.0, 4.0]), requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        (g,) = nb.grad(nb.sqrt(x).sum(), x, create_graph=True)
        (h,) = nb.grad(g.sum(), x)
    np.testing.assert_array_equal(g.data, [np.inf, 0.25])
    np.testing.assert_array_equal(h.data, [-np.inf, -1 / 32])
