"""Activation modules (PyTorch's names): Tanh, Sigmoid, ReLU, LeakyReLU, Softmax, LogSoftmax.

Below the modules, the activations a user can name are registered in
:data:`nabla.nn.registry.ACTIVATIONS`: module, function, init gain, ONNX op and the NumPy
source of the exported predictor, one entry each.
"""

from __future__ import annotations

import math
from typing import Any

from nabla import functional as fn
from nabla.nn.layers import Identity
from nabla.nn.module import Module
from nabla.nn.registry import ACTIVATIONS, Activation, ActivationError, OnnxOp, register_activation
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


def _leaky_relu_gain(param: float | None) -> float:
    """PyTorch's √(2 / (1 + slope²)), with slope 0.01 unless given."""
    slope = 0.01 if param is None else param
    if isinstance(slope, bool) or not isinstance(slope, (int, float)):
        raise ActivationError(f"calculate_gain: negative_slope {param!r} is not a number")
    return math.sqrt(2.0 / (1 + slope**2))


def _identity(x: Any) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor(x)


# Xavier/Glorot keeps the variance of tanh and sigmoid units; He/Kaiming doubles it for the
# ReLUs, which zero about half of their inputs. PyTorch has no gain for "identity": 1, as "linear".
register_activation(
    Activation(
        name="identity",
        module=Identity,
        function=_identity,
        gain=1.0,
        onnx=OnnxOp("Identity"),
        numpy="return x",
        sklearn_name="identity",
    )
)
register_activation(
    Activation(
        name="tanh",
        module=Tanh,
        function=fn.tanh,
        gain=5.0 / 3,
        onnx=OnnxOp("Tanh"),
        numpy="return np.tanh(x)",
        sklearn_name="tanh",
    )
)
register_activation(
    Activation(
        name="sigmoid",
        module=Sigmoid,
        function=fn.sigmoid,
        gain=1.0,
        onnx=OnnxOp("Sigmoid"),
        numpy="""
        e = np.exp(-np.abs(x))  # only exp(-|x|) <= 1 is computed: no overflow
        return np.where(x >= 0, 1 / (1 + e), e / (1 + e))
        """,
        sklearn_name="logistic",
    )
)
register_activation(
    Activation(
        name="relu",
        module=ReLU,
        function=fn.relu,
        gain=math.sqrt(2.0),
        onnx=OnnxOp("Relu"),
        numpy="return np.maximum(x, 0)",
        init="kaiming_uniform",
        sklearn_name="relu",
    )
)
register_activation(
    Activation(
        name="leaky_relu",
        module=LeakyReLU,
        function=fn.leaky_relu,
        gain=_leaky_relu_gain,
        onnx=OnnxOp("LeakyRelu", {"alpha": "negative_slope"}),
        numpy="return np.where(x > 0, x, x * negative_slope)",
        params={"negative_slope": 0.01},
        init="kaiming_uniform",
    )
)

__all__ = [
    "ACTIVATIONS",
    "LeakyReLU",
    "LogSoftmax",
    "ReLU",
    "Sigmoid",
    "Softmax",
    "Tanh",
]
