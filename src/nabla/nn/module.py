"""``Module`` and ``Parameter``: the containers of trainable state (PyTorch's names and rules)."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from nabla._typing import Array
from nabla.autograd.hooks import replayable
from nabla.autograd.mode import MODE
from nabla.errors import ModelFileError, StateDictError
from nabla.tensor import Tensor, as_array

if TYPE_CHECKING:
    from typing_extensions import Self

#: every Module subclass by name, so ``nb.load`` can rebuild an architecture from JSON
MODULE_REGISTRY: dict[str, type[Module]] = {}


class Parameter(Tensor):
    """A Tensor that is a module's trainable weight (``requires_grad=True`` by default)."""

    __slots__ = ()

    def __init__(self, data: Any, requires_grad: bool = True, name: str | None = None) -> None:
        super().__init__(as_array(data), requires_grad=requires_grad, name=name)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()


class Module:
    """Base class of layers and models.

    Assigning a :class:`Parameter`, a ``Module`` or (with :meth:`register_buffer`) an array as an
    attribute registers it, so :meth:`parameters`, :meth:`state_dict` and :meth:`train` reach it.
    Subclasses implement ``forward``; calling the module calls ``forward``.

    Subclasses that can be saved by ``nb.save`` implement :meth:`get_config` returning the
    keyword arguments of their constructor (JSON values only).
    """

    training: bool
    _parameters: dict[str, Parameter | None]
    _modules: dict[str, Module]
    _buffers: dict[str, Array | None]
    #: whether ``nb.save`` can rebuild this module from :meth:`get_config` alone
    serializable: ClassVar[bool] = True

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        MODULE_REGISTRY.setdefault(cls.__name__, cls)

    def __init__(self) -> None:
        object.__setattr__(self, "training", True)
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())

    # ----- registration -----------------------------------------------------------------------
    def __setattr__(self, name: str, value: Any) -> None:
        if "_parameters" not in self.__dict__:
            raise AttributeError(
                f"cannot assign {name!r} before Module.__init__() is called "
                f"(call super().__init__() first in {type(self).__name__}.__init__)"
            )
        if name in self._buffers and not isinstance(value, (Parameter, Module)):
            self._buffers[name] = None if value is None else np.asarray(value)
            return
        for store in (self._parameters, self._modules, self._buffers):
            store.pop(name, None)
        if isinstance(value, Parameter):
            self._parameters[name] = value
        elif isinstance(value, Module):
            self._modules[name] = value
        else:
            object.__setattr__(self, name, value)
            return
        self.__dict__.pop(name, None)

    def __getattr__(self, name: str) -> Any:
        for store in ("_parameters", "_modules", "_buffers"):
            d = self.__dict__.get(store)
            if d is not None and name in d:
                return d[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __delattr__(self, name: str) -> None:
        for store in (self._parameters, self._modules, self._buffers):
            if name in store:
                del store[name]
                return
        object.__delattr__(self, name)

    def register_buffer(self, name: str, value: Any) -> None:
        """Register non-trainable state saved in the state dict (BatchNorm running stats)."""
        self.__dict__.pop(name, None)
        self._buffers[name] = None if value is None else np.asarray(value)

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        if param is None:
            self._parameters[name] = None
        else:
            setattr(self, name, param)

    def add_module(self, name: str, module: Module) -> None:
        self._modules[name] = module

    # ----- traversal --------------------------------------------------------------------------
    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, Module]]:
        yield prefix, self
        for name, child in self._modules.items():
            yield from child.named_modules(f"{prefix}.{name}" if prefix else name)

    def modules(self) -> Iterator[Module]:
        for _, m in self.named_modules():
            yield m

    def named_children(self) -> Iterator[tuple[str, Module]]:
        yield from self._modules.items()

    def children(self) -> Iterator[Module]:
        yield from self._modules.values()

    def named_parameters(
        self, prefix: str = "", recurse: bool = True
    ) -> Iterator[tuple[str, Parameter]]:
        seen: set[int] = set()
        modules = self.named_modules(prefix) if recurse else iter([(prefix, self)])
        for path, module in modules:
            for name, p in module._parameters.items():
                if p is None or id(p) in seen:
                    continue
                seen.add(id(p))
                yield (f"{path}.{name}" if path else name), p

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix: str = "") -> Iterator[tuple[str, Array]]:
        for path, module in self.named_modules(prefix):
            for name, b in module._buffers.items():
                if b is not None:
                    yield (f"{path}.{name}" if path else name), b

    def buffers(self) -> Iterator[Array]:
        for _, b in self.named_buffers():
            yield b

    def num_parameters(self, trainable_only: bool = False) -> int:
        return sum(p.size for p in self.parameters() if p.requires_grad or not trainable_only)

    # ----- modes --------------------------------------------------------------------------------
    def train(self, mode: bool = True) -> Self:
        """Training mode (dropout active, batch statistics in BatchNorm); returns self."""
        for m in self.modules():
            object.__setattr__(m, "training", bool(mode))
        return self

    def eval(self) -> Self:
        """Evaluation mode (dropout off, running statistics in BatchNorm); returns self."""
        return self.train(False)

    @replayable
    def zero_grad(self, set_to_none: bool = True) -> None:
        for p in self.parameters():
            if set_to_none:
                p.grad = None
            elif p.grad is not None:
                p.grad[...] = 0

    def requires_grad_(self, requires_grad: bool = True) -> Self:
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def to(self, dtype: Any) -> Self:
        """Convert every floating parameter and buffer to ``dtype`` in place; returns self."""
        dtype = np.dtype(dtype)
        for m in self.modules():
            for p in m._parameters.values():
                if p is not None and p.data.dtype.kind == "f":
                    p.data = p.data.astype(dtype)
                    p.grad = None
            for name, b in m._buffers.items():
                if b is not None and b.dtype.kind == "f":
                    m._buffers[name] = b.astype(dtype)
        return self

    def float(self) -> Self:
        return self.to(np.float32)

    def double(self) -> Self:
        return self.to(np.float64)

    @property
    def dtype(self) -> np.dtype[Any]:
        for p in self.parameters():
            return p.dtype
        return np.dtype(np.float32)

    # ----- state ----------------------------------------------------------------------------------
    def state_dict(self) -> OrderedDict[str, Array]:
        """Parameters and buffers by dotted name (arrays shared with the module, not copies)."""
        state: OrderedDict[str, Array] = OrderedDict()
        for path, module in self.named_modules():
            for name, p in module._parameters.items():
                if p is not None:
                    state[f"{path}.{name}" if path else name] = p.data
            for name, b in module._buffers.items():
                if b is not None:
                    state[f"{path}.{name}" if path else name] = b
        return state

    def load_state_dict(self, state_dict: Any, strict: bool = True) -> tuple[list[str], list[str]]:
        """Copy values into the module's parameters and buffers.

        With ``strict`` every key must match and nothing may be left over; shapes must always
        match. Nothing is modified unless every check passes. Returns (missing, unexpected).
        """
        targets = _load_targets(self)
        missing = [k for k in targets if k not in state_dict]
        unexpected = [k for k in state_dict if k not in targets]
        problems = _key_problems(missing, unexpected) if strict else []
        arrays = _arrays_of_matching_shape(targets, state_dict, problems)
        if problems:
            raise StateDictError(
                f"error(s) loading state_dict for {type(self).__name__}: " + "; ".join(problems)
            )
        _write_loaded(targets, arrays)
        return missing, unexpected

    # ----- architecture (for nb.save / nb.load) ---------------------------------------------------
    def get_config(self) -> dict[str, Any]:
        """Constructor keyword arguments that rebuild this module (JSON values only)."""
        raise ModelFileError(
            f"{type(self).__name__} does not implement get_config(), so nb.save cannot store its "
            "architecture; implement get_config() returning its constructor arguments, or save "
            "the weights alone with nb.save_state_dict"
        )

    def spec(self) -> dict[str, Any]:
        """The architecture as JSON-able data: {"type": class name, "config": {...}}."""
        return {"type": type(self).__name__, "config": self.get_config()}

    # ----- calling and printing -------------------------------------------------------------------
    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} has no forward()")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        mode = MODE.state
        scope = mode.scope  # ops created inside forward record this module as their layer
        scope.append(self)
        if mode.tracer is not None:  # a compiled step's plan depends on train()/eval()
            mode.tracer.on_module_call(self)
        try:
            return self.forward(*args, **kwargs)
        finally:
            scope.pop()

    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        lines = []
        for name, child in self._modules.items():
            child_repr = repr(child).replace("\n", "\n  ")
            n = child.num_parameters()
            count = f"  # {n:,} params" if n and not child._modules else ""
            lines.append(f"  ({name}): {child_repr}{count}")
        head = f"{type(self).__name__}({self.extra_repr()}"
        if not lines:
            return head + ")"
        total = f"  # {self.num_parameters():,} parameters" if self.serializable else ""
        return head + "\n" + "\n".join(lines) + "\n)" + total


