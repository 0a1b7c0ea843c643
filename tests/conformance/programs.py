"""Random programs over nabla's ops: the data structure, the leaves' memory layouts, and the
builder that draws operands inside each op's domain.

A :class:`Program` is a list of steps. A :class:`Leaf` is a differentiable input (float64
master values, given to nabla in one of several memory layouts); a :class:`Node` applies one op
of the table in ``optable`` to earlier values. Values are numbered in the order they appear;
several ops may read one value, so programs are DAGs. The builder evaluates every node in
float64 with PyTorch while drawing, so each op is drawn only where its inputs lie in its domain
and away from its kinks (or exactly on a kink where both libraries define the derivative).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

#: how close to a kink or a domain edge a value may come (unless it sits exactly on the kink)
MARGIN = 1e-3
#: memory layouts of the leaves given to nabla (PyTorch always gets a contiguous copy)
LAYOUTS = ("c", "f", "negative", "strided", "readonly", "broadcast")


@dataclass
class Leaf:
    """A differentiable input: ``master`` float64 values; ``small`` is the array that a
    ``broadcast`` layout expands (the master is its materialized copy)."""

    out: int
    master: np.ndarray
    layout: str = "c"
    small: np.ndarray | None = None

    def array(self, dtype: Any) -> np.ndarray:
        """The values in ``dtype`` and in this leaf's memory layout (a view where it says so)."""
        a = self.master.astype(dtype)
        if self.layout == "f":
            return np.array(a, order="F")  # (np.asfortranarray makes a 0-d array 1-d)
        if self.layout == "negative" and a.ndim:
            return np.flip(np.flip(a).copy())  # same values, every stride negative
        if self.layout == "strided" and a.ndim:
            big = np.zeros(tuple(2 * n for n in a.shape), dtype=dtype)
            big[tuple(slice(None, None, 2) for _ in a.shape)] = a
            return big[tuple(slice(None, None, 2) for _ in a.shape)]
        if self.layout == "readonly":
            a.flags.writeable = False
            return a
        if self.layout == "broadcast" and self.small is not None:
            return np.broadcast_to(self.small.astype(dtype), a.shape)
        return a


@dataclass
class Node:
    """``outs = op(*args, **params)``: value numbers in and out, constants and spelling in
    ``params`` (``style`` picks one of the op's nabla spellings)."""

    op: str
    args: tuple[int, ...]
    params: dict[str, Any]
    outs: tuple[int, ...]


@dataclass
class Program:
    """Steps, the values that feed the loss Σ ⟨uᵢ, outᵢ⟩, and the direction of the
    Hessian-vector product (one array per leaf)."""

    steps: list[Leaf | Node]
    n_values: int
    outputs: list[int] = field(default_factory=list)
    weights: list[np.ndarray] = field(default_factory=list)
    directions: list[np.ndarray] = field(default_factory=list)
    seed: int | None = None
    #: the watched defects (see :class:`Defect`) that some node of the program matches
    hits: set[str] = field(default_factory=set)

    @property
    def leaves(self) -> list[Leaf]:
        return [s for s in self.steps if isinstance(s, Leaf)]

    @property
    def nodes(self) -> list[Node]:
        return [s for s in self.steps if isinstance(s, Node)]

    def describe(self) -> str:
        """The program as pseudo-code, one line per step (the reproducer in failure reports)."""
        lines = [f"# seed={self.seed}"]
        for s in self.steps:
            if isinstance(s, Leaf):
                values = np.array2string(s.master, precision=17, separator=", ")
                values = values if s.master.size else f"np.zeros({s.master.shape})"
                lines.append(f"v{s.out} = leaf({values}, layout={s.layout!r})  # {s.master.shape}")
            else:
                params = ", ".join(f"{k}={_short(v)}" for k, v in s.params.items())
                outs = ", ".join(f"v{i}" for i in s.outs)
                args = ", ".join(f"v{i}" for i in s.args)
                lines.append(f"{outs} = {s.op}({args}{', ' if params else ''}{params})")
        lines.append("loss = " + " + ".join(f"<u{k}, v{i}>" for k, i in enumerate(self.outputs)))
        return "\n".join(lines)


