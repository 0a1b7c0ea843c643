"""The op × input-kind table of ``test_paths``: one case per op (several for ops with modes),
each a one-node program whose leaves take the memory layout of the input kind.

A case lists its input shapes for ordinary inputs, and optionally for the 0-d and size-0 kinds
(None where the op has no such form in PyTorch). Values are drawn from (low, high) and kept
0.1 away from the op's kinks.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

import nabla as nb

from .checker import OPS, build_nabla, make_leaves, total
from .programs import Leaf, Node, Program

Shapes = tuple[tuple[int, ...], ...]
#: input kinds: memory layouts of ordinary shapes, then the 0-d and size-0 forms
LAYOUT_KINDS = {
    "contiguous": "c",
    "broadcast": "broadcast",
    "strided": "strided",
    "fortran": "f",
    "negative": "negative",
    "readonly": "readonly",
}
KINDS = (*LAYOUT_KINDS, "0-d", "size-0")


@dataclass(frozen=True)
class Case:
    """One op with fixed parameters; ``params`` may depend on the input shapes."""

    name: str
    op: str
    shapes: Shapes
    params: dict[str, Any] | Callable[[Shapes], dict[str, Any]] = field(default_factory=dict)
    zero_d: Shapes | None = None
    size_0: Shapes | None = None
    low: float = -2.0
    high: float = 2.0
    kinks: tuple[float, ...] = ()
    args: tuple[int, ...] | None = None  # leaves read by the node (default: each once)
    style: int = 0

    def shapes_for(self, kind: str) -> Shapes | None:
        if kind == "0-d":
            return self.zero_d
        if kind == "size-0":
            return self.size_0
        return self.shapes

    def program(self, kind: str, seed: int = 0) -> Program:
        """The case as a one-node program with leaves of ``kind`` (a ValueError if it has none)."""
        shapes = self.shapes_for(kind)
        if shapes is None:
            raise ValueError(f"{self.name} has no {kind} form")
        rng = np.random.default_rng(seed)
        layout = LAYOUT_KINDS.get(kind, "c")
        steps: list[Leaf | Node] = []
        for i, shape in enumerate(shapes):
            small = None
            if layout == "broadcast" and any(n > 1 for n in shape):
                axis = next(k for k, n in enumerate(shape) if n > 1)
                small = self._values(rng, shape[:axis] + (1,) + shape[axis + 1 :])
                master = np.array(np.broadcast_to(small, shape))
            else:
                master = self._values(rng, shape)
            # a leaf with no side to broadcast along stays contiguous
            leaf_layout = "c" if layout == "broadcast" and small is None else layout
            steps.append(Leaf(i, master, leaf_layout, small))
        params = self.params(shapes) if callable(self.params) else dict(self.params)
        params = {"style": self.style, **params}
        args = self.args if self.args is not None else tuple(range(len(shapes)))
        inputs = [torch.from_numpy(s.master) for s in steps if isinstance(s, Leaf)]
        with torch.no_grad():
            res = OPS[self.op].torch([inputs[i] for i in args], {**params, "dtype": np.float64})
        outs = list(res) if isinstance(res, (list, tuple)) else [res]
        n = len(shapes)
        ids = tuple(range(n, n + len(outs)))
        steps.append(Node(self.op, args, params, ids))
        outputs = [i for i, v in zip(ids, outs) if v.dtype.is_floating_point]
        weights = [rng.standard_normal(tuple(outs[i - n].shape)) for i in outputs]
        directions = [rng.standard_normal(s) for s in shapes]
        return Program(steps, n + len(outs), outputs, weights, directions, seed)

    def _values(self, rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
        x = rng.uniform(self.low, self.high, shape)
        for k in self.kinks:
            x = np.where(np.abs(x - k) < 0.1, k + np.copysign(0.1, x - k) + (x - k), x)
        return np.asarray(x)


EW: dict[str, Any] = {"zero_d": ((),), "size_0": ((0, 4),)}  # elementwise: 0-d and size-0 forms
BIN: dict[str, Any] = {"zero_d": ((), ()), "size_0": ((0, 4), (4,))}
RED: dict[str, Any] = {"zero_d": ((),), "size_0": ((0, 4),)}
POS: dict[str, Any] = {"low": 0.2, "high": 3.0}


def _cond(shapes: Shapes) -> dict[str, Any]:
    return {"cond": np.asarray(np.random.default_rng(1).random(shapes[0]) < 0.5), "c": 0.0}


def _classes(shapes: Shapes, **extra: Any) -> dict[str, Any]:
    n = shapes[0][0] if len(shapes[0]) == 2 else None
    c = shapes[0][-1]
    target = np.random.default_rng(2).integers(0, c, () if n is None else (n,))
    return {"target": target, "reduction": "mean", "smoothing": 0.0, **extra}


def _bce(shapes: Shapes, **extra: Any) -> dict[str, Any]:
    rng = np.random.default_rng(3)
    return {"target": rng.uniform(0, 1, shapes[0]), "reduction": "mean", "weight": None, **extra}


CASES = [
    Case("neg", "neg", ((3, 4),), **EW),
    Case("exp", "exp", ((3, 4),), **EW),
    Case("log", "log", ((3, 4),), **EW, **POS),
    Case("sqrt", "sqrt", ((3, 4),), **EW, **POS),
    Case("reciprocal", "reciprocal", ((3, 4),), **EW, **POS),
    Case("abs", "abs", ((3, 4),), **EW, kinks=(0.0,)),
    Case("tanh", "tanh", ((3, 4),), **EW),
    Case("sigmoid", "sigmoid", ((3, 4),), **EW),
    Case("relu", "relu", ((3, 4),), **EW, kinks=(0.0,)),
    Case("leaky_relu", "leaky_relu", ((3, 4),), {"slope": 0.2}, **EW, kinks=(0.0,)),
    Case("clone", "clone", ((3, 4),), **EW),
    Case("cast", "cast_roundtrip", ((3, 4),), **EW),
    Case("pow3", "pow", ((3, 4),), {"p": 3}, **EW),
    Case("pow-half", "pow", ((3, 4),), {"p": 0.5}, **EW, **POS),
    Case("pow-neg", "pow", ((3, 4),), {"p": -1}, **EW, **POS),
    Case("scalar-radd", "scalar", ((3, 4),), {"op": "r+", "s": 2.5}, **EW),
    Case("scalar-rdiv", "scalar", ((3, 4),), {"op": "r/", "s": 1.5}, **EW, **POS),
    Case("rpow", "scalar", ((3, 4),), {"op": "rpow", "s": 2.0}, **EW),
    Case("clip", "clip", ((3, 4),), {"lo": -0.5, "hi": 0.7}, **EW, kinks=(-0.5, 0.7)),
    Case("add", "add", ((3, 4), (4,)), **BIN),
    Case("sub", "sub", ((3, 4), (3, 1)), **BIN),
    Case("mul", "mul", ((3, 4), (4,)), **BIN),
    Case("mul-reuse", "mul", ((3, 4),), args=(0, 0), zero_d=((),), size_0=((0, 4),)),
    Case("div", "div", ((3, 4), (4,)), **BIN, **POS),
    Case("maximum", "maximum", ((3, 4), (4,)), **BIN),
    Case("minimum", "minimum", ((3, 4), (3, 1)), **BIN),
    Case("pow-tensor", "pow_tensor", ((3, 4), (4,)), **BIN, **POS),
    Case("where", "where", ((3, 4), (4,)), _cond, **BIN),
    Case("matmul-2d", "matmul", ((3, 4), (4, 2)), size_0=((3, 0), (0, 2))),
    Case("matmul-1d", "matmul", ((4,), (4,)), size_0=((0,), (0,))),
    Case("matmul-mat-vec", "matmul", ((3, 4), (4,)), size_0=((0, 4), (4,))),
    Case("matmul-batched", "matmul", ((2, 3, 4), (4, 2)), size_0=((0, 3, 4), (4, 2))),
    Case("linear", "linear", ((5, 4), (3, 4), (3,)), size_0=((0, 4), (3, 4), (3,))),
    Case("linear-nobias", "linear", ((2, 5, 4), (3, 4)), size_0=((2, 0, 4), (3, 4))),
    Case("sum", "sum", ((3, 4),), {"axis": None, "keepdims": False}, **RED),
    Case("sum-axes", "sum", ((3, 4),), {"axis": (0, -1), "keepdims": True}, size_0=((0, 4),)),
    Case("mean", "mean", ((3, 4),), {"axis": 0, "keepdims": False}, zero_d=((),)),
    Case("var", "var", ((3, 4),), {"axis": 1, "keepdims": False, "correction": 1}),
    # along axis 1: the broadcast kind repeats values along axis 0, and the gradient of std over
    # a constant slice is rounding noise (in either library) unless the variance is exactly 0
    Case("std", "std", ((3, 4),), {"axis": 1, "keepdims": True, "correction": 0}),
    Case(
        "std-all",
        "std",
        ((3, 4),),
        {"axis": None, "keepdims": False, "correction": 0},
        zero_d=((),),
    ),
    Case("amax", "amax", ((3, 4),), {"axis": 1, "keepdims": False}, size_0=((0, 4),)),
    Case("amin", "amin", ((3, 4),), {"axis": (0, 1), "keepdims": True}),
    Case("amax-0d", "amax", ((3, 4),), {"axis": None, "keepdims": True}, zero_d=((),)),
    Case("max", "max", ((3, 4),), zero_d=((),)),
    Case("min", "min", ((3, 4),), zero_d=((),)),
    Case("max-dim", "max_dim", ((3, 4),), {"axis": 1, "keepdims": False}, size_0=((0, 4),)),
    Case("min-dim", "min_dim", ((3, 4),), {"axis": 0, "keepdims": True}, size_0=((3, 0),)),
    Case("logsumexp", "logsumexp", ((3, 4),), {"axis": 1, "keepdims": False}, size_0=((0, 4),)),
    Case("softmax", "softmax", ((3, 4),), {"axis": -1}, size_0=((0, 4),)),
    Case("log_softmax", "log_softmax", ((3, 4),), {"axis": 0}, size_0=((3, 0),)),
    Case("reshape", "reshape", ((3, 4),), {"shape": (2, 6)}),
    Case(
        "flatten",
        "flatten",
        ((2, 3, 2),),
        {"start": 0, "end": -1},
        zero_d=((),),
        size_0=((0, 2, 2),),
    ),
    Case("permute", "permute", ((2, 3, 4),), {"axes": (2, 0, 1)}, size_0=((2, 0, 4),)),
    Case("permute-neg", "permute", ((2, 3, 4),), {"axes": (-1, 0, -2)}),
    Case("transpose", "transpose", ((3, 4),), {"d0": 0, "d1": 1}, size_0=((0, 4),), style=1),
    Case("swapaxes", "transpose", ((2, 3, 4),), {"d0": -1, "d1": 0}, style=2),
    Case("T", "T", ((3, 4),), zero_d=((),), size_0=((0, 4),)),
    Case("mT", "mT", ((2, 3, 4),), size_0=((0, 3, 4),)),
    Case("squeeze", "squeeze", ((3, 1, 4),), {"axis": 1}, size_0=((0, 1, 4),)),
    Case("unsqueeze", "unsqueeze", ((3, 4),), {"axis": -1}, zero_d=((),), size_0=((0, 4),)),
    Case("broadcast_to", "broadcast_to", ((3, 1),), {"shape": (2, 3, 4)}),
    Case(
        "concatenate",
        "concatenate",
        ((2, 3), (2, 1)),
        {"axis": 1},
        args=(0, 1, 0),
        size_0=((0, 3), (0, 1)),
    ),
    Case(
        "stack", "stack", ((2, 3), (2, 3)), {"axis": -1}, zero_d=((), ()), size_0=((0, 3), (0, 3))
    ),
    Case("split", "split", ((4, 3),), {"sizes": [1, 3], "axis": 0}, size_0=((4, 0),)),
    Case("split-int", "split", ((3, 5),), {"sizes": 2, "axis": -1}, size_0=((0, 5),)),
    Case(
        "getitem-slices",
        "getitem",
        ((3, 4),),
        {"kind": "basic", "index": (slice(1, None), slice(None, None, -2))},
    ),
    Case("getitem-none", "getitem", ((3, 4),), {"kind": "basic", "index": (Ellipsis, None, 2)}),
    Case(
        "getitem-ints", "getitem", ((3, 4),), {"kind": "int", "index": (np.array([0, 2, 2, -1]),)}
    ),
    Case(
        "getitem-mask",
        "getitem",
        ((3, 4),),
        {"kind": "mask", "index": (np.array([True, False, True]),)},
    ),
    Case(
        "getitem-pairs",
        "getitem",
        ((3, 4),),
        {"kind": "pairs", "index": (np.array([0, 2, 2]), np.array([1, 3, 1]))},
    ),
    Case("cross_entropy", "cross_entropy", ((4, 3),), _classes),
    Case("cross_entropy-1d", "cross_entropy", ((3,),), _classes),
    Case(
        "cross_entropy-options",
        "cross_entropy",
        ((4, 3),),
        lambda s: _classes(
            s, weight=np.array([0.5, 1.0, 2.0]), ignore_index=1, smoothing=0.2, reduction="sum"
        ),
    ),
    Case(
        "cross_entropy-probs",
        "cross_entropy",
        ((4, 3), (4, 3)),
        {"reduction": "mean", "smoothing": 0.1},
        low=0.0,
        high=1.0,
    ),
    Case(
        "nll_loss",
        "nll_loss",
        ((4, 3),),
        lambda s: {**_classes(s, weight=np.array([0.5, 1.0, 2.0])), "ignore_index": 0},
    ),
    Case("mse_loss", "mse_loss", ((3, 4), (3, 4)), {"reduction": "mean"}, zero_d=((), ())),
    Case(
        "l1_loss",
        "l1_loss",
        ((3, 4),),
        lambda s: {"reduction": "sum", "target": np.full(s[0], 3.0)},
        zero_d=((),),
    ),
    Case("bce", "binary_cross_entropy", ((3, 4),), _bce, zero_d=((),), low=0.05, high=0.95),
    Case(
        "bce_with_logits",
        "bce_with_logits",
        ((3, 4),),
        lambda s: _bce(s, pos_weight=np.full(s[0][-1:], 2.0)),
        zero_d=((),),
    ),
    Case(
        "bce-target",
        "binary_cross_entropy",
        ((3, 4), (3, 4)),
        lambda s: {"reduction": "sum", "weight": None},
        low=0.05,
        high=0.95,
    ),
    Case("float_mix-0d", "float_mix", ((3, 4),), {"c": np.asarray(0.5)}, zero_d=((),)),
    Case("int_mix", "int_mix", ((3, 4),), {"ints": np.array([1, -2, 3, 0]), "op": "*"}),
]


def run_compiled(
    prog: Program, dtype: Any, calls: int = 3
) -> tuple[list[Any], list[Any], list[np.ndarray], str | None]:
    """The step ``loss = Σ ⟨uᵢ, outᵢ⟩; loss.backward()`` run eagerly and through ``nb.compile``
    (traced on the first call, replayed after), with new weights uᵢ on every call.

    Returns the eager and compiled (loss, leaf gradients) of each call, the last call's
    weights, and why the compiled step stayed eager (None when it was replayed).
    """
    rng = np.random.default_rng(7)
    weights = [
        [rng.standard_normal(w.shape).astype(dtype) for w in prog.weights] for _ in range(calls)
    ]
    results: dict[str, list[Any]] = {}
    reason = None
    for mode in ("eager", "compiled"):
        leaves = make_leaves(prog, dtype)

        def step(*us: Any, leaves: list[Any] = leaves) -> Any:
            vals, _, _ = build_nabla(prog, dtype, leaves)
            terms = [
                (vals[i] * u).sum() for i, u in zip(prog.outputs, us) if vals[i].requires_grad
            ]
            loss = total(terms)
            loss.backward()
            return loss

        fn: Any = nb.compile(step) if mode == "compiled" else step
        runs = []
        for us in weights:
            for t in leaves:
                t.grad = None
            loss = fn(*us)
            runs.append(
                (np.array(loss.data), [None if t.grad is None else t.grad.copy() for t in leaves])
            )
        results[mode] = runs
        if mode == "compiled" and not all(p is not None for p in fn.plans.values()):
            reason = "; ".join(fn.eager_reasons.values())
    return results["eager"], results["compiled"], weights[-1], reason
