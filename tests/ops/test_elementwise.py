"""The elementwise ops at their edges: the stable sigmoid's paths, masks that select (as
PyTorch's, so an inf gradient on a masked-out element gives 0), the select kernels on every
input kind, 0-d arrays, and integer inputs of the float functions. Expected gradients are
PyTorch 2.13's (float64), written out."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest

import nabla as nb
from nabla.ops.elementwise import stable_sigmoid

INF, NAN = np.inf, np.nan


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_stable_sigmoid_paths_agree_bitwise(dtype: type, rng: np.random.Generator) -> None:
    x = (rng.standard_normal(6000) * 30).astype(dtype)
    x[:6] = [0.0, -0.0, np.inf, -np.inf, np.nan, -1e-30]
    large = stable_sigmoid(x)  # ≥ 1024 elements: one exponential
    small = np.concatenate([stable_sigmoid(x[i : i + 500]) for i in range(0, x.size, 500)])
    np.testing.assert_array_equal(large, small)
    assert large.dtype == dtype
    assert list(large[:4]) == [0.5, 0.5, 1.0, 0.0] and np.isnan(large[4])


def test_stable_sigmoid_matches_the_definition_and_keeps_tails() -> None:
    x = np.linspace(-700, 700, 4001)
    expected = np.exp(-np.logaddexp(0.0, -x))  # 1 / (1 + e^−x), computed without overflow
    np.testing.assert_allclose(stable_sigmoid(x), expected, rtol=1e-14, atol=0)
    tail = stable_sigmoid(np.array([-100.0] * 2000, dtype=np.float32))
    assert tail[0] > 0 and np.isclose(tail[0], np.exp(-100.0), rtol=0.1)  # a denormal, not 0


# ----- masks select: an inf or nan gradient on a masked-out element gives 0, as in PyTorch -------
def _grads(
    fn: Any, *values: list[float], dtype: Any = np.float64, graph: bool = False
) -> list[Any]:
    """The gradients of fn(*inputs).sum(): by backward (arrays, in-place kernels where the
    engine owns g) or, with ``graph``, by nb.grad(create_graph=True) (the rules on Tensors)."""
    inputs = [nb.tensor(np.array(v, dtype=dtype), requires_grad=True) for v in values]
    with np.errstate(divide="ignore", invalid="ignore"):  # inf where PyTorch has inf
        out = fn(*inputs).sum()
        if graph:
            return [g.data for g in nb.grad(out, inputs, create_graph=True)]
        out.backward()
    return [t.grad for t in inputs]


# name: (fn, inputs, PyTorch 2.13's gradients)
_MASK_CASES = {
    "sqrt(relu)": (
        lambda x: nb.sqrt(nb.relu(x)),
        [[-1.0, 0.0, 2.0]],
        [[0.0, 0.0, 0.35355339059327373]],
    ),
    "log(clamp)": (
        lambda x: nb.log(nb.clamp(x, 0, 1)),
        [[-1.0, 0.0, 0.5, 2.0]],
        [[0.0, INF, 2.0, 0.0]],
    ),
    "log(clamp min)": (
        lambda x: nb.log(nb.clamp(x, min=0)),
        [[-1.0, 0.0, 2.0]],
        [[0.0, INF, 0.5]],
    ),
    "log(-clamp max)": (
        lambda x: nb.log(-nb.clamp(x, max=0)),
        [[-1.0, 0.0, 2.0]],
        [[-1.0, INF, 0.0]],
    ),
    "log(maximum(x, 0))": (
        lambda x: nb.log(nb.maximum(x, 0.0)),
        [[-1.0, 0.0, 2.0]],
        [[0.0, INF, 0.5]],
    ),
    "log(maximum)": (
        lambda x, y: nb.log(nb.maximum(x, y)),
        [[-1.0, 0.0, 2.0, 3.0], [0.0, 0.0, 1.0, 3.0]],
        [[0.0, INF, 0.5, 1 / 6], [INF, INF, 0.0, 1 / 6]],  # ties: g / 2 to each
    ),
    "-log(-minimum)": (
        lambda x, y: -nb.log(-nb.minimum(x, y)),
        [[1.0, 0.0, -2.0, -3.0], [0.0, 0.0, -1.0, -3.0]],
        [[0.0, -INF, 0.5, 1 / 6], [-INF, -INF, 0.0, 1 / 6]],
    ),
    "maximum with nan": (  # PyTorch's selects pass g to both inputs where one is nan
        lambda x, y: nb.maximum(x, y) * nb.tensor([1.0, 2.0, 3.0, 4.0], dtype=np.float64),
        [[NAN, 1.0, NAN, 2.0], [1.0, NAN, NAN, 2.0]],
        [[1.0, 2.0, 3.0, 2.0], [1.0, 2.0, 3.0, 2.0]],
    ),
    "minimum with nan": (
        lambda x, y: nb.minimum(x, y) * nb.tensor([1.0, 2.0, 3.0, 4.0], dtype=np.float64),
        [[NAN, 1.0, NAN, 2.0], [1.0, NAN, NAN, 2.0]],
        [[1.0, 2.0, 3.0, 2.0], [1.0, 2.0, 3.0, 2.0]],
    ),
    "clamp with nan": (
        lambda x: nb.clamp(x, 0, 1) * nb.tensor([1.0, 2.0, 3.0, 4.0, 5.0], dtype=np.float64),
        [[NAN, -0.0, 1.0, 1.5, -1.0]],
        [[0.0, 2.0, 3.0, 0.0, 0.0]],
    ),
    "relu with nan": (  # PyTorch's threshold_backward: 0 where x ≤ 0, so a nan passes g
        lambda x: nb.relu(x) * nb.tensor([1.0, 2.0, 3.0, 4.0, 5.0], dtype=np.float64),
        [[NAN, -0.0, 0.0, -NAN, -1.0]],
        [[1.0, 0.0, 0.0, 4.0, 0.0]],
    ),
    "sqrt(leaky_relu(x, 0))": (  # leaky_relu multiplies by the slope in PyTorch too: nan
        lambda x: nb.sqrt(nb.leaky_relu(x, 0.0)),
        [[-1.0, 0.0, 2.0]],
        [[NAN, NAN, 0.35355339059327373]],
    ),
}


@pytest.mark.parametrize("graph", [False, True], ids=["arrays", "create_graph"])
@pytest.mark.parametrize(
    ("fn", "values", "expected"), _MASK_CASES.values(), ids=_MASK_CASES.keys()
)
def test_masks_select_as_pytorch(fn, values, expected, graph) -> None:  # type: ignore[no-untyped-def]
    for got, want in zip(_grads(fn, *values, graph=graph), expected):
        np.testing.assert_allclose(got, want, rtol=1e-15)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_relu_and_clamp_masks_select_on_large_arrays(dtype, rng) -> None:  # type: ignore[no-untyped-def]
    # ≥ 1024 elements: the bitwise select (in place on the engine's own g) instead of np.where
    x = rng.standard_normal((64, 40)).astype(dtype)
    x[0, :4] = [0.0, -0.0, -1.0, 1.0]
    expected = np.zeros_like(x)
    expected[x > 0] = 0.5 / np.sqrt(x[x > 0])
    for graph in (False, True):
        (grad,) = _grads(lambda t: nb.sqrt(nb.relu(t)), x, dtype=dtype, graph=graph)
        assert grad.dtype == dtype and np.isfinite(grad).all()
        np.testing.assert_allclose(grad, expected, rtol=1e-6)
        p = np.abs(x) / 4
        (grad,) = _grads(lambda t: nb.log(nb.clamp(t, 0, 1)), p * np.sign(x), dtype=dtype)
        assert np.isfinite(grad[x < 0]).all() and (grad[x < 0] == 0).all()


def _input_kinds(rng: np.random.Generator, dtype: Any) -> dict[str, tuple[Any, Any]]:
    """(g, x) pairs of every layout the engine may hand a kernel, with inf, nan and ±0."""

    def make(shape: tuple[int, ...]) -> Any:
        a = rng.standard_normal(shape).astype(dtype)
        flat = a.reshape(-1)
        flat[: min(6, flat.size)] = [0.0, -0.0, np.inf, -np.inf, np.nan, -1.0][: min(6, flat.size)]
        return a

    kinds = {}
    for name, shape in [("0-d", ()), ("size-0", (0, 3)), ("small", (5, 7)), ("large", (48, 40))]:
        g, x = make(shape), make(shape)
        if x.ndim:
            rng.shuffle(x.reshape(-1))  # the specials of x meet other elements of g
        kinds[name] = (g, x)
    g, x = make((48, 40)), make((48, 40))
    kinds["fortran"] = (np.asfortranarray(g), x)
    kinds["non-contiguous"] = (make((48, 80))[:, ::2], make((96, 40))[::2])
    kinds["negative-stride"] = (make((48, 40))[::-1], make((48, 40))[:, ::-1])
    kinds["broadcast"] = (np.broadcast_to(make((40,)), (48, 40)), x)
    readonly = make((48, 40))
    readonly.flags.writeable = False
    kinds["read-only"] = (readonly, x)
    return kinds


def _bits(a: Any) -> Any:
    return np.ascontiguousarray(a).reshape(-1).view(np.uint8)


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64, np.complex64])
def test_select_kernels_equal_np_where_bitwise_on_every_input_kind(dtype, rng) -> None:  # type: ignore[no-untyped-def]
    from nabla.ops.elementwise import mask_array
    from nabla.ops.kernels import relu_backward_array

    for name, (g, x) in _input_kinds(rng, dtype).items():
        real = x.real if np.iscomplexobj(x) else x
        cases = [
            (lambda g, into, r=real: relu_backward_array(g, r, into), np.where(real <= 0, 0, g)),
            (lambda g, into, r=real: mask_array(g, r > 0.5, into), np.where(real > 0.5, g, 0)),
        ]
        for kernel, expected in cases:
            g_before = g.copy()
            got = kernel(g, False)
            assert type(got) is np.ndarray and got.dtype == g.dtype and got.shape == g.shape
            np.testing.assert_array_equal(_bits(got), _bits(expected), name)
            assert got.base is None and got.flags.writeable and got is not g, name
            np.testing.assert_array_equal(g, g_before)  # not written
            if g.flags.writeable and g.base is None:  # what the engine may hand backward_into
                got = kernel(g, True)
                assert got is g
                np.testing.assert_array_equal(_bits(got), _bits(expected), name)


# ----- 0-d arrays: a ufunc returns a NumPy scalar there, which out= refuses ---------------------
_UNARY = {
    "exp": nb.exp,
    "log": lambda x: nb.log(nb.abs(x)),
    "sqrt": lambda x: nb.sqrt(nb.abs(x)),
    "abs": nb.abs,
    "tanh": nb.tanh,
    "sigmoid": nb.sigmoid,
    "relu": nb.relu,
    "leaky_relu": lambda x: nb.leaky_relu(x, 0.1),
    "clamp": lambda x: nb.clamp(x, 0.0, 0.4),
    "maximum": lambda x: nb.maximum(x, 0.2),
    "minimum": lambda x: nb.minimum(x, 0.2),
    "where": lambda x: nb.where(x > 0, x, 0.0),
    "pow": lambda x: x**3,
    "rdiv": lambda x: 1 / x,
    "reciprocal": nb.reciprocal,
    "sign-times": lambda x: x * nb.sign(x),
}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("fn", _UNARY.values(), ids=_UNARY.keys())
def test_unary_ops_on_0d_tensors_match_1_element_ones(fn, dtype) -> None:  # type: ignore[no-untyped-def]
    for value in (0.5, -0.5):
        results = []
        for shape in ((), (1,)):
            x = nb.tensor(np.full(shape, value, dtype=dtype), requires_grad=True)
            y = fn(x)
            y.sum().backward()  # backward_into where the engine owns g (the root's ones)
            x2 = nb.tensor(np.full(shape, value, dtype=dtype), requires_grad=True)
            (d,) = nb.grad(fn(x2).sum(), [x2], create_graph=True)
            assert type(y.data) is np.ndarray and y.shape == shape and y.dtype == dtype
            assert type(x.grad) is np.ndarray and x.grad.shape == shape
            assert x.grad.dtype == dtype and d.shape == shape and d.dtype == dtype
            results.append((y.data.reshape(-1), x.grad.reshape(-1), d.data.reshape(-1)))
        for got, expected in zip(*results):
            np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("fn", _UNARY.values(), ids=_UNARY.keys())
def test_unary_ops_on_0d_tensors_read_twice(fn) -> None:  # type: ignore[no-untyped-def]
    # the engine sums the two gradients of y into a NumPy scalar (0-d + 0-d), which the
    # in-place kernels (backward_into) must take as well as an array
    expected = []
    for shape in ((), (1,)):
        x = nb.tensor(np.full(shape, 0.5), requires_grad=True)
        y = fn(x)
        (y * 2.0 + y * 3.0).sum().backward()
        assert type(x.grad) is np.ndarray and x.grad.shape == shape
        expected.append(x.grad.reshape(-1))
    np.testing.assert_array_equal(*expected)


def test_tanh_of_a_0d_tensor_backward() -> None:
    x = nb.tensor(0.5, requires_grad=True)
    nb.tanh(x).backward()
    assert x.grad.shape == () and np.isclose(x.grad, 1 - np.tanh(np.float32(0.5)) ** 2)
    s = nb.tensor(0.5, requires_grad=True)
    nb.sigmoid(s).backward()
    z = 1 / (1 + np.exp(-0.5))
    assert s.grad.shape == () and np.isclose(s.grad, z * (1 - z))


@pytest.mark.parametrize("into_g", [False, True])
def test_array_kernels_return_arrays_for_0d_inputs(into_g: bool) -> None:
    from nabla.ops.kernels import (
        relu_backward_array,
        sigmoid_backward_array,
        tanh_backward_array,
    )

    h = np.array(0.25)
    for kernel, expected in [
        (tanh_backward_array, 2 * (1 - 0.25**2)),
        (sigmoid_backward_array, 2 * 0.25 * 0.75),
        (relu_backward_array, 2.0),
    ]:
        g = np.array(2.0)
        got = kernel(g, h, into_g)
        assert type(got) is np.ndarray and got.shape == () and got == expected
        assert (got is g) == into_g
    z = stable_sigmoid(np.array(0.0, dtype=np.float32))
    assert type(z) is np.ndarray and z.shape == () and z.dtype == np.float32 and z == 0.5


# ----- integer inputs of the float functions: float32, PyTorch's default dtype -----------------
_FLOAT_FUNCTIONS = {
    "exp": (nb.exp, np.exp),
    "log": (nb.log, np.log),
    "sqrt": (nb.sqrt, np.sqrt),
    "tanh": (nb.tanh, np.tanh),
    "sigmoid": (nb.sigmoid, lambda x: 1 / (1 + np.exp(-x))),
    "reciprocal": (nb.reciprocal, np.reciprocal),
    "leaky_relu": (nb.leaky_relu, lambda x: np.where(x > 0, x, x * np.float32(0.01))),
}


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.uint8, np.bool_])
@pytest.mark.parametrize(
    ("fn", "reference"), _FLOAT_FUNCTIONS.values(), ids=_FLOAT_FUNCTIONS.keys()
)
def test_float_functions_of_integers_give_float32(fn, reference, dtype) -> None:  # type: ignore[no-untyped-def]
    data = np.array([1, 2, 3, 0], dtype=dtype) if dtype is not np.bool_ else np.array([1, 0], bool)
    with np.errstate(divide="ignore"):  # log 0, 1 / 0
        got = fn(nb.tensor(data))
        expected = reference(data.astype(np.float32))
    assert got.dtype == np.float32
    np.testing.assert_allclose(got.data, expected, rtol=1e-6)


def test_integer_ops_that_keep_integers() -> None:
    x = nb.tensor([-2, 0, 3])
    for fn in (nb.relu, nb.abs, lambda t: nb.clamp(t, 0, 1), lambda t: nb.maximum(t, 1)):
        assert fn(x).dtype == np.int64


def test_sqrt_and_fractional_powers_at_zero_have_an_infinite_gradient_without_warning() -> None:
    # d√x/dx = 1/(2√x) is inf at 0 in PyTorch too; NumPy's divide warning is not an error
    for root in (nb.sqrt, lambda t: t**0.5):
        x = nb.tensor(np.array([0.0, 4.0]), requires_grad=True)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            root(x).sum().backward()
        np.testing.assert_array_equal(x.grad, [np.inf, 0.25])


@pytest.mark.parametrize("bounds", ["both", "min", "max"])
def test_clamp_with_tensor_bounds_routes_gradients_to_whichever_is_the_result(
    bounds: str,
) -> None:
    # x gets g where lo ≤ x ≤ hi; a bound gets g where it is the result (PyTorch's clamp)
    x = nb.tensor(np.array([[-2.0, 0.0, 2.0], [0.5, -0.5, 3.0]]), requires_grad=True)
    lo = nb.tensor(np.array([-1.0, 0.5, -1.0]), requires_grad=True)
    hi = nb.tensor(np.array([[1.0], [2.0]]), requires_grad=True)
    y = nb.clamp(x, min=lo if bounds != "max" else None, max=hi if bounds != "min" else None)
    low = x.data < lo.data if bounds != "max" else np.zeros(x.shape, bool)
    clipped = np.maximum(x.data, lo.data) if bounds != "max" else x.data
    high = clipped > hi.data if bounds != "min" else np.zeros(x.shape, bool)
    expected = np.where(high, hi.data, np.where(low, lo.data, x.data))
    np.testing.assert_array_equal(y.data, expected)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, (~low & ~high).astype(float))
    if bounds != "max":
        np.testing.assert_array_equal(lo.grad, (low & ~high).sum(0))
    if bounds != "min":
        np.testing.assert_array_equal(hi.grad, high.sum(1, keepdims=True))
    assert nb.tensor([1.0, 5.0]).clamp(min=nb.tensor(2.0)).data.tolist() == [2.0, 5.0]
