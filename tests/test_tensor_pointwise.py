"""The pointwise math of nabla.tensor_pointwise (trigonometric, hyperbolic, log/exp variants,
roundings, remainders, fmax/fmin, atan2, hypot, logaddexp, xlogy, lerp) against PyTorch 2.13:
values, dtypes and gradients (first and second order) on every input layout, at the domain's
edges (0, ±1, ±inf, nan), and first and second derivatives against central differences."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import nabla as nb
import nabla.functional_pointwise as fp
from nabla.errors import DTypeError, ShapeError

torch = pytest.importorskip("torch")

DTYPES = [np.float32, np.float64]
TOL = {np.float32: 2e-5, np.float64: 1e-12}
SPECIAL = np.array(
    [0.0, -0.0, 0.5, -0.5, 1.0, -1.0, 2.5, -2.5, 1e-30, 3e5, -3e5, np.inf, -np.inf, np.nan]
)

# name → (domain (low, high) for smooth checks, PyTorch's function)
UNARY: dict[str, tuple[tuple[float, float], Callable[[Any], Any]]] = {
    "sin": ((-3, 3), torch.sin),
    "cos": ((-3, 3), torch.cos),
    "tan": ((-1.2, 1.2), torch.tan),
    "asin": ((-0.9, 0.9), torch.asin),
    "acos": ((-0.9, 0.9), torch.acos),
    "atan": ((-3, 3), torch.atan),
    "sinh": ((-3, 3), torch.sinh),
    "cosh": ((-3, 3), torch.cosh),
    "asinh": ((-3, 3), torch.asinh),
    "acosh": ((1.1, 4), torch.acosh),
    "atanh": ((-0.9, 0.9), torch.atanh),
    "log1p": ((-0.9, 3), torch.log1p),
    "expm1": ((-3, 3), torch.expm1),
    "log2": ((0.1, 4), torch.log2),
    "log10": ((0.1, 4), torch.log10),
    "exp2": ((-3, 3), torch.exp2),
    "rsqrt": ((0.1, 4), torch.rsqrt),
    "erf": ((-3, 3), torch.erf),
    "erfc": ((-3, 3), torch.erfc),
    "deg2rad": ((-400, 400), torch.deg2rad),
    "rad2deg": ((-3, 3), torch.rad2deg),
    "floor": ((-3, 3), torch.floor),
    "ceil": ((-3, 3), torch.ceil),
    "trunc": ((-3, 3), torch.trunc),
    "frac": ((-3, 3), torch.frac),
    "round": ((-3, 3), torch.round),
}
ALIASES = {"arcsin": "asin", "arccos": "acos", "arctan": "atan", "arcsinh": "asinh"}
ALIASES |= {"arccosh": "acosh", "arctanh": "atanh", "fix": "trunc"}
SMOOTH = [n for n in UNARY if n not in ("floor", "ceil", "trunc", "round")]


def _torch_dtype(dtype: Any) -> Any:
    return getattr(torch, np.dtype(dtype).name)


def _layouts(a: np.ndarray) -> dict[str, np.ndarray]:
    """``a`` (2-d) as a strided slice, Fortran-ordered, negatively strided and read-only, each
    holding a's values."""
    wide = np.repeat(a, 2, axis=1)
    reversed_copy = a[::-1, ::-1].copy()
    read_only = a.copy()
    read_only.flags.writeable = False
    return {
        "contiguous": a,
        "strided": wide[:, ::2],
        "fortran": np.asfortranarray(a),
        "negative-stride": reversed_copy[::-1, ::-1],
        "read-only": read_only,
        "0-d": a[0, 0].reshape(()).copy(),
        "size-0": a[:0],
    }


