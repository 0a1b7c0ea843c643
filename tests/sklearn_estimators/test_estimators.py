"""The nabla estimators in scikit-learn's tools, and what they add to scikit-learn's MLP."""

from __future__ import annotations

import functools
import pickle
import warnings
from typing import Any

import numpy as np
import pytest

pytest.importorskip("sklearn", minversion="1.6")

from sklearn import datasets, linear_model
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import nabla as nb
from nabla.sklearn import LogisticRegression, MLPClassifier, MLPRegressor


@pytest.fixture(scope="module")
def iris() -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    X, y = datasets.load_iris(return_X_y=True)
    return StandardScaler().fit_transform(X), y


def quiet_fit(estimator: Any, *args: Any, **kwargs: Any) -> Any:
    """Fit with few epochs on purpose: the ConvergenceWarning is expected."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return estimator.fit(*args, **kwargs)


def test_pipeline_grid_search_and_cross_val_score() -> None:
    X, y = datasets.load_iris(return_X_y=True)
    pipe = make_pipeline(StandardScaler(), MLPClassifier((8,), max_iter=60, random_state=0))
    grid = GridSearchCV(
        pipe,
        {"mlpclassifier__alpha": [1e-4, 1e-2], "mlpclassifier__learning_rate_init": [0.01]},
        cv=3,
    )
    quiet_fit(grid, X, y)
    assert grid.best_score_ > 0.85
    assert set(grid.best_params_) == {
        "mlpclassifier__alpha",
        "mlpclassifier__learning_rate_init",
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        scores = cross_val_score(make_pipeline(StandardScaler(), LogisticRegression()), X, y, cv=5)
    assert scores.mean() > 0.9


def test_string_labels_probabilities_and_float32(iris: Any) -> None:
    X, y = iris
    names = np.array(["setosa", "versicolor", "virginica"])[y]
    clf = quiet_fit(
        MLPClassifier((16,), learning_rate_init=0.01, batch_size=32, max_iter=50, random_state=0),
        X,
        names,
    )
    assert list(clf.classes_) == ["setosa", "versicolor", "virginica"]
    assert clf.model_.dtype == np.float32 and clf.n_features_in_ == 4
    assert clf.predict(X[:3]).dtype.kind == "U" and clf.score(X, names) > 0.9
    proba = clf.predict_proba(X)
    assert proba.shape == (150, 3) and np.allclose(proba.sum(axis=1), 1, atol=1e-12)
    np.testing.assert_allclose(np.exp(clf.predict_log_proba(X)), proba, rtol=1e-12)
    assert len(clf.loss_curve_) == clf.n_iter_ == 50
    assert [c.shape for c in clf.coefs_] == [(4, 16), (16, 3)]


def test_binary_and_multilabel_outputs() -> None:
    X, Y = datasets.make_multilabel_classification(n_samples=120, n_classes=3, random_state=0)
    clf = quiet_fit(MLPClassifier((16,), max_iter=30, random_state=0), X, Y)
    assert clf.out_activation_ == "logistic" and clf.predict(X).shape == (120, 3)
    assert clf.predict_proba(X).shape == (120, 3)
    binary = quiet_fit(MLPClassifier((4,), max_iter=5, random_state=0), X, Y[:, 0] * 5 - 1)
    assert binary.n_outputs_ == 1 and set(binary.classes_) == {-1, 4}
    assert binary.predict_proba(X).shape == (120, 2)


@pytest.mark.parametrize("activation", ["leaky_relu", "sigmoid", "tanh", "identity"])
def test_any_activation_dropout_and_batch_norm(iris: Any, activation: str) -> None:
    X, y = iris
    clf = MLPClassifier(
        (16,),
        activation=activation,
        dropout=0.2,
        batch_norm=True,
        learning_rate_init=0.02,
        max_iter=60,
        batch_size=40,  # 150 = 3 · 40 + 30
        random_state=0,
    )
    quiet_fit(clf, X, y)
    kinds = [type(m).__name__ for m in clf.model_]
    assert kinds[:2] == ["Linear", "BatchNorm1d"] and kinds[3] == "Dropout"
    assert clf.score(X, y) > 0.85


def test_dropout_fits_are_reproducible_and_leave_the_global_seed_alone(iris: Any) -> None:
    X, y = iris
    nb.manual_seed(123)
    before = nb.get_rng_state()
    fits = [
        quiet_fit(MLPClassifier((8,), dropout=0.5, max_iter=5, random_state=7), X, y)
        for _ in range(2)
    ]
    assert fits[0].loss_curve_ == fits[1].loss_curve_
    assert nb.get_rng_state() == before


def test_class_weight_equals_sample_weight(iris: Any) -> None:
    X, y = iris
    kw = {"hidden_layer_sizes": (8,), "max_iter": 10, "random_state": 0, "solver": "sgd"}
    by_class = quiet_fit(MLPClassifier(class_weight={0: 3.0, 1: 1.0, 2: 0.5}, **kw), X, y)
    weights = np.array([3.0, 1.0, 0.5])[y]
    by_sample = quiet_fit(MLPClassifier(**kw), X, y, sample_weight=weights)
    assert by_class.loss_curve_ == pytest.approx(by_sample.loss_curve_, rel=1e-6)
    balanced = quiet_fit(MLPClassifier(class_weight="balanced", **kw), X[:120], y[:120])
    assert balanced.n_iter_ == 10


def test_sample_weight_zero_removes_samples(iris: Any) -> None:
    X, y = iris
    kw = {"hidden_layer_sizes": (8,), "max_iter": 5, "random_state": 0, "dtype": "float64"}
    kw["batch_size"] = 150  # one full batch, so removing rows leaves the batches alike
    weights = np.ones(150)
    weights[::3] = 0
    zero = quiet_fit(MLPClassifier(**kw), X, y, sample_weight=weights)
    kept = quiet_fit(MLPClassifier(**{**kw, "batch_size": 100}), X[weights > 0], y[weights > 0])
    assert zero.loss_curve_ == pytest.approx(kept.loss_curve_, rel=1e-9)
    with pytest.raises(ValueError, match="non-zero"):
        MLPClassifier().fit(X, y, sample_weight=np.zeros(150))


@pytest.mark.parametrize(
    "solver",
    [nb.optim.AdamW, nb.optim.RMSprop, functools.partial(nb.optim.SGD, lr=0.05, momentum=0.9)],
    ids=["AdamW", "RMSprop", "partial-SGD"],
)
def test_any_nabla_optimizer(iris: Any, solver: Any) -> None:
    X, y = iris
    clf = MLPClassifier((16,), solver=solver, learning_rate_init=0.01, batch_size=32, max_iter=40)
    quiet_fit(clf, X, y)
    assert isinstance(clf._optimizer, nb.optim.Optimizer) and clf.score(X, y) > 0.85


@pytest.mark.parametrize("name", ["adamw", "rmsprop", "adagrad"])
def test_optimizer_registry_names_are_solvers(iris: Any, name: str) -> None:
    # built by nabla.optim.build_optimizer with the estimator's learning rate, not the entry's
    X, y = iris
    clf = MLPClassifier((16,), solver=name, learning_rate_init=0.02, batch_size=32, max_iter=30)
    quiet_fit(clf, X, y)
    assert type(clf._optimizer) is nb.optim.OPTIMIZERS[name].cls
    assert clf._optimizer.param_groups[0]["lr"] == 0.02
    assert clf.score(X, y) > 0.85
    with pytest.raises(ValueError, match="has no solver option"):
        MLPClassifier(solver=name, parity=True).fit(X, y)


def test_a_callable_must_return_an_optimizer(iris: Any) -> None:
    with pytest.raises(TypeError, match="not a nabla Optimizer"):
        MLPClassifier(solver=lambda params: object()).fit(*iris)


def test_early_stopping_warm_start_and_partial_fit(iris: Any) -> None:
    X, y = iris
    clf = MLPClassifier(
        (8,),
        early_stopping=True,
        n_iter_no_change=3,
        max_iter=500,
        learning_rate_init=0.05,
        random_state=0,
    ).fit(X, y)
    assert clf.n_iter_ < 500 and len(clf.validation_scores_) == clf.n_iter_
    assert clf.best_validation_score_ == max(clf.validation_scores_)
    warm = quiet_fit(MLPClassifier((8,), max_iter=3, warm_start=True, random_state=0), X, y)
    quiet_fit(warm, X, y)
    assert len(warm.loss_curve_) == 6
    online = MLPClassifier((8,), random_state=0)
    with pytest.raises(ValueError, match="classes must be passed"):
        online.partial_fit(X, y)
    online.partial_fit(X[:50], y[:50], classes=[0, 1, 2]).partial_fit(X[50:], y[50:])
    assert len(online.loss_curve_) == 2 and online.t_ == 150
    assert not hasattr(MLPClassifier(solver="lbfgs"), "partial_fit")


def test_pickle_round_trip_keeps_predictions_and_optimizer_state(iris: Any) -> None:
    X, y = iris
    clf = quiet_fit(MLPClassifier((8,), max_iter=5, random_state=0), X, y)
    again = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(again.predict_proba(X), clf.predict_proba(X))
    # the Adam moments survive, so both continue identically
    clf.partial_fit(X, y)
    again.partial_fit(X, y)
    np.testing.assert_array_equal(again.predict_proba(X), clf.predict_proba(X))


def test_regressor_multi_output_and_float64_predictions() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    Y = np.stack([X[:, 0] - X[:, 1], np.tanh(X[:, 2])], axis=1)
    reg = quiet_fit(
        MLPRegressor(
            hidden_layer_sizes=(32,), activation="tanh", learning_rate_init=0.01, random_state=0
        ),
        X,
        Y,
    )
    assert reg.predict(X).shape == (200, 2) and reg.predict(X).dtype == np.float64
    assert reg.score(X, Y) > 0.9


def test_logistic_regression_matches_sklearn() -> None:
    for X, y in (
        datasets.load_breast_cancer(return_X_y=True),
        datasets.load_iris(return_X_y=True),
    ):
        X = StandardScaler().fit_transform(X)
        ours = LogisticRegression(C=0.5, tol=1e-8, max_iter=1000, dtype="float64").fit(X, y)
        theirs = linear_model.LogisticRegression(C=0.5, tol=1e-10, max_iter=1000).fit(X, y)
        # the same objective and the same L-BFGS stopping rule: the same optimum (multinomial
        # weights are unique because the L2 penalty pins their shift shared by the classes)
        np.testing.assert_allclose(ours.coef_, theirs.coef_, atol=1e-5)
        # the intercepts are not penalised: softmax leaves their common shift free
        shift = np.mean(ours.intercept_ - theirs.intercept_) if len(ours.intercept_) > 1 else 0
        np.testing.assert_allclose(ours.intercept_ - shift, theirs.intercept_, atol=1e-5)
        np.testing.assert_allclose(ours.predict_proba(X), theirs.predict_proba(X), atol=1e-5)
        assert ours.decision_function(X).shape == theirs.decision_function(X).shape


def test_invalid_parameters_are_named(iris: Any) -> None:
    X, y = iris
    for params, name in (
        ({"activation": "swish"}, "activation"),
        ({"solver": "newton"}, "solver"),
        ({"dropout": 1.0}, "dropout"),
        ({"dtype": "int32"}, "dtype"),
        ({"hidden_layer_sizes": (0,)}, "hidden_layer_sizes"),
        ({"learning_rate": "cosine"}, "learning_rate"),
    ):
        with pytest.raises(ValueError, match=name):
            MLPClassifier(**params).fit(X, y)
    with pytest.raises(ValueError, match="C must be"):
        LogisticRegression(C=0).fit(X, y)
