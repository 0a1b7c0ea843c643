"""``MLPClassifier`` and ``MLPRegressor``: scikit-learn's MLPs, trained by nabla."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from sklearn.base import RegressorMixin
from sklearn.metrics import r2_score
from sklearn.utils import column_or_1d
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted, validate_data

from nabla.sklearn._base import BaseNetwork
from nabla.sklearn._classifier import _Classifier, _is_stochastic
from nabla.sklearn._settings import Settings

if TYPE_CHECKING:
    from typing_extensions import Self

_COMMON_DOC = """
    Parameters
    ----------
    hidden_layer_sizes : int or tuple of int, default=(100,)
        Widths of the hidden layers.
    activation : str, default="relu"
        Hidden activation: scikit-learn's "relu", "tanh", "logistic", "identity", or any name
        in ``nabla.nn.ACTIVATIONS`` ("sigmoid" is "logistic"; "leaky_relu" uses
        ``negative_slope``; an activation registered with ``nabla.nn.register_activation``).
    solver : str, nabla Optimizer class, or callable, default="adam"
        "adam", "sgd" and "lbfgs" are scikit-learn's rules. Another name in
        ``nabla.optim.OPTIMIZERS`` ("adamw", "rmsprop", "adagrad") and a nabla optimizer class
        (such as ``nabla.optim.AdamW``) are built with ``lr=learning_rate_init``; any other
        callable is called with the list of parameters and must return a nabla Optimizer.
    alpha : float, default=1e-4
        L2 penalty: the loss gains α/(2n)·Σ‖W‖² (n: the batch size or its total sample weight).
    batch_size : int or "auto", default="auto"
        ``min(200, n_samples)`` for "auto".
    learning_rate : {"constant", "invscaling", "adaptive"}, default="constant"
        Schedule for every solver except "adam" and "lbfgs" (scikit-learn's rules).
    learning_rate_init, power_t, max_iter, shuffle, random_state, tol, verbose, warm_start,
    momentum, nesterovs_momentum, early_stopping, validation_fraction, beta_1, beta_2, epsilon,
    n_iter_no_change, max_fun
        As in scikit-learn's MLP.
    dropout : float, default=0.0
        Dropout probability after each hidden activation (training only).
    batch_norm : bool, default=False
        BatchNorm1d after each hidden Linear layer.
    negative_slope : float, default=0.01
        Slope of "leaky_relu" for negative inputs.
    dtype : {"float32", "float64"}, default="float32"
        Floating-point type of the weights and the computation.
    parity : bool, default=False
        Reproduce scikit-learn's MLP: compute in float64 and refuse the options scikit-learn
        lacks. The training algorithm is scikit-learn's in both modes (its Glorot draws from
        ``random_state``, batches, loss values and update rules); the gradients come from
        nabla's autodiff. Same settings and data then give scikit-learn's ``loss_curve_`` to
        ~1e-15 relative while training is stable (rounding differences can grow in chaotic
        runs: unscaled data, large rates, hundreds of epochs).
    module : nabla.nn.Module or callable, default=None
        Your own network instead of the built-in MLP (``hidden_layer_sizes``, ``activation``,
        ``dropout`` and ``batch_norm`` then do not apply): a Module, copied at each fresh fit
        (the parameter itself is never trained, so ``clone`` and ``get_params`` see it
        unchanged), or a callable with no arguments returning one (called under a seed drawn
        from ``random_state``). Its output must be (n_samples, n_outputs): one logit per
        class, a single logit for two classes (sigmoid), one value per regression target.
        X may then have any shape (n_samples, ...), such as images (n, channels, h, w) for a
        ``nn.Conv2d`` network. ``solver="lbfgs"`` and ``parity=True`` take the built-in MLP
        only.