def _check(
    ours: Callable[..., Any],
    theirs: Callable[..., Any],
    *arrays: np.ndarray,
    rtol: float = 1e-5,
    second: bool = True,
) -> None:
    """Values, dtype, the gradient of ⟨w, f⟩ and (``second``) a Hessian-vector product, each
    against PyTorch; nan and ±inf must sit at the same places."""
    xs = [nb.Tensor(a, requires_grad=a.dtype.kind == "f") for a in arrays]
    ts = [torch.tensor(np.array(a), requires_grad=a.dtype.kind == "f") for a in arrays]
    got, want = ours(*xs), theirs(*ts)
    assert got.shape == tuple(want.shape)
    assert got.dtype == np.dtype(str(want.dtype).removeprefix("torch."))
    _close(got.data, want.detach().numpy(), rtol)
    if not want.requires_grad:
        assert not got.requires_grad
        return
    w = np.random.default_rng(1).standard_normal(got.shape).astype(got.dtype)
    leaves = [x for x in xs if x.requires_grad]
    t_leaves = [t for t in ts if t.requires_grad]
    with np.errstate(invalid="ignore", over="ignore"):  # the harness's ⟨w, f⟩ of infinities
        loss = (got * nb.Tensor(w)).sum()
    grads = nb.grad(loss, leaves, create_graph=second, allow_unused=True)
    t_grads = torch.autograd.grad(
        (want * torch.tensor(w)).sum(), t_leaves, create_graph=second, allow_unused=True
    )
    for g, tg in zip(grads, t_grads, strict=True):
        if tg is None:
            assert g is None or not np.any(g.data)
            continue
        _close(g.data, tg.detach().numpy(), rtol)
    if not second:
        return
    v = [np.random.default_rng(2).standard_normal(x.shape).astype(x.dtype) for x in leaves]
    pairs = [(g, tg, vi) for g, tg, vi in zip(grads, t_grads, v) if tg is not None]
    if not pairs or not any(tg.requires_grad for _, tg, _ in pairs):
        return
    with np.errstate(invalid="ignore", over="ignore"):  # the harness's ⟨v, ∇⟩, as above
        s = sum((g * nb.Tensor(vi)).sum() for g, _, vi in pairs)
    t_s = sum((tg * torch.tensor(vi)).sum() for _, tg, vi in pairs)
    hvps = nb.grad(s, leaves, allow_unused=True)
    t_hvps = torch.autograd.grad(t_s, t_leaves, allow_unused=True)
    for h, th in zip(hvps, t_hvps, strict=True):
        if th is None or h is None:  # no second derivative on one side: 0 on the other
            assert not np.any(h.data if th is None else th.numpy())  # type: ignore[union-attr]
            continue
        _close(h.data, th.numpy(), rtol)


def _close(got: np.ndarray, want: np.ndarray, rtol: float) -> None:
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=rtol, atol=rtol * 1e-1, equal_nan=True)
    assert np.array_equal(np.isnan(got), np.isnan(want))
    assert np.array_equal(np.isposinf(got), np.isposinf(want))
    assert np.array_equal(np.isneginf(got), np.isneginf(want))


def _method(name: str) -> Callable[..., Any]:
    return lambda x, *rest: getattr(x, name)(*rest)


# ----- unary ----------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", list(UNARY))
def test_unary_matches_pytorch_on_every_layout(name: str, dtype: Any) -> None:
    (low, high), torch_fn = UNARY[name]
    a = np.random.default_rng(0).uniform(low, high, (3, 4)).astype(dtype)
    for layout, data in _layouts(a).items():
        _check(_method(name), torch_fn, data, rtol=TOL[dtype] * 5)
        _check(getattr(fp, name), torch_fn, data, rtol=TOL[dtype] * 5), layout


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", list(UNARY))
def test_unary_at_the_domain_edges_matches_pytorch(name: str, dtype: Any) -> None:
    """0, −0, ±1, ±inf, nan, tiny and huge: the same values, infinities and nans, and the same
    first and second derivatives (inf where PyTorch's is, nan where it is)."""
    torch_fn = UNARY[name][1]
    data = SPECIAL.astype(dtype)
    _check(_method(name), torch_fn, data, rtol=TOL[dtype] * 5)


@pytest.mark.parametrize("alias", list(ALIASES))
def test_aliases_are_the_same_function(alias: str) -> None:
    x = nb.tensor([0.25, 0.5, 0.75]) + 1.0 * (alias == "arccosh")
    np.testing.assert_array_equal(getattr(x, alias)().data, getattr(x, ALIASES[alias])().data)
    np.testing.assert_array_equal(getattr(fp, alias)(x).data, getattr(x, ALIASES[alias])().data)
    assert getattr(torch, alias) is not None  # PyTorch has the name
    assert fp.arctan2(x, x).data.tolist() == fp.atan2(x, x).data.tolist()


