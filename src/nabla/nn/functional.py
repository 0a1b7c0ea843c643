"""Functional neural-network operations: activations, dropout, and the fused losses.

Losses take logits (never probabilities) so they stay finite for any input: ``cross_entropy``
fuses softmax with the loss (gradient (Ŷ − Y)/N), ``binary_cross_entropy_with_logits`` fuses the
sigmoid (gradient (σ(v) − d)/N), as derived in the notes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from nabla import functional as fn
from nabla.errors import DTypeError, ShapeError
from nabla.nn.functional_activation import (  # noqa: F401
    elu,
    embedding,
    gelu,
    hardtanh,
    layer_norm,
    mish,
    silu,
    softplus,
)
from nabla.nn.functional_conv import conv1d, conv2d  # noqa: F401
from nabla.nn.functional_extra import (  # noqa: F401
    celu,
    cosine_similarity,
    glu,
    hardsigmoid,
    hardswish,
    logsigmoid,
    normalize,
    pad,
    pairwise_distance,
    prelu,
    relu6,
    selu,
    softmin,
    softsign,
    tanhshrink,
    threshold,
)
from nabla.nn.functional_pool import (  # noqa: F401
    adaptive_avg_pool1d,
    adaptive_avg_pool2d,
    avg_pool1d,
    avg_pool2d,
    dropout1d,
    dropout2d,
    max_pool1d,
    max_pool2d,
)
from nabla.ops.loss import BCEWithLogits, BinaryCrossEntropy, CrossEntropy, NLLLoss
from nabla.ops.random import Dropout as DropoutOp
from nabla.ops.reduction import warn_at_caller
from nabla.tensor import Tensor, _wrap

if TYPE_CHECKING:
    from numpy.typing import ArrayLike

relu = fn.relu
sigmoid = fn.sigmoid
tanh = fn.tanh
leaky_relu = fn.leaky_relu
softmax = fn.softmax
log_softmax = fn.log_softmax
linear = fn.linear

_REDUCTIONS = ("mean", "sum", "none")


def _t(x: Any) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor(x)


def _check_reduction(reduction: str, op: str) -> None:
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{op}: reduction must be one of {_REDUCTIONS}, got {reduction!r}")


def dropout(
    x: Tensor | ArrayLike,
    p: float = 0.5,
    training: bool = True,
    generator: np.random.Generator | None = None,
) -> Tensor:
    """Inverted dropout: zero each element with probability p, scale survivors by 1/(1 − p)."""
    x = _t(x)
    if not 0 <= p <= 1:
        raise ValueError(f"dropout: probability must be in [0, 1], got {p}")
    if not training or p == 0:
        return x
    if p == 1:
        return x * 0.0
    return DropoutOp.apply(x, p=p, generator=generator)


def one_hot(target: Any, num_classes: int = -1) -> Tensor:
    """Class indices (int) → one-hot rows (int64), as PyTorch."""
    idx = np.asarray(target.data if isinstance(target, Tensor) else target)
    if idx.dtype.kind not in "iu":
        raise DTypeError(f"one_hot: class indices must be integers, got dtype {idx.dtype}")
    if num_classes < 0:
        num_classes = int(idx.max()) + 1 if idx.size else 0
    out = np.zeros((*idx.shape, num_classes), dtype=np.int64)
    np.put_along_axis(out, idx[..., None], 1, axis=-1)
    return _wrap(out)


def cross_entropy(
    input: Any,
    target: Any,
    weight: Any = None,
    ignore_index: int = -100,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
) -> Tensor:
    """Softmax + cross-entropy on logits (PyTorch's ``cross_entropy``).

    Parameters
    ----------
    input : Tensor of shape (N, C) or (C,)
        Logits (unnormalised scores).
    target : Tensor or array of shape (N,) with class indices, or (N, C) with probabilities
    weight : array-like of shape (C,), optional
        Per-class weights; with class indices the mean divides by the total target weight.
    ignore_index : int
        Class-index targets equal to it contribute neither loss nor gradient.
    reduction : {"mean", "sum", "none"}
    label_smoothing : float
        Mix each target with the uniform distribution: (1 − ε) y + ε / C.

    Returns
    -------
    Tensor
        Scalar, or shape (N,) for ``reduction="none"``.
    """
    _check_reduction(reduction, "cross_entropy")
    logits = _t(input)
    if logits.dtype.kind != "f":
        raise DTypeError(f"cross_entropy: logits must be floating point, got {logits.dtype}")
    single = logits.ndim == 1
    if single:
        logits = fn.unsqueeze(logits, 0)
    if logits.ndim != 2:
        raise ShapeError(
            f"cross_entropy: logits must have shape (N, C) or (C,), got {input.shape}"
        )
    n, c = logits.shape
    if not 0 <= label_smoothing <= 1:
        raise ValueError(
            f"cross_entropy: label_smoothing must be in [0, 1], got {label_smoothing}"
        )
    target_t = target if isinstance(target, Tensor) else _wrap(np.asarray(target))
    w = None if weight is None else np.asarray(getattr(weight, "data", weight), dtype=logits.dtype)
    if w is not None and w.shape != (c,):
        raise ShapeError(f"cross_entropy: weight must have shape ({c},), got {w.shape}")
    if target_t.dtype.kind in "iub":
        if single:
            target_t = fn.reshape(target_t, (1,))
        if target_t.shape != (n,):
            raise ShapeError(
                f"cross_entropy: logits have shape {logits.shape}, so class-index targets must "
                f"have shape ({n},), got {target_t.shape}"
            )
    else:
        if single and target_t.shape == (c,):
            target_t = fn.unsqueeze(target_t, 0)
        if target_t.shape != (n, c):
            raise ShapeError(
                f"cross_entropy: probability targets must have the logits' shape {logits.shape}, "
                f"got {target_t.shape}"
            )
        if target_t.dtype != logits.dtype:  # computed in the wider dtype, as PyTorch
            dtype = np.result_type(logits.dtype, target_t.dtype)
            if dtype.kind != "f":
                dtype = logits.dtype
            logits, target_t = fn.cast(logits, dtype), fn.cast(target_t, dtype)
            w = None if w is None else w.astype(dtype)
    loss = CrossEntropy.apply(
        logits,
        target_t,
        weight=w,
        ignore_index=ignore_index,
        reduction=reduction,
        label_smoothing=label_smoothing,
    )
    if single and reduction == "none":
        return fn.reshape(loss, ())
    return loss


def nll_loss(
    input: Any, target: Any, weight: Any = None, ignore_index: int = -100, reduction: str = "mean"
) -> Tensor:
    """Negative log-likelihood of class indices given log-probabilities (PyTorch's ``nll_loss``).

    Parameters
    ----------
    input : Tensor of shape (N, C) or (C,)
        Log-probabilities.
    target : Tensor or array of shape (N,) (or () for a single sample) with class indices in
        [0, C), or ``ignore_index`` for rows that count neither in the loss nor the gradient
    weight : array-like of shape (C,), optional
        Per-class weights; the mean divides by the total weight of the counted targets.
    reduction : {"mean", "sum", "none"}
    """
    _check_reduction(reduction, "nll_loss")
    log_p = _t(input)
    shape, single = log_p.shape, log_p.ndim == 1
    if single:
        log_p = fn.unsqueeze(log_p, 0)
    if log_p.ndim != 2:
        raise ShapeError(f"nll_loss: input must have shape (N, C) or (C,), got {log_p.shape}")
    n, c = log_p.shape
    target_t = target if isinstance(target, Tensor) else _wrap(np.asarray(target))
    if target_t.dtype.kind not in "iu":
        raise DTypeError(
            f"nll_loss: targets must be class indices (integers), got dtype {target_t.dtype}"
        )
    if target_t.shape != ((n,) if not single else ()):
        raise ShapeError(
            f"nll_loss: input has shape {shape}, so targets must have shape "
            f"{(n,) if not single else ()}, got {target_t.shape}"
        )
    if single:
        target_t = fn.reshape(target_t, (1,))
    w = None if weight is None else np.asarray(getattr(weight, "data", weight), dtype=log_p.dtype)
    if w is not None and w.shape != (c,):
        raise ShapeError(f"nll_loss: weight must have shape ({c},), got {w.shape}")
    loss = NLLLoss.apply(log_p, target_t, weight=w, ignore_index=ignore_index, reduction=reduction)
    if single and reduction == "none":
        return fn.reshape(loss, ())
    return loss


def binary_cross_entropy_with_logits(
    input: Any,
    target: Any,
    weight: Any = None,
    reduction: str = "mean",
    pos_weight: Any = None,
) -> Tensor:
    """Sigmoid + binary cross-entropy on logits v, stable for any v (gradient (σ(v) − d)/N).

    Parameters
    ----------
    input : Tensor
        Logits, any shape.
    target : array-like of the same shape
        Targets d in [0, 1].
    weight : array-like broadcastable to the input, optional
        Per-element weight.
    reduction : {"mean", "sum", "none"}
    pos_weight : array-like broadcastable to the input, optional
        Weight of the positive term (PyTorch's ``pos_weight``).
    """
    _check_reduction(reduction, "binary_cross_entropy_with_logits")
    v = _t(input)
    dtype = v.dtype
    d = target if isinstance(target, Tensor) else _wrap(np.asarray(target))
    if d.shape != v.shape:
        raise ShapeError(
            f"binary_cross_entropy_with_logits: target has shape {d.shape} but input has shape "
            f"{v.shape}; they must be the same"
        )
    if d.dtype != dtype:
        d = fn.cast(d, dtype)
    w = None if weight is None else np.asarray(getattr(weight, "data", weight), dtype=dtype)
    pw = (
        None
        if pos_weight is None
        else np.asarray(getattr(pos_weight, "data", pos_weight), dtype=dtype)
    )
    return BCEWithLogits.apply(v, d, weight=w, pos_weight=pw, reduction=reduction)


def binary_cross_entropy(
    input: Any, target: Any, weight: Any = None, reduction: str = "mean"
) -> Tensor:
    """BCE on probabilities, logs clamped at −100 (PyTorch's); prefer the logits version.

    Probabilities outside [0, 1] raise ValueError. The gradient divides by max(p (1 − p), 1e−12)
    (PyTorch), so saturated probabilities (a float32 σ(v) is exactly 1 for v ≥ 17) give finite
    gradients.
    """
    _check_reduction(reduction, "binary_cross_entropy")
    p = _t(input)
    d = target if isinstance(target, Tensor) else _wrap(np.asarray(target))
    if d.shape != p.shape:
        raise ShapeError(
            f"binary_cross_entropy: target has shape {d.shape} but input has shape {p.shape}; "
            "they must be the same"
        )
    if d.dtype != p.dtype:
        d = fn.cast(d, p.dtype)
    w = None if weight is None else np.asarray(getattr(weight, "data", weight), dtype=p.dtype)
    return BinaryCrossEntropy.apply(p, d, weight=w, reduction=reduction)


def _reduce(losses: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return fn.mean(losses)
    if reduction == "sum":
        return fn.sum(losses)
    return losses


def _check_target_size(op: str, x: Tensor, target: Any) -> None:
    """PyTorch's warning for a target whose shape differs from the input's: the loss broadcasts
    them ((N, 1) against (N,) gives N × N terms), which is rarely what was meant."""
    shape = target.shape if isinstance(target, Tensor) else np.shape(target)
    if tuple(shape) != x.shape:
        warn_at_caller(
            f"{op}: using a target size {tuple(shape)} that is different to the input size "
            f"{x.shape}; this will likely lead to incorrect results due to broadcasting. "
            "Please ensure they have the same size."
        )


def mse_loss(input: Any, target: Any, reduction: str = "mean") -> Tensor:
    """Mean squared error (x − y)², with broadcasting as PyTorch (which warns when the shapes
    differ)."""
    _check_reduction(reduction, "mse_loss")
    x = _t(input)
    _check_target_size("mse_loss", x, target)
    diff = x - target
    return _reduce(diff * diff, reduction)


def l1_loss(input: Any, target: Any, reduction: str = "mean") -> Tensor:
    """Mean absolute error |x − y| (a warning when the shapes differ, as PyTorch)."""
    _check_reduction(reduction, "l1_loss")
    x = _t(input)
    _check_target_size("l1_loss", x, target)
    return _reduce(fn.abs(x - target), reduction)


def huber_loss(input: Any, target: Any, reduction: str = "mean", delta: float = 1.0) -> Tensor:
    """Huber loss of the residual e = x − y, as PyTorch's ``huber_loss``.

    ℓ = ½ e² where |e| < delta, else delta·(|e| − ½ delta): quadratic near zero, linear (a
    gradient of delta·sign(e)) beyond, so outliers pull no harder than delta.

    Parameters
    ----------
    input : Tensor
    target : Tensor or array
        Broadcast against input (with PyTorch's warning when the shapes differ).
    reduction : "mean", "sum" or "none"
    delta : float
        Where the quadratic part meets the linear one; must be positive.

    Examples
    --------
    >>> import nabla as nb
    >>> huber_loss(nb.tensor([0.5, 3.0]), nb.tensor([0.0, 0.0]), reduction="none").data
    array([0.125, 2.5  ], dtype=float32)
    """
    _check_reduction(reduction, "huber_loss")
    if not delta > 0:
        raise ValueError(f"huber_loss: delta must be positive, got {delta}")
    x = _t(input)
    _check_target_size("huber_loss", x, target)
    diff = x - target
    size = fn.abs(diff)
    # a select, not a mask product, so the branch not taken adds exactly zero gradient; the
    # quadratic branch squares the residual clipped to [−delta, delta] (the same values where
    # it is taken), so a huge residual cannot overflow to inf there
    near = fn.clip(diff, -delta, delta)
    losses = fn.where(size.data < delta, 0.5 * near * near, delta * (size - 0.5 * delta))
    return _reduce(losses, reduction)


def _no_legacy(op: str, size_average: Any, reduce: Any) -> None:
    """PyTorch's deprecated ``size_average``/``reduce`` are accepted only as None here."""
    if size_average is not None or reduce is not None:
        raise ValueError(f"{op}: size_average and reduce are deprecated; pass reduction= instead")


def smooth_l1_loss(
    input: Any,
    target: Any,
    size_average: Any = None,
    reduce: Any = None,
    reduction: str = "mean",
    beta: float = 1.0,
) -> Tensor:
    """Smooth L1 loss of the residual e = x − y, as PyTorch's ``smooth_l1_loss``.

    ℓ = ½ e² / beta where |e| < beta, else |e| − ½ beta (the Huber loss divided by beta);
    beta = 0 gives the L1 loss. The gradient is e / beta inside, sign(e) outside.

    Parameters
    ----------
    input : Tensor
    target : Tensor or array
        Broadcast against input (with PyTorch's warning when the shapes differ).
    size_average, reduce : None
        PyTorch's deprecated arguments, accepted only as None.
    reduction : "mean", "sum" or "none"
    beta : float
        Where the quadratic part meets the linear one; must be >= 0.

    Examples
    --------
    >>> import nabla as nb
    >>> smooth_l1_loss(nb.tensor([0.5, 3.0]), nb.tensor([0.0, 0.0]), reduction="none").data
    array([0.125, 2.5  ], dtype=float32)
    """
    _no_legacy("smooth_l1_loss", size_average, reduce)
    _check_reduction(reduction, "smooth_l1_loss")
    if not beta >= 0:
        raise ValueError(f"smooth_l1_loss: beta must be >= 0, got {beta}")
    if beta == 0:
        return l1_loss(input, target, reduction)
    x = _t(input)
    _check_target_size("smooth_l1_loss", x, target)
    diff = x - target
    size = fn.abs(diff)
    near = fn.clip(diff, -beta, beta)  # as in huber_loss: no overflow in the branch not taken
    losses = fn.where(size.data < beta, (0.5 / beta) * near * near, size - 0.5 * beta)
    return _reduce(losses, reduction)


_KL_REDUCTIONS = ("mean", "batchmean", "sum", "none")


def kl_div(
    input: Any,
    target: Any,
    size_average: Any = None,
    reduce: Any = None,
    reduction: str = "mean",
    log_target: bool = False,
) -> Tensor:
    """Kullback-Leibler divergence of ``target`` from the log-probabilities ``input`` (PyTorch's).

    Pointwise ℓ = t (log t − x), 0 where t = 0 (t log t → 0); with ``log_target`` the target is
    given as log t: ℓ = exp(t) (t − x). The gradient with respect to x is −t (−exp(t)).

    ``reduction="mean"`` averages over every element, as PyTorch's, which is not the KL
    divergence of the rows; ``"batchmean"`` (sum / batch size) is. PyTorch warns on ``"mean"``;
    nabla does not (its tests treat warnings as errors), so choose ``"batchmean"`` knowingly.

    Parameters
    ----------
    input : Tensor
        Log-probabilities x.
    target : Tensor or array
        Probabilities t (or log t with ``log_target``), broadcast against input.
    size_average, reduce : None
        PyTorch's deprecated arguments, accepted only as None.
    reduction : "mean", "batchmean", "sum" or "none"
        ``"batchmean"`` divides the sum by the input's first dimension (by 1 for a 0-d input).
    log_target : bool, default False

    Examples
    --------
    >>> import numpy as np
    >>> import nabla as nb
    >>> x = nb.tensor(np.log([[0.5, 0.5]]))
    >>> round(float(kl_div(x, nb.tensor([[0.25, 0.75]]), reduction="batchmean").data), 4)
    0.1308
    """
    _no_legacy("kl_div", size_average, reduce)
    if reduction not in _KL_REDUCTIONS:
        raise ValueError(f"kl_div: reduction must be one of {_KL_REDUCTIONS}, got {reduction!r}")
    x = _t(input)
    t = target if isinstance(target, Tensor) else _wrap(np.asarray(target, dtype=x.dtype))
    if log_target:
        losses = fn.exp(t) * (t - x)
    else:
        positive = t.data > 0
        safe = fn.where(positive, t, 1.0)  # log 1 = 0 where t = 0, so t log t = 0 there
        losses = t * fn.log(safe) - t * x
    if reduction == "batchmean":
        total = fn.sum(losses)
        if not losses.ndim:
            return total
        n = losses.shape[0]  # no batch: NaN, as PyTorch's 0 / 0, without NumPy's warning
        return total / n if n else total * float("nan")
    return _reduce(losses, reduction)
