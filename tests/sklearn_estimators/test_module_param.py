"""``module=``: a user's own network in the MLP estimators, images included."""

from __future__ import annotations

import copy

import numpy as np
import pytest

pytest.importorskip("sklearn", minversion="1.6")

from sklearn.base import clone
from sklearn.datasets import load_digits

from nabla import nn
from nabla.nn.cnn_models import SmallCNN
from nabla.sklearn import MLPClassifier, MLPRegressor

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def digit_images() -> tuple[np.ndarray, np.ndarray]:
    X, y = load_digits(return_X_y=True)
    return (X / 16).reshape(-1, 1, 8, 8), y


def flat_net(n_out: int = 10) -> nn.Module:
    return nn.Sequential(nn.Flatten(), nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, n_out))


def test_module_is_a_parameter_that_clone_copies_and_fit_leaves_alone() -> None:
    net = flat_net()
    before = {k: v.copy() for k, v in net.state_dict().items()}
    clf = MLPClassifier(module=net, max_iter=3, random_state=0)
    assert clf.get_params()["module"] is net
    twin = clone(clf)
    assert twin.module is not net
    assert isinstance(twin.module, nn.Sequential)
    X, y = digit_images()
    clf.fit(X[:300], y[:300])
    assert clf.model_ is not net
    for key, value in net.state_dict().items():  # the parameter is not trained
        np.testing.assert_array_equal(value, before[key])
    assert clf.set_params(module=None).module is None


def test_a_cnn_on_image_shaped_digits() -> None:
    X, y = digit_images()
    clf = MLPClassifier(
        module=lambda: SmallCNN(1, 10, 8, channels=(8, 16), hidden=32),
        learning_rate_init=0.01,
        max_iter=8,
        random_state=0,
    )
    clf.fit(X[:1200], y[:1200])
    assert clf.n_features_in_ == 1
    assert clf.n_outputs_ == 10
    assert clf.score(X[1200:], y[1200:]) > 0.9
    p = clf.predict_proba(X[:5])
    assert p.shape == (5, 10)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-12)
    with pytest.raises(ValueError):
        clf.predict(X[:5].reshape(5, -1))  # the images' shape is part of the input


def test_a_callable_is_seeded_from_random_state() -> None:
    X, y = digit_images()

    def fit(seed: int) -> np.ndarray:
        clf = MLPClassifier(module=flat_net, max_iter=2, random_state=seed).fit(X[:200], y[:200])
        return np.asarray(clf.predict_proba(X[:10]))

    np.testing.assert_array_equal(fit(3), fit(3))
    assert not np.array_equal(fit(3), fit(4))


def test_binary_classification_takes_one_logit() -> None:
    X, y = digit_images()
    two = y < 2
    clf = MLPClassifier(module=flat_net(1), max_iter=20, random_state=0).fit(X[two], y[two])
    assert clf.predict_proba(X[two][:3]).shape == (3, 2)
    assert clf.score(X[two], y[two]) > 0.95
    needs_one = r"module: its output has shape \(2, 2\).*\(n_samples, 1\)"
    with pytest.raises(ValueError, match=needs_one):
        MLPClassifier(module=flat_net(2), max_iter=1).fit(X[two], y[two])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_regressor_with_a_module(dtype: str) -> None:
    rng = np.random.default_rng(0)
    X = rng.random((200, 2, 3))
    target = 2 * (X.sum(axis=(1, 2)) - 3)
    net = nn.Sequential(nn.Flatten(), nn.Linear(6, 16), nn.Tanh(), nn.Linear(16, 1))
    reg = MLPRegressor(
        module=net, learning_rate_init=0.01, max_iter=300, tol=0, random_state=0, dtype=dtype
    )
    reg.fit(X, target)
    assert reg.model_.dtype == np.dtype(dtype)
    assert reg.predict(X).shape == (200,)
    assert reg.score(X, target) > 0.9


def test_bad_modules() -> None:
    X, y = digit_images()
    with pytest.raises(ValueError, match=r"module must be a nabla\.nn\.Module or a callable"):
        MLPClassifier(module="cnn").fit(X[:50], y[:50])
    with pytest.raises(TypeError, match="module: the callable returned a int"):
        MLPClassifier(module=lambda: 3).fit(X[:50], y[:50])
    with pytest.raises(ValueError, match="solver='lbfgs' trains the built-in MLP only"):
        MLPClassifier(module=flat_net(), solver="lbfgs").fit(X[:50], y[:50])
    with pytest.raises(ValueError, match=r"parity=True .* no module option"):
        MLPClassifier(module=flat_net(), parity=True).fit(X[:50], y[:50])
    failed = r"module: the forward pass failed on X of shape \(2, 1, 8, 8\)"
    with pytest.raises(ValueError, match=failed):
        MLPClassifier(module=nn.Linear(64, 10)).fit(X[:50], y[:50])


def test_warm_start_keeps_training_the_same_copy() -> None:
    X, y = digit_images()
    clf = MLPClassifier(module=flat_net(), max_iter=2, warm_start=True, random_state=0)
    clf.fit(X[:300], y[:300])
    model = clf.model_
    state = copy.deepcopy(model.state_dict())
    clf.fit(X[:300], y[:300])
    assert clf.model_ is model
    assert any(not np.array_equal(v, state[k]) for k, v in model.state_dict().items())
