"""``parity=True`` against scikit-learn itself: same draws, loss, batches and updates.

The gradients come from nabla's autodiff of the loss; only the initial weights, the batch order
and the update rule are shared with scikit-learn, so equal curves test all three at once.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest

pytest.importorskip("sklearn", minversion="1.6")

from sklearn import datasets, neural_network
from sklearn.exceptions import ConvergenceWarning

from nabla.sklearn import MLPClassifier, MLPRegressor

RTOL = 1e-6  # the bound; the curves agree to ~1e-15 in practice


def _standardized(X: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    std = X.std(axis=0)
    return (X - X.mean(axis=0)) / np.where(std > 0, std, 1.0)


def _data(name: str) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    loader = {"iris": datasets.load_iris, "digits": datasets.load_digits}[name]
    X, y = loader(return_X_y=True)
    if name == "digits":  # 600 rows keep the 40 fits fast; 3 batches of 200 per epoch
        X, y = X[:600], y[:600]
    return _standardized(X), y


def fit_both(sk_cls: Any, nb_cls: Any, X: Any, y: Any, **params: Any) -> tuple[Any, Any]:
    """Fit scikit-learn's estimator and nabla's (parity=True); both must warn alike."""
    fitted, caught = [], []
    for make in (lambda: sk_cls(**params), lambda: nb_cls(parity=True, **params)):
        with warnings.catch_warnings(record=True) as record:
            warnings.simplefilter("always", ConvergenceWarning)
            fitted.append(make().fit(X, y))
        caught.append(sorted(str(w.message) for w in record))
    assert caught[0] == caught[1]
    return fitted[0], fitted[1]


def assert_same_fit(sk: Any, ours: Any) -> float:
    expected, actual = np.asarray(sk.loss_curve_), np.asarray(ours.loss_curve_)
    assert actual.shape == expected.shape  # same epochs, so the same stopping decisions
    relative = float(np.max(np.abs(actual - expected) / expected))
    assert relative < RTOL, relative
    assert ours.n_iter_ == sk.n_iter_ and ours.t_ == sk.t_
    for theirs, mine in zip(sk.coefs_ + sk.intercepts_, ours.coefs_ + ours.intercepts_):
        np.testing.assert_allclose(mine, theirs, rtol=1e-6, atol=1e-9)
    return relative


SGD_SETTINGS = {
    f"{schedule}-{name}": {"learning_rate": schedule, **momentum}
    for schedule in ("constant", "invscaling", "adaptive")
    for name, momentum in (
        ("plain", {"momentum": 0.0}),
        ("momentum", {"momentum": 0.9, "nesterovs_momentum": False}),
        ("nesterov", {"momentum": 0.9, "nesterovs_momentum": True}),
    )
}
LR = {"constant": 0.01, "invscaling": 0.5, "adaptive": 0.05}


@pytest.mark.parametrize("dataset", ["iris", "digits"])
@pytest.mark.parametrize("setting", list(SGD_SETTINGS), ids=str)
def test_sgd_loss_curve_matches_sklearn(dataset: str, setting: str) -> None:
    X, y = _data(dataset)
    params = SGD_SETTINGS[setting]
    sk, ours = fit_both(
        neural_network.MLPClassifier,
        MLPClassifier,
        X,
        y,
        hidden_layer_sizes=(20,),
        activation="tanh",
        solver="sgd",
        learning_rate_init=LR[str(params["learning_rate"])],
        alpha=1e-3,
        batch_size=32 if dataset == "iris" else "auto",
        max_iter=25,
        # adaptive: a loose tol with patience 2 makes the rate drop several times in 25 epochs
        tol=3e-2 if params["learning_rate"] == "adaptive" else 1e-4,
        n_iter_no_change=2 if params["learning_rate"] == "adaptive" else 10,
        random_state=3,
        **params,
    )
    assert_same_fit(sk, ours)
    if params["learning_rate"] == "adaptive":  # the schedule really acted
        assert ours._optimizer.param_groups[0]["lr"] < LR["adaptive"]


@pytest.mark.parametrize("dataset", ["iris", "digits"])
@pytest.mark.parametrize("activation", ["relu", "logistic", "identity"])
def test_adam_loss_curve_matches_sklearn(dataset: str, activation: str) -> None:
    X, y = _data(dataset)
    sk, ours = fit_both(
        neural_network.MLPClassifier,
        MLPClassifier,
        X,
        y,
        hidden_layer_sizes=(16, 8),
        activation=activation,
        solver="adam",
        learning_rate_init=0.01,
        max_iter=20,
        random_state=0,
    )
    assert_same_fit(sk, ours)
    np.testing.assert_allclose(ours.predict_proba(X), sk.predict_proba(X), atol=1e-12)


def test_binary_one_logistic_output_and_sample_weight() -> None:
    X, y = datasets.load_breast_cancer(return_X_y=True)
    X = _standardized(X)
    weights = np.random.default_rng(0).uniform(0.5, 2.0, len(y))
    fitted = []
    for make in (neural_network.MLPClassifier, lambda **kw: MLPClassifier(parity=True, **kw)):
        est = make(hidden_layer_sizes=(8,), solver="sgd", max_iter=15, random_state=1)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)  # 15 epochs on purpose
            fitted.append(est.fit(X, y, sample_weight=weights))
    sk, ours = fitted
    assert ours.out_activation_ == "logistic" and ours.coefs_[-1].shape == (8, 1)
    assert_same_fit(sk, ours)


def test_early_stopping_split_and_best_weights_match_sklearn() -> None:
    X, y = _data("digits")
    sk, ours = fit_both(
        neural_network.MLPClassifier,
        MLPClassifier,
        X,
        y,
        hidden_layer_sizes=(16,),
        solver="adam",
        learning_rate_init=0.02,
        early_stopping=True,
        n_iter_no_change=3,
        max_iter=40,
        random_state=5,
    )
    assert_same_fit(sk, ours)
    assert ours.validation_scores_ == pytest.approx(sk.validation_scores_, abs=1e-12)


def test_lbfgs_matches_sklearn() -> None:
    X, y = _data("iris")
    sk, ours = fit_both(
        neural_network.MLPClassifier,
        MLPClassifier,
        X,
        y,
        hidden_layer_sizes=(10,),
        solver="lbfgs",
        max_iter=50,
        random_state=0,
    )
    assert ours.n_iter_ == sk.n_iter_
    assert ours.loss_ == pytest.approx(sk.loss_, rel=1e-6)


@pytest.mark.parametrize("loss", ["squared_error", "poisson"])
def test_regressor_loss_curve_matches_sklearn(loss: str) -> None:
    X, y = datasets.load_diabetes(return_X_y=True)
    X, y = _standardized(X), y / y.mean()
    sk, ours = fit_both(
        neural_network.MLPRegressor,
        MLPRegressor,
        X,
        y,
        loss=loss,
        hidden_layer_sizes=(16,),
        solver="sgd",
        learning_rate_init=0.005,
        max_iter=15,
        random_state=2,
    )
    assert_same_fit(sk, ours)


def test_partial_fit_and_warm_start_match_sklearn() -> None:
    X, y = _data("iris")
    params = {"hidden_layer_sizes": (8,), "solver": "sgd", "random_state": 0, "max_iter": 5}
    sk = neural_network.MLPClassifier(**params)
    ours = MLPClassifier(parity=True, **params)
    for _ in range(3):
        sk.partial_fit(X, y, classes=np.unique(y))
        ours.partial_fit(X, y, classes=np.unique(y))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # 5 more epochs, on purpose
        sk.set_params(warm_start=True).fit(X, y)
        ours.set_params(warm_start=True).fit(X, y)
    assert len(ours.loss_curve_) == 8
    assert_same_fit(sk, ours)


def test_parity_refuses_what_sklearn_lacks() -> None:
    X, y = _data("iris")
    for extra in ({"dropout": 0.1}, {"activation": "leaky_relu"}, {"class_weight": "balanced"}):
        with pytest.raises(ValueError, match="parity=True"):
            MLPClassifier(parity=True, **extra).fit(X, y)


@pytest.mark.parametrize("target", ["multiclass", "binary", "multilabel"])
def test_saturated_outputs_report_sklearns_clipped_loss(target: str) -> None:
    # unscaled pixels (0..16) and a large rate: some probabilities round to 0 or 1, where
    # scikit-learn's reported log-loss is clipped to [eps, 1 - eps]; the first epoch's loss is
    # several times the usual, and the adaptive schedule compares those values
    X, y = datasets.load_digits(return_X_y=True)
    X, y = X[:500], y[:500]
    targets = {
        "multiclass": y,
        "binary": y == 3,
        "multilabel": np.stack([y == 3, y % 2 == 0, y > 5], axis=1),
    }
    sk, ours = fit_both(
        neural_network.MLPClassifier,
        MLPClassifier,
        X,
        targets[target],
        hidden_layer_sizes=(32,),
        solver="sgd",
        learning_rate="adaptive",
        learning_rate_init=0.5,
        tol=1e-3,
        n_iter_no_change=2,
        max_iter=25,
        random_state=0,
    )
    assert max(sk.loss_curve_) > 5  # the saturated regime really was reached
    assert_same_fit(sk, ours)
