"""The table of primitives checked by gradcheck and gradgradcheck: one row per op and shape."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

import nabla as nb
import nabla.nn.functional as F


@dataclass
class OpCase:
    name: str
    fn: Callable[..., Any]
    shapes: list[tuple[int, ...]]
    low: float = -2.0
    high: float = 2.0
    second_order: bool = True
    #: inputs that are constants (not differentiated), by position
    constant: tuple[int, ...] = ()
    #: gradcheck settings (a float32 round trip needs a larger step)
    check: dict[str, Any] = field(default_factory=dict)

    def make_inputs(self, rng: np.random.Generator) -> list[nb.Tensor]:
        inputs = []
        for i, shape in enumerate(self.shapes):
            data = rng.uniform(self.low, self.high, size=shape)
            inputs.append(nb.tensor(data, requires_grad=i not in self.constant))
        return inputs


IDX = np.array([0, 2, 2, 1, 0])  # repeated indices: the backward must scatter-add
MASK = np.array([True, False, True, True])
CLASSES = np.array([2, 0, 1, 2])
PROBS = np.random.default_rng(1).dirichlet(np.ones(3), size=4)
BINARY = np.array([[1.0, 0.0, 1.0], [0.0, 0.0, 1.0]])

OP_CASES = [
    # arithmetic, with broadcasting, 0-d and size-0 operands
    OpCase("add", nb.add, [(3, 4), (3, 4)]),
    OpCase("add-broadcast", nb.add, [(2, 3, 4), (3, 1)]),
    OpCase("add-0d", nb.add, [(), (3,)]),
    OpCase("add-size0", nb.add, [(0, 3), (3,)]),
    OpCase("sub-broadcast", nb.sub, [(4, 1), (1, 5)]),
    OpCase("mul", nb.mul, [(3, 4), (3, 4)]),
    OpCase("mul-broadcast", nb.mul, [(2, 3, 4), (3, 1)]),
    OpCase("mul-scalar", lambda x: 3.0 * x * 2.0, [(3,)]),
    OpCase("div", nb.div, [(3, 4), (4,)], low=0.5, high=2.0),
    OpCase("rdiv-scalar", lambda x: 1.0 / x, [(3,)], low=0.5, high=2.0),
    OpCase("reciprocal", nb.reciprocal, [(3, 2)], low=0.5, high=2.0),
    OpCase("neg", nb.neg, [(3,)]),
    OpCase("pow-scalar", lambda x: x**3, [(2, 3)]),
    OpCase("pow-half", lambda x: x**0.5, [(4,)], low=0.5, high=2.0),
    OpCase("pow-square", nb.square, [(4,)]),
    OpCase("pow-tensor", nb.pow, [(2, 3), (3,)], low=0.5, high=2.0),
    OpCase("rpow", lambda x: 2.0**x, [(3,)]),
    # elementwise
    OpCase("exp", nb.exp, [(3, 4)]),
    OpCase("log", nb.log, [(3, 4)], low=0.1, high=3.0),
    OpCase("sqrt", nb.sqrt, [(3, 4)], low=0.1, high=3.0),
    OpCase("abs", nb.abs, [(3, 4)], low=0.1, high=2.0),
    OpCase("abs-neg", lambda x: nb.abs(-x), [(5,)], low=0.1, high=2.0),
    OpCase("tanh", nb.tanh, [(3, 4)]),
    OpCase("sigmoid", nb.sigmoid, [(3, 4)], low=-4, high=4),
    OpCase("relu", lambda x: nb.relu(x - 0.05), [(4, 5)], low=0.1, high=2.0),
    OpCase("relu-neg", lambda x: nb.relu(x) + nb.relu(-x) * 2, [(4, 5)], low=0.1, high=2.0),
    OpCase(
        "leaky_relu",
        lambda x: nb.leaky_relu(x, 0.1) + nb.leaky_relu(-x, 0.2),
        [(6,)],
        low=0.1,
        high=2.0,
    ),
    OpCase("maximum", nb.maximum, [(3, 4), (4,)]),
    OpCase("minimum", nb.minimum, [(3, 4), (3, 1)]),
    OpCase("clip", lambda x: nb.clip(x, -1.0, 1.0), [(20,)], low=-2, high=2),
    OpCase("clip-lower", lambda x: nb.clip(x, min=0.3), [(8,)], low=-1, high=1),
    OpCase("where", lambda x, y: nb.where(np.array([True, False, True]), x, y), [(2, 3), (3,)]),
    # linear algebra
    OpCase("matmul-2d", nb.matmul, [(3, 4), (4, 5)]),
    OpCase("matmul-vec-vec", nb.matmul, [(4,), (4,)]),
    OpCase("matmul-vec-mat", nb.matmul, [(4,), (4, 3)]),
    OpCase("matmul-mat-vec", nb.matmul, [(3, 4), (4,)]),
    OpCase("matmul-batched", nb.matmul, [(2, 3, 4), (4, 5)]),
    OpCase("matmul-batched-both", nb.matmul, [(2, 1, 3, 4), (3, 4, 2)]),
    OpCase("matmul-vec-batched", nb.matmul, [(4,), (2, 4, 3)]),
    OpCase("linear", nb.linear, [(5, 4), (3, 4), (3,)]),
    OpCase("linear-nobias", nb.linear, [(5, 4), (3, 4)]),
    OpCase("linear-3d", nb.linear, [(2, 5, 4), (3, 4), (3,)]),
    OpCase("linear-1d", nb.linear, [(4,), (3, 4), (3,)]),
    # a contraction over one element (batch size 1, one feature) is a broadcast product
    OpCase("matmul-k1", nb.matmul, [(3, 1), (1, 5)]),
    OpCase("matmul-k1-batched", nb.matmul, [(2, 3, 1), (1, 5)]),
    OpCase("matmul-vec1-mat", nb.matmul, [(1,), (1, 3)]),
    OpCase("linear-batch1", nb.linear, [(1, 4), (3, 4), (3,)]),
    OpCase("linear-in1", nb.linear, [(5, 1), (3, 1), (3,)]),
    OpCase("linear-out1-1d", nb.linear, [(4,), (1, 4), (1,)]),
    # reductions
    OpCase("sum-all", nb.sum, [(3, 4)]),
    OpCase("sum-axis", lambda x: nb.sum(x, axis=1), [(3, 4, 2)]),
    OpCase("sum-axes-keepdims", lambda x: nb.sum(x, axis=(0, 2), keepdims=True), [(3, 4, 2)]),
    OpCase("sum-dim-alias", lambda x: x.sum(dim=-1, keepdim=True), [(3, 4)]),
    OpCase("sum-0d", nb.sum, [()]),
    OpCase("sum-size0", lambda x: nb.sum(x, axis=0), [(0, 3)]),
    OpCase("mean", lambda x: nb.mean(x, axis=0), [(5, 3)]),
    OpCase("mean-all", nb.mean, [(2, 3, 4)]),
    OpCase("amax-axis", lambda x: nb.amax(x, axis=1), [(4, 5)]),
    OpCase("amax-tuple", lambda x: nb.amax(x, axis=(0, -1)), [(2, 4, 5)]),
    OpCase("max-all", nb.max, [(4, 5)]),
    OpCase("amin-keepdims", lambda x: nb.amin(x, axis=0, keepdims=True), [(4, 5)]),
    OpCase("max-dim-values", lambda x: x.max(1).values, [(4, 5)]),
    OpCase("min-dim-keepdim", lambda x: x.min(dim=-2, keepdim=True).values, [(4, 5)]),
    OpCase("var", lambda x: nb.var(x, axis=1), [(4, 5)]),
    OpCase("var-biased", lambda x: nb.var(x, correction=0), [(4, 5)]),
    OpCase("std", lambda x: nb.std(x, axis=0, keepdims=True), [(6, 3)]),
    OpCase("logsumexp", lambda x: nb.logsumexp(x, axis=1), [(4, 5)]),
    OpCase("logsumexp-all", nb.logsumexp, [(3, 2)]),
    # shape
    OpCase("reshape", lambda x: nb.reshape(x, (4, 3)) * np.arange(12.0).reshape(4, 3), [(3, 4)]),
    OpCase("flatten", lambda x: x.flatten(1) ** 2, [(2, 3, 2)]),
    OpCase("transpose", lambda x: x.T @ x, [(3, 4)]),
    OpCase("permute", lambda x: nb.permute(x, (2, 0, 1)) ** 2, [(2, 3, 4)]),
    OpCase("swap", lambda x: nb.transpose(x, 0, 2) ** 2, [(2, 3, 4)]),
    OpCase("broadcast_to", lambda x: nb.broadcast_to(x, (2, 3, 4)) ** 2, [(3, 1)]),
    OpCase("squeeze-unsqueeze", lambda x: nb.unsqueeze(nb.squeeze(x), 0) ** 2, [(3, 1, 2)]),
    OpCase("concatenate", lambda x, y: nb.concatenate([x, y, x], axis=1) ** 2, [(2, 3), (2, 1)]),
    OpCase("stack", lambda x, y: nb.stack([x, y], axis=1) ** 2, [(2, 3), (2, 3)]),
    OpCase("split", lambda x: [t**2 for t in nb.split(x, [1, 3], axis=1)], [(2, 4)]),
    OpCase("getitem-slice", lambda x: x[1:, ::2] ** 2, [(3, 4)]),
    OpCase("getitem-int", lambda x: x[1] ** 2, [(3, 4)]),
    OpCase("getitem-repeated", lambda x: x[IDX] ** 2, [(3, 2)]),
    OpCase("getitem-mask", lambda x: x[MASK] ** 2, [(4, 2)]),
    OpCase("getitem-pairs", lambda x: x[IDX[:3], [0, 1, 1]] ** 2, [(3, 2)]),
    OpCase(
        "cast",
        lambda x: nb.cast(x, np.float32).double() ** 2,
        [(3,)],
        check={"eps": 1e-2, "atol": 1e-4},
    ),
    # softmax
    OpCase("softmax", lambda x: nb.softmax(x, axis=1), [(3, 4)]),
    OpCase("softmax-axis0", lambda x: nb.softmax(x, axis=0), [(3, 4)]),
    OpCase("log_softmax", lambda x: nb.log_softmax(x, axis=-1), [(3, 4)]),
    # reuse: a tensor used by several ops gets the sum of its branches
    OpCase("reuse", lambda x: x * x + x, [(3,)]),
    OpCase("reuse-deep", lambda x: nb.tanh(x) * nb.exp(x) + x @ x.T, [(3, 3)]),
    # fused losses
    OpCase("cross_entropy-index", lambda x: F.cross_entropy(x, CLASSES), [(4, 3)]),
    OpCase("cross_entropy-probs", lambda x: F.cross_entropy(x, PROBS), [(4, 3)]),
    OpCase(
        "cross_entropy-prob-target",
        lambda x, y: F.cross_entropy(x, y),
        [(4, 3), (4, 3)],
        low=0.1,
        high=1.0,
    ),
    OpCase("cross_entropy-sum", lambda x: F.cross_entropy(x, CLASSES, reduction="sum"), [(4, 3)]),
    OpCase(
        "cross_entropy-none", lambda x: F.cross_entropy(x, CLASSES, reduction="none"), [(4, 3)]
    ),
    OpCase(
        "cross_entropy-weighted",
        lambda x: F.cross_entropy(x, CLASSES, weight=np.array([0.2, 1.0, 3.0])),
        [(4, 3)],
    ),
    OpCase(
        "cross_entropy-ignore",
        lambda x: F.cross_entropy(x, np.array([2, -100, 1, 0]), label_smoothing=0.1),
        [(4, 3)],
    ),
    OpCase("bce_with_logits", lambda x: F.binary_cross_entropy_with_logits(x, BINARY), [(2, 3)]),
    OpCase(
        "bce_with_logits-none",
        lambda x: F.binary_cross_entropy_with_logits(
            x, BINARY, reduction="none", pos_weight=np.array([1.0, 2.0, 0.5])
        ),
        [(2, 3)],
    ),
    OpCase("mse_loss", lambda x, y: F.mse_loss(x, y), [(3, 2), (3, 2)]),
    OpCase("nll_loss", lambda x: F.nll_loss(nb.log_softmax(x, axis=1), CLASSES), [(4, 3)]),
    OpCase(
        "nll_loss-ignore_index",
        lambda x: F.nll_loss(nb.log_softmax(x, axis=1), CLASSES, ignore_index=2),
        [(4, 3)],
    ),
    OpCase(
        "bce-probabilities",
        lambda p, d: F.binary_cross_entropy(p, d, weight=np.array([1.0, 2.0, 0.5])),
        [(2, 3), (2, 3)],
        low=0.05,
        high=0.95,
    ),
]
