"""Turn a :class:`~nabla.compiler.plan.Plan` into one straight-line Python function.

Each value of the plan becomes a local variable (``s12``), each pending gradient another
(``g12``), and every op, backward step and replayed call becomes a line or two calling the
op's own ``forward``/``backward``. The generated function therefore performs exactly the NumPy
calls of the eager step, in the same order, without the interpreter loop, list indexing and
dictionary lookups of a generic replay. Its source is kept on the plan (``plan.source``) so a
user can read what a compiled step does.
"""

from __future__ import annotations

import functools
import re
import time
from typing import TYPE_CHECKING, Any

import numpy as np

from nabla.autograd.accumulation import add_gradients, may_add_in_place
from nabla.autograd.engine import unbroadcast
from nabla.autograd.kernels import Spec, Specialized, kernels_of
from nabla.autograd.mode import MODE
from nabla.ops.namespace import ARRAY_OPS

if TYPE_CHECKING:
    from collections.abc import Callable

    from nabla.compiler.plan import Plan


def _record_time(op: str, phase: str, seconds: float) -> None:
    profiler = MODE.state.profiler
    if profiler is not None:
        profiler.record(op, phase, seconds)


class _Writer:
    def __init__(self, timed: bool = False) -> None:
        #: time each op for nb.profile() (``_t0 = _clock()`` before it, ``_time(...)`` after)
        self.timed = timed
        self.lines: list[str] = []
        #: op index -> its Specialized forward/backward, or None (see Function.specialize)
        self.specials: list[Specialized | None] = []
        self.namespace: dict[str, Any] = {
            "_np": np,
            "_ndarray": np.ndarray,
            "_asarray": np.asarray,
            "_unbroadcast": unbroadcast,
            "_may_add_in_place": may_add_in_place,
            "_add": add_gradients,
            "_AO": ARRAY_OPS,
            "_clock": time.perf_counter,
            "_time": _record_time,
        }

    def const(self, name: str, value: Any) -> str:
        self.namespace[name] = value
        return name

    def emit(self, depth: int, line: str) -> None:
        self.lines.append("    " * depth + line)

    def start_timer(self) -> None:
        if self.timed:
            self.emit(1, "_t0 = _clock()")

    def stop_timer(self, op: str, phase: str) -> None:
        if self.timed:
            self.emit(1, f"_time({op!r}, {phase!r}, _clock() - _t0)")


def generate(plan: Plan, timed: bool = False) -> tuple[Callable[..., tuple[Any, ...]], str]:
    """Return ``replay(arrays, args)`` and its source.

    ``arrays[i]`` is the array of argument ``i`` (None for non-tensor arguments), ``args[i]``
    the argument itself (an argument tensor that requires grad receives ``.grad``). ``replay``
    returns the arrays of ``plan.output_slots`` in that order. ``timed``: report each op's
    forward and backward time to the running ``nb.profile()``.
    """
    w = _Writer(timed)
    w.specials = [_specialized(plan, k) for k in range(len(plan.forward_ops))]
    w.emit(0, "def replay(arrays, args):")
    for i in range(plan.n_args):
        w.emit(1, f"s{i} = arrays[{i}]")
    leaf_of_slot = dict(plan.leaves)
    loaded: set[int] = set()

    def load_leaves(slots: tuple[int, ...]) -> None:
        for s in slots:
            if s in leaf_of_slot and s not in loaded:
                w.emit(1, f"s{s} = {w.const(f'L{s}', leaf_of_slot[s])}.data")
                loaded.add(s)

    for index, (kind, item) in enumerate(plan.program):
        if kind == 0:
            w.start_timer()
            _forward(w, plan, item, load_leaves)
            w.stop_timer(plan.forward_ops[item][0].name, "forward")
        elif kind == 1:
            _backward(w, plan, item, index, load_leaves)
        else:
            method = getattr(item.obj, item.method)
            # the method itself, not its tracing wrapper: a replay is never traced
            if getattr(method, "__replayable__", False):
                method = method.__wrapped__.__get__(item.obj)
            bound = functools.partial(method, *item.args, **item.kwargs)
            call = w.const(f"CALL{index}", bound)
            w.emit(1, f"{call}()")
            loaded.clear()  # a call (optimizer step) may rebind a parameter's array
    load_leaves(tuple(plan.output_slots))
    outputs = "".join(f"s{s}, " for s in plan.output_slots)
    w.emit(1, f"return ({outputs})")
    source = "\n".join(_free_after_last_use(w.lines)) + "\n"
    code = compile(source, f"<nabla compiled step {id(plan):x}>", "exec")
    exec(code, w.namespace)  # noqa: S102 - the source is generated above from the plan
    return w.namespace["replay"], source


