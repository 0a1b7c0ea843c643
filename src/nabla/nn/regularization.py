"""Penalties over weights, added to the loss as λ·Ω(θ) (the notes' regularised objective).

Only weights (parameters with two or more dimensions) are penalised; biases and BatchNorm
parameters are not, as is customary (and as scikit-learn's MLP does).
"""

from __future__ import annotations

from typing import Any

from nabla import functional as fn
from nabla.nn.module import Module
from nabla.tensor import Tensor


def _weights(model: Module | Any) -> list[Tensor]:
    params = model.parameters() if isinstance(model, Module) else model
    return [p for p in params if p.ndim >= 2]


def l2_penalty(model: Module | Any) -> Tensor:
    """Ω = ½ Σ_W ‖W‖², so λΩ contributes λW to each weight's gradient."""
    weights = _weights(model)
    if not weights:
        raise ValueError("l2_penalty: the model has no weight matrices")
    total = fn.sum(weights[0] * weights[0])
    for w in weights[1:]:
        total = total + fn.sum(w * w)
    return total * 0.5


def l1_penalty(model: Module | Any) -> Tensor:
    """Ω = Σ_W Σ |W|, so λΩ contributes λ·sign(W) to each weight's gradient."""
    weights = _weights(model)
    if not weights:
        raise ValueError("l1_penalty: the model has no weight matrices")
    total = fn.sum(fn.abs(weights[0]))
    for w in weights[1:]:
        total = total + fn.sum(fn.abs(w))
    return total
