"""The training loss, as a nabla graph whose gradients are nabla's and values scikit-learn's.

    L = Σᵢ sᵢ ℓᵢ / Σᵢ sᵢ + α / (2 Σᵢ sᵢ) · Σ_W ‖W‖²      (sᵢ = 1 without sample weights)

with ℓ the cross-entropy of softmax (multiclass), the summed binary cross-entropy of sigmoid
outputs (binary, multi-label), ½‖ŷ − y‖² (regression) or the Poisson deviance terms;
biases are not penalised.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.special import xlogy

from nabla import functional as fn
from nabla.nn import Module
from nabla.nn import functional as F
from nabla.nn.regularization import l2_penalty
from nabla.tensor import Tensor


def objective(
    model: Module,
    out_activation: str,
    X: np.ndarray[Any, Any],
    Y: np.ndarray[Any, Any],
    sw: Any,
    alpha: float,
) -> Tensor:
    """The loss of the module docstring on one batch, as a nabla graph."""
    z = model(Tensor(X))
    kind = out_activation
    if kind == "softmax":
        per_sample = _as_reported(F.cross_entropy(z, Y.argmax(axis=1), reduction="none"))
    elif kind == "logistic":
        bce = F.binary_cross_entropy_with_logits(z, Y.astype(z.dtype), reduction="none")
        per_sample = fn.sum(_binary_as_reported(bce, z, Y), axis=1)
    elif kind == "exp":  # Poisson: ŷ = exp(z), ℓ = Σ ŷ − y z + (y log y − y), ∇z = ŷ − y
        y = Y.astype(z.dtype)
        constant = (xlogy(y, y) - y).sum(axis=1).astype(z.dtype)
        per_sample = fn.sum(fn.exp(z) - z * Tensor(y), axis=1) + Tensor(constant)
    else:
        diff = z - Tensor(Y.astype(z.dtype))
        per_sample = fn.sum(diff * diff, axis=1) * 0.5
    if sw is None:
        total, sw_sum = fn.mean(per_sample), float(X.shape[0])
    else:
        sw_sum = float(sw.sum())
        total = fn.sum(per_sample * Tensor(sw)) / sw_sum
    if alpha:  # scikit-learn's α/2 Σ‖W‖² over the batch's weight (nabla's l2_penalty is ½ Σ‖W‖²)
        total = total + l2_penalty(model) * (alpha / sw_sum)
    return total


def _as_reported(losses: Tensor) -> Tensor:
    """Softmax cross-entropy terms valued as scikit-learn reports them, with the same gradient.

    scikit-learn's log-loss clips probabilities to [eps, 1 − eps] (so each term to
    [−log(1 − eps), −log(eps)]) but back-propagates the unclipped ŷ − y. Shifting the clipped
    terms by a constant keeps nabla's gradient and gives scikit-learn's loss values, which the
    adaptive schedule and the stopping rule compare.
    """
    values = losses.data
    eps = np.finfo(values.dtype).eps
    clipped = np.clip(values, -np.log1p(-eps), -np.log(eps))
    if np.array_equal(clipped, values):
        return losses
    return losses + Tensor((clipped - values).astype(values.dtype))


def _binary_as_reported(losses: Tensor, z: Tensor, Y: np.ndarray[Any, Any]) -> Tensor:
    """Binary cross-entropy valued as scikit-learn computes it: from p = σ(z), clipped.

    ``log(1 − p)`` from a rounded p loses digits once p is near 1 (z ≳ 30); scikit-learn's
    loss values carry that rounding, so reproduce them (the gradient stays σ(z) − y).
    """
    v = z.data
    e = np.exp(-np.abs(v))
    p = np.clip(np.where(v >= 0, 1 / (1 + e), e / (1 + e)), *_eps_bounds(v.dtype))
    values = -(xlogy(Y, p) + xlogy(1 - Y, 1 - p))
    return losses + Tensor((values - losses.data).astype(v.dtype))


def _eps_bounds(dtype: np.dtype[Any]) -> tuple[float, float]:
    eps = float(np.finfo(dtype).eps)
    return eps, 1 - eps