def _short(v: Any) -> str:
    if isinstance(v, np.ndarray):
        if v.size == 0:
            return f"np.zeros({v.shape}, {v.dtype})"
        return f"np.array({v.tolist()!r}, {v.dtype})"
    return repr(v)


def away(x: torch.Tensor, point: Any = 0.0, margin: float = MARGIN) -> bool:
    """Every element is exactly ``point`` or further than ``margin`` from it."""
    d = (x - point).abs()
    return bool(((d == 0) | (d > margin)).all())


def inside(x: torch.Tensor, low: float, high: float) -> bool:
    """Every element lies in the open interval (low, high)."""
    return bool(((x > low) & (x < high)).all())


def is_float(v: torch.Tensor) -> bool:
    return v.dtype.is_floating_point


@dataclass
class Defect:
    """A known nabla defect: the nodes it affects, so the fuzzer can avoid them (and a strict
    xfail can force them until the fix lands)."""

    name: str
    reason: str
    matches: Callable[[str, list[torch.Tensor], dict[str, Any]], bool]
    #: the op to draw first when forcing the defect into programs
    op: str | None = None
    #: how often a side of a drawn shape is 0 when forcing it
    zero: float = 0.05
    #: (seed, leaf shapes) of programs known to hit it, for defects that random draws rarely hit
    examples: tuple[tuple[int, tuple[tuple[int, ...], ...]], ...] = ()


class Builder:
    """Draws a program step by step, keeping the float64 PyTorch value of every value.

    Op proposals (``optable``) ask for operands with :meth:`pick`, :meth:`operand` and
    :meth:`leaf`, check their domain on :attr:`vals`, then :meth:`push` the node, which is
    refused when PyTorch rejects it, when it leaves the finite range, or when it matches a
    defect being avoided.
    """

    def __init__(
        self,
        rng: np.random.Generator,
        ops: dict[str, Any],
        avoid: Sequence[Defect] = (),
        zeros: bool = True,
    ) -> None:
        self.rng = rng
        self.ops = ops
        self.avoid = list(avoid)
        self.zeros = zeros
        self.zero_sides = 0.05  # probability of a size-0 side in drawn shapes
        self.steps: list[Leaf | Node] = []
        self.vals: list[torch.Tensor] = []
        self.uses: list[int] = []
        self.hits: set[str] = set()  # defects matched by pushed nodes (see Defect)
        self.watch: Sequence[Defect] = ()

    # ----- random choices ------------------------------------------------------------------
    def choice(self, options: Sequence[Any]) -> Any:
        return options[int(self.rng.integers(len(options)))]

    def chance(self, p: float) -> bool:
        return bool(self.rng.random() < p)

    def shape(self, max_ndim: int = 3, zero: float | None = None) -> tuple[int, ...]:
        """A small random shape; a side is 0 with probability ``zero`` (default: the builder's
        ``zero_sides``)."""
        zero = self.zero_sides if zero is None else zero
        ndim = int(self.rng.integers(0, max_ndim + 1))
        return tuple(0 if self.chance(zero) else int(self.rng.integers(1, 5)) for _ in range(ndim))

    def broadcastable(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        """A shape that broadcasts with ``shape`` (fewer leading axes, size-1 axes, or a size-1
        axis of ``shape`` widened)."""
        lead = int(self.rng.integers(0, len(shape) + 1)) if self.chance(0.4) else 0
        out = []
        for n in shape[lead:]:
            r = self.rng.random()
            out.append(
                1 if r < 0.25 else (int(self.rng.integers(2, 4)) if n == 1 and r > 0.8 else n)
            )
        if self.chance(0.1) and len(out) < 4:
            out.insert(0, int(self.rng.integers(1, 3)))
        try:
            np.broadcast_shapes(shape, tuple(out))
        except ValueError:
            return shape
        return tuple(out)

    # ----- values ----------------------------------------------------------------------------
    def _add_value(self, v: torch.Tensor) -> int:
        self.vals.append(v)
        self.uses.append(0)
        return len(self.vals) - 1

    def leaf(self, shape: tuple[int, ...], low: float = -2.0, high: float = 2.0) -> int:
        """A new leaf of ``shape`` with values uniform in (low, high), in a random layout."""
        rng = self.rng
        layout = self.choice(LAYOUTS) if self.chance(0.5) else "c"
        small = None
        if layout == "broadcast":
            small_shape = tuple(1 if (n > 1 and self.chance(0.6)) else n for n in shape)
            if small_shape == shape:
                layout = "c"
            else:
                small = rng.uniform(low, high, small_shape)
        master = (
            np.array(np.broadcast_to(small, shape))
            if small is not None
            else rng.uniform(low, high, shape)
        )
        if small is None and self.zeros and low < 0 < high and self.chance(0.1) and master.size:
            master[rng.random(shape) < 0.3] = 0.0  # exact zeros: kinks both libraries define
        out = self._add_value(torch.from_numpy(np.array(master)))
        self.steps.append(Leaf(out, master, layout, small))
        return out

    def pick(self, pred: Callable[[torch.Tensor], bool] | None = None) -> int | None:
        """An earlier float value satisfying ``pred``, recent ones more likely (None if none)."""
        cands = [i for i, v in enumerate(self.vals) if is_float(v) and (pred is None or pred(v))]
        if not cands:
            return None
        p = np.arange(1, len(cands) + 1, dtype=float) ** 2
        return int(cands[int(self.rng.choice(len(cands), p=p / p.sum()))])

    def operand(
        self,
        shape: tuple[int, ...],
        pred: Callable[[torch.Tensor], bool] | None = None,
        low: float = -2.0,
        high: float = 2.0,
        reuse: float = 0.5,
    ) -> int:
        """A value of exactly ``shape`` (an earlier one with probability ``reuse``, so values are
        shared by several ops) or a new leaf."""
        if self.chance(reuse):
            i = self.pick(lambda v: tuple(v.shape) == shape and (pred is None or pred(v)))
            if i is not None:
                return i
        return self.leaf(shape, low, high)

    def push(self, op: str, args: Sequence[int], params: dict[str, Any]) -> bool:
        """Append ``op(args, params)`` if PyTorch accepts it and every output is finite and small;
        False (and nothing appended) otherwise."""
        spec = self.ops[op]
        params = {"style": int(self.rng.integers(len(spec.nabla))), **params}
        inputs = [self.vals[i] for i in args]
        if any(d.matches(op, inputs, params) for d in self.avoid):
            return False
        try:
            with torch.no_grad(), warnings.catch_warnings():
                warnings.simplefilter("error")  # e.g. mse_loss's warning on broadcast targets
                result = spec.torch(inputs, {**params, "dtype": np.float64})
        except (RuntimeError, ValueError, IndexError, TypeError, Warning):
            return False  # outside PyTorch's domain: not a program of the shared semantics
        outs = list(result) if isinstance(result, (tuple, list)) else [result]
        for v in outs:
            if v.ndim > 5 or v.numel() > 512:
                return False
            if is_float(v) and v.numel() and not (v.isfinite().all() and v.abs().max() < 1e4):
                return False
        for d in self.watch:
            if d.matches(op, inputs, params):
                self.hits.add(d.name)
        for i in args:
            self.uses[i] += 1
        ids = tuple(self._add_value(v) for v in outs)
        self.steps.append(Node(op, tuple(args), params, ids))
        return True

    def finish(self, seed: int | None = None) -> Program:
        """The program: every unused node output feeds the loss, plus a few reused ones."""
        rng = self.rng
        node_outs = [i for s in self.steps if isinstance(s, Node) for i in s.outs]
        outputs = [
            i
            for i in node_outs
            if is_float(self.vals[i]) and (self.uses[i] == 0 or rng.random() < 0.15)
        ]
        weights = [rng.standard_normal(tuple(self.vals[i].shape)) for i in outputs]
        directions = [
            rng.standard_normal(s.master.shape) for s in self.steps if isinstance(s, Leaf)
        ]
        return Program(self.steps, len(self.vals), outputs, weights, directions, seed, self.hits)


def size_of(shape: Sequence[int]) -> int:
    return math.prod(shape)
