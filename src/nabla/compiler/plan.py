"""A traced step as a flat plan: replay ops, backward passes and method calls without a graph.

Replaying runs the same NumPy arithmetic as the eager call, in the same order (forward rules,
the engine's visiting order for backward, the same accumulation), so results are bitwise equal.
What it saves is the eager bookkeeping: no Tensor objects, no graph links, no topological sort,
no dictionaries (every value has a precomputed slot, a local variable of the generated replay
function, see :mod:`nabla.compiler.codegen`), and an op with an in-place kernel that follows an
op with a fresh output (a dense layer and its activation) becomes one fused, in-place step.
"""

from __future__ import annotations

from typing import Any

from nabla.autograd.kernels import kernels_of
from nabla.compiler.codegen import generate
from nabla.compiler.tracer import BackwardRecord, Tracer


class Plan:
    """The replayable form of one traced call.

    Slots: ``0..n_args-1`` hold the arguments, then one slot per recorded op output, then one
    per captured leaf tensor (parameters, constants), refreshed from ``leaf.data`` every call.
    """

    def __init__(self, tracer: Tracer, output_refs: Any, arg_tensors: list[Any]) -> None:
        self.n_args = len(arg_tensors)
        self.shape_of: dict[int, tuple[int, ...]] = {}
        self.dtype_of: dict[int, Any] = {}
        for i, t in enumerate(arg_tensors):
            if t is not None:
                self.shape_of[i], self.dtype_of[i] = t.shape, t.dtype
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
                self.shape_of[slot], self.dtype_of[slot] = value.shape, value.dtype
            return slot

        self.forward_ops: list[tuple[Any, ...]] = []
        consumers: dict[int, int] = {}
        for op in tracer.ops:
            ins = tuple(slot_of(r) for r in op.inputs)
            for s, shape, dtype in zip(ins, op.shapes, op.dtypes):
                consumers[s] = consumers.get(s, 0) + 1
                self.shape_of[s], self.dtype_of[s] = shape, dtype
            self.shape_of[op.slot], self.dtype_of[op.slot] = op.out_shape, op.out_dtype
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
        # an op with an in-place forward kernel right after an op whose output is fresh (a
        # dense layer and its activation): write the activation over that output (same values)
        fused: dict[int, Any] = {}
        for k in range(1, len(tracer.ops)):
            in_place = kernels_of(tracer.ops[k].cls).forward_in_place
            prev = tracer.ops[k - 1]
            if (
                in_place is not None
                and kernels_of(prev.cls).fresh_output
                and self.forward_ops[k][2][0] == prev.slot
                and consumers.get(prev.slot) == 1
                and prev.slot not in returned
            ):
                fused[k] = in_place
        self.program: list[tuple[int, Any]] = []  # (0, op index) | (1, backward) | (2, call)
        for kind, item in tracer.events:
            if kind == "op":
                self.program.append((0, item))
            elif kind == "backward":
                self.program.append((1, self._backward_program(item, slot_of)))
            else:
                self.program.append((2, item))
        self.fused = fused
        self.output_refs = output_refs
        self.output_slots = sorted(returned)
        # modules whose forward ran, and their train()/eval() mode then (dropout, BatchNorm)
        self.modules = list({id(m): m for m in tracer.modules}.values())
        self.guards = [
            (leaf, leaf.requires_grad, leaf.data.dtype, leaf.data.shape) for _, leaf in self.leaves
        ]
        self.module_modes = [(m, m.training) for m in self.modules]
        self.replay, self.source = generate(self)
        self._timed_replay: Any = None

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
        """Whether the traced conditions still hold (else the step is traced again): leaves keep
        their requires_grad, dtype and shape, and modules their train()/eval() mode."""
        for leaf, requires_grad, dtype, shape in self.guards:
            data = leaf.data
            if leaf.requires_grad != requires_grad or data.shape != shape:
                return False
            if data.dtype is not dtype and data.dtype != dtype:  # `is`: the usual, fast answer
                return False
        for module, mode in self.module_modes:  # noqa: SIM110 - no generator frame per call
            if module.training != mode:
                return False
        return True

    def run(self, arrays: list[Any], args: tuple[Any, ...]) -> dict[int, Any]:
        """Replay with new argument arrays (same shapes and dtypes as when traced); returns the
        arrays of the output slots."""
        return dict(zip(self.output_slots, self.replay(arrays, args)))

    def timed_replay(self) -> Any:
        """The replay with each op's forward and backward timed for ``nb.profile()`` (made on
        first use): the same NumPy calls, with a clock read around each op."""
        if self._timed_replay is None:
            self._timed_replay, _ = generate(self, timed=True)
        return self._timed_replay


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
