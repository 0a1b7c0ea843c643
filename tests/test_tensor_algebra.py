"""The algebra methods (nabla.tensor_algebra, nabla.functional_algebra, nabla.ops.algebra):
arithmetic methods with alpha and rounding_mode, mm/bmm/dot/outer/addmm, prod/cumprod/diff,
median/kthvalue/mode/aminmax/cummax/cummin, unique/bincount/histc, scatter/scatter_add.
Values, indices and gradients against PyTorch in float32 and float64, on every input layout;
first and second derivatives against central differences (nb.gradcheck / gradgradcheck)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import nabla as nb
import nabla.functional_algebra as fa

torch = pytest.importorskip("torch")

DTYPES = [np.float32, np.float64]


def _layouts(data: np.ndarray) -> dict[str, np.ndarray]:
    """The same values as C-order, Fortran-order, strided, negative-stride and read-only arrays."""
    strided = np.repeat(data, 2, axis=-1)[..., ::2] if data.ndim else data
    reversed_twice = np.flip(np.flip(data).copy()) if data.ndim else data
    frozen = data.copy()
    frozen.flags.writeable = False
    return {
        "c": np.ascontiguousarray(data),
        "fortran": np.asfortranarray(data),
        "strided": strided,
        "negative-stride": reversed_twice,
        "read-only": frozen,
    }


def _torch_value(t: Any) -> Any:
    return t.detach().numpy() if isinstance(t, torch.Tensor) else np.asarray(t)


def _outputs(out: Any) -> list[Any]:
    return list(out) if isinstance(out, tuple) else [out]


def _compare(
    arrays: list[np.ndarray],
    ours: Callable[..., Any],
    theirs: Callable[..., Any],
    rtol: float = 1e-5,
    grad: bool = True,
) -> None:
    """Every output's values and dtype, and the gradient of Σ wₖ ⊙ outₖ (w random) of each
    float input, against PyTorch."""
    floats = [a.dtype.kind == "f" and grad for a in arrays]
    xs = [nb.tensor(a, requires_grad=f) for a, f in zip(arrays, floats)]
    ts = [torch.tensor(np.array(a), requires_grad=f) for a, f in zip(arrays, floats)]
    got, want = _outputs(ours(*xs)), _outputs(theirs(*ts))
    assert len(got) == len(want)
    rng = np.random.default_rng(1)
    loss, tloss = None, None
    for g, w in zip(got, want):
        assert g.shape == tuple(w.shape), (g.shape, w.shape)
        assert g.dtype == np.dtype(str(w.dtype).removeprefix("torch.")), (g.dtype, w.dtype)
        np.testing.assert_allclose(g.numpy(), _torch_value(w), rtol=rtol, atol=1e-6)
        if w.requires_grad:
            assert g.requires_grad
            weight = rng.standard_normal(g.shape).astype(g.dtype)
            term, tterm = (g * nb.tensor(weight)).sum(), (w * torch.tensor(weight)).sum()
            loss = term if loss is None else loss + term
            tloss = tterm if tloss is None else tloss + tterm
        else:
            assert not g.requires_grad
    if tloss is None:
        return
    assert loss is not None
    loss.backward()
    tloss.backward()
    for x, t in zip(xs, ts):
        if t.requires_grad:
            want_grad = np.zeros(x.shape) if t.grad is None else t.grad.numpy()
            got_grad = np.zeros(x.shape) if x.grad is None else x.grad
            np.testing.assert_allclose(got_grad, want_grad, rtol=rtol, atol=1e-5)


def _check_both_orders(fn: Callable[..., Any], *arrays: np.ndarray) -> None:
    xs = [nb.tensor(np.asarray(a, dtype=np.float64), requires_grad=True) for a in arrays]
    assert nb.gradcheck(fn, *xs)
    assert nb.gradgradcheck(fn, *xs)


def _distinct(shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    """Values without ties (a scaled permutation), so every ordering picks one index."""
    n = int(np.prod(shape))
    return np.random.default_rng(seed).permutation(n).reshape(shape) * 0.37 - 1.1


# ----- arithmetic methods ---------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
def test_add_sub_rsub_with_alpha_broadcast(dtype: Any) -> None:
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((3, 4)).astype(dtype), rng.standard_normal((4,)).astype(dtype)
    _compare([a, b], lambda x, y: x.add(y, alpha=2.5), lambda x, y: x.add(y, alpha=2.5))
    _compare([a, b], lambda x, y: x.sub(y, alpha=-3), lambda x, y: x.sub(y, alpha=-3))
    _compare([a, b], lambda x, y: x.subtract(y), lambda x, y: x.subtract(y))
    _compare([a, b], lambda x, y: nb.add(x, y, alpha=0.5), lambda x, y: torch.add(x, y, alpha=0.5))
    _compare([a, b], lambda x, y: nb.sub(x, y, alpha=2), lambda x, y: torch.sub(x, y, alpha=2))
    _compare(
        [a, b], lambda x, y: fa.subtract(x, y, alpha=2), lambda x, y: torch.subtract(x, y, alpha=2)
    )
    _compare([a, b], lambda x, y: x.rsub(y, alpha=2), lambda x, y: torch.rsub(x, y, alpha=2))
    _compare([a, b], lambda x, y: fa.rsub(x, y), lambda x, y: torch.rsub(x, y))
    _compare([a], lambda x: x.add(2, alpha=3), lambda x: x.add(2, alpha=3))


def test_alpha_must_be_integral_for_integers() -> None:
    with pytest.raises(TypeError, match="alpha must not be a floating point"):
        nb.tensor([1, 2]).add(nb.tensor([1, 1]), alpha=0.5)
    np.testing.assert_array_equal(
        nb.tensor([1, 2]).add(nb.tensor([1, 1]), alpha=3).numpy(),
        torch.tensor([1, 2]).add(torch.tensor([1, 1]), alpha=3).numpy(),
    )


@pytest.mark.parametrize("dtype", DTYPES)
def test_mul_div_neg_aliases(dtype: Any) -> None:
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((2, 3)).astype(dtype), rng.uniform(0.5, 2, (2, 3)).astype(dtype)
    for name in ("mul", "multiply", "div", "divide", "true_divide"):
        _compare(
            [a, b], lambda x, y, n=name: getattr(x, n)(y), lambda x, y, n=name: getattr(x, n)(y)
        )
        _compare(
            [a, b],
            lambda x, y, n=name: getattr(fa, n, getattr(nb, n, None))(x, y),
            lambda x, y, n=name: getattr(torch, n)(x, y),
        )
    _compare([a], lambda x: x.neg(), lambda x: x.neg())
    _compare([a], lambda x: x.negative(), lambda x: x.negative())
    _compare([a], lambda x: fa.negative(x), lambda x: torch.negative(x))


@pytest.mark.parametrize("mode", ["trunc", "floor"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64, np.int32])
def test_div_rounding_modes_match_pytorch(mode: str, dtype: Any) -> None:
    a = np.array([[7, -7, 5, -5, 0, 9], [1, -1, 3, -3, 8, -8]]).astype(dtype)
    b = np.array([2, 2, -3, -3, 4, 5]).astype(dtype)
    if a.dtype.kind == "f":
        a = a * 1.3
    _compare(
        [a, b],
        lambda x, y: x.div(y, rounding_mode=mode),
        lambda x, y: x.div(y, rounding_mode=mode),
    )
    _compare(
        [a, b],
        lambda x, y: nb.div(x, y, rounding_mode=mode),
        lambda x, y: torch.div(x, y, rounding_mode=mode),
    )
    _compare(
        [a], lambda x: x.div(2.5, rounding_mode=mode), lambda x: x.div(2.5, rounding_mode=mode)
    )
    _compare(
        [a],
        lambda x: fa.divide(x, 3, rounding_mode=mode),
        lambda x: torch.divide(x, 3, rounding_mode=mode),
    )


def test_div_rounding_errors_and_zero_divisors() -> None:
    with pytest.raises(ZeroDivisionError):
        nb.tensor([1]).div(nb.tensor([0]), rounding_mode="floor")
    with pytest.raises(ValueError, match="rounding_mode to be one of None, 'trunc', or 'floor'"):
        nb.tensor([1.0]).div(2, rounding_mode="round")
    a, b = np.array([1.0, -1.0, 0.0]), np.array([0.0, 0.0, 0.0])
    with np.errstate(invalid="ignore"):  # the test's loss sums inf − inf
        for mode in ("trunc", "floor"):
            _compare(
                [a, b],
                lambda x, y, m=mode: x.div(y, rounding_mode=m),
                lambda x, y, m=mode: x.div(y, rounding_mode=m),
            )


# ----- products -------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
def test_mm_bmm_dot_outer_addmm_match_pytorch(dtype: Any) -> None:
    rng = np.random.default_rng(2)
    m1, m2 = rng.standard_normal((3, 4)).astype(dtype), rng.standard_normal((4, 2)).astype(dtype)
    for kind, arr in _layouts(m1).items():
        _compare([arr, m2], lambda x, y: x.mm(y), lambda x, y: x.mm(y), rtol=1e-4), kind
    _compare([m1, m2], lambda x, y: fa.mm(x, y), lambda x, y: torch.mm(x, y), rtol=1e-4)
    b1, b2 = (
        rng.standard_normal((2, 3, 4)).astype(dtype),
        rng.standard_normal((2, 4, 5)).astype(dtype),
    )
    _compare([b1, b2], lambda x, y: x.bmm(y), lambda x, y: x.bmm(y), rtol=1e-4)
    _compare([b1, b2], lambda x, y: fa.bmm(x, y), lambda x, y: torch.bmm(x, y), rtol=1e-4)
    v, w = rng.standard_normal(5).astype(dtype), rng.standard_normal(5).astype(dtype)
    _compare([v, w], lambda x, y: x.dot(y), lambda x, y: x.dot(y), rtol=1e-4)
    _compare([v, w], lambda x, y: fa.dot(x, y), lambda x, y: torch.dot(x, y), rtol=1e-4)
    _compare([v, w[:3]], lambda x, y: x.outer(y), lambda x, y: x.outer(y))
    _compare([v, w[:3]], lambda x, y: fa.ger(x, y), lambda x, y: torch.outer(x, y))
    bias = rng.standard_normal(2).astype(dtype)
    for beta, alpha in ((1, 1), (0.5, -2.0), (0, 3)):
        _compare(
            [bias, m1, m2],
            lambda c, x, y, b=beta, a=alpha: c.addmm(x, y, beta=b, alpha=a),
            lambda c, x, y, b=beta, a=alpha: c.addmm(x, y, beta=b, alpha=a),
            rtol=1e-4,
        )
    _compare(
        [bias[:1], m1, m2],
        lambda c, x, y: fa.addmm(c, x, y, alpha=2),
        lambda c, x, y: torch.addmm(c, x, y, alpha=2),
        rtol=1e-4,
    )
    # size 0: an empty contraction is zeros
    e1, e2 = np.zeros((3, 0), dtype), np.zeros((0, 2), dtype)
    _compare([e1, e2], lambda x, y: x.mm(y), lambda x, y: x.mm(y))


def test_addmm_beta_zero_ignores_nan() -> None:
    out = nb.tensor([np.nan, np.inf]).addmm(nb.ones((1, 1)), nb.ones((1, 2)), beta=0)
    np.testing.assert_array_equal(out.numpy(), [[1.0, 1.0]])


def test_product_shape_and_dtype_errors() -> None:
    with pytest.raises(
        nb.ShapeError, match=r"mat1 and mat2 shapes cannot be multiplied \(2x3 and 2x3\)"
    ):
        nb.ones((2, 3)).mm(nb.ones((2, 3)))
    with pytest.raises(nb.ShapeError, match="self must be a matrix"):
        nb.ones(3).mm(nb.ones((3, 3)))
    with pytest.raises(nb.ShapeError, match="batch1 must be a 3D tensor"):
        nb.ones((2, 3)).bmm(nb.ones((2, 3)))
    with pytest.raises(nb.ShapeError, match=r"batch2 tensor to be: \[2, 3\] but got: \[3, 3\]"):
        nb.ones((2, 2, 3)).bmm(nb.ones((3, 3, 3)))
    with pytest.raises(nb.ShapeError, match="1D tensors expected, but got 2D and 1D"):
        nb.ones((2, 1)).dot(nb.ones(2))
    with pytest.raises(nb.ShapeError, match="inconsistent tensor size"):
        nb.ones(2).dot(nb.ones(3))
    with pytest.raises(nb.DTypeError, match="expected both vectors to have same dtype"):
        nb.ones(2).dot(nb.ones(2, dtype=np.float64))
    with pytest.raises(nb.DTypeError, match="float != double"):
        nb.ones((2, 3)).mm(nb.ones((3, 3), dtype=np.float64))
    with pytest.raises(nb.ShapeError, match="Expected 1-D argument self, but got 2-D"):
        nb.ones((2, 2)).outer(nb.ones(2))
    with pytest.raises(nb.ShapeError, match="addmm: self of shape"):
        nb.ones(3).addmm(nb.ones((2, 3)), nb.ones((3, 4)))


# ----- prod, cumprod, diff --------------------------------------------------------------------
PROD_CASES = {
    "no zero": np.array([[1.5, -2.0, 0.5, 3.0], [0.7, 1.1, -0.9, 2.0]]),
    "one zero": np.array([[1.5, 0.0, 0.5, 3.0], [0.7, 1.1, -0.9, 0.0]]),
    "two zeros": np.array([[0.0, 2.0, 0.0, 3.0], [0.0, 0.0, -0.9, 2.0]]),
    "all zeros": np.zeros((2, 4)),
}


@pytest.mark.parametrize("case", PROD_CASES, ids=str)
@pytest.mark.parametrize("dtype", DTYPES)
def test_prod_and_cumprod_gradients_are_exact_at_zeros(case: str, dtype: Any) -> None:
    data = PROD_CASES[case].astype(dtype)
    for kind, arr in _layouts(data).items():
        _compare([arr], lambda x: x.prod(), lambda x: x.prod()), kind
        for dim in (0, 1, -1):
            for keep in (False, True):
                _compare(
                    [arr],
                    lambda x, d=dim, k=keep: x.prod(d, k),
                    lambda x, d=dim, k=keep: x.prod(d, k),
                )
            _compare([arr], lambda x, d=dim: x.cumprod(d), lambda x, d=dim: x.cumprod(d))
    _compare([data], lambda x: fa.prod(x, 1, True), lambda x: torch.prod(x, 1, True))
    _compare([data], lambda x: fa.cumprod(x, 0), lambda x: torch.cumprod(x, 0))
    _check_both_orders(lambda x: x.prod(1), data)
    _check_both_orders(lambda x: x.prod(), data)
    _check_both_orders(lambda x: x.cumprod(-1), data)
    _check_both_orders(lambda x: x.cumprod(0), data)


def test_prod_cumprod_0d_empty_integers_dtype() -> None:
    for data in (np.array(2.5), np.zeros((0, 3)), np.zeros((2, 0))):
        _compare([data], lambda x: x.prod(), lambda x: x.prod())
        for dim in (0, -1):
            _compare([data], lambda x, d=dim: x.prod(d), lambda x, d=dim: x.prod(d))
            _compare([data], lambda x, d=dim: x.cumprod(d), lambda x, d=dim: x.cumprod(d))
    ints = np.array([[1, 2, 3], [4, 5, 6]], dtype=np.int32)
    for f in (lambda x: x.prod(), lambda x: x.prod(1), lambda x: x.cumprod(0)):
        _compare([ints], f, f)
    _compare([np.array([True, False])], lambda x: x.prod(), lambda x: x.prod())
    _compare([ints], lambda x: x.prod(dtype=np.float64), lambda x: x.prod(dtype=torch.float64))
    _compare(
        [ints.astype(np.float32)],
        lambda x: x.cumprod(1, dtype=np.float64),
        lambda x: x.cumprod(1, dtype=torch.float64),
    )
    with pytest.raises(TypeError, match="missing required argument 'dim'"):
        nb.ones(2).cumprod()
    with pytest.raises(IndexError):
        nb.ones(2).cumprod(2)


def test_prod_cumprod_broadcast_input() -> None:
    data = np.broadcast_to(np.array([0.5, 0.0, 2.0]), (2, 3))
    _compare([data], lambda x: x.prod(0), lambda x: x.prod(0))
    _compare([data], lambda x: x.cumprod(1), lambda x: x.cumprod(1))


@pytest.mark.parametrize("dtype", DTYPES)
def test_diff_matches_pytorch(dtype: Any) -> None:
    data = np.random.default_rng(3).standard_normal((3, 5)).astype(dtype)
    for kind, arr in _layouts(data).items():
        for n, dim in ((1, -1), (2, 1), (1, 0), (3, -1), (7, 1)):
            (
                _compare(
                    [arr], lambda x, n=n, d=dim: x.diff(n, d), lambda x, n=n, d=dim: x.diff(n, d)
                ),
                kind,
            )
    pre, app = data[:, :2] * 2, data[:, :1] - 1
    _compare(
        [data, pre, app],
        lambda x, p, a: x.diff(2, 1, p, a),
        lambda x, p, a: x.diff(2, 1, p, a),
    )
    _compare([np.array([True, False, False, True])], lambda x: x.diff(), lambda x: x.diff())
    _compare([np.array([3, 1, 4, 1, 5])], lambda x: fa.diff(x, 2), lambda x: torch.diff(x, 2))
    _check_both_orders(lambda x, p: x.diff(2, 1, p), data, pre)
    with pytest.raises(nb.ShapeError, match="at least one-dimensional"):
        nb.tensor(1.0).diff()


# ----- order statistics -----------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
def test_median_kthvalue_mode_without_ties_match_pytorch(dtype: Any) -> None:
    data = _distinct((3, 5)).astype(dtype)
    for kind, arr in _layouts(data).items():
        for dim in (0, 1, -1):
            for keep in (False, True):
                (
                    _compare(
                        [arr],
                        lambda x, d=dim, k=keep: tuple(x.median(d, k)),
                        lambda x, d=dim, k=keep: tuple(x.median(d, k)),
                    ),
                    kind,
                )
                _compare(
                    [arr],
                    lambda x, d=dim, k=keep: tuple(x.kthvalue(2, d, k)),
                    lambda x, d=dim, k=keep: tuple(x.kthvalue(2, d, k)),
                )
                _compare(
                    [arr],
                    lambda x, d=dim, k=keep: tuple(x.mode(d, k)),
                    lambda x, d=dim, k=keep: tuple(x.mode(d, k)),
                )
        _compare([arr], lambda x: x.median(), lambda x: x.median())
    _compare([data], lambda x: tuple(fa.median(x, 1)), lambda x: tuple(torch.median(x, 1)))
    _compare([data], lambda x: fa.median(x), lambda x: torch.median(x))
    _compare(
        [data], lambda x: tuple(fa.kthvalue(x, 3, 0)), lambda x: tuple(torch.kthvalue(x, 3, 0))
    )
    _compare([data], lambda x: tuple(fa.mode(x)), lambda x: tuple(torch.mode(x)))
    _check_both_orders(lambda x: x.median(1).values, data)
    _check_both_orders(lambda x: x.median(), data)
    _check_both_orders(lambda x: x.kthvalue(3, 1, True).values, data)
    _check_both_orders(lambda x: x.mode(0).values, data)


def test_mode_picks_the_smallest_most_frequent_value_at_its_last_position() -> None:
    data = np.array([[3, 1, 3, 1, 2, 1, 3], [5, 4, 4, 5, 1, 1, 0]], dtype=np.float64)
    _compare([data], lambda x: tuple(x.mode(1)), lambda x: tuple(x.mode(1)))
    ints = np.array([[2, 2, 1, 1, 3, 3], [5, 4, 4, 5, 1, 1]])
    _compare([ints], lambda x: tuple(x.mode()), lambda x: tuple(x.mode()))
    _compare([ints.T], lambda x: tuple(x.mode(0, True)), lambda x: tuple(x.mode(0, True)))


def test_median_of_all_shares_the_gradient_among_ties_and_propagates_nan() -> None:
    for data in (
        np.array([2.0, 2.0, 1.0, 1.0]),
        np.array([[2.0, 2.0, 1.0], [1.0, 1.0, 5.0]]),
        np.array([1.0, np.nan, 2.0, np.nan]),
        np.array(4.0),
    ):
        _compare([data], lambda x: x.median(), lambda x: x.median())
    nan_row = np.array([[1.0, np.nan, 2.0], [3.0, 1.0, 2.0]])
    _compare([nan_row], lambda x: tuple(x.median(1)), lambda x: tuple(x.median(1)))
    _compare([nan_row], lambda x: tuple(x.kthvalue(3, 1)), lambda x: tuple(x.kthvalue(3, 1)))
    _compare([np.array([3, 1, 2])], lambda x: x.median(), lambda x: x.median())


def test_order_statistics_0d_empty_and_errors() -> None:
    scalar = np.array(1.5)
    for f in (
        lambda x: tuple(x.median(0)),
        lambda x: tuple(x.kthvalue(1)),
        lambda x: tuple(x.mode()),
        lambda x: tuple(x.cummax(0)),
        lambda x: tuple(x.cummin(-1)),
        lambda x: tuple(x.aminmax()),
    ):
        _compare([scalar], f, f)
    empty = np.zeros((0, 3))
    _compare([empty], lambda x: tuple(x.median(1)), lambda x: tuple(x.median(1)))
    _compare([empty], lambda x: tuple(x.cummax(0)), lambda x: tuple(x.cummax(0)))
    with pytest.raises(IndexError, match=r"kthvalue\(\): selected number k"):
        nb.ones(3).kthvalue(4)
    with pytest.raises(IndexError, match=r"mode\(\): Expected reduction dim 0 to have non-zero"):
        nb.ones(0).mode()
    with pytest.raises(nb.ShapeError, match=r"aminmax.*empty dimension"):
        nb.ones(0).aminmax()
    with pytest.raises(IndexError):
        nb.ones((2, 2)).median(2)


@pytest.mark.parametrize("dtype", DTYPES)
def test_aminmax_matches_pytorch_with_ties(dtype: Any) -> None:
    data = np.array([[2.0, 2.0, 1.0], [1.0, 1.0, 5.0]], dtype=dtype)
    for kind, arr in _layouts(data).items():
        _compare([arr], lambda x: tuple(x.aminmax()), lambda x: tuple(x.aminmax())), kind
        for dim in (0, 1, -1):
            for keep in (False, True):
                _compare(
                    [arr],
                    lambda x, d=dim, k=keep: tuple(x.aminmax(dim=d, keepdim=k)),
                    lambda x, d=dim, k=keep: tuple(x.aminmax(dim=d, keepdim=k)),
                )
    _compare(
        [data], lambda x: tuple(x.aminmax(keepdim=True)), lambda x: tuple(x.aminmax(keepdim=True))
    )
    _compare(
        [data], lambda x: tuple(fa.aminmax(x, dim=1)), lambda x: tuple(torch.aminmax(x, dim=1))
    )
    result = nb.tensor(data).aminmax()
    assert result.min.shape == () and result.max.item() == 5.0


@pytest.mark.parametrize("dtype", DTYPES)
def test_cummax_cummin_match_pytorch_with_ties_and_nan(dtype: Any) -> None:
    rows = np.array(
        [[1.0, 3.0, 3.0, 2.0, 3.0, np.nan, 5.0], [1.0, 0.0, 0.0, 2.0, 0.0, -1.0, -1.0]],
        dtype=dtype,
    )
    for kind, arr in _layouts(rows).items():
        for dim in (0, 1, -1):
            for name in ("cummax", "cummin"):
                (
                    _compare(
                        [arr],
                        lambda x, d=dim, n=name: tuple(getattr(x, n)(d)),
                        lambda x, d=dim, n=name: tuple(getattr(x, n)(d)),
                    ),
                    kind,
                )
    _compare([rows], lambda x: tuple(fa.cummax(x, 1)), lambda x: tuple(torch.cummax(x, 1)))
    _compare([rows], lambda x: tuple(fa.cummin(x, 0)), lambda x: tuple(torch.cummin(x, 0)))
    ints = np.array([[3, 1, 3, 5, 5, 2]])
    _compare([ints], lambda x: tuple(x.cummax(1)), lambda x: tuple(x.cummax(1)))
    data = _distinct((3, 4))
    _check_both_orders(lambda x: x.cummax(1).values, data)
    _check_both_orders(lambda x: x.cummin(0).values, data)


# ----- counting -------------------------------------------------------------------------------
def test_unique_matches_pytorch() -> None:
    data = np.array([[3, 1, 2], [1, 3, 3]])
    for kind, arr in _layouts(data).items():
        for inverse in (False, True):
            for counts in (False, True):
                (
                    _compare(
                        [arr],
                        lambda x, i=inverse, c=counts: x.unique(return_inverse=i, return_counts=c),
                        lambda x, i=inverse, c=counts: x.unique(return_inverse=i, return_counts=c),
                    ),
                    kind,
                )
    rows = np.array([[1.0, 2.0], [0.0, 5.0], [1.0, 2.0]])
    for dim in (0, 1, -1):
        _compare(
            [rows],
            lambda x, d=dim: fa.unique(x, return_inverse=True, return_counts=True, dim=d),
            lambda x, d=dim: torch.unique(x, return_inverse=True, return_counts=True, dim=d),
            grad=False,
        )
    _compare(
        [np.array(2.0)],
        lambda x: x.unique(return_inverse=True),
        lambda x: x.unique(return_inverse=True),
        grad=False,
    )
    _compare(
        [np.zeros(0)],
        lambda x: x.unique(return_counts=True),
        lambda x: x.unique(return_counts=True),
        grad=False,
    )
    assert not nb.tensor([1.0, 1.0], requires_grad=True).unique().requires_grad


def test_bincount_matches_pytorch() -> None:
    data = np.array([1, 1, 3, 0, 7])
    weights32 = np.array([0.5, 1.0, 2.0, 3.0, -1.0], dtype=np.float32)
    _compare([data], lambda x: x.bincount(), lambda x: x.bincount())
    _compare(
        [data], lambda x: fa.bincount(x, minlength=10), lambda x: torch.bincount(x, minlength=10)
    )
    for w in (weights32, weights32.astype(np.float64), np.array([1, 2, 3, 4, 5])):
        _compare([data, w], lambda x, y: x.bincount(y), lambda x, y: x.bincount(y), grad=False)
    _compare(
        [np.zeros(0, dtype=np.int64)],
        lambda x: x.bincount(minlength=3),
        lambda x: x.bincount(minlength=3),
    )
    for bad in (np.array([-1]), np.array([[1]]), np.array([1.0])):
        with pytest.raises(ValueError, match="bincount only supports 1-d non-negative integral"):
            nb.tensor(bad).bincount()


@pytest.mark.parametrize("dtype", DTYPES)
def test_histc_matches_pytorch(dtype: Any) -> None:
    data = np.random.default_rng(4).standard_normal((4, 25)).astype(dtype)
    for kind, arr in _layouts(data).items():
        for bins, lo, hi in ((100, 0, 0), (7, -1, 1), (3, 0.5, 0.5), (10, -0.3, 2.2)):
            (
                _compare(
                    [arr],
                    lambda x, b=bins, lo=lo, hi=hi: x.histc(b, lo, hi),
                    lambda x, b=bins, lo=lo, hi=hi: x.histc(b, lo, hi),
                    grad=False,
                ),
                kind,
            )
    _compare(
        [np.array([1.0, 5.0, 2.0, 5.0], dtype)],
        lambda x: fa.histc(x, 4),
        lambda x: torch.histc(x, 4),
        grad=False,
    )
    _compare([np.zeros(0, dtype)], lambda x: x.histc(5), lambda x: x.histc(5), grad=False)
    _compare([np.full(3, 2.0, dtype)], lambda x: x.histc(4), lambda x: x.histc(4), grad=False)
    with pytest.raises(nb.DTypeError):
        nb.tensor([1, 2]).histc()
    with pytest.raises(ValueError, match="max must be larger than min"):
        nb.ones(3).histc(min=2, max=1)
    with pytest.raises(ValueError, match="bins must be > 0"):
        nb.ones(3).histc(bins=0)


# ----- scatter --------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_scatter_and_scatter_add_match_pytorch(dtype: Any, dim: int) -> None:
    rng = np.random.default_rng(5)
    x, src = rng.standard_normal((4, 5)).astype(dtype), rng.standard_normal((3, 4)).astype(dtype)
    n = x.shape[dim]
    # scatter: distinct positions along dim (PyTorch leaves repeated writes unspecified)
    other = 3
    along = 3 if dim == 0 else 4
    index = np.stack([rng.permutation(n)[:along] for _ in range(other)], axis=1 if dim == 0 else 0)
    for kind, arr in _layouts(x).items():
        (
            _compare(
                [arr, src[: index.shape[0], : index.shape[1]]],
                lambda a, s: a.scatter(dim, nb.tensor(index), s),
                lambda a, s: a.scatter(dim, torch.tensor(index), s),
            ),
            kind,
        )
    repeats = rng.integers(0, n, index.shape)  # scatter_add: repeats add up
    sub = src[: index.shape[0], : index.shape[1]]
    _compare(
        [x, sub],
        lambda a, s: a.scatter_add(dim, nb.tensor(repeats), s),
        lambda a, s: a.scatter_add(dim, torch.tensor(repeats), s),
    )
    _compare(
        [x, sub],
        lambda a, s: fa.scatter_add(a, dim, repeats, s),
        lambda a, s: torch.scatter_add(a, dim, torch.tensor(repeats), s),
    )
    _compare(
        [x, sub],
        lambda a, s: fa.scatter(a, dim, index, s),
        lambda a, s: torch.scatter(a, dim, torch.tensor(index), s),
    )
    _compare(
        [x],
        lambda a: a.scatter(dim, nb.tensor(index), value=2.5),
        lambda a: a.scatter(dim, torch.tensor(index), value=2.5),
    )
    _compare(
        [x],
        lambda a: a.scatter(dim, nb.tensor(index), -1.0),
        lambda a: a.scatter(dim, torch.tensor(index), -1.0),
    )
    _check_both_orders(lambda a, s: a.scatter(dim, nb.tensor(index), s), x, sub)
    _check_both_orders(lambda a, s: a.scatter_add(dim, nb.tensor(repeats), s), x, sub)


def test_scatter_src_larger_than_index_gets_zero_gradient_outside() -> None:
    x = nb.zeros((3, 3), requires_grad=True)
    src = nb.ones((2, 3), requires_grad=True)
    out = x.scatter(0, nb.tensor([[1, 2]]), src)
    want = torch.zeros(3, 3).scatter(0, torch.tensor([[1, 2]]), torch.ones(2, 3))
    np.testing.assert_array_equal(out.numpy(), want.numpy())
    out.sum().backward()
    np.testing.assert_array_equal(
        src.grad, [[1, 1, 0], [0, 0, 0]]
    )  # PyTorch refuses this backward
    np.testing.assert_array_equal(x.grad, [[1, 1, 1], [0, 1, 1], [1, 0, 1]])


def test_scatter_0d_empty_and_errors() -> None:
    _compare(
        [np.array(1.0), np.array(4.0)],
        lambda a, s: a.scatter(0, nb.tensor(0), s),
        lambda a, s: a.scatter(0, torch.tensor(0), s),
    )
    empty = np.zeros((0, 3), dtype=np.int64)
    _compare(
        [np.ones((2, 3)), np.ones((2, 3))],
        lambda a, s: a.scatter_add(0, nb.tensor(empty), s),
        lambda a, s: a.scatter_add(0, torch.tensor(empty), s),
        grad=False,  # PyTorch refuses this backward (src larger than index)
    )
    x = nb.ones((2, 2))
    with pytest.raises(IndexError, match="index 2 is out of bounds for dimension 0 with size 2"):
        x.scatter(0, nb.tensor([[2]]), nb.ones((2, 2)))
    with pytest.raises(ValueError, match=r"Expected index \[1, 3\] to be no larger than self"):
        x.scatter(0, nb.tensor([[0, 0, 0]]), nb.ones((2, 2)))
    with pytest.raises(ValueError, match="same number of dimensions"):
        x.scatter(0, nb.tensor([0]), nb.ones((2, 2)))
    with pytest.raises(TypeError, match="Expected dtype int64 for index"):
        x.scatter(0, nb.tensor([[0.0]]), nb.ones((2, 2)))
    with pytest.raises(nb.DTypeError, match=r"Expected self\.dtype to be equal to src\.dtype"):
        x.scatter(0, nb.tensor([[0]]), nb.ones((2, 2), dtype=np.float64))


@pytest.mark.parametrize("dtype", DTYPES)
def test_scatter_in_place_matches_pytorch(dtype: Any) -> None:
    rng = np.random.default_rng(6)
    base, src = (
        rng.standard_normal((3, 4)).astype(dtype),
        rng.standard_normal((2, 4)).astype(dtype),
    )
    index = np.array([[2, 0, 1, 2], [0, 1, 2, 1]])
    weight = rng.standard_normal((3, 4)).astype(dtype)
    for method in ("scatter_", "scatter_add_"):
        x, s = nb.tensor(base, requires_grad=True), nb.tensor(src, requires_grad=True)
        tx, ts = torch.tensor(base, requires_grad=True), torch.tensor(src, requires_grad=True)
        y, ty = x * 2, tx * 2
        assert getattr(y, method)(0, nb.tensor(index), s) is y
        getattr(ty, method)(0, torch.tensor(index), ts)
        np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=1e-6)
        (y * nb.tensor(weight)).sum().backward()
        (ty * torch.tensor(weight)).sum().backward()
        np.testing.assert_allclose(x.grad, tx.grad.numpy(), rtol=1e-6)
        np.testing.assert_allclose(s.grad, ts.grad.numpy(), rtol=1e-6)
    plain, tplain = nb.tensor(base), torch.tensor(base)
    plain.scatter_(1, nb.tensor(index[:, :2]), value=7.0)
    tplain.scatter_(1, torch.tensor(index[:, :2]), value=7.0)
    np.testing.assert_array_equal(plain.numpy(), tplain.numpy())
    scalar = nb.tensor(np.array(1.0, dtype))
    scalar.scatter_add_(0, nb.tensor(0), nb.tensor(np.array(2.0, dtype)))
    assert scalar.item() == 3.0
    with pytest.raises(RuntimeError):  # a leaf that requires grad cannot change in place
        nb.tensor(base, requires_grad=True).scatter_(0, nb.tensor(index), nb.tensor(src))


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ([5.0, -7.0, 7.5, -0.5], 2.0),
        ([7, -7, 0, 9], 2),
        ([5.0, -7.0], [3.0, -4.0]),
        (3.0, [2.0, -4.0]),
    ],
)
def test_floor_division_matches_torch(a: Any, b: Any) -> None:
    """``//``, reflected ``//``, ``floor_divide`` method and function: rounded down, integers
    stay integers, as PyTorch's; the gradient is 0 (PyTorch's backward raises instead)."""
    x = nb.tensor(a) if isinstance(a, list) else a
    y = nb.tensor(b) if isinstance(b, list) else b
    tx = torch.tensor(a) if isinstance(a, list) else a
    ty = torch.tensor(b) if isinstance(b, list) else b
    want = (tx // ty).numpy()
    for got in (x // y, nb.floor_divide(nb.tensor(a), b) if isinstance(a, list) else None):
        if got is None:
            continue
        np.testing.assert_array_equal(got.numpy(), want)
        assert got.numpy().dtype == want.dtype
    if isinstance(a, list) and isinstance(a[0], float):
        leaf = nb.tensor(a, requires_grad=True)
        (leaf // 2.0).sum().backward()
        np.testing.assert_array_equal(leaf.grad, np.zeros(len(a)))
