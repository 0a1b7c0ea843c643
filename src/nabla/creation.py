"""Tensor factories: ``nb.tensor``, ``zeros``, ``randn``, ``arange``…

The random ones draw from nabla's global generator (:mod:`nabla.generator`, re-exported here:
``manual_seed``, ``default_generator``, ``get_rng_state``, ``set_rng_state``) unless they are
given their own. Each accepts ``device=`` as PyTorch's do: the CPU (``"cpu"``,
``nb.device("cpu")``, None); another device raises :class:`~nabla.device.DeviceError`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nabla.autograd.hooks import note_unreplayable
from nabla.device import check_device
from nabla.generator import default_generator, get_rng_state, manual_seed, set_rng_state
from nabla.tensor import DEFAULT_FLOAT, Tensor, as_array


def _shape(shape: tuple[Any, ...]) -> tuple[int, ...]:
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        return tuple(int(n) for n in shape[0])
    return tuple(int(n) for n in shape)


def _dtype(dtype: Any) -> np.dtype[Any]:
    return DEFAULT_FLOAT if dtype is None else np.dtype(dtype)


def tensor(
    data: Any,
    requires_grad: bool = False,
    dtype: Any = None,
    name: str | None = None,
    *,
    device: Any = None,
) -> Tensor:
    """A new tensor holding a copy of ``data``.

    Python floats become float32, ints int64 (as PyTorch); an ndarray keeps its dtype (float64
    stays float64, so gradients can be checked in float64).

    Examples
    --------
    >>> import nabla as nb
    >>> nb.tensor([1.0, 2.0]).dtype
    dtype('float32')
    >>> nb.tensor([1, 2]).dtype
    dtype('int64')
    """
    check_device(device)
    return Tensor(as_array(data, dtype, copy=True), requires_grad=requires_grad, name=name)


def as_tensor(data: Any, dtype: Any = None, device: Any = None) -> Tensor:
    """Wrap ``data`` without copying when it already is an ndarray of the right dtype."""
    check_device(device)
    if isinstance(data, Tensor) and (dtype is None or data.dtype == np.dtype(dtype)):
        return data
    return Tensor(as_array(data, dtype))


def from_numpy(array: np.ndarray[Any, Any]) -> Tensor:
    """A tensor sharing memory with ``array``."""
    return Tensor(np.asarray(array))


def zeros(
    *shape: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False
) -> Tensor:
    check_device(device)
    return Tensor(np.zeros(_shape(shape), _dtype(dtype)), requires_grad=requires_grad)


def ones(
    *shape: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False
) -> Tensor:
    check_device(device)
    return Tensor(np.ones(_shape(shape), _dtype(dtype)), requires_grad=requires_grad)


def full(
    shape: Any,
    fill_value: Any,
    dtype: Any = None,
    requires_grad: bool = False,
    *,
    device: Any = None,
) -> Tensor:
    """A tensor filled with ``fill_value`` (float fill → float32, int → int64, as PyTorch)."""
    check_device(device)
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    if dtype is None:
        dtype = as_array(fill_value).dtype
    return Tensor(np.full(shape, fill_value, dtype=dtype), requires_grad=requires_grad)


def zeros_like(
    x: Any, dtype: Any = None, requires_grad: bool = False, *, device: Any = None
) -> Tensor:
    check_device(device)
    data = x.data if isinstance(x, Tensor) else np.asarray(x)
    return Tensor(np.zeros_like(data, dtype=dtype), requires_grad=requires_grad)


def ones_like(
    x: Any, dtype: Any = None, requires_grad: bool = False, *, device: Any = None
) -> Tensor:
    check_device(device)
    data = x.data if isinstance(x, Tensor) else np.asarray(x)
    return Tensor(np.ones_like(data, dtype=dtype), requires_grad=requires_grad)


def full_like(
    x: Any,
    fill_value: Any,
    dtype: Any = None,
    requires_grad: bool = False,
    *,
    device: Any = None,
) -> Tensor:
    check_device(device)
    data = x.data if isinstance(x, Tensor) else np.asarray(x)
    return Tensor(np.full_like(data, fill_value, dtype=dtype), requires_grad=requires_grad)


def randn(
    *shape: Any,
    dtype: Any = None,
    requires_grad: bool = False,
    generator: np.random.Generator | None = None,
    device: Any = None,
) -> Tensor:
    """Standard normal samples from the global (seedable) generator or ``generator``."""
    check_device(device)
    note_unreplayable("nb.randn inside a compiled step")
    gen = generator or default_generator()
    data = gen.standard_normal(_shape(shape), dtype=np.float64).astype(_dtype(dtype))
    return Tensor(data, requires_grad=requires_grad)


def rand(
    *shape: Any,
    dtype: Any = None,
    requires_grad: bool = False,
    generator: np.random.Generator | None = None,
    device: Any = None,
) -> Tensor:
    """Uniform samples on [0, 1)."""
    check_device(device)
    note_unreplayable("nb.rand inside a compiled step")
    gen = generator or default_generator()
    data = gen.random(_shape(shape), dtype=np.float64).astype(_dtype(dtype))
    return Tensor(data, requires_grad=requires_grad)


def randint(
    low: int,
    high: int,
    size: Any,
    generator: np.random.Generator | None = None,
    *,
    device: Any = None,
) -> Tensor:
    check_device(device)
    note_unreplayable("nb.randint inside a compiled step")
    gen = generator or default_generator()
    size = (size,) if isinstance(size, int) else tuple(size)
    return Tensor(gen.integers(low, high, size=size, dtype=np.int64))


def arange(
    start: float,
    end: float | None = None,
    step: float = 1,
    dtype: Any = None,
    requires_grad: bool = False,
    *,
    device: Any = None,
) -> Tensor:
    """Evenly spaced values in [start, end) (ints give int64, floats float32)."""
    check_device(device)
    if end is None:
        start, end = 0, start
    if dtype is None:
        is_int = all(isinstance(v, (int, np.integer)) for v in (start, end, step))
        dtype = np.int64 if is_int else DEFAULT_FLOAT
    return Tensor(np.arange(start, end, step, dtype=dtype), requires_grad=requires_grad)


def linspace(
    start: float, end: float, steps: int, dtype: Any = None, *, device: Any = None
) -> Tensor:
    check_device(device)
    return Tensor(np.linspace(start, end, steps, dtype=_dtype(dtype)))


def eye(n: int, m: int | None = None, dtype: Any = None, *, device: Any = None) -> Tensor:
    check_device(device)
    return Tensor(np.eye(n, m, dtype=_dtype(dtype)))


__all__ = [
    "arange",
    "as_tensor",
    "default_generator",
    "eye",
    "from_numpy",
    "full",
    "full_like",
    "get_rng_state",
    "linspace",
    "manual_seed",
    "ones",
    "ones_like",
    "rand",
    "randint",
    "randn",
    "set_rng_state",
    "tensor",
    "zeros",
    "zeros_like",
]
