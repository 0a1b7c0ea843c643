"""Hooks on tensors (``x.register_hook(fn)``) and retained gradients of non-leaf tensors
(``y.retain_grad()``), as PyTorch runs them.

When backward has summed a tensor's gradient (all its uses in this pass), it calls the tensor's
hooks in the order they were registered, each with the gradient as a Tensor; a hook that returns
a Tensor or an array replaces the gradient for what follows (the later hooks, the op's rule, a
leaf's ``.grad``). Then a non-leaf that retains its gradient adds it into ``.grad``. Both happen in
``nb.grad`` too. The engine asks :data:`WATCHED` first, so a graph without hooks pays one dict
test per pass; a tensor's entry goes when the tensor does.
"""

from __future__ import annotations

import itertools
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from nabla.autograd import function as _function
from nabla.autograd.accumulation import accumulate_leaf
from nabla.autograd.hooks import note_unreplayable
from nabla.errors import GraphError, ShapeError

if TYPE_CHECKING:
    from typing_extensions import Self

    from nabla.tensor_base import TensorBase


class TensorWatch:
    """What backward does for one tensor beyond its rule: hooks by handle id, and whether a
    non-leaf keeps its gradient in ``.grad``."""

    __slots__ = ("hooks", "name", "retains_grad")

    def __init__(self, name: str) -> None:
        self.hooks: dict[int, Callable[[Any], Any]] = {}
        self.retains_grad = False
        self.name = name


#: id(tensor) -> its TensorWatch, for the tensors with a hook or a retained gradient
WATCHED: dict[int, TensorWatch] = {}

_HANDLE_IDS = itertools.count()


def _watch(t: TensorBase) -> TensorWatch:
    key = id(t)
    entry = WATCHED.get(key)
    if entry is None:
        entry = WATCHED[key] = TensorWatch(f"tensor of shape {t.shape}")
        weakref.finalize(t, WATCHED.pop, key, None)
    return entry


class TensorHookHandle:
    """What ``register_hook`` returns: ``remove()`` takes the hook out (twice is harmless); a
    ``with`` block removes it on exit (PyTorch's ``RemovableHandle``)."""

    def __init__(self, entry: TensorWatch) -> None:
        self.id = next(_HANDLE_IDS)
        self._entry = entry

    def remove(self) -> None:
        self._entry.hooks.pop(self.id, None)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()


def register_hook(t: TensorBase, hook: Callable[[Any], Any]) -> TensorHookHandle:
    """Call ``hook(grad)`` whenever backward has ``t``'s gradient (see the module docstring)."""
    if not t.requires_grad:
        raise GraphError("cannot register a hook on a tensor that doesn't require gradient")
    if not callable(hook):
        raise TypeError(f"register_hook: hook must be callable, got {type(hook).__name__}")
    entry = _watch(t)
    handle = TensorHookHandle(entry)
    entry.hooks[handle.id] = hook
    return handle


def retain_grad(t: TensorBase) -> None:
    """Keep a non-leaf tensor's gradient in ``.grad`` after backward (a leaf's is kept anyway)."""
    if not t.requires_grad:
        raise GraphError("can't retain_grad on Tensor that has requires_grad=False")
    if t._fn is not None:
        _watch(t).retains_grad = True


def retains_grad(t: TensorBase) -> bool:
    """Whether backward keeps this non-leaf tensor's gradient in ``.grad``."""
    entry = WATCHED.get(id(t))
    return entry is not None and entry.retains_grad and t._fn is not None


def run_tensor_hooks(t: TensorBase, g: Any, owned: bool, graph: bool) -> tuple[Any, bool]:
    """``t``'s total gradient ``g`` after its hooks (and kept in ``.grad`` when ``t`` retains
    it); returns it and whether the engine still owns it (not once a hook has seen it)."""
    entry = WATCHED.get(id(t))
    if entry is None:
        return g, owned
    tensor_class = _function._Tensor
    if entry.hooks:
        note_unreplayable("a tensor hook runs in backward (register_hook)")
        owned = False  # a hook may keep the array it was given
        for hook in list(entry.hooks.values()):
            result = hook(g if graph else tensor_class._wrap(g))
            if result is None:
                continue
            if isinstance(result, tensor_class):
                result = result if graph else result.data
            else:
                result = np.asarray(result)
                if graph:
                    result = tensor_class._wrap(result)
            if result.shape != g.shape:
                name = getattr(hook, "__name__", type(hook).__name__)
                raise ShapeError(
                    f"hook {name!r} returned a gradient of shape {result.shape} for a tensor "
                    f"of shape {g.shape}"
                )
            g = result
    if entry.retains_grad and t._fn is not None:
        note_unreplayable("a non-leaf tensor retains its gradient (retain_grad)")
        same = g if g.dtype == t.data.dtype else g.astype(t.data.dtype)
        accumulate_leaf(t, same, False)  # type: ignore[arg-type]
    return g, owned


__all__ = [
    "WATCHED",
    "TensorHookHandle",
    "register_hook",
    "retain_grad",
    "retains_grad",
    "run_tensor_hooks",
]
