"""Specialized forward/backward (what ``nb.compile`` replays) against the ops' general methods:
bitwise the same values, fresh gradients of each input's shape and dtype."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import nabla as nb
import nabla.nn.functional as F
from nabla.autograd.function import Spec
from nabla.ops.elementwise import Relu, Sigmoid, Tanh
from nabla.ops.linalg import Linear
from nabla.ops.loss import CrossEntropy


def _eager(fn: Any, arrays: list[np.ndarray], grad_inputs: list[bool], g: np.ndarray) -> Any:
    tensors = [
        nb.tensor(a, requires_grad=r) if a.dtype.kind == "f" else nb.tensor(a)
        for a, r in zip(arrays, grad_inputs)
    ]
    out = fn(*tensors)
    out.backward(nb.tensor(g))
    return out.data, [t.grad if r else None for t, r in zip(tensors, grad_inputs)]


def _check(
    cls: Any,
    params: dict[str, Any],
    fn: Any,
    arrays: list[np.ndarray],
    needs: list[bool],
    rng: np.random.Generator,
) -> None:
    spec = Spec(
        params, tuple(a.shape for a in arrays), tuple(a.dtype for a in arrays), tuple(needs)
    )
    special = cls.specialize(spec)
    assert special is not None
    out, saved = special.forward(*[a.copy() for a in arrays])
    g = rng.standard_normal(out.shape).astype(out.dtype)
    expected_out, expected_grads = _eager(fn, [a.copy() for a in arrays], needs, g)
    np.testing.assert_array_equal(out, expected_out)
    assert out.dtype == expected_out.dtype
    g_before = g.copy()
    grads = special.backward(g, saved)
    np.testing.assert_array_equal(g, g_before)  # g is not written
    for grad, expected, need, a in zip(grads, expected_grads, needs, arrays):
        if not need:
            continue
        assert grad.shape == a.shape and grad.dtype == a.dtype
        assert grad is not g and grad.base is None and grad.flags.writeable  # fresh
        np.testing.assert_array_equal(grad, expected)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    ("n", "n_in", "n_out"),
    [(16, 4, 3), (1, 784, 10), (32, 784, 256), (8, 1, 5), (128, 64, 64), (3, 7, 1)],
)
@pytest.mark.parametrize("bias", [True, False])
def test_linear_specialized_equals_general(n, n_in, n_out, bias, dtype, rng) -> None:  # type: ignore[no-untyped-def]
    x = rng.standard_normal((n, n_in)).astype(dtype)
    w = rng.standard_normal((n_out, n_in)).astype(dtype)
    arrays = [x, w] + ([rng.standard_normal(n_out).astype(dtype)] if bias else [])
    for needs in ([True] * len(arrays), [False] + [True] * (len(arrays) - 1)):
        _check(Linear, {}, nb.functional.linear, arrays, needs, rng)


def test_linear_specialize_declines_what_it_does_not_cover() -> None:
    f32 = np.dtype(np.float32)
    batched = Spec({}, ((2, 3, 4), (5, 4), (5,)), (f32, f32, f32), (True, True, True))
    mixed = Spec({}, ((3, 4), (5, 4)), (f32, np.dtype(np.float64)), (True, True))
    integer = Spec({}, ((3, 4), (5, 4)), (np.dtype(np.int64),) * 2, (False, False))
    assert Linear.specialize(batched) is None
    assert Linear.specialize(mixed) is None
    assert Linear.specialize(integer) is None


@pytest.mark.parametrize(("cls", "fn"), [(Relu, nb.relu), (Tanh, nb.tanh), (Sigmoid, nb.sigmoid)])
@pytest.mark.parametrize("shape", [(16, 16), (3,), (128, 64)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_activations_specialized_equal_general(cls, fn, shape, dtype, rng) -> None:  # type: ignore[no-untyped-def]
    x = (rng.standard_normal(shape) * 4).astype(dtype)
    x.reshape(-1)[:2] = [0.0, -0.0]
    _check(cls, {}, fn, [x], [True], rng)
    # the in-place backward: the same gradient, written into g
    special = cls.specialize(Spec({}, (shape,), (x.dtype,), (True,)))
    _, saved = special.forward(x.copy())
    g = rng.standard_normal(shape).astype(dtype)
    (expected,) = special.backward(g.copy(), saved)
    (grad,) = special.backward_in_place(g, saved)
    assert grad is g
    np.testing.assert_array_equal(grad, expected)


_CE_PARAMS = {"weight": None, "ignore_index": -100, "reduction": "mean", "label_smoothing": 0.0}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cross_entropy_specialized_equals_general(dtype, rng) -> None:  # type: ignore[no-untyped-def]
    x = (rng.standard_normal((16, 5)) * 3).astype(dtype)
    y = rng.integers(0, 5, 16)
    _check(CrossEntropy, _CE_PARAMS, F.cross_entropy, [x, y], [True, False], rng)


def test_cross_entropy_specialized_takes_the_general_path_for_ignored_targets(rng) -> None:  # type: ignore[no-untyped-def]
    x = rng.standard_normal((6, 4)).astype(np.float32)
    y = np.array([0, 3, 1, 2, 1, 0])
    params = dict(_CE_PARAMS, ignore_index=1)  # inside the class range: rows 2 and 4 are ignored
    ce = lambda a, b: F.cross_entropy(a, b, ignore_index=1)
    _check(CrossEntropy, params, ce, [x, y], [True, False], rng)
    y_out = np.array([0, 3, 1, 2, 1, -100])  # the default ignore_index, below the range
    _check(CrossEntropy, _CE_PARAMS, F.cross_entropy, [x, y_out], [True, False], rng)


def test_cross_entropy_specialized_reports_out_of_range_targets(rng) -> None:  # type: ignore[no-untyped-def]
    spec = Spec(
        _CE_PARAMS, ((4, 3), (4,)), (np.dtype(np.float32), np.dtype(np.int64)), (True, False)
    )
    special = CrossEntropy.specialize(spec)
    assert special is not None
    x = rng.standard_normal((4, 3)).astype(np.float32)
    with pytest.raises(IndexError, match="target 3 is out of bounds for 3 classes"):
        special.forward(x, np.array([0, 1, 2, 3]))


@pytest.mark.parametrize(
    "params",
    [
        dict(_CE_PARAMS, reduction="sum"),
        dict(_CE_PARAMS, label_smoothing=0.1),
        dict(_CE_PARAMS, weight=np.ones(3, np.float32)),
    ],
)
def test_cross_entropy_specialize_declines_other_settings(params) -> None:  # type: ignore[no-untyped-def]
    spec = Spec(params, ((4, 3), (4,)), (np.dtype(np.float32), np.dtype(np.int64)), (True, False))
    assert CrossEntropy.specialize(spec) is None


def test_cross_entropy_on_fortran_ordered_logits(rng) -> None:  # type: ignore[no-untyped-def]
    # flat target indices must address the right entries whatever the logits' memory order
    logits = np.asfortranarray(rng.standard_normal((7, 4)))
    y = rng.integers(0, 4, 7)
    x = nb.tensor(logits, requires_grad=True)
    F.cross_entropy(x, y).backward()
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    expected = p.copy()
    expected[np.arange(7), y] -= 1
    np.testing.assert_allclose(x.grad, expected / 7, rtol=1e-12, atol=1e-15)
    spec = Spec(_CE_PARAMS, ((7, 4), (7,)), (logits.dtype, y.dtype), (True, False))
    special = CrossEntropy.specialize(spec)
    assert special is not None
    _, saved = special.forward(logits, y)
    (grad, _) = special.backward(np.ones(()), saved)
    np.testing.assert_array_equal(grad, x.grad)


@pytest.mark.parametrize("shape", [(3,), (40, 40)])  # np.where below 1024 elements, bits above
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_relu_specialized_masks_select(shape, dtype, rng) -> None:  # type: ignore[no-untyped-def]
    # an inf or nan g where x ≤ 0 gives 0 (PyTorch), not inf · 0 = nan; a nan x passes g
    x = rng.standard_normal(shape).astype(dtype)
    x.reshape(-1)[:3] = [-1.0, 0.0, np.nan]
    special = Relu.specialize(Spec({}, (shape,), (x.dtype,), (True,)))
    _, saved = special.forward(x.copy())
    g = rng.standard_normal(shape).astype(dtype)
    g.reshape(-1)[:3] = [np.inf, np.nan, 5.0]
    g[x.reshape(g.shape) < 0] = np.inf
    expected = np.where(x <= 0, 0, g)
    (grad,) = special.backward(g.copy(), saved)
    np.testing.assert_array_equal(grad, expected)
    (grad,) = special.backward_in_place(g, saved)
    assert grad is g
    np.testing.assert_array_equal(grad, expected)


def test_compiled_sqrt_of_relu_equals_eager_and_pytorch() -> None:
    data = np.linspace(-2, 2, 41 * 40).reshape(41, 40)  # ≥ 1024 elements, with an exact 0
    grads = []
    for compiled in (False, True):
        w = nb.tensor(data.copy(), requires_grad=True)

        def step(w: Any) -> Any:
            loss = nb.sqrt(nb.relu(w)).sum()
            loss.backward()
            return loss

        run = nb.compile(step) if compiled else step
        for _ in range(3):  # trace, then replay
            w.grad = None
            with np.errstate(divide="ignore"):  # sqrt'(0) = inf, which relu's mask selects away
                run(w)
        grads.append(w.grad)
        if compiled:
            (plan,) = run.plans.values()
            assert plan is not None and "SB" in plan.source  # replayed, relu specialized
    np.testing.assert_array_equal(grads[0], grads[1])
    positive = data > 0
    np.testing.assert_allclose(grads[1][positive], 0.5 / np.sqrt(data[positive]))
    assert (grads[1][~positive] == 0).all()


@pytest.mark.parametrize("cls", [Relu, Tanh, Sigmoid])
def test_activations_specialize_declines_0d(cls) -> None:  # type: ignore[no-untyped-def]
    # the ufuncs return NumPy scalars for 0-d arrays: the general path (which wraps) runs
    assert cls.specialize(Spec({}, ((),), (np.dtype(np.float32),), (True,))) is None
