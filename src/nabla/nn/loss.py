"""Loss modules wrapping the fused functional losses (PyTorch's names and arguments)."""

from __future__ import annotations

from typing import Any

import numpy as np

from nabla.nn import functional as F
from nabla.nn.module import Module
from nabla.tensor import Tensor


class CrossEntropyLoss(Module):
    """Softmax + cross-entropy on logits; targets are class indices or probabilities."""

    serializable = False

    def __init__(
        self,
        weight: Any = None,
        ignore_index: int = -100,
        reduction: str = "mean",
        label_smoothing: float = 0.0,
    ) -> None:
        super().__init__()
        self.weight = None if weight is None else np.asarray(getattr(weight, "data", weight))
        self.ignore_index, self.reduction = ignore_index, reduction
        self.label_smoothing = label_smoothing

    def forward(self, input: Any, target: Any) -> Tensor:
        return F.cross_entropy(
            input, target, self.weight, self.ignore_index, self.reduction, self.label_smoothing
        )


class NLLLoss(Module):
    """Negative log-likelihood of class indices given log-probabilities."""

    serializable = False

    def __init__(
        self, weight: Any = None, ignore_index: int = -100, reduction: str = "mean"
    ) -> None:
        super().__init__()
        self.weight, self.ignore_index, self.reduction = weight, ignore_index, reduction

    def forward(self, input: Any, target: Any) -> Tensor:
        return F.nll_loss(input, target, self.weight, self.ignore_index, self.reduction)


class BCEWithLogitsLoss(Module):
    """Sigmoid + binary cross-entropy on logits."""

    serializable = False

    def __init__(
        self, weight: Any = None, reduction: str = "mean", pos_weight: Any = None
    ) -> None:
        super().__init__()
        self.weight, self.reduction, self.pos_weight = weight, reduction, pos_weight

    def forward(self, input: Any, target: Any) -> Tensor:
        return F.binary_cross_entropy_with_logits(
            input, target, self.weight, self.reduction, self.pos_weight
        )


class MSELoss(Module):
    """Mean squared error."""

    serializable = False

    def __init__(self, reduction: str = "mean") -> None:
        super().__init__()
        self.reduction = reduction

    def forward(self, input: Any, target: Any) -> Tensor:
        return F.mse_loss(input, target, self.reduction)


class L1Loss(MSELoss):
    """Mean absolute error."""

    def forward(self, input: Any, target: Any) -> Tensor:
        return F.l1_loss(input, target, self.reduction)


class HuberLoss(Module):
    """Huber loss: ½ e² for |e| < delta, else delta·(|e| − ½ delta), with e = input − target."""

    serializable = False

    def __init__(self, reduction: str = "mean", delta: float = 1.0) -> None:
        super().__init__()
        self.reduction, self.delta = reduction, delta

    def forward(self, input: Any, target: Any) -> Tensor:
        return F.huber_loss(input, target, self.reduction, self.delta)


class SmoothL1Loss(Module):
    """Smooth L1 loss: ½ e² / beta for |e| < beta, else |e| − ½ beta, with e = input − target.

    ``size_average`` and ``reduce`` are PyTorch's deprecated arguments, accepted only as None.
    """

    serializable = False

    def __init__(
        self,
        size_average: Any = None,
        reduce: Any = None,
        reduction: str = "mean",
        beta: float = 1.0,
    ) -> None:
        super().__init__()
        F._no_legacy("SmoothL1Loss", size_average, reduce)
        self.reduction, self.beta = reduction, beta

    def forward(self, input: Any, target: Any) -> Tensor:
        return F.smooth_l1_loss(input, target, reduction=self.reduction, beta=self.beta)


class KLDivLoss(Module):
    """KL divergence of the target from log-probabilities; ``reduction="batchmean"`` is the
    divergence per sample ("mean" averages over all elements, as PyTorch's, without its warning).

    ``size_average`` and ``reduce`` are PyTorch's deprecated arguments, accepted only as None.
    """

    serializable = False

    def __init__(
        self,
        size_average: Any = None,
        reduce: Any = None,
        reduction: str = "mean",
        log_target: bool = False,
    ) -> None:
        super().__init__()
        F._no_legacy("KLDivLoss", size_average, reduce)
        self.reduction, self.log_target = reduction, log_target

    def forward(self, input: Any, target: Any) -> Tensor:
        return F.kl_div(input, target, reduction=self.reduction, log_target=self.log_target)


class BCELoss(Module):
    """Binary cross-entropy on probabilities in [0, 1], logs clamped at −100 (PyTorch's);
    ``BCEWithLogitsLoss`` on logits is the stable choice.

    ``size_average`` and ``reduce`` are PyTorch's deprecated arguments, accepted only as None.
    """

    serializable = False

    def __init__(
        self,
        weight: Any = None,
        size_average: Any = None,
        reduce: Any = None,
        reduction: str = "mean",
    ) -> None:
        super().__init__()
        F._no_legacy("BCELoss", size_average, reduce)
        self.weight, self.reduction = weight, reduction

    def forward(self, input: Any, target: Any) -> Tensor:
        return F.binary_cross_entropy(input, target, self.weight, self.reduction)
