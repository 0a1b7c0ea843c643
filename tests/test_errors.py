"""Errors a user can act on: they name the op and the shapes."""

from __future__ import annotations

import numpy as np
import pytest

import nabla as nb
import nabla.nn.functional as F


def test_matmul_shape_error_names_both_shapes() -> None:
    x, w = nb.zeros(32, 10), nb.zeros(12, 5)
    with pytest.raises(nb.ShapeError) as info:
        x @ w
    message = str(info.value)
    assert "matmul" in message and "(32, 10)" in message and "(12, 5)" in message
    assert "x.shape[-1]=10 must equal w.shape[-2]=12" in message
    assert isinstance(info.value, ValueError)


def test_broadcast_error_names_op_and_shapes() -> None:
    with pytest.raises(nb.ShapeError, match=r"add: x has shape \(3,\) and y has shape \(4,\)"):
        nb.ones(3) + nb.ones(4)
    with pytest.raises(nb.ShapeError, match=r"mul: .*\(2, 3\).*\(3, 2\)"):
        nb.ones(2, 3) * nb.ones(3, 2)


def test_reshape_and_concat_errors() -> None:
    with pytest.raises(nb.ShapeError, match=r"reshape.*\(2, 3\).*\(4,\)"):
        nb.ones(2, 3).reshape(4)
    with pytest.raises(nb.ShapeError, match="concatenate"):
        nb.concatenate([nb.ones(2, 3), nb.ones(2, 4)], axis=0)
    with pytest.raises(nb.ShapeError, match="stack"):
        nb.stack([nb.ones(2), nb.ones(3)])


def test_loss_errors() -> None:
    with pytest.raises(IndexError, match="out of bounds for 3 classes"):
        F.cross_entropy(nb.zeros(2, 3), np.array([0, 3]))
    with pytest.raises(nb.ShapeError, match="target has shape"):
        F.binary_cross_entropy_with_logits(nb.zeros(2, 3), np.zeros(3))
    with pytest.raises(ValueError, match="reduction"):
        F.mse_loss(nb.zeros(2), nb.zeros(2), reduction="avg")


def test_losses_are_finite_for_huge_logits() -> None:
    for scale in (1e4, -1e4):
        x = nb.tensor(np.array([[scale, 0.0, -scale], [0.0, scale, 1.0]]), requires_grad=True)
        loss = F.cross_entropy(x, np.array([2, 0]))
        loss.backward()
        assert np.isfinite(loss.item()) and np.isfinite(x.grad).all()
        v = nb.tensor(np.array([scale, -scale, 0.0]), requires_grad=True)
        bce = F.binary_cross_entropy_with_logits(v, np.array([0.0, 1.0, 1.0]))
        bce.backward()
        assert np.isfinite(bce.item()) and np.isfinite(v.grad).all()
        expected = (2e4 if scale > 0 else 0.0) + np.log(2)  # wrong-side logits cost |v| each
        np.testing.assert_allclose(bce.item(), expected / 3, rtol=1e-6)
    xs = nb.tensor(np.array([1e4, -1e4], dtype=np.float32), requires_grad=True)
    s = nb.logsumexp(xs)
    s.backward()
    assert np.isfinite(s.item()) and np.isfinite(xs.grad).all()
