"""Fused losses: softmax + cross-entropy and sigmoid + binary cross-entropy, on logits.

Fusing gives the notes' short gradients (ŷ − y and σ(v) − d) and keeps the loss finite for any
logits: the log-probabilities are computed with log-sum-exp, never as log(softmax).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nabla._typing import Array
from nabla.autograd.function import Function
from nabla.ops.softmax import log_softmax_array


def _reduce(losses: Array, reduction: str, denominator: float) -> Array:
    if reduction == "none":
        return losses
    total = losses.sum()
    return total / denominator if reduction == "mean" else total


class CrossEntropy(Function):
    """Softmax with cross-entropy loss on logits X of shape (N, C) (the notes' softmax-with-loss).

    Forward:  ℓᵢ = −Σ_c w_c Yᵢ_c log softmax(Xᵢ)_c,   L = Σᵢ ℓᵢ / N  (mean)
    Backward: ∇X = (softmax(X) ⊙ Σ_c wY − wY) ⊙ g / N   (= (Ŷ − Y)/N for one-hot Y, no weights)

    Targets are either probabilities Y (a second input, differentiable) or class indices
    (``index``, one-hot rows, with ``coef`` = the weight of each row's class, 0 for ignored
    rows). N is the number of rows, or the total weight of the targets for weighted indices.
    """

    name = "cross_entropy"
    latex = r"\nabla_X = (\hat Y - Y) \odot g / N"

    def forward(
        self,
        x: Array,
        y: Array | None = None,
        index: Array | None = None,
        coef: Array | None = None,
        weight: Array | None = None,
        reduction: str = "mean",
        denominator: float = 1.0,
    ) -> Array:
        self.weight, self.reduction, self.denominator = weight, reduction, denominator
        self.index, self.coef = index, coef
        self.log_p = log_softmax_array(x, axis=1)
        if index is not None:
            assert coef is not None
            picked = self.log_p[np.arange(len(index)), index]
            return _reduce(-(picked * coef), reduction, denominator)
        assert y is not None
        wy = y if weight is None else y * weight
        return _reduce(-(wy * self.log_p).sum(axis=1), reduction, denominator)

    def _scale(self, g: Any) -> Any:
        if self.reduction == "none":
            return g.reshape((-1, 1))
        return g / self.denominator if self.reduction == "mean" else g

    def backward(self, g: Any, F: Any, x: Any, y: Any = None) -> tuple[Any, ...]:
        scale = self._scale(g)
        if self.index is not None:
            rows = np.arange(len(self.index))
            coef = self.coef.reshape((-1, 1))  # type: ignore[union-attr]
            if F.graph:
                one_hot = np.zeros(self.log_p.shape, dtype=self.log_p.dtype)
                one_hot[rows, self.index] = 1
                return ((F.softmax(x, axis=1) - one_hot) * (scale * coef),)
            # fast path: (p − onehot) ⊙ c, written as p ⊙ c with c subtracted at the targets
            row_scale = scale * coef
            grad = np.exp(self.log_p)
            grad *= row_scale
            grad[rows, self.index] -= row_scale[:, 0] if row_scale.ndim else row_scale
            return (grad,)
        grad_x = grad_y = None
        if self.needs_grad[0]:
            wy = y if self.weight is None else y * self.weight
            p = F.softmax(x, axis=1) if F.graph else np.exp(self.log_p)
            grad_x = (p * wy.sum(axis=1, keepdims=True) - wy) * scale
        if self.needs_grad[1]:
            log_p = F.log_softmax(x, axis=1) if F.graph else self.log_p
            grad_y = -(log_p if self.weight is None else log_p * self.weight) * scale
        return grad_x, grad_y


class BCEWithLogits(Function):
    """Sigmoid with binary cross-entropy on logits v (the notes' logistic regression loss).

    Forward:  ℓ = (1 − d) v + (1 + (p − 1) d) log(1 + e^(−v)),  L = mean ℓ   (p: pos_weight)
    Backward: ∇v = ((1 − d) − (1 + (p − 1) d)(1 − σ(v))) ⊙ g / N   (= (σ(v) − d)/N for p = 1)
    """

    name = "binary_cross_entropy_with_logits"
    latex = r"\nabla_v = (\sigma(v) - d) \odot g / N"

    def forward(
        self,
        v: Array,
        d: Array | None = None,
        weight: Array | None = None,
        pos_weight: Array | None = None,
        reduction: str = "mean",
    ) -> Array:
        self.d, self.weight, self.reduction = d, weight, reduction
        self.log_weight = None if pos_weight is None else 1 + (pos_weight - 1) * d
        # softplus(−v) = log(1 + e^(−v)) = max(−v, 0) + log1p(e^(−|v|)): finite for any v
        softplus = np.maximum(-v, 0) + np.log1p(np.exp(-np.abs(v)))
        if self.log_weight is not None:
            softplus = softplus * self.log_weight
        losses = (1 - d) * v + softplus
        if weight is not None:
            losses = losses * weight
        self.count = losses.size
        return _reduce(losses, reduction, losses.size)

    def backward(self, g: Any, F: Any, v: Any) -> tuple[Any]:
        s = F.sigmoid(v)
        if self.log_weight is None:
            grad = s - self.d
        else:
            grad = (1 - self.d) - self.log_weight * (1 - s)
        if self.weight is not None:
            grad = grad * self.weight
        scale = g if self.reduction != "mean" else g / self.count
        return (grad * scale,)
