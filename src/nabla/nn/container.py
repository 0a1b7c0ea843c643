"""Containers with PyTorch's names and state-dict layout: ``Sequential`` (modules applied in
order, named "0", "1", ...), ``ModuleList``, ``ModuleDict`` and ``ParameterList``."""

from __future__ import annotations

import operator
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from nabla.errors import ModelFileError
from nabla.nn.module import MODULE_REGISTRY, Module, Parameter
from nabla.tensor import Tensor

if TYPE_CHECKING:
    from typing_extensions import Self


class Sequential(Module):
    """Apply ``modules`` one after the other.

    Examples
    --------
    >>> import nabla as nb
    >>> model = nb.nn.Sequential(nb.nn.Linear(4, 8), nb.nn.Tanh(), nb.nn.Linear(8, 3))
    >>> model(nb.zeros(2, 4)).shape
    (2, 3)
    >>> list(model.state_dict())
    ['0.weight', '0.bias', '2.weight', '2.bias']
    """

    def __init__(self, *modules: Module) -> None:
        super().__init__()
        for i, m in enumerate(modules):
            if not isinstance(m, Module):
                raise TypeError(f"Sequential: argument {i} is a {type(m).__name__}, not a Module")
            self.add_module(str(i), m)

    def forward(self, x: Any) -> Any:
        for m in self._modules.values():
            x = m(x)
        return x

    def append(self, module: Module) -> Self:
        self.add_module(str(len(self._modules)), module)
        return self

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def __getitem__(self, index: int | slice) -> Any:
        items = list(self._modules.values())
        if isinstance(index, slice):
            return Sequential(*items[index])
        return items[index]

    def get_config(self) -> dict[str, Any]:
        return {}

    def spec(self) -> dict[str, Any]:
        if type(self) is not Sequential:
            return super().spec()
        return {"type": "Sequential", "config": {}, "layers": [m.spec() for m in self]}


def _position(index: Any, length: int) -> int:
    """``index`` as a position in [0, length), or PyTorch's IndexError."""
    i = operator.index(index)
    if not -length <= i < length:
        raise IndexError(f"index {i} is out of range")
    return i % length


class ModuleList(Module):
    """Modules held in a list, registered as "0", "1", ... (no forward of its own).

    Examples
    --------
    >>> import nabla as nb
    >>> layers = nb.nn.ModuleList([nb.nn.Linear(2, 2) for _ in range(3)])
    >>> len(layers), list(layers.state_dict())[:2]
    (3, ['0.weight', '0.bias'])
    """

    def __init__(self, modules: Iterable[Module] | None = None) -> None:
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def _items(self) -> list[Module]:
        return list(self._modules.values())

    def _renumber(self, items: list[Module]) -> None:
        self._modules.clear()
        for i, module in enumerate(items):
            self.add_module(str(i), module)

    def __getitem__(self, index: int | slice) -> Any:
        items = self._items()
        if isinstance(index, slice):
            return type(self)(items[index])
        return items[_position(index, len(items))]

    def __setitem__(self, index: int, module: Module) -> None:
        self.add_module(str(_position(index, len(self))), module)

    def __delitem__(self, index: int | slice) -> None:
        items = self._items()
        if isinstance(index, slice):
            del items[index]
        else:
            del items[_position(index, len(items))]
        self._renumber(items)

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._items())

    def __iadd__(self, modules: Iterable[Module]) -> Self:
        return self.extend(modules)

    def __add__(self, other: Iterable[Module]) -> ModuleList:
        return ModuleList([*self, *other])

    def __dir__(self) -> list[str]:
        return [key for key in super().__dir__() if not key.isdigit()]

    def append(self, module: Module) -> Self:
        self.add_module(str(len(self)), module)
        return self

    def extend(self, modules: Iterable[Module]) -> Self:
        if not isinstance(modules, Iterable):
            raise TypeError(
                "ModuleList.extend should be called with an iterable, but got "
                + type(modules).__name__
            )
        for module in list(modules):
            self.append(module)
        return self

    def insert(self, index: int, module: Module) -> None:
        if not isinstance(module, Module):
            raise TypeError(f"{type(module).__name__} is not a Module subclass")
        items = self._items()
        items.insert(index, module)
        self._renumber(items)

    def pop(self, key: int | slice = -1) -> Module:
        item: Module = self[key]
        del self[key]
        return item

    def get_config(self) -> dict[str, Any]:
        return {}

    def spec(self) -> dict[str, Any]:
        if type(self) is not ModuleList:
            return super().spec()
        return {"type": "ModuleList", "config": {}, "layers": [m.spec() for m in self]}


class ModuleDict(Module):
    """Modules held by name, in insertion order (no forward of its own)."""

    def __init__(self, modules: Mapping[str, Module] | Iterable[Any] | None = None) -> None:
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __getitem__(self, key: str) -> Module:
        return self._modules[key]

    def __setitem__(self, key: str, module: Module) -> None:
        self.add_module(key, module)

    def __delitem__(self, key: str) -> None:
        del self._modules[key]

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._modules))

    def __contains__(self, key: object) -> bool:
        return key in self._modules

    def clear(self) -> None:
        self._modules.clear()

    def pop(self, key: str) -> Module:
        module = self[key]
        del self[key]
        return module

    def keys(self) -> list[str]:
        return list(self._modules.keys())

    def items(self) -> list[tuple[str, Module]]:
        return list(self._modules.items())

    def values(self) -> list[Module]:
        return list(self._modules.values())

    def update(self, modules: Mapping[str, Module] | Iterable[Any]) -> None:
        if isinstance(modules, (Mapping, ModuleDict)):
            for key, module in modules.items():
                self[key] = module
            return
        if not isinstance(modules, Iterable):
            raise TypeError(
                "ModuleDict.update should be called with an iterable of key/value pairs, "
                f"but got {type(modules).__name__}"
            )
        for j, pair in enumerate(modules):
            if not isinstance(pair, Iterable) or isinstance(pair, (str, bytes)):
                raise TypeError(
                    f"ModuleDict update sequence element #{j} should be Iterable; is "
                    + type(pair).__name__
                )
            pair = tuple(pair)
            if len(pair) != 2:
                raise ValueError(
                    f"ModuleDict update sequence element #{j} has length {len(pair)}; 2 is required"
                )
            self[pair[0]] = pair[1]

    def get_config(self) -> dict[str, Any]:
        return {}

    def spec(self) -> dict[str, Any]:
        if type(self) is not ModuleDict:
            return super().spec()
        layers = {key: m.spec() for key, m in self._modules.items()}
        return {"type": "ModuleDict", "config": {}, "layers": layers}


def _as_parameter(value: Any) -> Parameter:
    """A Parameter as ParameterList stores it: Tensors and arrays become Parameters."""
    if isinstance(value, Parameter):
        return value
    if isinstance(value, Tensor):  # as PyTorch's Parameter(tensor): trainable
        return Parameter(value.data)
    if isinstance(value, (np.ndarray, np.generic)):
        return Parameter(value)
    raise TypeError(f"ParameterList holds Tensors and arrays, got {type(value).__name__}")


class ParameterList(Module):
    """Parameters held in a list, registered as "0", "1", ... (Tensors become Parameters)."""

    def __init__(self, values: Iterable[Any] | None = None) -> None:
        super().__init__()
        if values is not None:
            self.extend(values)

    def __getitem__(self, index: int | slice) -> Any:
        items = list(self._parameters.values())
        if isinstance(index, slice):
            return ParameterList(items[index])
        return items[_position(index, len(items))]

    def __setitem__(self, index: int, value: Any) -> None:
        self.register_parameter(str(_position(index, len(self))), _as_parameter(value))

    def __len__(self) -> int:
        return len(self._parameters)

    def __iter__(self) -> Iterator[Parameter]:
        return iter([p for p in self._parameters.values() if p is not None])

    def __iadd__(self, values: Iterable[Any]) -> Self:
        return self.extend(values)

    def append(self, value: Any) -> Self:
        self.register_parameter(str(len(self)), _as_parameter(value))
        return self

    def extend(self, values: Iterable[Any]) -> Self:
        if not isinstance(values, Iterable) or isinstance(values, Tensor):
            raise TypeError(
                "ParameterList.extend should be called with an iterable, but got "
                + type(values).__name__
            )
        for value in list(values):
            self.append(value)
        return self

    def __repr__(self) -> str:
        lines = [
            f"    ({i}): Parameter containing: [{p.dtype} of size {'x'.join(map(str, p.shape))}]"
            for i, p in enumerate(self)
        ]
        return "ParameterList(\n" + "\n".join(lines) + "\n)" if lines else "ParameterList()"

    def get_config(self) -> dict[str, Any]:
        return {}

    def spec(self) -> dict[str, Any]:
        if type(self) is not ParameterList:
            return super().spec()
        shapes = [[list(p.shape), str(p.dtype), p.requires_grad] for p in self]
        return {"type": "ParameterList", "config": {}, "parameters": shapes}


def _parameter_list(spec: Mapping[str, Any]) -> ParameterList:
    """A ParameterList of zeros of the stored shapes (``nb.load`` then loads the values)."""
    entries = spec.get("parameters", [])
    if not isinstance(entries, list):
        raise ModelFileError(f"ParameterList: parameters must be a list, got {str(entries)[:80]}")
    out = ParameterList()
    for entry in entries:
        try:
            shape, dtype, requires_grad = entry
            out.append(Parameter(np.zeros(shape, np.dtype(dtype)), bool(requires_grad)))
        except (TypeError, ValueError) as exc:
            raise ModelFileError(
                f"ParameterList: invalid entry {str(entry)[:80]}: {exc}"
            ) from None
    return out


def from_spec(spec: Any) -> Module:
    """Rebuild a module from :meth:`Module.spec` output (the architecture stored by ``nb.save``)."""
    if not isinstance(spec, dict) or "type" not in spec:
        raise ModelFileError(f"invalid architecture description: {str(spec)[:80]!r}")
    kind = spec["type"]
    cls = MODULE_REGISTRY.get(kind)
    if cls is None:
        raise ModelFileError(
            f"unknown module type {kind!r} in the architecture; known types: "
            f"{', '.join(sorted(MODULE_REGISTRY))}"
        )
    if kind == "Sequential":
        return Sequential(*[from_spec(layer) for layer in spec.get("layers", [])])
    if kind == "ModuleList":
        return ModuleList([from_spec(layer) for layer in spec.get("layers", [])])
    if kind == "ModuleDict":
        layers = spec.get("layers", {})
        if not isinstance(layers, dict):
            raise ModelFileError(f"ModuleDict: layers must be a mapping, got {str(layers)[:80]}")
        return ModuleDict({str(key): from_spec(layer) for key, layer in layers.items()})
    if kind == "ParameterList":
        return _parameter_list(spec)
    config = spec.get("config", {})
    if not isinstance(config, dict):
        raise ModelFileError(f"invalid config for {kind}: {config!r}")
    try:
        return cls(**config)
    except (TypeError, ValueError) as exc:
        raise ModelFileError(f"cannot rebuild {kind} from its config {config}: {exc}") from None
