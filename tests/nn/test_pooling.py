"""Pooling, BatchNorm2d and channel dropout against PyTorch 2.13 and central differences."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import nabla as nb
import nabla.nn.functional as F
from nabla import nn
from nabla.errors import ShapeError
from nabla.gradcheck import gradcheck, gradgradcheck

from .test_conv import KINDS, compare, layout

torch = pytest.importorskip("torch")
TF = torch.nn.functional

MAX = [
    ("max_pool2d", (2, 3, 8, 8), {"kernel_size": 2}),
    ("max_pool2d", (2, 3, 9, 8), {"kernel_size": 3, "stride": 2, "padding": 1}),
    ("max_pool2d", (2, 3, 9, 8), {"kernel_size": 3, "stride": 2, "ceil_mode": True}),
    (
        "max_pool2d",
        (2, 3, 9, 8),
        {"kernel_size": 2, "stride": 1, "dilation": 2, "padding": 1, "return_indices": True},
    ),
    (
        "max_pool2d",
        (2, 3, 9, 8),
        {"kernel_size": 3, "stride": 2, "ceil_mode": True, "padding": 1, "return_indices": True},
    ),
    ("max_pool2d", (3, 9, 8), {"kernel_size": (3, 2), "stride": (1, 2)}),  # unbatched
    ("max_pool2d", (0, 3, 4, 4), {"kernel_size": 2}),
    ("max_pool1d", (2, 3, 9), {"kernel_size": 3, "stride": 2, "return_indices": True}),
]
AVG = [
    ("avg_pool2d", (2, 3, 8, 8), {"kernel_size": 2}),
    ("avg_pool2d", (2, 3, 9, 8), {"kernel_size": 3, "stride": 2, "padding": 1}),
    (
        "avg_pool2d",
        (2, 3, 9, 8),
        {"kernel_size": 3, "stride": 2, "padding": 1, "count_include_pad": False},
    ),
    ("avg_pool2d", (2, 3, 9, 8), {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True}),
    (
        "avg_pool2d",
        (2, 3, 10, 8),
        {"kernel_size": 3, "stride": 2, "ceil_mode": True, "count_include_pad": False},
    ),
    ("avg_pool2d", (2, 3, 9, 8), {"kernel_size": 3, "padding": 1, "divisor_override": 5}),
    ("avg_pool2d", (3, 9, 8), {"kernel_size": (2, 3)}),
    ("avg_pool1d", (2, 3, 9), {"kernel_size": 3, "stride": 2, "padding": 1}),
    ("adaptive_avg_pool2d", (2, 3, 9, 7), {"output_size": (4, 3)}),
    ("adaptive_avg_pool2d", (2, 3, 9, 7), {"output_size": 1}),
    ("adaptive_avg_pool2d", (2, 3, 9, 7), {"output_size": (None, 5)}),
    ("adaptive_avg_pool2d", (2, 3, 3, 2), {"output_size": (5, 4)}),  # more bins than pixels
    ("adaptive_avg_pool1d", (2, 3, 10), {"output_size": 4}),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(("name", "shape", "kwargs"), MAX + AVG)
def test_pooling_matches_torch(
    name: str, shape: Any, kwargs: dict[str, Any], dtype: Any, rng: np.random.Generator
) -> None:
    x = rng.standard_normal(shape).astype(dtype)
    compare(
        lambda a: getattr(F, name)(a, **kwargs),
        lambda a: getattr(TF, name)(a, **kwargs),
        [x],
        dtype,
    )


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("name", ["max_pool2d", "avg_pool2d"])
def test_pooling_on_every_memory_layout(
    name: str, kind: str, dtype: Any, rng: np.random.Generator
) -> None:
    x = layout(rng.standard_normal((3, 2, 7, 6)).astype(dtype), kind)
    kw = {"kernel_size": 3, "stride": 2, "padding": 1}
    compare(lambda a: getattr(F, name)(a, **kw), lambda a: getattr(TF, name)(a, **kw), [x], dtype)


def test_max_pool_ties_and_nan_route_the_gradient_as_torch() -> None:
    x = np.array([[[[1.0, 1.0, 0.0], [1.0, np.nan, 2.0], [2.0, 2.0, np.nan]]]])
    compare(
        lambda a: F.max_pool2d(a, 2, stride=1, return_indices=True),
        lambda a: TF.max_pool2d(a, 2, stride=1, return_indices=True),
        [x],
        np.float64,
        g=np.ones((1, 1, 2, 2)),
    )
    ties = np.zeros((1, 2, 4, 4))
    compare(
        lambda a: F.max_pool2d(a, 3, stride=1, padding=1),
        lambda a: TF.max_pool2d(a, 3, stride=1, padding=1),
        [ties],
        np.float64,
    )


@pytest.mark.parametrize(
    "f",
    [
        lambda x: F.max_pool2d(x, 3, stride=2, padding=1, ceil_mode=True),
        lambda x: F.avg_pool2d(x, 3, stride=2, padding=1, count_include_pad=False),
        lambda x: F.adaptive_avg_pool2d(x, (2, 3)),
    ],
)
def test_pooling_first_and_second_order(f: Any, rng: np.random.Generator) -> None:
    x = nb.tensor(rng.standard_normal((2, 3, 6, 5)), requires_grad=True)
    assert gradcheck(f, (x,))
    assert gradgradcheck(f, (x,))


@pytest.mark.parametrize(
    ("module", "twin"),
    [
        (
            lambda: nn.MaxPool2d(3, 2, 1, ceil_mode=True),
            lambda: torch.nn.MaxPool2d(3, 2, 1, ceil_mode=True),
        ),
        (lambda: nn.MaxPool1d(2), lambda: torch.nn.MaxPool1d(2)),
        (
            lambda: nn.AvgPool2d(2, count_include_pad=False),
            lambda: torch.nn.AvgPool2d(2, count_include_pad=False),
        ),
        (lambda: nn.AvgPool1d(3, 1, 1), lambda: torch.nn.AvgPool1d(3, 1, 1)),
        (lambda: nn.AdaptiveAvgPool2d((2, 1)), lambda: torch.nn.AdaptiveAvgPool2d((2, 1))),
        (lambda: nn.AdaptiveAvgPool1d(3), lambda: torch.nn.AdaptiveAvgPool1d(3)),
    ],
)
def test_pooling_modules_match_torch_and_save(
    module: Any, twin: Any, tmp_path: Any, rng: np.random.Generator
) -> None:
    m, t = module(), twin()
    x = rng.standard_normal((2, 3, 7, 6) if "2d" in type(m).__name__ else (2, 3, 7))
    np.testing.assert_allclose(m(nb.tensor(x)).data, t(torch.tensor(x)).numpy(), rtol=1e-12)
    nb.save(nn.Sequential(m), tmp_path / "p.nabla")
    again = nb.load(tmp_path / "p.nabla")
    np.testing.assert_array_equal(again(nb.tensor(x)).data, m(nb.tensor(x)).data)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: F.max_pool2d(np.zeros((1, 1, 5, 5)), 2, padding=2), "pad should be at most half"),
        (lambda: F.avg_pool2d(np.zeros((1, 1, 1, 1)), 3), "too small"),
        (lambda: F.max_pool2d(np.zeros((1, 1, 2, 2)), 3), "too small"),
        (lambda: F.max_pool2d(np.zeros((5, 5)), 2), "expected a 3-D"),
        (lambda: F.max_pool2d(np.zeros((1, 1, 4, 4), np.int64), 2), "floating-point"),
        (lambda: F.avg_pool2d(np.zeros((1, 1, 4, 4)), 2, divisor_override=0), "not zero"),
        (lambda: F.adaptive_avg_pool2d(np.zeros((1, 1, 4, 4)), (1, 2, 3)), "2 entries"),
        (lambda: F.adaptive_avg_pool2d(np.zeros((1, 1, 0, 4)), 2), "non-empty"),
    ],
)
def test_bad_pooling_input_is_one_line(call: Any, match: str) -> None:
    with pytest.raises((ValueError, ShapeError, TypeError), match=match) as info:
        call()
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_batchnorm2d_matches_torch_in_training_and_eval(
    dtype: Any, rng: np.random.Generator
) -> None:
    m, t = nn.BatchNorm2d(3, momentum=0.3, dtype=dtype), torch.nn.BatchNorm2d(3, momentum=0.3)
    t = t.to(torch.float64 if dtype == np.float64 else torch.float32)
    w, b = rng.standard_normal(3).astype(dtype), rng.standard_normal(3).astype(dtype)
    m.load_state_dict(
        {
            "weight": w,
            "bias": b,
            "running_mean": np.zeros(3, dtype),
            "running_var": np.ones(3, dtype),
            "num_batches_tracked": np.array(0),
        }
    )
    with torch.no_grad():
        t.weight.copy_(torch.tensor(w))
        t.bias.copy_(torch.tensor(b))
    tol = 1e-10 if dtype == np.float64 else 1e-4
    for _ in range(2):
        x = (rng.standard_normal((4, 3, 5, 6)) * 3 + 1).astype(dtype)
        xn, xt = nb.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        g = rng.standard_normal(x.shape).astype(dtype)
        m(xn).backward(nb.tensor(g))
        t(xt).backward(torch.tensor(g))
        np.testing.assert_allclose(xn.grad.data, xt.grad.numpy(), rtol=tol, atol=tol)
        np.testing.assert_allclose(m.weight.grad.data, t.weight.grad.numpy(), rtol=tol, atol=tol)
        m.weight.grad = None
        t.weight.grad = None
    for name in ("running_mean", "running_var"):
        np.testing.assert_allclose(m.state_dict()[name], getattr(t, name).numpy(), rtol=tol)
    assert int(m.num_batches_tracked) == 2
    m.eval()
    t.eval()
    x = rng.standard_normal((2, 3, 4, 4)).astype(dtype)
    np.testing.assert_allclose(
        m(nb.tensor(x)).data, t(torch.tensor(x)).detach().numpy(), rtol=tol, atol=tol
    )
    with pytest.raises(ValueError, match=r"BatchNorm2d\(3\): expected input of shape"):
        m(nb.tensor(np.zeros((2, 3, 4), dtype)))
    assert not isinstance(m, nn.BatchNorm1d)


def test_dropout2d_zeroes_whole_channels_and_scales_the_rest() -> None:
    nb.manual_seed(0)
    x = nb.tensor(np.ones((200, 8, 3, 3)), requires_grad=True)
    z = F.dropout2d(x, p=0.25)
    per_channel = z.data.reshape(200, 8, 9)
    assert np.all((per_channel == 0) | (per_channel == 1 / 0.75))
    assert np.all(per_channel.min(axis=2) == per_channel.max(axis=2))  # a channel goes whole
    assert abs((per_channel[:, :, 0] == 0).mean() - 0.25) < 0.03
    z.sum().backward()
    np.testing.assert_array_equal(x.grad.data, z.data)  # ∇x = m / (1 − p)
    layer = nn.Dropout2d(0.5)
    layer.eval()
    assert layer(x) is x or np.array_equal(layer(x).data, x.data)
    y = nb.tensor(np.ones((4, 6, 5)))  # a 3-D input is (N, C, L), as PyTorch reads it
    d = F.dropout2d(y, 0.5).data
    assert np.all(d.min(axis=2) == d.max(axis=2))
    one_d = F.dropout1d(nb.tensor(np.ones((6, 5))), 0.5).data  # unbatched (C, L)
    assert np.all(one_d.min(axis=1) == one_d.max(axis=1))
    with pytest.raises(ShapeError, match="dropout2d: expected a 3 or 4-D input"):
        F.dropout2d(nb.tensor(np.ones(5)))
