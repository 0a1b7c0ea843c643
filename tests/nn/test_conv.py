"""Conv1d/Conv2d and their function forms against PyTorch 2.13 and central differences.

Every option (stride, padding incl. "same"/"valid", dilation, groups, bias, unbatched input) on
every input kind (contiguous, strided, Fortran, negative strides, read-only, broadcast, size-0
batch), float32 and float64; first and second order by gradcheck; the errors PyTorch raises.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest

import nabla as nb
import nabla.nn.functional as F
from nabla import nn
from nabla.errors import DTypeError, ShapeError
from nabla.gradcheck import gradcheck, gradgradcheck

torch = pytest.importorskip("torch")
TF = torch.nn.functional

CONV2D = [
    ({}, (2, 3, 7, 8), (4, 3, 3, 2)),
    ({"stride": 2, "padding": 1}, (2, 3, 7, 8), (4, 3, 3, 3)),
    ({"stride": (2, 1), "padding": (0, 2)}, (2, 3, 7, 8), (4, 3, 3, 3)),
    ({"dilation": (2, 1), "padding": (1, 2)}, (2, 3, 9, 8), (4, 3, 3, 3)),
    ({"groups": 2, "stride": (1, 2)}, (2, 6, 7, 8), (4, 3, 3, 3)),
    ({"groups": 4}, (2, 4, 7, 8), (8, 1, 3, 3)),  # depthwise
    ({"padding": "same"}, (2, 3, 7, 8), (4, 3, 4, 2)),  # even kernel: extra pixel after
    ({"padding": "same", "dilation": 2}, (2, 3, 7, 8), (4, 3, 3, 2)),
    ({"padding": "valid"}, (2, 3, 7, 8), (4, 3, 3, 3)),
    ({}, (3, 7, 8), (4, 3, 3, 2)),  # unbatched
    ({"padding": 1}, (0, 3, 5, 5), (4, 3, 3, 3)),  # empty batch
    ({}, (1, 1, 1, 1), (1, 1, 1, 1)),
]
CONV1D = [
    ({"stride": 2, "padding": 2}, (2, 3, 10), (5, 3, 3)),
    ({"groups": 2, "dilation": 3}, (2, 4, 10), (6, 2, 3)),
    ({"padding": "same"}, (2, 3, 7), (4, 3, 4)),
    ({}, (3, 9), (2, 3, 2)),
]
KINDS = ("contiguous", "strided", "fortran", "negative", "readonly", "broadcast")


def layout(a: np.ndarray, kind: str) -> np.ndarray:
    """``a``'s values in the memory layout ``kind``."""
    if kind == "strided":
        return np.repeat(a, 2, axis=-1)[..., ::2]
    if kind == "fortran":
        return np.asfortranarray(a)
    if kind == "negative":
        flip = (slice(None, None, -1),) * a.ndim
        return np.ascontiguousarray(a[flip])[flip]
    if kind == "readonly":
        a = a.copy()
        a.flags.writeable = False
    if kind == "broadcast" and a.ndim and a.shape[0]:
        return np.broadcast_to(a[:1], a.shape)
    return a


def compare(
    nabla_fn: Any, torch_fn: Any, arrays: list[np.ndarray], dtype: Any, g: np.ndarray | None = None
) -> None:
    """Values and every input's gradient, nabla against PyTorch on the same arrays."""
    nt = [nb.tensor(a, requires_grad=True) for a in arrays]
    tt = [torch.tensor(np.array(a), requires_grad=True) for a in arrays]
    zn = nabla_fn(*nt)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PyTorch's note on even kernels with padding="same"
        zt = torch_fn(*tt)
    if isinstance(zn, tuple):
        np.testing.assert_array_equal(zn[1].data, zt[1].numpy())  # indices
        zn, zt = zn[0], zt[0]
    assert zn.shape == tuple(zt.shape) and zn.dtype == dtype
    tol = 1e-12 if dtype == np.float64 else 2e-5
    np.testing.assert_allclose(zn.data, zt.detach().numpy(), rtol=tol, atol=tol)
    up = np.random.default_rng(1).standard_normal(zn.shape).astype(dtype) if g is None else g
    zn.backward(nb.tensor(up))
    zt.backward(torch.tensor(up))
    for a, b in zip(nt, tt, strict=True):
        assert a.grad is not None and a.grad.shape == a.shape and a.grad.dtype == dtype
        np.testing.assert_allclose(a.grad.data, b.grad.numpy(), rtol=tol, atol=tol)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize(("kwargs", "xs", "ws"), CONV2D + CONV1D)
def test_conv_matches_torch(
    kwargs: dict[str, Any], xs: Any, ws: Any, bias: bool, dtype: Any, rng: np.random.Generator
) -> None:
    conv, tconv = (F.conv2d, TF.conv2d) if len(ws) == 4 else (F.conv1d, TF.conv1d)
    arrays = [rng.standard_normal(xs).astype(dtype), rng.standard_normal(ws).astype(dtype)]
    if bias:
        arrays.append(rng.standard_normal(ws[0]).astype(dtype))
    compare(lambda *a: conv(*a, **kwargs), lambda *a: tconv(*a, **kwargs), arrays, dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kind", KINDS)
def test_conv_on_every_memory_layout(kind: str, dtype: Any, rng: np.random.Generator) -> None:
    x = layout(rng.standard_normal((3, 4, 6, 7)).astype(dtype), kind)
    w = layout(rng.standard_normal((6, 2, 3, 2)).astype(dtype), kind)
    b = layout(rng.standard_normal(6).astype(dtype), kind)
    kw = {"stride": (2, 1), "padding": 1, "groups": 2}
    compare(lambda *a: F.conv2d(*a, **kw), lambda *a: TF.conv2d(*a, **kw), [x, w, b], dtype)
    assert x.flags.writeable or kind in ("readonly", "broadcast")


def test_conv_first_and_second_order_by_central_differences(rng: np.random.Generator) -> None:
    x = nb.tensor(rng.standard_normal((2, 4, 6, 5)), requires_grad=True)
    w = nb.tensor(rng.standard_normal((6, 2, 3, 2)), requires_grad=True)
    b = nb.tensor(rng.standard_normal(6), requires_grad=True)

    def f(x: Any, w: Any, b: Any) -> Any:
        return F.conv2d(x, w, b, stride=(2, 1), padding=1, groups=2, dilation=(1, 2))

    assert gradcheck(f, (x, w, b))
    assert gradgradcheck(f, (x, w, b))
    x1 = nb.tensor(rng.standard_normal((2, 3, 7)), requires_grad=True)
    w1 = nb.tensor(rng.standard_normal((4, 3, 4)), requires_grad=True)
    assert gradgradcheck(lambda x, w: F.conv1d(x, w, padding="same"), (x1, w1))


def test_conv_hessian_vector_product_matches_torch(rng: np.random.Generator) -> None:
    """∂/∂x of <∇_w L, v>: the backward's own graph (im2col/col2im) differentiated."""
    x, w, v = (rng.standard_normal(s) for s in ((2, 3, 6, 6), (4, 3, 3, 3), (4, 3, 3, 3)))
    xn, wn = nb.tensor(x, requires_grad=True), nb.tensor(w, requires_grad=True)
    (gw,) = nb.grad((F.conv2d(xn, wn, padding=1) ** 2).sum(), [wn], create_graph=True)
    (hn,) = nb.grad((gw * v).sum(), [xn])
    xt, wt = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    (gt,) = torch.autograd.grad((TF.conv2d(xt, wt, padding=1) ** 2).sum(), [wt], create_graph=True)
    (ht,) = torch.autograd.grad((gt * torch.tensor(v)).sum(), [xt])
    np.testing.assert_allclose(hn.data, ht.numpy(), rtol=1e-10, atol=1e-10)


def test_conv2d_module_matches_torch_with_the_same_weights(rng: np.random.Generator) -> None:
    t = torch.nn.Conv2d(3, 8, 3, stride=2, padding="valid", dilation=1, groups=1, bias=True)
    m = nn.Conv2d(3, 8, 3, stride=2, padding="valid")
    m.load_state_dict({k: v.detach().numpy() for k, v in t.state_dict().items()})
    x = rng.standard_normal((4, 3, 9, 9)).astype(np.float32)
    np.testing.assert_allclose(
        m(nb.tensor(x)).data, t(torch.tensor(x)).detach().numpy(), rtol=1e-5, atol=1e-5
    )
    assert m.weight.shape == tuple(t.weight.shape) and m.weight.dtype == np.float32
    assert repr(m) == repr(t)


def test_conv_init_has_torchs_bounds() -> None:
    nb.manual_seed(3)
    m = nn.Conv2d(6, 16, 5, groups=2)
    bound = 1 / np.sqrt(3 * 25)
    assert np.abs(m.weight.data).max() <= bound and np.abs(m.bias.data).max() <= bound
    assert np.abs(m.weight.data).max() > 0.9 * bound  # uniform over the whole range
    assert nn.Conv1d(2, 3, 4, bias=False).bias is None


def test_conv_modules_save_and_load(tmp_path: Any, rng: np.random.Generator) -> None:
    model = nn.Sequential(
        nn.Conv2d(1, 4, 3, padding="same", bias=False),
        nn.ReLU(),
        nn.Conv2d(4, 4, 3, stride=2, groups=2, dilation=1),
        nn.Flatten(),
        nn.Linear(4 * 3 * 3, 2),
    )
    nn.Conv1d(2, 3, 3)  # registered too
    x = nb.tensor(rng.standard_normal((2, 1, 7, 7)).astype(np.float32))
    nb.save(model, tmp_path / "m.nabla")
    loaded = nb.load(tmp_path / "m.nabla")
    assert repr(loaded) == repr(model)
    np.testing.assert_array_equal(loaded(x).data, model(x).data)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (
            lambda: F.conv2d(
                np.zeros((1, 2, 5, 5), np.float32), np.zeros((3, 3, 3, 3), np.float32)
            ),
            "expected input.*to have 3 channels, but got 2",
        ),
        (
            lambda: F.conv2d(
                np.zeros((1, 3, 2, 2), np.float32), np.zeros((3, 3, 3, 3), np.float32)
            ),
            "too small for kernel",
        ),
        (
            lambda: F.conv2d(np.zeros((1, 3, 5, 5)), np.zeros((3, 3, 3, 3), np.float32)),
            "should be the same",
        ),
        (lambda: F.conv2d(np.zeros((3, 5, 5)), np.zeros((3, 5, 5))), "weight must be 4-D"),
        (lambda: F.conv2d(np.zeros((5, 5)), np.zeros((3, 1, 2, 2))), "expected a 3-D"),
        (
            lambda: F.conv2d(
                np.zeros((1, 1, 5, 5)), np.zeros((1, 1, 2, 2)), stride=2, padding="same"
            ),
            "not supported for strided",
        ),
        (
            lambda: F.conv2d(np.zeros((1, 1, 5, 5)), np.zeros((1, 1, 2, 2)), padding="full"),
            "invalid padding string",
        ),
        (
            lambda: F.conv2d(np.zeros((1, 4, 5, 5)), np.zeros((3, 2, 2, 2)), groups=2),
            "divide out_channels",
        ),
        (lambda: nn.Conv2d(3, 4, 3, groups=2), "groups=2 must divide"),
        (lambda: nn.Conv2d(3, 4, 3, padding_mode="reflect"), "padding_mode"),
        (lambda: nn.Conv2d(3, 4, (3, 3, 3)), "kernel_size must be"),
    ],
)
def test_bad_input_is_one_line_naming_the_op(call: Any, match: str) -> None:
    with pytest.raises((ValueError, TypeError, ShapeError, DTypeError), match=match) as info:
        call()
    assert "\n" not in str(info.value)


def test_explain_prints_the_dense_rule_on_patches_with_real_shapes(
    rng: np.random.Generator,
) -> None:
    conv = nn.Conv2d(3, 4, 3, padding=1)
    x = nb.tensor(rng.standard_normal((2, 3, 5, 4)).astype(np.float32), requires_grad=True)
    explanation = nb.explain(conv(x).sum(), show=False)
    (step,) = [s for s in explanation.steps if s.op == "conv"]
    rules = {t.symbol: t for t in step.terms}
    assert rules["W"].rule == "∇W = Gᵀ P" and "(4×3×3×3) = (40×4)ᵀ·(40×27)" in rules["W"].shapes
    assert rules["X"].rule == "∇X = col2im(G W)" and "col2im((40×4)·(4×27))" in rules["X"].shapes
    assert rules["b"].rule == "∇b = 1ᵀ G"
    assert "im2col" in step.forward
