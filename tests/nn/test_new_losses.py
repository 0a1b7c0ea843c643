"""SmoothL1Loss, KLDivLoss and BCELoss against PyTorch (values and gradients in float32 and
float64, every reduction) and central differences in float64."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest

import nabla as nb
from nabla.nn import functional as F
from nabla.nn.loss import BCELoss, KLDivLoss, SmoothL1Loss

torch = pytest.importorskip("torch")
TF = torch.nn.functional

REDUCTIONS = ["mean", "sum", "none"]
KL_REDUCTIONS = ["mean", "batchmean", "sum", "none"]
DTYPES = [np.float32, np.float64]


def tol(dtype: Any) -> dict[str, float]:
    return {"rtol": 1e-5, "atol": 1e-6} if dtype == np.float32 else {"rtol": 1e-12, "atol": 1e-14}


def leaf(a: Any, dtype: Any = np.float64) -> nb.Tensor:
    return nb.tensor(np.asarray(a, dtype=dtype), requires_grad=True)


def tleaf(a: Any, dtype: Any = np.float64) -> Any:
    return torch.tensor(np.asarray(a, dtype=dtype), requires_grad=True)


def both_backward(loss: nb.Tensor, tloss: Any, seed: int = 0) -> None:
    """Backward with the same random cotangent in both libraries."""
    g = np.random.default_rng(seed).normal(size=loss.shape).astype(loss.dtype)
    loss.backward(g)
    tloss.backward(torch.from_numpy(g.copy()))


# ---------------------------------------------------------------- smooth_l1_loss


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("beta", [1.0, 0.3, 2.5, 0.0])
def test_smooth_l1_matches_pytorch(dtype: Any, reduction: str, beta: float) -> None:
    rng = np.random.default_rng(1)
    x, y = rng.normal(scale=2.0, size=(6, 4)), rng.normal(size=(6, 4))
    # residuals exactly at ±beta and 0, where the branches meet
    x[0, :3] = y[0, :3] + np.array([beta, -beta, 0.0])
    xn, yn, xt, yt = leaf(x, dtype), leaf(y, dtype), tleaf(x, dtype), tleaf(y, dtype)
    loss = F.smooth_l1_loss(xn, yn, reduction=reduction, beta=beta)
    tloss = TF.smooth_l1_loss(xt, yt, reduction=reduction, beta=beta)
    assert loss.dtype == dtype
    np.testing.assert_allclose(loss.data, tloss.detach().numpy(), **tol(dtype))
    both_backward(loss, tloss)
    np.testing.assert_allclose(xn.grad, xt.grad.numpy(), **tol(dtype))
    np.testing.assert_allclose(yn.grad, yt.grad.numpy(), **tol(dtype))
    module = SmoothL1Loss(reduction=reduction, beta=beta)
    np.testing.assert_allclose(
        module(nb.tensor(x.astype(dtype)), y.astype(dtype)).data,
        tloss.detach().numpy(),
        **tol(dtype),
    )


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("beta", [0.7, 0.0])
def test_smooth_l1_gradcheck(reduction: str, beta: float) -> None:
    rng = np.random.default_rng(2)
    x, y = rng.normal(scale=2.0, size=(5, 3)), rng.normal(size=(5, 3))
    e = x - y  # away from the kinks at ±beta (and 0 for the L1 case)
    x = np.where(np.abs(np.abs(e) - beta) < 1e-2, x + 0.05, x)

    def f(a: nb.Tensor, b: nb.Tensor) -> nb.Tensor:
        return F.smooth_l1_loss(a, b, reduction=reduction, beta=beta)

    assert nb.gradcheck(f, leaf(x), leaf(y))
    if beta:
        assert nb.gradgradcheck(f, leaf(x), leaf(y))


def test_smooth_l1_zero_dim_empty_noncontiguous_and_huge() -> None:
    x = leaf(2.0)
    loss = F.smooth_l1_loss(x, np.float64(0.5), beta=2.0)
    loss.backward()
    xt = tleaf(2.0)
    TF.smooth_l1_loss(xt, torch.tensor(0.5, dtype=torch.float64), beta=2.0).backward()
    np.testing.assert_allclose(x.grad, xt.grad.numpy(), rtol=1e-12)
    for reduction in REDUCTIONS:
        got = F.smooth_l1_loss(leaf(np.zeros((0, 2))), np.zeros((0, 2)), reduction=reduction)
        want = TF.smooth_l1_loss(torch.zeros(0, 2), torch.zeros(0, 2), reduction=reduction)
        assert got.shape == tuple(want.shape)
        np.testing.assert_array_equal(got.data, want.numpy())  # NaN for the mean of nothing
    base = np.random.default_rng(3).normal(size=(4, 6))
    xs = nb.tensor(base[:, ::2], requires_grad=True)  # a strided view
    F.smooth_l1_loss(xs, np.zeros((4, 3)), reduction="sum").backward()
    tx = torch.tensor(base, requires_grad=True)
    TF.smooth_l1_loss(
        tx[:, ::2], torch.zeros(4, 3, dtype=torch.float64), reduction="sum"
    ).backward()
    np.testing.assert_allclose(xs.grad, tx.grad.numpy()[:, ::2], rtol=1e-12)
    big = leaf([1e200, -1e200])
    huge = F.smooth_l1_loss(big, np.zeros(2), reduction="sum")
    huge.backward()
    assert np.isfinite(huge.data)
    np.testing.assert_array_equal(big.grad, [1.0, -1.0])


def test_smooth_l1_broadcast_target_warns_like_pytorch() -> None:
    x, y = np.ones((3, 1)), np.zeros(2)
    with pytest.warns(UserWarning, match="target size"):
        got = F.smooth_l1_loss(leaf(x), y, reduction="none")
    with pytest.warns(UserWarning, match="target size"):
        want = TF.smooth_l1_loss(torch.tensor(x), torch.tensor(y), reduction="none")
    np.testing.assert_array_equal(got.data, want.numpy())


def test_smooth_l1_bad_arguments() -> None:
    with pytest.raises(ValueError, match="beta"):
        F.smooth_l1_loss(leaf([1.0]), [0.0], beta=-1.0)
    with pytest.raises(ValueError, match="reduction"):
        F.smooth_l1_loss(leaf([1.0]), [0.0], reduction="batchmean")
    with pytest.raises(ValueError, match="size_average"):
        SmoothL1Loss(size_average=True)


# ---------------------------------------------------------------- kl_div


def torch_kl(x: Any, t: Any, reduction: str, log_target: bool) -> Any:
    with warnings.catch_warnings():  # PyTorch warns on "mean"; nabla does not
        warnings.simplefilter("ignore", UserWarning)
        return TF.kl_div(x, t, reduction=reduction, log_target=log_target)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", KL_REDUCTIONS)
@pytest.mark.parametrize("log_target", [False, True])
def test_kl_div_matches_pytorch(dtype: Any, reduction: str, log_target: bool) -> None:
    rng = np.random.default_rng(4)
    x = np.log(rng.dirichlet(np.ones(5), size=4))
    t = np.log(rng.dirichlet(np.ones(5), size=4)) if log_target else rng.dirichlet(np.ones(5), 4)
    xn, tn, xt, tt = leaf(x, dtype), leaf(t, dtype), tleaf(x, dtype), tleaf(t, dtype)
    loss = F.kl_div(xn, tn, reduction=reduction, log_target=log_target)  # no warning
    tloss = torch_kl(xt, tt, reduction, log_target)
    assert loss.dtype == dtype and loss.shape == tuple(tloss.shape)
    np.testing.assert_allclose(loss.data, tloss.detach().numpy(), **tol(dtype))
    both_backward(loss, tloss, seed=5)
    np.testing.assert_allclose(xn.grad, xt.grad.numpy(), **tol(dtype))
    np.testing.assert_allclose(tn.grad, tt.grad.numpy(), **tol(dtype))
    module = KLDivLoss(reduction=reduction, log_target=log_target)
    np.testing.assert_allclose(
        module(nb.tensor(x.astype(dtype)), t.astype(dtype)).data,
        tloss.detach().numpy(),
        **tol(dtype),
    )


@pytest.mark.parametrize("reduction", KL_REDUCTIONS)
def test_kl_div_zero_targets_and_broadcast(reduction: str) -> None:
    rng = np.random.default_rng(6)
    x = rng.normal(size=(3, 4))
    t = rng.uniform(size=(1, 4))
    t[0, 1] = 0.0  # t log t = 0 there
    xn, xt = leaf(x), tleaf(x)
    loss = F.kl_div(xn, t, reduction=reduction)
    tloss = torch_kl(xt, torch.tensor(t), reduction, False)
    np.testing.assert_allclose(loss.data, tloss.detach().numpy(), rtol=1e-12, atol=1e-15)
    both_backward(loss, tloss, seed=7)
    np.testing.assert_allclose(xn.grad, xt.grad.numpy(), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("reduction", KL_REDUCTIONS)
@pytest.mark.parametrize("log_target", [False, True])
def test_kl_div_gradcheck(reduction: str, log_target: bool) -> None:
    rng = np.random.default_rng(8)
    x = rng.normal(size=(3, 4))
    t = rng.normal(size=(3, 4)) if log_target else rng.uniform(0.1, 1.0, size=(3, 4))

    def f(a: nb.Tensor, b: nb.Tensor) -> nb.Tensor:
        return F.kl_div(a, b, reduction=reduction, log_target=log_target)

    assert nb.gradcheck(f, leaf(x), leaf(t))
    assert nb.gradgradcheck(f, leaf(x), leaf(t))


def test_kl_div_zero_dim_and_empty() -> None:
    for reduction in KL_REDUCTIONS:
        x, xt = leaf(0.3), tleaf(0.3)
        loss = F.kl_div(x, np.float64(0.5), reduction=reduction)
        tloss = torch_kl(xt, torch.tensor(0.5, dtype=torch.float64), reduction, False)
        np.testing.assert_allclose(loss.data, tloss.detach().numpy(), rtol=1e-12)
        loss.backward()
        tloss.backward()
        np.testing.assert_allclose(x.grad, xt.grad.numpy(), rtol=1e-12)
        got = F.kl_div(leaf(np.zeros((0, 3))), np.zeros((0, 3)), reduction=reduction)
        want = torch_kl(torch.zeros(0, 3), torch.zeros(0, 3), reduction, False)
        assert got.shape == tuple(want.shape)
        np.testing.assert_array_equal(got.data, want.numpy())


def test_kl_div_bad_reduction() -> None:
    with pytest.raises(ValueError, match="kl_div: reduction"):
        F.kl_div(leaf([0.0]), [1.0], reduction="avg")
    with pytest.raises(ValueError, match="reduce"):
        KLDivLoss(reduce=False)


# ---------------------------------------------------------------- BCELoss


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weight_shape", [None, (4,), (3, 1), (3, 4)])
def test_bce_loss_matches_pytorch(dtype: Any, reduction: str, weight_shape: Any) -> None:
    rng = np.random.default_rng(9)
    p = rng.uniform(0.05, 0.95, size=(3, 4))
    p[0, :2] = [0.0, 1.0]  # logs clamped at -100
    d = rng.uniform(size=(3, 4))
    w = None if weight_shape is None else rng.uniform(0.2, 2.0, size=weight_shape)
    pn, pt = leaf(p, dtype), tleaf(p, dtype)
    loss = BCELoss(weight=None if w is None else w.astype(dtype), reduction=reduction)(
        pn, d.astype(dtype)
    )
    tloss = torch.nn.BCELoss(
        weight=None if w is None else torch.tensor(w.astype(dtype)), reduction=reduction
    )(pt, torch.tensor(d.astype(dtype)))
    assert loss.dtype == dtype and loss.shape == tuple(tloss.shape)
    np.testing.assert_allclose(loss.data, tloss.detach().numpy(), **tol(dtype))
    both_backward(loss, tloss, seed=10)
    np.testing.assert_allclose(pn.grad, pt.grad.numpy(), **tol(dtype))


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_bce_loss_gradcheck(reduction: str) -> None:
    rng = np.random.default_rng(11)
    p, d = rng.uniform(0.1, 0.9, size=(4, 2)), rng.uniform(size=(4, 2))
    w = rng.uniform(0.5, 1.5, size=(2,))
    loss = BCELoss(weight=w, reduction=reduction)
    assert nb.gradcheck(lambda a, b: loss(a, b), leaf(p), leaf(d))


def test_bce_loss_rejects_probabilities_outside_the_unit_interval() -> None:
    with pytest.raises(ValueError, match="input should be between 0 and 1"):
        BCELoss()(leaf([0.5, 1.5]), np.array([0.0, 1.0]))
    with pytest.raises(RuntimeError, match="between 0 and 1"):
        torch.nn.BCELoss()(torch.tensor([0.5, 1.5]), torch.tensor([0.0, 1.0]))
    with pytest.raises(ValueError, match="size_average"):
        BCELoss(size_average=False)
