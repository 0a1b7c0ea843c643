"""Layers: Linear, Identity, Flatten, Dropout, BatchNorm1d, BatchNorm2d."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from nabla import functional as fn
from nabla.nn import functional as F
from nabla.nn import init
from nabla.nn.module import Module, Parameter
from nabla.ops.linalg import Linear as LinearOp
from nabla.ops.normalization import UpdateRunningStats
from nabla.tensor import Tensor


class Linear(Module):
    """Dense layer y = x Wᵀ + b with W of shape (out_features, in_features) (PyTorch's layout).

    Forward and backward run as one fused node (the notes' dense layer): ∇X = G W, ∇W = Gᵀ X,
    ∇b = 1ᵀ G.

    Parameters
    ----------
    in_features, out_features : int
    bias : bool
    init : str, optional
        "default" (PyTorch's U(±1/√in_features) for weight and bias), or one of
        "xavier_uniform", "xavier_normal" (tanh/sigmoid), "kaiming_uniform", "kaiming_normal"
        (ReLU); those start the bias at zero.
    dtype : dtype
        float32 by default.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        init: str = "default",
        dtype: Any = np.float32,
        gain: float = 1.0,
    ) -> None:
        super().__init__()
        if in_features <= 0 or out_features <= 0:
            raise ValueError(
                f"Linear: in_features and out_features must be positive, got "
                f"{in_features} and {out_features}"
            )
        self.in_features, self.out_features = int(in_features), int(out_features)
        self.init_scheme, self.gain = init, gain
        self.weight = Parameter(np.empty((out_features, in_features), dtype=np.dtype(dtype)))
        if bias:
            self.bias = Parameter(np.empty(out_features, dtype=np.dtype(dtype)))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        scheme = self.init_scheme
        if scheme == "default":
            bound = 1 / math.sqrt(self.in_features)
            init.uniform_(self.weight, -bound, bound)
            if self.bias is not None:
                init.uniform_(self.bias, -bound, bound)
            return
        if scheme not in init.SCHEMES:
            raise ValueError(
                f"Linear: unknown init {scheme!r}; choose 'default' or one of "
                f"{', '.join(sorted(init.SCHEMES))}"
            )
        if scheme.startswith(("xavier", "glorot")):
            init.SCHEMES[scheme](self.weight, gain=self.gain)
        else:
            init.SCHEMES[scheme](self.weight)
        if self.bias is not None:
            init.zeros_(self.bias)

    def forward(self, x: Any) -> Tensor:
        params = self._parameters  # (not self.weight: Module.__getattr__ is the slow path)
        weight: Parameter = params["weight"]  # type: ignore[assignment]  # a Linear has one
        bias = params.get("bias")
        if type(x) is not Tensor:
            return fn.linear(x, weight, bias)
        if bias is None:
            return LinearOp.apply(x, weight)
        return LinearOp.apply(x, weight, bias)  # one fused node: Z = X Wᵀ + b

    def get_config(self) -> dict[str, Any]:
        return {
            "in_features": self.in_features,
            "out_features": self.out_features,
            "bias": self.bias is not None,
            "init": self.init_scheme,
            "dtype": str(self.weight.dtype),
        }

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"bias={self.bias is not None}"
        )


class Identity(Module):
    """Returns its input."""

    def forward(self, x: Any) -> Any:
        return x

    def get_config(self) -> dict[str, Any]:
        return {}


class Flatten(Module):
    """Flatten axes start_dim..end_dim (default: all but the batch axis)."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, x: Any) -> Tensor:
        return fn.flatten(x, self.start_dim, self.end_dim)

    def get_config(self) -> dict[str, Any]:
        return {"start_dim": self.start_dim, "end_dim": self.end_dim}

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Dropout(Module):
    """Inverted dropout: in training, zero with probability p and scale by 1/(1 − p); off in eval."""

    def __init__(self, p: float = 0.5) -> None:
        super().__init__()
        if not 0 <= p <= 1:
            raise ValueError(f"Dropout: probability must be in [0, 1], got {p}")
        self.p = float(p)

    def forward(self, x: Any) -> Tensor:
        return F.dropout(x, self.p, self.training)

    def get_config(self) -> dict[str, Any]:
        return {"p": self.p}

    def extra_repr(self) -> str:
        return f"p={self.p}"


class BatchNormBase(Module):
    """Batch normalisation over every axis but the channels' (axis 1), PyTorch semantics.

    Training normalises with the batch mean and biased variance and updates the running
    statistics with the unbiased variance (momentum 0.1); eval uses the running statistics.
    """

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        dtype: Any = np.float32,
    ) -> None:
        super().__init__()
        self.num_features, self.eps, self.momentum = int(num_features), float(eps), momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        dtype = np.dtype(dtype)
        if affine:
            self.weight = Parameter(np.ones(num_features, dtype=dtype))
            self.bias = Parameter(np.zeros(num_features, dtype=dtype))
        if track_running_stats:
            self.register_buffer("running_mean", np.zeros(num_features, dtype=dtype))
            self.register_buffer("running_var", np.ones(num_features, dtype=dtype))
            self.register_buffer("num_batches_tracked", np.zeros((), dtype=np.int64))

    def forward(self, x: Any) -> Tensor:
        x = x if isinstance(x, Tensor) else Tensor(x)
        self._check_input(x)
        axes = (0, *range(2, x.ndim))  # every axis but the channels'
        shape = (1, -1) + (1,) * (x.ndim - 2)
        use_batch = self.training or not self.track_running_stats
        if use_batch:
            n = int(np.prod([x.shape[a] for a in axes]))
            if n <= 1 and self.training:
                raise ValueError(
                    f"{type(self).__name__}: expected more than 1 value per channel when training, got "
                    f"input of shape {x.shape}"
                )
            mean = fn.mean(x, axis=axes, keepdims=True)
            centered = x - mean
            var = fn.mean(centered * centered, axis=axes, keepdims=True)
            x_hat: Tensor = centered / fn.sqrt(var + self.eps)
            if self.training and self.track_running_stats:
                UpdateRunningStats.apply(
                    mean,
                    var,
                    running_mean=self.running_mean,
                    running_var=self.running_var,
                    count=self.num_batches_tracked,
                    momentum=self.momentum,
                    n=n,
                )
        else:
            # the buffers enter as tensors (no copy), so a compiled eval step reads their
            # current values on every call instead of freezing them
            mean = fn.reshape(Tensor(self.running_mean), shape)
            var = fn.reshape(Tensor(self.running_var), shape)
            x_hat = (x - mean) / fn.sqrt(var + self.eps)
        if self.affine:
            x_hat = x_hat * fn.reshape(self.weight, shape) + fn.reshape(self.bias, shape)
        return x_hat

    def _check_input(self, x: Tensor) -> None:
        raise NotImplementedError

    def get_config(self) -> dict[str, Any]:
        return {
            "num_features": self.num_features,
            "eps": self.eps,
            "momentum": self.momentum,
            "affine": self.affine,
            "track_running_stats": self.track_running_stats,
            "dtype": str(self._float_dtype()),
        }

    def _float_dtype(self) -> np.dtype[Any]:
        # the dtype of the state (after any .to()), so a rebuilt layer loads it without rounding
        for p in self.parameters():
            return p.dtype
        for b in self.buffers():
            if b.dtype.kind == "f":
                return b.dtype
        return np.dtype(np.float32)

    def extra_repr(self) -> str:
        return (
            f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}"
        )


class BatchNorm1d(BatchNormBase):
    """Batch normalisation of (N, C) or (N, C, L) inputs per channel (PyTorch semantics)."""

    def _check_input(self, x: Tensor) -> None:
        if x.ndim not in (2, 3) or x.shape[1] != self.num_features:
            raise ValueError(
                f"BatchNorm1d({self.num_features}): expected input of shape (N, "
                f"{self.num_features}) or (N, {self.num_features}, L), got {x.shape}"
            )


class BatchNorm2d(BatchNormBase):
    """Batch normalisation of (N, C, H, W) images per channel, over the batch and the pixels
    (PyTorch semantics, as :class:`BatchNorm1d`)."""

    def _check_input(self, x: Tensor) -> None:
        if x.ndim != 4 or x.shape[1] != self.num_features:
            raise ValueError(
                f"BatchNorm2d({self.num_features}): expected input of shape (N, "
                f"{self.num_features}, H, W), got {x.shape}"
            )
