"""nabla.nn.functional_extra and nabla.nn.activation_extra against PyTorch: values, dtypes and
gradients (float32, float64) on many input kinds, first and second derivatives against central
differences, module constructors, repr, parameters and errors."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import nabla as nb
import nabla.nn.functional as F

torch = pytest.importorskip("torch")
TF = torch.nn.functional

DTYPES = [np.float32, np.float64]
RNG = np.random.default_rng(0)


def _data(shape: tuple[int, ...], scale: float = 2.0, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape) * scale


def _compare(
    arrays: list[np.ndarray],
    ours: Callable[..., Any],
    theirs: Callable[..., Any],
    rtol: float = 1e-5,
) -> None:
    """Values, dtype and the gradients of ⟨w, f(x…)⟩ for a random w."""
    xs = [nb.tensor(a, requires_grad=True) for a in arrays]
    txs = [torch.tensor(np.array(a), requires_grad=True) for a in arrays]
    got, want = ours(*xs), theirs(*txs)
    assert got.shape == tuple(want.shape)
    assert got.dtype == np.dtype(str(want.dtype).removeprefix("torch."))
    np.testing.assert_allclose(got.numpy(), want.detach().numpy(), rtol=rtol, atol=1e-6)
    w = np.random.default_rng(1).standard_normal(got.shape).astype(got.dtype)
    (got * nb.tensor(w)).sum().backward()
    (want * torch.tensor(w)).sum().backward()
    for x, tx in zip(xs, txs, strict=True):
        assert x.grad is not None
        np.testing.assert_allclose(x.grad, tx.grad.numpy(), rtol=rtol, atol=1e-5)


def _both_orders(fn: Callable[..., Any], *arrays: np.ndarray) -> None:
    xs = [nb.tensor(np.array(a, dtype=np.float64), requires_grad=True) for a in arrays]
    assert nb.gradcheck(fn, *xs)
    assert nb.gradgradcheck(fn, *xs)


UNARY = {
    "logsigmoid": (F.logsigmoid, TF.logsigmoid),
    "relu6": (F.relu6, TF.relu6),
    "selu": (F.selu, TF.selu),
    "celu": (lambda x: F.celu(x, 0.7), lambda x: TF.celu(x, 0.7)),
    "hardswish": (F.hardswish, TF.hardswish),
    "hardsigmoid": (F.hardsigmoid, TF.hardsigmoid),
    "softsign": (F.softsign, TF.softsign),
    "tanhshrink": (F.tanhshrink, TF.tanhshrink),
    "threshold": (lambda x: F.threshold(x, 0.3, -1.5), lambda x: TF.threshold(x, 0.3, -1.5)),
    "softmin": (lambda x: F.softmin(x, -1), lambda x: TF.softmin(x, -1)),
    "normalize": (lambda x: F.normalize(x, dim=-1), lambda x: TF.normalize(x, dim=-1)),
    "normalize_p1": (
        lambda x: F.normalize(x, 1.0, -1),
        lambda x: TF.normalize(x, 1.0, -1),
    ),
    "normalize_inf": (
        lambda x: F.normalize(x, math.inf, 0),
        lambda x: TF.normalize(x, math.inf, 0),
    ),
    "pad_reflect": (
        lambda x: F.pad(x, (2, 1), "reflect"),
        lambda x: TF.pad(x, (2, 1), "reflect"),
    ),
    "pad_replicate": (
        lambda x: F.pad(x, (1, 3), "replicate"),
        lambda x: TF.pad(x, (1, 3), "replicate"),
    ),
    "pad_circular": (
        lambda x: F.pad(x, (3, 1), "circular"),
        lambda x: TF.pad(x, (3, 1), "circular"),
    ),
    "pad_constant": (
        lambda x: F.pad(x, (1, -1, 2, 0), value=2.5),
        lambda x: TF.pad(x, (1, -1, 2, 0), value=2.5),
    ),
}

# the input kinds: C order, Fortran order, non-contiguous, negative strides, read-only
_BASE = _data((3, 4, 5))
_READONLY = _BASE.copy()
_READONLY.flags.writeable = False
KINDS = {
    "c": _BASE,
    "fortran": np.asfortranarray(_BASE),
    "noncontiguous": _data((3, 8, 5))[:, ::2],
    "negative_stride": _BASE[::-1, :, ::-1],
    "readonly": _READONLY,
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", sorted(KINDS))
@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_matches_torch(name: str, kind: str, dtype: Any) -> None:
    ours, theirs = UNARY[name]
    _compare([KINDS[kind].astype(dtype)], ours, theirs, rtol=1e-4 if dtype == np.float32 else 1e-6)


ELEMENTWISE = [
    "logsigmoid", "relu6", "selu", "celu", "hardswish", "hardsigmoid", "softsign", "tanhshrink",
    "threshold",
]  # fmt: skip


@pytest.mark.parametrize("name", ELEMENTWISE)
@pytest.mark.parametrize("shape", [(), (0,), (2, 0, 3)])
def test_elementwise_zero_d_and_empty(name: str, shape: tuple[int, ...]) -> None:
    ours, theirs = UNARY[name]
    _compare([_data(shape)], ours, theirs)


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_elementwise_kinks_and_extremes(name: str) -> None:
    """Exactly at the kinks (−3, 0, 3, 6, the threshold) and far out: PyTorch's subgradients, no
    NaN and no overflow."""
    data = np.array([-3.0, 0.0, 3.0, 6.0, 0.3, -1e4, 1e4, -60.0, 60.0])
    _compare([data], *UNARY[name])


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_first_and_second_order(name: str) -> None:
    data = _data((2, 3, 4), seed=3)
    if name in ("relu6", "hardswish", "hardsigmoid", "threshold"):
        data = data[np.abs(data - 0.3) > 0.05][:12].reshape(3, 4)  # away from kinks
    _both_orders(UNARY[name][0], data)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_glu(dtype: Any, dim: int) -> None:
    data = _data((4, 6, 2)).astype(dtype)
    _compare([data], lambda x: F.glu(x, dim), lambda x: TF.glu(x, dim))
    _both_orders(lambda x: F.glu(x, dim), data)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("weight", [np.array([0.25]), np.array([0.1, -0.2, 0.3, 0.5])])
@pytest.mark.parametrize("shape", [(2, 4), (2, 4, 3), (2, 4, 3, 2)])
def test_prelu(dtype: Any, weight: np.ndarray, shape: tuple[int, ...]) -> None:
    _compare([_data(shape).astype(dtype), weight.astype(dtype)], F.prelu, TF.prelu)
    _both_orders(F.prelu, _data(shape), weight)


def test_prelu_one_d_and_zero_d() -> None:
    _compare([_data((5,)), np.array([0.3])], F.prelu, TF.prelu)
    _compare([_data(()), np.array([0.3])], F.prelu, TF.prelu)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    ("shape1", "shape2", "dim"),
    [((3, 5), (3, 5), 1), ((2, 3, 4), (3, 4), 1), ((4,), (1, 4), -1), ((5,), (5,), 0)],
)
def test_cosine_similarity(dtype: Any, shape1: Any, shape2: Any, dim: int) -> None:
    a, b = _data(shape1).astype(dtype), _data(shape2, seed=2).astype(dtype)
    ours = lambda x, y: F.cosine_similarity(x, y, dim)
    theirs = lambda x, y: TF.cosine_similarity(x, y, dim)
    _compare([a, b], ours, theirs, rtol=1e-4)
    _both_orders(ours, a, b)


def test_cosine_similarity_tiny_and_zero_vectors() -> None:
    """Norms below eps: the value uses eps, the gradient PyTorch's (the clamp carries none)."""
    a = np.array([[0.0, 0.0, 0.0], [1e-10, 2e-10, 0.0], [1.0, 2.0, 3.0]])
    b = np.array([[1.0, 2.0, 3.0], [3.0, 1.0, 2.0], [1e-9, 0.0, 0.0]])
    _compare([a, b], F.cosine_similarity, TF.cosine_similarity)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("p", [1.0, 2.0, 3.0, math.inf])
