"""Activation modules (PyTorch's names): Tanh, Sigmoid, ReLU, LeakyReLU, Softmax, LogSoftmax."""

from __future__ import annotations

from typing import Any

from nabla import functional as fn
from nabla.nn.module import Module
from nabla.tensor import Tensor


class Tanh(Module):
    """h = tanh(x); backward g ⊙ (1 − h²)."""

    def forward(self, x: Any) -> Tensor:
        return fn.tanh(x)

    def get_config(self) -> dict[str, Any]:
        return {}


class Sigmoid(Module):
    """z = σ(x); backward g ⊙ z(1 − z)."""

    def forward(self, x: Any) -> Tensor:
        return fn.sigmoid(x)

    def get_config(self) -> dict[str, Any]:
        return {}


class ReLU(Module):
    """z = max(x, 0)."""

    def forward(self, x: Any) -> Tensor:
        return fn.relu(x)

    def get_config(self) -> dict[str, Any]:
        return {}


class LeakyReLU(Module):
    """z = x for x > 0, else negative_slope·x."""

    def __init__(self, negative_slope: float = 0.01) -> None:
        super().__init__()
        self.negative_slope = float(negative_slope)

    def forward(self, x: Any) -> Tensor:
        return fn.leaky_relu(x, self.negative_slope)

    def get_config(self) -> dict[str, Any]:
        return {"negative_slope": self.negative_slope}

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"


class Softmax(Module):
    """Softmax along ``dim``."""

    def __init__(self, dim: int = -1) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, x: Any) -> Tensor:
        return fn.softmax(x, self.dim)

    def get_config(self) -> dict[str, Any]:
        return {"dim": self.dim}

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class LogSoftmax(Softmax):
    """Log-softmax along ``dim``."""

    def forward(self, x: Any) -> Tensor:
        return fn.log_softmax(x, self.dim)


#: activation names accepted by MLP and the CLI → module class
ACTIVATIONS: dict[str, type[Module]] = {
    "tanh": Tanh,
    "sigmoid": Sigmoid,
    "relu": ReLU,
    "leaky_relu": LeakyReLU,
}