def _free_after_last_use(lines: list[str]) -> list[str]:
    """Insert ``del`` after the top-level statement that last reads a value, a gradient or an
    op (which holds saved arrays), as the eager engine frees saved values during backward: the
    memory goes back to the allocator while it is still in cache, for the next arrays."""
    head, statements = lines[0], []
    for line in lines[1:]:
        clause = line.lstrip().startswith(_CONTINUATIONS)  # else/elif: the same statement
        if line.startswith("    ") and not line.startswith("     ") and not clause:
            statements.append([line])  # a top-level statement of the function body
        else:
            statements[-1].append(line)
    last: dict[str, int] = {}
    for i, statement in enumerate(statements):
        for name in _NAME.findall("\n".join(statement)):
            last[name] = i
    returned = set(_NAME.findall(statements[-1][0]))
    frees: dict[int, list[str]] = {}
    for name, i in last.items():
        if name not in returned:
            frees.setdefault(i, []).append(name)
    out = [head]
    for i, statement in enumerate(statements):
        out.extend(statement)
        if i in frees:
            out.append("    del " + ", ".join(sorted(frees[i])))
    return out


_NAME = re.compile(r"\b[sgfov]\d+\b")
_CONTINUATIONS = ("else:", "elif ", "except", "finally:")


def _specialized(plan: Plan, k: int) -> Specialized | None:
    """The op's forward and backward fixed to its traced shapes and dtypes, if it offers them."""
    cls, params, ins, _, _, needs_grad, shapes = plan.forward_ops[k]
    dtypes = tuple(plan.dtype_of[s] for s in ins)
    specialize = kernels_of(cls).specialize
    return specialize(Spec(params, shapes, dtypes, needs_grad)) if specialize else None


def _forward(w: _Writer, plan: Plan, k: int, load_leaves: Any) -> None:
    cls, params, ins, out, requires_grad, needs_grad, _ = plan.forward_ops[k]
    load_leaves(ins)
    fused = plan.fused.get(k)
    special = w.specials[k]
    if special is None and (requires_grad or fused is None):
        w.emit(1, f"f{k} = {w.const(f'C{k}', cls)}.__new__(C{k})")
    if fused is not None:
        z = f"s{ins[0]}"
        w.emit(1, f"{w.const(f'FIP{k}', fused)}({z})")  # the activation written over z
        w.emit(1, f"s{out} = {z}")
        if requires_grad and special is not None:
            w.emit(1, f"v{k} = {z}")  # input and output are one array: what backward keeps
    elif special is not None:
        call_args = ", ".join(f"s{s}" for s in ins)
        forward = w.const(f"SF{k}", special.forward)
        if requires_grad:
            w.emit(1, f"s{out}, v{k} = {forward}({call_args})")
        else:
            w.emit(1, f"s{out} = {forward}({call_args})[0]")
        return
    else:
        call_args = ", ".join(f"s{s}" for s in ins)
        if params:
            call_args += f", **{w.const(f'P{k}', params)}"
        w.emit(1, f"s{out} = f{k}.forward({call_args})")
        w.emit(1, f"if type(s{out}) is not _ndarray:")
        w.emit(2, f"s{out} = _asarray(s{out})")
    if requires_grad and special is None:
        w.emit(1, f"f{k}.needs_grad = {w.const(f'NG{k}', needs_grad)}")


def _backward(w: _Writer, plan: Plan, program: Any, index: int, load_leaves: Any) -> None:
    root, steps = program
    slots, tracked, leaf_slots = _gradient_slots(plan, root, steps)
    for s in sorted(slots | leaf_slots):
        w.emit(1, f"g{s} = None")
        if s in tracked or s in leaf_slots:
            w.emit(1, f"o{s} = False")
    fresh: set[int] = set()  # slots whose one gradient a specialized backward returned
    # slots whose gradient is certainly set here: the seed, and what a specialized backward
    # that certainly ran returned (it returns every needed gradient)
    assigned = {root}
    seed = np.ones(plan.shape_of[root], dtype=plan.dtype_of[root])
    seed.flags.writeable = False  # shared by every call; never owned, so never written
    w.emit(1, f"g{root} = {w.const(f'SEED{index}', seed)}")
    for step in steps:
        if step[0] == 0:
            _leaf_step(w, step, fresh, assigned)
            continue
        k = step[1]
        cls, _, ins, out, _, needs_grad, _ = plan.forward_ops[k]
        special = w.specials[k]
        w.start_timer()
        if special is None:
            load_leaves(ins)
            _general_backward(w, plan, k, tracked, leaf_slots)
            w.stop_timer(cls.name, "backward")
            continue
        # a gradient that one specialized op made fresh and only this op reads may be
        # overwritten: the op's in-place backward then spares a pass into new memory
        in_place = special.backward_in_place is not None and out in fresh
        backward = w.const(f"SB{k}", special.backward_in_place if in_place else special.backward)
        certain = out in assigned
        _specialized_backward(w, backward, k, ins, out, needs_grad, tracked, leaf_slots, certain)
        w.stop_timer(cls.name, "backward")
        fresh.update(s for s, need in zip(ins, needs_grad) if need and s not in tracked)
        if certain:
            assigned.update(s for s, need in zip(ins, needs_grad) if need)


