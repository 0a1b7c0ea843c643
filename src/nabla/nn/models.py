"""Ready models: ``MLP`` and ``LogisticRegression``, classifiers with ``predict_proba``.

Both are ``Sequential`` subclasses, so their state dicts use PyTorch's layout ("0.weight", ...).
A classifier with one output unit is binary (sigmoid + binary cross-entropy on the logit), one
with C ≥ 2 outputs is multinomial (softmax + cross-entropy).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import numpy as np

from nabla import functional as fn
from nabla.autograd.mode import no_grad
from nabla.nn import functional as F
from nabla.nn.container import Sequential
from nabla.nn.layers import BatchNorm1d, Dropout, Linear
from nabla.nn.module import Module
from nabla.nn.registry import ActivationError, get_activation
from nabla.tensor import Tensor


def classification_loss(logits: Tensor, target: Any, reduction: str = "mean") -> Tensor:
    """The fused loss that fits the logits: BCE-with-logits for one column, else cross-entropy."""
    if logits.ndim == 2 and logits.shape[1] == 1:
        y = np.asarray(getattr(target, "data", target)).reshape(-1, 1).astype(logits.dtype)
        return F.binary_cross_entropy_with_logits(logits, y, reduction=reduction)
    return F.cross_entropy(logits, target, reduction=reduction)


def probabilities(logits: Tensor) -> np.ndarray[Any, Any]:
    """Class probabilities (n, C) from logits; a single logit column gives [1 − p, p]."""
    if logits.ndim == 2 and logits.shape[1] == 1:
        p = fn.sigmoid(logits).data
        return np.concatenate([1 - p, p], axis=1)
    return fn.softmax(logits, axis=-1).data


class ClassifierMixin:
    """``predict_proba``, ``predict`` and ``loss`` for models whose output is logits."""

    def loss(self, logits: Tensor, target: Any, reduction: str = "mean") -> Tensor:
        return classification_loss(logits, target, reduction)

    def predict_proba(self, x: Any) -> np.ndarray[Any, Any]:
        """Class probabilities, computed in eval mode without a graph."""
        module: Any = self
        was_training = module.training
        module.eval()
        try:
            with no_grad():
                logits = module(
                    x if isinstance(x, Tensor) else Tensor(np.asarray(x, module.dtype))
                )
        finally:
            module.train(was_training)
        return probabilities(logits)

    def predict(self, x: Any) -> np.ndarray[Any, Any]:
        return np.asarray(self.predict_proba(x).argmax(axis=1))


class MLP(ClassifierMixin, Sequential):
    """Multi-layer perceptron: Linear → activation (→ BatchNorm1d → Dropout) … → Linear (logits).

    Parameters
    ----------
    sizes : sequence of int
        Layer widths including input and output, e.g. ``[64, 128, 10]`` is the notes' network
        with one hidden layer of 128 units.
    activation : str
        A name in ``nabla.nn.ACTIVATIONS``: "tanh", "sigmoid", "relu", "leaky_relu",
        "identity", "gelu", "silu", "elu", "softplus", "mish", "hardtanh", or any registered
        one.
    dropout : float
        Dropout probability after each hidden activation (0 for none).
    batch_norm : bool
        Insert BatchNorm1d after each hidden Linear.
    init : str
        "auto" takes the activation's scheme (Xavier/Glorot for tanh and sigmoid, He/Kaiming
        for the ReLUs); or any ``Linear`` init name.
    negative_slope : float
        Slope of "leaky_relu" for negative inputs (passed to any activation with that
        parameter).
    dtype : dtype
    """

    def __init__(
        self,
        sizes: Sequence[int],
        activation: str = "tanh",
        dropout: float = 0.0,
        batch_norm: bool = False,
        init: str = "auto",
        negative_slope: float = 0.01,
        dtype: Any = np.float32,
    ) -> None:
        sizes = [int(s) for s in sizes]
        if len(sizes) < 2 or min(sizes) <= 0:
            raise ValueError(f"MLP: sizes must list at least 2 positive widths, got {sizes}")
        try:
            entry = get_activation(activation)
        except ActivationError as exc:
            raise ActivationError(f"MLP: {exc}") from None
        if init == "auto":
            init = entry.init
        layers: list[Module] = []
        for i, (n_in, n_out) in enumerate(itertools.pairwise(sizes)):
            last = i == len(sizes) - 2
            layers.append(Linear(n_in, n_out, init=init, dtype=dtype))
            if last:
                break
            if batch_norm:
                layers.append(BatchNorm1d(n_out, dtype=dtype))
            layers.append(entry.build(negative_slope=negative_slope))
            if dropout:
                layers.append(Dropout(dropout))
        super().__init__(*layers)
        self.sizes, self.activation, self.dropout = sizes, activation, float(dropout)
        self.batch_norm, self.init_scheme = bool(batch_norm), init
        self.negative_slope = float(negative_slope)
        self.dtype_name = str(np.dtype(dtype))

    def get_config(self) -> dict[str, Any]:
        return {
            "sizes": self.sizes,
            "activation": self.activation,
            "dropout": self.dropout,
            "batch_norm": self.batch_norm,
            "init": self.init_scheme,
            "negative_slope": self.negative_slope,
            "dtype": str(self.dtype),  # current dtype, after any .to()
        }

    @property
    def n_classes(self) -> int:
        return 2 if self.sizes[-1] == 1 else self.sizes[-1]


class LogisticRegression(ClassifierMixin, Sequential):
    """Logistic regression: one Linear layer giving logits.

    Binary (``n_classes=2``) uses one logit, v = w x + b, y = σ(v), whose loss gradient is the
    notes' dv = y − d; multinomial (``n_classes > 2``) uses C logits with softmax.
    """

    def __init__(self, in_features: int, n_classes: int = 2, dtype: Any = np.float32) -> None:
        if n_classes < 2:
            raise ValueError(f"LogisticRegression: n_classes must be at least 2, got {n_classes}")
        out = 1 if n_classes == 2 else n_classes
        super().__init__(Linear(in_features, out, init="xavier_uniform", dtype=dtype))
        self.in_features, self.n_classes = int(in_features), int(n_classes)
        self.dtype_name = str(np.dtype(dtype))

    def get_config(self) -> dict[str, Any]:
        return {
            "in_features": self.in_features,
            "n_classes": self.n_classes,
            "dtype": str(self.dtype),  # current dtype, after any .to()
        }