@pytest.mark.parametrize("keepdim", [False, True])
def test_pairwise_distance(dtype: Any, p: float, keepdim: bool) -> None:
    a, b = _data((4, 5)).astype(dtype), _data((5,), seed=2).astype(dtype)
    ours = lambda x, y: F.pairwise_distance(x, y, p, keepdim=keepdim)
    theirs = lambda x, y: TF.pairwise_distance(x, y, p, keepdim=keepdim)
    _compare([a, b], ours, theirs, rtol=1e-4)
    if p != math.inf:
        _both_orders(ours, a, b)


def test_pairwise_distance_zero_d_and_equal_rows() -> None:
    _compare([np.array(1.0), np.array(2.5)], F.pairwise_distance, TF.pairwise_distance)
    a = _data((3, 4))
    _compare([a, a.copy()], lambda x, y: F.pairwise_distance(x, y, eps=0.0),
             lambda x, y: TF.pairwise_distance(x, y, eps=0.0))  # fmt: skip


def test_normalize_zero_rows() -> None:
    data = _data((3, 4))
    data[1] = 0.0
    _compare([data], F.normalize, TF.normalize)
    _both_orders(F.normalize, _data((3, 4)))


@pytest.mark.parametrize("mode", ["constant", "reflect", "replicate", "circular"])
@pytest.mark.parametrize(
    ("shape", "widths"),
    [
        ((2, 5), (2, 1)),
        ((1, 2, 5), (0, 4)),
        ((2, 4, 5), (1, 2, 3, 1)),
        ((1, 2, 3, 4), (1, 1, 2, 0)),
    ],
)
def test_pad_modes(mode: str, shape: tuple[int, ...], widths: tuple[int, ...]) -> None:
    data = _data(shape)
    _compare([data], lambda x: F.pad(x, widths, mode), lambda x: TF.pad(x, widths, mode=mode))
    _both_orders(lambda x: F.pad(x, widths, mode), data)


