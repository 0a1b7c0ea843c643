"""Gradient clipping: the joint norm over all gradients, scaled in place as PyTorch does."""

from __future__ import annotations

import math

import numpy as np
import pytest

from nabla.errors import NablaError
from nabla.nn.utils import NonFiniteNormError, clip_grad_norm_, clip_grad_value_


class Param:
    """Stand-in for a nabla Parameter: the two attributes clipping uses."""

    def __init__(self, grad: np.ndarray | None, dtype: type = np.float64) -> None:
        self.data = np.zeros(() if grad is None else grad.shape, dtype=dtype)
        self.grad = grad


def make_params(scale: float = 1.0, dtype: type = np.float64) -> list[Param]:
    rng = np.random.default_rng(0)
    shapes = [(4, 3), (5,), ()]
    return [Param(np.asarray(scale * rng.normal(size=s), dtype=dtype), dtype) for s in shapes]


def joined(params: list[Param]) -> np.ndarray:
    return np.concatenate([p.grad.ravel() for p in params if p.grad is not None])


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, math.inf])
def test_clips_to_max_norm(norm_type: float) -> None:
    params = make_params(scale=10.0)
    before = [p.grad.copy() for p in params]
    expected_total = np.linalg.norm(joined(params), ord=norm_type)
    total = clip_grad_norm_(params, max_norm=1.5, norm_type=norm_type)
    assert isinstance(total, float)
    assert total == pytest.approx(expected_total, rel=1e-12)
    scale = 1.5 / (expected_total + 1e-6)
    for param, grad in zip(params, before):
        np.testing.assert_allclose(param.grad, grad * scale, rtol=1e-12)
    assert np.linalg.norm(joined(params), ord=norm_type) == pytest.approx(1.5, rel=1e-6)


def test_clipping_is_in_place() -> None:
    params = make_params(scale=10.0)
    grads = [p.grad for p in params]
    clip_grad_norm_(params, max_norm=1.0)
    assert all(p.grad is g for p, g in zip(params, grads))


def test_small_gradients_are_left_unchanged() -> None:
    params = make_params(scale=0.01)
    before = [p.grad.copy() for p in params]
    total = clip_grad_norm_(params, max_norm=1.0)
    assert total == pytest.approx(float(np.linalg.norm(joined(params))), rel=1e-12)
    for param, grad in zip(params, before):
        np.testing.assert_array_equal(param.grad, grad)


def test_comparison_can_fail() -> None:
    # a per-array clip (each gradient to norm 1) is not the joint clip
    params = make_params(scale=10.0)
    per_array = [p.grad / np.linalg.norm(p.grad) for p in params]
    clip_grad_norm_(params, max_norm=1.0)
    with pytest.raises(AssertionError):
        np.testing.assert_allclose(params[0].grad, per_array[0], rtol=1e-6)


def test_none_grads_single_param_and_generators() -> None:
    params = [*make_params(scale=10.0), Param(None)]
    expected = float(np.linalg.norm(joined(params)))
    assert clip_grad_norm_((p for p in params), max_norm=1.0) == pytest.approx(expected, rel=1e-12)
    single = Param(np.array([3.0, 4.0]))
    assert clip_grad_norm_(single, max_norm=1.0) == 5.0
    np.testing.assert_allclose(single.grad, [0.6, 0.8], rtol=1e-6)
    assert clip_grad_norm_([Param(None)], max_norm=1.0) == 0.0
    assert clip_grad_norm_([], max_norm=1.0) == 0.0


def test_float32_stays_float32() -> None:
    params = make_params(scale=10.0, dtype=np.float32)
    expected = float(np.linalg.norm(joined(params).astype(np.float64)))
    total = clip_grad_norm_(params, max_norm=1.0)
    assert total == pytest.approx(expected, rel=1e-6)
    assert all(p.grad.dtype == np.float32 for p in params)


def test_non_finite_norm() -> None:
    params = make_params()
    params[0].grad[0, 0] = np.inf
    with pytest.raises(NonFiniteNormError, match="is inf") as info:
        clip_grad_norm_(params, max_norm=1.0, error_if_nonfinite=True)
    assert isinstance(info.value, RuntimeError)
    assert isinstance(info.value, NablaError)
    params[1].grad[0] = np.nan
    with pytest.raises(NonFiniteNormError, match="is nan"):
        clip_grad_norm_(params, max_norm=1.0, error_if_nonfinite=True)
    with np.errstate(invalid="ignore"):  # inf · 0 while scaling: NaN gradients, as in PyTorch
        total = clip_grad_norm_(params, max_norm=1.0)
    assert math.isnan(total)
    assert np.isnan(params[2].grad)


def test_invalid_norm_type() -> None:
    with pytest.raises(ValueError, match="norm_type must be > 0"):
        clip_grad_norm_(make_params(), max_norm=1.0, norm_type=0)


def test_clip_grad_value() -> None:
    params = make_params(scale=3.0, dtype=np.float32)
    before = [p.grad.copy() for p in params]
    grads = [p.grad for p in params]
    clip_grad_value_([*params, Param(None)], clip_value=1.25)
    for param, grad, original in zip(params, grads, before):
        assert param.grad is grad
        assert param.grad.dtype == np.float32
        np.testing.assert_array_equal(param.grad, np.clip(original, -1.25, 1.25))
    assert np.abs(joined(params)).max() == np.float32(1.25)
