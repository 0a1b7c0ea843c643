"""The in-place elementwise methods (nabla.tensor_inplace_math): values bit for bit those of the
out-of-place methods and close to PyTorch's, the same array written (views and shared NumPy
arrays see it), the version counter, gradients through recorded in-place ops against PyTorch's,
gradcheck, and the refusals (leaf that requires grad, overwritten saved values, dtypes,
read-only arrays)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import nabla as nb
from nabla.errors import DTypeError, GraphError

torch = pytest.importorskip("torch")

DTYPES = [np.float32, np.float64]
RNG = np.random.default_rng(0)

#: method name → the interval its inputs are drawn from
UNARY: dict[str, tuple[float, float]] = {
    "exp": (-2, 2),
    "log": (0.1, 3),
    "log1p": (-0.9, 3),
    "expm1": (-2, 2),
    "log2": (0.1, 3),
    "log10": (0.1, 3),
    "sqrt": (0.1, 3),
    "rsqrt": (0.1, 3),
    "abs": (-2, 2),
    "neg": (-2, 2),
    "sign": (-2, 2),
    "sigmoid": (-3, 3),
    "tanh": (-2, 2),
    "relu": (-2, 2),
    "floor": (-3, 3),
    "ceil": (-3, 3),
    "round": (-3, 3),
    "trunc": (-3, 3),
    "frac": (-3, 3),
    "square": (-2, 2),
    "reciprocal": (0.5, 3),
    "sin": (-3, 3),
    "cos": (-3, 3),
    "tan": (-1, 1),
    "asin": (-0.9, 0.9),
    "acos": (-0.9, 0.9),
    "atan": (-3, 3),
    "sinh": (-2, 2),
    "cosh": (-2, 2),
}
FLOAT_ONLY = ["exp", "log", "log1p", "expm1", "log2", "log10", "sqrt", "rsqrt", "sigmoid",
              "tanh", "reciprocal", "sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh"]  # fmt: skip


def _draw(name: str, shape: tuple[int, ...], dtype: Any) -> np.ndarray:
    lo, hi = UNARY[name]
    return RNG.uniform(lo, hi, shape).astype(dtype)


def _layouts(data: np.ndarray) -> dict[str, np.ndarray]:
    """``data`` (2-D) as writeable arrays of several layouts, each holding the same values."""
    strided = np.zeros((data.shape[0], 2 * data.shape[1]), data.dtype)[:, ::2]
    strided[...] = data
    flipped = np.ascontiguousarray(data[::-1, ::-1])[::-1, ::-1]
    return {
        "c": data.copy(),
        "fortran": np.asfortranarray(data),
        "strided": strided,
        "negative": flipped,
    }


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_values_layouts_and_version(name: str, dtype: Any) -> None:
    data = _draw(name, (3, 4), dtype)
    want = getattr(torch.tensor(data), name + "_")().numpy()
    for layout, array in _layouts(data).items():
        x = nb.as_tensor(array)
        # the out-of-place method on the same layout (NumPy's SIMD loops may differ by an ulp
        # between contiguous and strided arrays)
        expected = getattr(x, name)().numpy()
        version = x._version
        out = getattr(x, name + "_")()
        assert out is x, layout
        assert x._version == version + 1
        assert x.dtype == np.dtype(dtype)
        np.testing.assert_array_equal(x.numpy(), expected)  # the out-of-place values, bitwise
        np.testing.assert_array_equal(array, expected)  # written into the same array
        np.testing.assert_allclose(x.numpy(), want, rtol=2e-6, atol=1e-6)


@pytest.mark.parametrize("name", ["exp", "sqrt", "neg", "floor", "sign"])
@pytest.mark.parametrize("shape", [(), (0,), (2, 0, 3)])
def test_unary_zero_d_and_empty(name: str, shape: tuple[int, ...]) -> None:
    data = _draw(name, shape, np.float64)
    x = nb.tensor(data)
    getattr(x, name + "_")()
    np.testing.assert_array_equal(x.numpy(), getattr(torch.tensor(data), name + "_")().numpy())
    assert x.shape == shape


def test_views_see_the_change() -> None:
    data = RNG.standard_normal((3, 4))
    x = nb.tensor(data)
    x[0].exp_()
    x[:, 1].neg_()
    want = torch.tensor(data)
    want[0].exp_()
    want[:, 1].neg_()
    np.testing.assert_array_equal(x.numpy(), want.numpy())
    assert x._version == 2


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_gradient_matches_torch(name: str, dtype: Any) -> None:
    data = _draw(name, (2, 3), dtype)
    weights = RNG.standard_normal((2, 3)).astype(dtype)
    x = nb.tensor(data, requires_grad=True)
    y = x * 2
    getattr(y, name + "_")()
    (y * nb.tensor(weights)).sum().backward()
    tx = torch.tensor(data, requires_grad=True)
    ty = tx * 2
    getattr(ty, name + "_")()
    (ty * torch.tensor(weights)).sum().backward()
    assert y.requires_grad
    np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=2e-6, atol=1e-6)
    np.testing.assert_allclose(x.grad, tx.grad.numpy(), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name", ["exp", "log", "sqrt", "sigmoid", "tanh", "sin", "asin", "cosh"])
def test_gradcheck_and_gradgradcheck(name: str) -> None:
    data = _draw(name, (2, 3), np.float64) / 2 + (0.05 if UNARY[name][0] > 0 else 0)
    x = nb.tensor(data, requires_grad=True)

    def chain(t: Any) -> Any:
        return getattr((t * 1).exp_().log_(), name + "_")()

    assert nb.gradcheck(chain, x)
    assert nb.gradgradcheck(chain, x)


def test_chained_ops_that_save_their_output() -> None:
    # PyTorch refuses this backward (tanh saved its output, which sqrt_ overwrote); nabla keeps
    # the old values in a copy, so the gradient is that of the out-of-place chain
    data = RNG.uniform(0.1, 1, (4,))
    x, tx = nb.tensor(data, requires_grad=True), torch.tensor(data, requires_grad=True)
    y = (x * 1).sigmoid_().exp_().tanh_().sqrt_()
    ty = (tx * 1).sigmoid().exp().tanh().sqrt()
    y.sum().backward()
    ty.sum().backward()
    np.testing.assert_allclose(x.grad, tx.grad.numpy(), rtol=1e-10)


def test_leaf_that_requires_grad_is_refused() -> None:
    x = nb.tensor(np.ones(3), requires_grad=True)
    with pytest.raises(GraphError, match="exp_: a leaf tensor"):
        x.exp_()
    with pytest.raises(RuntimeError, match="leaf Variable"):
        torch.ones(3, requires_grad=True).exp_()
    with nb.no_grad():
        x.exp_()
    np.testing.assert_array_equal(x.numpy(), np.exp(np.ones(3)))


def test_overwritten_saved_values_refuse_backward() -> None:
    x = nb.tensor(np.arange(1.0, 4.0), requires_grad=True)
    y = x * 2
    z = y * y  # saves y
    y.exp_()
    with pytest.raises(GraphError, match="modified by an inplace operation"):
        z.sum().backward()
    tx = torch.arange(1.0, 4.0, requires_grad=True)
    ty = tx * 2
    tz = ty * ty
    ty.exp_()
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        tz.sum().backward()


@pytest.mark.parametrize("name", FLOAT_ONLY)
def test_integer_tensor_refuses_a_float_result(name: str) -> None:
    with pytest.raises(RuntimeError, match="can't be cast"):
        getattr(torch.arange(1, 4), name + "_")()
    x = nb.tensor(np.arange(1, 4))
    with pytest.raises(DTypeError, match=f"{name}_: result type float32 can't be cast"):
        getattr(x, name + "_")()
    np.testing.assert_array_equal(x.numpy(), np.arange(1, 4))  # unchanged


@pytest.mark.parametrize("name", ["abs", "neg", "sign", "relu", "floor", "square", "trunc"])
def test_integer_tensor_keeps_an_integer_result(name: str) -> None:
    data = np.array([-3, 0, 2, 5])
    x = nb.tensor(data)
    getattr(x, name + "_")()
    assert x.dtype == np.int64
    np.testing.assert_array_equal(x.numpy(), getattr(torch.tensor(data), name + "_")().numpy())


def test_read_only_array_is_refused() -> None:
    data = np.arange(1.0, 4.0)
    data.flags.writeable = False
    x = nb.as_tensor(data)
    with pytest.raises(ValueError, match="exp_: the tensor's values are a read-only array"):
        x.exp_()
    np.testing.assert_array_equal(data, np.arange(1.0, 4.0))


@pytest.mark.parametrize("dtype", DTYPES)
def test_pow_round_nan_to_num(dtype: Any) -> None:
    data = RNG.uniform(0.5, 2, (3, 4)).astype(dtype)
    for exponent in (2, 0.5, -1.5):
        want = torch.tensor(data).pow_(exponent).numpy()
        got = nb.tensor(data).pow_(exponent)
        np.testing.assert_array_equal(got.numpy(), nb.tensor(data).pow(exponent).numpy())
        np.testing.assert_allclose(got.numpy(), want, rtol=2e-6)
    scaled = data * 10
    got = nb.tensor(scaled).round_(decimals=1)
    np.testing.assert_array_equal(got.numpy(), nb.tensor(scaled).round(decimals=1).numpy())
    np.testing.assert_allclose(got.numpy(), torch.tensor(scaled).round_(decimals=1).numpy())
    special = np.array([np.nan, np.inf, -np.inf, 1.5], dtype)
    for kwargs in ({}, {"nan": 2.0, "posinf": 9.0, "neginf": -9.0}):
        got = nb.tensor(special).nan_to_num_(**kwargs)
        np.testing.assert_array_equal(got.numpy(), torch.tensor(special).nan_to_num_(**kwargs))


@pytest.mark.parametrize("dtype", DTYPES)
def test_binary_gradients_match_torch(dtype: Any) -> None:
    shape = (2, 3)
    a, b, c = (RNG.uniform(0.5, 2, shape).astype(dtype) for _ in range(3))
    weight = RNG.uniform(0, 1, (3,)).astype(dtype)
    cases = [
        ("pow_", lambda y, e, _: y.pow_(e)),
        ("fmod_", lambda y, e, _: y.fmod_(e)),
        ("remainder_", lambda y, e, _: y.remainder_(e)),
        ("lerp_", lambda y, e, w: y.lerp_(e, w)),
        ("addcmul_", lambda y, e, w: y.addcmul_(e, w, value=0.5)),
        ("addcdiv_", lambda y, e, w: y.addcdiv_(e, w, value=-2)),
    ]
    for name, method in cases:
        xs = [nb.tensor(v, requires_grad=True) for v in (a, b, weight)]
        txs = [torch.tensor(v, requires_grad=True) for v in (a, b, weight)]
        y = method(xs[0] * 1, xs[1], xs[2])
        ty = method(txs[0] * 1, txs[1], txs[2])
        np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=2e-6, err_msg=name)
        (y * nb.tensor(c)).sum().backward()
        (ty * torch.tensor(c)).sum().backward()
        for x, tx in zip(xs, txs, strict=True):
            if tx.grad is None:
                assert x.grad is None or not np.any(x.grad), name
            else:
                np.testing.assert_allclose(x.grad, tx.grad.numpy(), rtol=1e-4, err_msg=name)


def test_binary_values_with_numbers() -> None:
    data = RNG.uniform(-5, 5, (4, 3))
    for name, arg in (("fmod_", 1.5), ("remainder_", -1.5), ("fmod_", -2), ("remainder_", 2)):
        got = getattr(nb.tensor(data), name)(arg)
        want = getattr(torch.tensor(data), name)(arg)
        np.testing.assert_array_equal(got.numpy(), getattr(nb.tensor(data), name[:-1])(arg))
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-12, atol=1e-12)
    ints = np.array([-7, -1, 4, 9])
    got = nb.tensor(ints).remainder_(3)
    np.testing.assert_array_equal(got.numpy(), torch.tensor(ints).remainder_(3).numpy())
    assert got.dtype == np.int64


def test_addcdiv_refuses_integer_division() -> None:
    ints = np.arange(1, 4)
    with pytest.raises(RuntimeError, match="Integer division with addcdiv"):
        torch.tensor(ints).addcdiv_(torch.tensor(ints), torch.tensor(ints))
    with pytest.raises(DTypeError, match="addcdiv_: integer division"):
        nb.tensor(ints).addcdiv_(nb.tensor(ints), nb.tensor(ints))


@pytest.mark.parametrize(
    ("shape", "wrap"),
    [
        ((3, 3), False),
        ((5, 3), False),
        ((5, 3), True),
        ((7, 2), True),
        ((2, 5), True),
        ((3, 3, 3), False),
        ((4, 4, 4, 4), True),
        ((0, 3), False),
    ],
)
def test_fill_diagonal(shape: tuple[int, ...], wrap: bool) -> None:
    x = nb.zeros(*shape)
    assert x.fill_diagonal_(2.5, wrap=wrap) is x
    want = torch.zeros(*shape).fill_diagonal_(2.5, wrap=wrap)
    np.testing.assert_array_equal(x.numpy(), want.numpy())


def test_fill_diagonal_gradient_and_errors() -> None:
    data = RNG.standard_normal((3, 3))
    x, tx = nb.tensor(data, requires_grad=True), torch.tensor(data, requires_grad=True)
    (x * 1).fill_diagonal_(0.0).sum().backward()
    (tx * 1).fill_diagonal_(0.0).sum().backward()
    np.testing.assert_array_equal(x.grad, tx.grad.numpy())
    with pytest.raises(ValueError, match="dimensions must larger than 1"):
        nb.zeros(3).fill_diagonal_(1)
    with pytest.raises(ValueError, match="all dimensions of input must be of equal length"):
        nb.zeros(2, 3, 3).fill_diagonal_(1)


def test_existing_clamp_and_masked_fill_in_place() -> None:
    data = RNG.standard_normal((3, 4))
    mask = data > 0.5
    x, tx = nb.tensor(data, requires_grad=True), torch.tensor(data, requires_grad=True)
    y = (x * 1).clamp_(-0.5, 1.0).masked_fill_(nb.tensor(mask), 0.0)
    ty = (tx * 1).clamp_(-0.5, 1.0).masked_fill_(torch.tensor(mask), 0.0)
    np.testing.assert_array_equal(y.numpy(), ty.detach().numpy())
    y.sum().backward()
    ty.sum().backward()
    np.testing.assert_array_equal(x.grad, tx.grad.numpy())
