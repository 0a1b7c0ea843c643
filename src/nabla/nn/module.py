"""``Module`` and ``Parameter``: the containers of trainable state (PyTorch's names and rules)."""

from __future__ import annotations

import itertools
from collections import OrderedDict
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from nabla._typing import Array
from nabla.autograd.hooks import replayable
from nabla.autograd.mode import MODE
from nabla.device import check_device, to_arguments
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


class RemovableHandle:
    """What ``register_forward_hook`` and ``register_forward_pre_hook`` return:
    ``remove()`` takes the hook out (twice is harmless); a ``with`` block removes it on exit."""

    _next_id = itertools.count()

    def __init__(self, *stores: dict[int, Any]) -> None:
        self.id = next(RemovableHandle._next_id)
        self._stores = stores

    def remove(self) -> None:
        for store in self._stores:
            store.pop(self.id, None)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()


def _insert(store: dict[int, Any], key: int, value: Any, prepend: bool) -> None:
    """Add ``key`` to ``store``, first when ``prepend`` (the order hooks run in)."""
    store[key] = value
    if prepend:
        items = list(store.items())
        store.clear()
        store.update([items[-1], *items[:-1]])


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
    _non_persistent_buffers_set: set[str]
    _forward_hooks: dict[int, Callable[..., Any]]
    _forward_hooks_with_kwargs: dict[int, bool]
    _forward_hooks_always_called: dict[int, bool]
    _forward_pre_hooks: dict[int, Callable[..., Any]]
    _forward_pre_hooks_with_kwargs: dict[int, bool]
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
        object.__setattr__(self, "_non_persistent_buffers_set", set())
        for store in (
            "_forward_hooks",
            "_forward_hooks_with_kwargs",
            "_forward_hooks_always_called",
            "_forward_pre_hooks",
            "_forward_pre_hooks_with_kwargs",
        ):
            object.__setattr__(self, store, OrderedDict())

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

    def register_buffer(self, name: str, tensor: Any, persistent: bool = True) -> None:
        """Register non-trainable state (BatchNorm's running statistics), stored as an array.

        A persistent buffer is part of :meth:`state_dict` (and of ``nb.save``'s file); a
        non-persistent one (``persistent=False``) only of :meth:`buffers`, as in PyTorch.
        """
        if "_buffers" not in self.__dict__:
            raise AttributeError("cannot assign buffer before Module.__init__() call")
        if not isinstance(name, str):
            raise TypeError(f"buffer name should be a string. Got {type(name).__name__}")
        if "." in name:
            raise KeyError('buffer name can\'t contain "."')
        if name == "":
            raise KeyError('buffer name can\'t be empty string ""')
        if name in self._parameters or name in self._modules or name in type(self).__dict__:
            raise KeyError(f"attribute '{name}' already exists")
        if isinstance(tensor, Tensor):
            tensor = tensor.data
        elif tensor is not None and not isinstance(tensor, (np.ndarray, np.generic, int, float)):
            raise TypeError(
                f"cannot assign '{type(tensor).__name__}' object to buffer '{name}' "
                "(Tensor, array or None required)"
            )
        self.__dict__.pop(name, None)
        self._buffers[name] = None if tensor is None else np.asarray(tensor)
        if persistent:
            self._non_persistent_buffers_set.discard(name)
        else:
            self._non_persistent_buffers_set.add(name)

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        if param is None:
            self._parameters[name] = None
        else:
            setattr(self, name, param)

    def add_module(self, name: str, module: Module) -> None:
        """Register ``module`` as the child ``name`` (PyTorch's checks)."""
        if not isinstance(module, Module):
            raise TypeError(f"{type(module).__name__} is not a Module subclass")
        if not isinstance(name, str):
            raise TypeError(f"module name should be a string. Got {type(name).__name__}")
        if "." in name:
            raise KeyError(f'module name can\'t contain ".", got: {name}')
        if name == "":
            raise KeyError('module name can\'t be empty string ""')
        if name in self.__dict__ or name in self._parameters or name in self._buffers:
            raise KeyError(f"attribute '{name}' already exists")
        self._modules[name] = module

    # ----- traversal --------------------------------------------------------------------------
    def named_modules(
        self, memo: set[Module] | None = None, prefix: str = "", remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Module]]:
        """(dotted name, module) for this module and every descendant, depth first; a module
        reached twice is yielded once unless ``remove_duplicate`` is False."""
        if memo is None:
            memo = set()
        if remove_duplicate:
            if self in memo:
                return
            memo.add(self)
        yield prefix, self
        for name, child in self._modules.items():
            path = f"{prefix}.{name}" if prefix else name
            yield from child.named_modules(memo, path, remove_duplicate)

    def modules(self) -> Iterator[Module]:
        for _, m in self.named_modules():
            yield m

    def apply(self, fn: Callable[[Module], Any]) -> Self:
        """Call ``fn`` on every child (recursively), then on this module; returns self."""
        for child in self.children():
            child.apply(fn)
        fn(self)
        return self

    def get_submodule(self, target: str) -> Module:
        """The descendant at dotted path ``target`` ("" is this module)."""
        module: Module = self
        for item in target.split(".") if target else []:
            child = module._modules.get(item)
            if child is None:
                raise AttributeError(f"{type(module).__name__} has no attribute `{item}`")
            module = child
        return module

    def named_children(self) -> Iterator[tuple[str, Module]]:
        yield from self._modules.items()

    def children(self) -> Iterator[Module]:
        yield from self._modules.values()

    def named_parameters(
        self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Parameter]]:
        seen: set[int] = set()
        modules = (
            self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate)
            if recurse
            else iter([(prefix, self)])
        )
        for path, module in modules:
            for name, p in module._parameters.items():
                if p is None or (remove_duplicate and id(p) in seen):
                    continue
                seen.add(id(p))
                yield (f"{path}.{name}" if path else name), p

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(
        self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Array]]:
        seen: set[int] = set()
        modules = (
            self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate)
            if recurse
            else iter([(prefix, self)])
        )
        for path, module in modules:
            for name, b in module._buffers.items():
                if b is None or (remove_duplicate and id(b) in seen):
                    continue
                seen.add(id(b))
                yield (f"{path}.{name}" if path else name), b

    def buffers(self, recurse: bool = True) -> Iterator[Array]:
        for _, b in self.named_buffers(recurse=recurse):
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

    def to(self, *args: Any, **kwargs: Any) -> Self:
        """Convert every floating parameter and buffer to a dtype, in place; returns self.

        PyTorch's forms: ``to(dtype)``, ``to(device)``, ``to(device, dtype)``, ``to(tensor)``
        (its dtype), with ``non_blocking=`` ignored. The device is the CPU (``"cpu"``,
        ``nb.device("cpu")``); any other raises :class:`~nabla.device.DeviceError`.
        """
        dtype, _, _ = to_arguments(args, kwargs, Tensor, ("non_blocking",))
        if dtype is None:
            return self
        if dtype.kind not in "fc":
            raise TypeError(
                "nn.Module.to only accepts floating point or complex dtypes, but got desired "
                f"dtype={dtype}"
            )
        for m in self.modules():
            for p in m._parameters.values():
                if p is not None and p.data.dtype.kind == "f":
                    p.data = p.data.astype(dtype)
                    p.grad = None
            for name, b in m._buffers.items():
                if b is not None and b.dtype.kind == "f":
                    m._buffers[name] = b.astype(dtype)
        return self

    def cpu(self) -> Self:
        """The module itself: its values are on the CPU already."""
        return self

    def cuda(self, device: Any = None) -> Self:
        """Refused: nabla runs on the CPU only (:class:`~nabla.device.DeviceError`)."""
        check_device("cuda" if device is None else device)
        return self

    def float(self) -> Self:
        return self.to(np.float32)

    def double(self) -> Self:
        return self.to(np.float64)

    def half(self) -> Self:
        """Floating parameters and buffers to float16, in place; returns self."""
        return self.to(np.float16)

    def type(self, dst_type: Any) -> Self:
        """Every parameter and buffer cast to ``dst_type`` (a dtype or a tensor type name such
        as ``"torch.DoubleTensor"``), integer buffers too, in place (PyTorch's ``Module.type``);
        a parameter cannot become an integer (it must stay differentiable)."""
        dtype = Tensor([]).type(dst_type).dtype  # Tensor.type reads a dtype or a name
        if dtype.kind not in "fc" and any(True for _ in self.parameters()):
            raise TypeError(
                f"Module.type: parameters must stay floating point, got dst_type={dst_type!r}"
            )
        for m in self.modules():
            for p in m._parameters.values():
                if p is not None and p.data.dtype != dtype:
                    p.data, p.grad = p.data.astype(dtype), None
            for name, b in m._buffers.items():
                if b is not None:
                    m._buffers[name] = b.astype(dtype)
        return self

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
                if b is not None and name not in module._non_persistent_buffers_set:
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

    # ----- hooks (PyTorch's rules) ----------------------------------------------------------------
    def register_forward_pre_hook(
        self, hook: Callable[..., Any], *, prepend: bool = False, with_kwargs: bool = False
    ) -> RemovableHandle:
        """Call ``hook(module, args)`` before each forward (``hook(module, args, kwargs)`` with
        ``with_kwargs``). A value it returns replaces the input: a tuple of positional
        arguments (any other value is wrapped in one), or with ``with_kwargs`` an
        ``(args, kwargs)`` pair. Returns a handle whose ``remove()`` takes the hook out."""
        handle = RemovableHandle(self._forward_pre_hooks, self._forward_pre_hooks_with_kwargs)
        _insert(self._forward_pre_hooks, handle.id, hook, prepend)
        if with_kwargs:
            self._forward_pre_hooks_with_kwargs[handle.id] = True
        return handle

    def register_forward_hook(
        self,
        hook: Callable[..., Any],
        *,
        prepend: bool = False,
        with_kwargs: bool = False,
        always_call: bool = False,
    ) -> RemovableHandle:
        """Call ``hook(module, args, output)`` after each forward (``hook(module, args, kwargs,
        output)`` with ``with_kwargs``); a value it returns replaces the output. With
        ``always_call`` it also runs when forward raises. Returns a removable handle."""
        handle = RemovableHandle(
            self._forward_hooks, self._forward_hooks_with_kwargs, self._forward_hooks_always_called
        )
        _insert(self._forward_hooks, handle.id, hook, prepend)
        if with_kwargs:
            self._forward_hooks_with_kwargs[handle.id] = True
        if always_call:
            self._forward_hooks_always_called[handle.id] = True
        return handle

    def _run_pre_hooks(
        self, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> tuple[tuple[Any, ...], dict[str, Any]]:
        for key, hook in list(self._forward_pre_hooks.items()):
            if key in self._forward_pre_hooks_with_kwargs:
                result = hook(self, args, kwargs)
                if result is not None:
                    if not (isinstance(result, tuple) and len(result) == 2):
                        raise RuntimeError(
                            "forward pre-hook must return None or a tuple of (new_args, "
                            f"new_kwargs), but got {result}."
                        )
                    args, kwargs = result
            else:
                result = hook(self, args)
                if result is not None:
                    args = result if isinstance(result, tuple) else (result,)
        return args, kwargs

    def _run_hooks(
        self, args: tuple[Any, ...], kwargs: dict[str, Any], output: Any, failed: bool
    ) -> Any:
        for key, hook in list(self._forward_hooks.items()):
            if failed and key not in self._forward_hooks_always_called:
                continue
            if key in self._forward_hooks_with_kwargs:
                result = hook(self, args, kwargs, output)
            else:
                result = hook(self, args, output)
            if result is not None:
                output = result
        return output

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        mode = MODE.state
        scope = mode.scope  # ops created inside forward record this module as their layer
        scope.append(self)
        if mode.tracer is not None:  # a compiled step's plan depends on train()/eval()
            mode.tracer.on_module_call(self)
        hooked = bool(
            self.__dict__.get("_forward_hooks") or self.__dict__.get("_forward_pre_hooks")
        )
        try:
            if not hooked:
                return self.forward(*args, **kwargs)
            args, kwargs = self._run_pre_hooks(args, kwargs)
            try:
                output = self.forward(*args, **kwargs)
            except Exception:
                self._run_hooks(args, kwargs, None, failed=True)
                raise
            return self._run_hooks(args, kwargs, output, failed=False)
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
            if b is not None and name not in module._non_persistent_buffers_set:
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
