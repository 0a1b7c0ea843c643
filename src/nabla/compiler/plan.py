"""A traced step as a flat plan: replay ops, backward passes and method calls without a graph.

Replaying runs the same NumPy arithmetic as the eager call, in the same order (forward rules,
the engine's visiting order for backward, the same accumulation), so results are bitwise equal.
What it saves is the eager bookkeeping: no Tensor objects, no graph links, no topological sort,
no dictionaries (every value has a precomputed slot), and a dense layer followed by ReLU or
tanh becomes one fused, in-place step.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nabla.autograd.engine import _accumulate_leaf, unbroadcast
from nabla.compiler.tracer import BackwardRecord, CallRecord, Tracer
from nabla.ops.elementwise import Relu, Tanh
from nabla.ops.linalg import Linear
from nabla.ops.namespace import ARRAY_OPS

_IN_PLACE_ACTIVATIONS = {
    Relu: lambda z: np.maximum(z, 0, out=z),
    Tanh: lambda z: np.tanh(z, out=z),
}


class Plan:
    """The replayable form of one traced call.

    Slots: ``0..n_args-1`` hold the arguments, then one slot per recorded op output, then one
    per captured leaf tensor (parameters, constants), refreshed from ``leaf.data`` every call.
    """

    def __init__(self, tracer: Tracer, output_refs: Any, n_args: int) -> None:
        self.n_args = n_args
        leaf_slot: dict[int, int] = {}
        self.leaves: list[tuple[int, Any]] = []
        n_slots = tracer.n_slots

        def slot_of(ref: tuple[str, Any]) -> int:
            nonlocal n_slots
            kind, value = ref
            if kind == "slot":
                return int(value)
            slot = leaf_slot.get(id(value))
            if slot is None:
                slot = leaf_slot[id(value)] = n_slots
                n_slots += 1
                self.leaves.append((slot, value))
            return slot

        self.forward_ops: list[tuple[Any, ...]] = []
        consumers: dict[int, int] = {}
        for op in tracer.ops:
            ins = tuple(slot_of(r) for r in op.inputs)
            for s in ins:
                consumers[s] = consumers.get(s, 0) + 1
            self.forward_ops.append(
                (
                    op.cls,
                    op.params,
                    ins,
                    op.slot,
                    op.requires_grad,
                    op.needs_grad,
                    tuple(op.shapes),
                )
            )
        returned = _slots_in(output_refs)
        # dense layer + activation: activate the layer's fresh output in place (same values)
        fused: dict[int, Any] = {}
        for k in range(1, len(tracer.ops)):
            act = _IN_PLACE_ACTIVATIONS.get(tracer.ops[k].cls)
            prev = tracer.ops[k - 1]
            if (
                act is not None
                and prev.cls is Linear
                and self.forward_ops[k][2][0] == prev.slot
                and consumers.get(prev.slot) == 1
                and prev.slot not in returned
            ):
                fused[k] = act
        self.program: list[tuple[int, Any]] = []  # (0, op index) | (1, backward) | (2, call)
        for kind, item in tracer.events:
            if kind == "op":
                self.program.append((0, item))
            elif kind == "backward":
                self.program.append((1, self._backward_program(item, slot_of)))
            else:
                self.program.append((2, item))
        self.fused = fused
        self.n_slots = n_slots
        self.output_refs = output_refs
        self.leaf_flags = tuple(t.requires_grad for _, t in self.leaves)
        # modules whose forward ran, and their train()/eval() mode then (dropout, BatchNorm)
        self.modules = list({id(m): m for m in tracer.modules}.values())
        self.module_modes = tuple(m.training for m in self.modules)

    def _backward_program(self, record: BackwardRecord, slot_of: Any) -> tuple[int, list[Any]]:
        steps: list[Any] = []
        for kind, item in record.order:
            if kind == "leaf":
                ref_kind, ref = item
                # the tensor whose .grad receives it: an argument (by slot) or a captured leaf
                steps.append((0, slot_of(item), ref if ref_kind == "leaf" else None))
            else:
                steps.append((1, item))
        return slot_of(record.root), steps

    def guards_hold(self) -> bool:
        """Whether the traced conditions still hold (else the step is traced again)."""
        return (
            tuple(t.requires_grad for _, t in self.leaves) == self.leaf_flags
            and tuple(m.training for m in self.modules) == self.module_modes
        )

    def run(self, args: list[Any]) -> list[Any]:
        """Replay with new argument tensors (same shapes and dtypes as when traced)."""
        values: list[Any] = [None] * self.n_slots
        arg_tensors = args
        for i, t in enumerate(args):
            if t is not None:
                values[i] = t.data
        for slot, leaf in self.leaves:
            values[slot] = leaf.data
        fns: list[Any] = [None] * len(self.forward_ops)
        forward_ops, fused = self.forward_ops, self.fused
        for kind, item in self.program:
            if kind == 0:
                cls, params, ins, out_slot, requires_grad, needs_grad, _ = forward_ops[item]
                fn = cls.__new__(cls)
                act = fused.get(item)
                if act is not None:
                    z = values[ins[0]]
                    act(z)  # in place: the dense layer's output becomes the activation's
                    values[out_slot] = z
                else:
                    out = fn.forward(*[values[s] for s in ins], **params)
                    values[out_slot] = out if type(out) is np.ndarray else np.asarray(out)
                if requires_grad:
                    fn.needs_grad = needs_grad
                    fns[item] = fn
            elif kind == 1:
                self._backward(item, values, arg_tensors, fns)
            else:
                call: CallRecord = item
                getattr(call.obj, call.method)(*call.args, **call.kwargs)
        return values

    def _backward(
        self, program: tuple[int, list[Any]], values: list[Any], args: list[Any], fns: list[Any]
    ) -> None:
        root, steps = program
        seed = np.ones(values[root].shape, dtype=values[root].dtype)
        pending: list[Any] = [None] * self.n_slots
        owned = [False] * self.n_slots
        pending[root] = seed
        forward_ops = self.forward_ops
        for step in steps:
            if step[0] == 0:  # a leaf: add into its .grad, as the engine does
                _, slot, leaf = step
                g = pending[slot]
                if g is not None:
                    _accumulate_leaf(leaf if leaf is not None else args[slot], g, owned[slot])
                continue
            k = step[1]
            cls, _, ins, out_slot, _, needs_grad, shapes = forward_ops[k]
            g = pending[out_slot]
            if g is None:
                continue
            arrays = [values[s] for s in ins]
            if cls.needs_output:
                arrays.append(values[out_slot])
            grads = fns[k].backward(g, ARRAY_OPS, *arrays)
            for s, gi, need, shape in zip(ins, grads, needs_grad, shapes):
                if gi is None or not need:
                    continue
                if gi.shape != shape:
                    gi = unbroadcast(gi, shape)
                dtype = values[s].dtype
                fresh = gi is not g and gi.base is None and gi.flags.writeable
                if gi.dtype != dtype:
                    gi, fresh = gi.astype(dtype), True
                current = pending[s]
                if current is None:  # the engine's _accumulate, with slots for keys
                    pending[s], owned[s] = gi, fresh
                elif owned[s]:
                    current += gi
                elif fresh:
                    gi += current
                    pending[s], owned[s] = gi, True
                else:
                    pending[s], owned[s] = current + gi, True


def _slots_in(refs: Any) -> set[int]:
    if not isinstance(refs, tuple) or not refs:
        return set()
    if refs[0] == "slot":
        return {refs[1]}
    if refs[0] == "seq":
        out: set[int] = set()
        for r in refs[2]:
            out |= _slots_in(r)
        return out
    if refs[0] == "dict":
        out = set()
        for r in refs[1].values():
            out |= _slots_in(r)
        return out
    return set()
