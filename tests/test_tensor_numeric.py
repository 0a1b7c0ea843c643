"""einsum, tensordot, kron, addcmul, addcdiv, mv, logit, nansum, nanmean, logcumsumexp,
var_mean, std_mean, cdist, dist, unflatten, ravel, index_add, index_copy, index_fill
(nabla.functional_numeric / nabla.tensor_numeric): values, dtypes and gradients against PyTorch,
first and second derivatives against central differences (nb.gradcheck / gradgradcheck)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import nabla as nb
import nabla.functional_numeric as N

torch = pytest.importorskip("torch")

DTYPES = [np.float32, np.float64]


def _rand(shape: tuple[int, ...], dtype: Any = np.float64, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def _compare(
    datas: list[np.ndarray],
    ours: Callable[..., Any],
    theirs: Callable[..., Any],
    rtol: float = 1e-5,
) -> None:
    """Values, dtype and the gradients of ⟨w, f(x…)⟩ for w random."""
    xs = [nb.tensor(d, requires_grad=d.dtype.kind == "f") for d in datas]
    ts = [torch.tensor(np.array(d, order="C"), requires_grad=d.dtype.kind == "f") for d in datas]
    got, want = ours(*xs), theirs(*ts)
    if isinstance(want, tuple):
        for g, w in zip(got, want):
            _compare_out(g, w, rtol)
        got, want = got[0] + got[1], want[0] + want[1]
    _compare_out(got, want, rtol)
    if not want.requires_grad:
        return
    w = np.random.default_rng(1).standard_normal(got.shape).astype(got.dtype)
    (got * nb.tensor(w)).sum().backward()
    (want * torch.tensor(w)).sum().backward()
    for x, t in zip(xs, ts):
        if t.requires_grad:
            want_grad = np.zeros(t.shape) if t.grad is None else t.grad.numpy()
            # PyTorch's nanmean gives nan to an all-nan slice; nabla keeps gradients finite (0)
            want_grad = np.where(np.isnan(want_grad), 0.0, want_grad)
            got_grad = np.zeros(x.shape) if x.grad is None else x.grad
            np.testing.assert_allclose(got_grad, want_grad, rtol=rtol, atol=1e-5)


def _compare_out(got: Any, want: Any, rtol: float) -> None:
    assert got.shape == tuple(want.shape)
    assert got.dtype == np.dtype(str(want.dtype).removeprefix("torch."))
    np.testing.assert_allclose(got.numpy(), want.detach().numpy(), rtol=rtol, atol=1e-5)


def _both_orders(fn: Callable[..., Any], *datas: np.ndarray) -> None:
    xs = [nb.tensor(d.astype(np.float64), requires_grad=True) for d in datas]
    assert nb.gradcheck(fn, *xs)
    assert nb.gradgradcheck(fn, *xs)


# ----- einsum, tensordot, kron ---------------------------------------------------------------
EINSUMS = [
    ("ij,jk->ik", [(2, 3), (3, 4)]),
    ("ij,jk", [(2, 3), (3, 4)]),
    ("bij,bjk->bik", [(2, 2, 3), (2, 3, 2)]),
    ("...ij,jk->...ik", [(2, 2, 3), (3, 2)]),
    ("i,i->", [(4,), (4,)]),
    ("i,j->ij", [(3,), (2,)]),
    ("ijk->kj", [(2, 3, 4)]),
    ("ijk->", [(2, 3, 4)]),
    ("ij,kl->jk", [(2, 3), (4, 2)]),
    ("bi,bj,bk->ijk", [(2, 2), (2, 3), (2, 2)]),
    ("...,...->...", [(2, 1), (3,)]),
    ("ij,ij->i", [(1, 3), (2, 3)]),
    (",ij->ij", [(), (2, 3)]),
    ("ij,jk->ik", [(0, 3), (3, 2)]),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("equation", "shapes"), EINSUMS)
def test_einsum_matches_pytorch(dtype: Any, equation: str, shapes: list[Any]) -> None:
    datas = [_rand(s, dtype, seed=i) for i, s in enumerate(shapes)]
    _compare(datas, lambda *x: N.einsum(equation, *x), lambda *t: torch.einsum(equation, *t))
    _compare(datas, lambda *x: N.einsum(equation, list(x)), lambda *t: torch.einsum(equation, *t))


@pytest.mark.parametrize(("equation", "shapes"), EINSUMS[:11])
def test_einsum_both_orders(equation: str, shapes: list[Any]) -> None:
    _both_orders(
        lambda *x: N.einsum(equation, *x), *[_rand(s, seed=i) for i, s in enumerate(shapes)]
    )


def test_einsum_odd_layouts_and_integers() -> None:
    base = _rand((4, 6))
    for a in (base[:, ::2], np.asfortranarray(base), base[::-1]):
        a = a.copy() if a is base else a
        a.flags.writeable = False
        _compare(
            [a, _rand((a.shape[1], 2))],
            lambda x, y: N.einsum("ij,jk->ik", x, y),
            lambda x, y: torch.einsum("ij,jk->ik", x, y),
        )
    ints = np.arange(6).reshape(2, 3)
    got = N.einsum("ij->j", nb.tensor(ints))
    want = torch.einsum("ij->j", torch.tensor(ints))
    _compare_out(got, want, 0)


def test_einsum_errors() -> None:
    a = nb.tensor(np.ones((2, 3)))
    with pytest.raises(nb.ShapeError, match="einsum"):
        N.einsum("ij,jk->ik", a, nb.tensor(np.ones((4, 2))))
    with pytest.raises(nb.ShapeError, match="einsum"):
        N.einsum("ijk->i", a)
    with pytest.raises(ValueError, match="einsum"):
        N.einsum("ij,jk->ik", a)
    with pytest.raises(ValueError, match="repeated subscript"):
        N.einsum("ii->i", nb.tensor(np.ones((2, 2))))
    with pytest.raises(nb.DTypeError, match="einsum"):
        N.einsum("ij,jk->ik", a, nb.tensor(np.ones((3, 2), np.float32)))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    ("sa", "sb", "dims"),
    [
        ((2, 3, 4), (3, 4, 5), 2),
        ((2, 3), (3, 2), 1),
        ((2, 3), (4,), 0),
        ((2, 3, 4), (4, 2, 3), ([1, 2], [2, 0])),
        ((3, 4), (4, 3), ([0], [1])),
    ],
)
def test_tensordot_matches_pytorch(dtype: Any, sa: Any, sb: Any, dims: Any) -> None:
    _compare(
        [_rand(sa, dtype), _rand(sb, dtype, 1)],
        lambda x, y: N.tensordot(x, y, dims),
        lambda x, y: torch.tensordot(x, y, dims),
    )


def test_tensordot_errors_and_orders() -> None:
    with pytest.raises(nb.ShapeError, match="tensordot"):
        N.tensordot(nb.tensor(np.ones((2, 3))), nb.tensor(np.ones((2, 3))), 1)
    _both_orders(lambda x, y: N.tensordot(x, y, ([1], [0])), _rand((2, 3)), _rand((3, 2), seed=1))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    ("sa", "sb"), [((2, 3), (2, 2)), ((3,), (2, 2)), ((2, 1, 2), (3,)), ((), (2,))]
)
def test_kron_matches_pytorch(dtype: Any, sa: Any, sb: Any) -> None:
    datas = [_rand(sa, dtype), _rand(sb, dtype, 1)]
    _compare(datas, N.kron, torch.kron)
    _compare(datas, lambda x, y: x.kron(y), lambda x, y: x.kron(y))
    _both_orders(N.kron, *datas)


# ----- pointwise compositions ----------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
def test_addcmul_addcdiv_match_pytorch(dtype: Any) -> None:
    datas = [_rand((2, 3), dtype), _rand((3,), dtype, 1), _rand((2, 1), dtype, 2) + 3]
    _compare(
        datas,
        lambda a, b, c: N.addcmul(a, b, c, value=0.5),
        lambda a, b, c: torch.addcmul(a, b, c, value=0.5),
    )
    _compare(
        datas, lambda a, b, c: a.addcdiv(b, c, value=-2), lambda a, b, c: a.addcdiv(b, c, value=-2)
    )
    _compare(datas, N.addcdiv, torch.addcdiv)
    _both_orders(lambda a, b, c: N.addcdiv(a, b, c, value=2), *datas)
    with pytest.raises(nb.DTypeError, match="addcdiv"):
        N.addcdiv(nb.tensor([1]), nb.tensor([1]), nb.tensor([2]))


@pytest.mark.parametrize("dtype", DTYPES)
def test_mv_matches_pytorch(dtype: Any) -> None:
    _compare([_rand((3, 4), dtype), _rand((4,), dtype, 1)], N.mv, torch.mv)
    _both_orders(N.mv, _rand((3, 4)), _rand((4,), seed=1))
    with pytest.raises(nb.ShapeError, match="mv"):
        N.mv(nb.tensor(np.ones((3, 4))), nb.tensor(np.ones(3)))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("eps", [None, 0.1])
def test_logit_matches_pytorch(dtype: Any, eps: Any) -> None:
    data = np.array([0.02, 0.3, 0.5, 0.91, 0.05, 0.7], dtype=dtype).reshape(2, 3)
    _compare([data], lambda x: N.logit(x, eps), lambda t: torch.logit(t, eps))
    _compare([data.T], lambda x: x.logit(eps), lambda t: t.logit(eps))
    _both_orders(lambda x: N.logit(x, eps), np.array([0.2, 0.3, 0.6]))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("dim", [None, 0, 1, (0, 1)])
@pytest.mark.parametrize("keepdim", [False, True])
def test_nansum_nanmean_match_pytorch(dtype: Any, dim: Any, keepdim: bool) -> None:
    data = _rand((3, 4), dtype)
    data[0, 1] = data[2, 3] = np.nan
    data[:, 2] = np.nan
    for name in ("nansum", "nanmean"):
        _compare(
            [data],
            lambda x, name=name: getattr(N, name)(x, dim, keepdim),
            lambda t, name=name: getattr(torch, name)(t, dim, keepdim),
        )
        _compare(
            [data],
            lambda x, name=name: getattr(x, name)(dim=dim, keepdim=keepdim),
            lambda t, name=name: getattr(t, name)(dim=dim, keepdim=keepdim),
        )
    ints = np.arange(6).reshape(2, 3)
    _compare_out(N.nansum(nb.tensor(ints), dim), torch.nansum(torch.tensor(ints), dim), 0)


def test_nansum_nanmean_orders_and_errors() -> None:
    _both_orders(lambda x: N.nanmean(x, 0), _rand((3, 2)))
    _both_orders(lambda x: N.nansum(x, 1), _rand((3, 2)))
    with pytest.raises(nb.DTypeError, match="nanmean"):
        N.nanmean(nb.tensor([1, 2]))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_logcumsumexp_matches_pytorch(dtype: Any, dim: int) -> None:
    data = _rand((3, 4), dtype) * 3
    data[0, 0] = -1000.0  # far below the rest: a shifted exp would underflow to log(0)
    data[1, 2] = 500.0
    _compare([data], lambda x: N.logcumsumexp(x, dim), lambda t: torch.logcumsumexp(t, dim))
    _compare([np.array(1.5, dtype)], lambda x: x.logcumsumexp(0), lambda t: t.logcumsumexp(0))
    _compare(
        [np.zeros((0, 3), dtype)], lambda x: x.logcumsumexp(dim), lambda t: t.logcumsumexp(dim)
    )
    _both_orders(lambda x: N.logcumsumexp(x, dim), _rand((3, 4)))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("dim", [None, 0, 1])
@pytest.mark.parametrize("correction", [None, 0, 2])
def test_var_std_mean_match_pytorch(dtype: Any, dim: Any, correction: Any) -> None:
    data = _rand((4, 5), dtype)
    for name in ("var_mean", "std_mean"):
        _compare(
            [data],
            lambda x, name=name: getattr(N, name)(x, dim, correction=correction, keepdim=True),
            lambda t, name=name: getattr(torch, name)(t, dim, correction=correction, keepdim=True),
        )
        _compare(
            [data],
            lambda x, name=name: getattr(x, name)(dim, correction=correction),
            lambda t, name=name: getattr(torch, name)(t, dim, correction=correction),
        )
    _both_orders(lambda x: N.std_mean(x, 0)[0] * N.var_mean(x, 1)[1].sum(), _rand((3, 4)))


# ----- distances ------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("p", [2.0, 1.0, 3.0, 0.0, float("inf")])
def test_cdist_matches_pytorch(dtype: Any, p: float) -> None:
    x1, x2 = _rand((2, 3, 4), dtype), _rand((1, 5, 4), dtype, 1)
    x2[0, 1] = x1[0, 2]  # a zero distance: its gradient is 0, not nan
    _compare([x1, x2], lambda a, b: N.cdist(a, b, p), lambda a, b: torch.cdist(a, b, p), rtol=1e-4)


def test_cdist_orders_and_errors() -> None:
    _both_orders(lambda a, b: N.cdist(a, b), _rand((3, 2)), _rand((4, 2), seed=1))
    with pytest.raises(nb.ShapeError, match="cdist"):
        N.cdist(nb.tensor(np.ones((3, 2))), nb.tensor(np.ones((3, 3))))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("p", [2, 1, 3.5, float("inf")])
def test_dist_matches_pytorch(dtype: Any, p: float) -> None:
    _compare(
        [_rand((2, 3), dtype), _rand((3,), dtype, 1)],
        lambda a, b: N.dist(a, b, p),
        lambda a, b: torch.dist(a, b, p),
    )
    _both_orders(lambda a, b: N.dist(a, b, 3), _rand((2, 3)), _rand((3,), seed=1))


# ----- shapes ----------------------------------------------------------------------------------
@pytest.mark.parametrize(("dim", "sizes"), [(1, (2, 3)), (-1, (2, -1)), (0, (2, 1))])
def test_unflatten_and_ravel_match_pytorch(dim: int, sizes: Any) -> None:
    data = _rand((2, 6, 4)) if dim != -1 else _rand((2, 6))
    _compare([data], lambda x: N.unflatten(x, dim, sizes), lambda t: t.unflatten(dim, sizes))
    _compare([data[:, ::-1]], lambda x: x.ravel(), lambda t: torch.ravel(t))
    with pytest.raises(nb.ShapeError, match="unflatten"):
        N.unflatten(nb.tensor(np.ones((2, 6))), 1, (4, 2))


# ----- index_add, index_copy, index_fill ---------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_index_ops_match_pytorch(dtype: Any, dim: int) -> None:
    data = _rand((3, 4), dtype)
    index = np.array([2, 0]) if dim == 0 else np.array([3, 1])
    src_shape = list(data.shape)
    src_shape[dim] = 2
    source = _rand(tuple(src_shape), dtype, 1)
    ti = torch.tensor(index)
    _compare(
        [data, source],
        lambda x, s: N.index_add(x, dim, nb.tensor(index), s, alpha=2),
        lambda x, s: torch.index_add(x, dim, ti, s, alpha=2),
    )
    _compare(
        [data, source],
        lambda x, s: x.index_copy(dim, index, s),
        lambda x, s: x.index_copy(dim, ti, s),
    )
    _compare(
        [data], lambda x: N.index_fill(x, dim, index, -1.5), lambda x: x.index_fill(dim, ti, -1.5)
    )
    _both_orders(lambda x, s: N.index_copy(x, dim, index, s), data, source)
    _both_orders(lambda x, s: N.index_add(x, dim, index, s), data, source)


def test_index_add_repeats_0d_and_errors() -> None:
    index = np.array([1, 1, 0])
    _compare(
        [_rand((2, 3)), _rand((3, 3), seed=1)],
        lambda x, s: x.index_add(0, index, s),
        lambda x, s: x.index_add(0, torch.tensor(index), s),
    )
    _compare(
        [np.array(2.0), np.array(3.0)],
        lambda x, s: x.index_add(0, np.array([0]), s),
        lambda x, s: x.index_add(0, torch.tensor([0]), s),
    )
    x = nb.tensor(np.ones((2, 3)))
    with pytest.raises(IndexError, match="index_add"):
        x.index_add(0, np.array([2]), nb.tensor(np.ones((1, 3))))
    with pytest.raises(nb.ShapeError, match="index_copy"):
        x.index_copy(0, np.array([1]), nb.tensor(np.ones((2, 3))))
    with pytest.raises(IndexError, match="index_fill"):
        x.index_fill(1, np.array([0.5]), 1.0)


@pytest.mark.parametrize("dtype", DTYPES)
def test_index_ops_in_place_match_pytorch(dtype: Any) -> None:
    rng = np.random.default_rng(3)
    data, source = rng.standard_normal((3, 2)).astype(dtype), rng.standard_normal((2, 2))
    weights = rng.standard_normal((3, 2)).astype(dtype)
    a, s = nb.tensor(data, requires_grad=True), nb.tensor(source.astype(dtype), requires_grad=True)
    ta = torch.tensor(data, requires_grad=True)
    ts = torch.tensor(source.astype(dtype), requires_grad=True)
    results = []
    for x, src, lib in ((a, s, nb), (ta, ts, torch)):
        y = x * 2
        y.index_add_(0, lib.tensor([2, 2]), src, alpha=-0.5)
        y.index_copy_(1, lib.tensor([1]), src[:, :1].sum(0, keepdim=True).expand(3, 1) * 1)
        y.index_fill_(0, lib.tensor([0]), 4.0)
        (y * lib.tensor(weights)).sum().backward()
        results.append(y)
    np.testing.assert_allclose(results[0].numpy(), results[1].detach().numpy(), rtol=1e-6)
    np.testing.assert_allclose(a.grad, ta.grad.numpy(), rtol=1e-6)
    np.testing.assert_allclose(s.grad, ts.grad.numpy(), rtol=1e-6)
    with pytest.raises(RuntimeError):
        nb.tensor(data, requires_grad=True).index_fill_(0, np.array([0]), 1.0)