"""


class _MLPSettings:
    """``_settings`` for the MLP estimators, whose parameters carry scikit-learn's names."""

    def _settings(self: Any) -> Settings:
        sizes = self.hidden_layer_sizes
        sizes = (sizes,) if not hasattr(sizes, "__iter__") else tuple(sizes)
        return Settings(
            hidden_layer_sizes=sizes,
            activation=self.activation,
            solver=self.solver,
            alpha=self.alpha,
            batch_size=self.batch_size,
            learning_rate=self.learning_rate,
            learning_rate_init=self.learning_rate_init,
            power_t=self.power_t,
            max_iter=self.max_iter,
            shuffle=self.shuffle,
            tol=self.tol,
            verbose=self.verbose,
            momentum=self.momentum,
            nesterovs_momentum=self.nesterovs_momentum,
            early_stopping=self.early_stopping,
            validation_fraction=self.validation_fraction,
            beta_1=self.beta_1,
            beta_2=self.beta_2,
            epsilon=self.epsilon,
            n_iter_no_change=self.n_iter_no_change,
            max_fun=self.max_fun,
            dropout=self.dropout,
            batch_norm=self.batch_norm,
            negative_slope=self.negative_slope,
            dtype=self.dtype,
            parity=self.parity,
            module=self.module,
        )


class MLPClassifier(_MLPSettings, _Classifier):
    __doc__ = (
        """Multi-layer perceptron classifier trained by nabla's autodiff.

    scikit-learn's ``MLPClassifier`` (same parameters, attributes and default algorithm:
    Glorot-uniform initialisation, softmax + cross-entropy for several classes, one sigmoid
    output for two, mini-batch Adam or SGD), plus dropout, batch normalisation, leaky ReLU,
    ``class_weight``, any nabla optimizer and float32 computation.
"""
        + _COMMON_DOC
        + """    class_weight : dict, "balanced" or None, default=None
        Weights of the classes, multiplied into the sample weights.

    Attributes
    ----------
    classes_, loss_, loss_curve_, best_loss_, validation_scores_, best_validation_score_,
    t_, n_iter_, n_layers_, n_outputs_, out_activation_, coefs_, intercepts_,
    n_features_in_, feature_names_in_
        As in scikit-learn (``coefs_``/``intercepts_`` are copies of the weights).
    model_ : nabla.nn.Sequential
        The fitted network (logits out); save it with ``nb.save`` or export it with
        ``nabla.onnx.export``.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from nabla.sklearn import MLPClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = MLPClassifier((16,), "leaky_relu", learning_rate_init=0.01, max_iter=500,
    ...                     random_state=0)
    >>> clf.fit(X, y).score(X, y) > 0.9
    True
    """
    )

    def __init__(
        self,
        hidden_layer_sizes: Any = (100,),
        activation: str = "relu",
        *,
        solver: Any = "adam",
        alpha: float = 0.0001,
        batch_size: Any = "auto",
        learning_rate: str = "constant",
        learning_rate_init: float = 0.001,
        power_t: float = 0.5,
        max_iter: int = 200,
        shuffle: bool = True,
        random_state: Any = None,
        tol: float = 1e-4,
        verbose: bool = False,
        warm_start: bool = False,
        momentum: float = 0.9,
        nesterovs_momentum: bool = True,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-8,
        n_iter_no_change: int = 10,
        max_fun: int = 15000,
        dropout: float = 0.0,
        batch_norm: bool = False,
        negative_slope: float = 0.01,
        class_weight: Any = None,
        dtype: Any = "float32",
        parity: bool = False,
        module: Any = None,
    ) -> None:
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.dropout = dropout
        self.batch_norm = batch_norm
        self.negative_slope = negative_slope
        self.class_weight = class_weight
        self.dtype = dtype
        self.parity = parity
        self.module = module


