"""What the nabla estimators share: the network and scikit-learn's training loops.

The loops follow ``sklearn/neural_network/_multilayer_perceptron.py`` step for step (the same
RandomState draws for Glorot initialisation, per-epoch shuffling and early-stopping splits, the
same mini-batches, loss values and update rules), but every gradient comes from nabla's
autodiff of the loss in ``_loss.py``, never from a hand-written backward pass.

This parity loop stays its own rather than running on ``nabla.training``'s Trainer: the
estimators deliberately mirror scikit-learn's own loop (its batching, shuffling, early stopping
and learning-rate schedule, epoch by epoch), so that ``parity=True`` reproduces scikit-learn's
``loss_curve_``; the Trainer follows PyTorch's conventions instead.
"""

from __future__ import annotations

import copy
import itertools
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, cast

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state, gen_batches, shuffle
from sklearn.utils.validation import check_is_fitted

from nabla.autograd.mode import no_grad
from nabla.creation import get_rng_state, manual_seed, set_rng_state
from nabla.nn import BatchNorm1d, Dropout, Linear, Module, Sequential
from nabla.optim import OPTIMIZERS, Optimizer, build_optimizer
from nabla.sklearn._lbfgs import fit_lbfgs
from nabla.sklearn._loss import objective
from nabla.sklearn._optim import AdamOptimizer, SGDOptimizer
from nabla.sklearn._settings import (
    Settings,
    check_sample_weight,
    resolve_activation,
    validate_settings,
)
from nabla.tensor import Tensor

if TYPE_CHECKING:
    from typing_extensions import Self


@contextmanager
def nabla_seed(seed: int) -> Iterator[None]:
    """Use a seeded nabla generator (layer construction, dropout); restore the user's after."""
    saved = get_rng_state()
    manual_seed(seed)
    try:
        yield
    finally:
        set_rng_state(saved)


def _batch_size(s: Settings, n_samples: int) -> int:
    """scikit-learn's batch size: min(200, n) for "auto", else clipped to [1, n] with a warning."""
    if s.batch_size == "auto":
        return min(200, n_samples)
    if s.batch_size > n_samples:
        warnings.warn(
            "Got `batch_size` less than 1 or larger than sample size. It is going to be clipped",
            UserWarning,
            stacklevel=5,  # fit -> _fit -> _fit_stochastic -> here
        )
    return int(np.clip(s.batch_size, 1, n_samples))


