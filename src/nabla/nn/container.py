"""``Sequential``: modules applied in order, named "0", "1", ... (PyTorch's state-dict layout)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from nabla.errors import ModelFileError
from nabla.nn.module import MODULE_REGISTRY, Module

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
    config = spec.get("config", {})
    if not isinstance(config, dict):
        raise ModelFileError(f"invalid config for {kind}: {config!r}")
    try:
        return cls(**config)
    except (TypeError, ValueError) as exc:
        raise ModelFileError(f"cannot rebuild {kind} from its config {config}: {exc}") from None
