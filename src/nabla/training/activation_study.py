"""The report's vanishing-gradient study: the run's network with sigmoid, tanh and ReLU.

Each backward step multiplies the gradient by the activation's derivative once per layer
(σ′ ≤ ¼, tanh′ ≤ 1, ReLU′ ∈ {0, 1}), so the effect needs depth: the study trains the same data
with three or more hidden layers (the run's own widths when it has three, else three layers of
its first width, at most 64), a few epochs per activation from one seed, and records for each
epoch (epoch 0 is the initialisation) every layer's ‖∇W‖ on a fixed batch and the fraction of
each hidden layer's units that are saturated (mean f′(Z) < 0.01 over the batch) or dead (ReLU:
Z ≤ 0 for every row). ``nabla train --report`` draws them side by side on shared axes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nabla.autograd.engine import grad
from nabla.autograd.mode import no_grad
from nabla.data.dataset import TensorDataset
from nabla.data.loader import DataLoader
from nabla.generator import manual_seed
from nabla.nn.layers import Linear
from nabla.nn.models import MLP
from nabla.optim.registry import build_optimizer
from nabla.tensor import Tensor
from nabla.training.evaluation import evaluate_loss_accuracy

#: the activations compared
STUDIED = ("sigmoid", "tanh", "relu")


@dataclass
class ActivationStudy:
    """One activation's run: per epoch (0: initialisation), per layer."""

    activation: str
    widths: list[int]
    #: ‖∇W‖ of every Linear layer's weight on the fixed batch
    grad_norms: list[list[float]] = field(default_factory=list)
    #: fraction of each hidden layer's units saturated (sigmoid, tanh) or dead (ReLU)
    saturated: list[list[float]] = field(default_factory=list)
    #: accuracy on the validation rows (training rows when there are none) after the last epoch
    accuracy: float = float("nan")


def study_widths(hidden: list[int]) -> list[int]:
    """The run's hidden widths when it has three or more, else three of its first (≤ 64)."""
    if len(hidden) >= 3:
        return list(hidden)
    return [min(hidden[0] if hidden else 32, 64)] * 3


def _slope(activation: str, z: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """f′(Z): σ(1 − σ), 1 − tanh², [Z > 0]."""
    if activation == "sigmoid":
        s = 1 / (1 + np.exp(-z))
        return s * (1 - s)  # type: ignore[no-any-return]
    if activation == "tanh":
        return 1 - np.tanh(z) ** 2  # type: ignore[no-any-return]
    return (z > 0).astype(z.dtype)


def _saturated(activation: str, model: MLP, X: np.ndarray[Any, Any]) -> list[float]:
    """Per hidden layer, the fraction of saturated (or dead) units on the rows of X."""
    fractions: list[float] = []
    with no_grad():
        out = Tensor(X)
        layers = list(model)
        for i, layer in enumerate(layers):
            out = layer(out)
            if isinstance(layer, Linear) and i < len(layers) - 1:
                z = out.data
                if activation == "relu":
                    fractions.append(float(np.mean((z <= 0).all(axis=0))))
                else:
                    fractions.append(float(np.mean(_slope(activation, z).mean(axis=0) < 0.01)))
    return fractions


def _record(study: ActivationStudy, model: MLP, probe: tuple[Any, Any]) -> None:
    weights = [m.weight for m in model if isinstance(m, Linear) and m.weight is not None]
    loss = model.loss(model(Tensor(probe[0])), probe[1])
    grads = grad(loss, weights, allow_unused=True)
    study.grad_norms.append([0.0 if g is None else float(np.linalg.norm(g.data)) for g in grads])
    study.saturated.append(_saturated(study.activation, model, probe[0]))


def study_activations(
    config: Any, splits: Any, n_features: int, n_classes: int, epochs: int = 5
) -> list[ActivationStudy]:
    """Train the study's network with each of :data:`STUDIED` (see the module docstring)."""
    widths = study_widths(config.hidden_sizes())
    probe = (splits.X_train[:256], splits.y_train[:256])
    check = (splits.X_val, splits.y_val) if len(splits.X_val) else probe
    studies = []
    for activation in STUDIED:
        manual_seed(config.seed)
        model = MLP([n_features, *widths, n_classes], activation=activation)
        optimizer = build_optimizer(
            config.optimizer_for("classification"),
            list(model.parameters()),
            lr=config.lr,
            momentum=config.momentum,
            weight_decay=config.weight_decay,
        )
        loader = DataLoader(
            TensorDataset(splits.X_train, splits.y_train),
            batch_size=config.batch_size,
            shuffle=True,
            seed=config.seed,
        )
        study = ActivationStudy(activation, widths)
        _record(study, model, probe)
        for _ in range(epochs):
            for xb, yb in loader:
                loss = model.loss(model(xb), yb)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
            _record(study, model, probe)
        study.accuracy = evaluate_loss_accuracy(model, check[0], check[1], model.loss)[1]
        studies.append(study)
    return studies


__all__ = ["STUDIED", "ActivationStudy", "study_activations", "study_widths"]
