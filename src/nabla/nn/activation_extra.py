"""Modules for :mod:`nabla.nn.functional_extra` (PyTorch's names): LogSigmoid, ReLU6, SELU, CELU,
Hardswish, Hardsigmoid, Softsign, Tanhshrink, Threshold, GLU, Softmin, PReLU, CosineSimilarity,
PairwiseDistance and the padding layers.

Each stores its constructor arguments, returns them from ``get_config`` (so ``nb.save`` can
rebuild it) and prints them as PyTorch's ``extra_repr`` does.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nabla.nn import functional_extra as fx
from nabla.nn.module import Module, Parameter
from nabla.tensor import Tensor

__all__ = [
    "CELU",
    "GLU",
    "SELU",
    "ConstantPad1d",
    "ConstantPad2d",
    "CosineSimilarity",
    "Hardsigmoid",
    "Hardswish",
    "LogSigmoid",
    "PReLU",
    "PairwiseDistance",
    "ReLU6",
    "ReflectionPad1d",
    "ReflectionPad2d",
    "ReplicationPad1d",
    "ReplicationPad2d",
    "Softmin",
    "Softsign",
    "Tanhshrink",
    "Threshold",
    "ZeroPad2d",
]


class _Stateless(Module):
    """An activation without arguments (``inplace`` is accepted and ignored, as a no-op)."""

    function: Any = None

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()

    def forward(self, x: Any) -> Tensor:
        return type(self).function(x)  # type: ignore[no-any-return]

    def get_config(self) -> dict[str, Any]:
        return {}


class LogSigmoid(_Stateless):
    """log σ(x)."""

    function = staticmethod(fx.logsigmoid)


class ReLU6(_Stateless):
    """min(max(x, 0), 6)."""

    function = staticmethod(fx.relu6)


class SELU(_Stateless):
    """scale · elu(x, α), PyTorch's constants."""

    function = staticmethod(fx.selu)


class Hardswish(_Stateless):
    """x · relu6(x + 3) / 6."""

    function = staticmethod(fx.hardswish)


class Hardsigmoid(_Stateless):
    """relu6(x + 3) / 6."""

    function = staticmethod(fx.hardsigmoid)


class Softsign(_Stateless):
    """x / (1 + |x|)."""

    function = staticmethod(fx.softsign)


class Tanhshrink(_Stateless):
    """x − tanh(x)."""

    function = staticmethod(fx.tanhshrink)


class CELU(Module):
    """x for x > 0, else α (exp(x / α) − 1)."""

    def __init__(self, alpha: float = 1.0, inplace: bool = False) -> None:
        super().__init__()
        self.alpha = float(alpha)

    def forward(self, x: Any) -> Tensor:
        return fx.celu(x, self.alpha)

    def get_config(self) -> dict[str, Any]:
        return {"alpha": self.alpha}

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}"


class Threshold(Module):
    """x where x > threshold, else value."""

    def __init__(self, threshold: float, value: float, inplace: bool = False) -> None:
        super().__init__()
        self.threshold, self.value = threshold, value

    def forward(self, x: Any) -> Tensor:
        return fx.threshold(x, self.threshold, self.value)

    def get_config(self) -> dict[str, Any]:
        return {"threshold": self.threshold, "value": self.value}

    def extra_repr(self) -> str:
        return f"threshold={self.threshold}, value={self.value}"


class GLU(Module):
    """a ⊙ σ(b) of the halves along ``dim``."""

    def __init__(self, dim: int = -1) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, x: Any) -> Tensor:
        return fx.glu(x, self.dim)

    def get_config(self) -> dict[str, Any]:
        return {"dim": self.dim}

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class Softmin(Module):
    """softmax(−x) along ``dim``."""

    def __init__(self, dim: int | None = None) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, x: Any) -> Tensor:
        return fx.softmin(x, self.dim, _stacklevel=4)

    def get_config(self) -> dict[str, Any]:
        return {"dim": self.dim}

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class PReLU(Module):
    """x for x > 0, else w · x, with a learned slope per channel (or one shared slope)."""

    def __init__(self, num_parameters: int = 1, init: float = 0.25, dtype: Any = None) -> None:
        super().__init__()
        self.slope_count, self.init_value = int(num_parameters), float(init)
        dtype = np.dtype(dtype) if dtype is not None else np.dtype(np.float32)
        self.weight = Parameter(np.full((self.slope_count,), self.init_value, dtype=dtype))

    def reset_parameters(self) -> None:
        self.weight.data[...] = self.init_value

    def forward(self, x: Any) -> Tensor:
        return fx.prelu(x, self.weight)

    def get_config(self) -> dict[str, Any]:
        return {"num_parameters": self.slope_count, "init": self.init_value}

    def extra_repr(self) -> str:
        return f"num_parameters={self.slope_count}"


class CosineSimilarity(Module):
    """Cosine similarity of two inputs along ``dim``."""

    def __init__(self, dim: int = 1, eps: float = 1e-8) -> None:
        super().__init__()
        self.dim, self.eps = dim, eps

    def forward(self, x1: Any, x2: Any) -> Tensor:
        return fx.cosine_similarity(x1, x2, self.dim, self.eps)

    def get_config(self) -> dict[str, Any]:
        return {"dim": self.dim, "eps": self.eps}


class PairwiseDistance(Module):
    """‖x1 − x2 + eps‖_p along the last dimension."""

    def __init__(self, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False) -> None:
        super().__init__()
        self.norm, self.eps, self.keepdim = p, eps, keepdim

    def forward(self, x1: Any, x2: Any) -> Tensor:
        return fx.pairwise_distance(x1, x2, self.norm, self.eps, self.keepdim)

    def get_config(self) -> dict[str, Any]:
        return {"p": self.norm, "eps": self.eps, "keepdim": self.keepdim}


def _widths(padding: Any, dims: int) -> tuple[int, ...]:
    """An int pads every side; a tuple gives (left, right[, top, bottom])."""
    if isinstance(padding, int) and not isinstance(padding, bool):
        return (padding,) * (2 * dims)
    widths = tuple(int(w) for w in padding)
    if len(widths) != 2 * dims:
        raise ValueError(f"padding must be an int or a {2 * dims}-tuple, got {padding!r}")
    return widths


class _Pad(Module):
    """Pads the last ``dims`` dimensions in one mode."""

    dims = 1
    mode = "constant"

    def __init__(self, padding: Any) -> None:
        super().__init__()
        self.padding = _widths(padding, self.dims)

    def forward(self, x: Any) -> Tensor:
        return fx.pad(x, self.padding, self.mode)

    def get_config(self) -> dict[str, Any]:
        return {"padding": list(self.padding)}

    def extra_repr(self) -> str:
        return f"{self.padding}"


class ReflectionPad1d(_Pad):
    """Mirror padding of the last dimension (the edge entry not repeated)."""

    mode = "reflect"


class ReflectionPad2d(ReflectionPad1d):
    """Mirror padding of the last two dimensions."""

    dims = 2


class ReplicationPad1d(_Pad):
    """Edge-repeating padding of the last dimension."""

    mode = "replicate"


class ReplicationPad2d(ReplicationPad1d):
    """Edge-repeating padding of the last two dimensions."""

    dims = 2


class ConstantPad1d(_Pad):
    """Padding of the last dimension with ``value``."""

    def __init__(self, padding: Any, value: float) -> None:
        super().__init__(padding)
        self.value = float(value)

    def forward(self, x: Any) -> Tensor:
        return fx.pad(x, self.padding, "constant", self.value)

    def get_config(self) -> dict[str, Any]:
        return {"padding": list(self.padding), "value": self.value}

    def extra_repr(self) -> str:
        return f"padding={self.padding}, value={self.value}"


class ConstantPad2d(ConstantPad1d):
    """Padding of the last two dimensions with ``value``."""

    dims = 2


class ZeroPad2d(ConstantPad2d):
    """Zero padding of the last two dimensions."""

    def __init__(self, padding: Any) -> None:
        super().__init__(padding, 0.0)

    def get_config(self) -> dict[str, Any]:
        return {"padding": list(self.padding)}

    def extra_repr(self) -> str:
        return f"{self.padding}"