def test_pad_constant_any_rank_and_empty() -> None:
    _compare([_data((3,))], lambda x: F.pad(x, (1, 2)), lambda x: TF.pad(x, (1, 2)))
    _compare([_data((2, 0))], lambda x: F.pad(x, (1, 2), value=4.0),
             lambda x: TF.pad(x, (1, 2), value=4.0))  # fmt: skip
    _compare([_data((2, 3, 4))], lambda x: F.pad(x, (-1, -1, 1, 1, 0, 2)),
             lambda x: TF.pad(x, (-1, -1, 1, 1, 0, 2)))  # fmt: skip


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda: F.pad(nb.tensor(np.zeros((1, 2, 3))), (3, 3), "reflect"), ValueError),
        (lambda: F.pad(nb.tensor(np.zeros(3)), (1, 1), "reflect"), NotImplementedError),
        (lambda: F.pad(nb.tensor(np.zeros((2, 3))), (1, 1, 1)), ValueError),
        (lambda: F.pad(nb.tensor(np.zeros((2, 3))), (1, 1), "foo"), NotImplementedError),
        (lambda: F.glu(nb.tensor(np.zeros(3))), nb.ShapeError),
        (lambda: F.glu(nb.tensor(np.zeros(()))), nb.ShapeError),
        (lambda: F.prelu(nb.tensor(np.zeros((2, 3))), nb.tensor(np.ones(2))), nb.ShapeError),
        (lambda: F.celu(nb.tensor(np.zeros(3)), 0.0), ValueError),
        (lambda: F.softmin(nb.tensor(np.zeros(3)), 2), IndexError),
        (
            lambda: F.cosine_similarity(nb.tensor(np.zeros(3)), nb.tensor(np.zeros(4)), 0),
            nb.ShapeError,
        ),
    ],
)
def test_errors_are_one_line(call: Callable[[], Any], error: type) -> None:
    with pytest.raises(error) as info:
        call()
    assert "\n" not in str(info.value)


def test_softmin_implicit_dim_warns_as_torch() -> None:
    data = _data((2, 3))
    with pytest.warns(UserWarning, match="Implicit dimension"):
        got = F.softmin(nb.tensor(data))
    with pytest.warns(UserWarning, match="Implicit dimension"):
        want = TF.softmin(torch.tensor(data))
    np.testing.assert_allclose(got.numpy(), want.numpy())