@pytest.mark.parametrize("name", list(UNARY))
@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.uint8, np.bool_])
def test_unary_dtypes_of_integers_and_bools_match_pytorch(name: str, dtype: Any) -> None:
    """Float functions give float32; the roundings keep the integer (and refuse bool, as frac
    refuses integers): the same dtype or the same refusal as PyTorch."""
    data = np.array([0, 1, 3, 2], dtype=dtype)
    torch_fn = UNARY[name][1]
    try:
        want = torch_fn(torch.tensor(data))
    except (RuntimeError, NotImplementedError):
        with pytest.raises(DTypeError, match=name):
            getattr(nb.tensor(data), name)()
        return
    got = getattr(nb.tensor(data), name)()
    assert got.dtype == np.dtype(str(want.dtype).removeprefix("torch."))
    np.testing.assert_allclose(got.data, want.numpy(), rtol=1e-6)


@pytest.mark.parametrize("name", SMOOTH)
def test_unary_first_and_second_derivatives(name: str) -> None:
    (low, high), _ = UNARY[name]
    x = nb.tensor(np.random.default_rng(3).uniform(low, high, (2, 3)), requires_grad=True)
    fn = _method(name)
    assert nb.gradcheck(fn, x)
    assert nb.gradgradcheck(fn, x)


def test_roundings_have_zero_gradients_and_frac_passes_g() -> None:
    x = nb.tensor([-2.5, -0.5, 0.5, 1.5, 2.7], requires_grad=True, dtype=np.float64)
    for name in ("floor", "ceil", "trunc", "round"):
        x.grad = None
        getattr(x, name)().sum().backward()
        assert x.grad is not None and not x.grad.any()
    x.grad = None
    x.frac().sum().backward()
    np.testing.assert_array_equal(x.grad, np.ones(5))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("decimals", [0, 1, 2, -1, -2])
def test_round_halves_to_even_at_every_decimals(decimals: int, dtype: Any) -> None:
    data = np.array([0.5, 1.5, 2.5, -0.5, -2.5, 0.25, 0.35, 1234.5678, -0.05, 15.0, 25.0])
    data = np.concatenate([data, SPECIAL]).astype(dtype)
    _check(
        lambda x: x.round(decimals=decimals),
        lambda t: torch.round(t, decimals=decimals),
        data,
        rtol=0,
    )
    assert (
        fp.round(nb.tensor(data), decimals=decimals).data.tolist()
        == (torch.round(torch.tensor(data), decimals=decimals).numpy().tolist())
        or np.isnan(data).any()
    )


def test_round_refuses_float_decimals_and_integer_decimals() -> None:
    with pytest.raises(TypeError, match="decimals"):
        nb.tensor([1.5]).round(decimals=1.5)  # type: ignore[arg-type]
    with pytest.raises(DTypeError, match="round"):
        nb.tensor([1, 2]).round(decimals=1)
    assert nb.tensor([1, 2]).round().dtype == np.int64


# ----- binary ---------------------------------------------------------------------------------
BINARY: dict[str, tuple[Callable[..., Any], Callable[..., Any]]] = {
    "atan2": (fp.atan2, torch.atan2),
    "fmod": (fp.fmod, torch.fmod),
    "remainder": (fp.remainder, torch.remainder),
    "fmax": (fp.fmax, torch.fmax),
    "fmin": (fp.fmin, torch.fmin),
    "hypot": (fp.hypot, torch.hypot),
    "logaddexp": (fp.logaddexp, torch.logaddexp),
    "logaddexp2": (fp.logaddexp2, torch.logaddexp2),
    "xlogy": (fp.xlogy, torch.xlogy),
}


def _binary_operands(name: str, rng: np.random.Generator, shape: Any) -> np.ndarray:
    if name in ("fmod", "remainder"):  # away from the quotient's jumps
        return rng.choice([-1, 1], shape) * rng.uniform(0.6, 1.4, shape)
    if name == "xlogy":
        return rng.uniform(0.2, 3.0, shape)
    return rng.uniform(-3, 3, shape)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", list(BINARY))
def test_binary_matches_pytorch_with_broadcasting_and_layouts(name: str, dtype: Any) -> None:
    ours, theirs = BINARY[name]
    rng = np.random.default_rng(4)
    x = (rng.uniform(-3, 3, (3, 4)) if name != "xlogy" else rng.uniform(-2, 2, (3, 4))).astype(
        dtype
    )
    y = _binary_operands(name, rng, (3, 4)).astype(dtype)
    rtol = TOL[dtype] * 5
    for layout, data in _layouts(x).items():
        _check(ours, theirs, data, y[: data.shape[0]] if data.ndim else y, rtol=rtol), layout
        _check(_method(name), theirs, y[: data.shape[0]] if data.ndim else y, data, rtol=rtol)
    _check(ours, theirs, x, _binary_operands(name, rng, (4,)).astype(dtype), rtol=rtol)
    _check(ours, theirs, x[:, :1], _binary_operands(name, rng, (1, 4)).astype(dtype), rtol=rtol)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", list(BINARY))
