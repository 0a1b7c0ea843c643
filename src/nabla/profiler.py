"""``nb.profile()``: time per op type (forward and backward) for a user's own step.

While the block runs, ``Function.apply``, every primitive's ``backward`` and the backward
kernels of the kernel registry are wrapped with a timer (and restored afterwards), so profiling
costs nothing when it is off. Steps compiled with ``nb.compile`` run a timed version of their
replay (the same NumPy calls with a clock read around each op), so their ops are reported too.

>>> import nabla as nb
>>> x = nb.randn(64, 32, requires_grad=True)
>>> with nb.profile(quiet=True) as prof:
...     nb.tanh(x @ x.T).sum().backward()
>>> sorted({op for op, phase in prof.stats})
['matmul', 'permute', 'sum', 'tanh']
"""

from __future__ import annotations

import dataclasses
import sys
import time
from collections import defaultdict
from typing import TYPE_CHECKING, Any

from nabla.autograd.function import Function
from nabla.autograd.kernels import KERNELS
from nabla.autograd.mode import MODE

if TYPE_CHECKING:
    from typing_extensions import Self


def _all_functions() -> list[type[Function]]:
    seen: list[type[Function]] = []
    stack = list(Function.__subclasses__())
    while stack:
        cls = stack.pop()
        if cls not in seen:
            seen.append(cls)
            stack.extend(cls.__subclasses__())
    return seen


class profile:
    """Collect calls and seconds per (op, phase); print a table on exit unless ``quiet``.

    Attributes
    ----------
    stats : dict
        ``{(op name, "forward" | "backward"): [calls, seconds]}``.
    wall : float
        Seconds the block took in total (the rest is Python around the ops, optimizers...).
    """

    _active = False

    def __init__(self, quiet: bool = False, file: Any = None) -> None:
        self.quiet, self.file = quiet, file
        self.stats: dict[tuple[str, str], list[float]] = defaultdict(lambda: [0, 0.0])
        self.wall = 0.0
        self._patched: list[tuple[type, str, Any]] = []
        self._kernels: list[tuple[type, Any]] = []

    def __enter__(self) -> Self:
        if profile._active:
            raise RuntimeError("nb.profile() blocks cannot be nested")
        profile._active = True
        stats = self.stats
        original_apply = Function.__dict__["apply"]

        def timed_apply(cls: type[Function], *inputs: Any, **params: Any) -> Any:
            start = time.perf_counter()
            try:
                return original_apply.__func__(cls, *inputs, **params)
            finally:
                entry = stats[(cls.name, "forward")]
                entry[0] += 1
                entry[1] += time.perf_counter() - start

        Function.apply = classmethod(timed_apply)  # type: ignore[assignment,method-assign]
        self._patched.append((Function, "apply", original_apply))
        for cls in _all_functions():
            original = cls.__dict__.get("backward")
            if original is not None:
                cls.backward = self._timed(original, cls.name, "backward")  # type: ignore[method-assign]
                self._patched.append((cls, "backward", original))
        for op, kernels in list(KERNELS.items()):
            # a backward kernel (in place or not) is the op's backward: timed as backward
            timed = {
                field: self._timed(kernel, op.name, "backward")
                for field in ("backward", "backward_into")
                if (kernel := getattr(kernels, field)) is not None
            }
            KERNELS[op] = dataclasses.replace(kernels, **timed)
            self._kernels.append((op, kernels))
        MODE.state.profiler = self  # compiled steps replay with their timed plans
        self._start = time.perf_counter()
        return self

    def _timed(self, method: Any, name: str, phase: str) -> Any:
        record = self.record

        def timed(*args: Any) -> Any:
            start = time.perf_counter()
            try:
                return method(*args)
            finally:
                record(name, phase, time.perf_counter() - start)

        return timed

    def record(self, op: str, phase: str, seconds: float) -> None:
        """Count one call of ``op``'s ``phase`` that took ``seconds`` (compiled steps report
        their ops through this)."""
        entry = self.stats[(op, phase)]
        entry[0] += 1
        entry[1] += seconds

    def __exit__(self, *exc: object) -> None:
        self.wall = time.perf_counter() - self._start
        MODE.state.profiler = None
        for cls, name, original in reversed(self._patched):
            setattr(cls, name, original)
        self._patched.clear()
        for op, kernels in reversed(self._kernels):
            KERNELS[op] = kernels
        self._kernels.clear()
        profile._active = False
        if not self.quiet:
            print(self.table(), file=self.file or sys.stderr)

    def table(self) -> str:
        """Ops sorted by total time, with calls, total and mean time and share of the block."""
        rows = sorted(self.stats.items(), key=lambda kv: -kv[1][1])
        total_ops = sum(v[1] for v in self.stats.values())
        lines = [
            f"{'op':<34} {'phase':<9} {'calls':>7} {'total ms':>10} {'mean µs':>9} {'share':>6}"
        ]
        for (op, phase), (calls, seconds) in rows:
            share = seconds / self.wall if self.wall else 0.0
            lines.append(
                f"{op:<34} {phase:<9} {int(calls):>7} {seconds * 1e3:>10.3f} "
                f"{seconds / max(calls, 1) * 1e6:>9.1f} {share:>6.1%}"
            )
        other = max(self.wall - total_ops, 0.0)
        lines.append(
            f"{'(outside ops: Python, optimizer…)':<34} {'':<9} {'':>7} {other * 1e3:>10.3f} "
            f"{'':>9} {other / self.wall if self.wall else 0:>6.1%}"
        )
        lines.append(f"{'total':<34} {'':<9} {'':>7} {self.wall * 1e3:>10.3f}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return self.table()