MODULES: list[tuple[Any, Any, tuple[int, ...]]] = [
    (nb.nn.LogSigmoid(), torch.nn.LogSigmoid(), (2, 3)),
    (nb.nn.ReLU6(), torch.nn.ReLU6(), (2, 3)),
    (nb.nn.SELU(), torch.nn.SELU(), (2, 3)),
    (nb.nn.CELU(0.5), torch.nn.CELU(0.5), (2, 3)),
    (nb.nn.Hardswish(), torch.nn.Hardswish(), (2, 3)),
    (nb.nn.Hardsigmoid(), torch.nn.Hardsigmoid(), (2, 3)),
    (nb.nn.Softsign(), torch.nn.Softsign(), (2, 3)),
    (nb.nn.Tanhshrink(), torch.nn.Tanhshrink(), (2, 3)),
    (nb.nn.Threshold(0.5, -2), torch.nn.Threshold(0.5, -2), (2, 3)),
    (nb.nn.GLU(), torch.nn.GLU(), (2, 4)),
    (nb.nn.Softmin(1), torch.nn.Softmin(1), (2, 3)),
    (nb.nn.ZeroPad2d(1), torch.nn.ZeroPad2d(1), (1, 2, 3)),
    (nb.nn.ConstantPad1d((1, 2), 3.5), torch.nn.ConstantPad1d((1, 2), 3.5), (2, 3)),
    (nb.nn.ConstantPad2d(1, 0.5), torch.nn.ConstantPad2d(1, 0.5), (1, 2, 3)),
    (nb.nn.ReflectionPad1d(2), torch.nn.ReflectionPad1d(2), (1, 2, 4)),
    (nb.nn.ReflectionPad2d((1, 2, 0, 1)), torch.nn.ReflectionPad2d((1, 2, 0, 1)), (1, 3, 4)),
    (nb.nn.ReplicationPad1d((3, 0)), torch.nn.ReplicationPad1d((3, 0)), (2, 3)),
    (nb.nn.ReplicationPad2d(2), torch.nn.ReplicationPad2d(2), (1, 2, 3, 3)),
]


@pytest.mark.parametrize(("ours", "theirs", "shape"), MODULES, ids=lambda v: repr(v))
def test_modules_match_torch(ours: Any, theirs: Any, shape: tuple[int, ...]) -> None:
    assert repr(ours) == repr(theirs)
    assert list(ours.parameters()) == []
    _compare([_data(shape)], ours, theirs)
    rebuilt = type(ours)(**ours.get_config())
    assert repr(rebuilt) == repr(ours)


@pytest.mark.parametrize("dtype", DTYPES)
def test_prelu_module_weight_and_gradient(dtype: Any) -> None:
    ours, theirs = nb.nn.PReLU(3, init=0.1, dtype=dtype), torch.nn.PReLU(3, init=0.1)
    theirs = theirs.to(getattr(torch, np.dtype(dtype).name))
    assert repr(ours) == repr(theirs) == "PReLU(num_parameters=3)"
    (weight,) = ours.parameters()
    assert weight is ours.weight and weight.dtype == dtype and weight.shape == (3,)
    np.testing.assert_allclose(weight.data, theirs.weight.detach().numpy())
    data = _data((2, 3, 4)).astype(dtype)
    w = _data((2, 3, 4), seed=5).astype(dtype)
    (ours(nb.tensor(data)) * nb.tensor(w)).sum().backward()
    (theirs(torch.tensor(data)) * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(ours.weight.grad, theirs.weight.grad.numpy(), rtol=1e-5)
    assert nb.nn.PReLU().weight.shape == (1,) and nb.nn.PReLU().weight.dtype == np.float32
    assert type(ours)(**ours.get_config()).weight.shape == (3,)


def test_distance_modules() -> None:
    a, b = _data((3, 4)), _data((3, 4), seed=2)
    assert repr(nb.nn.CosineSimilarity()) == "CosineSimilarity()"
    assert repr(nb.nn.PairwiseDistance()) == "PairwiseDistance()"
    cos, tcos = nb.nn.CosineSimilarity(dim=0, eps=1e-6), torch.nn.CosineSimilarity(0, 1e-6)
    _compare([a, b], cos, tcos)
    dist, tdist = (
        nb.nn.PairwiseDistance(1.0, keepdim=True),
        torch.nn.PairwiseDistance(1.0, keepdim=True),
    )
    _compare([a, b], dist, tdist)
    assert repr(type(dist)(**dist.get_config())) == repr(dist)


@pytest.mark.parametrize(("shape", "dim"), [((0, 2), 0), ((0, 2), 1), ((2, 0, 4), -1)])
def test_glu_empty(shape: tuple[int, ...], dim: int) -> None:
    _compare([_data(shape)], lambda x: F.glu(x, dim), lambda x: TF.glu(x, dim))
