"""clip_grad_value_, parameters_to_vector and vector_to_parameters against torch.nn.utils."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import nabla as nb
from nabla.errors import ShapeError
from nabla.nn.utils import clip_grad_value_, parameters_to_vector, vector_to_parameters

torch = pytest.importorskip("torch")

DTYPES = [np.float32, np.float64]
SHAPES = [(3, 4), (4,), (), (2, 1, 3)]


def pair(dtype: Any, seed: int = 0) -> tuple[list[nb.Tensor], list[Any]]:
    """The same parameters in nabla and PyTorch (one 0-d), with gradients of a small loss."""
    rng = np.random.default_rng(seed)
    values = [rng.normal(scale=2.0, size=s).astype(dtype) for s in SHAPES]
    ours = [nb.tensor(v, requires_grad=True) for v in values]
    theirs = [torch.tensor(v, requires_grad=True) for v in values]
    weights = [rng.normal(scale=3.0, size=s).astype(dtype) for s in SHAPES]
    loss = sum(((p * p) * w).sum() for p, w in zip(ours, weights, strict=True))
    loss.backward()
    tloss = sum(((p * p) * torch.tensor(w)).sum() for p, w in zip(theirs, weights, strict=True))
    tloss.backward()
    return ours, theirs


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("clip", [0.5, 3.0, 100.0])
def test_clip_grad_value_matches_pytorch(dtype: Any, clip: float) -> None:
    ours, theirs = pair(dtype)
    ours[1].grad = None  # parameters without a gradient are skipped
    theirs[1].grad = None
    assert clip_grad_value_(ours, clip) is None
    assert torch.nn.utils.clip_grad_value_(theirs, clip) is None
    for p, t in zip(ours, theirs, strict=True):
        if t.grad is None:
            assert p.grad is None
            continue
        assert p.grad.dtype == dtype
        np.testing.assert_array_equal(p.grad, t.grad.numpy())
    assert max(float(np.abs(p.grad).max()) for p in ours if p.grad is not None) <= clip


def test_clip_grad_value_single_tensor_and_module() -> None:
    ours, theirs = pair(np.float64, seed=1)
    clip_grad_value_(ours[0], 1.0)
    torch.nn.utils.clip_grad_value_(theirs[0], 1.0)
    np.testing.assert_array_equal(ours[0].grad, theirs[0].grad.numpy())
    layer = nb.nn.Linear(3, 2)
    layer(nb.tensor(np.full((4, 3), 10.0, dtype=np.float32))).sum().backward()
    clip_grad_value_(layer.parameters(), 0.25)
    assert all(np.abs(p.grad).max() <= 0.25 for p in layer.parameters())


@pytest.mark.parametrize("dtype", DTYPES)
def test_parameters_to_vector_values_and_gradients(dtype: Any) -> None:
    ours, theirs = pair(dtype)
    vec, tvec = parameters_to_vector(ours), torch.nn.utils.parameters_to_vector(theirs)
    assert vec.dtype == dtype and vec.shape == tuple(tvec.shape)
    np.testing.assert_array_equal(vec.data, tvec.detach().numpy())
    for p in [*ours, *theirs]:
        p.grad = None
    c = np.random.default_rng(2).normal(size=vec.shape).astype(dtype)
    (vec * c).sum().backward()
    (tvec * torch.tensor(c)).sum().backward()
    for p, t in zip(ours, theirs, strict=True):
        np.testing.assert_array_equal(p.grad, t.grad.numpy())


def test_parameters_to_vector_gradcheck_and_errors() -> None:
    rng = np.random.default_rng(3)
    a = nb.tensor(rng.normal(size=(2, 3)), requires_grad=True)
    b = nb.tensor(rng.normal(size=(4,)), requires_grad=True)
    assert nb.gradcheck(lambda x, y: parameters_to_vector([x, y]) ** 2, a, b)
    with pytest.raises(ValueError, match="at least one"):
        parameters_to_vector([])
    with pytest.raises(TypeError, match="parameters_to_vector"):
        parameters_to_vector([np.zeros(2)])


@pytest.mark.parametrize("dtype", DTYPES)
def test_vector_to_parameters_matches_pytorch(dtype: Any) -> None:
    ours, theirs = pair(dtype)
    total = sum(int(np.prod(s)) for s in SHAPES)
    values = np.random.default_rng(4).normal(size=total + 2).astype(dtype)  # extra ignored
    vec, tvec = nb.tensor(values), torch.tensor(values)
    vector_to_parameters(vec, ours)
    torch.nn.utils.vector_to_parameters(tvec, theirs)
    for p, t in zip(ours, theirs, strict=True):
        assert p.shape == tuple(t.shape) and p.dtype == dtype
        np.testing.assert_array_equal(p.data, t.detach().numpy())
        assert np.shares_memory(p.data, vec.data)  # a view of vec, as PyTorch's .data
    # the round trip
    np.testing.assert_array_equal(parameters_to_vector(ours).data, values[:total])


def test_vector_to_parameters_errors() -> None:
    params = [nb.zeros(2, 3), nb.zeros(4)]
    with pytest.raises(TypeError, match="expected a Tensor, got ndarray"):
        vector_to_parameters(np.zeros(10), params)
    with pytest.raises(TypeError):
        torch.nn.utils.vector_to_parameters(np.zeros(10), [torch.zeros(2)])
    with pytest.raises(ShapeError, match="9 elements, too few"):
        vector_to_parameters(nb.zeros(9), params)
    with pytest.raises(ShapeError, match="1-D"):
        vector_to_parameters(nb.zeros(2, 5), params)
