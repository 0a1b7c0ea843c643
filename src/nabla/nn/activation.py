"""Activation modules (PyTorch's names): Tanh, Sigmoid, ReLU, LeakyReLU, Softmax, LogSoftmax,
GELU, SiLU, ELU, Softplus, Mish, Hardtanh.

Below the modules, the activations a user can name are registered in
:data:`nabla.nn.registry.ACTIVATIONS`: module, function, init gain, ONNX op and the NumPy
source of the exported predictor, one entry each.
"""

from __future__ import annotations

import math
from typing import Any

from nabla import functional as fn
from nabla.nn import functional_activation as fa
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


class GELU(Module):
    """x Φ(x), exact (``approximate="none"``) or with PyTorch's tanh approximation."""

    def __init__(self, approximate: str = "none") -> None:
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ValueError(
                f"approximate argument must be either none or tanh, got {approximate!r}"
            )
        self.approximate = approximate

    def forward(self, x: Any) -> Tensor:
        return fa.gelu(x, approximate=self.approximate)

    def get_config(self) -> dict[str, Any]:
        return {"approximate": self.approximate}

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class SiLU(Module):
    """x σ(x)."""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()

    def forward(self, x: Any) -> Tensor:
        return fa.silu(x)

    def get_config(self) -> dict[str, Any]:
        return {}


class Mish(SiLU):
    """x tanh(softplus(x))."""

    def forward(self, x: Any) -> Tensor:
        return fa.mish(x)


class ELU(Module):
    """x for x > 0, else α (eˣ − 1)."""

    def __init__(self, alpha: float = 1.0, inplace: bool = False) -> None:
        super().__init__()
        self.alpha = float(alpha)

    def forward(self, x: Any) -> Tensor:
        return fa.elu(x, self.alpha)

    def get_config(self) -> dict[str, Any]:
        return {"alpha": self.alpha}

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}"


class Softplus(Module):
    """log(1 + exp(β x)) / β, linear above ``threshold``."""

    def __init__(self, beta: float = 1.0, threshold: float = 20.0) -> None:
        super().__init__()
        self.beta, self.threshold = float(beta), float(threshold)

    def forward(self, x: Any) -> Tensor:
        return fa.softplus(x, self.beta, self.threshold)

    def get_config(self) -> dict[str, Any]:
        return {"beta": self.beta, "threshold": self.threshold}

    def extra_repr(self) -> str:
        return f"beta={self.beta}, threshold={self.threshold}"


class Hardtanh(Module):
    """x clipped to [min_val, max_val]."""

    def __init__(self, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False) -> None:
        super().__init__()
        if max_val <= min_val:
            raise ValueError(f"max_val ({max_val}) must be greater than min_val ({min_val})")
        self.min_val, self.max_val = float(min_val), float(max_val)

    def forward(self, x: Any) -> Tensor:
        return fa.hardtanh(x, self.min_val, self.max_val)

    def get_config(self) -> dict[str, Any]:
        return {"min_val": self.min_val, "max_val": self.max_val}

    def extra_repr(self) -> str:
        return f"min_val={self.min_val}, max_val={self.max_val}"


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


def _const(graph: Any, value: float) -> str:
    """A scalar initializer in the model's float type."""
    import numpy as np

    name: str = graph.const("c", np.asarray(value, dtype=graph.dtype))
    return name


def _gelu_onnx(graph: Any, x: str, hint: str, settings: Any) -> str:
    """0.5 x (1 + erf(x / √2)) from Mul, Erf, Add (Gelu is an op from opset 20 on)."""
    scaled = graph.node("Mul", [x, _const(graph, 1 / math.sqrt(2.0))], f"{hint}_scaled")
    erf = graph.node("Erf", [scaled], f"{hint}_erf")
    one_plus = graph.node("Add", [erf, _const(graph, 1.0)], f"{hint}_one_plus")
    half_x = graph.node("Mul", [x, _const(graph, 0.5)], f"{hint}_half_x")
    out: str = graph.node("Mul", [half_x, one_plus], hint)
    return out


def _silu_onnx(graph: Any, x: str, hint: str, settings: Any) -> str:
    sigmoid = graph.node("Sigmoid", [x], f"{hint}_sigmoid")
    out: str = graph.node("Mul", [x, sigmoid], hint)
    return out