class BaseNetwork(BaseEstimator):  # type: ignore[misc]
    """Base class of the estimators: subclasses define ``_settings`` and the target handling."""

    _is_classifier = False

    # ----- hooks --------------------------------------------------------------------------
    def _settings(self) -> Settings:
        raise NotImplementedError

    def _validate_input(
        self, X: Any, y: Any, incremental: bool, reset: bool, dtype: np.dtype[Any]
    ) -> tuple[Any, Any, Any]:
        raise NotImplementedError

    def _output_activation(self) -> str:
        raise NotImplementedError

    def _score(self, X: Any, y: Any, sample_weight: Any = None) -> float:
        raise NotImplementedError

    def _extra_weights(self, y: Any, incremental: bool) -> Any:
        return None

    # ----- the network ----------------------------------------------------------------------
    def _input_options(self) -> dict[str, Any]:
        """``validate_data`` options: a user's module may take images (n, c, h, w)."""
        return {"allow_nd": True} if getattr(self, "module", None) is not None else {}

    def _build_module(self, s: Settings, dtype: np.dtype[Any]) -> Module:
        """A copy of the user's module (the parameter itself is never trained, as scikit-learn's
        estimators leave their parameters alone), or what the callable returns, in ``dtype``."""
        if isinstance(s.module, Module):
            model = copy.deepcopy(s.module)
        else:
            with nabla_seed(int(self._random_state.randint(2**31 - 1))):
                model = s.module()
            if not isinstance(model, Module):
                raise TypeError(
                    f"module: the callable returned a {type(model).__name__}, not a nabla "
                    "nn.Module"
                )
        return model.to(dtype)

    def _initialize(self, s: Settings, layer_units: list[int], dtype: np.dtype[Any]) -> None:
        self.n_iter_ = 0
        self.t_ = 0
        self.n_layers_ = len(layer_units)
        self.out_activation_ = self._output_activation()
        self._n_outputs = layer_units[-1]
        if s.module is not None:
            self.model_ = self._build_module(s, dtype)
            self._best_state = self._state_copy()
            self._init_curves(s)
            return
        layers: list[Module] = []
        activation = resolve_activation(s.activation)
        # scikit-learn's Glorot-uniform draws, layer by layer: the (in, out) weights, then biases
        # (its factor is 2 for its "logistic" activation, 6 for the others)
        factor = 2.0 if activation.sklearn_name == "logistic" else 6.0
        for i, (fan_in, fan_out) in enumerate(itertools.pairwise(layer_units)):
            bound = np.sqrt(factor / (fan_in + fan_out))
            coef = self._random_state.uniform(-bound, bound, (fan_in, fan_out))
            intercept = self._random_state.uniform(-bound, bound, fan_out)
            with nabla_seed(0):  # Linear draws its own init; keep the user's stream untouched
                linear = Linear(fan_in, fan_out, dtype=dtype)
            linear.weight.data[...] = coef.astype(dtype).T
            linear.bias.data[...] = intercept.astype(dtype)
            layers.append(linear)
            if i == len(layer_units) - 2:
                break
            if s.batch_norm:
                layers.append(BatchNorm1d(fan_out, dtype=dtype))
            layers.append(activation.build(negative_slope=s.negative_slope))
            if s.dropout:
                layers.append(Dropout(s.dropout))
        self.model_ = Sequential(*layers)
        self._best_state = self._state_copy()
        if s.solver != "lbfgs":
            self._init_curves(s)

    def _init_curves(self, s: Settings) -> None:
        self.loss_curve_: list[float] = []
        self._no_improvement_count = 0
        if s.early_stopping:
            self.validation_scores_: list[float] | None = []
            self.best_validation_score_: float | None = -np.inf
            self.best_loss_: float | None = None
        else:
            self.best_loss_ = np.inf
            self.validation_scores_ = None
            self.best_validation_score_ = None

    def _state_copy(self) -> dict[str, np.ndarray[Any, Any]]:
        return {k: v.copy() for k, v in self.model_.state_dict().items()}

    def _linears(self) -> list[Linear]:
        return [m for m in self.model_.modules() if isinstance(m, Linear)]

    @property
    def coefs_(self) -> list[np.ndarray[Any, Any]]:
        """Weights in scikit-learn's layout: one (fan_in, fan_out) array per layer (copies)."""
        check_is_fitted(self, "model_")
        return [m.weight.data.T.copy() for m in self._linears()]

    @property
    def intercepts_(self) -> list[np.ndarray[Any, Any]]:
        """Biases: one (fan_out,) array per layer (copies)."""
        check_is_fitted(self, "model_")
        return [m.bias.data.copy() for m in self._linears()]

    @property
    def n_outputs_(self) -> int:
        check_is_fitted(self, "model_")
        return int(self._n_outputs)

    # ----- loss -----------------------------------------------------------------------------
    def _forward(self, X: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
        """The network's raw outputs (logits or regression values), in eval mode, in float64.

        A float32 network is evaluated on a float64 copy of its weights: float32 BLAS results
        depend on the batch's shape by an ulp, and predictions must not depend on which rows
        are predicted together (scikit-learn's subset-invariance check).
        """
        model = self.model_.eval()
        if model.dtype != np.float64:
            model = copy.deepcopy(model).double()
        with no_grad():
            out = model(Tensor(np.asarray(X, dtype=np.float64))).data
        return np.asarray(out)

    # ----- fitting --------------------------------------------------------------------------
    def _fit(self, X: Any, y: Any, sample_weight: Any, incremental: bool) -> Self:
        s = self._settings()
        dtype = validate_settings(s, getattr(self, "class_weight", None))
        first_pass = not hasattr(self, "model_") or (not self.warm_start and not incremental)
        X, Y, y_raw = self._validate_input(X, y, incremental, first_pass, dtype)
        if Y.ndim == 1:
            Y = Y.reshape(-1, 1)
        n_samples, n_features = X.shape[:2]
        sw = None
        if sample_weight is not None:
            sw = check_sample_weight(sample_weight, n_samples, dtype)
        extra = self._extra_weights(y_raw, incremental)
        if extra is not None:
            sw = extra.astype(dtype) if sw is None else sw * extra.astype(dtype)
        layer_units = [n_features, *s.hidden_layer_sizes, Y.shape[1]]
        self._random_state = check_random_state(self.random_state)
        if first_pass:
            self._initialize(s, layer_units, dtype)
            if s.module is not None:
                self._check_module_output(X, Y.shape[1])
        elif self.n_outputs_ != Y.shape[1] or (
            s.module is None and self._linears()[0].in_features != n_features
        ):
            raise ValueError(
                f"the network was fitted with {self.n_outputs_} outputs; y now needs "
                f"{Y.shape[1]} (warm_start and partial_fit need the same targets)"
            )
        seed = int(self._random_state.randint(2**31 - 1)) if s.dropout else 0
        with nabla_seed(seed):
            self.model_.train()
            if s.solver == "lbfgs":
                fit_lbfgs(self, X, Y, sw, s)
            else:
                self._fit_stochastic(X, Y, sw, incremental, s)
            self.model_.eval()
        if not all(np.isfinite(v).all() for v in self.model_.state_dict().values()):
            raise ValueError(
                "Solver produced non-finite parameter weights. The input data may contain large "
                "values and need to be preprocessed."
            )
        return self

    def _check_module_output(self, X: Any, n_outputs: int) -> None:
        """Refuse a user's module whose output is not (n_samples, n_outputs), before training."""
        try:
            shape = self._forward(X[:2]).shape
        except Exception as exc:  # the user's forward pass: say which input it failed on
            raise ValueError(
                f"module: the forward pass failed on X of shape {(2, *X.shape[1:])}: {exc}"
            ) from exc
        if shape != (min(len(X), 2), n_outputs):
            what = (
                "one logit per class, one for two classes"
                if self._is_classifier
                else "one value per target"
            )
            raise ValueError(
                f"module: its output has shape {shape} for X of shape {(2, *X.shape[1:])}; y "
                f"needs (n_samples, {n_outputs}) ({what})"
            )

    def _make_optimizer(self, s: Settings) -> Optimizer:
        params = list(self.model_.parameters())
        if s.solver == "sgd":
            return SGDOptimizer(params, s.learning_rate_init, s.momentum, s.nesterovs_momentum)
        if s.solver == "adam":
            return AdamOptimizer(params, s.learning_rate_init, (s.beta_1, s.beta_2), s.epsilon)
        if isinstance(s.solver, str) and s.solver in OPTIMIZERS:
            return build_optimizer(s.solver, params, lr=s.learning_rate_init)
        if isinstance(s.solver, type) and issubclass(s.solver, Optimizer):
            make = cast("Callable[..., Optimizer]", s.solver)  # a subclass: it takes lr
            return make(params, lr=s.learning_rate_init)
        optimizer = s.solver(params)
        if not isinstance(optimizer, Optimizer):
            raise TypeError(
                f"solver: the callable returned a {type(optimizer).__name__}, not a nabla "
                "Optimizer"
            )
        return optimizer

    def _fit_stochastic(self, X: Any, Y: Any, sw: Any, incremental: bool, s: Settings) -> None:
        if not hasattr(self, "loss_curve_"):  # warm start after an lbfgs fit
            self._init_curves(s)
        if not incremental or not hasattr(self, "_optimizer"):
            self._optimizer = self._make_optimizer(s)
            self._lr_init = [float(g["lr"]) for g in self._optimizer.param_groups]
        if s.early_stopping and incremental:
            raise ValueError("partial_fit does not support early_stopping=True")
        X, Y, sw, validation = self._validation_split(X, Y, sw, s)
        n_samples = X.shape[0]
        sample_idx = np.arange(n_samples, dtype=int)
        batches = self._batches(n_samples, _batch_size(s, n_samples), s)
        self.n_iter_ = 0
        for _ in range(s.max_iter):
            if s.shuffle:
                # only the indices are shuffled, with scikit-learn's draw from its RandomState
                sample_idx = shuffle(sample_idx, random_state=self._random_state)
            self._epoch(X, Y, sw, sample_idx if s.shuffle else None, batches, s)
            self._update_no_improvement_count(s, *validation)
            self._iteration_ends(s)
            if self._should_stop(s) or incremental:
                break
            if self.n_iter_ == s.max_iter:
                warnings.warn(
                    f"Stochastic Optimizer: Maximum iterations ({s.max_iter}) reached and the "
                    "optimization hasn't converged yet.",
                    ConvergenceWarning,
                    stacklevel=4,
                )
        if s.early_stopping:
            self.model_.load_state_dict(self._best_state)

    def _validation_split(
        self, X: Any, Y: Any, sw: Any, s: Settings
    ) -> tuple[Any, Any, Any, tuple[Any, Any, Any]]:
        """(X, Y, sw) to train on and (X_val, y_val, sw_val) to score, as scikit-learn splits."""
        if not s.early_stopping:
            return X, Y, sw, (None, None, None)
        # as scikit-learn: stratify single-output classification only
        stratify = Y if self._is_classifier and Y.shape[1] == 1 else None
        arrays = [X, Y] if sw is None else [X, Y, sw]
        parts = train_test_split(
            *arrays,
            random_state=self._random_state,
            test_size=s.validation_fraction,
            stratify=stratify,
        )
        X, X_val, Y, Y_val = parts[:4]
        sw, sw_val = (parts[4], parts[5]) if len(parts) == 6 else (None, None)
        if X_val.shape[0] < 2:
            raise ValueError(
                "The validation set is too small. Increase 'validation_fraction' or the "
                "size of your dataset."
            )
        return X, Y, sw, (X_val, self._decode(Y_val), sw_val)

    def _epoch(
        self, X: Any, Y: Any, sw: Any, sample_idx: Any, batches: list[slice], s: Settings
    ) -> None:
        """One pass over the batches (in ``sample_idx`` order, if given); record its loss."""
        accumulated_loss = 0.0
        for batch_slice in batches:
            batch_idx = batch_slice if sample_idx is None else sample_idx[batch_slice]
            sw_batch = None if sw is None else sw[batch_idx]
            if sw_batch is not None and not sw_batch.any():
                continue  # a batch of zero weight has no loss and no gradient
            Xb, Yb = X[batch_idx], Y[batch_idx]
            loss = objective(self.model_, self.out_activation_, Xb, Yb, sw_batch, s.alpha)
            self._optimizer.zero_grad()
            loss.backward()
            self._optimizer.step()
            accumulated_loss += float(loss.data) * (batch_slice.stop - batch_slice.start)
        n_samples = X.shape[0]
        self.n_iter_ += 1
        self.loss_ = accumulated_loss / n_samples
        self.t_ += n_samples
        self.loss_curve_.append(self.loss_)
        if s.verbose:
            print(f"Iteration {self.n_iter_}, loss = {self.loss_:.8f}")

    def _should_stop(self, s: Settings) -> bool:
        """scikit-learn's stopping rule, after ``n_iter_no_change`` epochs without progress."""
        if self._no_improvement_count <= s.n_iter_no_change:
            return False
        what = "Validation score" if s.early_stopping else "Training loss"
        msg = (
            f"{what} did not improve more than tol={s.tol:f} for "
            f"{s.n_iter_no_change} consecutive epochs."
        )
        if self._trigger_stopping(s, msg):
            return True
        self._no_improvement_count = 0
        return False

    @staticmethod
    def _batches(n_samples: int, batch_size: int, s: Settings) -> list[slice]:
        batches = list(gen_batches(n_samples, batch_size))
        # BatchNorm cannot train on one row: merge a trailing single-row batch into the previous
        if s.batch_norm and len(batches) > 1 and batches[-1].stop - batches[-1].start == 1:
            batches[-2:] = [slice(batches[-2].start, batches[-1].stop)]
        return batches

    def _iteration_ends(self, s: Settings) -> None:
        if s.learning_rate == "invscaling" and s.solver != "adam":
            for group, lr0 in zip(self._optimizer.param_groups, self._lr_init):
                group["lr"] = float(lr0) / (self.t_ + 1) ** s.power_t

    def _trigger_stopping(self, s: Settings, msg: str) -> bool:
        groups = self._optimizer.param_groups
        if s.learning_rate != "adaptive" or s.solver == "adam":
            if s.verbose:
                print(msg + " Stopping.")
            return True
        if groups[0]["lr"] <= 1e-6:
            if s.verbose:
                print(msg + " Learning rate too small. Stopping.")
            return True
        for group in groups:
            group["lr"] /= 5.0
        if s.verbose:
            print(msg + f" Setting learning rate to {groups[0]['lr']:f}")
        return False

    def _update_no_improvement_count(self, s: Settings, X: Any, y: Any, sw: Any) -> None:
        if s.early_stopping:
            score = self._score(X, y, sample_weight=sw)
            self.model_.train()
            assert self.validation_scores_ is not None
            self.validation_scores_.append(score)
            if s.verbose:
                print(f"Validation score: {score:f}")
            best = self.best_validation_score_
            assert best is not None
            if score < best + s.tol:
                self._no_improvement_count += 1
            else:
                self._no_improvement_count = 0
            if score > best:
                self.best_validation_score_ = score
                self._best_state = self._state_copy()
        else:
            assert self.best_loss_ is not None
            if self.loss_curve_[-1] > self.best_loss_ - s.tol:
                self._no_improvement_count += 1
            else:
                self._no_improvement_count = 0
            self.best_loss_ = min(self.best_loss_, self.loss_curve_[-1])

    def _decode(self, Y: Any) -> Any:
        return Y
