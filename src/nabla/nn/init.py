"""Weight initialisation (PyTorch's ``nn.init`` names), drawn from nabla's seedable generator.

Glorot/Xavier keeps the variance of activations and gradients equal across layers for tanh and
sigmoid units; He/Kaiming doubles it for ReLU, which zeroes half of its inputs.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from nabla.creation import default_generator
from nabla.nn.registry import ACTIVATIONS
from nabla.tensor import Tensor

#: PyTorch's gains for names that are not registered activations (the gains of those are in
#: their :data:`nabla.nn.registry.ACTIVATIONS` entries)
_OTHER_GAINS = {
    "linear": 1.0,
    "conv1d": 1.0,
    "conv2d": 1.0,
    "conv3d": 1.0,
    "conv_transpose1d": 1.0,
    "conv_transpose2d": 1.0,
    "conv_transpose3d": 1.0,
    "selu": 3.0 / 4,  # found empirically (pytorch/pytorch#50664)
}


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """PyTorch's recommended gain for an activation (``param``: leaky_relu's negative slope)."""
    entry = ACTIVATIONS.get(nonlinearity)
    if entry is not None:
        return entry.calculate_gain(param)
    if nonlinearity not in _OTHER_GAINS:
        known = ", ".join(sorted({*ACTIVATIONS, *_OTHER_GAINS}))
        raise ValueError(f"calculate_gain: unknown nonlinearity {nonlinearity!r}; known: {known}")
    return _OTHER_GAINS[nonlinearity]


def fans(tensor: Tensor) -> tuple[int, int]:
    """(fan_in, fan_out) of a weight of shape (out, in, *kernel)."""
    shape = tensor.shape
    if len(shape) < 2:
        raise ValueError(f"fan in/out need at least 2 dimensions, got shape {shape}")
    receptive = int(np.prod(shape[2:])) if len(shape) > 2 else 1
    return shape[1] * receptive, shape[0] * receptive


def _fill(tensor: Tensor, values: np.ndarray[Any, Any]) -> Tensor:
    tensor.data[...] = values.astype(tensor.dtype)
    tensor._bump_version()  # changed in place: a graph that saved it refuses backward
    return tensor


def _gen(generator: np.random.Generator | None) -> np.random.Generator:
    return generator if generator is not None else default_generator()


def uniform_(tensor: Tensor, a: float = 0.0, b: float = 1.0, generator: Any = None) -> Tensor:
    return _fill(tensor, _gen(generator).uniform(a, b, tensor.shape))


def normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0, generator: Any = None) -> Tensor:
    return _fill(tensor, _gen(generator).normal(mean, std, tensor.shape))


def constant_(tensor: Tensor, value: float) -> Tensor:
    tensor.data[...] = value
    tensor._bump_version()
    return tensor


def zeros_(tensor: Tensor) -> Tensor:
    return constant_(tensor, 0.0)


def ones_(tensor: Tensor) -> Tensor:
    return constant_(tensor, 1.0)


def xavier_uniform_(tensor: Tensor, gain: float = 1.0, generator: Any = None) -> Tensor:
    """Glorot uniform: U(−a, a) with a = gain·√(6 / (fan_in + fan_out))."""
    fan_in, fan_out = fans(tensor)
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(tensor, -bound, bound, generator)


def xavier_normal_(tensor: Tensor, gain: float = 1.0, generator: Any = None) -> Tensor:
    """Glorot normal: N(0, σ²) with σ = gain·√(2 / (fan_in + fan_out))."""
    fan_in, fan_out = fans(tensor)
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)), generator)


def _kaiming_std(tensor: Tensor, a: float, mode: str, nonlinearity: str) -> float:
    fan_in, fan_out = fans(tensor)
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"kaiming init: mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan = fan_in if mode == "fan_in" else fan_out
    return calculate_gain(nonlinearity, a) / math.sqrt(fan)


def kaiming_uniform_(
    tensor: Tensor,
    a: float = 0.0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
    generator: Any = None,
) -> Tensor:
    """He uniform: U(−b, b) with b = gain·√(3 / fan)."""
    bound = math.sqrt(3.0) * _kaiming_std(tensor, a, mode, nonlinearity)
    return uniform_(tensor, -bound, bound, generator)


def kaiming_normal_(
    tensor: Tensor,
    a: float = 0.0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
    generator: Any = None,
) -> Tensor:
    """He normal: N(0, σ²) with σ = gain / √fan."""
    return normal_(tensor, 0.0, _kaiming_std(tensor, a, mode, nonlinearity), generator)


#: ``Linear(init=...)`` names → the weight initialiser (biases start at zero for these)
SCHEMES: dict[str, Callable[..., Tensor]] = {
    "xavier_uniform": xavier_uniform_,
    "xavier_normal": xavier_normal_,
    "glorot_uniform": xavier_uniform_,
    "glorot_normal": xavier_normal_,
    "kaiming_uniform": lambda t, **kw: kaiming_uniform_(t, nonlinearity="relu", **kw),
    "kaiming_normal": lambda t, **kw: kaiming_normal_(t, nonlinearity="relu", **kw),
    "he_uniform": lambda t, **kw: kaiming_uniform_(t, nonlinearity="relu", **kw),
    "he_normal": lambda t, **kw: kaiming_normal_(t, nonlinearity="relu", **kw),
}