def test_binary_at_the_edges_matches_pytorch(name: str, dtype: Any) -> None:
    """Every pair of special values (0, −0, ±1, ±inf, nan...): ties, the origin, a zero
    divisor, nan on one side or both."""
    x, y = np.meshgrid(SPECIAL, SPECIAL)
    ours, theirs = BINARY[name]
    # logaddexp's second derivative: PyTorch's overflows to nan in the tails (next test)
    second = not name.startswith("logaddexp")
    _check(ours, theirs, x.astype(dtype), y.astype(dtype), rtol=TOL[dtype] * 5, second=second)


@pytest.mark.parametrize("name", ["logaddexp", "logaddexp2"])
def test_logaddexp_second_derivative_stays_finite_in_the_tails(name: str) -> None:
    """σ'(d) = σ(d)(1 − σ(d)) is 0 far out, where PyTorch's 1 / (1 + e^(y−x)) overflows to
    nan; where PyTorch's is finite the two agree (to 1e-15: σ(d)(1 − σ(d)) rounds to 0 from
    |d| ≈ 37 on), edges included (the test above)."""
    x = nb.tensor([3e5, -3e5, 40.0, 1.0], dtype=np.float64, requires_grad=True)
    y = nb.tensor([0.0, 0.0, 0.0, 2.0], dtype=np.float64, requires_grad=True)
    (gx,) = nb.grad(getattr(fp, name)(x, y).sum(), [x], create_graph=True)
    (hx,) = nb.grad(gx.sum(), [x])
    assert np.all(np.isfinite(hx.data))
    tx = torch.tensor(x.data, requires_grad=True)
    (tgx,) = torch.autograd.grad(
        getattr(torch, name)(tx, torch.tensor(y.data)).sum(), [tx], create_graph=True
    )
    (thx,) = torch.autograd.grad(tgx.sum(), [tx])
    finite = np.isfinite(thx.numpy())  # σ(40)(1 − σ(40)) = 4e-18 there, 1 − 1 = 0 here
    np.testing.assert_allclose(hx.data[finite], thx.numpy()[finite], rtol=1e-9, atol=1e-15)
    _check(getattr(fp, name), getattr(torch, name), np.array([-30.0, 0.0, 30.0]), np.zeros(3))


@pytest.mark.parametrize("name", list(BINARY))
def test_binary_first_and_second_derivatives(name: str) -> None:
    rng = np.random.default_rng(5)
    x = nb.tensor(rng.uniform(-2, 2, (2, 3)), requires_grad=True)
    y = nb.tensor(_binary_operands(name, rng, (3,)), requires_grad=True)
    if name in ("fmax", "fmin"):
        y = nb.tensor(rng.uniform(3, 4, (3,)) * rng.choice([-1, 1], 3), requires_grad=True)
    assert nb.gradcheck(BINARY[name][0], x, y)
    assert nb.gradgradcheck(BINARY[name][0], x, y)


@pytest.mark.parametrize("name", list(BINARY))
def test_binary_dtype_promotion_matches_pytorch(name: str) -> None:
    """Integer, bool, float32 and float64 operands, tensors of dims and 0-d, and Python
    numbers: the same result dtype, or the same refusal, as PyTorch."""
    ours, theirs = BINARY[name]
    operands = [
        np.array([5, -7, 3]),
        np.array([2, 3, -2], dtype=np.int32),
        np.array([True, False, True]),
        np.array([1.5, -2.5, 4.0], dtype=np.float32),
        np.array([0.75, 1.25, -3.0]),
        np.array(2.0),
    ]
    for a in operands:
        for b in operands + [2, 2.5]:
            tb = torch.tensor(b) if isinstance(b, np.ndarray) else b
            try:
                want = theirs(torch.tensor(a), tb)
            except (RuntimeError, NotImplementedError, TypeError) as exc:
                if "must be Tensor" in str(exc):  # nabla also takes a number here
                    continue
                with pytest.raises((DTypeError, ZeroDivisionError)):
                    ours(nb.tensor(a), b)
                continue
            got = ours(nb.tensor(a), b)
            assert got.dtype == np.dtype(str(want.dtype).removeprefix("torch.")), (a, b)
            _close(got.data, want.numpy().astype(got.dtype), 1e-6)


def test_fmod_and_remainder_signs_and_integer_division_by_zero() -> None:
    a = np.array([5.0, -5, 5, -5, 0, -0.0, 1, -1, 7.5])
    b = np.array([3.0, 3, -3, -3, 2, 2, np.inf, np.inf, 0.1])
    for op in ("fmod", "remainder"):
        got = getattr(fp, op)(nb.tensor(a), nb.tensor(b)).data
        want = getattr(torch, op)(torch.tensor(a), torch.tensor(b)).numpy()
        np.testing.assert_array_equal(got, want)
        assert np.array_equal(np.signbit(got), np.signbit(want))  # −0.0 stays −0.0
        with pytest.raises(ZeroDivisionError, match=op):
            getattr(fp, op)(nb.tensor([1, 2]), nb.tensor([1, 0]))
        with pytest.raises(DTypeError, match=op):
            getattr(fp, op)(nb.tensor([True]), nb.tensor([True]))
    x = nb.tensor([5.5, -5.5])
    np.testing.assert_array_equal((x % 2).data, (torch.tensor([5.5, -5.5]) % 2).numpy())
    np.testing.assert_array_equal((7 % nb.tensor([2, -3])).data, [1, -2])
    np.testing.assert_array_equal(
        fp.remainder(7.5, x).data, torch.remainder(7.5, torch.tensor(x.data)).numpy()
    )


def test_xlogy_takes_a_number_on_either_side() -> None:
    y = np.array([0.5, 2.0, 0.0])
    for ours, theirs in ((lambda t: fp.xlogy(2, t), lambda t: torch.xlogy(2, t)),):
        _check(ours, theirs, y)
    _check(lambda t: fp.xlogy(t, 3.0), lambda t: torch.xlogy(t, 3.0), y)


def test_binary_shape_mismatch_is_a_shape_error() -> None:
    for name in BINARY:
        with pytest.raises(ShapeError, match=name):
            BINARY[name][0](nb.ones(2), nb.ones(3) + 1)


# ----- lerp -----------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
def test_lerp_matches_pytorch_for_scalar_and_tensor_weights(dtype: Any) -> None:
    rng = np.random.default_rng(6)
    s, e = rng.standard_normal((3, 4)).astype(dtype), rng.standard_normal((4,)).astype(dtype)
    rtol = TOL[dtype] * 5
    for weight in (0.3, 0.5, 1.0, -0.7, 2):
        _check(
            lambda a, b, w=weight: a.lerp(b, w),
            lambda a, b, w=weight: a.lerp(b, w),
            s,
            e,
            rtol=rtol,
        )
    w = rng.uniform(-1, 2, (3, 1)).astype(dtype)
    _check(fp.lerp, torch.lerp, s, e, w, rtol=rtol)
    for layout, data in _layouts(s).items():
        w2 = w[: data.shape[0]] if data.ndim else w[0, 0]
        _check(fp.lerp, torch.lerp, data, e, w2.copy(), rtol=rtol), layout
    edges = SPECIAL.astype(dtype)
    _check(fp.lerp, torch.lerp, edges[:, None], edges, np.array(0.25, dtype), rtol=rtol)
    _check(fp.lerp, torch.lerp, edges, edges[::-1].copy(), edges[:, None], rtol=rtol)
    x = nb.tensor(rng.standard_normal((2, 3)), requires_grad=True)
    y = nb.tensor(rng.standard_normal((3,)), requires_grad=True)
    t = nb.tensor(rng.uniform(-1, 2, (2, 1)), requires_grad=True)
    assert nb.gradcheck(fp.lerp, x, y, t)
    assert nb.gradgradcheck(fp.lerp, x, y, t)


def test_lerp_refuses_what_pytorch_refuses() -> None:
    with pytest.raises(DTypeError, match="end"):
        fp.lerp(nb.ones(2), nb.ones(2, dtype=np.float64), 0.5)
    with pytest.raises(DTypeError, match="weight"):
        fp.lerp(nb.ones(2), nb.ones(2), nb.tensor(0.5, dtype=np.float64))
    with pytest.raises(DTypeError, match="lerp"):
        fp.lerp(nb.tensor([1, 2]), nb.tensor([1, 2]), 0.5)
    with pytest.raises(ShapeError, match="lerp"):
        fp.lerp(nb.ones(2), nb.ones(3), 0.5)
    assert fp.lerp(nb.ones(1), nb.ones((2, 3)), nb.ones((3, 1, 1))).shape == (3, 2, 3)
