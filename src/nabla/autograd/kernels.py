"""The kernel registry: fast versions of an op's rules, kept beside the op, looked up by its class.

A primitive is one ``Function`` class: forward, backward and formula. Its fast kernels — the
same arithmetic written into a buffer the engine owns, fixed to one signature of shapes and
dtypes for ``nb.compile``, or applied in place to a fresh array — are registered here, keyed by
the op's class, by :mod:`nabla.ops.kernels`. The backward engine and the compiler look them up;
nothing else knows they exist. Every kernel promises the bitwise result of its op's plain rule
(``tests/ops/test_kernels.py`` holds each to it on every input kind of the conformance matrix).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from nabla.autograd.function import Function


class Spec(NamedTuple):
    """One call signature of an op: what a ``specialize`` kernel may rely on."""

    params: dict[str, Any]
    shapes: tuple[tuple[int, ...], ...]
    dtypes: tuple[Any, ...]
    needs_grad: tuple[bool, ...]


class Specialized(NamedTuple):
    """An op's forward and backward fixed to one :class:`Spec`.

    ``forward(*arrays) -> (output, saved)`` and ``backward(g, saved) -> grads`` compute exactly
    what the op's ``forward`` and ``backward`` compute for arrays of that signature, and return
    each needed gradient fresh (aliasing neither ``g``, an input nor another gradient) with its
    input's shape and dtype.
    """

    forward: Callable[..., tuple[Any, Any]]
    backward: Callable[[Any, Any], tuple[Any, ...]]
    #: the same as ``backward``, but it may overwrite ``g`` and return it as a gradient (used
    #: when nothing else reads ``g``: no pass into new memory)
    backward_in_place: Callable[[Any, Any], tuple[Any, ...]] | None = None


@dataclass(frozen=True)
class Kernels:
    """The fast kernels of one op (each optional)."""

    #: ``backward(fn, g, *arrays) -> grads``: the op's backward on arrays, in fewer passes
    backward: Callable[..., tuple[Any, ...]] | None = None
    #: the same, allowed to write a gradient into ``g`` (the engine calls it when it owns g)
    backward_into: Callable[..., tuple[Any, ...]] | None = None
    #: ``specialize(spec) -> Specialized | None``: forward and backward for one signature
    specialize: Callable[[Spec], Specialized | None] | None = None
    #: ``forward_in_place(z) -> None``: the op's forward written over ``z``, for a one-input op
    #: applied to a fresh array that nothing else reads (``nb.compile`` fuses it)
    forward_in_place: Callable[[Any], None] | None = None
    #: the op's forward returns a new array only the op holds (a dense layer's product): an
    #: ``forward_in_place`` kernel may overwrite it when the output has no other reader
    fresh_output: bool = False


#: op class → its kernels
KERNELS: dict[type[Function], Kernels] = {}

_NONE = Kernels()


def register_kernels(op: type[Function], **kernels: Any) -> None:
    """Register the fast kernels of ``op`` (keyword arguments: the fields of :class:`Kernels`)."""
    if op in KERNELS:
        raise ValueError(f"kernels of {op.__name__} are already registered")
    KERNELS[op] = Kernels(**kernels)


def kernels_of(op: type[Function]) -> Kernels:
    """The kernels registered for ``op`` (all None when it has none)."""
    return KERNELS.get(op, _NONE)


__all__ = ["KERNELS", "Kernels", "Spec", "Specialized", "kernels_of", "register_kernels"]
