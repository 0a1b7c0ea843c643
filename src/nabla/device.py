"""``nb.device``: where a tensor's values live. nabla runs on the CPU only.

PyTorch code names devices everywhere (``x.to(device)``, ``torch.zeros(3, device=dev)``,
``device = "cuda" if torch.cuda.is_available() else "cpu"``). nabla accepts the CPU in each of
those places, as a string (``"cpu"``, ``"cpu:0"``) or a :class:`device`, and refuses any other
device with a one-line :class:`DeviceError` until a GPU backend exists.
"""

from __future__ import annotations

from typing import Any

from nabla.errors import NablaError


class DeviceError(NablaError, RuntimeError):
    """A device other than the CPU was asked for."""


def _refuse(name: str) -> DeviceError:
    return DeviceError(f"nabla runs on the CPU only: device {name!r} is not available")


class device:
    """A device, as ``torch.device``: ``nb.device("cpu")``, ``nb.device("cpu:0")``,
    ``nb.device("cpu", 0)`` or another ``nb.device``.

    Attributes
    ----------
    type : str
        Always ``"cpu"``.
    index : int or None
        The index given (``"cpu:0"``), or None.

    Examples
    --------
    >>> import nabla as nb
    >>> nb.device("cpu")
    device(type='cpu')
    >>> nb.device("cuda")
    Traceback (most recent call last):
    ...
    nabla.device.DeviceError: nabla runs on the CPU only: device 'cuda' is not available
    """

    __slots__ = ("index", "type")

    type: str
    index: int | None

    def __init__(self, type: Any, index: int | None = None) -> None:
        if isinstance(type, device):
            if index is not None:
                raise TypeError("device(): an index cannot be given with a device object")
            self.type, self.index = type.type, type.index
            return
        if isinstance(type, int) and not isinstance(type, bool):
            raise _refuse(f"cuda:{type}")  # PyTorch reads a bare index as a CUDA device
        if not isinstance(type, str):
            raise TypeError(f"device(): expected a string or a device, got {type!r}")
        name, sep, text = type.strip().partition(":")
        if name != "cpu":
            raise _refuse(type)
        if sep:
            if index is not None:
                raise ValueError(f"device(): {type!r} already holds an index")
            if not text.isdigit():
                raise ValueError(f"device(): invalid device string {type!r}")
            index = int(text)
        if index is not None and (not isinstance(index, int) or index < 0):
            raise ValueError(f"device(): the index must be a non-negative int, got {index!r}")
        self.type, self.index = "cpu", index

    def __repr__(self) -> str:
        if self.index is None:
            return f"device(type={self.type!r})"
        return f"device(type={self.type!r}, index={self.index})"

    def __str__(self) -> str:
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, device):
            return NotImplemented
        return (self.type, self.index) == (other.type, other.index)

    def __hash__(self) -> int:
        return hash((self.type, self.index))

    def __reduce__(self) -> tuple[Any, ...]:
        return (device, (self.type, self.index))


#: the device of every tensor (``x.device``)
CPU = device("cpu")


def check_device(value: Any) -> None:
    """Accept ``None``, the CPU (as a string or a :class:`device`); refuse anything else."""
    if value is not None and not isinstance(value, device):
        device(value)


def is_device_like(value: Any) -> bool:
    """Whether ``value`` names a device (a string, a :class:`device` or a bare index) rather
    than a dtype: how ``Tensor.to`` reads its first argument."""
    return isinstance(value, (str, device, int)) and not isinstance(value, bool)


def names_an_index(value: Any) -> bool:
    """Whether ``value`` is a CPU device with an explicit index (``"cpu:0"``): PyTorch's
    ``x.to("cpu:0")`` copies a tensor on ``device("cpu")``, as a move between devices."""
    return value is not None and device(value).index is not None


def to_arguments(
    args: Any, kwargs: dict[str, Any], tensor_type: type, flags: tuple[str, ...]
) -> tuple[Any, Any, dict[str, Any]]:
    """Read PyTorch's ``to`` arguments, shared by ``Tensor.to`` and ``Module.to``.

    The forms are ``to(dtype, *flags)``, ``to(device, dtype=None, *flags)`` and
    ``to(other, *flags)`` (a ``tensor_type``: its dtype), each with keywords. Returns the
    dtype (a ``numpy.dtype``, or None: unchanged), the device (checked: the CPU only) and the
    ``flags`` given (``non_blocking``, ``copy``...).
    """
    import builtins

    import numpy as np

    unknown = set(kwargs) - {"device", "dtype", "memory_format", *flags}
    if unknown:
        raise TypeError(f"to() got an unexpected keyword argument {min(unknown)!r}")
    kwargs = dict(kwargs)
    rest = list(args)
    dtype: Any = kwargs.pop("dtype", None)
    dev: Any = kwargs.pop("device", None)
    if rest and isinstance(rest[0], tensor_type):
        dtype, dev = rest.pop(0).data.dtype, None
    elif rest and (is_device_like(rest[0]) or rest[0] is None):
        dev = rest.pop(0)
        if rest and not isinstance(rest[0], builtins.bool):
            dtype = rest.pop(0)
    elif rest and not isinstance(rest[0], builtins.bool):
        dtype = rest.pop(0)
    if len(rest) > len(flags):
        most = 2 + len(flags)
        raise TypeError(f"to() takes at most {most} positional arguments, got {len(args)}")
    given = dict(zip(flags, rest, strict=False))
    for key in given:
        if key in kwargs:
            raise TypeError(f"to() got multiple values for argument {key!r}")
    given.update({key: value for key, value in kwargs.items() if key in flags})
    check_device(dev)
    if dtype is not None:
        try:
            dtype = np.dtype(dtype)
        except TypeError:
            raise TypeError(
                f"to(): expected a dtype, a device or a tensor, got {dtype!r}"
            ) from None
    return dtype, dev, given