class MLPRegressor(_MLPSettings, RegressorMixin, BaseNetwork):  # type: ignore[misc]
    __doc__ = (
        """Multi-layer perceptron regressor trained by nabla.

    Parameters
    ----------
    loss : {"squared_error", "poisson"}, default="squared_error"
        "squared_error": identity output, loss ½‖ŷ − y‖²; "poisson": ŷ = exp(z), loss
        ŷ − y log ŷ (+ terms without parameters). Averaged over samples, summed over
        outputs, plus the L2 penalty.
"""
        + _COMMON_DOC.replace("    Parameters\n    ----------\n", "")
        + """
    Examples
    --------
    >>> import numpy as np
    >>> from nabla.sklearn import MLPRegressor
    >>> X = np.linspace(-1, 1, 200).reshape(-1, 1)
    >>> reg = MLPRegressor(hidden_layer_sizes=(32,), activation="tanh", learning_rate_init=0.01,
    ...                    random_state=0)
    >>> reg.fit(X, X.ravel() ** 2).score(X, X.ravel() ** 2) > 0.9
    True
    """
    )

    def __init__(
        self,
        loss: str = "squared_error",
        hidden_layer_sizes: Any = (100,),
        activation: str = "relu",
        *,
        solver: Any = "adam",
        alpha: float = 0.0001,
        batch_size: Any = "auto",
        learning_rate: str = "constant",
        learning_rate_init: float = 0.001,
        power_t: float = 0.5,
        max_iter: int = 200,
        shuffle: bool = True,
        random_state: Any = None,
        tol: float = 1e-4,
        verbose: bool = False,
        warm_start: bool = False,
        momentum: float = 0.9,
        nesterovs_momentum: bool = True,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-8,
        n_iter_no_change: int = 10,
        max_fun: int = 15000,
        dropout: float = 0.0,
        batch_norm: bool = False,
        negative_slope: float = 0.01,
        dtype: Any = "float32",
        parity: bool = False,
        module: Any = None,
    ) -> None:
        self.loss = loss
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.dropout = dropout
        self.batch_norm = batch_norm
        self.negative_slope = negative_slope
        self.dtype = dtype
        self.parity = parity
        self.module = module

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> Self:
        """Fit to X (n_samples, n_features) and targets y (n_samples,) or (n_samples, n_outputs)."""
        return self._fit(X, y, sample_weight, incremental=False)

    @available_if(_is_stochastic)  # type: ignore[untyped-decorator]  # sklearn has no types
    def partial_fit(self, X: Any, y: Any, sample_weight: Any = None) -> Self:
        """One epoch over (X, y)."""
        return self._fit(X, y, sample_weight, incremental=True)

    def _validate_input(
        self, X: Any, y: Any, incremental: bool, reset: bool, dtype: np.dtype[Any]
    ) -> tuple[Any, Any, Any]:
        X, y = validate_data(
            self,
            X,
            y,
            multi_output=True,
            y_numeric=True,
            dtype=dtype,
            reset=reset,
            **self._input_options(),
        )
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if self.loss not in ("squared_error", "poisson"):
            raise ValueError(f"loss must be 'squared_error' or 'poisson', got {self.loss!r}")
        if self.loss == "poisson" and (y < 0).any():
            raise ValueError(
                "Some value(s) of y are negative which is not allowed for Poisson regression."
            )
        return X, np.asarray(y, dtype=dtype), y

    def _output_activation(self) -> str:
        return "exp" if self.loss == "poisson" else "identity"

    def _predict(self, X: Any) -> np.ndarray[Any, Any]:
        out = self._forward(X)
        out = out.astype(np.float64)  # scikit-learn's regressors predict in float64
        if self.out_activation_ == "exp":
            out = np.exp(out)
        return out.ravel() if out.shape[1] == 1 else out

    def predict(self, X: Any) -> np.ndarray[Any, Any]:
        """Predicted values, (n_samples,) or (n_samples, n_outputs)."""
        check_is_fitted(self, "model_")
        options = self._input_options()
        return self._predict(
            validate_data(self, X, reset=False, dtype=self.model_.dtype, **options)
        )

    def _score(self, X: Any, y: Any, sample_weight: Any = None) -> float:
        return float(r2_score(y, self._predict(X), sample_weight=sample_weight))

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags
