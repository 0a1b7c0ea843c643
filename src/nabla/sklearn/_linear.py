"""``LogisticRegression``: a network without hidden layers, with scikit-learn's objective."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.utils.validation import check_is_fitted

from nabla.sklearn._classifier import _Classifier
from nabla.sklearn._settings import Settings


class LogisticRegression(_Classifier):
    """Logistic regression (L2-penalised, multinomial for several classes) trained by nabla.

    A network without hidden layers: one sigmoid output for two classes, softmax for more.
    The objective is scikit-learn's, ``C·Σᵢ sᵢ ℓᵢ + ½‖W‖²`` divided by ``C·Σᵢ sᵢ``, so with the
    default full-batch L-BFGS solver the coefficients agree with
    ``sklearn.linear_model.LogisticRegression`` to the solvers' tolerance.

    Parameters
    ----------
    C : float, default=1.0
        Inverse regularisation strength (``np.inf`` for none); the MLP's ``alpha`` is 1/C.
    class_weight : dict, "balanced" or None, default=None
    solver : str, nabla Optimizer class, or callable, default="lbfgs"
        As in :class:`MLPClassifier`: scikit-learn's "lbfgs", "adam" or "sgd", or another name
        in ``nabla.optim.OPTIMIZERS``.
    max_iter : int, default=100
    tol : float, default=1e-4
    batch_size, learning_rate, learning_rate_init, early_stopping, validation_fraction,
    n_iter_no_change, shuffle, random_state, warm_start, verbose
        As in :class:`MLPClassifier` (for the stochastic solvers).
    dtype : {"float32", "float64"}, default="float32"

    Attributes
    ----------
    coef_ : ndarray of shape (1, n_features) or (n_classes, n_features)
    intercept_ : ndarray of shape (1,) or (n_classes,)
    classes_, n_iter_, loss_, model_, n_features_in_, feature_names_in_

    Examples
    --------
    >>> from sklearn.datasets import load_breast_cancer
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from nabla.sklearn import LogisticRegression
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> model = make_pipeline(StandardScaler(), LogisticRegression()).fit(X, y)
    >>> model.score(X, y) > 0.95
    True
    """

    def __init__(
        self,
        C: float = 1.0,
        *,
        class_weight: Any = None,
        solver: Any = "lbfgs",
        max_iter: int = 100,
        tol: float = 1e-4,
        batch_size: Any = "auto",
        learning_rate: str = "constant",
        learning_rate_init: float = 0.001,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        n_iter_no_change: int = 10,
        shuffle: bool = True,
        random_state: Any = None,
        warm_start: bool = False,
        verbose: int = 0,
        dtype: Any = "float32",
    ) -> None:
        self.C = C
        self.class_weight = class_weight
        self.solver = solver
        self.max_iter = max_iter
        self.tol = tol
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.shuffle = shuffle
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose
        self.dtype = dtype

    def _settings(self) -> Settings:
        if not (isinstance(self.C, (int, float, np.number)) and self.C > 0):
            raise ValueError(f"C must be a positive number, got {self.C!r}")
        return Settings(
            hidden_layer_sizes=(),
            activation="identity",
            solver=self.solver,
            alpha=1.0 / float(self.C),
            batch_size=self.batch_size,
            learning_rate=self.learning_rate,
            learning_rate_init=self.learning_rate_init,
            power_t=0.5,
            max_iter=self.max_iter,
            shuffle=self.shuffle,
            tol=self.tol,
            verbose=self.verbose,
            momentum=0.9,
            nesterovs_momentum=True,
            early_stopping=self.early_stopping,
            validation_fraction=self.validation_fraction,
            beta_1=0.9,
            beta_2=0.999,
            epsilon=1e-8,
            n_iter_no_change=self.n_iter_no_change,
            max_fun=15000,
            dropout=0.0,
            batch_norm=False,
            negative_slope=0.01,
            dtype=self.dtype,
            parity=False,
            lbfgs_ftol=64 * float(np.finfo(float).eps),  # as sklearn.linear_model's lbfgs
        )

    @property
    def coef_(self) -> np.ndarray[Any, Any]:
        check_is_fitted(self, "model_")
        return np.array(self._linears()[0].weight.data)

    @property
    def intercept_(self) -> np.ndarray[Any, Any]:
        check_is_fitted(self, "model_")
        return np.array(self._linears()[0].bias.data)

    def decision_function(self, X: Any) -> np.ndarray[Any, Any]:
        """Logits: (n_samples,) for two classes, else (n_samples, n_classes)."""
        z = self._forward(self._check_X(X))
        return z.ravel() if z.shape[1] == 1 else z