def _gradient_slots(
    plan: Plan, root: int, steps: list[Any]
) -> tuple[set[int], set[int], set[int]]:
    """The slots that receive a gradient, those that may receive several (they keep the
    engine's ownership flag) and the slots of leaves (their gradient goes to a ``.grad``)."""
    incoming: dict[int, int] = {root: 1}
    leaf_slots: set[int] = set()
    for step in steps:
        if step[0] == 0:
            leaf_slots.add(step[1])
            continue
        _, _, ins, out, _, needs_grad, _ = plan.forward_ops[step[1]]
        incoming.setdefault(out, 0)
        for s, need in zip(ins, needs_grad):
            if need:
                incoming[s] = incoming.get(s, 0) + 1
    tracked = {s for s, n in incoming.items() if n > 1}
    return set(incoming), tracked, leaf_slots


def _leaf_step(w: _Writer, step: Any, fresh: set[int], assigned: set[int]) -> None:
    """A leaf's gradient into its ``.grad``, as the engine's ``_accumulate_leaf``: the first
    one is kept when owned (copied when borrowed), later ones are added into it."""
    _, slot, leaf = step
    target = w.const(f"L{slot}", leaf) if leaf is not None else f"args[{slot}]"
    depth = 1
    if slot not in assigned:
        w.emit(1, f"if g{slot} is not None:")
        depth = 2
    owned = f"g{slot}" if slot in fresh else f"g{slot} if o{slot} else _np.array(g{slot})"
    w.emit(depth, f"if {target}._grad is None:")
    w.emit(depth + 1, f"{target}._grad = {owned}")
    w.emit(depth, "else:")
    w.emit(depth + 1, f"{target}._grad += g{slot}")


def _general_backward(
    w: _Writer, plan: Plan, k: int, tracked: set[int], leaf_slots: set[int]
) -> None:
    """The backward the engine runs for the op on arrays (its registered backward kernel, else
    its own ``backward``), then each gradient summed back to its input's shape and dtype and
    routed as the engine routes it."""
    cls, _, ins, out, _, needs_grad, shapes = plan.forward_ops[k]
    arrays = [f"s{s}" for s in ins] + ([f"s{out}"] if cls.needs_output else [])
    w.emit(1, f"if g{out} is not None:")
    kernel = kernels_of(cls).backward
    if kernel is not None:
        call = f"{w.const(f'KB{k}', kernel)}(f{k}, g{out}, {', '.join(arrays)})"
    else:
        call = f"f{k}.backward(g{out}, _AO, {', '.join(arrays)})"
    w.emit(2, f"r = {call}")
    for i, (s, need, shape) in enumerate(zip(ins, needs_grad, shapes)):
        if not need:
            continue
        dt = w.const(f"DT{s}", plan.dtype_of[s])
        w.emit(2, f"t = r[{i}]")
        w.emit(2, "if t is not None:")
        w.emit(3, f"if t.shape != {w.const(f'SH{s}', tuple(shape))}:")
        w.emit(4, f"t = _unbroadcast(t, SH{s})")
        if s not in tracked and s not in leaf_slots:  # only its consumer reads it
            w.emit(3, f"g{s} = t if t.dtype == {dt} else t.astype({dt})")
            continue
        w.emit(3, f"if t.dtype != {dt}:")
        w.emit(4, f"t, fresh = t.astype({dt}), True")
        w.emit(3, "else:")
        w.emit(4, f"fresh = _may_add_in_place(t, g{out})")
        _route(w, 3, s, "fresh", tracked)


def _route(w: _Writer, depth: int, s: int, fresh: str, tracked: set[int]) -> None:
    """Gradient ``t`` into slot ``s``: taken as it is when it is the slot's only one, else
    added to what the slot holds (the engine's ``add_gradients``)."""
    if s not in tracked:
        w.emit(depth, f"g{s}, o{s} = t, {fresh}")
        return
    w.emit(depth, f"if g{s} is None:")
    w.emit(depth + 1, f"g{s}, o{s} = t, {fresh}")
    w.emit(depth, "else:")
    w.emit(depth + 1, f"g{s}, o{s} = _add(g{s}, o{s}, t, {fresh})")


def _specialized_backward(
    w: _Writer,
    backward: str,
    k: int,
    ins: tuple[int, ...],
    out: int,
    needs_grad: tuple[bool, ...],
    tracked: set[int],
    leaf_slots: set[int],
    certain: bool,
) -> None:
    """A specialized op's backward: its gradients are fresh and already of their input's shape
    and dtype, so the engine's checks reduce to the accumulation itself (and to nothing when
    the op's own gradient is ``certain`` to be set)."""
    d = 1
    if not certain:
        w.emit(1, f"if g{out} is not None:")
        d = 2
    w.emit(d, f"r = {backward}(g{out}, v{k})")
    for i, (s, need) in enumerate(zip(ins, needs_grad)):
        if not need:
            continue
        if s not in tracked:
            w.emit(d, f"g{s}, o{s} = r[{i}], True" if s in leaf_slots else f"g{s} = r[{i}]")
            continue
        w.emit(d, f"t = r[{i}]")
        _route(w, d, s, "True", tracked)