#: where a state_dict key is loaded: (owning module, attribute name, is it a parameter)
_Target = tuple[Module, str, bool]


def _load_targets(root: Module) -> dict[str, _Target]:
    """Every parameter and buffer under ``root`` by its state_dict key, in state_dict order."""
    targets: dict[str, _Target] = {}
    for path, module in root.named_modules():
        for name, p in module._parameters.items():
            if p is not None:
                targets[f"{path}.{name}" if path else name] = (module, name, True)
        for name, b in module._buffers.items():
            if b is not None:
                targets[f"{path}.{name}" if path else name] = (module, name, False)
    return targets


def _key_problems(missing: list[str], unexpected: list[str]) -> list[str]:
    """The strict check: a key the model has but the checkpoint lacks, or the reverse."""
    problems = []
    if missing:
        problems.append(f"missing key(s): {', '.join(missing)}")
    if unexpected:
        problems.append(f"unexpected key(s): {', '.join(unexpected)}")
    return problems


def _current_value(target: _Target) -> Array:
    module, name, is_param = target
    current = module._parameters[name].data if is_param else module._buffers[name]  # type: ignore[union-attr]
    assert current is not None
    return current


def _arrays_of_matching_shape(
    targets: dict[str, _Target], state_dict: Any, problems: list[str]
) -> dict[str, Array]:
    """The checkpoint's values for the model's keys as arrays; a value whose shape differs from
    its parameter's or buffer's adds a "size mismatch" line to ``problems``."""
    arrays: dict[str, Array] = {}
    for key, target in targets.items():
        if key not in state_dict:
            continue
        value = state_dict[key]
        value = np.asarray(value.data if isinstance(value, Tensor) else value)
        current = _current_value(target)
        if value.shape != current.shape:
            problems.append(
                f"size mismatch for {key}: the checkpoint has shape {value.shape}, "
                f"the model has shape {current.shape}"
            )
        arrays[key] = value
    return arrays


def _write_loaded(targets: dict[str, _Target], arrays: dict[str, Array]) -> None:
    """Copy each checked array into its parameter or buffer, in place."""
    for key, value in arrays.items():
        module, name, is_param = targets[key]
        if is_param:
            p = module._parameters[name]
            assert p is not None
            p.data[...] = value
            p._bump_version()  # changed in place: a graph that saved p refuses backward
        else:
            buf = module._buffers[name]
            assert buf is not None
            buf[...] = value
