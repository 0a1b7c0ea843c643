"""``nb.compile``: trace a step once, replay it as a flat plan while its shapes stay the same.

>>> import numpy as np, nabla as nb
>>> model = nb.nn.Linear(3, 2)
>>> opt = nb.optim.SGD(model.parameters(), lr=0.1)
>>> @nb.compile
... def step(x, y):
...     loss = nb.nn.functional.cross_entropy(model(x), y)
...     opt.zero_grad()
...     loss.backward()
...     opt.step()
...     return loss
>>> loss = step(np.ones((4, 3), np.float32), np.array([0, 1, 0, 1]))  # traced (runs eagerly)
>>> loss = step(np.ones((4, 3), np.float32), np.array([1, 1, 0, 1]))  # replayed
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from nabla.autograd.hooks import note_unreplayable, replayable
from nabla.autograd.mode import MODE
from nabla.compiler.plan import Plan
from nabla.compiler.tracer import Tracer
from nabla.tensor import Tensor, _wrap

if TYPE_CHECKING:
    from nabla._typing import Array

__all__ = ["CompiledFunction", "compile", "note_unreplayable", "replayable"]


class CompiledFunction:
    """A step function traced once per argument signature and replayed afterwards.

    Arguments that are arrays or tensors may change value between calls (new batches); their
    shapes and dtypes select the plan (a new signature is traced again, eagerly). Everything
    else in the step is fixed by the trace: Python numbers are constants, Python control flow
    is taken as it went when traced, and side effects other than tensor operations,
    ``backward`` and optimizer/scheduler/``zero_grad`` calls happen only while tracing. Steps
    that cannot be replayed faithfully (``.item()`` inside the step, random tensors created
    outside an op, ``nb.grad``, indexing with data-dependent arrays) run eagerly every time.
    Returned tensors are detached from any graph.
    """

    def __init__(self, fn: Callable[..., Any], max_plans: int = 8) -> None:
        self.fn = fn
        self.max_plans = max_plans
        self.plans: dict[Any, Plan | None] = {}
        self.eager_reasons: dict[Any, str] = {}
        functools.update_wrapper(self, fn)

    def _signature(self, values: tuple[Any, ...], kwarg_names: tuple[str, ...]) -> Any:
        """The plan key of these argument values, and their arrays (None for non-tensors);
        None for the key when an argument cannot be hashed."""
        parts: list[tuple[Any, ...]] = []
        arrays: list[Array | None] = []
        for a in values:
            if isinstance(a, Tensor):
                data = a.data
                parts.append(("t", data.shape, data.dtype, a.requires_grad))
                arrays.append(data)
            elif isinstance(a, np.ndarray):
                parts.append(("a", a.shape, a.dtype))
                arrays.append(a)
            else:
                try:
                    hash(a)
                except TypeError:
                    return None, arrays
                parts.append(("v", a))
                arrays.append(None)
        return (tuple(parts), kwarg_names, MODE.state.grad_enabled), arrays

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        values = (*args, *kwargs.values()) if kwargs else args
        signature, arrays = self._signature(values, tuple(kwargs))
        if signature is None or MODE.state.tracer is not None or MODE.state.anomaly:
            return self.fn(*args, **kwargs)
        plan = self.plans.get(signature, False)
        if plan is None:  # known not to be replayable
            return self.fn(*args, **kwargs)
        if plan is not False and plan.guards_hold():  # type: ignore[union-attr]
            refs = plan.output_refs  # type: ignore[union-attr]
            # under nb.profile(), the same replay with a clock read around each op
            replay = plan.replay if MODE.state.profiler is None else plan.timed_replay()  # type: ignore[union-attr]
            outputs = replay(arrays, values)
            if refs[0] == "slot":  # one returned tensor (a loss): no mapping to build
                return _wrap(outputs[0])
            return _rebuild(refs, dict(zip(plan.output_slots, outputs)))  # type: ignore[union-attr]
        if len(self.plans) >= self.max_plans:
            return self.fn(*args, **kwargs)
        tensors = [_as_tensor(a) for a in values]
        return self._trace(signature, args, kwargs, tensors)

    def _trace(
        self, signature: Any, args: tuple[Any, ...], kwargs: dict[str, Any], tensors: list[Any]
    ) -> Any:
        tracer = Tracer(n_slots=len(tensors))
        for i, t in enumerate(tensors):
            if t is not None:
                tracer.slot_of[id(t)] = i
        n_args = len(args)
        call_args = [t if t is not None else a for t, a in zip(tensors[:n_args], args)]
        call_kwargs = {
            k: (t if t is not None else v) for (k, v), t in zip(kwargs.items(), tensors[n_args:])
        }
        MODE.state.tracer = tracer
        try:
            result = self.fn(*call_args, **call_kwargs)
        finally:
            MODE.state.tracer = None
        tracer.check_watched()
        refs = _output_refs(result, tracer)
        if refs is None:
            tracer.mark_unsafe("the step returns values other than tensors (e.g. .item())")
        elif _returns_made_leaf(refs):
            tracer.mark_unsafe(
                "the step returns a tensor made outside recorded ops (detach(), nb.tensor(…)): "
                "a replay would return its first values"
            )
        if tracer.unsafe is not None:
            self.plans[signature] = None
            self.eager_reasons[signature] = tracer.unsafe
        else:
            try:
                self.plans[signature] = Plan(tracer, refs, tensors)
            except Exception as exc:  # noqa: BLE001 - this call already ran eagerly: stay eager
                self.plans[signature] = None
                self.eager_reasons[signature] = (
                    f"the replay plan could not be built ({type(exc).__name__}: {exc})"
                )
        return result


def _as_tensor(a: Any) -> Tensor | None:
    if isinstance(a, Tensor):
        return a
    if isinstance(a, np.ndarray):
        return _wrap(a)
    return None


def _output_refs(result: Any, tracer: Tracer) -> Any:
    if result is None:
        return ("none", None)
    if isinstance(result, Tensor):
        slot = tracer.slot_of.get(id(result))
        return ("slot", slot) if slot is not None else ("leaf", result)
    if isinstance(result, (tuple, list)):
        refs = [_output_refs(r, tracer) for r in result]
        return None if any(r is None for r in refs) else ("seq", type(result), refs)
    if isinstance(result, dict):
        refs_d = {k: _output_refs(v, tracer) for k, v in result.items()}
        return None if any(r is None for r in refs_d.values()) else ("dict", refs_d)
    return None


def _returns_made_leaf(refs: Any) -> bool:
    """Whether an output is a leaf that no replay recomputes and that is not a parameter (a
    parameter requires grad, and its array is updated in place)."""
    kind = refs[0]
    if kind == "leaf":
        return not refs[1].requires_grad
    if kind == "seq":
        return any(_returns_made_leaf(r) for r in refs[2])
    if kind == "dict":
        return any(_returns_made_leaf(r) for r in refs[1].values())
    return False


def _rebuild(refs: Any, values: dict[int, Any]) -> Any:
    kind = refs[0]
    if kind == "none":
        return None
    if kind == "slot":
        return _wrap(values[refs[1]])
    if kind == "leaf":
        return refs[1]
    if kind == "seq":
        return refs[1](_rebuild(r, values) for r in refs[2])
    return {k: _rebuild(r, values) for k, r in refs[1].items()}


def compile(fn: Callable[..., Any] | None = None, *, max_plans: int = 8) -> Any:
    """Trace ``fn`` on its first call and replay it as a flat plan on later calls.

    Parameters
    ----------
    fn : callable
        A training or inference step taking tensors/arrays (and constants) and returning a
        tensor, a tuple/list/dict of tensors, or None.
    max_plans : int
        How many argument signatures (shapes, dtypes, constants) to keep plans for; beyond
        that, calls run eagerly.

    Returns
    -------
    CompiledFunction
        Call it like ``fn``; results equal the eager ones exactly.
    """
    if fn is None:
        return functools.partial(compile, max_plans=max_plans)
    return CompiledFunction(fn, max_plans=max_plans)