def _mish_onnx(graph: Any, x: str, hint: str, settings: Any) -> str:
    softplus = graph.node("Softplus", [x], f"{hint}_softplus")
    tanh = graph.node("Tanh", [softplus], f"{hint}_tanh")
    out: str = graph.node("Mul", [x, tanh], hint)
    return out


def _softplus_onnx(graph: Any, x: str, hint: str, settings: Any) -> str:
    """Softplus(β x) / β, and x where β x > 20 (ONNX's Softplus has no β)."""
    bx = graph.node("Mul", [x, _const(graph, settings["beta"])], f"{hint}_bx")
    smooth = graph.node("Softplus", [bx], f"{hint}_smooth")
    scaled = graph.node("Div", [smooth, _const(graph, settings["beta"])], f"{hint}_scaled")
    linear = graph.node("Greater", [bx, _const(graph, 20.0)], f"{hint}_linear")
    out: str = graph.node("Where", [linear, x, scaled], hint)
    return out


def _hardtanh_onnx(graph: Any, x: str, hint: str, settings: Any) -> str:
    low, high = _const(graph, -1.0), _const(graph, 1.0)
    out: str = graph.node("Clip", [x, low, high], hint)
    return out


register_activation(
    Activation(
        name="gelu",
        module=GELU,
        function=fa.gelu,
        gain=1.0,
        onnx=OnnxOp("Mul", compose=_gelu_onnx),
        numpy="""
        import math
        erf = np.vectorize(math.erf, otypes=[np.float64])
        return x * 0.5 * (erf(x * (1.0 / math.sqrt(2.0))).astype(x.dtype) + 1.0)
        """,
        accepts=lambda module: getattr(module, "approximate", "none") == "none",
    )
)
register_activation(
    Activation(
        name="silu",
        module=SiLU,
        function=fa.silu,
        gain=1.0,
        onnx=OnnxOp("Mul", compose=_silu_onnx),
        numpy="""
        e = np.exp(-np.abs(x))
        return x * np.where(x >= 0, 1 / (1 + e), e / (1 + e))
        """,
    )
)
register_activation(
    Activation(
        name="elu",
        module=ELU,
        function=fa.elu,
        gain=1.0,
        onnx=OnnxOp("Elu", {"alpha": "alpha"}),
        numpy="return np.where(x > 0, x, (np.exp(np.minimum(x, 0)) - 1.0) * alpha)",
        params={"alpha": 1.0},
    )
)
register_activation(
    Activation(
        name="softplus",
        module=Softplus,
        function=fa.softplus,
        gain=1.0,
        onnx=OnnxOp("Where", compose=_softplus_onnx),
        numpy="""
        bx = x * beta
        return np.where(bx > 20.0, x, np.logaddexp(0, bx) / beta).astype(x.dtype)
        """,
        params={"beta": 1.0},
        # one parameter, as calculate_gain's: a Softplus of another threshold is no entry
        accepts=lambda module: module.threshold == 20.0,
    )
)
register_activation(
    Activation(
        name="mish",
        module=Mish,
        function=fa.mish,
        gain=1.0,
        onnx=OnnxOp("Mul", compose=_mish_onnx),
        numpy="""
        bx = np.where(x > 20, x, np.logaddexp(0, x)).astype(x.dtype)
        return x * np.tanh(bx)
        """,
    )
)
register_activation(
    Activation(
        name="hardtanh",
        module=Hardtanh,
        function=fa.hardtanh,
        gain=1.0,
        onnx=OnnxOp("Clip", compose=_hardtanh_onnx),
        numpy="return np.clip(x, -1.0, 1.0)",
        # the entry is Hardtanh() (PyTorch's module refuses the equal bounds the table's checks
        # use); one with other bounds is no registered activation, so no exporter mistakes it
        accepts=lambda module: (module.min_val, module.max_val) == (-1.0, 1.0),
    )
)

__all__ = [
    "ACTIVATIONS",
    "ELU",
    "GELU",
    "Hardtanh",
    "LeakyReLU",
    "LogSoftmax",
    "Mish",
    "ReLU",
    "SiLU",
    "Sigmoid",
    "Softmax",
    "Softplus",
    "Tanh",
]
