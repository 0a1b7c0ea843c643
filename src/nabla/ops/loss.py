"""Losses as single ops: the fused softmax + cross-entropy and sigmoid + binary cross-entropy
on logits, and the losses on (log-)probabilities, negative log-likelihood and binary
cross-entropy.

Fusing gives the notes' short gradients (ŷ − y and σ(v) − d) and keeps the loss finite for any
logits: the log-probabilities are computed with log-sum-exp, never as log(softmax).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nabla._typing import Array
from nabla.autograd.function import Function
from nabla.ops.constants import row_starts
from nabla.ops.softmax import log_softmax_array


def reduce_losses(
    losses: Array, reduction: str, denominator: float, negate: bool = False
) -> Array:
    """The mean or sum of the losses (``negate``: of their negatives, −Σ, the same bits)."""
    if reduction == "none":
        return -losses if negate else losses
    total: Array = np.add.reduce(losses, axis=None)  # losses.sum() without its Python wrapper
    if negate:
        total = -total
    return total / denominator if reduction == "mean" else total


class CrossEntropy(Function):
    """Softmax with cross-entropy loss on logits X of shape (N, C) (the notes' softmax-with-loss).

    Forward:  ℓᵢ = −Σ_c w_c Yᵢ_c log softmax(Xᵢ)_c,   L = Σᵢ ℓᵢ / N  (mean)
    Backward: ∇X = (Ŷ ⊙ Σ_c wY − wY) ⊙ g / N   (Ŷ = softmax(X); = (Ŷ − Y)/N for one-hot Y, no weights)

    The target is the second input: class indices of shape (N,) (one-hot rows Y; rows equal to
    ``ignore_index`` count nowhere) or probabilities Y of shape (N, C) (differentiable). With
    class indices, N is the number of counted rows, or their total weight when weighted; when
    that is 0 (every row ignored) the mean is nan and the gradient 0, as PyTorch's. The sum has
    no / N, and ``reduction="none"`` multiplies each row by its own g; ``nb.explain`` prints the
    rule of each call (reduction, weights, smoothing, index or probability targets).
    """

    saved = ("log_p", "probs", "flat", "index", "coef", "valid")

    name = "cross_entropy"
    #: array arguments that are fixed settings, not data (nb.compile may keep them)
    constant_params = ("weight",)
    latex = r"\nabla_X = (\hat Y \odot \textstyle\sum_c w Y - w Y) \odot g / N"

    def forward(
        self,
        x: Array,
        target: Array,
        weight: Array | None = None,
        ignore_index: int = -100,
        reduction: str = "mean",
        label_smoothing: float = 0.0,
    ) -> Array:
        n, c = x.shape
        self.weight, self.reduction = weight, reduction
        self.smoothing, self.n_classes = label_smoothing, c
        self.index = self.coef = self.valid = None
        self.log_p = log_p = c_order(log_softmax_array(x, axis=1))
        y = target
        if y.dtype.kind in "iub":  # class indices
            if all_counted(y, c, ignore_index):  # the common case
                valid, all_valid, index = None, True, y
            else:
                valid = check_class_indices(self.name, y, c, ignore_index)
                all_valid = bool(valid.all())
                index = y if all_valid else np.where(valid, y, 0)
            if valid is None:
                valid = np.ones(n, dtype=bool) if (weight is not None or label_smoothing) else None
            if weight is not None:
                assert valid is not None
                coef = np.where(valid, weight[index], 0).astype(x.dtype)
            elif not all_valid:
                assert valid is not None  # check_class_indices made it
                coef = valid.astype(x.dtype)
            else:
                coef = None
            self.denominator = float(coef.sum()) if coef is not None else float(n)
            self.valid = valid
            if not label_smoothing:
                self.index, self.coef = index, coef
                # each row's target as a flat index: one take, and one subtract in backward
                self.flat = flat = index + row_starts(n, c)
                picked = log_p.reshape(-1).take(flat)
                if coef is None and reduction != "none":  # Σ(−a) = −Σa, bitwise: one pass
                    return reduce_losses(
                        picked, reduction, _nonzero(self.denominator), negate=True
                    )
                losses = -(picked if coef is None else picked * coef)
                return reduce_losses(losses, reduction, _nonzero(self.denominator))
            assert valid is not None  # set above for label smoothing
            y = np.zeros(x.shape, dtype=x.dtype)  # smoothing needs the dense one-hot rows
            y[np.flatnonzero(valid), index[valid]] = 1
            y = y * x.dtype.type(1 - label_smoothing) + valid[:, None] * x.dtype.type(
                label_smoothing / c
            )
        else:
            self.denominator = float(n)
            if label_smoothing:
                y = y * x.dtype.type(1 - label_smoothing) + x.dtype.type(label_smoothing / c)
        self.probs = y
        wy = y if weight is None else y * weight
        return reduce_losses(-(wy * log_p).sum(axis=1), reduction, _nonzero(self.denominator))

    def _scale(self, g: Any) -> Any:
        """g's factor for each row: (N, 1) for reduction="none", else a scalar."""
        if self.reduction == "none":
            return g.reshape((-1, 1))
        if self.reduction == "sum":
            return g
        if self.denominator:
            return g / self.denominator
        # the weights of the counted rows add up to 0 (every row ignored: PyTorch's loss is
        # 0/0 = nan): ignored rows get a zero gradient, counted rows (of weight 0) nan
        valid = self.valid if self.valid is not None else np.ones(len(self.log_p), bool)
        return g * np.where(valid, np.nan, 0).astype(self.log_p.dtype).reshape((-1, 1))

    def backward(self, g: Any, F: Any, x: Any, target: Any) -> tuple[Any, Any]:
        scale = self._scale(g)
        # rows of ignore_index select 0 (PyTorch), also when g is inf: not inf · 0 = nan
        ignored = None
        if self.valid is not None and not self.valid.all():
            ignored = ~self.valid.reshape((-1, 1))
        if self.index is not None:
            row_scale = scale if self.coef is None else scale * self.coef.reshape((-1, 1))
            if ignored is not None:
                row_scale = F.where(ignored, 0, row_scale)
            if F.graph:
                one_hot = np.zeros(self.log_p.shape, dtype=self.log_p.dtype)
                one_hot.reshape(-1)[self.flat] = 1
                return (F.softmax(x, axis=1) - one_hot) * row_scale, None
            return softmax_minus_targets(self.log_p, self.flat, row_scale), None
        y = self.probs
        if F.graph and self.needs_grad[1]:  # the smoothed target, in the graph
            y = target
            if self.smoothing:
                y = y * (1 - self.smoothing) + self.smoothing / self.n_classes
        grad_x = grad_y = None
        if self.needs_grad[0]:
            wy = y if self.weight is None else y * self.weight
            p = F.softmax(x, axis=1) if F.graph else np.exp(self.log_p)
            grad_x = (p * wy.sum(axis=1, keepdims=True) - wy) * scale
            if ignored is not None:
                grad_x = F.where(ignored, 0, grad_x)
        if self.needs_grad[1]:
            log_p = F.log_softmax(x, axis=1) if F.graph else self.log_p
            grad_y = -(log_p if self.weight is None else log_p * self.weight) * scale
            if self.smoothing:  # y enters the loss as (1 − ε) y + ε/C
                grad_y = grad_y * (1 - self.smoothing)
        return grad_x, grad_y


_UNSIGNED = {size: np.dtype(f"u{size}") for size in (1, 2, 4, 8)}


def all_counted(y: Array, c: int, ignore_index: int) -> bool:
    """Whether every class index lies in [0, c) and none equals ``ignore_index``.

    With ``ignore_index`` outside [0, c) (the default −100) one reduction decides: viewed as
    unsigned, negative indices become huge, so max < c bounds both ends. ``ufunc.reduce``
    skips the Python wrapper of ``max``; this runs on every training step.
    """
    if not y.size:
        return ignore_index != 0
    if not 0 <= ignore_index < c:
        unsigned = y if y.dtype.kind != "i" else y.view(_UNSIGNED[y.dtype.itemsize])
        return int(np.maximum.reduce(unsigned, axis=None)) < c
    lo, hi = int(np.minimum.reduce(y, axis=None)), int(np.maximum.reduce(y, axis=None))
    return lo >= 0 and hi < c and not lo <= ignore_index <= hi


def softmax_minus_targets(log_p: Array, flat: Array, scale: Any) -> Array:
    """(softmax − one-hot) ⊙ scale from the log-probabilities (C order) and the targets' flat
    indices: p ⊙ scale, with scale subtracted at the targets (no one-hot matrix)."""
    grad = np.exp(log_p)
    grad *= scale
    grad.reshape(-1)[flat] -= scale.reshape(-1)
    return grad


def c_order(a: Array) -> Array:
    """The array in C order, so that its flat indices (row · C + column) address its entries and
    ``reshape(-1)`` is a view (logits in Fortran order would give log-probabilities in it)."""
    return a if a.flags.c_contiguous else np.ascontiguousarray(a)


def _nonzero(denominator: float) -> float:
    # an all-ignored batch gives 0/0 = nan in PyTorch; keep that (no warning) rather than hide it
    return denominator if denominator != 0 else float("nan")


class BCEWithLogits(Function):
    """Sigmoid with binary cross-entropy on logits v (the notes' logistic regression loss).

    Forward:  ℓ = w ((1 − d) v + (1 + (p − 1) d) log(1 + e^(−v))),  L = mean ℓ   (p: pos_weight)
    Backward: ∇v = w ((1 − d) − (1 + (p − 1) d)(1 − σ(v))) ⊙ g / N,  ∇d = w ((p − 1) log(1 + e^(−v)) − v) ⊙ g / N

    For p = 1 these are ∇v = (σ(v) − d)/N and ∇d = −v/N (PyTorch's rules).
    """

    saved = ("softplus",)

    name = "binary_cross_entropy_with_logits"
    constant_params = ("weight", "pos_weight")
    latex = (
        r"\nabla_v = w ((1 - d) - (1 + (p - 1) d)(1 - \sigma(v))) \odot g / N,\; "
        r"\nabla_d = w ((p - 1) \log(1 + e^{-v}) - v) \odot g / N"
    )

    def forward(
        self,
        v: Array,
        d: Array,
        weight: Array | None = None,
        pos_weight: Array | None = None,
        reduction: str = "mean",
    ) -> Array:
        self.weight, self.pos_weight, self.reduction = weight, pos_weight, reduction
        # softplus(−v) = log(1 + e^(−v)) = max(−v, 0) + log1p(e^(−|v|)): finite for any v
        self.softplus = softplus = np.maximum(-v, 0) + np.log1p(np.exp(-np.abs(v)))
        if pos_weight is not None:
            softplus = softplus * (1 + (pos_weight - 1) * d)
        losses = (1 - d) * v + softplus
        if weight is not None:
            losses = losses * weight
        self.count = losses.size
        return reduce_losses(losses, reduction, _nonzero(losses.size))

    def backward(self, g: Any, F: Any, v: Any, d: Any) -> tuple[Any, Any]:
        scale = g if self.reduction != "mean" else g / _nonzero(self.count)
        if self.weight is not None:
            scale = scale * self.weight
        p = self.pos_weight
        grad_v = grad_d = None
        if self.needs_grad[0]:
            # a 0-d logit goes through the sigmoid as shape (1,): the in-place array kernel
            # needs an array, and NumPy turns 0-d results into scalars
            s = F.sigmoid(v) if v.ndim else F.sigmoid(v.reshape((1,))).reshape(())
            grad_v = s - d if p is None else (1 - d) - (1 + (p - 1) * d) * (1 - s)
            grad_v = grad_v * scale
        if self.needs_grad[1]:
            if p is None:
                grad_d = -v * scale
            else:  # softplus(−v) = −log σ(v), in the graph for higher order
                softplus = -F.log(F.sigmoid(v)) if F.graph else self.softplus
                grad_d = ((p - 1) * softplus - v) * scale
        return grad_v, grad_d


def check_class_indices(op: str, y: Array, c: int, ignore_index: int) -> Array:
    """The rows whose target counts (is not ``ignore_index``); IndexError naming the first target
    outside [0, c)."""
    valid: Array = y != ignore_index
    counted = y[valid]
    if counted.size and (counted.min() < 0 or counted.max() >= c):
        bad = counted[(counted < 0) | (counted >= c)][0]
        raise IndexError(f"{op}: target {int(bad)} is out of bounds for {c} classes")
    return valid


class NLLLoss(Function):
    """Negative log-likelihood of class indices y given log-probabilities X of shape (N, C).

    Forward:  ℓᵢ = −w_yᵢ Xᵢ,yᵢ (0 where yᵢ = ignore_index),  L = Σᵢ ℓᵢ / Σᵢ w_yᵢ  (mean)
    Backward: ∇X = −w_y g / Σᵢ w_yᵢ at each row's target, 0 elsewhere   (the targets get none)
    """

    saved = ("valid", "rows", "index", "coef")

    name = "nll_loss"
    constant_params = ("weight",)
    latex = r"\nabla_{X} = -w_{y} g / \textstyle\sum_i w_{y_i} \text{ at the targets}"

    def forward(
        self,
        x: Array,
        target: Array,
        weight: Array | None = None,
        ignore_index: int = -100,
        reduction: str = "mean",
    ) -> Array:
        n, c = x.shape
        self.reduction = reduction
        self.valid = valid = check_class_indices(self.name, target, c, ignore_index)
        self.rows, self.index = np.arange(n), np.where(valid, target, 0)
        if weight is None:
            self.coef = valid.astype(x.dtype)
        else:
            self.coef = np.where(valid, weight[self.index], 0).astype(x.dtype)
        self.denominator = float(self.coef.sum())
        losses = np.zeros(n, dtype=x.dtype)  # ignored rows: 0, even where X is −inf
        losses[valid] = -(x[self.rows[valid], self.index[valid]] * self.coef[valid])
        return reduce_losses(losses, reduction, _nonzero(self.denominator))

    def backward(self, g: Any, F: Any, x: Any, target: Any) -> tuple[Any, None]:
        if self.reduction != "mean":
            scale = g
        elif self.denominator:
            scale = g / self.denominator
        else:  # all weights 0 (PyTorch: 0/0): ignored rows get 0, counted ones (weight 0) nan
            scale = g * np.where(self.valid, np.nan, 0).astype(self.coef.dtype)
        # select: an ignored row gets 0 even when g is inf (PyTorch), not inf · 0 = nan
        picked = F.where(self.valid, -(scale * self.coef), 0)
        if F.graph:
            return F.index_add(picked, F.data(x).shape, (self.rows, self.index)), None
        grad = np.zeros(x.shape, dtype=x.dtype)
        grad[self.rows, self.index] = picked
        return grad, None


class BinaryCrossEntropy(Function):
    """Binary cross-entropy on probabilities p in [0, 1], logs clamped at −100 (PyTorch's).

    Forward:  ℓ = −w (d max(log p, −100) + (1 − d) max(log(1 − p), −100)),  L = mean ℓ
    Backward: ∇p = w (p − d) / max(p (1 − p), 1e−12) ⊙ g / N,  ∇d = w (log(1 − p) − log p) ⊙ g / N

    ∇p is finite at p = 0 and p = 1; ∇d is PyTorch's (unclamped: ±inf where p is 0 or 1).
    """

    name = "binary_cross_entropy"
    constant_params = ("weight",)
    latex = (
        r"\nabla_p = w (p - d) / \max(p (1 - p), \epsilon) \odot g / N,\; "
        r"\nabla_d = w (\log(1 - p) - \log p) \odot g / N"
    )
    #: PyTorch's floor of p (1 − p) in the gradient: a saturated σ(v) = 1 gives a large but
    #: finite gradient, which the sigmoid's own factor σ(1 − σ) = 0 then cancels. PyTorch keeps
    #: 1e-12 as a float32 constant (9.99999996e-13), also for float64 inputs: the same here
    eps = float(np.float32(1e-12))

    def forward(
        self, p: Array, d: Array, weight: Array | None = None, reduction: str = "mean"
    ) -> Array:
        for what, a in (("input", p), ("target", d)):
            inside = (a >= 0) & (a <= 1)
            if not inside.all():
                bad = a[~inside].reshape(-1)[0]
                raise ValueError(
                    f"binary_cross_entropy: all elements of {what} should be between 0 and 1, "
                    f"got {bad}"
                )
        self.weight, self.reduction = weight, reduction
        with np.errstate(divide="ignore"):  # log 0 = −inf, clamped to −100 (PyTorch)
            log_p = np.maximum(np.log(p), -100)
            log_q = np.maximum(np.log1p(-p), -100)
        losses = (d - 1) * log_q - d * log_p
        if weight is not None:
            losses = losses * weight
        self.count = losses.size
        return reduce_losses(losses, reduction, _nonzero(losses.size))

    def backward(self, g: Any, F: Any, p: Any, d: Any) -> tuple[Any, Any]:
        scale = g if self.reduction != "mean" else g / _nonzero(self.count)
        if self.weight is not None:
            scale = scale * self.weight
        grad_p = grad_d = None
        if self.needs_grad[0]:
            q = (1 - p) * p
            small = F.data(q) < self.eps
            if small.any():
                q = F.where(small, self.eps, q)
            grad_p = (p - d) / q * scale
        if self.needs_grad[1]:
            with np.errstate(divide="ignore"):  # ±inf where p is 0 or 1, as PyTorch
                grad_d = (F.log(1 - p) - F.log(p)) * scale
        return grad_p, grad_d
